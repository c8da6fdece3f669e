//! `restlm run`: the whole ReST loop, resumable.

use super::{finetune_defaults, loop_work, open_device};
use anyhow::Result;
use restlm::config::RunConfig;
use restlm::rest;
use restlm::rest::run::RunOptions;
use restlm::{report, reward};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args, Default)]
pub struct Args {
    #[arg(long)]
    run_dir: Option<PathBuf>,
    /// Start from this policy instead of SFT: a restlm checkpoint or a
    /// Hugging Face model directory (Llama, Qwen2, GPT-2).
    #[arg(long)]
    init: Option<PathBuf>,
    /// Stop at a Grow whose grown set is not there yet, for a sharded
    /// Grow elsewhere (`grow --run DIR --shard`, `merge --run DIR`), and
    /// exit with status 3; running again continues from the merged set.
    #[arg(long)]
    stop_before_grow: bool,
}

/// `run --stop-before-grow`'s exit status when a Grow waits (0: the run is
/// complete), for job scripts to branch on.
const STOPPED_BEFORE_GROW: i32 = 3;

/// `restlm run`: the whole loop, resumable; with `--stop-before-grow`, exits 3 at a Grow left to shards.
pub fn run(mut cfg: RunConfig, args: Args) -> Result<()> {
    let Args {
        run_dir,
        init,
        stop_before_grow,
    } = args;
    let dev = open_device(&cfg, Some(loop_work(&cfg)))?;
    if let Some(d) = run_dir {
        cfg.run_dir = d;
    }
    let init = init.or(cfg.init.clone());
    if init.is_some() {
        finetune_defaults(&mut cfg);
    }
    let t0 = Instant::now();
    let rows = rest::run(
        &cfg,
        &RunOptions {
            init,
            stop_before_grow,
            ..RunOptions::default()
        },
        &dev,
    )?;
    if stop_before_grow && let Ok(p) = rest::state::pending_grow(&cfg.run_dir) {
        eprintln!(
            "stopped before Grow step {} (policy {}): grow it with `restlm grow --run {} \
             --shard i/N` for each shard, `restlm merge --run {}`, then run again",
            p.step,
            p.policy.display(),
            cfg.run_dir.display(),
            cfg.run_dir.display()
        );
        std::process::exit(STOPPED_BEFORE_GROW);
    }
    // The run checked the reward against the data; only its names here.
    let reward = reward::from_config(&cfg.reward, cfg.data.embedded_task(), &dev)?;
    let second = reward.second_metric().map(|m| m.name);
    println!("\nheld-out reward `{}`", reward.name());
    println!("{}", report::table(&rows, second));
    println!(
        "run dir {}: metrics.jsonl, reward.svg, best/ ({:.0} s)",
        cfg.run_dir.display(),
        t0.elapsed().as_secs_f64()
    );
    println!(
        "is it better than more SFT? `restlm compare` runs this config against \
         equal-step SFT, best-of-N and ReST-EM over 3 seeds"
    );
    Ok(())
}
