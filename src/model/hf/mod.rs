//! Hugging Face model directories: `config.json`, `model.safetensors` (or
//! shards with their index) and `tokenizer.json`, for `LlamaForCausalLM`,
//! `Qwen2ForCausalLM` and `GPT2LMHeadModel`. [`load`] imports one;
//! [`export`] writes the same layout back, in f32, for `transformers`.

mod config;
mod names;
mod weights;

pub use config::SUPPORTED;
pub use names::{Source, source};
pub use weights::{HostTensor, Weights};

/// Named tensors in Hugging Face's naming, whatever file holds them
/// (safetensors here, GGUF through `model::gguf`).
pub trait Checkpoint {
    fn names(&self) -> Vec<String>;
    fn contains(&self, name: &str) -> bool;
    /// The tensor `name` as f32 in its Hugging Face orientation.
    fn read(&self, name: &str) -> Result<HostTensor>;
}

use super::quant::QuantWeight;
use super::{ModelConfig, Transformer};
use crate::cpu::quant::QuantKind;
use crate::error::{Error, Result};
use crate::io::{read_json, write_json_atomic};
use crate::tokenizer::Tokenizer;
use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use config::HfConfig;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A directory whose `config.json` is a Hugging Face one (restlm's own
/// `config.json` has neither `architectures` nor `model_type`).
pub fn is_hf_dir(dir: &Path) -> Result<bool> {
    let path = dir.join("config.json");
    if !path.exists() {
        return Ok(false);
    }
    let v: serde_json::Value = read_json(&path)?;
    Ok(v.get("architectures").is_some() || v.get("model_type").is_some())
}

fn read_config(path: &Path) -> Result<HfConfig<'_>> {
    Ok(HfConfig {
        v: read_json(path)?,
        path,
    })
}

/// The model shape a Hugging Face `config.json` describes.
pub fn model_config(dir: &Path) -> Result<ModelConfig> {
    read_config(&dir.join("config.json"))?.model_config()
}

pub struct SpecialIds {
    pub eos: u32,
    pub pad: u32,
}

/// EOS and padding ids from `config.json`, else `generation_config.json`;
/// padding falls back to EOS (it is always masked out).
pub fn special_ids(dir: &Path) -> Result<SpecialIds> {
    let path = dir.join("config.json");
    let cfg = read_config(&path)?;
    let gen_path = dir.join("generation_config.json");
    let from_gen = |key: &str| -> Result<Option<u32>> {
        if gen_path.exists() {
            read_config(&gen_path)?.token_id(key)
        } else {
            Ok(None)
        }
    };
    let eos = match cfg.token_id("eos_token_id")? {
        Some(id) => id,
        None => from_gen("eos_token_id")?
            .ok_or_else(|| Error::file(&path, "no eos_token_id (nor in generation_config.json)"))?,
    };
    let pad = cfg.token_id("pad_token_id")?.unwrap_or(eos);
    Ok(SpecialIds { eos, pad })
}

/// Imports the model in `dir` onto `device`, one tensor at a time, its
/// projections quantised as `quant` blocks when given.
pub fn load(
    dir: &Path,
    quant: Option<QuantKind>,
    device: &Device,
) -> Result<(ModelConfig, Transformer)> {
    let cfg = model_config(dir)?;
    let weights = Weights::open(dir)?;
    let model = load_from(&cfg, &weights, dir, quant, device)?;
    Ok((cfg, model))
}

