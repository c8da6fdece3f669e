//! Rewards: score a batch of samples, each with its record's prompt,
//! references and meta, on a 0–100 scale. Metrics (chrF, BLEU, exact)
//! compare with the references; verifiers (`mt`, `arith`) check the sample
//! against what the task knows (`meta`); `external` asks a user's program.

mod arith;
mod bleu;
mod chrf;
mod external;
pub mod learned;
mod mt;

pub use arith::ArithVerifier;
pub use bleu::{Bleu, sentence_bleu, sentence_bleu_multi, tokenize_13a};
pub use chrf::{Chrf, sentence_chrf, sentence_chrf_multi};
pub use external::External;
pub use learned::{Learned, Mixed};
pub use mt::{MtVerifier, score as mt_score};

use crate::config::{RewardConfig, RewardKind};
use crate::data::Record;
use crate::data::task::TaskKind;
use crate::error::{Error, Result};

/// One sample to score, with what its record knows.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    pub prompt: &'a str,
    pub sample: &'a str,
    /// Acceptable outputs (the target first, when there is one); may be empty.
    pub references: &'a [String],
    pub meta: Option<&'a serde_json::Value>,
}

impl<'a> Item<'a> {
    pub fn of(record: &'a Record, sample: &'a str) -> Self {
        Self {
            prompt: &record.prompt,
            sample,
            references: &record.references,
            meta: record.meta.as_ref(),
        }
    }

    /// The references, or an error naming the reward and prompt when there
    /// are none (a metric cannot score a prompt-only record).
    pub fn references(&self, reward: &str) -> Result<&'a [String]> {
        if self.references.is_empty() {
            return Err(Error::Reward {
                name: reward.into(),
                msg: format!(
                    "prompt {:?} has no target or references to compare with \
                     (use a verifier or an external reward for prompt-only records)",
                    self.prompt
                ),
            });
        }
        Ok(self.references)
    }

    /// `meta[key]`, or an error naming the reward and prompt.
    pub fn meta_field(&self, reward: &str, key: &str) -> Result<&'a serde_json::Value> {
        self.meta
            .and_then(|m| m.get(key))
            .ok_or_else(|| Error::Reward {
                name: reward.into(),
                msg: format!("prompt {:?} has no `meta.{key}`", self.prompt),
            })
    }
}

/// A held-out metric a reward defines beside itself, per item in [0, 100].
#[derive(Clone, Copy)]
pub struct SecondMetric {
    pub name: &'static str,
    pub score: fn(&Item<'_>) -> f64,
}

pub trait Reward: Send {
    fn name(&self) -> &str;
    /// One finite score per item, in order.
    fn score(&mut self, items: &[Item<'_>]) -> Result<Vec<f64>>;
    /// Metric rewards need a reference for every record they score.
    fn needs_references(&self) -> bool {
        false
    }
    /// A stricter check reported beside the reward on held-out prompts
    /// (`arith`: every running sum right). None: chrF against references.
    fn second_metric(&self) -> Option<SecondMetric> {
        None
    }
    /// Which part of a composite reward scores `item` ("gold", "model"),
    /// recorded in grown sets; None for a single reward.
    fn scorer(&self, _item: &Item<'_>) -> Option<&'static str> {
        None
    }
    /// The learned part of a reward that also has a gold one: held-out
    /// evaluation logs its score beside gold's, to catch reward hacking.
    fn learned(&mut self) -> Option<&mut dyn Reward> {
        None
    }
}

/// 100 when the sample equals one of the references (surrounding
/// whitespace aside).
pub struct ExactMatch;

impl Reward for ExactMatch {
    fn name(&self) -> &str {
        "exact"
    }

    fn needs_references(&self) -> bool {
        true
    }

    fn score(&mut self, items: &[Item<'_>]) -> Result<Vec<f64>> {
        items
            .iter()
            .map(|i| {
                let refs = i.references(self.name())?;
                let hit = refs.iter().any(|r| r.trim() == i.sample.trim());
                Ok(100.0 * hit as u8 as f64)
            })
            .collect()
    }
}

/// `auto` resolved: the embedded task's own reward, or chrF for data files.
pub fn resolve(kind: RewardKind, task: Option<TaskKind>) -> RewardKind {
    match (kind, task) {
        (RewardKind::Auto, Some(TaskKind::Mt)) => RewardKind::Mt,
        (RewardKind::Auto, Some(TaskKind::Arith)) => RewardKind::Arith,
        (RewardKind::Auto, _) => RewardKind::Chrf,
        (k, _) => k,
    }
}

/// The configured reward; `task` is the embedded task in use (None when
/// the data comes from files), which `auto` follows. A learned model is
/// loaded onto `device`.
pub fn from_config(
    cfg: &RewardConfig,
    task: Option<TaskKind>,
    device: &burn::prelude::Device,
) -> Result<Box<dyn Reward>> {
    if cfg.kind == RewardKind::Model {
        let paths = cfg.path.as_ref().map(|p| p.paths()).unwrap_or_default();
        if paths.is_empty() {
            return Err(Error::Config(
                "a learned reward needs a reward model: reward.path (or --reward-model DIR)".into(),
            ));
        }
        let learned = Box::new(Learned::load(
            &paths,
            cfg.uncertainty_penalty,
            cfg.batch_size,
            device,
        )?);
        return Ok(match cfg.gold {
            None => learned,
            Some(kind) => {
                let gold = RewardConfig {
                    kind,
                    path: None,
                    gold: None,
                    ..cfg.clone()
                };
                Box::new(Mixed::new(from_config(&gold, task, device)?, learned))
            }
        });
    }
    Ok(match resolve(cfg.kind, task) {
        RewardKind::Auto | RewardKind::Chrf => Box::new(Chrf),
        RewardKind::Bleu => Box::new(Bleu),
        RewardKind::Exact => Box::new(ExactMatch),
        RewardKind::Mt => Box::new(MtVerifier),
        RewardKind::Arith => Box::new(ArithVerifier),
        RewardKind::External => {
            let command = cfg.command.clone().ok_or_else(|| {
                Error::Config("reward.kind = \"external\" needs reward.command".into())
            })?;
            Box::new(External::new(command.argv()?, cfg.timeout_secs))
        }
        RewardKind::Model => unreachable!("loaded above"),
    })
}

/// Stops before any work when a metric reward meets a record it cannot
/// score, naming the first such record.
pub fn check_records(reward: &dyn Reward, records: &[Record], what: &str) -> Result<()> {
    if !reward.needs_references() {
        return Ok(());
    }
    match records.iter().find(|r| r.references.is_empty()) {
        None => Ok(()),
        Some(r) => Err(Error::Config(format!(
            "{what}: record {:?} has no target or references, which reward `{}` needs; \
             choose a verifier or an external reward for prompt-only records",
            r.id,
            reward.name()
        ))),
    }
}

/// Scores `items` in batches of `batch_size`, checking every score is finite.
pub fn score_all(
    reward: &mut dyn Reward,
    items: &[Item<'_>],
    batch_size: usize,
) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(items.len());
    for chunk in items.chunks(batch_size.max(1)) {
        let scores = reward.score(chunk)?;
        if scores.len() != chunk.len() {
            return Err(Error::Reward {
                name: reward.name().into(),
                msg: format!("returned {} scores for {} items", scores.len(), chunk.len()),
            });
        }
        if let Some(bad) = scores.iter().find(|s| !s.is_finite()) {
            return Err(Error::Reward {
                name: reward.name().into(),
                msg: format!("returned a non-finite score ({bad})"),
            });
        }
        out.extend(scores);
    }
    Ok(out)
}
