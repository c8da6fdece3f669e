//! The Improve thresholds τ1 < τ2 < … for one Grow.

use crate::config::RestConfig;

/// The q-quantile of `xs` (nearest rank, q in [0, 1)).
pub fn quantile(xs: &[f64], q: f64) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    v[((q * v.len() as f64) as usize).min(v.len() - 1)]
}

/// The explicit list, or the configured quantiles of this Grow's sample
/// rewards. Quantile thresholds can tie on discrete rewards; a tie is
/// nudged up so the schedule still rises strictly.
pub fn thresholds(cfg: &RestConfig, sample_rewards: &[f64]) -> Vec<f64> {
    if cfg.quantiles.is_empty() {
        return cfg.thresholds.clone();
    }
    let mut out: Vec<f64> = Vec::new();
    for &q in &cfg.quantiles {
        let mut t = quantile(sample_rewards, q);
        if let Some(&prev) = out.last()
            && t <= prev
        {
            t = prev + 1e-6 * prev.abs().max(1.0);
        }
        out.push(t);
    }
    out
}
