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

use super::setup::{
    checked, eval_setup, fresh_tokenizer, grow_setup, improve_seed, load_data, reward_for,
};
use super::state::{RunState, Unit};
use super::{filter, grow, improve_examples, thresholds};
use crate::config::RunConfig;
use crate::data::{Encoded, Record, encode_records};
use crate::error::{Error, Result};
use crate::eval::evaluate;
use crate::io::{read_json, read_jsonl, write_atomic, write_json_atomic};
use crate::model::checkpoint::TrainState;
use crate::policy::Policy;
use crate::report::{self, EvalRow, KeptFrom, Metrics};
use crate::rest::grow::Grown;
use crate::reward::Reward;
use crate::tokenizer::Tokenizer;
use crate::train::Stage;
use burn::prelude::*;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Start from this policy (a checkpoint, HF directory or GGUF file)
    /// instead of a fresh model; the run then skips SFT, unless
    /// `sft_from_init`.
    pub init: Option<PathBuf>,
    /// Fine-tune `init` on D first (SFT, with LoRA when the config asks),
    /// as a fresh model would be: `compare --init`'s shared start.
    pub sft_from_init: bool,
    /// Stop at a Grow whose grown set is not there yet, so that other
    /// processes grow it (`restlm grow --run DIR --shard`, `restlm merge
    /// --run DIR`); the next run continues from the merged set. (A run
    /// from `--init` grows its first step itself: no policy is saved yet.)
    pub stop_before_grow: bool,
}

/// A run in progress: its directory, bookkeeping and current policy. Each
/// unit method skips a unit `state.json` records as done, and records the
/// unit when it completes, so that re-running resumes.
struct Run<'a> {
    cfg: &'a RunConfig,
    opts: &'a RunOptions,
    device: &'a Device,
    dir: &'a Path,
    state: RunState,
    metrics: Metrics,
    reward: Box<dyn Reward>,
    train: Vec<Record>,
    eval: Vec<Record>,
    /// The held-out records, encoded for the held-out loss.
    held: Vec<Encoded>,
    tok: Tokenizer,
    policy: Policy,
    started: Instant,
}

impl<'a> Run<'a> {
    /// Opens (or creates) the run directory: pins the config, loads the data,
    /// reward and tokenizer, the state and the current policy, and forgets
    /// what an interrupted unit logged past its last checkpoint.
    /// `reward` replaces the config's when given.
    fn open(
        cfg: &'a RunConfig,
        opts: &'a RunOptions,
        reward: Option<Box<dyn Reward>>,
        device: &'a Device,
    ) -> Result<Self> {
        cfg.validate()?;
        let dir = cfg.run_dir.as_path();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        pin_config(cfg, dir)?;
        let (train, eval) = load_data(cfg)?;
        let reward = match reward {
            Some(r) => checked(r, &train, &eval)?,
            None => reward_for(cfg, &train, &eval, device)?,
        };
        let tok = tokenizer(cfg, dir, &train, opts.init.as_deref())?;
        let state_path = dir.join("state.json");
        let state: RunState = if state_path.exists() {
            read_json(&state_path)?
        } else {
            RunState::default()
        };
        let metrics_path = dir.join("metrics.jsonl");
        forget_unfinished_rows(&metrics_path, &state, dir)?;
        let policy = match &state.policy {
            Some(p) => Policy::load(&dir.join(p), device)?,
            None => start_policy(cfg, opts, &tok, device)?,
        };
        let (max_prompt, max_seq) = (cfg.data.max_prompt_tokens, policy.cfg.max_seq_len);
        let (held, _) = encode_records(&tok, &eval, max_prompt, max_seq)?;
        Ok(Run {
            cfg,
            opts,
            device,
            dir,
            state,
            metrics: Metrics::to_file(&metrics_path)?,
            reward,
            train,
            eval,
            held,
            tok,
            policy,
            started: Instant::now(),
        })
    }

    fn done(&self, unit: Unit) -> bool {
        self.state.completed.contains(&unit)
    }

    fn save_state(&self) -> Result<()> {
        write_json_atomic(&self.dir.join("state.json"), &self.state)
    }

