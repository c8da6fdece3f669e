//! `restlm compare`: does ReST beat what it costs? From one config and for
//! several seeds, the same SFT policy is continued by arms with equal
//! optimizer-step budgets (SFT's steps, then G · I · improve.steps more)
//! and judged by the same held-out evaluation after every step:
//!
//! - `sft`: more SFT on the demonstrations (a grown set of D alone);
//! - `best-of-N`, `best-of-4N`: no training; the best of N samples of the
//!   SFT policy under the reward, per held-out prompt;
//! - `rest`: the configured ReST (continues, D included, rising τ);
//! - `rest-em`: ReST-EM (fine-tunes the SFT policy afresh each Grow on its
//!   samples alone, one τ: the last of the schedule);
//! - `no-filter`: ReST with every τ below every reward, so what the reward
//!   filter adds shows as `rest` minus `no-filter`;
//! - `rest-rm` (with `[rm] compare = true`): `rest` with a learned reward
//!   model scoring the prompt-only records (`rm_arm.rs`).
//!
//! From a pretrained model (`init`, `compare --init`), the shared start is
//! that model fine-tuned on D (LoRA SFT when `[lora]` is set), and one arm
//! more shows what SFT itself adds:
//!
//! - `base`: the pretrained model untouched (greedy), with `base
//!   best-of-N` and `base best-of-4N`.
//!
//! Every arm is an ordinary run directory under `<out>/seed-<s>/`, so an
//! interrupted comparison resumes where it stopped. Each arm's peak
//! resident memory is measured on its own (Linux).

use super::run::{RunOptions, run};
use super::setup::{load_data, reward_for, sample_options};
use super::state::RunState;
use crate::config::RunConfig;
use crate::data::Record;
use crate::error::{Error, Result};
use crate::eval::mean;
use crate::io::{read_json, write_json_atomic};
use crate::policy::Policy;
use crate::reward::{Item, Reward};
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// One arm on one seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArmRun {
    pub arm: String,
    pub seed: u64,
    /// Held-out greedy reward of the last policy, and of the best one
    /// (chosen on the same held-out set, the same way for every arm).
    pub final_reward: f64,
    pub best_reward: f64,
    /// The reward's second metric (else chrF against references) of the
    /// last policy.
    pub final_second: Option<f64>,
    pub optimizer_steps: usize,
    pub tokens_trained: usize,
    pub tokens_sampled: usize,
    /// Wall time of the arm itself (the shared SFT not included).
    pub wall_s: f64,
    /// Peak resident memory while the arm ran, in MB (Linux).
    #[serde(default)]
    pub peak_rss_mb: Option<f64>,
    /// The last Improve step's kept samples of prompt-only records, and on
    /// how many prompts (None for arms without Grow).
    #[serde(default)]
    pub kept_new: Option<usize>,
    #[serde(default)]
    pub new_prompts: Option<usize>,
}

/// An arm's mean over seeds with a 95% t-interval.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArmSummary {
    pub arm: String,
    pub final_reward: (f64, f64),
    pub best_reward: (f64, f64),
    pub final_second: Option<(f64, f64)>,
    /// Final reward minus the `sft` arm's on the same seed: the paired
    /// difference, which the seed-to-seed spread of the task hides less.
    pub vs_sft: Option<(f64, f64)>,
    pub optimizer_steps: usize,
    pub tokens_trained: f64,
    pub tokens_sampled: f64,
    pub wall_s: f64,
    /// The largest peak over seeds.
    pub peak_rss_mb: Option<f64>,
    /// Means over seeds.
    pub kept_new: Option<f64>,
    pub new_prompts: Option<f64>,
}

/// The shared start of one seed: SFT (of the pretrained model, from
/// `init`), its wall time and peak memory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Start {
    pub wall_s: f64,
    pub peak_rss_mb: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    pub second_metric: String,
    /// The pretrained model the comparison started from, if any.
    pub init: Option<std::path::PathBuf>,
    pub sft_wall_s: Vec<f64>,
    pub sft_peak_rss_mb: Vec<Option<f64>>,
    pub runs: Vec<ArmRun>,
    pub arms: Vec<ArmSummary>,
}

