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
