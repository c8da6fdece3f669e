//! How well a reward model agrees with gold on held-out prompts: rank and
//! linear correlation, same-prompt pairwise accuracy, whether its top pick
//! of a prompt's outputs is a best one, and precision/recall of
//! "reward ≥ τ" (the decision an Improve step makes with it).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One held-out output: its prompt, gold score and the model's, 0–100.
#[derive(Debug, Clone)]
pub struct Scored<'a> {
    pub prompt: &'a str,
    pub gold: f64,
    pub model: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// Held-out pointwise outputs and their distinct prompts.
    pub outputs: usize,
    pub prompts: usize,
    pub spearman: Option<f64>,
    pub pearson: Option<f64>,
    /// Pairs of one prompt's outputs with different gold scores that the
    /// model orders as gold does (a model tie counts half).
    pub pair_accuracy: Option<f64>,
    pub pairs: usize,
    /// Prompts (with outputs of different gold scores) whose top-scored
    /// output under the model has the best gold score.
    pub top1_agreement: Option<f64>,
    /// Held-out preference pairs the model ranks chosen above rejected.
    pub preference_accuracy: Option<f64>,
    /// τ → (precision, recall) of model ≥ τ against gold ≥ τ.
    pub at_threshold: BTreeMap<String, (Option<f64>, Option<f64>)>,
}

/// The report over `points` and preference pairs `(r_chosen, r_rejected)`.
pub fn report(points: &[Scored<'_>], prefs: &[(f64, f64)], thresholds: &[f64]) -> Report {
    let gold: Vec<f64> = points.iter().map(|p| p.gold).collect();
    let model: Vec<f64> = points.iter().map(|p| p.model).collect();
    let mut by_prompt: BTreeMap<&str, Vec<&Scored>> = BTreeMap::new();
    for p in points {
        by_prompt.entry(p.prompt).or_default().push(p);
    }
    let (mut right, mut pairs) = (0.0, 0usize);
    let (mut top_right, mut top_n) = (0usize, 0usize);
    for outs in by_prompt.values() {
        for (i, a) in outs.iter().enumerate() {
            for b in &outs[i + 1..] {
                if a.gold == b.gold {
                    continue;
                }
                pairs += 1;
                let agree = (a.gold - b.gold).signum() * (a.model - b.model).signum();
                right += if a.model == b.model {
                    0.5
                } else {
                    (agree > 0.0) as u8 as f64
                };
            }
        }
        let best = outs.iter().map(|o| o.gold).fold(f64::MIN, f64::max);
        if outs.iter().any(|o| o.gold != best) {
            top_n += 1;
            let pick = outs
                .iter()
                .max_by(|a, b| a.model.total_cmp(&b.model))
                .expect("outputs");
            top_right += (pick.gold == best) as usize;
        }
    }
    let share = |k: f64, n: usize| (n > 0).then(|| k / n as f64);
    let at_threshold = thresholds
        .iter()
        .map(|&t| {
            let hits = |f: &dyn Fn(&Scored) -> bool| points.iter().filter(|p| f(p)).count();
            let both = hits(&|p| p.model >= t && p.gold >= t);
            let said = hits(&|p| p.model >= t);
            let real = hits(&|p| p.gold >= t);
            (
                format!("{t}"),
                (share(both as f64, said), share(both as f64, real)),
            )
        })
        .collect();
    Report {
        outputs: points.len(),
        prompts: by_prompt.len(),
        spearman: pearson(&ranks(&gold), &ranks(&model)),
        pearson: pearson(&gold, &model),
        pair_accuracy: share(right, pairs),
        pairs,
        top1_agreement: share(top_right as f64, top_n),
        preference_accuracy: share(
            prefs.iter().filter(|(c, r)| c > r).count() as f64,
            prefs.len(),
        ),
        at_threshold,
    }
}

/// Pearson's r; None when either side is constant or there are < 2 values.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    if x.len() < 2 {
        return None;
    }
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// Ranks from 1, ties given their average rank (so Pearson of ranks is
/// Spearman's ρ).
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut out = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            out[k] = avg;
        }
        i = j + 1;
    }
    out
}

impl Report {
    /// A few lines for the terminal.
    pub fn lines(&self) -> Vec<String> {
        let f = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.3}"));
        let mut out = vec![format!(
            "held-out: {} outputs of {} prompts; Spearman {}, Pearson {}, pairwise accuracy {} ({} pairs), top-1 agreement {}",
            self.outputs,
            self.prompts,
            f(self.spearman),
            f(self.pearson),
            f(self.pair_accuracy),
            self.pairs,
            f(self.top1_agreement)
        )];
        if let Some(a) = self.preference_accuracy {
            out.push(format!("held-out preference pairs ranked right: {a:.3}"));
        }
        for (t, (p, r)) in &self.at_threshold {
            out.push(format!(
                "reward ≥ {t}: precision {}, recall {}",
                f(*p),
                f(*r)
            ));
        }
        out
    }
}