/// Builds a `cfg`-shaped model from `weights`; `origin` names the file or
/// directory in errors. Every checkpoint tensor must be used. With
/// `quant`, each layer projection's weight is quantised as it is read
/// (`Proj::quantized`'s blocks), so the f32 model is never whole in memory.
pub fn load_from(
    cfg: &ModelConfig,
    weights: &dyn Checkpoint,
    origin: &Path,
    quant: Option<QuantKind>,
    device: &Device,
) -> Result<Transformer> {
    // Parameters are created lazily, so the random init never runs: each
    // one is replaced by its checkpoint tensor before anything reads it.
    let model = Transformer::new(cfg, device);
    let mut loader = Loader {
        cfg,
        weights,
        dir: origin,
        path: Vec::new(),
        used: BTreeSet::new(),
        error: None,
        quant,
        quantized: BTreeMap::new(),
    };
    let mut model = model.map(&mut loader);
    if let Some(e) = loader.error {
        return Err(e);
    }
    for (path, p) in model.projections_mut() {
        if let Some(q) = loader.quantized.remove(&format!("{path}.weight")) {
            p.quant = Some(q);
        }
    }
    if let Some(kind) = quant {
        model = model.with_quantized_head(kind);
    }
    let unused: Vec<String> = weights
        .names()
        .into_iter()
        .filter(|n| !loader.used.contains(n) && !names::is_buffer(n))
        .filter(|n| !(cfg.tie_embeddings && n.as_str() == "lm_head.weight"))
        .collect();
    if !unused.is_empty() {
        return Err(Error::file(
            origin,
            format!(
                "{} checkpoint tensors do not fit a {:?} model from its config, e.g. {}",
                unused.len(),
                cfg.arch,
                unused[0]
            ),
        ));
    }
    Ok(model)
}

/// Module path tracking shared by the loader and the exporter: struct
/// fields and Vec indices make the path, enum variants (`Norm::Rms`) do not.
fn enter(path: &mut Vec<String>, name: &str, container: &str) {
    if !container.starts_with("Enum:") {
        path.push(name.to_string());
    }
}

fn exit(path: &mut Vec<String>, container: &str) {
    if !container.starts_with("Enum:") {
        path.pop();
    }
}

struct Loader<'a> {
    cfg: &'a ModelConfig,
    weights: &'a dyn Checkpoint,
    dir: &'a Path,
    path: Vec<String>,
    used: BTreeSet<String>,
    error: Option<Error>,
    /// Projections' weights are kept as these blocks ...
    quant: Option<QuantKind>,
    /// ... here, by parameter path, until the model is whole.
    quantized: BTreeMap<String, QuantWeight>,
}

impl Loader<'_> {
    fn fetch(&mut self, expected: &[usize]) -> Result<HostTensor> {
        let path = self.path.join(".");
        let src = source(self.cfg, &path)
            .ok_or_else(|| Error::Config(format!("no checkpoint name for parameter {path}")))?;
        let prefixed = format!("{}{}", names::GPT2_PREFIX, src.name);
        let name = if self.weights.contains(&src.name) {
            src.name.clone()
        } else if self.cfg.is_gpt2() && self.weights.contains(&prefixed) {
            prefixed
        } else {
            return Err(Error::file(
                self.dir,
                format!("missing tensor {}", src.name),
            ));
        };
        let mut t = self.weights.read(&name)?;
        // The shape the checkpoint should hold, in its own orientation.
        let mut want = expected.to_vec();
        if src.transpose {
            want.reverse();
        }
        if let Some((_, parts)) = src.part {
            *want.last_mut().expect("a tensor with axes") *= parts;
        }
        if t.shape != want {
            return Err(Error::file(
                self.dir,
                format!(
                    "tensor {name} has shape {:?}; the model config implies {want:?}",
                    t.shape
                ),
            ));
        }
        if let Some((part, parts)) = src.part {
            t = t.part(part, parts);
        }
        if src.transpose {
            t = t.transposed();
        }
        self.used.insert(name);
        Ok(t)
    }
}

impl ModuleMapper for Loader<'_> {
    fn enter_module(&mut self, name: &str, container: &str) {
        enter(&mut self.path, name, container);
    }

    fn exit_module(&mut self, _name: &str, container: &str) {
        exit(&mut self.path, container);
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if self.error.is_some() {
            return param;
        }
        let shape = param.lazy_shape();
        let device = param.lazy_device();
        let path = self.path.join(".");
        match self.fetch(shape.as_slice()) {
            Ok(t) => {
                let id = param.id;
                if let (Some(kind), &[inp, out]) = (self.quant, t.shape.as_slice())
                    && is_projection_weight(&path)
                {
                    // [out, in]: a row per output feature.
                    let rows = t.transposed();
                    if let Some(q) = QuantWeight::quantize(kind, &rows.data, out, inp, &device) {
                        self.quantized.insert(path, q);
                        // Proj::stand_in's one zero, broadcast to W's shape.
                        let zero = Tensor::<D>::zeros(Shape::new([1; D]), &device);
                        return param.transform_for_load(zero.expand(shape), id);
                    }
                }
                let tensor = Tensor::from_data(TensorData::new(t.data, t.shape), &device);
                param.transform_for_load(tensor, id)
            }
            Err(e) => {
                self.error = Some(e);
                param
            }
        }
    }
}

