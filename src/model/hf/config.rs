//! Hugging Face `config.json` ↔ [`ModelConfig`].

use crate::error::{Error, Result};
use crate::model::{Arch, ModelConfig};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::path::Path;

pub const SUPPORTED: &str = "LlamaForCausalLM, Qwen2ForCausalLM, GPT2LMHeadModel";

/// A `config.json` object with typed, path-naming lookups.
pub struct HfConfig<'a> {
    pub v: Value,
    pub path: &'a Path,
}

impl HfConfig<'_> {
    fn opt<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(x) => serde_json::from_value(x.clone())
                .map(Some)
                .map_err(|e| Error::file(self.path, format!("field {key}: {e}"))),
        }
    }

    fn req<T: DeserializeOwned>(&self, key: &str) -> Result<T> {
        self.opt(key)?
            .ok_or_else(|| Error::file(self.path, format!("missing field {key}")))
    }

    fn unsupported(&self, what: String) -> Error {
        Error::file(self.path, format!("unsupported: {what}"))
    }

    pub fn arch(&self) -> Result<Arch> {
        let archs: Vec<String> = self.opt("architectures")?.unwrap_or_default();
        let model_type: Option<String> = self.opt("model_type")?;
        let name = archs.first().cloned().or(model_type).unwrap_or_default();
        match name.as_str() {
            "LlamaForCausalLM" | "llama" => Ok(Arch::Llama),
            "Qwen2ForCausalLM" | "qwen2" => Ok(Arch::Qwen2),
            "GPT2LMHeadModel" | "gpt2" => Ok(Arch::Gpt2),
            other => {
                Err(self.unsupported(format!("architecture {other:?}; supported: {SUPPORTED}")))
            }
        }
    }

    /// Token id fields may be a number or a list (several EOS ids): the
    /// first one is used.
    pub fn token_id(&self, key: &str) -> Result<Option<u32>> {
        Ok(match self.opt::<Value>(key)? {
            Some(Value::Array(ids)) => ids.first().and_then(Value::as_u64).map(|i| i as u32),
            Some(x) => x.as_u64().map(|i| i as u32),
            None => None,
        })
    }

    pub fn model_config(&self) -> Result<ModelConfig> {
        let arch = self.arch()?;
        let cfg = if arch == Arch::Gpt2 {
            self.gpt2()?
        } else {
            self.llama(arch)?
        };
        cfg.validate().map_err(|e| Error::file(self.path, e))?;
        Ok(cfg)
    }

    fn llama(&self, arch: Arch) -> Result<ModelConfig> {
        let act: String = self.opt("hidden_act")?.unwrap_or("silu".into());
        if act != "silu" {
            return Err(self.unsupported(format!("hidden_act {act:?} (only silu)")));
        }
        if self.opt::<bool>("use_sliding_window")?.unwrap_or(false) {
            return Err(self.unsupported("use_sliding_window = true".into()));
        }
        let rope: Option<Value> = self.opt("rope_parameters")?;
        let scaling: Option<Value> = self.opt("rope_scaling")?;
        let rope_type = rope
            .iter()
            .chain(scaling.iter())
            .find_map(|r| r.get("rope_type").or(r.get("type")).and_then(Value::as_str))
            .unwrap_or("default");
        if rope_type != "default" {
            return Err(self.unsupported(format!("rope type {rope_type:?} (only default)")));
        }
        let theta = rope
            .as_ref()
            .and_then(|r| r.get("rope_theta").and_then(Value::as_f64))
            .or(self.opt("rope_theta")?)
            .unwrap_or(10_000.0);
        let (d, heads): (usize, usize) =
            (self.req("hidden_size")?, self.req("num_attention_heads")?);
        if let Some(hd) = self.opt::<usize>("head_dim")?
            && hd * heads != d
        {
            return Err(self.unsupported(format!(
                "head_dim {hd} ≠ hidden_size {d} / num_attention_heads {heads}"
            )));
        }
        let attention_bias = self.opt("attention_bias")?.unwrap_or(false);
        Ok(ModelConfig {
            arch,
            vocab_size: self.req("vocab_size")?,
            d_model: d,
            n_layers: self.req("num_hidden_layers")?,
            n_heads: heads,
            n_kv_heads: self.opt("num_key_value_heads")?.unwrap_or(heads),
            d_ff: self.req("intermediate_size")?,
            max_seq_len: self.opt("max_position_embeddings")?.unwrap_or(2048),
            rope_theta: theta as f32,
            norm_eps: self.opt("rms_norm_eps")?.unwrap_or(1e-6),
            tie_embeddings: self.opt("tie_word_embeddings")?.unwrap_or(false),
            qkv_bias: arch == Arch::Qwen2 || attention_bias,
            o_bias: attention_bias,
            mlp_bias: self.opt("mlp_bias")?.unwrap_or(false),
            lora: None,
        })
    }

    fn gpt2(&self) -> Result<ModelConfig> {
        let act: String = self
            .opt("activation_function")?
            .unwrap_or("gelu_new".into());
        if !matches!(act.as_str(), "gelu_new" | "gelu_pytorch_tanh") {
            return Err(self.unsupported(format!("activation_function {act:?} (only gelu_new)")));
        }
        if self
            .opt::<bool>("scale_attn_by_inverse_layer_idx")?
            .unwrap_or(false)
            || !self.opt::<bool>("scale_attn_weights")?.unwrap_or(true)
        {
            return Err(self.unsupported("non-standard attention scaling".into()));
        }
        let (d, heads): (usize, usize) = (self.req("n_embd")?, self.req("n_head")?);
        Ok(ModelConfig {
            arch: Arch::Gpt2,
            vocab_size: self.req("vocab_size")?,
            d_model: d,
            n_layers: self.req("n_layer")?,
            n_heads: heads,
            n_kv_heads: heads,
            d_ff: self.opt("n_inner")?.unwrap_or(4 * d),
            max_seq_len: self.opt("n_positions")?.unwrap_or(1024),
            rope_theta: 10_000.0,
            norm_eps: self.opt("layer_norm_epsilon")?.unwrap_or(1e-5),
            tie_embeddings: true,
            qkv_bias: true,
            o_bias: true,
            mlp_bias: true,
            lora: None,
        })
    }
}

