//! GGUF files (llama.cpp, ollama, LM Studio) in and out, for the Llama and
//! Qwen2 architectures.
//!
//! Import reads the model shape from the metadata, dequantizes each tensor
//! to f32 as the loader asks for it (the file is memory-mapped), renames
//! llama.cpp's tensors to Hugging Face's (`blk.3.attn_q.weight` →
//! `model.layers.3.self_attn.q_proj.weight`) and undoes the row permutation
//! llama.cpp's converter applies to Llama's q and k projections (its RoPE
//! rotates adjacent pairs; ours, like transformers', rotates the two
//! halves of each head). The tokenizer is rebuilt from the vocabulary
//! (`vocab.rs`). Export writes the same names and permutation back, in F32,
//! F16 or Q8_0.

mod file;
pub mod quant;
mod vocab;

pub use file::{GgufFile, TensorInfo, Value};
pub use quant::GgmlType;
pub use vocab::PRE_SUPPORTED;

use super::hf::{self, Checkpoint, HostTensor};
use super::{Arch, ModelConfig, Transformer};
use crate::error::{Error, Result};
use crate::tokenizer::{Layout, PromptFormat, Tokenizer};
use burn::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// A path that names a GGUF file: a regular file whose first bytes are the
/// GGUF magic (a directory is a checkpoint or a Hugging Face model).
pub fn is_gguf(path: &Path) -> bool {
    use std::io::Read;
    if !path.is_file() {
        return false;
    }
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == file::MAGIC
}

/// The architectures read and written, by their `general.architecture`.
pub const SUPPORTED: &str = "llama, qwen2";

/// The model shape a GGUF file's metadata describes.
pub fn model_config(file: &GgufFile) -> Result<ModelConfig> {
    let arch_name: String = file.req("general.architecture", |v| v.as_str().map(String::from))?;
    let arch = match arch_name.as_str() {
        "llama" => Arch::Llama,
        "qwen2" => Arch::Qwen2,
        other => {
            return Err(Error::file(
                &file.path,
                format!("GGUF architecture {other:?} is not supported (supported: {SUPPORTED})"),
            ));
        }
    };
    let key = |k: &str| format!("{arch_name}.{k}");
    let usize_of = |v: &Value| v.as_u64().map(|x| x as usize);
    // f32 values read back as the shortest decimal that rounds to them
    // (1e-5, not 9.999999747378752e-6), as the source config wrote them.
    let float_of = |v: &Value| match *v {
        Value::F32(x) => x.to_string().parse::<f64>().ok(),
        _ => v.as_f64(),
    };
    let unsupported = |m: String| Error::file(&file.path, format!("unsupported: {m}"));
    if let Some(kind) = file.opt(&key("rope.scaling.type"), |v| v.as_str().map(String::from))?
        && kind != "none"
    {
        return Err(unsupported(format!("rope scaling {kind:?}")));
    }
    let d_model = file.req(&key("embedding_length"), usize_of)?;
    let n_heads = file.req(&key("attention.head_count"), usize_of)?;
    if n_heads == 0 {
        return Err(unsupported("attention.head_count 0".into()));
    }
    if let Some(rot) = file.opt(&key("rope.dimension_count"), usize_of)?
        && rot * n_heads != d_model
    {
        return Err(unsupported(format!(
            "rope over {rot} of each head's {} dimensions",
            d_model / n_heads
        )));
    }
    let vocab_size = match file.opt(&key("vocab_size"), usize_of)? {
        Some(v) => v,
        None => file
            .get("tokenizer.ggml.tokens")
            .and_then(Value::as_array)
            .map(<[Value]>::len)
            .ok_or_else(|| Error::file(&file.path, "no vocab_size and no tokenizer.ggml.tokens"))?,
    };
    let cfg = ModelConfig {
        arch,
        vocab_size,
        d_model,
        n_layers: file.req(&key("block_count"), usize_of)?,
        n_heads,
        n_kv_heads: file
            .opt(&key("attention.head_count_kv"), usize_of)?
            .unwrap_or(n_heads),
        d_ff: file.req(&key("feed_forward_length"), usize_of)?,
        max_seq_len: file.opt(&key("context_length"), usize_of)?.unwrap_or(2048),
        rope_theta: file
            .opt(&key("rope.freq_base"), float_of)?
            .unwrap_or(10_000.0) as f32,
        norm_eps: file
            .opt(&key("attention.layer_norm_rms_epsilon"), float_of)?
            .unwrap_or(1e-6),
        tie_embeddings: !file.tensors.contains_key("output.weight"),
        qkv_bias: arch == Arch::Qwen2 || file.tensors.contains_key("blk.0.attn_q.bias"),
        o_bias: file.tensors.contains_key("blk.0.attn_output.bias"),
        mlp_bias: false,
        lora: None,
    };
    cfg.validate().map_err(|e| Error::file(&file.path, e))?;
    Ok(cfg)
}

