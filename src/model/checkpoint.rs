//! Checkpoints: a directory with `config.json`, `model.bpk` (burnpack
//! weights) and, for training state, `optim.bpk` and `train.json`. A
//! checkpoint is written under a temporary name and renamed into place, so a
//! directory with the final name is always complete.

use super::{ModelConfig, Transformer};
use crate::cpu::quant::QuantKind;
use crate::error::{Error, Result};
use crate::io::{read_json, write_json_atomic};
use crate::tokenizer::Tokenizer;
use burn::module::Module;
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::Path;

/// Where training stood when the checkpoint was taken.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TrainState {
    /// Optimizer steps taken in the current stage.
    pub step: usize,
    /// Optimizer steps taken over the whole run (never reset).
    pub total_steps: usize,
}

pub struct Saved<'a> {
    pub config: &'a ModelConfig,
    pub model: &'a Transformer,
    pub optim: Option<&'a burn::optim::ModuleOptimizer>,
    pub state: &'a TrainState,
    /// Written as `tokenizer.json` + `tokens.json`, so the directory is a
    /// whole policy.
    pub tokenizer: Option<&'a Tokenizer>,
    /// A reward model's scalar head (`head.bpk`), beside its trunk.
    pub head: Option<&'a burn::nn::Linear>,
}

/// Writes the checkpoint in `dir`'s place: a whole directory first, then
/// swapped in. When a write fails (a full disk), the previous checkpoint
/// stays as it was and the partial one is removed.
pub fn save(dir: &Path, saved: Saved<'_>) -> Result<()> {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = dir.with_file_name(format!(".{}.tmp", name.unwrap_or_default()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    if let Err(e) = write_dir(&tmp, &saved) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if dir.exists() {
        keep_other_files(dir, &tmp)?;
    }
    replace_dir(&tmp, dir)
}

/// The checkpoint's files in the fresh directory `tmp`.
fn write_dir(tmp: &Path, saved: &Saved<'_>) -> Result<()> {
    write_json_atomic(&tmp.join(CONFIG_FILE), saved.config)?;
    // Streamed to the files (not serialised to a buffer first): a copy of
    // the weights and of Adam's two moments less at the peak. Adapters on
    // a base from a file are written alone, with the base's reference in
    // config.json.
    let (record, name) = match saved.config.lora.as_ref().and_then(|l| l.base.as_ref()) {
        Some(_) => (
            saved.model.clone().into_record_group(adapter_group()),
            ADAPTER_FILE,
        ),
        // A quantised base is only ever saved by reference: its record
        // would hold the projections' stand-ins, not their weights.
        None if saved.model.is_quantized() => {
            return Err(Error::Config(
                "a model with a quantised base is saved as LoRA adapters on a base file (--init), not whole".into(),
            ));
        }
        None => (saved.model.clone().into_record(), MODEL_FILE),
    };
    let model_path = tmp.join(name);
    record
        .save(&model_path)
        .map_err(|e| Error::file(&model_path, format!("writing weights: {e}")))?;
    synced(&model_path)?;
    if let Some(optim) = saved.optim {
        let optim_path = tmp.join("optim.bpk");
        optim
            .save(&optim_path)
            .map_err(|e| Error::file(&optim_path, format!("writing optimizer state: {e}")))?;
        synced(&optim_path)?;
    }
    if let Some(head) = saved.head {
        let path = tmp.join(HEAD_FILE);
        head.clone()
            .into_record()
            .save(&path)
            .map_err(|e| Error::file(&path, format!("writing weights: {e}")))?;
        synced(&path)?;
    }
    write_json_atomic(&tmp.join("train.json"), saved.state)?;
    if let Some(tok) = saved.tokenizer {
        tok.save(tmp)?;
    }
    Ok(())
}

