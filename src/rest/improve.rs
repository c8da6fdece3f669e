//! Improve: keep the grown records with R ≥ τ and turn them into training
//! examples with per-record loss weights.

use super::Grown;
use crate::config::LossKind;
use crate::data::{Encoded, Truncation, encode_all};
use crate::error::Result;
use crate::tokenizer::Tokenizer;

/// The records with reward ≥ τ, in order.
pub fn filter(grown: &[Grown], tau: f64) -> Vec<&Grown> {
    grown.iter().filter(|g| g.reward >= tau).collect()
}

/// Per-record loss weight: 1 for behaviour cloning; for reward-weighted
/// NLL, the reward divided by the largest kept reward (so in (0, 1]).
pub fn weights(kept: &[&Grown], loss: LossKind) -> Vec<f32> {
    match loss {
        LossKind::Bc => vec![1.0; kept.len()],
        LossKind::RewardWeighted => {
            let top = kept.iter().map(|g| g.reward).fold(f64::MIN, f64::max);
            kept.iter()
                .map(|g| {
                    if top > 0.0 {
                        (g.reward / top).max(0.0) as f32
                    } else {
                        1.0
                    }
                })
                .collect()
        }
    }
}

pub fn improve_examples(
    tok: &Tokenizer,
    kept: &[&Grown],
    loss: LossKind,
    max_prompt: usize,
    max_seq: usize,
) -> Result<(Vec<Encoded>, Truncation)> {
    let w = weights(kept, loss);
    encode_all(
        tok,
        kept.iter()
            .zip(w)
            .map(|(g, w)| (g.prompt.as_str(), g.sample.as_str(), w)),
        max_prompt,
        max_seq,
    )
}
