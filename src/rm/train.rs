//! Training one reward model: AdamW on the trunk's trainable parameters
//! (all of them, or its LoRA adapters) and the head, the schedule of
//! `train.rs`, checkpoints every `eval_every` steps that a re-run resumes.
//!
//! Losses on raw rewards r (the reward reads 100·σ(r)):
//! - pointwise, score s: binary cross-entropy against y = s/100,
//!   softplus(r) − y·r — a regression bounded in its gradient (|∂/∂r| ≤ 1);
//! - pairwise: Bradley–Terry, −log σ(r_c − r_r) = softplus(r_r − r_c), plus
//!   `center`·(r_c + r_r)², which keeps rewards near 0.

use super::data::Example;
use crate::config::TrainConfig;
use crate::error::Result;
use crate::model::checkpoint::{self, Saved, TrainState};
use crate::model::{ModelConfig, RewardBatch, RewardModel};
use crate::reward::learned::encode_rows;
use crate::tokenizer::Tokenizer;
use crate::train::{batch_rows, lr_at};
use burn::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;

/// An example as token rows: one row (pointwise, with y = score/100) or two
/// (chosen, rejected).
pub enum Rows {
    Point(Vec<u32>, f32),
    Pair(Vec<u32>, Vec<u32>),
}

pub fn encode(
    tok: &Tokenizer,
    examples: &[Example],
    max_prompt: usize,
    max_seq: usize,
) -> Result<Vec<Rows>> {
    examples
        .iter()
        .map(|e| {
            Ok(match e {
                Example::Point {
                    prompt,
                    output,
                    score,
                } => {
                    let mut r = encode_rows(tok, &[(prompt, output)], max_prompt, max_seq)?;
                    Rows::Point(r.remove(0), (*score / 100.0) as f32)
                }
                Example::Pair {
                    prompt,
                    chosen,
                    rejected,
                } => {
                    let mut r = encode_rows(
                        tok,
                        &[(prompt, chosen), (prompt, rejected)],
                        max_prompt,
                        max_seq,
                    )?;
                    let rejected = r.remove(1);
                    Rows::Pair(r.remove(0), rejected)
                }
            })
        })
        .collect()
}

/// softplus(x) = log(1 + eˣ), stable for large |x|.
fn softplus(x: Tensor<1>) -> Tensor<1> {
    x.clone().clamp_min(0.0) + x.abs().neg().exp().log1p()
}

/// The loss of one batch of `examples` (`slots` rows: a pair takes two).
pub fn batch_loss(
    model: &RewardModel,
    examples: &[&Rows],
    slots: usize,
    center: f64,
    max_seq: usize,
    pad: u32,
) -> Tensor<1> {
    let device = model.head.weight.device();
    let mut rows: Vec<Vec<u32>> = Vec::with_capacity(slots);
    let (mut y, mut w_point) = (vec![0f32; slots], vec![0f32; slots]);
    let pairs_cap = slots / 2;
    let (mut chosen, mut rejected, mut w_pair) = (
        vec![0i64; pairs_cap.max(1)],
        vec![0i64; pairs_cap.max(1)],
        vec![0f32; pairs_cap.max(1)],
    );
    let mut n_pairs = 0;
    for e in examples {
        match e {
            Rows::Point(r, s) => {
                y[rows.len()] = *s;
                w_point[rows.len()] = 1.0;
                rows.push(r.clone());
            }
            Rows::Pair(c, r) => {
                chosen[n_pairs] = rows.len() as i64;
                rows.push(c.clone());
                rejected[n_pairs] = rows.len() as i64;
                rows.push(r.clone());
                w_pair[n_pairs] = 1.0;
                n_pairs += 1;
            }
        }
    }
    let n_points = w_point.iter().filter(|&&w| w > 0.0).count();
    let batch = RewardBatch::new(&rows, slots, max_seq, pad, &device);
    let r = model.forward(&batch);
    let vec1 = |v: Vec<f32>| Tensor::<1>::from_data(TensorData::new(v.clone(), [v.len()]), &device);
    let ints =
        |v: Vec<i64>| Tensor::<1, Int>::from_data(TensorData::new(v.clone(), [v.len()]), &device);
    let mut loss = Tensor::<1>::zeros([1], &device);
    if n_points > 0 {
        let per = softplus(r.clone()) - r.clone() * vec1(y);
        loss = loss + (per * vec1(w_point)).sum().div_scalar(n_points as f32);
    }
    if n_pairs > 0 {
        let (rc, rr) = (
            r.clone().select(0, ints(chosen)),
            r.select(0, ints(rejected)),
        );
        let per = softplus(rr.clone() - rc.clone()) + (rc + rr).powi_scalar(2).mul_scalar(center);
        loss = loss + (per * vec1(w_pair)).sum().div_scalar(n_pairs as f32);
    }
    loss
}