/// Puts the directory `new` in place of `dir` so that a crash at any
/// moment leaves one of the two whole at `dir`: on Linux an atomic
/// exchange (renameat2 RENAME_EXCHANGE), then the old one is removed.
/// Elsewhere the old directory is renamed aside first (`.NAME.old`), so a
/// crash between the two renames leaves it there and no `dir`.
fn replace_dir(new: &Path, dir: &Path) -> Result<()> {
    if !dir.exists() {
        return fs::rename(new, dir).map_err(|e| Error::io(dir, e));
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes());
        if let (Ok(a), Ok(b)) = (c(new), c(dir)) {
            // SAFETY: two NUL-terminated paths that outlive the call.
            let rc = unsafe {
                libc::renameat2(
                    libc::AT_FDCWD,
                    a.as_ptr(),
                    libc::AT_FDCWD,
                    b.as_ptr(),
                    libc::RENAME_EXCHANGE,
                )
            };
            if rc == 0 {
                // `new` now names the old checkpoint.
                return fs::remove_dir_all(new).map_err(|e| Error::io(new, e));
            }
        }
    }
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
    let old = dir.with_file_name(format!(".{}.old", name.unwrap_or_default()));
    if old.exists() {
        fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    }
    fs::rename(dir, &old).map_err(|e| Error::io(dir, e))?;
    fs::rename(new, dir).map_err(|e| Error::io(dir, e))?;
    fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))
}

/// Flushes a written file to disk (the directory is renamed into place
/// only after everything in it is durable).
fn synced(path: &Path) -> Result<()> {
    fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// Files in the old checkpoint directory that a checkpoint does not write
/// (`sft --out DIR` keeps its metrics.jsonl there) are hard-linked into
/// the new one, so replacing the checkpoint never loses them; an appender
/// still holding one open goes on writing to the same file.
fn keep_other_files(old: &Path, new: &Path) -> Result<()> {
    for entry in fs::read_dir(old).map_err(|e| Error::io(old, e))? {
        let entry = entry.map_err(|e| Error::io(old, e))?;
        let target = new.join(entry.file_name());
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && !target.exists() {
            fs::hard_link(entry.path(), &target)
                .or_else(|_| fs::copy(entry.path(), &target).map(|_| ()))
                .map_err(|e| Error::io(&target, e))?;
        }
    }
    Ok(())
}

pub fn load_config(dir: &Path) -> Result<ModelConfig> {
    let cfg: ModelConfig = read_json(&dir.join(CONFIG_FILE))?;
    cfg.validate()?;
    Ok(cfg)
}

const CONFIG_FILE: &str = "config.json";
const MODEL_FILE: &str = "model.bpk";
/// A LoRA checkpoint's adapters alone (its base is elsewhere).
const ADAPTER_FILE: &str = "adapter.bpk";
/// A reward model's head (`Saved::head`).
const HEAD_FILE: &str = "head.bpk";

/// The reward model in `dir`: its trunk (any checkpoint `load_model`
/// reads) and its head; an error naming the directory when it has no head.
pub fn load_reward_model(dir: &Path, device: &Device) -> Result<(ModelConfig, super::RewardModel)> {
    let path = dir.join(HEAD_FILE);
    if !path.exists() {
        return Err(Error::file(
            dir,
            "not a reward model (no head.bpk): train one with `restlm rm train`",
        ));
    }
    let (cfg, trunk) = load_model(dir, device)?;
    let model = with_head(trunk, &cfg, ModuleRecord::load(&path), device)
        .map_err(|e| Error::file(&path, e))?;
    Ok((cfg, model))
}

/// `trunk` with the head whose record was read (`head.bpk`).
fn with_head<E: std::fmt::Display>(
    trunk: Transformer,
    cfg: &ModelConfig,
    record: std::result::Result<ModuleRecord, E>,
    device: &Device,
) -> std::result::Result<super::RewardModel, String> {
    let fresh = super::RewardModel::new(trunk, cfg, device);
    let record = record.map_err(|e| format!("not a weights file: {e}"))?;
    let head = fresh
        .head
        .try_load_record(record)
        .map_err(|e| format!("a head of another width: {e}"))?;
    Ok(super::RewardModel { head, ..fresh })
}

/// A reward model's head from `head.bpk`'s contents on `trunk` (the
/// browser page reads a picked directory). Errors name the file.
pub fn head_from_bytes(
    trunk: Transformer,
    cfg: &ModelConfig,
    head_bpk: Vec<u8>,
    device: &Device,
) -> Result<super::RewardModel> {
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(head_bpk));
    with_head(trunk, cfg, record, device).map_err(|e| Error::file(HEAD_FILE, e))
}