/// llama.cpp's tensor name for a Hugging Face one (Llama/Qwen2 layout).
fn gguf_name(hf: &str) -> Option<String> {
    let p: Vec<&str> = hf.split('.').collect();
    Some(match p.as_slice() {
        ["model", "embed_tokens", "weight"] => "token_embd.weight".into(),
        ["model", "norm", "weight"] => "output_norm.weight".into(),
        ["lm_head", "weight"] => "output.weight".into(),
        ["model", "layers", i, block, proj, w] if *block == "self_attn" || *block == "mlp" => {
            let short = match *proj {
                "q_proj" => "attn_q",
                "k_proj" => "attn_k",
                "v_proj" => "attn_v",
                "o_proj" => "attn_output",
                "gate_proj" => "ffn_gate",
                "up_proj" => "ffn_up",
                "down_proj" => "ffn_down",
                _ => return None,
            };
            format!("blk.{i}.{short}.{w}")
        }
        ["model", "layers", i, "input_layernorm", "weight"] => format!("blk.{i}.attn_norm.weight"),
        ["model", "layers", i, "post_attention_layernorm", "weight"] => {
            format!("blk.{i}.ffn_norm.weight")
        }
        _ => return None,
    })
}

/// The row permutation of Llama's q (`heads` = attention heads) or k
/// (`heads` = KV heads) projection between llama.cpp and Hugging Face.
/// Within each head, llama.cpp's row 2i + h holds Hugging Face's row
/// h·(head_dim / 2) + i. `to_hf` undoes it; otherwise it applies it.
fn permute_rows(t: HostTensor, heads: usize, to_hf: bool) -> HostTensor {
    let rows = t.shape[0];
    if rows == 0 || !rows.is_multiple_of(2 * heads) {
        // Not a q/k shape: left as it is for the loader to refuse by shape.
        return t;
    }
    let width = t.data.len() / rows;
    let hd = rows / heads;
    let mut data = vec![0.0; t.data.len()];
    for h in 0..heads {
        for half in 0..2 {
            for i in 0..hd / 2 {
                let hf_row = h * hd + half * (hd / 2) + i;
                let gg_row = h * hd + 2 * i + half;
                let (dst, src) = if to_hf {
                    (hf_row, gg_row)
                } else {
                    (gg_row, hf_row)
                };
                data[dst * width..(dst + 1) * width]
                    .copy_from_slice(&t.data[src * width..(src + 1) * width]);
            }
        }
    }
    HostTensor {
        shape: t.shape.clone(),
        data,
    }
}

/// How many heads' rows a Llama projection permutes, if it is q or k.
fn permuted_heads(cfg: &ModelConfig, hf_name: &str) -> Option<usize> {
    if cfg.arch != Arch::Llama {
        return None;
    }
    if hf_name.contains(".q_proj.") {
        Some(cfg.n_heads)
    } else if hf_name.contains(".k_proj.") {
        Some(cfg.n_kv_heads)
    } else {
        None
    }
}

/// A GGUF file seen through Hugging Face's tensor names.
struct AsHf<'a> {
    file: &'a GgufFile,
    cfg: &'a ModelConfig,
    /// Hugging Face name → GGUF name.
    names: BTreeMap<String, String>,
}

