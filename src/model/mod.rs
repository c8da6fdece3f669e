//! The decoder-only transformer: pre-norm RMSNorm, rotary positions, SwiGLU
//! MLP, causal self-attention with grouped KV heads, optional tied
//! embeddings. Parameter names follow Hugging Face's Llama layout
//! (`embed_tokens`, `layers.N.self_attn.q_proj`, …).

mod attention;
mod cache;
pub mod checkpoint;
mod config;
mod mask;
mod rope;

pub use attention::Attention;
pub use cache::KvCache;
pub use config::ModelConfig;
pub use mask::{causal_bias, decode_bias};
pub use rope::Rope;

use burn::nn::{
    Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig, RmsNorm, RmsNormConfig,
};
use burn::prelude::*;
use burn::tensor::activation::silu;

const INIT_STD: f64 = 0.02;

fn linear(d_in: usize, d_out: usize, device: &Device) -> Linear {
    LinearConfig::new(d_in, d_out)
        .with_bias(false)
        .with_initializer(Initializer::Normal {
            mean: 0.0,
            std: INIT_STD,
        })
        .init(device)
}

#[derive(Module, Debug)]
pub struct Mlp {
    pub gate_proj: Linear,
    pub up_proj: Linear,
    pub down_proj: Linear,
}

impl Mlp {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let gate = silu(self.gate_proj.forward(x.clone()));
        self.down_proj.forward(gate * self.up_proj.forward(x))
    }
}

#[derive(Module, Debug)]
pub struct Block {
    pub input_layernorm: RmsNorm,
    pub self_attn: Attention,
    pub post_attention_layernorm: RmsNorm,
    pub mlp: Mlp,
}

#[derive(Module, Debug)]
pub struct Transformer {
    pub embed_tokens: Embedding,
    pub layers: Vec<Block>,
    pub norm: RmsNorm,
    /// None when the output projection is tied to `embed_tokens`.
    pub lm_head: Option<Linear>,
}

impl Transformer {
    pub fn new(cfg: &ModelConfig, device: &Device) -> Self {
        let d = cfg.d_model;
        let norm = || {
            RmsNormConfig::new(d)
                .with_epsilon(cfg.norm_eps)
                .init(device)
        };
        let layers = (0..cfg.n_layers)
            .map(|_| Block {
                input_layernorm: norm(),
                self_attn: Attention::new(cfg, device),
                post_attention_layernorm: norm(),
                mlp: Mlp {
                    gate_proj: linear(d, cfg.d_ff, device),
                    up_proj: linear(d, cfg.d_ff, device),
                    down_proj: linear(cfg.d_ff, d, device),
                },
            })
            .collect();
        Self {
            embed_tokens: EmbeddingConfig::new(cfg.vocab_size, d)
                .with_initializer(Initializer::Normal {
                    mean: 0.0,
                    std: INIT_STD,
                })
                .init(device),
            layers,
            norm: norm(),
            lm_head: (!cfg.tie_embeddings).then(|| linear(d, cfg.vocab_size, device)),
        }
    }

    /// Logits [B, T, V] for `tokens` [B, T] at positions start..start+T.
    ///
    /// `bias` is added to the attention scores: [1|B, 1, T, Tk] with 0 where a
    /// query may look and a large negative number where it may not. Without a
    /// cache Tk = T; with one, Tk is the cache capacity and this call's keys
    /// and values are written into it at `start`.
    pub fn forward(
        &self,
        tokens: Tensor<2, Int>,
        rope: &Rope,
        start: usize,
        bias: Tensor<4>,
        mut cache: Option<&mut KvCache>,
    ) -> Tensor<3> {
        let mut x = self.embed_tokens.forward(tokens);
        for (i, layer) in self.layers.iter().enumerate() {
            let slot = cache.as_deref_mut().map(|c| c.layer(i));
            let h = layer.input_layernorm.forward(x.clone());
            x = x + layer.self_attn.forward(h, rope, start, bias.clone(), slot);
            let h = layer.post_attention_layernorm.forward(x.clone());
            x = x + layer.mlp.forward(h);
        }
        let h = self.norm.forward(x);
        match &self.lm_head {
            Some(head) => head.forward(h),
            None => h.matmul(self.embed_tokens.weight.val().transpose().unsqueeze()),
        }
    }

    /// Full causal forward without a cache (training, scoring).
    pub fn forward_causal(&self, tokens: Tensor<2, Int>, rope: &Rope) -> Tensor<3> {
        let device = tokens.device();
        let t = tokens.dims()[1];
        self.forward(tokens, rope, 0, causal_bias(t, &device), None)
    }
}
