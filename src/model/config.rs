use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Which block layout the transformer uses. Llama and Qwen2 share one
/// (RMSNorm, RoPE, SwiGLU; Qwen2 adds q/k/v biases); GPT-2 has LayerNorm,
/// learned absolute positions and a GELU MLP.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    #[default]
    Llama,
    Qwen2,
    Gpt2,
}

/// Shape of the decoder-only transformer. Field meanings follow Hugging
/// Face's `LlamaConfig` so that checkpoints map one to one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    pub arch: Arch,
    pub vocab_size: usize,
    pub d_model: usize,
    pub n_layers: usize,
    pub n_heads: usize,
    /// Grouped-query attention: n_heads must be a multiple of this.
    pub n_kv_heads: usize,
    pub d_ff: usize,
    /// Positions the RoPE table and the KV cache hold.
    pub max_seq_len: usize,
    pub rope_theta: f32,
    pub norm_eps: f64,
    pub tie_embeddings: bool,
    /// Biases on the q, k and v projections (Qwen2, GPT-2).
    pub qkv_bias: bool,
    /// Bias on the attention output projection (GPT-2).
    pub o_bias: bool,
    /// Biases in the MLP (GPT-2).
    pub mlp_bias: bool,
    /// Low-rank adapters on every projection; the base weights frozen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lora: Option<LoraConfig>,
}

/// LoRA (Hu et al. 2021): each projection W of q, k, v, o, gate, up and
/// down becomes W + (α / r)·A·B with A [in, r] random, B [r, out] zero at
/// the start; only A and B train.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LoraConfig {
    pub rank: usize,
    pub alpha: f64,
    /// The frozen base the adapters were attached to, when it came from a
    /// file: checkpoints then hold only the adapters and this reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<BaseRef>,
    /// How the frozen base's projections are held in memory: f32, or
    /// quantised blocks multiplied as they are (QLoRA's setting). Only for
    /// a base from a file (`--init`), whose checkpoints name it.
    #[serde(default, skip_serializing_if = "BaseDtype::is_f32")]
    pub base_dtype: BaseDtype,
}

/// The storage of a LoRA policy's frozen projections.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BaseDtype {
    #[default]
    F32,
    /// llama.cpp's Q8_0: blocks of 32 bytes and a scale (1.125 bytes per
    /// weight here: f32 scales).
    #[serde(rename = "q8_0")]
    Q8_0,
    /// llama.cpp's Q4_0: blocks of 32 four-bit values and a scale (0.625
    /// bytes per weight here).
    #[serde(rename = "q4_0", alias = "q4")]
    Q4_0,
}

impl BaseDtype {
    pub fn is_f32(&self) -> bool {
        *self == BaseDtype::F32
    }

    /// The block type, None for f32.
    pub fn quant_kind(self) -> Option<crate::cpu::quant::QuantKind> {
        use crate::cpu::quant::QuantKind;
        match self {
            BaseDtype::F32 => None,
            BaseDtype::Q8_0 => Some(QuantKind::Q8_0),
            BaseDtype::Q4_0 => Some(QuantKind::Q4_0),
        }
    }
}

impl std::str::FromStr for BaseDtype {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "f32" => Ok(BaseDtype::F32),
            "q8_0" | "q8" => Ok(BaseDtype::Q8_0),
            "q4_0" | "q4" => Ok(BaseDtype::Q4_0),
            _ => Err(format!("unknown base dtype {s:?} (f32, q8_0, q4_0)")),
        }
    }
}

/// Where a LoRA policy's base weights are, and a hash of their content, so
/// that a changed or missing base is an error rather than other weights.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BaseRef {
    pub path: std::path::PathBuf,
    /// FNV-1a (64-bit) of the weight files' bytes, in hex.
    pub hash: String,
}

impl ModelConfig {
    /// The model's biggest single tensors with their bytes as held: the
    /// token embedding (f32, and the tied output head is the same tensor;
    /// an untied head has its shape), and an MLP projection (f32, or
    /// `quant`'s blocks). A device bounds each tensor by its buffer limits
    /// ([`crate::device::BufferLimits::check_model`]).
    pub fn biggest_tensors(
        &self,
        quant: Option<crate::cpu::quant::QuantKind>,
    ) -> [(&'static str, u64); 2] {
        let (v, d, f) = (
            self.vocab_size as u64,
            self.d_model as u64,
            self.d_ff as u64,
        );
        let block = crate::cpu::quant::BLOCK as u64;
        let mlp = quant.map_or(4 * f * d, |k| f * d / block * k.block_bytes() as u64);
        [
            ("the token embedding (vocabulary × width, f32)", 4 * v * d),
            ("an MLP projection", mlp),
        ]
    }
}

impl LoraConfig {
    /// Same adapter shape (rank and alpha), wherever the base is.
    pub fn same_shape(&self, other: &LoraConfig) -> bool {
        self.rank == other.rank && self.alpha == other.alpha
    }

