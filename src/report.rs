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
}

fn cell(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.2}"))
}

/// The end-of-run table; `second` names the reward's second metric.
pub fn table(rows: &[EvalRow], second: Option<&str>) -> String {
    let second = second.unwrap_or("second");
    let mut s = format!(
        "{:<10} {:>15} {:>14} {:>12} {:>8} {:>8} {:>8}\n",
        "step", "greedy reward", "sampled reward", second, "chrF", "BLEU", "kept"
    );
    let base = rows.first().map(|r| r.greedy_reward);
    for r in rows {
        let delta = base.map_or(String::new(), |b| format!(" ({:+.1})", r.greedy_reward - b));
        s += &format!(
            "{:<10} {:>15} {:>14.2} {:>12} {:>8} {:>8} {:>8}\n",
            r.step,
            format!("{:.2}{delta}", r.greedy_reward),
            r.sampled_reward,
            cell(r.second),
            cell(r.chrf),
            cell(r.bleu),
            r.kept
        );
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

/// `restlm compare`'s figure: each arm's final held-out reward, mean over
/// seeds with its 95% interval.
pub fn plot_compare(c: &crate::rest::compare::Comparison, path: &Path) -> Result<()> {
    use plotters::prelude::*;
    let err = |e: &dyn std::fmt::Display| Error::file(path, format!("plot: {e}"));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let n = c.arms.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "held-out reward by arm (equal optimizer steps; mean, 95% CI)",
                ("sans-serif", 18),
            )
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(-0.5f64..n as f64 - 0.5, 0f64..100f64)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() > 0.01 || i < 0.0 {
                    return String::new();
                }
                c.arms
                    .get(i as usize)
                    .map_or(String::new(), |a| a.arm.clone())
            })
            .y_desc("held-out reward")
            .draw()
            .map_err(|e| err(&e))?;
        for (i, a) in c.arms.iter().enumerate() {
            let (m, h) = a.final_reward;
            let x = i as f64;
            let color = if a.arm == "rest" {
                BLUE
            } else {
                RGBColor(120, 130, 150)
            };
            chart
                .draw_series([Rectangle::new(
                    [(x - 0.3, 0.0), (x + 0.3, m)],
                    color.filled(),
                )])
                .map_err(|e| err(&e))?;
            chart
                .draw_series([PathElement::new(
                    vec![(x, m - h), (x, m + h)],
                    BLACK.stroke_width(2),
                )])
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    crate::io::write_atomic(path, svg.as_bytes())
}
