//! The `restlm` command line: parses, loads the config, calls the library.

//! Each verb is a file of `cli/` with its arguments.

mod cli;

use anyhow::Result;
use clap::{Parser, Subcommand};
use restlm::config::RunConfig;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "restlm",
    version,
    about = "Reinforced Self-Training (ReST) for language models, on wgpu or CPU"
)]
struct Cli {
    /// TOML run config; every field has a default (the embedded task).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// auto | wgpu | vulkan | metal | webgpu | cpu (overrides the config);
    /// `wgpu:1` or `wgpu:radeon` picks one of several GPUs.
    #[arg(long, global = true)]
    device: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// The whole ReST loop: SFT, then G × (Grow, I × Improve), resumable.
    Run(cli::run::Args),
    /// ReST against equal-step SFT, best-of-N, ReST-EM and an unfiltered
    /// control, over several seeds: prints a table, writes compare.json
    /// and compare.svg (resumable).
    Compare(cli::compare::Args),
    /// Supervised fine-tuning on the records of a JSONL file that have a target.
    Sft(cli::sft::Args),
    /// Sample N outputs per prompt and score them (append-only, resumable).
    /// With --shard, one shard of the prompts into a directory, for `merge`.
    Grow(cli::grow::Args),
    /// Check the shards of a sharded Grow and write the grown set one
    /// process would have written.
    Merge(cli::merge::Args),
    /// Fine-tune a policy on the grown records with reward ≥ τ.
    Improve(cli::improve::Args),
    /// Score a policy on held-out prompts as the loop does after every
    /// step: greedy and sampled reward, chrF and BLEU where every record has
    /// references; `--out` writes each output with its reward (JSONL).
    Eval(cli::eval::Args),
    /// Generate from a policy.
    Sample(cli::sample::Args),
    /// Write a policy as a Hugging Face model directory (config.json,
    /// model.safetensors, tokenizer.json) that `transformers` loads, or as
    /// a GGUF file that llama.cpp runs.
    Export(cli::export::Args),
    /// Training and sampling throughput on each available device.
    Bench(cli::bench::Args),
    /// Reward models: `rm train` learns one from scored outputs or pairs.
    #[command(subcommand)]
    Rm(cli::rm::Command),
}

fn main() {
    keep_freed_memory();
    if let Err(e) = real_main() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// glibc hands every free of 128 KiB or more back to the kernel (munmap, or a
/// trim of the heap), and the next tensor of that size faults its pages in
/// again and has them zeroed: with the CPU backend allocating a fresh buffer
/// per op, that was a quarter of a training step (`perf`: page faults and
/// `clear_page`). Freed memory now stays in the process for reuse; peak RSS
/// is unchanged (what a step needs at once is what it needs).
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any
    // other thread exists.
    unsafe {
        // 32 MiB is the largest mmap threshold glibc accepts on 64-bit.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    let mut cfg = match &cli.config {
        Some(p) => RunConfig::load(p)?,
        None => RunConfig::default(),
    };
    if let Some(d) = &cli.device {
        cfg.device = d.clone();
    }
    let command = cli
        .command
        .unwrap_or(Command::Run(cli::run::Args::default()));
    // The verbs that train or sample end with the process's peak memory
    // (`compare` gives each arm's in its table, `bench` each phase's).
    let report_memory = matches!(
        command,
        Command::Run(_) | Command::Sft(_) | Command::Grow(_) | Command::Improve(_)
    );
    let done = match command {
        Command::Run(a) => cli::run::run(cfg, a),
        Command::Compare(a) => cli::compare::run(cfg, a),
        Command::Sft(a) => cli::sft::run(cfg, a),
        Command::Grow(a) => cli::grow::run(cfg, a),
        Command::Merge(a) => cli::merge::run(a),
        Command::Improve(a) => cli::improve::run(cfg, a),
        Command::Eval(a) => cli::eval::run(cfg, a),
        Command::Sample(a) => cli::sample::run(cfg, a),
        Command::Export(a) => cli::export::run(cfg, a),
        Command::Bench(a) => cli::bench::run(cfg, a),
        Command::Rm(c) => cli::rm::run(cfg, c),
    };
    if let (true, Ok(()), Some(mb)) = (report_memory, &done, restlm::io::peak_rss_mb()) {
        eprintln!("peak RSS: {mb:.0} MB");
    }
    done
}