/// The files of a checkpoint of LoRA adapters alone on the base `base`
/// (what [`save`] writes for a LoRA policy on a base file), as contents
/// rather than files: `config.json` (naming `base`), `adapter.bpk`,
/// `train.json`, and the tokenizer's `tokenizer.json` and `tokens.json`.
/// The browser page downloads them (its base came as bytes, not a path).
pub fn adapter_files(
    config: &ModelConfig,
    model: &Transformer,
    tok: &Tokenizer,
    base: super::BaseRef,
    state: &TrainState,
) -> Result<Vec<(String, Vec<u8>)>> {
    let Some(lora) = &config.lora else {
        return Err(Error::Config(
            "the policy has no LoRA adapters to save alone".into(),
        ));
    };
    let config = ModelConfig {
        lora: Some(super::LoraConfig {
            base: Some(base),
            ..lora.clone()
        }),
        ..config.clone()
    };
    fn json(what: &str, v: &impl Serialize) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(v).map_err(|e| Error::Config(format!("{what}: {e}")))
    }
    let adapters = model
        .clone()
        .into_record_group(adapter_group())
        .into_bytes()
        .map_err(|e| Error::Config(format!("{ADAPTER_FILE}: {e}")))?;
    Ok(vec![
        ("config.json".into(), json("config.json", &config)?),
        (ADAPTER_FILE.into(), adapters.to_vec()),
        ("train.json".into(), json("train.json", state)?),
        ("tokenizer.json".into(), tok.to_json()?.into_bytes()),
        (
            crate::tokenizer::LAYOUT_FILE.into(),
            json(crate::tokenizer::LAYOUT_FILE, &tok.layout())?,
        ),
    ])
}

/// The adapter factors (burn names them under `lora`).
fn adapter_group() -> burn::module::ParamGroup {
    burn::module::ParamGroup::from_predicate("lora")
}

/// Loads the weights into a fresh model on `device`; parameter ids are kept,
/// so a loaded optimizer state still lines up with its parameters. A LoRA
/// checkpoint of adapters alone loads its base first, after checking that
/// the base's content is the one the adapters were trained on.
pub fn load_model(dir: &Path, device: &Device) -> Result<(ModelConfig, Transformer)> {
    let cfg = load_config(dir)?;
    let adapters = dir.join(ADAPTER_FILE);
    let (model, path, record) = match cfg.lora.as_ref().and_then(|l| l.base.as_ref()) {
        Some(base) if adapters.exists() => {
            let quant = cfg.lora.as_ref().and_then(|l| l.base_dtype.quant_kind());
            // A relative path (the browser page's adapter download names
            // the base file beside the checkpoint's directory) is the
            // checkpoint directory's; `restlm` itself writes absolute ones.
            let base = &super::BaseRef {
                path: dir.join(&base.path),
                hash: base.hash.clone(),
            };
            let (_, model) = load_base(base, quant, device)
                .map_err(|e| Error::file(dir, format!("the LoRA base: {e}")))?;
            let record = ModuleRecord::load(&adapters).map(|r| r.allow_partial(true));
            (
                model.with_lora(cfg.lora.as_ref().expect("lora")),
                adapters,
                record,
            )
        }
        _ => {
            let path = dir.join(MODEL_FILE);
            if !path.exists() {
                return Err(Error::file(&path, "missing"));
            }
            let record = ModuleRecord::load(&path);
            (Transformer::new(&cfg, device), path, record)
        }
    };
    let record = record.map_err(|e| Error::file(&path, format!("not a weights file: {e}")))?;
    let model = model
        .try_load_record(record)
        .map_err(|e| Error::file(&path, format!("weights do not fit config.json: {e}")))?;
    Ok((cfg, model))
}

/// The base model a LoRA checkpoint names: a GGUF file, a Hugging Face
/// directory or a restlm checkpoint, with the content it had.
fn load_base(
    base: &super::BaseRef,
    quant: Option<QuantKind>,
    device: &Device,
) -> Result<(ModelConfig, Transformer)> {
    let hash = weights_hash(&base.path)?;
    if hash != base.hash {
        return Err(Error::file(
            &base.path,
            format!(
                "its weights changed since the adapters were trained on them (hash {hash}, expected {})",
                base.hash
            ),
        ));
    }
    load_any(&base.path, quant, device)
}

