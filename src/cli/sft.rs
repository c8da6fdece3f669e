//! `restlm sft`: supervised fine-tuning on the records with a target.

use super::{finetune_defaults, open_device};
use anyhow::{Context, Result, bail};
use restlm::config::RunConfig;
use restlm::data::encode_records;
use restlm::report::Metrics;
use restlm::rest;
use restlm::rest::setup::load_data;
use restlm::train::Stage;
use restlm::{Policy, train};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Fine-tune this policy (restlm checkpoint or Hugging Face model
    /// directory) instead of a fresh model.
    #[arg(long)]
    init: Option<PathBuf>,
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long)]
    eval: Option<PathBuf>,
    #[arg(long)]
    out: PathBuf,
}

/// `restlm sft`: supervised fine-tuning on the records with a target.
pub fn run(mut cfg: RunConfig, args: Args) -> Result<()> {
    let Args {
        init,
        data,
        eval,
        out,
    } = args;
    let dev = open_device(&cfg, Some((cfg.sft.steps, 0)))?;
    cfg.data.train = data.or(cfg.data.train);
    cfg.data.eval = eval.or(cfg.data.eval);
    let (train_set, eval_set) = load_data(&cfg)?;
    let init = init.or(cfg.init.clone());
    let mut policy = match &init {
        Some(dir) => {
            finetune_defaults(&mut cfg);
            Policy::load_base(dir, cfg.tokenizer.prompt_format, cfg.lora.as_ref(), &dev)
                .with_context(|| format!("loading --init {}", dir.display()))?
        }
        None => {
            let tok = rest::setup::fresh_tokenizer(&cfg, &train_set)?;
            cfg.model.vocab_size = tok.vocab_size();
            dev.seed(cfg.seed);
            Policy::new(cfg.model.clone(), tok, &dev)
        }
    };
    if let Some(l) = &cfg.lora {
        policy = policy.with_lora_on(l, init.as_deref(), cfg.seed)?;
    }
    let (mp, ms) = (cfg.data.max_prompt_tokens, policy.cfg.max_seq_len);
    let enc = |rs: &[restlm::data::Record]| encode_records(&policy.tok, rs, mp, ms);
    let (data, cut) = enc(&train_set)?;
    cut.warn("training data", data.len());
    if data.is_empty() {
        bail!(
            "no training record has a `target`: SFT needs demonstrations \
             (prompt-only records are for Grow and evaluation)"
        );
    }
    let (held, _) = enc(&eval_set)?;
    let mut metrics = Metrics::to_file(&out.join("metrics.jsonl"))?;
    let tok = policy.tok.clone();
    let stage = Stage::standalone("sft", &cfg.sft, cfg.seed, &out, &tok);
    policy.fine_tune(&data, &held, stage, &mut metrics)?;
    let loss = train::eval_loss(
        &policy.model,
        &policy.cfg,
        &held,
        cfg.sft.batch_size,
        policy.tok.pad,
    );
    if held.is_empty() {
        println!(
            "policy in {} (no held-out record has a target to score the loss on)",
            out.display()
        );
    } else {
        println!("held-out loss {loss:.4}; policy in {}", out.display());
    }
    Ok(())
}