/// What a training stage needs beside the model and data.
pub struct Spec<'a> {
    pub cfg: &'a ModelConfig,
    pub tok: &'a Tokenizer,
    pub tc: &'a TrainConfig,
    pub center: f64,
    pub seed: u64,
    /// Checkpoints (with the tokenizer) go here; one there is resumed.
    pub dir: &'a Path,
    pub label: &'a str,
}

/// Trains `model` (on a non-autodiff device) on `data`; returns it
/// trained, without autodiff.
pub fn train(model: RewardModel, data: &[Rows], spec: &Spec<'_>) -> Result<RewardModel> {
    let tc = spec.tc;
    let device = model.head.weight.device().autodiff();
    let mut model = model.fork(&device).train();
    let mut optim: ModuleOptimizer = AdamWConfig::new()
        .with_weight_decay(tc.weight_decay)
        .with_grad_clipping(Some(GradientClippingConfig::Norm(tc.grad_clip)))
        .init();
    let mut step = 0;
    if spec.dir.join("train.json").exists() {
        let (_, m) = checkpoint::load_reward_model(spec.dir, &device)?;
        model = m.fork(&device).train();
        optim = checkpoint::load_optim(spec.dir, optim)?;
        step = checkpoint::load_state(spec.dir)?.step;
        eprintln!(
            "{}: resuming at step {step} from {}",
            spec.label,
            spec.dir.display()
        );
    }
    let slots = tc.batch_size
        * if data.iter().any(|r| matches!(r, Rows::Pair(..))) {
            2
        } else {
            1
        };
    let bar = ProgressBar::new(tc.steps as u64).with_position(step as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>14} {bar:30} {pos}/{len} {msg} [{elapsed}<{eta}]")
            .expect("template"),
    );
    bar.set_prefix(spec.label.to_string());
    while step < tc.steps && !data.is_empty() {
        let picked: Vec<&Rows> = batch_rows(data.len(), tc.batch_size, spec.seed, step)
            .into_iter()
            .map(|i| &data[i])
            .collect();
        let loss = batch_loss(
            &model,
            &picked,
            slots,
            spec.center,
            spec.cfg.max_seq_len,
            spec.tok.pad,
        );
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let lr = lr_at(tc, step);
        model = optim.step(lr, model, grads);
        step += 1;
        if step % 10 == 0 || step == tc.steps {
            let l: f32 = loss.into_scalar();
            bar.set_message(format!("loss {l:.4} lr {lr:.1e}"));
        }
        if step % tc.eval_every == 0 || step == tc.steps {
            let valid = model.valid();
            let state = TrainState {
                step,
                total_steps: step,
            };
            checkpoint::save(
                spec.dir,
                Saved {
                    config: spec.cfg,
                    model: &valid.trunk,
                    optim: Some(&optim),
                    state: &state,
                    tokenizer: Some(spec.tok),
                    head: Some(&valid.head),
                },
            )?;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(model.valid())
}
