//! Checkpoints: a directory with `config.json`, `model.bpk` (burnpack
//! weights) and, for training state, `optim.bpk` and `train.json`. A
//! checkpoint is written under a temporary name and renamed into place, so a
//! directory with the final name is always complete.

use super::{ModelConfig, Transformer};
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
}

pub fn save(dir: &Path, saved: Saved<'_>) -> Result<()> {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = dir.with_file_name(format!(".{}.tmp", name.unwrap_or_default()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    write_json_atomic(&tmp.join("config.json"), saved.config)?;
    // Streamed to the files (not serialised to a buffer first): a copy of
    // the weights and of Adam's two moments less at the peak.
    let model_path = tmp.join("model.bpk");
    saved
        .model
        .clone()
        .into_record()
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
    write_json_atomic(&tmp.join("train.json"), saved.state)?;
    if let Some(tok) = saved.tokenizer {
        tok.save(&tmp)?;
    }
    if dir.exists() {
        keep_other_files(dir, &tmp)?;
        fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    fs::rename(&tmp, dir).map_err(|e| Error::io(dir, e))
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
    let cfg: ModelConfig = read_json(&dir.join("config.json"))?;
    cfg.validate()?;
    Ok(cfg)
}

/// Loads the weights into a fresh model on `device`; parameter ids are kept,
/// so a loaded optimizer state still lines up with its parameters.
pub fn load_model(dir: &Path, device: &Device) -> Result<(ModelConfig, Transformer)> {
    let cfg = load_config(dir)?;
    let path = dir.join("model.bpk");
    if !path.exists() {
        return Err(Error::file(&path, "missing"));
    }
    let record = ModuleRecord::load(&path)
        .map_err(|e| Error::file(&path, format!("not a weights file: {e}")))?;
    let model = Transformer::new(&cfg, device)
        .try_load_record(record)
        .map_err(|e| Error::file(&path, format!("weights do not fit config.json: {e}")))?;
    Ok((cfg, model))
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
