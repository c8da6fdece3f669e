//! `restlm improve`: fine-tuning on the grown records with reward ≥ τ.

use super::open_device;
use anyhow::{Result, bail};
use restlm::Policy;
use restlm::config::{LossKind, RunConfig};
use restlm::model::checkpoint::TrainState;
use restlm::report::Metrics;
use restlm::rest;
use restlm::train::Stage;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    policy: PathBuf,
    #[arg(long)]
    grown: PathBuf,
    #[arg(long)]
    threshold: f64,
    #[arg(long, value_enum)]
    loss: Option<Loss>,
    #[arg(long)]
    out: PathBuf,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Loss {
    Bc,
    RewardWeighted,
}

/// `restlm improve`: fine-tuning on the grown records with reward ≥ τ.
pub fn run(cfg: RunConfig, args: Args) -> Result<()> {
    let Args {
        policy,
        grown,
        threshold,
        loss,
        out,
    } = args;
    let dev = open_device(&cfg, Some((cfg.improve.steps, 0)))?;
    let base = policy;
    let mut policy =
        Policy::load_base(&base, cfg.tokenizer.prompt_format, cfg.lora.as_ref(), &dev)?;
    if let Some(l) = &cfg.lora {
        policy = policy.with_lora_on(l, Some(&base), cfg.seed)?;
    }
    let rows: Vec<rest::Grown> = restlm::io::read_jsonl(&grown, false)?;
    let kept = rest::filter(&rows, threshold);
    println!(
        "τ = {threshold}: keeps {} of {} records",
        kept.len(),
        rows.len()
    );
    if kept.is_empty() {
        bail!(
            "no record in {} has reward ≥ {threshold}: nothing to train on (lower the threshold)",
            grown.display()
        );
    }
    let loss = match loss {
        Some(Loss::Bc) => LossKind::Bc,
        Some(Loss::RewardWeighted) => LossKind::RewardWeighted,
        None => cfg.rest.loss,
    };
    let (mp, ms) = (cfg.data.max_prompt_tokens, policy.cfg.max_seq_len);
    let (data, cut) = rest::improve_examples(&policy.tok, &kept, loss, mp, ms)?;
    cut.warn("improve", data.len());
    let mut metrics = Metrics::to_file(&out.join("metrics.jsonl"))?;
    let tok = policy.tok.clone();
    let stage = Stage::standalone("improve", &cfg.improve, cfg.seed, &out, &tok);
    policy.fine_tune(&data, &[], stage, &mut metrics)?;
    policy.save(
        &out,
        &TrainState {
            step: cfg.improve.steps,
            total_steps: cfg.improve.steps,
        },
    )?;
    println!("improved policy in {}", out.display());
    Ok(())
}
