//! One training loop shared by SFT and Improve: AdamW, warmup + cosine
//! learning rate, per-parameter gradient-norm clipping, token-weighted NLL on
//! target tokens, held-out loss, atomic checkpoints that a re-run resumes.

pub mod recompute;

use crate::config::TrainConfig;
use crate::data::{Encoded, TrainBatch};
use crate::error::Result;
use crate::model::checkpoint::{self, Saved, TrainState};
use crate::model::{ModelConfig, Transformer};
use crate::report::Metrics;
use crate::sample::kernels;
use crate::tokenizer::Tokenizer;
use burn::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use std::time::Instant;

/// Linear warmup to `lr`, then cosine decay to `lr · min_lr_ratio`.
pub fn lr_at(cfg: &TrainConfig, step: usize) -> f64 {
    if step < cfg.warmup_steps {
        return cfg.lr * (step + 1) as f64 / cfg.warmup_steps as f64;
    }
    let span = cfg.steps.saturating_sub(cfg.warmup_steps).max(1);
    let progress = ((step - cfg.warmup_steps) as f64 / span as f64).min(1.0);
    let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
    cfg.lr * (cfg.min_lr_ratio + (1.0 - cfg.min_lr_ratio) * cosine)
}

/// The rows of step `step`: epochs are seeded shuffles of the data laid end
/// to end, so a resumed run sees exactly the batches it would have seen.
pub fn batch_rows(n: usize, batch_size: usize, seed: u64, step: usize) -> Vec<usize> {
    let take = batch_size.min(n);
    let mut rows = Vec::with_capacity(take);
    let mut pos = step * take;
    while rows.len() < take {
        let epoch = pos / n;
        let mut perm: Vec<usize> = (0..n).collect();
        perm.shuffle(&mut ChaCha8Rng::seed_from_u64(
            seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9),
        ));
        let from = pos % n;
        let until = (from + take - rows.len()).min(n);
        rows.extend_from_slice(&perm[from..until]);
        pos += until - from;
    }
    rows
}

/// Sum over target tokens of weight · NLL, divided by the number of target
/// tokens. Returns a scalar tensor (differentiable on an autodiff device).
pub fn batch_loss(model: &Transformer, batch: &TrainBatch) -> Tensor<1> {
    loss_of_logprobs(token_logprobs(model, batch), batch)
}

/// [`batch_loss`] from the token log-probs.
pub fn loss_of_logprobs(picked: Tensor<2>, batch: &TrainBatch) -> Tensor<1> {
    (picked * batch.weights.clone())
        .sum()
        .neg()
        .div_scalar(batch.tokens.max(1) as f32)
}

/// log π(target) [B, T] at every position of `batch`. Where the device
/// runs our fused log-prob (`shaders/logprob.rs`, with its gradient kernel
/// as the backward under autodiff), the output projection goes with it, a
/// chunk of positions at a time (`sample::head`): the [B, T, V] logits are
/// never held whole. The one exception: a head that trains, with logits
/// that fit in one chunk (a small vocabulary), takes the fused log-prob of
/// the whole logits, which needs no recompute for the head's gradient (in
/// the browser test's WebGPU page the chunked path's extra kernels took
/// Improve from 316 s to 348 s, the latter partly under other load).
/// Elsewhere log-softmax and gather.
pub fn token_logprobs(model: &Transformer, batch: &TrainBatch) -> Tensor<2> {
    logprobs_of_hidden(model, model.hidden_causal(batch.inputs.clone()), batch)
}

/// [`token_logprobs`] from the final hidden states [B, T, D] of `batch`'s
/// inputs.
pub fn logprobs_of_hidden(model: &Transformer, hidden: Tensor<3>, batch: &TrainBatch) -> Tensor<2> {
    let fused = crate::ops::OpPath::of(&batch.inputs.device()).fused_logprob();
    if let (true, Some(weight)) = (fused, model.output_weight()) {
        let [b, t] = batch.targets.dims();
        let chunk = crate::sample::head::chunk_rows(weight.dims()[1]);
        if !(model.head_trains() && b * t <= chunk) {
            return kernels::head_logprobs(hidden, weight, batch.targets.clone(), chunk);
        }
    }
    let logits = model.logits_of(hidden);
    if fused {
        return kernels::target_logprobs(logits, batch.targets.clone());
    }
    log_softmax(logits, 2)
        .gather(2, batch.targets.clone().unsqueeze_dim(2))
        .squeeze_dim::<2>(2)
}

