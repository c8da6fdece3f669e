//! `restlm merge`: the shards of a sharded Grow, checked and merged.

use anyhow::{Result, bail};
use restlm::rest;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The shard directory (`grow --shard … --out DIR`).
    #[arg(long, required_unless_present = "run")]
    dir: Option<PathBuf>,
    /// The merged grown set (JSONL), written atomically.
    #[arg(long, required_unless_present = "run")]
    out: Option<PathBuf>,
    /// Merge the pending Grow of the run in this directory into the
    /// grown set the run reads next.
    #[arg(long, conflicts_with_all = ["dir", "out"])]
    run: Option<PathBuf>,
}

/// `restlm merge`: the shards of a sharded Grow checked and merged (files only: no device).
pub fn run(args: Args) -> Result<()> {
    let Args { dir, out, run } = args;
    let (dir, out) = match (run, dir, out) {
        (Some(run), ..) => {
            let p = rest::state::pending_grow(&run)?;
            (p.shards, p.grown)
        }
        (None, Some(dir), Some(out)) => (dir, out),
        _ => bail!("merge needs --dir and --out, or --run"),
    };
    let m = rest::shard::merge(&dir, &out)?;
    println!(
        "{} shards, {} prompts, {} rows → {}",
        m.shards,
        m.prompts,
        m.rows,
        out.display()
    );
    Ok(())
}
