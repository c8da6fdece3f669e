//! The `restlm` command line: parses, loads the config, calls the library.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use restlm::burn::module::Module;
use restlm::config::{LossKind, RewardKind, RunConfig};
use restlm::data::{encode_records, read_records};
use restlm::model::checkpoint::TrainState;
use restlm::report::{self, Metrics};
use restlm::rest::run::{RunOptions, load_data, sample_options};
use restlm::reward::{self, Item};
use restlm::sample::PickOptions;
use restlm::train::{self, Stage};
use restlm::{Policy, device, rest};
use std::path::{Path, PathBuf};
use std::time::Instant;

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
    Run(RunArgs),
    /// ReST against equal-step SFT, best-of-N, ReST-EM and an unfiltered
    /// control, over several seeds: prints a table, writes compare.json
    /// and compare.svg (resumable).
    Compare(CompareArgs),
    /// Supervised fine-tuning on the records of a JSONL file that have a target.
    Sft(SftArgs),
    /// Sample N outputs per prompt and score them (append-only, resumable).
    /// With --shard, one shard of the prompts into a directory, for `merge`.
    Grow(GrowArgs),
    /// Check the shards of a sharded Grow and write the grown set one
    /// process would have written.
    Merge(MergeArgs),
    /// Fine-tune a policy on the grown records with reward ≥ τ.
    Improve(ImproveArgs),
    /// Score a policy on held-out prompts as the loop does after every
    /// step: greedy and sampled reward, chrF and BLEU where every record has
    /// references; `--out` writes each output with its reward (JSONL).
    Eval(EvalArgs),
    /// Generate from a policy.
    Sample(SampleArgs),
    /// Write a policy as a Hugging Face model directory (config.json,
    /// model.safetensors, tokenizer.json) that `transformers` loads, or as
    /// a GGUF file that llama.cpp runs.
    Export(ExportArgs),
    /// Training and sampling throughput on each available device.
    Bench(BenchArgs),
}

