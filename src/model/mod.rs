//! The decoder-only transformer: pre-norm RMSNorm, rotary positions, SwiGLU
//! MLP, causal self-attention with grouped KV heads, optional tied
//! embeddings. Parameter names follow Hugging Face's Llama layout
//! (`embed_tokens`, `layers.N.self_attn.q_proj`, …). The GPT-2 layout
//! (LayerNorm, learned positions, GELU MLP, biases) is the same code with
//! those parts switched by `ModelConfig::arch`.

mod attention;
mod cache;
pub mod checkpoint;
mod config;
pub mod decoder;
pub mod fused;
pub mod gguf;
pub mod hf;
mod host;
mod mask;
mod proj;
pub mod quant;
mod reward;
mod rope;

pub use attention::Attention;
pub use cache::KvCache;
pub use config::{Arch, BaseDtype, BaseRef, LoraConfig, MAX_PARAMS, MAX_SEQ_LEN, ModelConfig};
pub use mask::{causal_bias, decode_bias, position_ids};
pub use proj::Proj;
use proj::over_rows;
pub use reward::{RewardBatch, RewardModel};
pub use rope::Rope;

use crate::cpu::quant::QuantKind;
use burn::nn::{
    Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig,
    RmsNorm, RmsNormConfig,
};
use burn::prelude::*;
use burn::tensor::activation::gelu_approximate;
use quant::QuantWeight;

const INIT_STD: f64 = 0.02;

fn normal() -> Initializer {
    Initializer::Normal {
        mean: 0.0,
        std: INIT_STD,
    }
}

fn linear(d_in: usize, d_out: usize, bias: bool, device: &Device) -> Proj {
    Proj::new(d_in, d_out, bias, normal(), device)
}

/// RMSNorm (Llama, Qwen2) or LayerNorm with a bias (GPT-2).
#[derive(Module, Debug)]
pub enum Norm {
    Rms(RmsNorm),
    Layer(LayerNorm),
}

impl Norm {
    fn new(cfg: &ModelConfig, device: &Device) -> Self {
        if cfg.is_gpt2() {
            Norm::Layer(
                LayerNormConfig::new(cfg.d_model)
                    .with_epsilon(cfg.norm_eps)
                    .init(device),
            )
        } else {
            Norm::Rms(
                RmsNormConfig::new(cfg.d_model)
                    .with_epsilon(cfg.norm_eps)
                    .init(device),
            )
        }
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        match self {
            Norm::Rms(n) => fused::rms_norm(n, x),
            Norm::Layer(n) => n.forward(x),
        }
    }

    /// The residual add `x + y` and this norm of the sum: (sum, normed).
    fn add_forward(&self, x: Tensor<3>, y: Tensor<3>) -> (Tensor<3>, Tensor<3>) {
        match self {
            Norm::Rms(n) => fused::add_rms_norm(n, x, y),
            Norm::Layer(n) => {
                let sum = x + y;
                (sum.clone(), n.forward(sum))
            }
        }
    }
}

/// SwiGLU when `gate_proj` is present, else GPT-2's GELU (tanh form) MLP.
#[derive(Module, Debug)]
pub struct Mlp {
    pub gate_proj: Option<Proj>,
    pub up_proj: Proj,
    pub down_proj: Proj,
}

impl Mlp {
    fn new(cfg: &ModelConfig, device: &Device) -> Self {
        let (d, ff, bias) = (cfg.d_model, cfg.d_ff, cfg.mlp_bias);
        Self {
            gate_proj: (!cfg.is_gpt2()).then(|| linear(d, ff, bias, device)),
            up_proj: linear(d, ff, bias, device),
            down_proj: linear(ff, d, bias, device),
        }
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let hidden = match &self.gate_proj {
            Some(gate) => fused::swiglu(gate.forward(x.clone()), self.up_proj.forward(x)),
            None => gelu_approximate(self.up_proj.forward(x)),
        };
        self.down_proj.forward(hidden)
    }
}