/// Two-sided 95% Student t quantile for `df` degrees of freedom.
fn t95(df: usize) -> f64 {
    const T: [f64; 10] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    ];
    match df {
        0 => f64::NAN,
        1..=10 => T[df - 1],
        11..=30 => 2.1,
        _ => 1.96,
    }
}

/// Mean and half-width of the 95% interval (0 for a single value).
pub fn mean_ci(xs: &[f64]) -> (f64, f64) {
    let m = mean(xs);
    if xs.len() < 2 {
        return (m, 0.0);
    }
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
    (m, t95(xs.len() - 1) * (var / xs.len() as f64).sqrt())
}

/// The arms' configs, all continuing the SFT policy for the same number of
/// optimizer steps.
fn arm_configs(cfg: &RunConfig) -> Vec<(&'static str, RunConfig)> {
    let i = cfg.improve_steps();
    let keep_all: Vec<f64> = (0..i).map(|k| k as f64 - i as f64).collect();
    let mut sft = cfg.clone();
    sft.rest.samples_per_prompt = 0;
    sft.rest.include_dataset = true;
    sft.rest.quantiles.clear();
    sft.rest.thresholds = keep_all.clone();
    let rest = cfg.clone();
    let mut em = cfg.clone();
    em.rest.include_dataset = false;
    em.rest.restart_from_sft = true;
    if let Some(&q) = cfg.rest.quantiles.last() {
        em.rest.quantiles = vec![q];
    } else {
        em.rest.thresholds = vec![*cfg.rest.thresholds.last().expect("validated")];
    }
    em.improve.steps = cfg.improve.steps * i;
    let mut open = cfg.clone();
    open.rest.quantiles.clear();
    open.rest.thresholds = keep_all;
    vec![
        ("sft", sft),
        ("rest", rest),
        ("rest-em", em),
        ("no-filter", open),
    ]
}

fn state_of(dir: &Path) -> Result<RunState> {
    read_json(&dir.join("state.json"))
}

/// Runs (or resumes) every arm for `seeds` seeds under `out`.
pub fn compare(cfg: &RunConfig, seeds: usize, out: &Path, device: &Device) -> Result<Comparison> {
    cfg.validate()?;
    if seeds == 0 {
        return Err(Error::Config("compare needs at least one seed".into()));
    }
    let mut runs = Vec::new();
    let mut starts = Vec::new();
    for s in 0..seeds as u64 {
        let seed = cfg.seed + s;
        let base = out.join(format!("seed-{seed}"));
        let mut seeded = cfg.clone();
        seeded.seed = seed;
        starts.push(shared_start(&seeded, &base, device)?);
        let sft_dir = base.join("sft-start").join("ckpt").join("sft");
        if let Some(init) = &cfg.init {
            let mut untouched = seeded.clone();
            untouched.rest.grow_steps = 0;
            let opts = RunOptions {
                init: Some(init.clone()),
                ..RunOptions::default()
            };
            runs.push(arm(&seeded, "base", untouched, &opts, 0, &base, device)?);
        }
        for (name, arm_cfg) in arm_configs(&seeded) {
            let opts = RunOptions {
                init: Some(sft_dir.clone()),
                ..RunOptions::default()
            };
            let sft = cfg.sft.steps;
            runs.push(arm(&seeded, name, arm_cfg, &opts, sft, &base, device)?);
        }
        if cfg.rm.compare {
            let dirs = super::rm_arm::reward_models(&seeded, &base, &sft_dir, device)?;
            let arm_cfg = super::rm_arm::config(&seeded, dirs);
            let opts = RunOptions {
                init: Some(sft_dir.clone()),
                ..RunOptions::default()
            };
            let sft = cfg.sft.steps;
            runs.push(arm(&seeded, "rest-rm", arm_cfg, &opts, sft, &base, device)?);
        }
        let sft = cfg.sft.steps;
        runs.extend(best_of_arms(
            &seeded, &sft_dir, sft, "best-of", &base, device,
        )?);
        if let Some(init) = &cfg.init {
            runs.extend(best_of_arms(
                &seeded,
                init,
                0,
                "base-best-of",
                &base,
                device,
            )?);
        }
    }
    let arms = summarise(&runs);
    let reward = crate::reward::from_config(&cfg.reward, cfg.data.embedded_task(), device)?;
    let c = Comparison {
        second_metric: reward
            .second_metric()
            .map_or("chrF".to_string(), |m| m.name.to_string()),
        init: cfg.init.clone(),
        sft_wall_s: starts.iter().map(|s| s.wall_s).collect(),
        sft_peak_rss_mb: starts.iter().map(|s| s.peak_rss_mb).collect(),
        runs,
        arms,
    };
    write_json_atomic(&out.join("compare.json"), &c)?;
    plot(&c, &out.join("compare.svg"))?;
    Ok(c)
}

