//! `restlm eval`: a policy scored on held-out prompts as the loop scores it.

use super::{SampleReward, open_device, reward_task};
use anyhow::{Result, bail};
use restlm::config::RunConfig;
use restlm::data::read_records;
use restlm::rest;
use restlm::rest::setup::load_data;
use restlm::{Policy, reward};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    policy: PathBuf,
    /// Held-out records (JSONL); default: the config's held-out set
    /// (the embedded task's when the config names no files).
    #[arg(long)]
    data: Option<PathBuf>,
    /// The reward (default: the config's).
    #[arg(long, value_enum)]
    reward: Option<SampleReward>,
    /// A reward model's directory (repeat it for an ensemble); implies
    /// --reward model.
    #[arg(long)]
    reward_model: Vec<PathBuf>,
    /// Sampled outputs per prompt (default: the config's eval.samples).
    #[arg(long)]
    samples: Option<usize>,
    #[arg(long)]
    out: Option<PathBuf>,
}

/// `restlm eval`: a policy scored on held-out prompts as the loop scores it.
pub fn run(mut cfg: RunConfig, args: Args) -> Result<()> {
    let Args {
        policy,
        data,
        reward: reward_kind,
        reward_model,
        samples,
        out,
    } = args;
    let dev = open_device(&cfg, None)?;
    let policy = Policy::load_as(&policy, cfg.tokenizer.prompt_format, &dev)?;
    let records = match &data {
        Some(path) => read_records(path)?,
        None => load_data(&cfg)?.1,
    };
    if records.is_empty() {
        bail!("no held-out records to score");
    }
    let task = reward_task(&cfg, data.as_deref());
    let mut rc = cfg.reward.clone();
    if let Some(k) = reward_kind {
        rc.kind = k.into();
    }
    super::use_reward_models(&mut rc, reward_model);
    if let Some(n) = samples {
        cfg.eval.samples = n;
    }
    let mut reward = reward::from_config(&rc, task, &dev)?;
    reward::check_records(reward.as_ref(), &records, "held-out data")?;
    let setup = rest::setup::eval_setup(&cfg, &records);
    let (row, outputs) = restlm::eval::evaluate_outputs(&policy, &setup, reward.as_mut(), "eval")?;
    if let Some(out) = &out {
        restlm::io::write_jsonl_atomic(out, &outputs)?;
    }
    let extra: String = [("chrF", row.chrf), ("BLEU", row.bleu)]
        .iter()
        .filter_map(|(name, v)| Some(format!(", {name} {:.2}", (*v)?)))
        .collect();
    let sampled = if cfg.eval.samples == 0 {
        "not sampled".to_string()
    } else {
        format!(
            "sampled {:.2} ({} per prompt)",
            row.sampled_reward, cfg.eval.samples
        )
    };
    println!(
        "{} held-out prompts, reward {}: greedy {:.2}, {sampled}{extra}{}",
        records.len(),
        reward.name(),
        row.greedy_reward,
        out.as_ref()
            .map(|o| format!("; outputs in {}", o.display()))
            .unwrap_or_default()
    );
    Ok(())
}