/// The model at `path`: a GGUF file, a Hugging Face directory (both
/// imported) or a restlm checkpoint; its layer projections held as
/// `quant` blocks when given (quantised tensor by tensor as an import
/// reads them; a checkpoint's after loading).
pub fn load_any(
    path: &Path,
    quant: Option<QuantKind>,
    device: &Device,
) -> Result<(ModelConfig, Transformer)> {
    if super::gguf::is_gguf(path) {
        super::gguf::load(path, quant, device)
    } else if super::hf::is_hf_dir(path)? {
        super::hf::load(path, quant, device)
    } else {
        let (cfg, model) = load_model(path, device)?;
        // A LoRA checkpoint's own config says how its base is held.
        match quant {
            Some(kind) if cfg.lora.is_none() => Ok((cfg, model.quantized(kind))),
            _ => Ok((cfg, model)),
        }
    }
}

/// FNV-1a (64-bit) over the bytes of a policy's weights: the file itself
/// (GGUF), or a directory's `config.json` and weight files (`*.bpk`,
/// `*.safetensors`) in name order.
pub fn weights_hash(path: &Path) -> Result<String> {
    let mut files = Vec::new();
    if path.is_dir() {
        for e in fs::read_dir(path).map_err(|e| Error::io(path, e))? {
            let p = e.map_err(|e| Error::io(path, e))?.path();
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            let name = name.unwrap_or_default();
            if name == "config.json" || name.ends_with(".bpk") || name.ends_with(".safetensors") {
                files.push(p);
            }
        }
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    let mut h = crate::io::Fnv::default();
    for f in files {
        crate::io::hash_file(&mut h, &f)?;
    }
    Ok(h.hex())
}

/// A checkpoint's files given as contents rather than paths (the browser
/// page fetches or reads them): `config.json`, `model.bpk`,
/// `tokenizer.json`, `tokens.json`; its own weights, not adapters on a
/// base file. Errors name the file.
pub fn from_bytes(
    config_json: &str,
    model_bpk: Vec<u8>,
    tokenizer_json: &str,
    tokens_json: &str,
    device: &Device,
) -> Result<(ModelConfig, Transformer, Tokenizer)> {
    let cfg: ModelConfig =
        serde_json::from_str(config_json).map_err(|e| Error::file(CONFIG_FILE, e))?;
    cfg.validate().map_err(|e| Error::file(CONFIG_FILE, e))?;
    // Adapters on a base file hold no base weights: model.bpk alone
    // cannot make the model.
    if let Some(base) = cfg.lora.as_ref().and_then(|l| l.base.as_ref()) {
        return Err(Error::file(
            CONFIG_FILE,
            format!(
                "the model is LoRA adapters on {}, which is not among the files; \
                 use a checkpoint trained without [lora] (or merged)",
                base.path.display()
            ),
        ));
    }
    let layout = serde_json::from_str(tokens_json)
        .map_err(|e| Error::file(crate::tokenizer::LAYOUT_FILE, e))?;
    let tok = Tokenizer::from_json_with(tokenizer_json, layout)
        .map_err(|e| Error::file("tokenizer.json", e))?;
    let model =
        model_from_bytes(&cfg, model_bpk, device).map_err(|e| Error::file(MODEL_FILE, e))?;
    Ok((cfg, model, tok))
}

/// A model of shape `cfg` from the bytes of a `model.bpk` (a checkpoint
/// fetched over the network by the browser demo, or read from disk).
pub fn model_from_bytes(
    cfg: &ModelConfig,
    bytes: Vec<u8>,
    device: &Device,
) -> std::result::Result<Transformer, String> {
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| format!("not a weights file: {e}"))?;
    Transformer::new(cfg, device)
        .try_load_record(record)
        .map_err(|e| format!("weights do not fit config.json: {e}"))
}

pub fn load_optim(
    dir: &Path,
    optim: burn::optim::ModuleOptimizer,
) -> Result<burn::optim::ModuleOptimizer> {
    let path = dir.join("optim.bpk");
    if !path.exists() {
        return Ok(optim);
    }
    optim
        .load(&path)
        .map_err(|e| Error::file(&path, format!("not an optimizer state: {e}")))
}

pub fn load_state(dir: &Path) -> Result<TrainState> {
    read_json(&dir.join("train.json"))
}