    pub fn validate(&self) -> Result<()> {
        if self.rank == 0 || !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(Error::Config(format!(
                "lora: rank must be ≥ 1 and alpha > 0, got rank {} alpha {}",
                self.rank, self.alpha
            )));
        }
        Ok(())
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            vocab_size: 384,
            d_model: 128,
            n_layers: 2,
            n_heads: 4,
            n_kv_heads: 2,
            d_ff: 352,
            max_seq_len: 96,
            rope_theta: 10_000.0,
            norm_eps: 1e-5,
            tie_embeddings: true,
            arch: Arch::Llama,
            qkv_bias: false,
            o_bias: false,
            mlp_bias: false,
            lora: None,
        }
    }
}

/// Bounds [`ModelConfig::validate`] holds sizes to: beyond them a config
/// is a typo, and would fail allocating instead of with a named error.
pub const MAX_PARAMS: u128 = 100_000_000_000;
pub const MAX_SEQ_LEN: usize = 1 << 20;

impl ModelConfig {
    pub fn head_dim(&self) -> usize {
        self.d_model / self.n_heads
    }

    /// GPT-2's layout: LayerNorm, learned positions, GELU MLP.
    pub fn is_gpt2(&self) -> bool {
        self.arch == Arch::Gpt2
    }

    /// Parameters of the model (f32 each), the LoRA adapters aside: what
    /// [`ModelConfig::validate`] bounds. Saturates instead of overflowing.
    pub fn params_estimate(&self) -> u128 {
        let (v, d, f, l) = (
            self.vocab_size as u128,
            self.d_model as u128,
            self.d_ff as u128,
            self.n_layers as u128,
        );
        let kv = (self.n_kv_heads as u128) * (d / (self.n_heads.max(1) as u128));
        let layer = d * d * 2 + d * kv * 2 + 3 * d * f;
        let embeddings = if self.tie_embeddings {
            v * d
        } else {
            2 * v * d
        };
        embeddings + l * layer + (self.max_seq_len as u128) * d
    }

    pub fn validate(&self) -> Result<()> {
        let fail = |m: String| Err(Error::Config(format!("model: {m}")));
        for (name, v) in [
            ("d_model", self.d_model),
            ("n_layers", self.n_layers),
            ("n_heads", self.n_heads),
            ("d_ff", self.d_ff),
        ] {
            if v == 0 {
                return fail(format!("{name} must be at least 1"));
            }
        }
        if self.max_seq_len > MAX_SEQ_LEN {
            return fail(format!(
                "max_seq_len {} is absurd (at most {MAX_SEQ_LEN})",
                self.max_seq_len
            ));
        }
        if self.params_estimate() > MAX_PARAMS {
            return fail(format!(
                "{} parameters ({:.0} GB in f32) is more than any machine holds (at most {MAX_PARAMS})",
                self.params_estimate(),
                self.params_estimate() as f64 * 4e-9
            ));
        }
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !positive(self.rope_theta as f64) || !positive(self.norm_eps) {
            return fail(format!(
                "rope_theta ({}) and norm_eps ({}) must be positive numbers",
                self.rope_theta, self.norm_eps
            ));
        }
        if !self.d_model.is_multiple_of(self.n_heads) {
            return fail(format!(
                "d_model {} is not a multiple of n_heads {}",
                self.d_model, self.n_heads
            ));
        }
        if self.n_kv_heads == 0 || !self.n_heads.is_multiple_of(self.n_kv_heads) {
            return fail(format!(
                "n_heads {} is not a multiple of n_kv_heads {}",
                self.n_heads, self.n_kv_heads
            ));
        }
        if !self.head_dim().is_multiple_of(2) {
            return fail(format!(
                "head_dim {} must be even for RoPE",
                self.head_dim()
            ));
        }
        if self.vocab_size < 8 || self.max_seq_len < 4 {
            return fail("vocab_size and max_seq_len are too small".into());
        }
        if let Some(l) = &self.lora {
            l.validate()?;
        }
        Ok(())
    }
}
