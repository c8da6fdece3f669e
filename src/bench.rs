//! `restlm bench`: training tokens/s, and sampling tokens/s with the KV
//! cache against re-running the whole sequence, for one reference config.

use crate::data::{Encoded, TrainBatch};
use crate::model::{ModelConfig, Rope, Transformer};
use crate::sample::{PickOptions, SampleOptions, Special, generate};
use crate::train::batch_loss;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use std::time::Instant;

pub struct BenchResult {
    pub train_tokens_per_s: f64,
    pub cached_tokens_per_s: f64,
    pub naive_tokens_per_s: f64,
}

/// The reference: the default model, batch 32 × 64 tokens for training,
/// 64 rows × 16-token prompts × 48 new tokens for sampling.
pub fn run(device: &Device, cfg: &ModelConfig, train_steps: usize) -> BenchResult {
    device.seed(0);
    let ad = device.clone().autodiff();
    let model = Transformer::new(cfg, &ad);
    let rope = Rope::new(cfg.head_dim(), cfg.max_seq_len, cfg.rope_theta, &ad);
    let row = Encoded {
        prompt: (0..16).map(|i| 4 + i % 50).collect(),
        target: (0..48).map(|i| 4 + (i * 7) % 60).collect(),
        weight: 1.0,
    };
    let rows: Vec<&Encoded> = vec![&row; 32];
    let mut optim = AdamWConfig::new().init();
    let mut model = model.train();
    let mut step = |model: Transformer| {
        let batch = TrainBatch::new(&rows, 32, cfg.max_seq_len, 0, &ad);
        let loss = batch_loss(&model, &rope, &batch);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        (optim.step(1e-3, model, grads), batch.tokens)
    };
    // One warm-up step compiles kernels on GPU backends.
    model = step(model).0;
    let t0 = Instant::now();
    let mut tokens = 0;
    for _ in 0..train_steps {
        let (m, n) = step(model);
        model = m;
        tokens += n;
    }
    let _ = model.embed_tokens.weight.val().into_data();
    let train_tokens_per_s = tokens as f64 / t0.elapsed().as_secs_f64();

    let model = model.valid();
    let prompts: Vec<Vec<u32>> = (0..64)
        .map(|i| (0..16).map(|j| 4 + (i + j) as u32 % 50).collect())
        .collect();
    let special = Special {
        eos: u32::MAX,
        pad: 0,
    };
    let rate = |use_cache: bool| {
        let opts = SampleOptions {
            pick: PickOptions {
                temperature: 1.0,
                top_k: 0,
                top_p: 1.0,
            },
            max_new_tokens: 48,
            batch_size: 64,
            seed: 0,
            use_cache,
            on_device: true,
        };
        let small = SampleOptions {
            max_new_tokens: 2,
            ..opts.clone()
        };
        generate(&model, cfg, &special, &prompts, 1, &small);
        let t0 = Instant::now();
        let out = generate(&model, cfg, &special, &prompts, 1, &opts);
        let n: usize = out.iter().map(|r| r[0].tokens.len()).sum();
        n as f64 / t0.elapsed().as_secs_f64()
    };
    BenchResult {
        train_tokens_per_s,
        cached_tokens_per_s: rate(true),
        naive_tokens_per_s: rate(false),
    }
}

/// Milliseconds per sampling step for B × V logits already on the device,
/// from logits to (token, log-prob) on the host, three ways.
pub struct StepTimes {
    /// Our kernel (shaders/sample.wgsl; the reference on the CPU backend).
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
    let kernel = |params: &[RowParams]| sample_rows(logits.clone(), params);
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
