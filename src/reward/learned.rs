//! A learned reward: a reward model (`restlm rm train`; `model::RewardModel`)
//! scores an output for its prompt, 100·σ(r). Several models form an
//! ensemble scored mean − λ·std over its members, so that outputs the
//! members disagree on are trusted less. [`Mixed`] lets a gold metric or
//! verifier score the records it can (those with a reference) and the
//! learned model the rest.

use super::{Item, Reward};
use crate::data::encode_all;
use crate::error::{Error, Result};
use crate::io::read_json;
use crate::model::checkpoint::{self, load_reward_model};
use crate::model::{ModelConfig, RewardModel};
use crate::tokenizer::Tokenizer;
use burn::prelude::Device;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `rm.json` in a reward model's directory: how it reads its input, and
/// what its training reported.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RmInfo {
    /// Prompts keep their last this many tokens, as in training.
    pub max_prompt_tokens: usize,
    /// The held-out report of `rm train` (see `rm::Report`).
    #[serde(default)]
    pub report: serde_json::Value,
}

pub const RM_INFO: &str = "rm.json";

/// A reward model directory's files, as contents.
pub struct RmFiles {
    pub config_json: String,
    pub model_bpk: Vec<u8>,
    pub head_bpk: Vec<u8>,
    pub tokenizer_json: String,
    pub tokens_json: String,
    pub rm_json: String,
}

/// One reward model with the tokenizer and layout it was trained in.
pub struct Member {
    pub dir: PathBuf,
    pub cfg: ModelConfig,
    pub model: RewardModel,
    pub tok: Tokenizer,
    pub max_prompt: usize,
}

impl Member {
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let info: RmInfo = read_json(&dir.join(RM_INFO))?;
        let (cfg, model) = load_reward_model(dir, device)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            tok: Tokenizer::load(dir)?,
            cfg,
            model,
            max_prompt: info.max_prompt_tokens,
        })
    }

    /// A reward model from its directory's files as contents (the browser
    /// page reads a picked directory), called `name` in its errors and
    /// the reward's name. Its trunk must hold its own weights (`model.bpk`):
    /// a LoRA trunk on a base file needs that file, which contents cannot
    /// name (`checkpoint::from_bytes` refuses it).
    pub fn from_bytes(name: &str, files: RmFiles, device: &Device) -> Result<Self> {
        // A file's error names it inside the model's directory.
        let named = |e: Error| match e {
            Error::File { path, msg } => Error::file(Path::new(name).join(path), msg),
            e => Error::file(name, e),
        };
        let info: RmInfo =
            serde_json::from_str(&files.rm_json).map_err(|e| named(Error::file(RM_INFO, e)))?;
        let (cfg, trunk, tok) = checkpoint::from_bytes(
            &files.config_json,
            files.model_bpk,
            &files.tokenizer_json,
            &files.tokens_json,
            device,
        )
        .map_err(named)?;
        let model =
            checkpoint::head_from_bytes(trunk, &cfg, files.head_bpk, device).map_err(named)?;
        Ok(Self {
            dir: PathBuf::from(name),
            cfg,
            model,
            tok,
            max_prompt: info.max_prompt_tokens,
        })
    }

    /// Raw rewards r of `pairs` (prompt, output), `batch_size` rows at a time.
    pub fn raw(&self, pairs: &[(&str, &str)], batch_size: usize) -> Result<Vec<f32>> {
        let rows = encode_rows(&self.tok, pairs, self.max_prompt, self.cfg.max_seq_len)?;
        Ok(self
            .model
            .raw(&rows, batch_size, self.cfg.max_seq_len, self.tok.pad))
    }

    /// The rewards 100·σ(r) of `pairs`.
    pub fn scores(&self, pairs: &[(&str, &str)], batch_size: usize) -> Result<Vec<f64>> {
        Ok(self
            .raw(pairs, batch_size)?
            .into_iter()
            .map(to_score)
            .collect())
    }
}

