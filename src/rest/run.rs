//! The whole ReST run: SFT (unless starting from a checkpoint), then G
//! Grows each feeding I Improve steps, held-out evaluation after every step.
//!
//! A run directory is enough to resume: `config.toml`, `tokenizer.json`,
//! `state.json` (completed units, current and best policy, evaluations),
//! `ckpt/<unit>/` checkpoints, `grow/g<N>.jsonl` grown sets,
//! `metrics.jsonl`, `reward.svg`. Units are "sft", "g1-grow", "g1-i1", …;
//! re-running the same command skips completed units and resumes the
//! interrupted one (a Grow from its last flushed batch, training from its
//! last checkpoint).

use super::{filter, grow, improve_examples, thresholds};
use crate::config::RunConfig;
use crate::data::{Record, encode_records, read_records, task};
use crate::error::{Error, Result};
use crate::eval::{EvalSetup, evaluate};
use crate::io::{read_json, read_jsonl, write_atomic, write_json_atomic};
use crate::model::checkpoint::TrainState;
use crate::policy::Policy;
use crate::report::{self, EvalRow, Metrics};
use crate::rest::grow::{GrowSetup, Grown};
use crate::reward::{self, Reward};
use crate::sample::{PickOptions, SampleOptions};
use crate::tokenizer::Tokenizer;
use crate::train::Stage;
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunState {
    pub completed: Vec<String>,
    /// Current policy, relative to the run directory.
    pub policy: Option<PathBuf>,
    pub best: Option<(String, f64)>,
    pub evals: Vec<EvalRow>,
    pub total_steps: usize,
}

pub struct RunOptions {
    /// Start from this policy directory instead of SFT.
    pub init: Option<PathBuf>,
    /// Stop after this many units (tests use it to stop mid-run).
    pub max_units: Option<usize>,
}

/// Training and held-out records: the JSONL files, or the embedded task.
pub fn load_data(cfg: &RunConfig) -> Result<(Vec<Record>, Vec<Record>)> {
    let (task_train, task_eval) = task::generate(cfg.data.task_train, cfg.data.task_eval, cfg.seed);
    let train = match &cfg.data.train {
        Some(p) => read_records(p)?,
        None => task_train,
    };
    let eval = match &cfg.data.eval {
        Some(p) => read_records(p)?,
        None if cfg.data.train.is_none() => task_eval,
        None => {
            return Err(Error::Config(
                "data.train is set but data.eval is not: give held-out records".into(),
            ));
        }
    };
    Ok((train, eval))
}

pub fn sample_options(cfg: &RunConfig, seed: u64) -> SampleOptions {
    SampleOptions {
        pick: PickOptions {
            temperature: cfg.sample.temperature,
            top_k: cfg.sample.top_k,
            top_p: cfg.sample.top_p,
        },
        max_new_tokens: cfg.sample.max_new_tokens,
        batch_size: cfg.sample.batch_size,
        seed,
        use_cache: true,
        on_device: true,
    }
}

struct Ctx<'a> {
    cfg: &'a RunConfig,
    dir: &'a Path,
    state: RunState,
    metrics: Metrics,
    reward: Box<dyn Reward>,
    eval: &'a [Record],
    started: Instant,
}