/// A layer projection's weight (`layers.3.mlp.up_proj.weight`): what a
/// quantised base holds in blocks.
fn is_projection_weight(path: &str) -> bool {
    path.starts_with("layers.") && path.ends_with("_proj.weight")
}

struct Collector<'a> {
    cfg: &'a ModelConfig,
    path: Vec<String>,
    /// Checkpoint name → its parts in order (one unless fused, as c_attn).
    out: BTreeMap<String, Vec<(usize, HostTensor)>>,
}

impl ModuleVisitor for Collector<'_> {
    fn enter_module(&mut self, name: &str, container: &str) {
        enter(&mut self.path, name, container);
    }

    fn exit_module(&mut self, _name: &str, container: &str) {
        exit(&mut self.path, container);
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let path = self.path.join(".");
        let src = source(self.cfg, &path).expect("every parameter has a checkpoint name");
        let value = param.val();
        let shape = value.dims().to_vec();
        let data = value.into_data().convert::<f32>().try_into_vec::<f32>();
        let mut t = HostTensor {
            shape,
            data: data.expect("f32 data"),
        };
        if src.transpose {
            t = t.transposed();
        }
        let part = src.part.map_or(0, |(p, _)| p);
        self.out.entry(src.name).or_default().push((part, t));
    }
}

/// The model's parameters under their Hugging Face names and orientation
/// (GPT-2's without the `transformer.` prefix), fused parts joined.
pub fn tensors(cfg: &ModelConfig, model: &Transformer) -> Vec<(String, HostTensor)> {
    let mut collector = Collector {
        cfg,
        path: Vec::new(),
        out: BTreeMap::new(),
    };
    model.visit(&mut collector);
    collector
        .out
        .into_iter()
        .map(|(name, mut parts)| {
            parts.sort_by_key(|(i, _)| *i);
            let parts: Vec<HostTensor> = parts.into_iter().map(|(_, t)| t).collect();
            let t = if parts.len() == 1 {
                parts.into_iter().next().expect("one part")
            } else {
                HostTensor::concat_last(&parts)
            };
            (name, t)
        })
        .collect()
}

/// Writes `cfg`/`model`/`tok` as a Hugging Face model directory (f32
/// safetensors). `dir` must not exist yet: an export never overwrites.
pub fn export(dir: &Path, cfg: &ModelConfig, model: &Transformer, tok: &Tokenizer) -> Result<()> {
    if dir.exists() {
        return Err(Error::file(
            dir,
            "already exists; export writes a new directory",
        ));
    }
    let hf_config = config::to_hf(cfg, tok.bos, tok.eos, tok.pad)?;
    let prefix = if cfg.is_gpt2() {
        names::GPT2_PREFIX
    } else {
        ""
    };
    let tensors: Vec<(String, HostTensor)> = tensors(cfg, model)
        .into_iter()
        .map(|(name, t)| (format!("{prefix}{name}"), t))
        .collect();
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = dir.with_file_name(format!(".{}.tmp", name.unwrap_or_default()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    weights::write(&tmp.join(weights::SINGLE), &tensors)?;
    write_json_atomic(&tmp.join("config.json"), &hf_config)?;
    tok.save(&tmp)?;
    let token = |id: u32| tok.token(id).map(serde_json::Value::String);
    write_json_atomic(
        &tmp.join("tokenizer_config.json"),
        &serde_json::json!({
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": tok.bos.and_then(token),
            "eos_token": token(tok.eos),
            "pad_token": token(tok.pad),
            "chat_template": tok.chat_template,
        }),
    )?;
    std::fs::rename(&tmp, dir).map_err(|e| Error::io(dir, e))
}