impl Block {
    /// The residual stream after this layer, from the one before it, in a
    /// causal forward without a cache: x + attention(norm(x)), then + the
    /// MLP of its norm. (`Transformer::hidden` takes the same steps with
    /// each residual add fused into the norm after it.) What training
    /// that recomputes activations runs one layer at a time.
    pub fn forward_residual(&self, x: Tensor<3>, rope: &Rope, bias: Tensor<4>) -> Tensor<3> {
        let h = self.input_layernorm.forward(x.clone());
        let a = self.self_attn.forward(h, rope, 0, bias, None);
        let (x, h) = self.post_attention_layernorm.add_forward(x, a);
        x + self.mlp.forward(h)
    }
}

/// `*p` replaced by `f(*p)`.
fn take_map(p: &mut Proj, f: &impl Fn(Proj) -> Proj) {
    let placeholder = proj::Proj {
        weight: proj::stand_in([1, 1], &p.weight.lazy_device()),
        bias: None,
        quant: None,
    };
    let taken = std::mem::replace(p, placeholder);
    *p = f(taken);
}

#[derive(Module, Debug)]
pub struct Block {
    pub input_layernorm: Norm,
    pub self_attn: Attention,
    pub post_attention_layernorm: Norm,
    pub mlp: Mlp,
}

/// [`Transformer::footprint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    pub params: usize,
    pub adapters: usize,
    pub bytes: usize,
}

#[derive(Module, Debug)]
pub struct Transformer {
    pub embed_tokens: Embedding,
    /// Learned absolute positions (GPT-2); None with rotary positions.
    pub embed_positions: Option<Embedding>,
    pub layers: Vec<Block>,
    pub norm: Norm,
    /// None when the output projection is tied to `embed_tokens`.
    pub lm_head: Option<Linear>,
    /// With a quantised base: the output projection's weight [V, D] in the
    /// base's blocks, which sampling multiplies on a CPU with integer dot
    /// products ([`Transformer::forward_last`]); the f32 weight stays for
    /// training, scoring and every other device.
    pub head_quant: Option<QuantWeight>,
    /// Rotary tables for positions 0..max_seq_len (unused by GPT-2).
    pub rope: Rope,
}

impl Transformer {
    pub fn new(cfg: &ModelConfig, device: &Device) -> Self {
        let d = cfg.d_model;
        let embedding = |n: usize| {
            EmbeddingConfig::new(n, d)
                .with_initializer(normal())
                .init(device)
        };
        let layers = (0..cfg.n_layers)
            .map(|_| Block {
                input_layernorm: Norm::new(cfg, device),
                self_attn: Attention::new(cfg, device),
                post_attention_layernorm: Norm::new(cfg, device),
                mlp: Mlp::new(cfg, device),
            })
            .collect();
        let model = Self {
            embed_tokens: embedding(cfg.vocab_size),
            embed_positions: cfg.is_gpt2().then(|| embedding(cfg.max_seq_len)),
            layers,
            norm: Norm::new(cfg, device),
            lm_head: (!cfg.tie_embeddings).then(|| {
                LinearConfig::new(d, cfg.vocab_size)
                    .with_bias(false)
                    .with_initializer(normal())
                    .init(device)
            }),
            rope: Rope::of(cfg, cfg.max_seq_len, device),
            head_quant: None,
        };
        match &cfg.lora {
            // Parameters initialise lazily: each projection's f32 weight
            // exists only while it is quantised.
            Some(l) => match l.base_dtype.quant_kind() {
                Some(kind) => model.quantized(kind).with_lora(l),
                None => model.with_lora(l),
            },
            None => model,
        }
    }

    /// Attaches LoRA adapters to the projections of every block and freezes
    /// every other parameter (embeddings, norms, head, biases).
    pub fn with_lora(self, l: &LoraConfig) -> Self {
        let projections =
            r"^layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)\.weight$";
        let group = burn::module::ParamGroup::from_regex(projections).expect("valid regex");
        self.apply_lora(burn::module::Lora::new(l.rank, l.alpha).set_param_group(group))
    }

    /// The adapters folded into plain weights: W + (α / r)·A·B, with a
    /// quantised base expanded to f32 (what an export writes).
    pub fn merged(&self) -> Self {
        let mut merged = self
            .valid()
            .materialize()
            .map_projections(Proj::dequantized);
        merged.head_quant = None;
        merged
    }

