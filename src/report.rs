//! What a run leaves for people: `metrics.jsonl`, a summary table, and a
//! plot of held-out reward per step.

use crate::error::{Error, Result};
use crate::io::JsonlAppender;
use std::path::Path;

/// Appends one JSON object per line to `metrics.jsonl` (or nowhere).
pub struct Metrics {
    out: Option<JsonlAppender>,
}

impl Metrics {
    pub fn to_file(path: &Path) -> Result<Self> {
        Ok(Self {
            out: Some(JsonlAppender::open(path)?),
        })
    }

    pub fn none() -> Self {
        Self { out: None }
    }

    pub fn log(&mut self, row: serde_json::Value) -> Result<()> {
        match &mut self.out {
            Some(out) => out.append(&[row]),
            None => Ok(()),
        }
    }
}

/// One row of the end-of-run table: the policy after a step, scored on the
/// held-out prompts.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct EvalRow {
    pub step: String,
    pub greedy_reward: f64,
    /// NaN when evaluation samples nothing (`eval.samples = 0`), which JSON
    /// writes as null.
    #[serde(deserialize_with = "nan_if_null")]
    pub sampled_reward: f64,
    /// The reward's own second metric on greedy outputs (arith: every
    /// running sum right), when it defines one.
    #[serde(default)]
    pub second: Option<f64>,
    /// chrF and BLEU of greedy outputs against the references, when every
    /// held-out record has some.
    pub chrf: Option<f64>,
    pub bleu: Option<f64>,
    /// Records the Improve step trained on (0 for SFT).
    pub kept: usize,
    /// Where an Improve step's kept records came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_from: Option<KeptFrom>,
    /// With a learned reward beside a gold one (`reward.gold`): the learned
    /// model's mean score of the same greedy outputs, whose rise while the
    /// gold reward falls is reward hacking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learned_reward: Option<f64>,
    /// Σ −log(kept share of the grown set) over the Improve steps so far:
    /// how far filtering has moved the policy from its start (Gao et al.
    /// 2022 plot reward against such a distance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance: Option<f64>,
}

/// Where an Improve step's kept records came from: samples on prompt-only
/// records are new signal (the reward knew something no target said);
/// records of labeled prompts (their target, or samples of them) were
/// already known.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct KeptFrom {
    /// Kept samples of prompt-only records, and on how many prompts.
    pub new: usize,
    pub new_prompts: usize,
    /// Kept records of labeled prompts (targets and samples), and on how
    /// many prompts.
    pub known: usize,
    pub known_prompts: usize,
    /// Records of the grown set the filter chose from.
    #[serde(default)]
    pub of: usize,
}

/// A number, or NaN for JSON's null (what serde_json writes for NaN).
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    let x: Option<f64> = serde::Deserialize::deserialize(d)?;
    Ok(x.unwrap_or(f64::NAN))
}

fn cell(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.2}"))
}

/// The end-of-run table; `second` names the reward's second metric. A
/// column no row has a value for (the second metric of a reward without
/// one, chrF and BLEU without references) is left out.
pub fn table(rows: &[EvalRow], second: Option<&str>) -> String {
    type Column<'a> = (&'a str, usize, fn(&EvalRow) -> Option<f64>);
    let optional: [Column; 3] = [
        (second.unwrap_or("second"), 12, |r| r.second),
        ("chrF", 8, |r| r.chrf),
        ("BLEU", 8, |r| r.bleu),
    ];
    let shown: Vec<_> = optional
        .into_iter()
        .filter(|(_, _, get)| rows.iter().any(|r| get(r).is_some()))
        .collect();
    let mut s = format!(
        "{:<10} {:>15} {:>14}",
        "step", "greedy reward", "sampled reward"
    );
    for (name, width, _) in &shown {
        s += &format!(" {name:>width$}");
    }
    s += &format!(" {:>8}\n", "kept");
    let base = rows.first().map(|r| r.greedy_reward);
    for r in rows {
        let delta = base.map_or(String::new(), |b| format!(" ({:+.1})", r.greedy_reward - b));
        s += &format!(
            "{:<10} {:>15} {:>14.2}",
            r.step,
            format!("{:.2}{delta}", r.greedy_reward),
            r.sampled_reward,
        );
        for (_, width, get) in &shown {
            s += &format!(" {:>width$}", cell(get(r)));
        }
        s += &format!(" {:>8}\n", r.kept);
    }
    s
}

/// Held-out greedy and sampled reward per step, as an SVG line chart.
pub fn plot(rows: &[EvalRow], path: &Path) -> Result<()> {
    use plotters::prelude::*;
    let err = |e: &dyn std::fmt::Display| Error::file(path, format!("plot: {e}"));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let all = rows
            .iter()
            .flat_map(|r| [r.greedy_reward, r.sampled_reward]);
        let (lo, hi) = all.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
        let pad = ((hi - lo) * 0.1).max(1.0);
        let mut chart = ChartBuilder::on(&root)
            .caption("ReST: held-out reward per step", ("sans-serif", 20))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0..rows.len().max(2) - 1, (lo - pad)..(hi + pad))
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_labels(rows.len().max(2))
            .x_label_formatter(&|i| rows.get(*i).map_or(String::new(), |r| r.step.clone()))
            .y_desc("reward")
            .draw()
            .map_err(|e| err(&e))?;
        let series = [
            (
                "greedy",
                BLUE,
                rows.iter().map(|r| r.greedy_reward).collect::<Vec<_>>(),
            ),
            (
                "sampled",
                RED,
                rows.iter().map(|r| r.sampled_reward).collect(),
            ),
        ];
        for (name, color, ys) in series {
            let points: Vec<(usize, f64)> = ys.into_iter().enumerate().collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 3, color.filled())),
                )
                .map_err(|e| err(&e))?;
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    crate::io::write_atomic(path, svg.as_bytes())
}
