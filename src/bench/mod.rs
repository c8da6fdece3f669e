//! `restlm bench`: training and sampling throughput for a fixed workload,
//! with peak memory and model FLOP utilisation, printed and written as JSON
//! so that `scripts/bench_torch.py` can run the same workload in PyTorch
//! and `scripts/bench.sh` can print the two side by side.

pub mod auto;
pub mod table;

use crate::config::TrainConfig;
use crate::data::{Encoded, bucket_len};
use crate::model::{Arch, ModelConfig, Transformer};
use crate::sample::{PickOptions, SampleOptions, Special, generate};
use crate::train::Trainer;
use burn::prelude::*;
use serde::Serialize;
use std::time::Instant;

/// What is measured: one model shape, one training batch, one sampling batch.
#[derive(Debug, Clone, Serialize)]
pub struct Workload {
    pub name: &'static str,
    pub model: ModelConfig,
    /// Training rows of `train_prompt` prompt tokens and `train_target`
    /// target tokens; only target tokens carry loss (and count as trained).
    pub train_batch: usize,
    pub train_prompt: usize,
    pub train_target: usize,
    /// Sampling rows × prompt length × new tokens, at temperature 1.
    pub sample_rows: usize,
    /// Samples per prompt: the rows are `sample_rows / sample_n` prompts,
    /// each `sample_n` times, as in a Grow.
    pub sample_n: usize,
    pub sample_prompt: usize,
    pub sample_new: usize,
    /// Also time sampling that re-runs the whole sequence every step.
    pub reforward: bool,
    /// Timed training steps (after one warm-up step).
    pub train_steps: usize,
    /// Train with burn's gradient checkpointing.
    pub gradient_checkpointing: bool,
}

impl Workload {
    /// The small model restlm trains by default (`model` from the config,
    /// vocabulary 384): batch 32 × (16 + 48) tokens, 64 rows × 16-token
    /// prompts × 48 new tokens.
    pub fn reference(model: &ModelConfig) -> Self {
        Self {
            name: "reference",
            model: ModelConfig {
                vocab_size: 384,
                ..model.clone()
            },
            train_batch: 32,
            train_prompt: 16,
            train_target: 48,
            sample_rows: 64,
            sample_n: 1,
            sample_prompt: 16,
            sample_new: 48,
            reforward: true,
            train_steps: 20,
            gradient_checkpointing: false,
        }
    }

    /// SmolLM2-135M's shape with random weights: batch 8 × 128 tokens
    /// (32 prompt, 97 target: 128 positions after the shift), 32 rows ×
    /// 32-token prompts × 32 new tokens.
    pub fn smollm2() -> Self {
        Self {
            name: "smollm2-135m",
            model: ModelConfig {
                arch: Arch::Llama,
                vocab_size: 49_152,
                d_model: 576,
                n_layers: 30,
                n_heads: 9,
                n_kv_heads: 3,
                d_ff: 1536,
                max_seq_len: 128,
                rope_theta: 100_000.0,
                norm_eps: 1e-5,
                tie_embeddings: true,
                qkv_bias: false,
                o_bias: false,
                mlp_bias: false,
                lora: None,
            },
            train_batch: 8,
            train_prompt: 32,
            train_target: 97,
            sample_rows: 32,
            sample_n: 1,
            sample_prompt: 32,
            sample_new: 32,
            reforward: false,
            train_steps: 4,
            gradient_checkpointing: false,
        }
    }

    /// Qwen2-0.5B's published shape (896 × 24 layers, 14 heads over 2 KV
    /// heads, d_ff 4 864, a 151 936-token vocabulary, tied embeddings, q/k/v
    /// biases) with random weights: LoRA-sized training batch 4 × 256
    /// positions, 32 rows × 32-token prompts × 32 new tokens.
    pub fn qwen2_0_5b() -> Self {
        Self::qwen2("qwen2-0.5b", 896, 24, 14, 4864)
    }

    /// Qwen2-1.5B's published shape (1 536 × 28 layers, 12 heads over 2 KV
    /// heads, d_ff 8 960, the same vocabulary), as [`Workload::qwen2_0_5b`].
    pub fn qwen2_1_5b() -> Self {
        Self::qwen2("qwen2-1.5b", 1536, 28, 12, 8960)
    }

    fn qwen2(name: &'static str, d: usize, layers: usize, heads: usize, ff: usize) -> Self {
        Self {
            name,
            model: ModelConfig {
                arch: Arch::Qwen2,
                vocab_size: 151_936,
                d_model: d,
                n_layers: layers,
                n_heads: heads,
                n_kv_heads: 2,
                d_ff: ff,
                max_seq_len: 256,
                rope_theta: 1_000_000.0,
                norm_eps: 1e-6,
                tie_embeddings: true,
                qkv_bias: true,
                o_bias: false,
                mlp_bias: false,
                lora: None,
            },
            train_batch: 4,
            train_prompt: 64,
            train_target: 193,
            train_steps: 1,
            ..Self::smollm2()
        }
    }