impl<'a> AsHf<'a> {
    fn new(file: &'a GgufFile, cfg: &'a ModelConfig) -> Result<Self> {
        let mut names = BTreeMap::new();
        let mut by_gguf = BTreeMap::new();
        for l in 0..cfg.n_layers {
            for (block, projs) in [
                ("self_attn", &["q_proj", "k_proj", "v_proj", "o_proj"][..]),
                ("mlp", &["gate_proj", "up_proj", "down_proj"][..]),
            ] {
                for p in projs {
                    for w in ["weight", "bias"] {
                        let hf = format!("model.layers.{l}.{block}.{p}.{w}");
                        by_gguf.insert(gguf_name(&hf).expect("known name"), hf);
                    }
                }
            }
            for n in ["input_layernorm", "post_attention_layernorm"] {
                let hf = format!("model.layers.{l}.{n}.weight");
                by_gguf.insert(gguf_name(&hf).expect("known name"), hf);
            }
        }
        for hf in [
            "model.embed_tokens.weight",
            "model.norm.weight",
            "lm_head.weight",
        ] {
            by_gguf.insert(gguf_name(hf).expect("known name"), hf.to_string());
        }
        for g in file.tensors.keys() {
            // Cached RoPE frequencies are recomputed from rope.freq_base.
            if g == "rope_freqs.weight" {
                continue;
            }
            let hf = by_gguf.get(g).ok_or_else(|| {
                Error::file(
                    &file.path,
                    format!("tensor {g} has no place in a {:?} model", cfg.arch),
                )
            })?;
            names.insert(hf.clone(), g.clone());
        }
        Ok(Self { file, cfg, names })
    }
}

impl Checkpoint for AsHf<'_> {
    fn names(&self) -> Vec<String> {
        self.names.keys().cloned().collect()
    }

    fn contains(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    fn read(&self, name: &str) -> Result<HostTensor> {
        let g = self
            .names
            .get(name)
            .ok_or_else(|| Error::file(&self.file.path, format!("no tensor for {name}")))?;
        let (shape, data) = self.file.read_f32(g)?;
        let t = HostTensor { shape, data };
        Ok(match permuted_heads(self.cfg, name) {
            Some(heads) => permute_rows(t, heads, true),
            None => t,
        })
    }
}

/// restlm's own metadata key (llama.cpp ignores it): the token ids between
/// prompt and target.
const SEP_KEY: &str = "restlm.prompt_separator";
/// restlm's own metadata key: the policy's prompt format (plain or chat).
const FORMAT_KEY: &str = "restlm.prompt_format";

/// The tokenizer a GGUF file describes, with the plain prompt layout (its
/// bos when it adds one, "\n" between prompt and target).
pub fn tokenizer(file: &GgufFile) -> Result<Tokenizer> {
    let (json, sp) = vocab::tokenizer_json(file)?;
    let layout = Layout {
        bos: sp.bos,
        eos: sp.eos,
        pad: sp.pad,
        ..Layout::default()
    };
    let mut tok = Tokenizer::from_json_with(&json.to_string(), layout)
        .map_err(|e| Error::file(&file.path, e))?;
    // A restlm export records its separator; other files get "\n".
    tok.sep = match file.opt(SEP_KEY, |v| {
        v.as_array()?
            .iter()
            .map(|x| x.as_u64().map(|x| x as u32))
            .collect::<Option<Vec<u32>>>()
    })? {
        Some(sep) => sep,
        None => tok.newline()?,
    };
    if tok.sep.is_empty() {
        return Err(Error::file(&file.path, "encodes \"\\n\" as nothing"));
    }
    let format = match file.opt(FORMAT_KEY, |v| v.as_str().map(String::from))? {
        Some(f) => serde_json::from_value(serde_json::Value::String(f.clone()))
            .map_err(|_| Error::file(&file.path, format!("{FORMAT_KEY} {f:?}: plain or chat")))?,
        None => PromptFormat::Plain,
    };
    tok.chat_template = chat_template(file);
    tok.with_format(format)
}