impl Ctx<'_> {
    fn done(&self, unit: &str) -> bool {
        self.state.completed.iter().any(|u| u == unit)
    }

    fn save_state(&self) -> Result<()> {
        write_json_atomic(&self.dir.join("state.json"), &self.state)
    }

    /// Evaluates the policy after `unit`, keeps the best, records the unit.
    fn finish(
        &mut self,
        unit: &str,
        policy: &Policy,
        ckpt: Option<PathBuf>,
        kept: usize,
        steps: usize,
    ) -> Result<()> {
        let setup = EvalSetup {
            records: self.eval,
            max_prompt: self.cfg.data.max_prompt_tokens,
            sample: sample_options(self.cfg, self.cfg.seed ^ 0xE7A1),
            samples: self.cfg.eval.samples,
            reward_batch: self.cfg.reward.batch_size,
        };
        let mut row = evaluate(policy, &setup, self.reward.as_mut(), unit)?;
        row.kept = kept;
        self.metrics.log(serde_json::json!({
            "stage": unit, "eval": row, "total_step": self.state.total_steps + steps,
            "elapsed_s": self.started.elapsed().as_secs_f64(),
        }))?;
        eprintln!(
            "{unit:>14}: held-out reward {:.2} (sampled {:.2}), chrF {:.2}, BLEU {:.2}",
            row.greedy_reward, row.sampled_reward, row.chrf, row.bleu
        );
        if self
            .state
            .best
            .as_ref()
            .is_none_or(|b| row.greedy_reward > b.1)
        {
            policy.save(&self.dir.join("best"), &TrainState::default())?;
            self.state.best = Some((unit.to_string(), row.greedy_reward));
        }
        if ckpt.is_some() {
            self.state.policy = ckpt;
        }
        self.state.total_steps += steps;
        self.state.evals.push(row);
        self.state.completed.push(unit.to_string());
        self.save_state()
    }
}

/// Refuses to continue a run directory with a different configuration.
fn pin_config(cfg: &RunConfig, dir: &Path) -> Result<()> {
    let path = dir.join("config.toml");
    let text = cfg.to_toml();
    if path.exists() {
        let old = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        if old != text {
            return Err(Error::file(
                &path,
                "this run directory was started with a different configuration; \
                 use another run_dir, or delete the directory to start over",
            ));
        }
        return Ok(());
    }
    write_atomic(&path, text.as_bytes())
}

fn tokenizer(
    cfg: &RunConfig,
    dir: &Path,
    train: &[Record],
    init: Option<&Path>,
) -> Result<Tokenizer> {
    let tok = if dir.join("tokenizer.json").exists() {
        Tokenizer::load(dir)?
    } else if let Some(init) = init {
        Policy::load_tokenizer(init)?
    } else if let Some(p) = &cfg.tokenizer.path {
        Tokenizer::load_file(p, None)?
    } else {
        let texts: Vec<&str> = train
            .iter()
            .flat_map(|r| [r.prompt.as_str(), r.target.as_str()])
            .collect();
        Tokenizer::train(&texts, cfg.tokenizer.vocab_size)?
    };
    tok.save(dir)?;
    Ok(tok)
}

