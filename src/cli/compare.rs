//! `restlm compare`: ReST against its baselines over several seeds.

use super::{loop_work, open_device};
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
}

/// `restlm compare`: ReST against its baselines over several seeds.
pub fn run(cfg: RunConfig, args: Args) -> Result<()> {
    let Args { seeds, out } = args;
    let dev = open_device(&cfg, Some(loop_work(&cfg)))?;
    let c = rest::compare::compare(&cfg, seeds, &out, &dev)?;
    println!("\n{}", rest::compare::table(&c));
    println!(
        "{}: compare.json, compare.svg, one run directory per arm and seed",
        out.display()
    );
    Ok(())
}