/// The shared start of one seed under `base`: SFT alone (a run with no
/// Grow), of the pretrained model when the config names one.
fn shared_start(cfg: &RunConfig, base: &Path, device: &Device) -> Result<Start> {
    let mut start_cfg = cfg.clone();
    start_cfg.rest.grow_steps = 0;
    start_cfg.run_dir = base.join("sft-start");
    let timing = base.join("sft-start.json");
    if timing.exists() {
        return read_json(&timing);
    }
    eprintln!("seed {}: SFT ({} steps)", cfg.seed, cfg.sft.steps);
    crate::io::reset_peak_rss();
    let t0 = Instant::now();
    let opts = RunOptions {
        init: cfg.init.clone(),
        sft_from_init: true,
        ..RunOptions::default()
    };
    run(&start_cfg, &opts, device)?;
    let start = Start {
        wall_s: t0.elapsed().as_secs_f64(),
        peak_rss_mb: crate::io::peak_rss_mb(),
    };
    write_json_atomic(&timing, &start)?;
    Ok(start)
}

/// Arm `name` of one seed (`arm_cfg` run from `opts`, a policy that took
/// `steps_before` optimizer steps), read back when done.
fn arm(
    cfg: &RunConfig,
    name: &str,
    mut arm_cfg: RunConfig,
    opts: &RunOptions,
    steps_before: usize,
    base: &Path,
    device: &Device,
) -> Result<ArmRun> {
    arm_cfg.run_dir = base.join(name);
    let result = arm_cfg.run_dir.join("result.json");
    if result.exists() {
        return read_json(&result);
    }
    eprintln!("seed {}: arm {name}", cfg.seed);
    crate::io::reset_peak_rss();
    let t0 = Instant::now();
    let rows = run(&arm_cfg, opts, device)?;
    let state = state_of(&arm_cfg.run_dir)?;
    let last = rows
        .last()
        .ok_or_else(|| Error::Other("an arm without evaluations".into()))?;
    let kept = rows.iter().rev().find_map(|r| r.kept_from);
    let r = ArmRun {
        arm: name.into(),
        seed: cfg.seed,
        final_reward: last.greedy_reward,
        best_reward: rows
            .iter()
            .map(|r| r.greedy_reward)
            .fold(f64::MIN, f64::max),
        final_second: last.second.or(last.chrf),
        optimizer_steps: steps_before + state.total_steps,
        tokens_trained: state.tokens_trained,
        tokens_sampled: state.tokens_sampled,
        wall_s: t0.elapsed().as_secs_f64(),
        peak_rss_mb: crate::io::peak_rss_mb(),
        kept_new: kept.map(|k| k.new),
        new_prompts: kept.map(|k| k.new_prompts),
    };
    write_json_atomic(&result, &r)?;
    Ok(r)
}

