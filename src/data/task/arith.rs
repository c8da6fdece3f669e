//! `arith`: add 2–6 two-digit numbers (`data.terms`, `data.digits` size it
//! otherwise). Every prompt has its answer key in `meta`; only a few carry a
//! worked trace as target, the running sums ending in the answer:
//!
//!   23+57+41  →  23>80>121=121
//!
//! For an instruct model (`phrasing = "question"`, the default in chat
//! format) the prompt reads as a user would ask:
//! "What is 23 + 57 + 41? Show the running sums, then give the answer
//! after '='."; the trace stays the demonstration.
//!
//! This is the ReST-EM setting (Singh et al. 2023): answers are cheap to
//! check, worked solutions are scarce. The reward (`reward::ArithVerifier`)
//! checks the final answer only; its second metric checks every running sum.

use crate::data::Record;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;

/// How many terms a sum has and how many digits each term has, both as
/// inclusive ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub terms: (u32, u32),
    pub digits: (u32, u32),
}

impl Default for Shape {
    fn default() -> Self {
        Self {
            terms: (2, 6),
            digits: (2, 2),
        }
    }
}

impl Shape {
    /// The values a term with `d` digits takes (one digit: 0–9).
    fn values(d: u32) -> (u32, u32) {
        let hi = 10u32.pow(d) - 1;
        let lo = if d == 1 { 0 } else { 10u32.pow(d - 1) };
        (lo, hi)
    }

    /// How many distinct sums this shape can write (saturating): a
    /// task asks for fewer, or generating would never end.
    pub fn distinct(&self) -> u64 {
        let per_term: u64 = (self.digits.0..=self.digits.1)
            .map(|d| {
                let (lo, hi) = Self::values(d);
                (hi - lo + 1) as u64
            })
            .sum();
        (self.terms.0..=self.terms.1)
            .map(|n| per_term.saturating_pow(n))
            .fold(0u64, u64::saturating_add)
    }

    fn draw(&self, rng: &mut ChaCha8Rng) -> Vec<u32> {
        let n = rng.random_range(self.terms.0..=self.terms.1);
        (0..n)
            .map(|_| {
                // One digit count draws nothing for it (the default task's
                // sums stay what they were).
                let d = match self.digits {
                    (lo, hi) if lo == hi => lo,
                    (lo, hi) => rng.random_range(lo..=hi),
                };
                let (lo, hi) = Self::values(d);
                rng.random_range(lo..=hi)
            })
            .collect()
    }
}

/// The question an instruct model is asked for `terms`.
pub fn question(terms: &[u32]) -> String {
    let sum: Vec<String> = terms.iter().map(u32::to_string).collect();
    format!(
        "What is {}? Show the running sums, then give the answer after '='.",
        sum.join(" + ")
    )
}

pub fn prompt(terms: &[u32]) -> String {
    terms
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join("+")
}

/// The worked trace: running sums joined by `>`, then `=` and the answer.
pub fn trace(terms: &[u32]) -> String {
    let mut sum = 0;
    let partial: Vec<String> = terms
        .iter()
        .map(|t| {
            sum += t;
            sum.to_string()
        })
        .collect();
    format!("{}={sum}", partial.join(">"))
}

fn record(id: String, terms: Vec<u32>, labeled: bool) -> Record {
    let answer: u32 = terms.iter().sum();
    let meta = serde_json::json!({ "terms": terms, "answer": answer });
    let mut r = if labeled {
        Record::labeled(id, prompt(&terms), trace(&terms))
    } else {
        Record {
            id,
            prompt: prompt(&terms),
            ..Record::default()
        }
    };
    r.meta = Some(meta);
    r
}

/// `n_train` distinct prompts (the first `labeled_fraction` of them with a
/// trace as target, all with the answer in `meta`) and `n_eval` held-out
/// ones (with their trace as target, for held-out loss).
pub fn generate(
    n_train: usize,
    n_eval: usize,
    labeled_fraction: f64,
    seed: u64,
) -> (Vec<Record>, Vec<Record>) {
    generate_shaped(n_train, n_eval, labeled_fraction, seed, Shape::default())
}

/// [`generate`] for sums of another `shape`, which must write at least
/// `n_train + n_eval` distinct sums (`config` checks it).
pub fn generate_shaped(
    n_train: usize,
    n_eval: usize,
    labeled_fraction: f64,
    seed: u64,
    shape: Shape,
) -> (Vec<Record>, Vec<Record>) {
    assert!(
        shape.distinct() >= (n_train + n_eval) as u64,
        "the sizes were validated"
    );
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut seen = HashSet::new();
    let mut all: Vec<Vec<u32>> = Vec::new();
    while all.len() < n_train + n_eval {
        let terms = shape.draw(&mut rng);
        if seen.insert(terms.clone()) {
            all.push(terms);
        }
    }
    let eval = all.split_off(n_train);
    let n_labeled = (n_train as f64 * labeled_fraction).round() as usize;
    let train = all
        .into_iter()
        .enumerate()
        .map(|(i, t)| record(format!("arith-{i}"), t, i < n_labeled))
        .collect();
    let eval = eval
        .into_iter()
        .enumerate()
        .map(|(i, t)| record(format!("arith-eval-{i}"), t, true))
        .collect();
    (train, eval)
}