    /// The base's projections held as `kind` blocks ([`Proj::quantized`]),
    /// one at a time, so at most one f32 matrix is alive beside the
    /// quantised ones, and a `kind` copy of the output projection for
    /// sampling ([`Transformer::with_quantized_head`]). Attach LoRA
    /// adapters after, not before.
    pub fn quantized(self, kind: QuantKind) -> Self {
        self.map_projections(|p| p.quantized(kind))
            .with_quantized_head(kind)
    }

    /// A `kind` copy of the output projection's weight (the tied embedding
    /// or `lm_head`), which [`Transformer::forward_last`] multiplies while
    /// sampling on a CPU with integer dot products, as llama.cpp does with
    /// a quantised file's `output.weight`. The head must stay frozen (it
    /// does under LoRA). Unchanged when the head has a bias, an adapter, or
    /// inputs that are not whole blocks of 32, and when the copy exists
    /// already (as [`Proj::quantized`]: a base loaded quantised, then given
    /// adapters, is not quantised twice).
    pub fn with_quantized_head(mut self, kind: QuantKind) -> Self {
        if self.head_quant.is_some() {
            return self;
        }
        let Some(w) = self.output_weight() else {
            return self;
        };
        let ([d, v], device) = (w.dims(), w.device());
        self.head_quant =
            quantize_rows_in_bands(kind, &w, v, d).map(|m| QuantWeight::new(m, &device));
        self
    }

