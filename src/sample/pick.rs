//! Choosing the next token from one row of logits on the host: temperature,
//! top-k, top-p, seeded. The reference the GPU sampler is checked against.

use rand::Rng;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PickOptions {
    /// 0 (or below) means greedy.
    pub temperature: f32,
    /// 0 means no top-k cut.
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

/// log Σ exp(x), stable.
pub fn logsumexp(xs: &[f32]) -> f64 {
    let max = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    if !max.is_finite() {
        return max;
    }
    max + xs.iter().map(|&x| (x as f64 - max).exp()).sum::<f64>().ln()
}

/// Index of the largest logit; the lowest index among ties.
pub fn argmax(xs: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x > xs[best] {
            best = i;
        }
    }
    best
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

/// Picks a token; returns it with its log-probability under the model's
/// own distribution (temperature 1, no cuts): the behaviour policy's
/// log-prob that ReST records.
pub fn pick(logits: &[f32], opts: &PickOptions, rng: &mut impl Rng) -> (u32, f64) {
    let token = if opts.is_greedy() {
        argmax(logits)
    } else {
        let cands = candidates(logits, opts);
        let total: f64 = cands.iter().map(|c| c.1).sum();
        let mut u = rng.random::<f64>() * total;
        let mut chosen = cands[cands.len() - 1].0;
        for (i, w) in &cands {
            if u < *w {
                chosen = *i;
                break;
            }
            u -= w;
        }
        chosen
    };
    (token as u32, logits[token] as f64 - logsumexp(logits))
}
