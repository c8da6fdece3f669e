use super::{ModelConfig, Rope, cache::KvSlot, linear, project};
use burn::nn::Linear;
use burn::prelude::*;

#[derive(Module, Debug)]
pub struct Attention {
    pub q_proj: Linear,
    pub k_proj: Linear,
    pub v_proj: Linear,
    pub o_proj: Linear,
    #[module(skip)]
    n_heads: usize,
    #[module(skip)]
    n_kv_heads: usize,
    /// false for GPT-2, whose positions are added to the embeddings.
    #[module(skip)]
    rotary: bool,
}

impl Attention {
    pub fn new(cfg: &ModelConfig, device: &Device) -> Self {
        let (d, dh) = (cfg.d_model, cfg.head_dim());
        Self {
            q_proj: linear(d, cfg.n_heads * dh, cfg.qkv_bias, device),
            k_proj: linear(d, cfg.n_kv_heads * dh, cfg.qkv_bias, device),
            v_proj: linear(d, cfg.n_kv_heads * dh, cfg.qkv_bias, device),
            o_proj: linear(cfg.n_heads * dh, d, cfg.o_bias, device),
            n_heads: cfg.n_heads,
            n_kv_heads: cfg.n_kv_heads,
            rotary: !cfg.is_gpt2(),
        }
    }

    pub(super) fn forward(
        &self,
        x: Tensor<3>,
        rope: &Rope,
        start: usize,
        bias: Tensor<4>,
        cache: Option<KvSlot<'_>>,
    ) -> Tensor<3> {
        let [b, t, _] = x.dims();
        let (h, hkv) = (self.n_heads, self.n_kv_heads);
        let dh = self.q_proj.weight.dims()[1] / h;
        let heads = |proj: &Linear, n: usize| {
            project(proj, x.clone())
                .reshape([b, t, n, dh])
                .swap_dims(1, 2)
        };
        let (q, k) = (heads(&self.q_proj, h), heads(&self.k_proj, hkv));
        let (q, k) = if self.rotary {
            (rope.apply(q, start), rope.apply(k, start))
        } else {
            (q, k)
        };
        let v = heads(&self.v_proj, hkv);
        let (k, v) = match cache {
            Some(slot) => slot.write(k, v, start),
            None => (k, v),
        };
        let k = repeat_kv(k, h / hkv);
        let v = repeat_kv(v, h / hkv);
        let scores = q
            .mul_scalar(1.0 / (dh as f64).sqrt())
            .matmul(k.swap_dims(2, 3))
            + bias;
        let out = super::fused::softmax_last(scores).matmul(v);
        project(&self.o_proj, out.swap_dims(1, 2).reshape([b, t, h * dh]))
    }
}

/// [B, Hkv, T, Dh] → [B, Hkv·rep, T, Dh], each KV head serving `rep` query heads.
fn repeat_kv(x: Tensor<4>, rep: usize) -> Tensor<4> {
    if rep == 1 {
        return x;
    }
    let [b, hkv, t, dh] = x.dims();
    x.unsqueeze_dim::<5>(2)
        .expand([b, hkv, rep, t, dh])
        .reshape([b, hkv * rep, t, dh])
}