    /// How big the model is: its base's parameters (a quantised
    /// projection counted at its full shape), the LoRA adapters', and the
    /// bytes its weights hold in memory (f32 parameters at 4 bytes, a
    /// quantised projection at its blocks, the sampling head's copy).
    pub fn footprint(&self) -> Footprint {
        use burn::module::{ModuleVisitor, Param, ParamId};
        #[derive(Default)]
        struct Count(Vec<(ParamId, usize)>);
        impl ModuleVisitor for Count {
            fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
                self.0.push((p.id, p.lazy_shape().num_elements()));
            }
        }
        let mut c = Count::default();
        self.visit(&mut c);
        // LoRA's factors hang on the weights they adapt.
        let mut copy = self.clone();
        let mut weights: Vec<&Param<Tensor<2>>> = Vec::new();
        let mut quant = 0;
        let mut stand_ins = 0;
        for (_, p) in copy.projections_mut() {
            if let Some(q) = &p.quant {
                // The stand-in weight owns no storage; the blocks do.
                stand_ins += p.weight.lazy_shape().num_elements();
                quant += q.bytes();
            }
            weights.push(&p.weight);
        }
        weights.extend(self.lm_head.as_ref().map(|h| &h.weight));
        let mut adapter_ids = std::collections::HashSet::new();
        let mut adapters = 0;
        for ad in weights.iter().filter_map(|w| w.adapter()) {
            for f in [&ad.a, &ad.b] {
                adapters += f.lazy_shape().num_elements();
                adapter_ids.insert(f.id);
            }
        }
        let params: usize =
            c.0.iter()
                .filter(|(id, _)| !adapter_ids.contains(id))
                .map(|(_, n)| n)
                .sum();
        let mut bytes = 4 * (params + adapters - stand_ins) + quant;
        bytes += self.head_quant.as_ref().map_or(0, QuantWeight::bytes);
        Footprint {
            params,
            adapters,
            bytes,
        }
    }

    /// Whether any projection's base is held quantised.
    pub fn is_quantized(&self) -> bool {
        self.layers.iter().any(|l| {
            let (a, m) = (&l.self_attn, &l.mlp);
            [
                &a.q_proj,
                &a.k_proj,
                &a.v_proj,
                &a.o_proj,
                &m.up_proj,
                &m.down_proj,
            ]
            .into_iter()
            .chain(m.gate_proj.as_ref())
            .any(Proj::is_quantized)
        })
    }

    /// Every layer's projections through `f`.
    fn map_projections(mut self, f: impl Fn(Proj) -> Proj) -> Self {
        for (_, p) in self.projections_mut() {
            take_map(p, &f);
        }
        self
    }

    /// Every layer's projections with their parameter paths
    /// (`layers.3.self_attn.q_proj`).
    pub fn projections_mut(&mut self) -> Vec<(String, &mut Proj)> {
        let mut out = Vec::new();
        for (i, l) in self.layers.iter_mut().enumerate() {
            let a = &mut l.self_attn;
            for (name, p) in [
                ("q_proj", &mut a.q_proj),
                ("k_proj", &mut a.k_proj),
                ("v_proj", &mut a.v_proj),
                ("o_proj", &mut a.o_proj),
            ] {
                out.push((format!("layers.{i}.self_attn.{name}"), p));
            }
            let m = &mut l.mlp;
            if let Some(g) = m.gate_proj.as_mut() {
                out.push((format!("layers.{i}.mlp.gate_proj"), g));
            }
            out.push((format!("layers.{i}.mlp.up_proj"), &mut m.up_proj));
            out.push((format!("layers.{i}.mlp.down_proj"), &mut m.down_proj));
        }
        out
    }

    /// Logits [B, T, V] for `tokens` [B, T] at positions start..start+T.
    ///
    /// `bias` is added to the attention scores: [1|B, 1, T, Tk] with 0 where a
    /// query may look and a large negative number where it may not. Without a
    /// cache Tk = T; with one, Tk is the cache capacity and this call's keys
    /// and values are written into it at `start`.
    ///
    /// `positions` [B, T] gives each token's position for learned position
    /// embeddings when rows are left-padded (see [`position_ids`]); without
    /// it they are start..start+T. Rotary positions need no such ids: a
    /// shift common to a whole row leaves q·k unchanged.
    pub fn forward(
        &self,
        tokens: Tensor<2, Int>,
        start: usize,
        positions: Option<Tensor<2, Int>>,
        bias: Tensor<4>,
        cache: Option<&mut KvCache>,
    ) -> Tensor<3> {
        let h = self.hidden(tokens, start, positions, bias, cache);
        self.logits(h)
    }

    /// [`Transformer::forward`]'s logits at the last position only, [B, V]:
    /// what sampling needs. A prompt's other positions never reach the
    /// output projection (at SmolLM2's vocabulary and a 64-token prompt,
    /// 64× fewer of its FLOPs and no [B, T, V] tensor).
    pub fn forward_last(
        &self,
        tokens: Tensor<2, Int>,
        start: usize,
        positions: Option<Tensor<2, Int>>,
        bias: Tensor<4>,
        cache: Option<&mut KvCache>,
    ) -> Tensor<2> {
        // Sampling: a quantised base may round x's rows to 8 bits.
        let _decoding = quant::Decoding::start();
        let h = self.hidden(tokens, start, positions, bias, cache);
        let [b, t, d] = h.dims();
        let last = h.slice_dim(1, t - 1..t);
        // Only where the integer products take it: otherwise burn's f32
        // matmul beats the f32 product from the blocks.
        if let Some(q) = &self.head_quant
            && b <= crate::cpu::qdot::ROUND_ROWS
            && crate::cpu::qdot::available()
            && crate::ops::OpPath::of(&last.device()).is_plain_cpu()
        {
            return q.forward(last.reshape([b, d]));
        }
        let logits = self.logits(last);
        let v = logits.dims()[2];
        logits.reshape([b, v])
    }

    /// The output projection of final hidden states [B, T, D].
    fn logits(&self, h: Tensor<3>) -> Tensor<3> {
        match &self.lm_head {
            Some(head) => over_rows(h, |h| head.forward(h)),
            None => over_rows(h, |h| h.matmul(self.embed_tokens.weight.val().transpose())),
        }
    }

    /// The output projection's weight as [D, V] (the tied embedding
    /// transposed), for ops that fuse the projection with what reads the
    /// logits; None when the head has a bias or an adapter.
    pub fn output_weight(&self) -> Option<Tensor<2>> {
        match &self.lm_head {
            Some(head) if head.bias.is_some() || head.weight.adapter().is_some() => None,
            Some(head) => Some(head.weight.val()),
            None => Some(self.embed_tokens.weight.val().transpose()),
        }
    }

    /// Whether the output projection's weight is trained (records
    /// gradients): not under LoRA, nor on a device without autodiff.
    pub fn head_trains(&self) -> bool {
        match &self.lm_head {
            Some(head) => head.weight.val().is_require_grad(),
            None => self.embed_tokens.weight.val().is_require_grad(),
        }
    }

    /// The final hidden states [B, T, D] (after the last norm).
    fn hidden(
        &self,
        tokens: Tensor<2, Int>,
        start: usize,
        positions: Option<Tensor<2, Int>>,
        bias: Tensor<4>,
        mut cache: Option<&mut KvCache>,
    ) -> Tensor<3> {
        let mut x = self.embed(tokens, start, positions);
        // Each residual add is taken together with the norm that follows
        // it (the next layer's input norm, or the final one).
        let mut h = match self.layers.first() {
            Some(layer) => layer.input_layernorm.forward(x.clone()),
            None => self.norm.forward(x.clone()),
        };
        for (i, layer) in self.layers.iter().enumerate() {
            let slot = cache.as_deref_mut().map(|c| c.layer(i));
            let a = layer
                .self_attn
                .forward(h, &self.rope, start, bias.clone(), slot);
            (x, h) = layer.post_attention_layernorm.add_forward(x, a);
            let next = self
                .layers
                .get(i + 1)
                .map_or(&self.norm, |l| &l.input_layernorm);
            (x, h) = next.add_forward(x, layer.mlp.forward(h));
        }
        h
    }

    /// The residual stream's start [B, T, D]: token embeddings, plus
    /// learned positions (GPT-2; `positions` as in [`Transformer::forward`]).
    pub fn embed(
        &self,
        tokens: Tensor<2, Int>,
        start: usize,
        positions: Option<Tensor<2, Int>>,
    ) -> Tensor<3> {
        let t = tokens.dims()[1];
        let x = self.embed_tokens.forward(tokens.clone());
        match &self.embed_positions {
            Some(table) => {
                let ids = positions.unwrap_or_else(|| {
                    let end = (start + t) as i64;
                    Tensor::arange(start as i64..end, &tokens.device()).unsqueeze()
                });
                x + table.forward(ids)
            }
            None => x,
        }
    }

    /// The last norm, of the residual stream after the last layer: the
    /// final hidden states.
    pub fn final_norm(&self, x: Tensor<3>) -> Tensor<3> {
        self.norm.forward(x)
    }

    /// The output projection of final hidden states [B, T, D] (after the
    /// last norm): logits [B, T, V].
    pub fn logits_of(&self, h: Tensor<3>) -> Tensor<3> {
        self.logits(h)
    }

    /// Full causal forward without a cache (training, scoring).
    pub fn forward_causal(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        self.logits(self.hidden_causal(tokens))
    }

    /// The final hidden states [B, T, D] of a causal forward without a
    /// cache: what a reward model's head reads.
    pub fn hidden_causal(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        let device = tokens.device();
        let t = tokens.dims()[1];
        self.hidden(tokens, 0, None, causal_bias(t, &device), None)
    }
}