/// The `config.json` that `transformers` reads for `cfg`.
pub fn to_hf(cfg: &ModelConfig, bos: Option<u32>, eos: u32, pad: u32) -> Result<Value> {
    let common = json!({
        "vocab_size": cfg.vocab_size,
        "bos_token_id": bos.unwrap_or(eos),
        "eos_token_id": eos,
        "pad_token_id": pad,
        "torch_dtype": "float32",
        "tie_word_embeddings": cfg.tie_embeddings,
    });
    let specific = match cfg.arch {
        Arch::Gpt2 => {
            if !(cfg.tie_embeddings && cfg.qkv_bias && cfg.o_bias && cfg.mlp_bias) {
                return Err(Error::Config(
                    "gpt2 export needs tied embeddings and all biases".into(),
                ));
            }
            json!({
                "architectures": ["GPT2LMHeadModel"],
                "model_type": "gpt2",
                "n_embd": cfg.d_model,
                "n_layer": cfg.n_layers,
                "n_head": cfg.n_heads,
                "n_inner": cfg.d_ff,
                "n_positions": cfg.max_seq_len,
                "layer_norm_epsilon": cfg.norm_eps,
                "activation_function": "gelu_new",
            })
        }
        Arch::Llama | Arch::Qwen2 => {
            let qwen = cfg.arch == Arch::Qwen2;
            // Llama's attention_bias covers q, k, v and o together; Qwen2
            // has q, k, v biases only.
            if !qwen && cfg.qkv_bias != cfg.o_bias || qwen && cfg.o_bias {
                return Err(Error::Config(format!(
                    "no Hugging Face {:?} has qkv_bias = {} with o_bias = {}",
                    cfg.arch, cfg.qkv_bias, cfg.o_bias
                )));
            }
            let (name, ty) = if qwen {
                ("Qwen2ForCausalLM", "qwen2")
            } else {
                ("LlamaForCausalLM", "llama")
            };
            let mut v = json!({
                "architectures": [name],
                "model_type": ty,
                "hidden_size": cfg.d_model,
                "intermediate_size": cfg.d_ff,
                "num_hidden_layers": cfg.n_layers,
                "num_attention_heads": cfg.n_heads,
                "num_key_value_heads": cfg.n_kv_heads,
                "max_position_embeddings": cfg.max_seq_len,
                "rms_norm_eps": cfg.norm_eps,
                "rope_theta": cfg.rope_theta,
                "hidden_act": "silu",
                "mlp_bias": cfg.mlp_bias,
            });
            if !qwen {
                v["attention_bias"] = json!(cfg.qkv_bias);
            }
            v
        }
    };
    let mut out = common;
    for (k, x) in specific.as_object().into_iter().flatten() {
        out[k] = x.clone();
    }
    Ok(out)
}