    /// A Grow on SmolLM2-135M's shape: 64 rows of 16 chat-length prompts
    /// (64 tokens) × 4 samples, 32 new tokens each (training as
    /// [`Workload::smollm2`], one timed step).
    pub fn smollm2_grow() -> Self {
        Self {
            name: "smollm2-135m-grow",
            sample_rows: 64,
            sample_n: 4,
            sample_prompt: 64,
            sample_new: 32,
            train_steps: 1,
            ..Self::smollm2()
        }
    }

    /// Positions per training row after the one-token shift, as batched.
    pub fn train_seq(&self) -> usize {
        bucket_len(
            self.train_prompt + self.train_target - 1,
            self.model.max_seq_len,
        )
    }

    /// Weights used in matrix products per token: attention and MLP
    /// projections of every layer, and the output projection.
    pub fn matmul_params(&self) -> f64 {
        let m = &self.model;
        let (d, hd) = (m.d_model, m.head_dim());
        let (q, kv) = (m.n_heads * hd, m.n_kv_heads * hd);
        let mlp = if m.is_gpt2() { 2 } else { 3 } * d * m.d_ff;
        (m.n_layers * (d * q + 2 * d * kv + q * d + mlp) + m.vocab_size * d) as f64
    }

    /// Forward + backward FLOPs of one training step (PaLM's count: 6 per
    /// weight per token, plus 12 · layers · width · length for attention).
    pub fn train_flops_per_step(&self) -> f64 {
        let m = &self.model;
        let t = self.train_seq() as f64;
        let tokens = self.train_batch as f64 * t;
        let attention = 12.0 * (m.n_layers * m.n_heads * m.head_dim()) as f64 * t;
        tokens * (6.0 * self.matmul_params() + attention)
    }

    /// Forward FLOPs of one sampling call: the prompt, then one token per
    /// step against a cache of growing length.
    pub fn sample_flops(&self) -> f64 {
        let m = &self.model;
        let width = (m.n_layers * m.n_heads * m.head_dim()) as f64;
        let rows = self.sample_rows as f64;
        let p = self.sample_prompt as f64;
        let mut flops = rows * p * (2.0 * self.matmul_params() + 4.0 * width * p);
        for i in 1..self.sample_new {
            flops += rows * (2.0 * self.matmul_params() + 4.0 * width * (p + i as f64));
        }
        flops
    }
}

/// What one device did with a workload.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub device: String,
    /// "cpu" (burn's CPU backend) or "gpu" (a wgpu adapter, software ones
    /// included): which peak the utilisation is measured against.
    pub kind: &'static str,
    /// Target (loss-bearing) tokens trained per second.
    pub train_tokens_per_s: f64,
    pub train_ms_per_step: f64,
    /// The warm-up step: compiling (and autotuning) kernels on GPU backends.
    pub first_step_ms: f64,
    /// New tokens per second with the KV cache.
    pub sample_tokens_per_s: f64,
    pub sample_ms_per_token_step: f64,
    /// One sampling call of the batch that stops after its first token:
    /// the prompt pass (and one pick).
    pub sample_prefill_ms: f64,
    /// New tokens per second of the decoding steps alone: the tokens after
    /// each row's first over the time past the prompt pass (what
    /// llama.cpp's `llama-batched-bench` reports as S_TG).
    pub decode_tokens_per_s: f64,
    /// New tokens per second re-running the whole sequence each step.
    pub reforward_tokens_per_s: Option<f64>,
    /// Peak resident set of the process while training and while sampling
    /// (Linux; the peak is reset before each phase).
    pub train_peak_rss_mb: Option<f64>,
    pub sample_peak_rss_mb: Option<f64>,
    /// Achieved model FLOP/s.
    pub train_gflops: f64,
    pub sample_gflops: f64,
    /// This backend's own f32 matrix product rate (2048³), the ceiling
    /// for model FLOP utilisation.
    pub sgemm_gflops: f64,
}

/// Runs `work` on `device`: one warm-up training step (which compiles
/// kernels on GPU backends), `work.train_steps` timed steps through the
/// trainer every stage uses, then sampling with and without the cache, and
/// the backend's sgemm rate.
pub fn run(device: &Device, description: &str, work: &Workload) -> Figures {
    let mut f = measure(device, description, work);
    f.sgemm_gflops = sgemm_gflops(device, 2048);
    f
}