/// The rows of Wᵀ (`w` is [d, v]: one output per column) as `kind`
/// blocks, read a band of [`HEAD_BAND`] rows at a time: the transposed f32
/// copy is one band's, never the whole V × D (933 MB at Qwen2-1.5B's
/// vocabulary). None when d is not whole blocks.
fn quantize_rows_in_bands(
    kind: QuantKind,
    w: &Tensor<2>,
    v: usize,
    d: usize,
) -> Option<crate::cpu::quant::QuantMatrix> {
    let (mut data, mut scales) = (Vec::new(), Vec::new());
    for a in (0..v).step_by(HEAD_BAND) {
        let b = (a + HEAD_BAND).min(v);
        let band = w.clone().slice([0..d, a..b]).transpose().into_data();
        let band = band.convert::<f32>();
        let rows = band.as_slice::<f32>().expect("f32 head weight");
        let (bd, bs) = crate::cpu::quant::QuantMatrix::quantize(kind, rows, b - a, d)
            .ok()?
            .into_parts();
        data.extend_from_slice(&bd);
        scales.extend_from_slice(&bs);
    }
    crate::cpu::quant::QuantMatrix::from_blocks(kind, v, d, data, scales).ok()
}

/// Output rows quantised together by [`quantize_rows_in_bands`]: 4 096 ×
/// 1 536 f32 is 25 MB at Qwen2-1.5B's width.
const HEAD_BAND: usize = 4096;