/// The chat template a GGUF file carries, if any.
pub fn chat_template(file: &GgufFile) -> Option<String> {
    file.get("tokenizer.chat_template")
        .and_then(Value::as_str)
        .map(String::from)
}

/// Imports a GGUF file's model: shape and weights (dequantized to f32, or
/// the projections requantised as `quant` blocks one at a time). Its
/// tokenizer is [`tokenizer`].
pub fn load(
    path: &Path,
    quant: Option<crate::cpu::quant::QuantKind>,
    device: &Device,
) -> Result<(ModelConfig, Transformer)> {
    load_file(&GgufFile::open(path)?, quant, device)
}

/// [`load`] from an opened (or in-memory) file.
pub fn load_file(
    file: &GgufFile,
    quant: Option<crate::cpu::quant::QuantKind>,
    device: &Device,
) -> Result<(ModelConfig, Transformer)> {
    let cfg = model_config(file)?;
    let named = AsHf::new(file, &cfg)?;
    let model = hf::load_from(&cfg, &named, &file.path, quant, device)?;
    Ok((cfg, model))
}

/// The tensor encodings export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    F32,
    F16,
    /// 8-bit blocks for the 2-D weights; norms and vectors stay F32, as
    /// llama.cpp's own converter leaves them.
    Q8_0,
}

impl std::str::FromStr for Encoding {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "f32" => Ok(Encoding::F32),
            "f16" => Ok(Encoding::F16),
            "q8_0" => Ok(Encoding::Q8_0),
            _ => Err(format!("unknown GGUF encoding {s:?} (f32, f16, q8_0)")),
        }
    }
}

/// llama.cpp's `general.file_type` for an encoding.
fn file_type(enc: Encoding) -> u32 {
    match enc {
        Encoding::F32 => 0,
        Encoding::F16 => 1,
        Encoding::Q8_0 => 7,
    }
}

/// Writes a policy as a GGUF file llama.cpp runs. `path` must not exist.
pub fn export(
    path: &Path,
    cfg: &ModelConfig,
    model: &Transformer,
    tok: &Tokenizer,
    enc: Encoding,
) -> Result<()> {
    if path.exists() {
        return Err(Error::file(
            path,
            "already exists; export writes a new file",
        ));
    }
    let (meta, tensors) = export_parts(cfg, model, tok, enc)
        .map_err(|m| Error::file(path, format!("GGUF export: {m}")))?;
    file::write(path, &meta, &tensors)
}

/// [`export`]'s file as bytes (the browser page's download).
pub fn export_bytes(
    cfg: &ModelConfig,
    model: &Transformer,
    tok: &Tokenizer,
    enc: Encoding,
) -> Result<Vec<u8>> {
    let (meta, tensors) = export_parts(cfg, model, tok, enc)
        .map_err(|m| Error::Other(format!("GGUF export: {m}")))?;
    let mut out = Vec::new();
    file::write_to(&mut out, &meta, &tensors).expect("writing to memory");
    Ok(out)
}

/// An export's metadata and tensors.
type ExportParts = (Vec<(String, Value)>, Vec<file::OutTensor>);

/// [`ExportParts`] of a policy.
fn export_parts(
    cfg: &ModelConfig,
    model: &Transformer,
    tok: &Tokenizer,
    enc: Encoding,
) -> std::result::Result<ExportParts, String> {
    let arch = export_arch(cfg)?;
    let meta = export_metadata(arch, cfg, tok, enc)?;
    let tensors = export_tensors(cfg, model, enc)?;
    Ok((meta, tensors))
}

/// llama.cpp's architecture name for `cfg`, if it has one that fits.
fn export_arch(cfg: &ModelConfig) -> std::result::Result<&'static str, String> {
    let arch = match cfg.arch {
        Arch::Llama => "llama",
        Arch::Qwen2 => "qwen2",
        Arch::Gpt2 => {
            return Err(format!(
                "supports {SUPPORTED}, not gpt2 (export it as a Hugging Face directory)"
            ));
        }
    };
    if cfg.o_bias || cfg.mlp_bias || (cfg.qkv_bias && cfg.arch == Arch::Llama) {
        return Err("biases other than Qwen2's q/k/v ones have no llama.cpp tensor".into());
    }
    Ok(arch)
}