    /// The starting policy: SFT on D, or the given one (`--init`).
    fn start(&mut self) -> Result<()> {
        if self.opts.init.is_some() && !self.opts.sft_from_init {
            if !self.done(Unit::Init) {
                self.finish(Unit::Init, None, None, 0)?;
            }
            return Ok(());
        }
        if self.done(Unit::Sft) {
            return Ok(());
        }
        let cfg = self.cfg;
        let (max_prompt, max_seq) = (cfg.data.max_prompt_tokens, self.policy.cfg.max_seq_len);
        let (data, cut) = encode_records(&self.tok, &self.train, max_prompt, max_seq)?;
        cut.warn("training data", data.len());
        if data.is_empty() {
            return Err(Error::Config(
                "no training record has a target: SFT needs demonstrations (or start from --init)"
                    .into(),
            ));
        }
        let rel = PathBuf::from("ckpt/sft");
        let ckpt = self.dir.join(&rel);
        let stage = Stage {
            name: "sft",
            cfg: &cfg.sft,
            seed: cfg.seed,
            ckpt_dir: Some(&ckpt),
            total_steps_before: 0,
            tokenizer: Some(&self.tok),
        };
        let tokens = self
            .policy
            .fine_tune(&data, &self.held, stage, &mut self.metrics)?;
        self.state.tokens_trained += tokens;
        self.finish(Unit::Sft, Some(rel), None, cfg.sft.steps)
    }

    /// Grow step `g`: N samples of every prompt from the current policy,
    /// scored, appended to `grow/g<g>.jsonl` (read back when done). None
    /// when the run stops here for a sharded Grow elsewhere.
    fn grow(&mut self, g: usize) -> Result<Option<Vec<Grown>>> {
        let unit = Unit::Grow(g);
        let path = self.dir.join("grow").join(format!("g{g}.jsonl"));
        if self.done(unit) {
            return read_jsonl(&path, false).map(Some);
        }
        if self.opts.stop_before_grow && !path.exists() && self.state.policy.is_some() {
            eprintln!(
                "stopping before Grow step {g}: grow it elsewhere (restlm grow --run {} \
                 --shard …, then restlm merge --run {}) and run again",
                self.dir.display(),
                self.dir.display()
            );
            return Ok(None);
        }
        let label = unit.to_string();
        let setup = grow_setup(self.cfg, g, &label);
        let rows = grow(
            &self.policy,
            &self.train,
            self.reward.as_mut(),
            &setup,
            &path,
        )?;
        let samples: Vec<&Grown> = rows.iter().filter(|r| r.origin.is_sample()).collect();
        let mean = samples.iter().map(|r| r.reward).sum::<f64>() / samples.len().max(1) as f64;
        for r in &samples {
            self.state.tokens_sampled +=
                self.policy.tok.encode_target(&r.sample)?.len() + r.finished as usize;
        }
        match samples.len() {
            0 => eprintln!(
                "{label:>14}: no samples (N = 0): D alone, {} records",
                rows.len()
            ),
            n => eprintln!("{label:>14}: {n} samples, mean reward {mean:.2}"),
        }
        self.metrics.log(
            serde_json::json!({"stage": label, "samples": samples.len(), "mean_reward": mean}),
        )?;
        self.state.completed.push(unit);
        self.save_state()?;
        Ok(Some(rows))
    }

    /// Improve step i of Grow step g: keep the records of `grown` with
    /// R ≥ τ and fine-tune the policy on them (from the SFT policy afresh
    /// under ReST-EM), then evaluate.
    fn improve(&mut self, g: usize, i: usize, grown: &[Grown], tau: f64) -> Result<()> {
        let unit = Unit::Improve(g, i);
        if self.done(unit) {
            return Ok(());
        }
        let cfg = self.cfg;
        if cfg.rest.restart_from_sft {
            self.policy = match self.opts.init {
                Some(_) if !self.opts.sft_from_init => {
                    start_policy(cfg, self.opts, &self.tok, self.device)?
                }
                _ => Policy::load(&self.dir.join("ckpt/sft"), self.device)?,
            };
        }
        let kept = filter(grown, tau);
        let from = KeptFrom {
            of: grown.len(),
            ..kept_from(&kept, &self.train)
        };
        eprintln!(
            "{unit:>14}: τ = {tau:.2} keeps {} of {} records: {} samples on {} prompt-only prompts \
             (new), {} records on {} labeled prompts (known)",
            kept.len(),
            grown.len(),
            from.new,
            from.new_prompts,
            from.known,
            from.known_prompts
        );
        if kept.is_empty() {
            eprintln!(
                "{unit:>14}: no record has reward ≥ {tau:.2}; this Improve step leaves the policy as it is"
            );
            return self.finish(unit, None, Some(from), 0);
        }
        let (max_prompt, max_seq) = (cfg.data.max_prompt_tokens, self.policy.cfg.max_seq_len);
        let tok = self.policy.tok.clone();
        let (data, cut) = improve_examples(&tok, &kept, cfg.rest.loss, max_prompt, max_seq)?;
        let name = unit.to_string();
        cut.warn(&name, data.len());
        let rel = PathBuf::from("ckpt").join(&name);
        let ckpt = self.dir.join(&rel);
        let stage = Stage {
            name: &name,
            cfg: &cfg.improve,
            seed: improve_seed(cfg, g, i),
            ckpt_dir: Some(&ckpt),
            total_steps_before: self.state.total_steps,
            tokenizer: Some(&tok),
        };
        let tokens = self
            .policy
            .fine_tune(&data, &self.held, stage, &mut self.metrics)?;
        self.state.tokens_trained += tokens;
        self.finish(unit, Some(rel), Some(from), cfg.improve.steps)
    }