/// The `{label}-N` and `{label}-4N` arms of one seed (the best of N
/// samples of the policy at `policy_path`: the SFT policy, or the
/// untouched base, which took `steps` optimizer steps): read back when done, else run with the data,
/// reward and policy loaded once for both.
fn best_of_arms(
    cfg: &RunConfig,
    policy_path: &Path,
    steps: usize,
    label: &str,
    base: &Path,
    device: &Device,
) -> Result<Vec<ArmRun>> {
    let n = cfg.rest.samples_per_prompt.max(1);
    let name = |draws: usize| format!("{label}-{draws}");
    let result = |draws: usize| base.join(format!("{}.json", name(draws)));
    if [n, 4 * n].iter().all(|&d| result(d).exists()) {
        return [n, 4 * n].iter().map(|&d| read_json(&result(d))).collect();
    }
    let (train, eval) = load_data(cfg)?;
    let mut reward = reward_for(cfg, &train, &eval, device)?;
    let policy = Policy::load_as(policy_path, cfg.tokenizer.prompt_format, device)?;
    [n, 4 * n]
        .iter()
        .map(|&d| match result(d).exists() {
            true => read_json(&result(d)),
            false => {
                let r = best_of(cfg, &policy, steps, &eval, reward.as_mut(), d, &name(d))?;
                write_json_atomic(&result(d), &r)?;
                Ok(r)
            }
        })
        .collect()
}

/// Best of `draws` samples of `policy` (which took `steps` optimizer
/// steps) per held-out prompt under the reward (no training): arm `name`.
/// Its peak memory counts from the call (the policy already resident).
fn best_of(
    cfg: &RunConfig,
    policy: &Policy,
    steps: usize,
    eval: &[Record],
    reward: &mut dyn Reward,
    draws: usize,
    name: &str,
) -> Result<ArmRun> {
    let second = reward.second_metric();
    eprintln!("seed {}: arm {name}", cfg.seed);
    crate::io::reset_peak_rss();
    let t0 = Instant::now();
    let prompts: Vec<&str> = eval.iter().map(|r| r.prompt.as_str()).collect();
    let opts = sample_options(cfg, cfg.seed ^ 0xB357);
    let out = policy.complete(&prompts, draws, cfg.data.max_prompt_tokens, &opts)?;
    let (mut best, mut seconds, mut sampled) = (Vec::new(), Vec::new(), 0);
    for (r, row) in eval.iter().zip(&out) {
        let items: Vec<Item> = row.iter().map(|(t, _)| Item::of(r, t)).collect();
        let scores = crate::reward::score_all(reward, &items, cfg.reward.batch_size)?;
        let k = (0..scores.len())
            .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
            .expect("draws ≥ 1");
        best.push(scores[k]);
        let chosen = &items[k];
        seconds.push(match second {
            Some(m) => Some((m.score)(chosen)),
            None if !r.references.is_empty() => Some(crate::reward::sentence_chrf_multi(
                chosen.sample,
                chosen.references,
            )),
            None => None,
        });
        sampled += row.iter().map(|(_, g)| g.tokens.len()).sum::<usize>();
    }
    let second_mean: Option<Vec<f64>> = seconds.into_iter().collect();
    Ok(ArmRun {
        arm: name.into(),
        seed: cfg.seed,
        final_reward: mean(&best),
        best_reward: mean(&best),
        final_second: second_mean.map(|v| mean(&v)),
        optimizer_steps: steps,
        tokens_trained: 0,
        tokens_sampled: sampled,
        wall_s: t0.elapsed().as_secs_f64(),
        peak_rss_mb: crate::io::peak_rss_mb(),
        kept_new: None,
        new_prompts: None,
    })
}

/// The mean of counts every seed has, else None.
fn mean_of(xs: impl Iterator<Item = Option<usize>>) -> Option<f64> {
    let xs: Option<Vec<f64>> = xs.map(|x| x.map(|x| x as f64)).collect();
    xs.filter(|v| !v.is_empty()).map(|v| mean(&v))
}

