//! `restlm grow`: N scored samples per prompt, whole or one shard.

use super::{grow_decode_steps, open_device, reward_task};
use anyhow::{Result, bail};
use restlm::config::RunConfig;
use restlm::data::read_records;
use restlm::rest;
use restlm::rest::setup::load_data;
use restlm::{Policy, reward};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, required_unless_present = "run")]
    policy: Option<PathBuf>,
    #[arg(long)]
    data: Option<PathBuf>,
    /// The grown set (JSONL); with --shard, the directory of the shards.
    #[arg(long, required_unless_present = "run")]
    out: Option<PathBuf>,
    /// Grow the next step of the run in this directory (stopped by
    /// `run --stop-before-grow`): its config, policy and grow step; the
    /// shards go to DIR/grow/g<N>.shards.
    #[arg(long, conflicts_with_all = ["policy", "data", "out", "n", "grow_step"])]
    run: Option<PathBuf>,
    #[arg(long)]
    n: Option<usize>,
    #[arg(long, default_value_t = 1)]
    grow_step: usize,
    /// Grow shard i of N (the records at positions ≡ i mod N). Without a
    /// value: from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT (a Slurm job
    /// array) or JOB_COMPLETION_INDEX and --shards (a Kubernetes Indexed Job).
    #[arg(long, value_name = "I/N", num_args = 0..=1, default_missing_value = "")]
    shard: Option<String>,
    /// The number of shards, where the environment gives only the index.
    #[arg(long)]
    shards: Option<usize>,
}

/// `restlm grow`: N scored samples per prompt, whole or one shard.
pub fn run(mut cfg: RunConfig, args: Args) -> Result<()> {
    let Args {
        policy,
        data,
        out,
        n,
        grow_step,
        shard,
        shards,
        run,
    } = args;
    let dev = open_device(
        &cfg,
        Some((
            0,
            grow_decode_steps(&cfg, n.unwrap_or(cfg.rest.samples_per_prompt)),
        )),
    )?;
    let (policy_path, out, grow_step) =
        what_to_grow(&mut cfg, run.as_deref(), policy, out, grow_step)?;
    // A run's Grow always writes shard files (0/1 without --shard),
    // which `merge --run` turns into the run's grown set.
    let asked = shard_asked(shard.as_deref(), shards)?;
    let sharded = asked.is_some() || run.is_some();
    let shard = asked.unwrap_or(rest::grow::Shard::WHOLE);
    let policy = Policy::load_as(&policy_path, cfg.tokenizer.prompt_format, &dev)?;
    // Grow needs only the prompts (and references): no held-out set.
    let train_set = match data.clone().or(cfg.data.train.clone()) {
        Some(path) => read_records(&path)?,
        None => load_data(&cfg)?.0,
    };
    let task = reward_task(&cfg, data.as_deref());
    let mut reward = reward::from_config(&cfg.reward, task, &dev)?;
    reward::check_records(reward.as_ref(), &train_set, "grow data")?;
    let label = format!("grow {shard}");
    let mut setup = rest::setup::grow_setup(&cfg, grow_step, &label);
    setup.shard = shard;
    if let Some(n) = n {
        setup.samples_per_prompt = n;
    }
    if setup.samples_per_prompt == 0 && !setup.include_dataset {
        bail!("--n 0 with rest.include_dataset = false grows nothing");
    }
    let rows = if sharded {
        let settings = format!("{:?}", cfg.reward);
        match rest::shard::grow_shard(
            &policy,
            &policy_path,
            &train_set,
            reward.as_mut(),
            &setup,
            &settings,
            &out,
        )? {
            rest::shard::ShardOutcome::Grown(rows) => rows,
            rest::shard::ShardOutcome::AlreadyDone(m) => {
                println!(
                    "shard {shard} is already complete ({} rows) in {}: nothing to do",
                    m.rows,
                    rest::shard::shard_file(&out, shard).display()
                );
                return Ok(());
            }
        }
    } else {
        rest::grow(&policy, &train_set, reward.as_mut(), &setup, &out)?
    };
    let written = if sharded {
        rest::shard::shard_file(&out, shard)
    } else {
        out.clone()
    };
    println!("{} → {}", grown_summary(&rows), written.display());
    Ok(())
}

/// The policy, the output and the grow step: a run's pending Grow (whose
/// config replaces `cfg`), or the ones given.
fn what_to_grow(
    cfg: &mut RunConfig,
    run: Option<&Path>,
    policy: Option<PathBuf>,
    out: Option<PathBuf>,
    grow_step: usize,
) -> Result<(PathBuf, PathBuf, usize)> {
    match (run, policy, out) {
        (Some(run), ..) => {
            let p = rest::state::pending_grow(run)?;
            *cfg = p.cfg;
            eprintln!(
                "grow step {} of {} from {}",
                p.step,
                run.display(),
                p.policy.display()
            );
            Ok((p.policy, p.shards, p.step))
        }
        (None, Some(policy), Some(out)) => Ok((policy, out, grow_step)),
        _ => bail!("grow needs --policy and --out, or --run"),
    }
}

/// The shard `--shard [I/N]` and `--shards N` ask for (from the
/// environment when `--shard` has no value); None when neither is given.
fn shard_asked(shard: Option<&str>, shards: Option<usize>) -> Result<Option<rest::grow::Shard>> {
    if shard.is_none() && shards.is_none() {
        return Ok(None);
    }
    let explicit = shard.filter(|s| !s.is_empty());
    let env = |k: &str| std::env::var(k).ok();
    Ok(Some(rest::shard::shard_from_env(explicit, shards, &env)?))
}

/// "N samples, mean reward R" of a grown set (or that it holds D alone).
fn grown_summary(rows: &[rest::Grown]) -> String {
    let s: Vec<f64> = rows
        .iter()
        .filter(|r| r.origin.is_sample())
        .map(|r| r.reward)
        .collect();
    if s.is_empty() {
        return "0 samples, D's rows only".to_string();
    }
    let mean = s.iter().sum::<f64>() / s.len() as f64;
    format!("{} samples, mean reward {mean:.2}", s.len())
}