/// A workload for `auto`'s probe: the policy's shape, its training batch
/// (rows of up to 64 positions) and its sampling batch, 3 timed training
/// steps and 8 decoded tokens.
pub fn probe_workload(model: &ModelConfig, train_batch: usize, sample_rows: usize) -> Workload {
    let room = model.max_seq_len.min(65);
    Workload {
        name: "probe",
        model: model.clone(),
        train_batch,
        train_prompt: room / 4,
        train_target: room - room / 4,
        sample_rows,
        sample_n: 1,
        sample_prompt: (room / 4).min(model.max_seq_len.saturating_sub(8)).max(1),
        sample_new: 8.min(model.max_seq_len - 1),
        reforward: false,
        train_steps: 3,
        gradient_checkpointing: false,
    }
}

/// [`run`] without the sgemm rate (left at 0).
pub fn measure(device: &Device, description: &str, work: &Workload) -> Figures {
    device.seed(0);
    let cfg = &work.model;
    let model = Transformer::new(cfg, device);
    let row = Encoded {
        prompt: (0..work.train_prompt).map(|i| 4 + i as u32 % 50).collect(),
        target: (0..work.train_target)
            .map(|i| 4 + (i * 7) as u32 % 60)
            .collect(),
        weight: 1.0,
    };
    let data = vec![row; work.train_batch];
    let tc = TrainConfig {
        steps: work.train_steps + 1,
        batch_size: work.train_batch,
        gradient_checkpointing: work.gradient_checkpointing,
        ..TrainConfig::default()
    };
    crate::io::reset_peak_rss();
    let mut trainer = Trainer::new(model, cfg, &tc, 0, 0);
    let t0 = Instant::now();
    let _: f32 = trainer.step(&data).loss.into_scalar();
    let first_step_ms = t0.elapsed().as_secs_f64() * 1e3;
    let t0 = Instant::now();
    let mut tokens = 0;
    let mut last = None;
    for _ in 0..work.train_steps {
        let out = trainer.step(&data);
        tokens += out.tokens;
        last = Some(out.loss);
    }
    if let Some(loss) = last {
        let _: f32 = loss.into_scalar();
    }
    let train_s = t0.elapsed().as_secs_f64();
    let train_peak_rss_mb = crate::io::peak_rss_mb();
    let model = trainer.policy_model();
    drop(trainer);

    let prompts: Vec<Vec<u32>> = (0..work.sample_rows / work.sample_n.max(1))
        .map(|i| {
            (0..work.sample_prompt)
                .map(|j| 4 + (i + j) as u32 % 50)
                .collect()
        })
        .collect();
    let special = Special {
        eos: u32::MAX,
        pad: 0,
    };
    let sample_secs = |use_cache: bool, new: usize| {
        let opts = SampleOptions {
            pick: PickOptions {
                temperature: 1.0,
                top_k: 0,
                top_p: 1.0,
            },
            max_new_tokens: new,
            batch_size: work.sample_rows,
            seed: 0,
            use_cache,
            on_device: true,
        };
        // The warm-up runs every shape the timed call will (prompt, then
        // each cache length on backends that compile per shape).
        // A benchmark on a device that cannot hand results back has
        // nothing to report: it stops there.
        let n = work.sample_n.max(1);
        let run = || generate(&model, cfg, &special, &prompts, n, &opts).expect("sampling");
        run();
        let t0 = Instant::now();
        let out = run();
        let n: usize = out.iter().flatten().map(|g| g.tokens.len()).sum();
        (n, t0.elapsed().as_secs_f64())
    };
    crate::io::reset_peak_rss();
    let (n, cached_s) = sample_secs(true, work.sample_new);
    let sample_peak_rss_mb = crate::io::peak_rss_mb();
    // The prompt pass and the first token alone.
    let (_, prefill_s) = sample_secs(true, 1);
    let reforward_tokens_per_s = work.reforward.then(|| {
        let (n, s) = sample_secs(false, work.sample_new);
        n as f64 / s
    });
    Figures {
        device: description.to_string(),
        kind: match device.as_dispatch() {
            burn::backend::DispatchDevice::Flex(_) => "cpu",
            _ => "gpu",
        },
        train_tokens_per_s: tokens as f64 / train_s,
        train_ms_per_step: train_s * 1e3 / work.train_steps as f64,
        first_step_ms,
        sample_tokens_per_s: n as f64 / cached_s,
        sample_ms_per_token_step: cached_s * 1e3 / work.sample_new as f64,
        sample_prefill_ms: prefill_s * 1e3,
        decode_tokens_per_s: n.saturating_sub(work.sample_rows) as f64
            / (cached_s - prefill_s).max(1e-9),
        reforward_tokens_per_s,
        train_peak_rss_mb,
        sample_peak_rss_mb,
        train_gflops: work.train_flops_per_step() * work.train_steps as f64 / train_s / 1e9,
        sample_gflops: work.sample_flops() / cached_s / 1e9,
        sgemm_gflops: 0.0,
    }
}

