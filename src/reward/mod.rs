//! Rewards: score a batch of (prompt, sample, reference) on a 0–100 scale.

mod bleu;
mod chrf;
mod external;

pub use bleu::{Bleu, sentence_bleu, tokenize_13a};
pub use chrf::{Chrf, sentence_chrf};
pub use external::External;

use crate::config::RewardConfig;
use crate::error::{Error, Result};

pub struct Item<'a> {
    pub prompt: &'a str,
    pub sample: &'a str,
    pub reference: &'a str,
}

pub trait Reward: Send {
    fn name(&self) -> &str;
    /// One finite score per item, in order.
    fn score(&mut self, items: &[Item<'_>]) -> Result<Vec<f64>>;
}

/// 100 when the sample equals the reference (surrounding whitespace aside).
pub struct ExactMatch;

impl Reward for ExactMatch {
    fn name(&self) -> &str {
        "exact"
    }

    fn score(&mut self, items: &[Item<'_>]) -> Result<Vec<f64>> {
        Ok(items
            .iter()
            .map(|i| 100.0 * (i.sample.trim() == i.reference.trim()) as u8 as f64)
            .collect())
    }
}

pub fn from_config(cfg: &RewardConfig) -> Result<Box<dyn Reward>> {
    Ok(match cfg.kind.as_str() {
        "chrf" => Box::new(Chrf),
        "bleu" => Box::new(Bleu),
        "exact" => Box::new(ExactMatch),
        "external" => {
            let command = cfg.command.clone().ok_or_else(|| {
                Error::Config("reward.kind = \"external\" needs reward.command".into())
            })?;
            Box::new(External::new(command, cfg.timeout_secs))
        }
        other => {
            return Err(Error::Config(format!(
                "unknown reward `{other}`; expected chrf, bleu, exact or external"
            )));
        }
    })
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
