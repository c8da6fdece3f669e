//! Plain-Rust references of the sampling and log-prob kernels
//! (`crate::shaders`), step for step the same algorithm. On the CPU
//! backend these are what runs; on wgpu the tests hold the kernels to them.

use crate::cpu::rows;

/// One row's sampling parameters, as the kernel reads them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowParams {
    /// ≤ 0: greedy.
    pub temperature: f32,
    /// 0: no cut; 1: greedy.
    pub top_k: u32,
    /// ≥ 1: no cut.
    pub top_p: f32,
    /// Uniform in [0, 1), drawn from the row's own seeded stream.
    pub u: f32,
}

/// Parameters that make a row greedy (finished or filler rows).
pub const GREEDY: RowParams = RowParams {
    temperature: 0.0,
    top_k: 0,
    top_p: 1.0,
    u: 0.0,
};

impl RowParams {
    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0 || self.top_k == 1
    }

    /// The kernel's [B, 4] layout.
    pub fn packed(rows: &[RowParams]) -> Vec<f32> {
        rows.iter()
            .flat_map(|r| [r.temperature, r.top_k as f32, r.top_p, r.u])
            .collect()
    }

    pub fn unpack(p: &[f32]) -> Self {
        Self {
            temperature: p[0],
            top_k: p[1] as u32,
            top_p: p[2],
            u: p[3],
        }
    }
}

/// Order-preserving map from f32 to u32: a < b ⇔ key(a) < key(b).
pub fn key(x: f32) -> u32 {
    let b = x.to_bits();
    if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}

/// The largest t in [lo, hi] with `holds(t)`, given `holds(lo)` and that
/// `holds` is monotone (true up to some point, false after).
fn bisect(mut lo: u32, mut hi: u32, holds: impl Fn(u32) -> bool) -> u32 {
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if holds(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
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

/// The smallest logit key still kept after top-k and top-p (ties at the
/// cut are all kept).
pub fn threshold(logits: &[f32], p: &RowParams) -> u32 {
    let m = logits[argmax(logits)];
    let inv_t = 1.0 / p.temperature as f64;
    let weight = |x: f32| ((x as f64 - m as f64) * inv_t).exp();
    let mut thr = 0;
    if p.top_k > 0 && (p.top_k as usize) < logits.len() {
        let count = |t: u32| logits.iter().filter(|&&x| key(x) >= t).count();
        thr = bisect(0, key(m), |t| count(t) >= p.top_k as usize);
    }
    if p.top_p < 1.0 {
        let mass = |t: u32| -> f64 {
            logits
                .iter()
                .filter(|&&x| key(x) >= t)
                .map(|&x| weight(x))
                .sum()
        };
        let want = p.top_p as f64 * mass(thr);
        thr = bisect(thr, key(m), |t| mass(t) >= want);
    }
    thr
}

/// The next token and its log-probability under the model's own
/// distribution (temperature 1, no cuts): what ReST records.
pub fn sample_row(logits: &[f32], p: &RowParams) -> (u32, f32) {
    // Σ exp(x − max) over the row, when the draw below has summed it
    // already: at temperature 1 without cuts its total is that sum, term
    // for term and in the same order (a third of a sampled row's exps).
    let mut whole = None;
    let token = if p.is_greedy() {
        argmax(logits)
    } else {
        let m = logits[argmax(logits)] as f64;
        let inv_t = 1.0 / p.temperature as f64;
        let thr = threshold(logits, p);
        let kept = |x: f32| key(x) >= thr;
        let weight = |x: f32| ((x as f64 - m) * inv_t).exp();
        let total: f64 = logits
            .iter()
            .filter(|&&x| kept(x))
            .map(|&x| weight(x))
            .sum();
        if inv_t == 1.0 && thr == 0 && m.is_finite() {
            whole = Some((m, total));
        }
        let target = p.u as f64 * total;
        let mut acc = 0.0;
        let mut chosen = None;
        let mut last = 0;
        for (i, &x) in logits.iter().enumerate() {
            if kept(x) {
                last = i;
                acc += weight(x);
                if acc > target {
                    chosen = Some(i);
                    break;
                }
            }
        }
        chosen.unwrap_or(last)
    };
    let lse = match whole {
        Some((m, total)) => m + total.ln(),
        None => logsumexp(logits),
    };
    (token as u32, (logits[token] as f64 - lse) as f32)
}

/// [`sample_row`] for each row of `logits` ([rows, V] row-major), with
/// that row's parameters.
pub fn sample_rows(logits: &[f32], params: &[RowParams]) -> Vec<(u32, f32)> {
    let v = logits.len() / params.len().max(1);
    logits
        .chunks_exact(v)
        .zip(params)
        .map(|(row, p)| sample_row(row, p))
        .collect()
}

/// `log softmax(logits)[target]`; NaN for a target outside the row.
pub fn target_logprob(logits: &[f32], target: usize) -> f32 {
    match logits.get(target) {
        Some(&x) => (x as f64 - logsumexp(logits)) as f32,
        None => f32::NAN,
    }
}

/// The row's max and Σ exp(x − max), in f32: the two reductions
/// of the log-prob kernel and its gradient (exp is the
/// vectorisable [`rows::exp`], within 4e-7 of the true value; the sum runs
/// in several partial sums, which SIMD needs).
#[inline(always)]
fn max_and_sum(row: &[f32]) -> (f32, f32) {
    let m = rows::max_of(row);
    (m, rows::sum_of(row, |x| rows::exp(x - m)))
}

/// [`target_logprob`] in f32, as the training path computes it on the CPU
/// backend (the f64 version above is the tests' oracle).
#[inline(always)]
pub fn target_logprob_f32(row: &[f32], target: usize) -> f32 {
    match row.get(target) {
        Some(&x) => {
            let (m, z) = max_and_sum(row);
            x - m - z.ln()
        }
        None => f32::NAN,
    }
}

/// The backward of [`target_logprob`] for upstream gradient `g`, into
/// `out`: g · (one-hot(target) − softmax(row)), the gradient
/// kernel's last pass. A target outside the row adds no one-hot.
#[inline(always)]
pub fn target_logprob_grad(row: &[f32], target: usize, g: f32, out: &mut [f32]) {
    // Steps (1) and (2), and the −g · softmax part of (3), in `out` (one
    // exp per value).
    out.copy_from_slice(row);
    rows::softmax_in_place(out, -g);
    if let Some(o) = out.get_mut(target) {
        *o += g;
    }
}