/// The best of five n × n × n f32 matrix products, in GFLOP/s.
pub fn sgemm_gflops(device: &Device, n: usize) -> f64 {
    use burn::tensor::Distribution;
    let a = Tensor::<2>::random([n, n], Distribution::Normal(0.0, 1.0), device);
    let b = Tensor::<2>::random([n, n], Distribution::Normal(0.0, 1.0), device);
    // Reading column sums back waits for the whole product on asynchronous
    // backends (a one-element slice let burn's fusion skip most of it).
    let wait = |c: Tensor<2>| {
        let sums: Vec<f32> = c.sum_dim(0).into_data().try_to_vec().expect("f32 sums");
        std::hint::black_box(sums)
    };
    wait(a.clone().matmul(b.clone()));
    let best = (0..5)
        .map(|_| {
            let t0 = Instant::now();
            wait(a.clone().matmul(b.clone()));
            t0.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    2.0 * (n as f64).powi(3) / best / 1e9
}

/// Milliseconds per sampling step for B × V logits already on the device,
/// from logits to (token, log-prob) on the host, three ways.
pub struct StepTimes {
    /// Our kernel (`shaders` on wgpu; the reference on the CPU backend).
    pub kernel_ms: f64,
    /// burn's unfused ops: softmax, cumsum, compare, sum, log-softmax, gather.
    pub burn_ops_ms: f64,
    /// Copy the logits to the host and sample there.
    pub host_ms: f64,
    /// Our kernel with top-k 40 and top-p 0.9.
    pub kernel_cuts_ms: f64,
    /// The host path with top-k 40 and top-p 0.9.
    pub host_cuts_ms: f64,
}

pub fn sampling_step(device: &Device, b: usize, v: usize, reps: usize) -> StepTimes {
    use crate::sample::reference::{RowParams, sample_rows as sample_rows_host};
    use crate::sample::sample_rows;
    use burn::tensor::Distribution;
    use burn::tensor::activation::{log_softmax, softmax};
    device.seed(0);
    let logits = Tensor::<2>::random([b, v], Distribution::Normal(0.0, 2.0), device);
    let rows = |k: u32, p: f32| -> Vec<RowParams> {
        (0..b)
            .map(|i| RowParams {
                temperature: 1.0,
                top_k: k,
                top_p: p,
                u: ((i * 7919) % 1000) as f32 / 1000.0,
            })
            .collect()
    };
    let plain = rows(0, 1.0);
    let cuts = rows(40, 0.9);
    let u = Tensor::<2>::from_data(
        TensorData::new(plain.iter().map(|r| r.u).collect::<Vec<f32>>(), [b, 1]),
        device,
    );
    let kernel = |params: &[RowParams]| sample_rows(logits.clone(), params).expect("sampling");
    let burn_ops = || {
        let probs = softmax(logits.clone(), 1);
        let below = probs.cumsum(1).lower(u.clone().expand([b, v]));
        let idx = below.int().sum_dim(1).clamp_max(v as i64 - 1);
        let lp = log_softmax(logits.clone(), 1).gather(1, idx.clone());
        let toks: Vec<i64> = idx.into_data().convert::<i64>().try_to_vec().expect("ids");
        let lps: Vec<f32> = lp.into_data().try_to_vec().expect("f32");
        toks.into_iter()
            .zip(lps)
            .map(|(t, l)| (t as u32, l))
            .collect::<Vec<_>>()
    };
    let host = |params: &[RowParams]| {
        let xs: Vec<f32> = logits.clone().into_data().try_to_vec().expect("f32");
        sample_rows_host(&xs, params)
    };
    // `reps` runs after a warm-up (which compiles kernels on GPU backends),
    // or fewer when a path is so slow that 5 s pass first.
    let time = |f: &dyn Fn() -> Vec<(u32, f32)>| {
        f();
        let t0 = Instant::now();
        let mut n = 0;
        while n < reps.max(1) && (n == 0 || t0.elapsed().as_secs_f64() < 5.0) {
            std::hint::black_box(f());
            n += 1;
        }
        t0.elapsed().as_secs_f64() * 1e3 / n as f64
    };
    StepTimes {
        kernel_ms: time(&|| kernel(&plain)),
        burn_ops_ms: time(&burn_ops),
        host_ms: time(&|| host(&plain)),
        kernel_cuts_ms: time(&|| kernel(&cuts)),
        host_cuts_ms: time(&|| host(&cuts)),
    }
}
