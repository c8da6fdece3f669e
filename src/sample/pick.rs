//! Sampling options, and the sets they allow: [`candidates`] defines top-k
//! and top-p by sorting, independently of the threshold search the sampler
//! uses, so tests can hold one to the other.

use super::reference::{RowParams, sample_row};
use rand::Rng;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PickOptions {
    /// 0 (or below) means greedy.
    pub temperature: f32,
    /// 0 means no top-k cut. Ties at the k-th logit are all kept.
    pub top_k: usize,
    /// 1 means no nucleus cut.
    pub top_p: f32,
}

impl PickOptions {
    pub const GREEDY: Self = Self {
        temperature: 0.0,
        top_k: 0,
        top_p: 1.0,
    };

    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0 || self.top_k == 1
    }
}

/// The candidates sampling may return, most likely first, with their
/// unnormalised probabilities at the given temperature.
pub fn candidates(logits: &[f32], opts: &PickOptions) -> Vec<(usize, f64)> {
    let mut order: Vec<usize> = (0..logits.len()).collect();
    // Descending by logit, ascending by index among ties (so the first
    // candidate is `argmax`).
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    if opts.top_k > 0 {
        order.truncate(opts.top_k);
    }
    let t = opts.temperature as f64;
    let top = logits[order[0]] as f64;
    let weights: Vec<f64> = order
        .iter()
        .map(|&i| ((logits[i] as f64 - top) / t).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    let mut keep = order.len();
    if opts.top_p < 1.0 {
        let mut acc = 0.0;
        for (n, w) in weights.iter().enumerate() {
            acc += w / total;
            if acc >= opts.top_p as f64 {
                keep = n + 1;
                break;
            }
        }
    }
    order.into_iter().zip(weights).take(keep).collect()
}

/// This step's parameters for one row, drawing its uniform from the row's
/// stream (only when sampling, so greedy rows consume no randomness).
pub fn row_params(opts: &PickOptions, rng: &mut impl Rng) -> RowParams {
    RowParams {
        temperature: opts.temperature,
        top_k: opts.top_k as u32,
        top_p: opts.top_p,
        u: if opts.is_greedy() {
            0.0
        } else {
            rng.random::<f32>()
        },
    }
}

/// Host-side sampling of one row: the reference sampler on host logits.
pub fn pick(logits: &[f32], opts: &PickOptions, rng: &mut impl Rng) -> (u32, f32) {
    sample_row(logits, &row_params(opts, rng))
}