    /// Evaluates the policy after `unit` on the held-out prompts, keeps the
    /// best, records the unit as done. `kept`: what an Improve step kept.
    fn finish(
        &mut self,
        unit: Unit,
        ckpt: Option<PathBuf>,
        kept: Option<KeptFrom>,
        steps: usize,
    ) -> Result<()> {
        let name = unit.to_string();
        let setup = eval_setup(self.cfg, &self.eval);
        let mut row = evaluate(&self.policy, &setup, self.reward.as_mut(), &name)?;
        row.kept = kept.map_or(0, |k| k.new + k.known);
        row.kept_from = kept;
        let before = self.state.evals.last();
        if let Some(k) = kept.filter(|k| k.of > 0) {
            let share = (row.kept as f64 / k.of as f64).max(f64::MIN_POSITIVE);
            row.distance = Some(before.and_then(|b| b.distance).unwrap_or(0.0) - share.ln());
        }
        if let (Some(b), Some(now)) = (before, row.learned_reward)
            && let Some(was) = b.learned_reward
            && now > was
            && row.greedy_reward < b.greedy_reward
        {
            eprintln!(
                "{name:>14}: warning: the learned reward rose ({was:.2} → {now:.2}) while the gold \
                 reward fell ({:.2} → {:.2}) on held-out prompts: the policy may be exploiting the \
                 reward model (best/ is chosen by gold)",
                b.greedy_reward, row.greedy_reward
            );
        }
        self.metrics.log(serde_json::json!({
            "stage": name, "eval": row, "total_step": self.state.total_steps + steps,
            "elapsed_s": self.started.elapsed().as_secs_f64(),
        }))?;
        let extra: String = [
            (self.reward.second_metric().map(|m| m.name), row.second),
            (Some("chrF"), row.chrf),
        ]
        .iter()
        .filter_map(|(name, v)| Some(format!(", {} {:.2}", (*name)?, (*v)?)))
        .collect();
        let learned = row
            .learned_reward
            .map_or(String::new(), |l| format!(", learned reward {l:.2}"));
        eprintln!(
            "{name:>14}: held-out reward {:.2} (sampled {:.2}){extra}{learned}",
            row.greedy_reward, row.sampled_reward
        );
        if self
            .state
            .best
            .as_ref()
            .is_none_or(|b| row.greedy_reward > b.1)
        {
            self.policy
                .save(&self.dir.join("best"), &TrainState::default())?;
            self.state.best = Some((name, row.greedy_reward));
        }
        if ckpt.is_some() {
            self.state.policy = ckpt;
        }
        self.state.total_steps += steps;
        self.state.evals.push(row);
        self.state.completed.push(unit);
        self.save_state()
    }
}

/// The policy a run starts from: the given one (`--init`) with the run's
/// tokenizer, or a fresh model seeded from the config; with LoRA
/// adapters when the config asks.
fn start_policy(
    cfg: &RunConfig,
    opts: &RunOptions,
    tok: &Tokenizer,
    device: &Device,
) -> Result<Policy> {
    let p = match &opts.init {
        Some(init) => Policy {
            tok: tok.clone(),
            ..Policy::load_base(init, None, cfg.lora.as_ref(), device)?
        },
        None => {
            let mut model_cfg = cfg.model.clone();
            model_cfg.vocab_size = tok.vocab_size();
            device.seed(cfg.seed);
            Policy::new(model_cfg, tok.clone(), device)
        }
    };
    match &cfg.lora {
        Some(l) => p.with_lora_on(l, opts.init.as_deref(), cfg.seed),
        None => Ok(p),
    }
}

