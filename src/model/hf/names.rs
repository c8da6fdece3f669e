//! Where each of our parameters lives in a Hugging Face checkpoint.
//!
//! Our parameter paths follow Llama's names (`layers.3.self_attn.q_proj.weight`),
//! so the Llama and Qwen2 mapping is a prefix and a transpose: torch's
//! `nn.Linear` stores [out, in], burn's `Linear` [in, out]. GPT-2 stores
//! its projections as `Conv1D`, already [in, out], and fuses q, k and v into
//! one `c_attn` whose last axis is [q | k | v].

use crate::model::{Arch, ModelConfig};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The tensor's name in the checkpoint.
    pub name: String,
    /// Stored as [out, in]: transpose into burn's [in, out].
    pub transpose: bool,
    /// (part, parts): this parameter is that slice of the last axis.
    pub part: Option<(usize, usize)>,
}

/// Prefix of the GPT-2 names when saved from `GPT2LMHeadModel`; the original
/// OpenAI-converted checkpoints have none, and the loader accepts both.
pub const GPT2_PREFIX: &str = "transformer.";

/// The checkpoint tensor for our parameter at `path` (module names joined
/// by '.', enum variants left out), or None for a name we do not know.
pub fn source(cfg: &ModelConfig, path: &str) -> Option<Source> {
    let parts: Vec<&str> = path.split('.').collect();
    match cfg.arch {
        Arch::Llama | Arch::Qwen2 => llama(&parts),
        Arch::Gpt2 => gpt2(&parts),
    }
}

fn plain(name: String) -> Option<Source> {
    Some(Source {
        name,
        transpose: false,
        part: None,
    })
}

/// Norm scales are burn's `gamma` (and LayerNorm's `beta`), torch's
/// `weight` (and `bias`).
fn norm_param(p: &str) -> Option<&'static str> {
    match p {
        "gamma" => Some("weight"),
        "beta" => Some("bias"),
        _ => None,
    }
}

fn llama(p: &[&str]) -> Option<Source> {
    match p {
        ["embed_tokens", "weight"] => plain("model.embed_tokens.weight".into()),
        ["norm", x] => plain(format!("model.norm.{}", norm_param(x)?)),
        ["lm_head", "weight"] => Some(Source {
            name: "lm_head.weight".into(),
            transpose: true,
            part: None,
        }),
        [
            "layers",
            i,
            norm @ ("input_layernorm" | "post_attention_layernorm"),
            x,
        ] => plain(format!("model.layers.{i}.{norm}.{}", norm_param(x)?)),
        [
            "layers",
            i,
            block @ ("self_attn" | "mlp"),
            proj,
            w @ ("weight" | "bias"),
        ] => Some(Source {
            name: format!("model.layers.{i}.{block}.{proj}.{w}"),
            transpose: *w == "weight",
            part: None,
        }),
        _ => None,
    }
}

fn gpt2(p: &[&str]) -> Option<Source> {
    let name = match p {
        ["embed_tokens", "weight"] => "wte.weight".to_string(),
        ["embed_positions", "weight"] => "wpe.weight".to_string(),
        ["norm", x] => format!("ln_f.{}", norm_param(x)?),
        ["layers", i, "input_layernorm", x] => format!("h.{i}.ln_1.{}", norm_param(x)?),
        ["layers", i, "post_attention_layernorm", x] => {
            format!("h.{i}.ln_2.{}", norm_param(x)?)
        }
        ["layers", i, "self_attn", proj, w] => {
            let part = match *proj {
                "q_proj" => 0,
                "k_proj" => 1,
                "v_proj" => 2,
                "o_proj" => return plain(format!("h.{i}.attn.c_proj.{w}")),
                _ => return None,
            };
            return Some(Source {
                name: format!("h.{i}.attn.c_attn.{w}"),
                transpose: false,
                part: Some((part, 3)),
            });
        }
        ["layers", i, "mlp", "up_proj", w] => format!("h.{i}.mlp.c_fc.{w}"),
        ["layers", i, "mlp", "down_proj", w] => format!("h.{i}.mlp.c_proj.{w}"),
        _ => return None,
    };
    plain(name)
}

/// Checkpoint entries that are not weights (causal-mask buffers, cached
/// rotary frequencies) and are ignored on load.
pub fn is_buffer(name: &str) -> bool {
    name.ends_with(".attn.bias") && !name.contains("c_attn")
        || name.ends_with(".attn.masked_bias")
        || name.ends_with("rotary_emb.inv_freq")
}