/// (prompt, output) pairs as reward-model rows: `<bos> prompt <sep>
/// output <eos>` in the tokenizer's layout, prompts keeping their last
/// `max_prompt` tokens, outputs cut at `max_seq`.
pub fn encode_rows(
    tok: &Tokenizer,
    pairs: &[(&str, &str)],
    max_prompt: usize,
    max_seq: usize,
) -> Result<Vec<Vec<u32>>> {
    let (enc, _) = encode_all(
        tok,
        pairs.iter().map(|&(p, o)| (p, o, 1.0)),
        max_prompt,
        max_seq,
    )?;
    Ok(enc
        .into_iter()
        .map(|e| {
            let mut row = e.prompt;
            row.extend(e.target);
            row.truncate(max_seq);
            row
        })
        .collect())
}

/// 100·σ(r): a raw reward on the 0–100 scale.
pub fn to_score(r: f32) -> f64 {
    100.0 / (1.0 + (-(r as f64)).exp())
}

/// One reward model or an ensemble.
pub struct Learned {
    members: Vec<Member>,
    penalty: f64,
    batch_size: usize,
    name: String,
}

impl Learned {
    /// The models in `dirs` on `device`, scored `batch_size` rows at a time.
    pub fn load(
        dirs: &[PathBuf],
        penalty: f64,
        batch_size: usize,
        device: &Device,
    ) -> Result<Self> {
        let members = dirs
            .iter()
            .map(|d| Member::load(d, device))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::new(members, penalty, batch_size))
    }

    /// Loaded `members`, scored `batch_size` rows at a time, mean −
    /// `penalty` · std.
    pub fn new(members: Vec<Member>, penalty: f64, batch_size: usize) -> Self {
        let name = match members.as_slice() {
            [one] => format!("model {}", one.dir.display()),
            many => format!("ensemble of {} models", many.len()),
        };
        Self {
            members,
            penalty,
            batch_size,
            name,
        }
    }
}

impl Reward for Learned {
    fn name(&self) -> &str {
        &self.name
    }

    fn score(&mut self, items: &[Item<'_>]) -> Result<Vec<f64>> {
        let pairs: Vec<(&str, &str)> = items.iter().map(|i| (i.prompt, i.sample)).collect();
        let per_member = self
            .members
            .iter()
            .map(|m| {
                m.scores(&pairs, self.batch_size)
                    .map_err(|e| Error::file(&m.dir, e))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((0..items.len())
            .map(|i| {
                let s: Vec<f64> = per_member.iter().map(|m| m[i]).collect();
                let (mean, std) = mean_std(&s);
                (mean - self.penalty * std).max(0.0)
            })
            .collect())
    }
}

/// Mean and population standard deviation.
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Whether [`Mixed`] scores `item` by gold: its record has a reference.
fn by_gold(item: &Item<'_>) -> bool {
    !item.references.is_empty()
}

/// The gold reward on records with a reference, the learned one on the
/// rest (prompt-only records).
pub struct Mixed {
    pub gold: Box<dyn Reward>,
    pub learned: Box<dyn Reward>,
    name: String,
}

impl Mixed {
    pub fn new(gold: Box<dyn Reward>, learned: Box<dyn Reward>) -> Self {
        let name = format!("{} (gold) + {}", gold.name(), learned.name());
        Self {
            gold,
            learned,
            name,
        }
    }
}

impl Reward for Mixed {
    fn name(&self) -> &str {
        &self.name
    }

    fn scorer(&self, item: &Item<'_>) -> Option<&'static str> {
        Some(if by_gold(item) { "gold" } else { "model" })
    }

    fn score(&mut self, items: &[Item<'_>]) -> Result<Vec<f64>> {
        let (gold, learned): (Vec<usize>, Vec<usize>) =
            (0..items.len()).partition(|&i| by_gold(&items[i]));
        let mut out = vec![0.0; items.len()];
        for (idx, reward) in [(gold, &mut self.gold), (learned, &mut self.learned)] {
            if idx.is_empty() {
                continue;
            }
            let part: Vec<Item> = idx.iter().map(|&i| items[i]).collect();
            for (i, s) in idx.iter().zip(reward.score(&part)?) {
                out[*i] = s;
            }
        }
        Ok(out)
    }

    fn second_metric(&self) -> Option<super::SecondMetric> {
        self.gold.second_metric()
    }

    fn learned(&mut self) -> Option<&mut dyn Reward> {
        Some(self.learned.as_mut())
    }
}
