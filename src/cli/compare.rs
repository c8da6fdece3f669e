//! `restlm compare`: ReST against its baselines over several seeds.

use super::{finetune_defaults, loop_work, open_device};
use anyhow::Result;
use restlm::config::RunConfig;
use restlm::rest;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 3)]
    seeds: usize,
    #[arg(long, default_value = "runs/compare")]
    out: PathBuf,
    /// Start from this pretrained policy (a GGUF file, a Hugging Face
    /// model directory or a restlm checkpoint; the config's `init` when
    /// not given): every arm continues its SFT, and a `base` arm scores it
    /// untouched.
    #[arg(long)]
    init: Option<PathBuf>,
}

/// `restlm compare`: ReST against its baselines over several seeds.
pub fn run(mut cfg: RunConfig, args: Args) -> Result<()> {
    let Args { seeds, out, init } = args;
    if init.is_some() {
        cfg.init = init;
    }
    if cfg.init.is_some() {
        finetune_defaults(&mut cfg);
    }
    let dev = open_device(&cfg, Some(loop_work(&cfg)))?;
    let c = rest::compare::compare(&cfg, seeds, &out, &dev)?;
    println!("\n{}", rest::compare::table(&c));
    println!(
        "{}: compare.json, compare.svg, one run directory per arm and seed",
        out.display()
    );
    Ok(())
}
