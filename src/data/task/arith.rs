//! `arith`: add 2–6 two-digit numbers. Every prompt has its answer key in
//! `meta`; only a few carry a worked trace as target, the running sums
//! ending in the answer:
//!
//!   23+57+41  →  23>80>121=121
//!
//! This is the ReST-EM setting (Singh et al. 2023): answers are cheap to
//! check, worked solutions are scarce. The reward (`reward::ArithVerifier`)
//! checks the final answer only; its second metric checks every running sum.

use crate::data::Record;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;

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
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut seen = HashSet::new();
    let mut all: Vec<Vec<u32>> = Vec::new();
    while all.len() < n_train + n_eval {
        let n = rng.random_range(2..=6);
        let terms: Vec<u32> = (0..n).map(|_| rng.random_range(10..=99)).collect();
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