/// Σ log π(target tokens | prompt) for each record (no gradients): the
/// behaviour log-prob of records that were not sampled (D in a grown set).
pub fn sequence_logprobs(
    model: &Transformer,
    cfg: &ModelConfig,
    data: &[Encoded],
    batch_size: usize,
    pad: u32,
) -> Vec<f64> {
    let device = first_device(model);
    let mut out = Vec::with_capacity(data.len());
    for chunk in data.chunks(batch_size) {
        let plain: Vec<Encoded> = chunk
            .iter()
            .map(|e| Encoded {
                weight: 1.0,
                ..e.clone()
            })
            .collect();
        let rows: Vec<&Encoded> = plain.iter().collect();
        let batch = TrainBatch::new(&rows, batch_size, cfg.max_seq_len, pad, &device);
        let per_row = (token_logprobs(model, &batch) * batch.weights).sum_dim(1);
        let v: Vec<f32> = per_row.into_data().try_to_vec().expect("f32");
        out.extend(v.iter().take(chunk.len()).map(|&x| x as f64));
    }
    out
}

/// Mean NLL per target token over `data` (no gradients).
pub fn eval_loss(
    model: &Transformer,
    cfg: &ModelConfig,
    data: &[Encoded],
    batch_size: usize,
    pad: u32,
) -> f64 {
    if data.is_empty() {
        return f64::NAN;
    }
    let device = first_device(model);
    let (mut total, mut tokens) = (0.0, 0usize);
    for chunk in data.chunks(batch_size) {
        let rows: Vec<&Encoded> = chunk.iter().collect();
        let batch = TrainBatch::new(&rows, batch_size, cfg.max_seq_len, pad, &device);
        let loss: f32 = batch_loss(model, &batch).into_scalar();
        total += loss as f64 * batch.tokens as f64;
        tokens += batch.tokens;
    }
    total / tokens.max(1) as f64
}

fn first_device(model: &Transformer) -> Device {
    model.embed_tokens.weight.device()
}

pub struct Stage<'a> {
    /// Name in metrics and progress ("sft", "improve g1 i2").
    pub name: &'a str,
    pub cfg: &'a TrainConfig,
    pub seed: u64,
    /// Mid-stage checkpoints go here; an existing one is resumed from.
    pub ckpt_dir: Option<&'a Path>,
    /// Optimizer steps taken before this stage (for the run-wide counter).
    pub total_steps_before: usize,
    /// Saved into each checkpoint so it is a complete policy directory.
    pub tokenizer: Option<&'a Tokenizer>,
}

impl<'a> Stage<'a> {
    /// A stage without checkpoints, whose policy lives in memory only.
    pub fn in_memory(name: &'a str, cfg: &'a TrainConfig, seed: u64) -> Self {
        Self {
            name,
            cfg,
            seed,
            ckpt_dir: None,
            total_steps_before: 0,
            tokenizer: None,
        }
    }

    /// A stage on its own (the `sft` and `improve` commands): checkpoints,
    /// with the tokenizer, go to `dir`.
    pub fn standalone(
        name: &'a str,
        cfg: &'a TrainConfig,
        seed: u64,
        dir: &'a Path,
        tokenizer: &'a Tokenizer,
    ) -> Self {
        Self {
            name,
            cfg,
            seed,
            ckpt_dir: Some(dir),
            total_steps_before: 0,
            tokenizer: Some(tokenizer),
        }
    }
}

/// One stage's optimizer, schedule and model, stepped one batch at a time
/// with no I/O. [`train`] drives it with checkpoints, progress and
/// metrics; the browser demo drives it between frames.
pub struct Trainer {
    /// On the autodiff device while training.
    pub model: Transformer,
    optim: ModuleOptimizer,
    cfg: ModelConfig,
    tc: TrainConfig,
    seed: u64,
    pad: u32,
    /// Optimizer steps taken in this stage.
    pub step: usize,
}

/// What one step did; the loss stays on the device until someone reads it.
pub struct StepOutput {
    pub loss: Tensor<1>,
    pub tokens: usize,
    pub lr: f64,
}

/// `model` on the autodiff `device`, its parameters tracked (frozen ones
/// excepted).
fn for_training(model: Transformer, device: &Device) -> Transformer {
    model.fork(device).train()
}

impl Trainer {
    /// Starts a stage from `model` (on a non-autodiff device).
    pub fn new(
        model: Transformer,
        cfg: &ModelConfig,
        tc: &TrainConfig,
        seed: u64,
        pad: u32,
    ) -> Self {
        let device = first_device(&model).autodiff();
        let model = for_training(model, &device);
        Self {
            model,
            optim: AdamWConfig::new()
                .with_weight_decay(tc.weight_decay)
                .with_grad_clipping(Some(GradientClippingConfig::Norm(tc.grad_clip)))
                .init(),
            cfg: cfg.clone(),
            tc: tc.clone(),
            seed,
            pad,
            step: 0,
        }
    }