/// The model shape, the tokenizer, the chat template and restlm's prompt
/// layout as GGUF metadata.
fn export_metadata(
    arch: &str,
    cfg: &ModelConfig,
    tok: &Tokenizer,
    enc: Encoding,
) -> std::result::Result<Vec<(String, Value)>, String> {
    let u = |x: usize| Value::U32(x as u32);
    let shape = [
        ("context_length", u(cfg.max_seq_len)),
        ("embedding_length", u(cfg.d_model)),
        ("block_count", u(cfg.n_layers)),
        ("feed_forward_length", u(cfg.d_ff)),
        ("attention.head_count", u(cfg.n_heads)),
        ("attention.head_count_kv", u(cfg.n_kv_heads)),
        ("rope.dimension_count", u(cfg.head_dim())),
        ("rope.freq_base", Value::F32(cfg.rope_theta)),
        (
            "attention.layer_norm_rms_epsilon",
            Value::F32(cfg.norm_eps as f32),
        ),
        ("vocab_size", u(cfg.vocab_size)),
    ];
    let mut meta: Vec<(String, Value)> = vec![
        ("general.architecture".into(), Value::Str(arch.into())),
        ("general.name".into(), Value::Str("restlm policy".into())),
        ("general.file_type".into(), Value::U32(file_type(enc))),
        ("general.quantization_version".into(), Value::U32(2)),
    ];
    meta.extend(shape.into_iter().map(|(k, v)| (format!("{arch}.{k}"), v)));
    let tok_json: serde_json::Value =
        serde_json::from_str(&tok.to_json().map_err(|e| e.to_string())?)
            .map_err(|e| format!("the tokenizer's JSON: {e}"))?;
    let tok_meta = vocab::metadata(&tok_json, cfg.vocab_size, tok.bos, tok.eos, tok.pad)
        .map_err(|m| format!("the tokenizer: {m}"))?;
    meta.extend(tok_meta.into_iter().map(|(k, v)| (k.to_string(), v)));
    let format = match tok.format() {
        PromptFormat::Plain => "plain",
        PromptFormat::Chat => "chat",
    };
    meta.push((FORMAT_KEY.into(), Value::Str(format.into())));
    let sep = tok.sep.iter().map(|&i| Value::U32(i)).collect();
    meta.push((SEP_KEY.into(), Value::Array(sep)));
    if let Some(t) = &tok.chat_template {
        meta.push(("tokenizer.chat_template".into(), Value::Str(t.clone())));
    }
    Ok(meta)
}

/// Every parameter under its llama.cpp name, q/k rows permuted for
/// llama.cpp's RoPE, encoded as `enc` (2-D weights whose rows fill whole
/// 32-value blocks; the rest F32).
fn export_tensors(
    cfg: &ModelConfig,
    model: &Transformer,
    enc: Encoding,
) -> std::result::Result<Vec<file::OutTensor>, String> {
    hf::tensors(cfg, model)
        .into_iter()
        .map(|(name, t)| {
            let g = gguf_name(&name).ok_or_else(|| format!("no llama.cpp name for {name}"))?;
            let t = match permuted_heads(cfg, &name) {
                Some(heads) => permute_rows(t, heads, false),
                None => t,
            };
            let matrix = t.shape.len() == 2 && t.shape[1].is_multiple_of(32);
            let (ty, bytes) = match enc {
                Encoding::Q8_0 if matrix => (GgmlType::Q8_0, quant::encode_q8_0(&t.data)),
                Encoding::F16 if matrix => (GgmlType::F16, quant::encode_f16(&t.data)),
                _ => (GgmlType::F32, quant::encode_f32(&t.data)),
            };
            Ok(file::OutTensor {
                name: g,
                shape: t.shape,
                ty,
                bytes,
            })
        })
        .collect()
}
