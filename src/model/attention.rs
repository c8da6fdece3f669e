use super::{ModelConfig, Proj, Rope, cache::KvSlot, linear};
use burn::prelude::*;

#[derive(Module, Debug)]
pub struct Attention {
    pub q_proj: Proj,
    pub k_proj: Proj,
    pub v_proj: Proj,
    pub o_proj: Proj,
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

    /// Query heads and KV heads.
    pub fn heads(&self) -> (usize, usize) {
        (self.n_heads, self.n_kv_heads)
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
        let heads = |proj: &Proj, n: usize| {
            proj.forward(x.clone())
                .reshape([b, t, n, dh])
                .swap_dims(1, 2)
        };
        // burn's path scales the queries by 1/√Dh, in the rotary kernel's
        // pass where there is one; the fused CPU core scales inside.
        let fused = crate::ops::OpPath::of(&x.device()).fused_layers();
        let q_scale = if fused { 1.0 } else { 1.0 / (dh as f64).sqrt() };
        let (q, k) = (heads(&self.q_proj, h), heads(&self.k_proj, hkv));
        let (q, k) = if self.rotary {
            (rope.apply_scaled(q, start, q_scale), rope.apply(k, start))
        } else if fused {
            (q, k)
        } else {
            (q.mul_scalar(q_scale), k)
        };
        let v = heads(&self.v_proj, hkv);
        let (k, v) = match cache {
            Some(slot) => slot.write(k, v, start),
            None => (k, v),
        };
        if fused {
            let out = super::fused::attention_core(q, k, v, bias);
            return self
                .o_proj
                .forward(out.swap_dims(1, 2).reshape([b, t, h * dh]));
        }
        // Grouped heads without copying keys and values for each query head:
        // the `rep` query heads sharing a KV head become rep · T query rows
        // of that head ([B, Hkv, rep·T, Dh]; heads are numbered KV-head-major,
        // as Llama's repeat_kv lays them out).
        let rep = h / hkv;
        let q = q.reshape([b, hkv, rep * t, dh]);
        let tk = k.dims()[2];
        let scores =
            q.matmul(k.swap_dims(2, 3)).reshape([b, hkv, rep, t, tk]) + bias.unsqueeze_dim::<5>(2);
        let probs = burn::tensor::activation::softmax(scores, 4).reshape([b, hkv, rep * t, tk]);
        let out = probs.matmul(v).reshape([b, h, t, dh]);
        self.o_proj
            .forward(out.swap_dims(1, 2).reshape([b, t, h * dh]))
    }
}
