//! `restlm bench`: training and sampling throughput on each available device.

use anyhow::{Result, bail};
use restlm::config::RunConfig;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Which model shape and batch sizes: the default small model, or
    /// SmolLM2-135M's shape with random weights.
    #[arg(long, value_enum, default_value_t = BenchWorkload::Reference)]
    workload: BenchWorkload,
    /// Timed training steps (default: 20 for the reference, 4 for smollm2).
    #[arg(long)]
    steps: Option<usize>,
    /// New tokens per sampled row (default: 48 for the reference, 32 for smollm2).
    #[arg(long)]
    sample_new: Option<usize>,
    /// Rows decoded together (default: the workload's, 64 or 32).
    #[arg(long)]
    sample_rows: Option<usize>,
    /// Prompt tokens per sampled row (default: the workload's).
    #[arg(long)]
    sample_prompt: Option<usize>,
    /// Also write the workload and figures as JSON (what
    /// scripts/bench_torch.py reads to run the same workload).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Skip the per-step sampling micro-benchmark.
    #[arg(long)]
    no_sampling_step: bool,
    /// Skip sampling without the KV cache.
    #[arg(long)]
    no_reforward: bool,
    /// Run through burn's ops only: log-softmax and gather instead of the
    /// fused log-prob kernels, and burn's RMSNorm, SiLU · up, rotary
    /// embedding and (on the CPU) attention instead of the fused ones, in
    /// training and decoding alike (the before of an A/B).
    #[arg(long)]
    unfused: bool,
    /// Decode through burn's ops on the CPU instead of the host decoder
    /// (the before of an A/B; the host decoder takes a quantised base).
    #[arg(long)]
    burn_decode: bool,
    /// Train LoRA adapters of this rank (alpha = 2 × rank) on a frozen
    /// base instead of every parameter.
    #[arg(long)]
    lora: Option<usize>,
    /// Train with gradient checkpointing (each layer re-run in the backward pass).
    #[arg(long)]
    checkpointing: bool,
    /// With --lora: hold the frozen base's projections as f32, q8_0 or
    /// q4_0 blocks.
    #[arg(long, default_value = "f32")]
    base_dtype: restlm::model::BaseDtype,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum BenchWorkload {
    Reference,
    Smollm2,
    /// SmolLM2's shape sampled as a Grow samples: 16 prompts × 4 samples.
    Smollm2Grow,
    /// Qwen2-0.5B's shape (151 936-token vocabulary), training 4 × 256.
    #[value(name = "qwen2-0.5b")]
    Qwen2_0_5b,
    /// Qwen2-1.5B's shape, training 4 × 256.
    #[value(name = "qwen2-1.5b")]
    Qwen2_1_5b,
}

/// `restlm bench`: training and sampling throughput on each available device.
pub fn run(cfg: RunConfig, args: Args) -> Result<()> {
    let Args {
        workload,
        steps,
        sample_new,
        sample_rows,
        sample_prompt,
        json,
        no_sampling_step,
        no_reforward,
        unfused,
        burn_decode,
        lora,
        checkpointing,
        base_dtype,
    } = args;
    restlm::ops::use_burn_ops(restlm::ops::BurnOps {
        layers: unfused,
        logprob: unfused,
        decoder: burn_decode,
    });
    let mut work = match workload {
        BenchWorkload::Reference => restlm::bench::Workload::reference(&cfg.model),
        BenchWorkload::Smollm2 => restlm::bench::Workload::smollm2(),
        BenchWorkload::Smollm2Grow => restlm::bench::Workload::smollm2_grow(),
        BenchWorkload::Qwen2_0_5b => restlm::bench::Workload::qwen2_0_5b(),
        BenchWorkload::Qwen2_1_5b => restlm::bench::Workload::qwen2_1_5b(),
    };
    work.sample_rows = sample_rows.unwrap_or(work.sample_rows).max(1);
    work.sample_n = work.sample_n.min(work.sample_rows);
    work.sample_prompt = sample_prompt.unwrap_or(work.sample_prompt).max(1);
    work.train_steps = steps.unwrap_or(work.train_steps).max(1);
    work.sample_new = sample_new.unwrap_or(work.sample_new).max(1);
    work.reforward &= !no_reforward;
    work.gradient_checkpointing = checkpointing;
    if lora.is_none() && !base_dtype.is_f32() {
        bail!(
            "--base-dtype {base_dtype:?}: a quantised base is frozen; train adapters with --lora RANK"
        );
    }
    work.model.lora = lora.map(|rank| restlm::model::LoraConfig {
        rank,
        alpha: 2.0 * rank as f64,
        base: None,
        base_dtype,
    });
    if work.sample_prompt + work.sample_new > work.model.max_seq_len {
        bail!(
            "--sample-new {}: prompts of {} tokens leave room for at most {} new tokens",
            work.sample_new,
            work.sample_prompt,
            work.model.max_seq_len - work.sample_prompt
        );
    }
    Ok(restlm::bench::table::print(
        &cfg.device,
        &work,
        json.as_deref(),
        !no_sampling_step,
    )?)
}