#[derive(clap::Args, Default)]
struct RunArgs {
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

#[derive(clap::Args)]
struct CompareArgs {
    #[arg(long, default_value_t = 3)]
    seeds: usize,
    #[arg(long, default_value = "runs/compare")]
    out: PathBuf,
}

#[derive(clap::Args)]
struct SftArgs {
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

#[derive(clap::Args)]
struct GrowArgs {
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

#[derive(clap::Args)]
struct MergeArgs {
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

#[derive(clap::Args)]
struct ImproveArgs {
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

#[derive(clap::Args)]
struct EvalArgs {
    #[arg(long)]
    policy: PathBuf,
    /// Held-out records (JSONL); default: the config's held-out set
    /// (the embedded task's when the config names no files).
    #[arg(long)]
    data: Option<PathBuf>,
    /// The reward (default: the config's).
    #[arg(long, value_enum)]
    reward: Option<SampleReward>,
    /// Sampled outputs per prompt (default: the config's eval.samples).
    #[arg(long)]
    samples: Option<usize>,
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
struct SampleArgs {
    #[arg(long)]
    policy: PathBuf,
    #[arg(long, required = true)]
    prompt: Vec<String>,
    #[arg(long, default_value_t = 1)]
    n: usize,
    #[arg(long)]
    temperature: Option<f32>,
    #[arg(long)]
    top_k: Option<usize>,
    #[arg(long)]
    top_p: Option<f32>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Draw N samples and print the best one under --reward.
    #[arg(long)]
    best_of: Option<usize>,
    /// chrf | bleu | exact | external (scored against --reference).
    #[arg(long, value_enum, default_value = "chrf")]
    reward: SampleReward,
    #[arg(long)]
    reference: Vec<String>,
}

#[derive(clap::Args)]
struct ExportArgs {
    #[arg(long)]
    policy: PathBuf,
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = ExportFormat::Hf)]
    format: ExportFormat,
    /// GGUF tensor encoding: f32, f16 or q8_0 (norms stay f32).
    #[arg(long, default_value = "f16")]
    encoding: restlm::model::gguf::Encoding,
}

#[derive(clap::Args)]
struct BenchArgs {
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
    /// Train LoRA adapters of this rank (alpha = 2 × rank) on a frozen
    /// base instead of every parameter.
    #[arg(long)]
    lora: Option<usize>,
    /// Train with gradient checkpointing (recompute cheap activations).
    #[arg(long)]
    checkpointing: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ExportFormat {
    Hf,
    Gguf,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum BenchWorkload {
    Reference,
    Smollm2,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SampleReward {
    Chrf,
    Bleu,
    Exact,
    External,
}

impl From<SampleReward> for RewardKind {
    fn from(r: SampleReward) -> Self {
        match r {
            SampleReward::Chrf => RewardKind::Chrf,
            SampleReward::Bleu => RewardKind::Bleu,
            SampleReward::Exact => RewardKind::Exact,
            SampleReward::External => RewardKind::External,
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Loss {
    Bc,
    RewardWeighted,
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
    match cli.command.unwrap_or(Command::Run(RunArgs::default())) {
        Command::Run(a) => run(cfg, a),
        Command::Compare(a) => compare(cfg, a),
        Command::Sft(a) => sft(cfg, a),
        Command::Grow(a) => grow(cfg, a),
        Command::Merge(a) => merge(a),
        Command::Improve(a) => improve(cfg, a),
        Command::Eval(a) => eval(cfg, a),
        Command::Sample(a) => sample(cfg, a),
        Command::Export(a) => export(cfg, a),
        Command::Bench(a) => bench_cmd(cfg, a),
    }
}

/// The device for a command: `--device`/the config's, where `auto` weighs
/// the devices by the command's work (training steps, decoding steps)
/// when it has much.
fn open_device(
    cfg: &RunConfig,
    work: Option<(usize, usize)>,
) -> Result<restlm::burn::prelude::Device> {
    let selected = match work {
        Some((train_steps, decode_steps)) => device::select_for(
            &cfg.device,
            &cfg.model,
            &device::Plan {
                train_steps,
                train_batch: cfg.sft.batch_size,
                decode_steps,
                sample_rows: cfg.sample.batch_size,
            },
        )?,
        None => device::select(&cfg.device)?,
    };
    eprintln!("device {}", selected.description);
    Ok(selected.device)
}

/// `restlm run`: the whole loop, resumable; with `--stop-before-grow`, exits 3 at a Grow left to shards.
fn run(mut cfg: RunConfig, args: RunArgs) -> Result<()> {
    let RunArgs {
        run_dir,
        init,
        stop_before_grow,
    } = args;
    let dev = open_device(&cfg, Some(loop_work(&cfg)))?;
    if let Some(d) = run_dir {
        cfg.run_dir = d;
    }
    if init.is_some() {
        finetune_defaults(&mut cfg);
    }
    let t0 = Instant::now();
    let rows = rest::run(
        &cfg,
        &RunOptions {
            init,
            stop_before_grow,
        },
        &dev,
    )?;
    if stop_before_grow && let Ok(p) = rest::run::pending_grow(&cfg.run_dir) {
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
    let reward = reward::from_config(&cfg.reward, cfg.data.embedded_task())?;
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

/// `restlm compare`: ReST against its baselines over several seeds.
fn compare(cfg: RunConfig, args: CompareArgs) -> Result<()> {
    let CompareArgs { seeds, out } = args;
    let dev = open_device(&cfg, Some(loop_work(&cfg)))?;
    let c = rest::compare::compare(&cfg, seeds, &out, &dev)?;
    println!("\n{}", rest::compare::table(&c));
    println!(
        "{}: compare.json, compare.svg, one run directory per arm and seed",
        out.display()
    );
    Ok(())
}

/// `restlm sft`: supervised fine-tuning on the records with a target.
fn sft(mut cfg: RunConfig, args: SftArgs) -> Result<()> {
    let SftArgs {
        init,
        data,
        eval,
        out,
    } = args;
    let dev = open_device(&cfg, Some((cfg.sft.steps, 0)))?;
    cfg.data.train = data.or(cfg.data.train);
    cfg.data.eval = eval.or(cfg.data.eval);
    let (train_set, eval_set) = load_data(&cfg)?;
    let mut policy = match &init {
        Some(dir) => {
            finetune_defaults(&mut cfg);
            let mut p = Policy::load(dir, &dev)
                .with_context(|| format!("loading --init {}", dir.display()))?;
            if let Some(f) = cfg.tokenizer.prompt_format {
                p.tok = p.tok.with_format(f)?;
            }
            p
        }
        None => {
            let tok = rest::run::fresh_tokenizer(&cfg, &train_set)?;
            cfg.model.vocab_size = tok.vocab_size();
            dev.seed(cfg.seed);
            Policy::new(cfg.model.clone(), tok, &dev)
        }
    };
    if let Some(l) = &cfg.lora {
        policy = policy.with_lora_on(l, init.as_deref())?;
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

/// `restlm grow`: N scored samples per prompt, whole or one shard.
fn grow(mut cfg: RunConfig, args: GrowArgs) -> Result<()> {
    let GrowArgs {
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
    let (policy_path, out, grow_step) = match (&run, policy, out) {
        (Some(run), ..) => {
            let p = rest::run::pending_grow(run)?;
            cfg = p.cfg;
            eprintln!(
                "grow step {} of {} from {}",
                p.step,
                run.display(),
                p.policy.display()
            );
            (p.policy, p.shards, p.step)
        }
        (None, Some(policy), Some(out)) => (policy, out, grow_step),
        _ => bail!("grow needs --policy and --out, or --run"),
    };
    // A run's Grow always writes shard files (0/1 without --shard),
    // which `merge --run` turns into the run's grown set.
    let asked = shard_asked(shard.as_deref(), shards)?;
    let sharded = asked.is_some() || run.is_some();
    let shard = asked.unwrap_or(rest::grow::Shard::WHOLE);
    let policy = Policy::load(&policy_path, &dev)?;
    // Grow needs only the prompts (and references): no held-out set.
    let train_set = match data.clone().or(cfg.data.train.clone()) {
        Some(path) => read_records(&path)?,
        None => load_data(&cfg)?.0,
    };
    let task = reward_task(&cfg, data.as_deref());
    let mut reward = reward::from_config(&cfg.reward, task)?;
    reward::check_records(reward.as_ref(), &train_set, "grow data")?;
    let label = format!("grow {shard}");
    let mut setup = rest::run::grow_setup(&cfg, grow_step, &label);
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

/// `restlm eval`: a policy scored on held-out prompts as the loop scores it.
fn eval(mut cfg: RunConfig, args: EvalArgs) -> Result<()> {
    let EvalArgs {
        policy,
        data,
        reward: reward_kind,
        samples,
        out,
    } = args;
    let dev = open_device(&cfg, None)?;
    let policy = Policy::load(&policy, &dev)?;
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
    if let Some(n) = samples {
        cfg.eval.samples = n;
    }
    let mut reward = reward::from_config(&rc, task)?;
    reward::check_records(reward.as_ref(), &records, "held-out data")?;
    let setup = rest::run::eval_setup(&cfg, &records);
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

/// `restlm improve`: fine-tuning on the grown records with reward ≥ τ.
fn improve(cfg: RunConfig, args: ImproveArgs) -> Result<()> {
    let ImproveArgs {
        policy,
        grown,
        threshold,
        loss,
        out,
    } = args;
    let dev = open_device(&cfg, Some((cfg.improve.steps, 0)))?;
    let base = policy;
    let mut policy = Policy::load(&base, &dev)?;
    if let Some(l) = &cfg.lora {
        policy = policy.with_lora_on(l, Some(&base))?;
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

/// `restlm sample`: completions of prompts, or the best of N under a reward.
fn sample(cfg: RunConfig, args: SampleArgs) -> Result<()> {
    let SampleArgs {
        policy,
        prompt,
        n,
        temperature,
        top_k,
        top_p,
        seed,
        best_of,
        reward: reward_kind,
        reference,
    } = args;
    let dev = open_device(&cfg, None)?;
    let policy = Policy::load(&policy, &dev)?;
    let mut opts = sample_options(&cfg, seed);
    opts.pick = PickOptions {
        temperature: temperature.unwrap_or(opts.pick.temperature),
        top_k: top_k.unwrap_or(opts.pick.top_k),
        top_p: top_p.unwrap_or(opts.pick.top_p),
    };
    let draws = best_of.unwrap_or(n);
    let prompts: Vec<&str> = prompt.iter().map(String::as_str).collect();
    // One request decodes only its own rows. Grow and evaluation keep every
    // batch at `batch_size` rows (shapes compiled once on a GPU, sharded
    // runs equal to whole ones); padding one prompt to 64 rows made it 64
    // times the work.
    opts.batch_size = opts.batch_size.min(prompts.len() * draws).max(1);
    let out = policy.complete(&prompts, draws, cfg.data.max_prompt_tokens, &opts)?;
    let mut scorer = match best_of {
        Some(_) => {
            if reference.len() != prompt.len() {
                bail!(
                    "--best-of needs one --reference per --prompt ({} prompts, {} references)",
                    prompt.len(),
                    reference.len()
                );
            }
            let mut rc = cfg.reward.clone();
            rc.kind = reward_kind.into();
            Some(reward::from_config(&rc, None)?)
        }
        None => None,
    };
    for (i, (p, row)) in prompts.iter().zip(&out).enumerate() {
        println!("> {p}");
        match scorer.as_mut() {
            Some(r) => {
                let record = restlm::data::Record::labeled("", p.to_string(), reference[i].clone());
                let items: Vec<Item> = row.iter().map(|(s, _)| Item::of(&record, s)).collect();
                let scores = reward::score_all(r.as_mut(), &items, cfg.reward.batch_size)?;
                let best = (0..scores.len())
                    .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
                    .context("no samples")?;
                println!(
                    "{}\t(best of {draws}, {} {:.2})",
                    row[best].0,
                    r.name(),
                    scores[best]
                );
            }
            None => {
                for (text, g) in row {
                    println!("{text}\t(log-prob {:.2})", g.logprob);
                }
            }
        }
    }
    Ok(())
}

/// `restlm export`: a Hugging Face directory or a GGUF file.
fn export(cfg: RunConfig, args: ExportArgs) -> Result<()> {
    let ExportArgs {
        policy,
        out,
        format,
        encoding,
    } = args;
    let dev = open_device(&cfg, None)?;
    match format {
        ExportFormat::Gguf => {
            let p = Policy::load(&policy, &dev)?;
            p.export_gguf(&out, encoding)?;
            println!(
                "{:?} model ({} parameters, {encoding:?}) written to {}; run it with \
             llama-cli -m {}",
                p.cfg.arch,
                p.model.num_params(),
                out.display(),
                out.display()
            );
        }
        ExportFormat::Hf => {
            let p = Policy::load(&policy, &dev)?;
            p.export_hf(&out)?;
            println!(
                "{:?} model ({} parameters) written to {}; load it with \
             AutoModelForCausalLM.from_pretrained({:?})",
                p.cfg.arch,
                p.model.num_params(),
                out.display(),
                out.display().to_string()
            );
        }
    }
    Ok(())
}

/// `restlm bench`: training and sampling throughput on each available device.
fn bench_cmd(cfg: RunConfig, args: BenchArgs) -> Result<()> {
    let BenchArgs {
        workload,
        steps,
        sample_new,
        json,
        no_sampling_step,
        no_reforward,
        unfused,
        lora,
        checkpointing,
    } = args;
    restlm::sample::kernels::set_fused_training(!unfused);
    restlm::model::fused::set_enabled(!unfused);
    let mut work = match workload {
        BenchWorkload::Reference => restlm::bench::Workload::reference(&cfg.model),
        BenchWorkload::Smollm2 => restlm::bench::Workload::smollm2(),
    };
    work.train_steps = steps.unwrap_or(work.train_steps).max(1);
    work.sample_new = sample_new.unwrap_or(work.sample_new).max(1);
    work.reforward &= !no_reforward;
    work.gradient_checkpointing = checkpointing;
    work.model.lora = lora.map(|rank| restlm::model::LoraConfig {
        rank,
        alpha: 2.0 * rank as f64,
        base: None,
    });
    if work.sample_prompt + work.sample_new > work.model.max_seq_len {
        bail!(
            "--sample-new {}: prompts of {} tokens leave room for at most {} new tokens",
            work.sample_new,
            work.sample_prompt,
            work.model.max_seq_len - work.sample_prompt
        );
    }
    bench(&cfg.device, &work, json.as_deref(), !no_sampling_step)
}

/// `restlm merge`: the shards of a sharded Grow checked and merged (files only: no device).
fn merge(args: MergeArgs) -> Result<()> {
    let MergeArgs { dir, out, run } = args;
    let (dir, out) = match (run, dir, out) {
        (Some(run), ..) => {
            let p = rest::run::pending_grow(&run)?;
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

/// The embedded task a command's reward `auto` follows: the config's,
/// unless `--data` names a file.
fn reward_task(cfg: &RunConfig, data: Option<&Path>) -> Option<restlm::data::task::TaskKind> {
    data.is_none().then(|| cfg.data.embedded_task()).flatten()
}

/// `run --stop-before-grow`'s exit status when a Grow waits (0: the run is
/// complete), for job scripts to branch on.
const STOPPED_BEFORE_GROW: i32 = 3;

/// A pretrained start: fine-tuning learning rates where the config is silent.
fn finetune_defaults(cfg: &mut RunConfig) {
    let changed = cfg.use_finetune_defaults();
    if !changed.is_empty() {
        eprintln!(
            "--init: fine-tuning defaults {} (set them in the config to override)",
            changed.join(", ")
        );
    }
}

/// The whole loop's work (training steps, decoding steps), for `--device
/// auto` to weigh the devices by. Estimates: the config's steps, and its
/// prompts (the embedded task's size, or the lines of `data.train`).
fn loop_work(cfg: &RunConfig) -> (usize, usize) {
    let improve = cfg.rest.grow_steps * cfg.improve_steps() * cfg.improve.steps;
    (
        cfg.sft.steps + improve,
        cfg.rest.grow_steps * grow_decode_steps(cfg, cfg.rest.samples_per_prompt),
    )
}

/// Decoding steps of one Grow with `n` samples per prompt (an estimate).
fn grow_decode_steps(cfg: &RunConfig, n: usize) -> usize {
    let prompts = match &cfg.data.train {
        Some(path) => std::fs::read_to_string(path).map_or(1000, |t| t.lines().count()),
        None => cfg.data.task_sizes().train,
    };
    (prompts * n).div_ceil(cfg.sample.batch_size.max(1)) * cfg.sample.max_new_tokens
}

fn bench(
    device_name: &str,
    work: &restlm::bench::Workload,
    json: Option<&std::path::Path>,
    sampling_step: bool,
) -> Result<()> {
    let names: Vec<&str> = match device_name {
        "auto" => vec!["cpu", "wgpu"],
        other => vec![other],
    };
    let m = &work.model;
    println!(
        "workload `{}`: d_model {} × {} layers, {} heads ({} kv), d_ff {}, vocab {}; \
         train batch {} × {} positions ({} loss-bearing per row; tok/s counts those), {} timed steps; \
         sample {} rows, {}-token prompts, {} new tokens, T = 1",
        work.name,
        m.d_model,
        m.n_layers,
        m.n_heads,
        m.n_kv_heads,
        m.d_ff,
        m.vocab_size,
        work.train_batch,
        work.train_seq(),
        work.train_target,
        work.train_steps,
        work.sample_rows,
        work.sample_prompt,
        work.sample_new
    );
    println!(
        "{:<60} {:>11} {:>9} {:>8} {:>12} {:>9} {:>11} {:>9} {:>8} {:>7} {:>7}",
        "device",
        "train tok/s",
        "ms/step",
        "RSS MB",
        "sample tok/s",
        "ms/token",
        "re-forward",
        "RSS MB",
        "sgemm",
        "MFU tr",
        "MFU smp"
    );
    let mut devices = Vec::new();
    let mut figures = Vec::new();
    for name in names {
        let selected = match device::select(name) {
            Ok(s) => s,
            Err(e) => {
                println!("{name:<60} unavailable: {e}");
                continue;
            }
        };
        let mut description = selected.description.clone();
        if !restlm::sample::kernels::trains(&selected.device) {
            description += " [unfused log-softmax]";
        }
        let d = &selected.device;
        let burns_ops = if restlm::model::fused::implemented_on(d) {
            !restlm::model::fused::on(d)
        } else {
            restlm::sample::kernels::supported(d) && !restlm::model::fused::decode::runs_on(d)
        };
        if burns_ops {
            description += " [burn's RMSNorm, SiLU, RoPE, attention]";
        }
        let f = restlm::bench::run(&selected.device, &description, work);
        let mb = |x: Option<f64>| x.map_or("-".into(), |v| format!("{v:.0}"));
        println!(
            "{:<60} {:>11.0} {:>9.1} {:>8} {:>12.0} {:>9.2} {:>11} {:>9} {:>8.0} {:>6.1}% {:>6.1}%",
            description,
            f.train_tokens_per_s,
            f.train_ms_per_step,
            mb(f.train_peak_rss_mb),
            f.sample_tokens_per_s,
            f.sample_ms_per_token_step,
            f.reforward_tokens_per_s
                .map_or("-".into(), |v| format!("{v:.0}")),
            mb(f.sample_peak_rss_mb),
            f.sgemm_gflops,
            100.0 * f.train_gflops / f.sgemm_gflops,
            100.0 * f.sample_gflops / f.sgemm_gflops,
        );
        devices.push(selected);
        figures.push(f);
    }
    if let Some(path) = json {
        let out = serde_json::json!({
            "tool": "restlm",
            "workload": work,
            "train_seq": work.train_seq(),
            "train_flops_per_step": work.train_flops_per_step(),
            "sample_flops": work.sample_flops(),
            "results": figures,
        });
        restlm::io::write_json_atomic(path, &out)?;
    }
    if !sampling_step {
        return Ok(());
    }
    let steps = 20;
    let (b, v) = (64, 32_000);
    println!(
        "\nsampling step, {b} × {v} logits on the device → tokens on the host (ms per step; T = 1)"
    );
    println!(
        "{:<72} {:>9} {:>10} {:>9} {:>12} {:>9} | {:>15} {:>13} {:>9}",
        "device",
        "kernel",
        "burn ops",
        "host",
        "vs burn ops",
        "vs host",
        "top-k/p kernel",
        "top-k/p host",
        "vs host"
    );
    for selected in devices {
        let t = restlm::bench::sampling_step(&selected.device, b, v, steps);
        println!(
            "{:<72} {:>9.2} {:>10.2} {:>9.2} {:>11.1}× {:>8.1}× | {:>15.2} {:>13.2} {:>8.1}×",
            selected.description,
            t.kernel_ms,
            t.burn_ops_ms,
            t.host_ms,
            t.burn_ops_ms / t.kernel_ms,
            t.host_ms / t.kernel_ms,
            t.kernel_cuts_ms,
            t.host_cuts_ms,
            t.host_cuts_ms / t.kernel_cuts_ms
        );
    }
    Ok(())
}