/// A resumed run logs again what an interrupted unit had logged after its
/// last checkpoint (and its evaluation, if the state write never
/// happened): those rows are dropped first, so `metrics.jsonl` holds each
/// row once. Kept: rows of completed units, and training rows of the unit
/// in progress up to the step its checkpoint holds.
fn forget_unfinished_rows(path: &Path, state: &RunState, dir: &Path) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    crate::io::truncate_torn_tail(path)?;
    let rows: Vec<serde_json::Value> = read_jsonl(path, true)?;
    let done = |stage: &str| {
        stage
            .parse::<Unit>()
            .is_ok_and(|u| state.completed.contains(&u))
    };
    let stage = |row: &serde_json::Value| row["stage"].as_str().unwrap_or_default().to_string();
    // The step each unfinished unit's checkpoint holds, read once per unit.
    let unfinished: std::collections::BTreeSet<String> =
        rows.iter().map(stage).filter(|s| !done(s)).collect();
    let resumed_at: std::collections::HashMap<String, Option<u64>> = unfinished
        .into_iter()
        .map(|s| {
            let step = crate::model::checkpoint::load_state(&dir.join("ckpt").join(&s))
                .ok()
                .map(|t| t.step as u64);
            (s, step)
        })
        .collect();
    let keep = |row: &serde_json::Value| {
        let stage = stage(row);
        if done(&stage) {
            return true;
        }
        match (row["step"].as_u64(), row.get("eval")) {
            (Some(step), None) => resumed_at[&stage].is_some_and(|k| step <= k),
            _ => false,
        }
    };
    let kept: Vec<&serde_json::Value> = rows.iter().filter(|r| keep(r)).collect();
    if kept.len() == rows.len() {
        return Ok(());
    }
    crate::io::write_jsonl_atomic(path, kept)
}

/// Whether the config recorded as `old` (TOML) runs as `cfg` does: equal
/// once parsed as a config file is (a key a later version added reads as
/// its default) and with `[rm]` aside, which a run never reads (so
/// `compare` can add its reward-model arm beside arms already run).
fn same_run(old: &str, cfg: &RunConfig) -> bool {
    let plain = |c: &RunConfig| RunConfig {
        rm: Default::default(),
        given: Default::default(),
        ..c.clone()
    };
    RunConfig::parse(old).is_ok_and(|o| plain(&o) == plain(cfg))
}

/// Refuses to continue a run directory with a different configuration.
fn pin_config(cfg: &RunConfig, dir: &Path) -> Result<()> {
    let path = dir.join("config.toml");
    let text = cfg.to_toml();
    if path.exists() {
        let old = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        if !same_run(&old, cfg) {
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
        Policy::load_tokenizer_as(init, cfg.tokenizer.prompt_format)?
    } else {
        fresh_tokenizer(cfg, train)?
    };
    tok.save(dir)?;
    Ok(tok)
}

/// Algorithm 1 of the paper: SFT (or a given policy), then G times Grow
/// and I Improve steps with rising τ, evaluating after every step. A unit
/// that `state.json` records as done is skipped, so a re-run resumes.
pub fn run(cfg: &RunConfig, opts: &RunOptions, device: &Device) -> Result<Vec<EvalRow>> {
    run_with_reward(cfg, opts, None, device)
}

/// [`run`] with a reward of the caller's (any [`Reward`]) in place of the
/// config's `[reward]`. A resumed run must be given the same reward: the
/// run directory pins the config, not the code.
pub fn run_with_reward(
    cfg: &RunConfig,
    opts: &RunOptions,
    reward: Option<Box<dyn Reward>>,
    device: &Device,
) -> Result<Vec<EvalRow>> {
    let mut run = Run::open(cfg, opts, reward, device)?;
    run.start()?;
    for g in 1..=cfg.rest.grow_steps {
        let Some(grown) = run.grow(g)? else {
            break; // stopped for a sharded Grow
        };
        for (i, tau) in thresholds(&cfg.rest, &sample_rewards(&grown))
            .into_iter()
            .enumerate()
        {
            run.improve(g, i + 1, &grown, tau)?;
        }
    }
    let rows = run.state.evals;
    report::plot(&rows, &run.dir.join("reward.svg"))?;
    Ok(rows)
}

/// Where `kept` came from: samples of prompt-only records of `train` (new
/// signal), or records of labeled ones (already known), with how many
/// distinct prompts each.
fn kept_from(kept: &[&Grown], train: &[Record]) -> KeptFrom {
    use std::collections::HashSet;
    let labeled: HashSet<&str> = train
        .iter()
        .filter(|r| r.target.is_some())
        .map(|r| r.id.as_str())
        .collect();
    let (mut new, mut known) = (HashSet::new(), HashSet::new());
    let mut from = KeptFrom::default();
    for g in kept {
        if labeled.contains(g.prompt_id.as_str()) || !g.origin.is_sample() {
            from.known += 1;
            known.insert(g.prompt_id.as_str());
        } else {
            from.new += 1;
            new.insert(g.prompt_id.as_str());
        }
    }
    from.new_prompts = new.len();
    from.known_prompts = known.len();
    from
}

/// The rewards of a grown set's samples (D's rows left out): what the
/// quantile thresholds are taken over.
fn sample_rewards(grown: &[Grown]) -> Vec<f64> {
    grown
        .iter()
        .filter(|r| r.origin.is_sample())
        .map(|r| r.reward)
        .collect()
}
