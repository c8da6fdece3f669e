//! chrF as sacrebleu defines it (chrF2: character n-grams 1..=6, β = 2,
//! whitespace ignored, precision and recall averaged over the orders that
//! both sides have, then combined).

use super::{Item, Reward};
use crate::error::Result;
use std::collections::HashMap;

const ORDER: usize = 6;
const BETA: f64 = 2.0;

fn ngrams(chars: &[char], n: usize) -> HashMap<&[char], usize> {
    let mut counts = HashMap::new();
    for w in chars.windows(n) {
        *counts.entry(w).or_insert(0) += 1;
    }
    counts
}

/// chrF against several references, as sacrebleu does: the best score
/// over the references (0 with none).
pub fn sentence_chrf_multi<S: AsRef<str>>(hypothesis: &str, references: &[S]) -> f64 {
    references
        .iter()
        .map(|r| sentence_chrf(hypothesis, r.as_ref()))
        .fold(0.0, f64::max)
}

pub fn sentence_chrf(hypothesis: &str, reference: &str) -> f64 {
    let hyp: Vec<char> = hypothesis.chars().filter(|c| !c.is_whitespace()).collect();
    let refr: Vec<char> = reference.chars().filter(|c| !c.is_whitespace()).collect();
    let (mut prec, mut rec, mut orders) = (0.0, 0.0, 0);
    for n in 1..=ORDER {
        let h = ngrams(&hyp, n);
        let r = ngrams(&refr, n);
        let n_hyp: usize = h.values().sum();
        let n_ref: usize = r.values().sum();
        if n_hyp == 0 || n_ref == 0 {
            continue;
        }
        let matched: usize = h
            .iter()
            .map(|(g, c)| (*c).min(r.get(g).copied().unwrap_or(0)))
            .sum();
        prec += matched as f64 / n_hyp as f64;
        rec += matched as f64 / n_ref as f64;
        orders += 1;
    }
    if orders == 0 {
        return 0.0;
    }
    let (p, r) = (prec / orders as f64, rec / orders as f64);
    if p + r == 0.0 {
        return 0.0;
    }
    let f = BETA * BETA;
    100.0 * (1.0 + f) * p * r / (f * p + r)
}

pub struct Chrf;

impl Reward for Chrf {
    fn name(&self) -> &str {
        "chrf"
    }

    fn needs_references(&self) -> bool {
        true
    }

    fn score(&mut self, items: &[Item<'_>]) -> Result<Vec<f64>> {
        items
            .iter()
            .map(|i| Ok(sentence_chrf_multi(i.sample, i.references(self.name())?)))
            .collect()
    }
}