fn summarise(runs: &[ArmRun]) -> Vec<ArmSummary> {
    let mut names: Vec<&str> = Vec::new();
    for r in runs {
        if !names.contains(&r.arm.as_str()) {
            names.push(&r.arm);
        }
    }
    names
        .into_iter()
        .map(|name| {
            let rs: Vec<&ArmRun> = runs.iter().filter(|r| r.arm == name).collect();
            let get = |f: fn(&ArmRun) -> f64| rs.iter().map(|r| f(r)).collect::<Vec<f64>>();
            let seconds: Option<Vec<f64>> = rs.iter().map(|r| r.final_second).collect();
            let sft_of = |seed: u64| {
                runs.iter()
                    .find(|r| r.arm == "sft" && r.seed == seed)
                    .map(|r| r.final_reward)
            };
            let paired: Option<Vec<f64>> = rs
                .iter()
                .map(|r| sft_of(r.seed).map(|s| r.final_reward - s))
                .collect();
            ArmSummary {
                arm: name.to_string(),
                final_reward: mean_ci(&get(|r| r.final_reward)),
                best_reward: mean_ci(&get(|r| r.best_reward)),
                final_second: seconds.map(|v| mean_ci(&v)),
                vs_sft: paired.filter(|_| name != "sft").map(|v| mean_ci(&v)),
                optimizer_steps: rs[0].optimizer_steps,
                tokens_trained: mean(&get(|r| r.tokens_trained as f64)),
                tokens_sampled: mean(&get(|r| r.tokens_sampled as f64)),
                wall_s: mean(&get(|r| r.wall_s)),
                peak_rss_mb: rs.iter().filter_map(|r| r.peak_rss_mb).reduce(f64::max),
                kept_new: mean_of(rs.iter().map(|r| r.kept_new)),
                new_prompts: mean_of(rs.iter().map(|r| r.new_prompts)),
            }
        })
        .collect()
}

/// The comparison as a table: mean ± 95% interval over seeds.
pub fn table(c: &Comparison) -> String {
    let pm = |(m, h): (f64, f64)| format!("{m:.2} ± {h:.2}");
    let mut s = format!(
        "{:<16} {:>16} {:>16} {:>16} {:>16} {:>6} {:>14} {:>14} {:>8} {:>8} {:>12}\n",
        "arm",
        "final reward",
        "best reward",
        "final − sft",
        format!("final {}", c.second_metric),
        "steps",
        "tokens trained",
        "tokens sampled",
        "wall s",
        "peak MB",
        "new kept/pr"
    );
    for a in &c.arms {
        let new = match (a.kept_new, a.new_prompts) {
            (Some(k), Some(p)) => format!("{k:.0}/{p:.0}"),
            _ => "-".into(),
        };
        s += &format!(
            "{:<16} {:>16} {:>16} {:>16} {:>16} {:>6} {:>14.0} {:>14.0} {:>8.1} {:>8} {:>12}\n",
            a.arm,
            pm(a.final_reward),
            pm(a.best_reward),
            a.vs_sft
                .map_or("-".into(), |(m, h)| format!("{m:+.2} ± {h:.2}")),
            a.final_second.map_or("-".into(), pm),
            a.optimizer_steps,
            a.tokens_trained,
            a.tokens_sampled,
            a.wall_s,
            a.peak_rss_mb.map_or("-".into(), |m| format!("{m:.0}")),
            new
        );
    }
    let sft = mean(&c.sft_wall_s);
    let from = c
        .init
        .as_ref()
        .map_or(String::new(), |p| format!(" of {}", p.display()));
    s += &format!(
        "(mean ± 95% interval over {} seeds; final − sft is paired by seed; the shared SFT{from} \
         took {sft:.1} s per seed, and wall s is each arm after it; peak MB is the largest over \
         seeds; new kept/pr: the last Improve step's kept samples of prompt-only records, and on \
         how many prompts)\n",
        c.sft_wall_s.len()
    );
    s
}

/// `restlm compare`'s figure: each arm's final held-out reward, mean over
/// seeds with its 95% interval.
fn plot(c: &Comparison, path: &Path) -> Result<()> {
    use plotters::prelude::*;
    let err = |e: &dyn std::fmt::Display| crate::error::Error::file(path, format!("plot: {e}"));
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