pub fn run(cfg: &RunConfig, opts: &RunOptions, device: &Device) -> Result<Vec<EvalRow>> {
    cfg.validate()?;
    let dir = cfg.run_dir.as_path();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    pin_config(cfg, dir)?;
    let (train_set, eval_set) = load_data(cfg)?;
    let tok = tokenizer(cfg, dir, &train_set, opts.init.as_deref())?;
    let state_path = dir.join("state.json");
    let state: RunState = if state_path.exists() {
        read_json(&state_path)?
    } else {
        RunState::default()
    };
    let mut ctx = Ctx {
        cfg,
        dir,
        state,
        metrics: Metrics::to_file(&dir.join("metrics.jsonl"))?,
        reward: reward::from_config(&cfg.reward)?,
        eval: &eval_set,
        started: Instant::now(),
    };
    let mut model_cfg = cfg.model.clone();
    model_cfg.vocab_size = tok.vocab_size();
    let mut policy = match (&ctx.state.policy, &opts.init) {
        (Some(p), _) => Policy::load(&dir.join(p), device)?,
        (None, Some(init)) => Policy::load(init, device)?,
        (None, None) => {
            device.seed(cfg.seed);
            Policy::new(model_cfg, tok.clone(), device)
        }
    };
    let (max_prompt, max_seq) = (cfg.data.max_prompt_tokens, policy.cfg.max_seq_len);
    let (held, _) = encode_records(&tok, &eval_set, max_prompt, max_seq)?;
    let mut units = 0;
    let budget = |units: usize| opts.max_units.is_none_or(|m| units < m);
    let first = if opts.init.is_some() { "init" } else { "sft" };
    if !ctx.done(first) {
        let steps = if opts.init.is_none() {
            let (data, cut) = encode_records(&tok, &train_set, max_prompt, max_seq)?;
            cut.warn("training data", data.len());
            let ckpt = dir.join("ckpt").join("sft");
            let stage = Stage {
                name: "sft",
                cfg: &cfg.sft,
                seed: cfg.seed,
                ckpt_dir: Some(&ckpt),
                total_steps_before: 0,
                tokenizer: Some(&tok),
            };
            policy.fine_tune(&data, &held, stage, &mut ctx.metrics)?;
            cfg.sft.steps
        } else {
            0
        };
        let ckpt = (opts.init.is_none()).then(|| PathBuf::from("ckpt/sft"));
        ctx.finish(first, &policy, ckpt, 0, steps)?;
        units += 1;
    }
    for g in 1..=cfg.rest.grow_steps {
        if !budget(units) {
            break;
        }
        let grow_unit = format!("g{g}-grow");
        let grow_path = dir.join("grow").join(format!("g{g}.jsonl"));
        let grown: Vec<Grown> = if ctx.done(&grow_unit) {
            read_jsonl(&grow_path, false)?
        } else {
            let setup = GrowSetup {
                grow_step: g,
                samples_per_prompt: cfg.rest.samples_per_prompt,
                include_dataset: cfg.rest.include_dataset,
                max_prompt,
                sample: sample_options(cfg, cfg.seed ^ 0x5EED),
                reward_batch: cfg.reward.batch_size,
                label: &grow_unit,
            };
            let rows = grow(&policy, &train_set, ctx.reward.as_mut(), &setup, &grow_path)?;
            let samples: Vec<f64> = rows
                .iter()
                .filter(|r| r.sample_index.is_some())
                .map(|r| r.reward)
                .collect();
            let mean = samples.iter().sum::<f64>() / samples.len().max(1) as f64;
            eprintln!(
                "{grow_unit:>14}: {} samples, mean reward {mean:.2}",
                samples.len()
            );
            ctx.metrics.log(serde_json::json!({"stage": grow_unit, "samples": samples.len(), "mean_reward": mean}))?;
            ctx.state.completed.push(grow_unit.clone());
            ctx.save_state()?;
            units += 1;
            rows
        };
        let sample_rewards: Vec<f64> = grown
            .iter()
            .filter(|r| r.sample_index.is_some())
            .map(|r| r.reward)
            .collect();
        for (i, tau) in thresholds(&cfg.rest, &sample_rewards)
            .into_iter()
            .enumerate()
        {
            let unit = format!("g{g}-i{}", i + 1);
            if ctx.done(&unit) {
                continue;
            }
            if !budget(units) {
                break;
            }
            let kept = filter(&grown, tau);
            eprintln!(
                "{unit:>14}: τ = {tau:.2} keeps {} of {} records",
                kept.len(),
                grown.len()
            );
            if kept.is_empty() {
                eprintln!(
                    "{unit:>14}: no record has reward ≥ {tau:.2}; this Improve step leaves the policy as it is"
                );
                ctx.finish(&unit, &policy, None, 0, 0)?;
                units += 1;
                continue;
            }
            let (data, cut) = improve_examples(&tok, &kept, cfg.rest.loss, max_prompt, max_seq)?;
            cut.warn(&unit, data.len());
            let rel = PathBuf::from("ckpt").join(&unit);
            let ckpt = dir.join(&rel);
            let stage = Stage {
                name: &unit,
                cfg: &cfg.improve,
                seed: cfg.seed.wrapping_add(1000 * g as u64 + i as u64),
                ckpt_dir: Some(&ckpt),
                total_steps_before: ctx.state.total_steps,
                tokenizer: Some(&tok),
            };
            policy.fine_tune(&data, &held, stage, &mut ctx.metrics)?;
            ctx.finish(&unit, &policy, Some(rel), kept.len(), cfg.improve.steps)?;
            units += 1;
        }
    }
    let rows = ctx.state.evals.clone();
    report::plot(&rows, &dir.join("reward.svg"))?;
    Ok(rows)
}