    /// One optimizer step on the seeded batch for `self.step` of `data`.
    pub fn step(&mut self, data: &[Encoded]) -> StepOutput {
        let (tc, device) = (&self.tc, first_device(&self.model));
        let rows: Vec<&Encoded> = batch_rows(data.len(), tc.batch_size, self.seed, self.step)
            .into_iter()
            .map(|i| &data[i])
            .collect();
        let batch = TrainBatch::new(
            &rows,
            tc.batch_size,
            self.cfg.max_seq_len,
            self.pad,
            &device,
        );
        let (loss, grads) = if tc.gradient_checkpointing {
            recompute::loss_and_grads(&self.model, &batch)
        } else {
            let loss = batch_loss(&self.model, &batch);
            let grads = GradientsParams::from_grads(loss.backward(), &self.model);
            (loss, grads)
        };
        let lr = lr_at(tc, self.step);
        self.model = self.optim.step(lr, self.model.clone(), grads);
        self.step += 1;
        StepOutput {
            loss,
            tokens: batch.tokens,
            lr,
        }
    }

    /// The model without autodiff, for sampling and evaluation.
    pub fn policy_model(&self) -> Transformer {
        self.model.valid()
    }
}

/// Trains `model` (on a non-autodiff device) for `stage.cfg.steps` steps on
/// `data`; returns the trained model, on the same device, without autodiff,
/// and the number of target tokens this call trained on (steps a resumed
/// stage had already taken are not counted again).
pub fn train(
    model: Transformer,
    cfg: &ModelConfig,
    data: &[Encoded],
    eval: &[Encoded],
    pad: u32,
    stage: Stage<'_>,
    metrics: &mut Metrics,
) -> Result<(Transformer, usize)> {
    let tc = stage.cfg;
    let mut trainer = Trainer::new(model, cfg, tc, stage.seed, pad);
    if let Some(dir) = stage.ckpt_dir.filter(|d| d.join("train.json").exists()) {
        let device = first_device(&trainer.model);
        let (_, m) = checkpoint::load_model(dir, &device)?;
        trainer.model = for_training(m, &device);
        trainer.optim = checkpoint::load_optim(dir, trainer.optim)?;
        trainer.step = checkpoint::load_state(dir)?.step;
        eprintln!(
            "{}: resuming at step {} from {}",
            stage.name,
            trainer.step,
            dir.display()
        );
    }
    if data.is_empty() || trainer.step >= tc.steps {
        return Ok((trainer.policy_model(), 0));
    }
    if trainer.step == 0 && !eval.is_empty() {
        // The starting point, so that a learning rate that damages a
        // pretrained policy shows at the first evaluation.
        let held = eval_loss(&trainer.policy_model(), cfg, eval, tc.batch_size, pad);
        eprintln!(
            "{}: held-out loss {held:.3} nats/token before training",
            stage.name
        );
        metrics.log(serde_json::json!({
            "stage": stage.name, "step": 0, "total_step": stage.total_steps_before,
            "eval_loss": held,
        }))?;
    }
    let bar = ProgressBar::new(tc.steps as u64).with_position(trainer.step as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>14} {bar:30} {pos}/{len} {msg} [{elapsed}<{eta}]")
            .expect("template"),
    );
    bar.set_prefix(stage.name.to_string());
    let (mut tokens, mut t0, mut all_tokens) = (0usize, Instant::now(), 0usize);
    while trainer.step < tc.steps {
        let out = trainer.step(data);
        tokens += out.tokens;
        all_tokens += out.tokens;
        let (done, lr) = (trainer.step, out.lr);
        if done % 10 == 0 || done == tc.steps || done % tc.eval_every == 0 {
            let loss: f32 = out.loss.into_scalar();
            let tps = tokens as f64 / t0.elapsed().as_secs_f64();
            bar.set_message(format!("loss {loss:.3} lr {lr:.1e} {tps:.0} tok/s"));
            let mut row = serde_json::json!({
                "stage": stage.name, "step": done, "total_step": stage.total_steps_before + done,
                "loss": loss, "lr": lr, "tokens_per_s": tps,
            });
            if done % tc.eval_every == 0 || done == tc.steps {
                let valid = trainer.policy_model();
                let held = eval_loss(&valid, cfg, eval, tc.batch_size, pad);
                row["eval_loss"] = held.into();
                if let Some(dir) = stage.ckpt_dir {
                    let state = TrainState {
                        step: done,
                        total_steps: stage.total_steps_before + done,
                    };
                    checkpoint::save(
                        dir,
                        Saved {
                            config: cfg,
                            model: &valid,
                            optim: Some(&trainer.optim),
                            state: &state,
                            tokenizer: stage.tokenizer,
                            head: None,
                        },
                    )?;
                }
            }
            metrics.log(row)?;
            (tokens, t0) = (0, Instant::now());
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok((trainer.policy_model(), all_tokens))
}
