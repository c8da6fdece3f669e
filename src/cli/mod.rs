//! The verbs of the `restlm` command line, one file each with its
//! arguments; what several verbs share (opening the device, the reward's
//! task, the fine-tuning defaults of a pretrained start) is here.

pub mod bench;
pub mod compare;
pub mod eval;
pub mod export;
pub mod grow;
pub mod improve;
pub mod merge;
pub mod rm;
pub mod run;
pub mod sample;
pub mod sft;

use anyhow::Result;
use restlm::bench::auto;
use restlm::config::{RewardKind, RunConfig};
use restlm::device;
use std::path::Path;

/// The device for a command: `--device`/the config's, where `auto` weighs
/// the devices by the command's work (training steps, decoding steps)
/// when it has much.
pub fn open_device(
    cfg: &RunConfig,
    work: Option<(usize, usize)>,
) -> Result<restlm::burn::prelude::Device> {
    let selected = match work {
        Some((train_steps, decode_steps)) => auto::select_for(
            &cfg.device,
            &cfg.model,
            &auto::Plan {
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

/// The embedded task a command's reward `auto` follows: the config's,
/// unless `--data` names a file.
pub fn reward_task(cfg: &RunConfig, data: Option<&Path>) -> Option<restlm::data::task::TaskKind> {
    data.is_none().then(|| cfg.data.embedded_task()).flatten()
}

/// A pretrained start: fine-tuning learning rates where the config is silent.
pub fn finetune_defaults(cfg: &mut RunConfig) {
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
pub fn loop_work(cfg: &RunConfig) -> (usize, usize) {
    let improve = cfg.rest.grow_steps * cfg.improve_steps() * cfg.improve.steps;
    (
        cfg.sft.steps + improve,
        cfg.rest.grow_steps * grow_decode_steps(cfg, cfg.rest.samples_per_prompt),
    )
}

/// Decoding steps of one Grow with `n` samples per prompt (an estimate).
pub fn grow_decode_steps(cfg: &RunConfig, n: usize) -> usize {
    let prompts = match &cfg.data.train {
        Some(path) => std::fs::read_to_string(path).map_or(1000, |t| t.lines().count()),
        None => cfg.data.task_sizes().train,
    };
    (prompts * n).div_ceil(cfg.sample.batch_size.max(1)) * cfg.sample.max_new_tokens
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum SampleReward {
    Chrf,
    Bleu,
    Exact,
    External,
    /// A learned reward model: the config's `reward.path`, or --reward-model.
    Model,
}

/// `--reward-model DIR` (repeated: an ensemble) makes the reward that
/// learned model.
pub fn use_reward_models(rc: &mut restlm::config::RewardConfig, dirs: Vec<std::path::PathBuf>) {
    if !dirs.is_empty() {
        rc.kind = RewardKind::Model;
        rc.path = Some(restlm::config::OneOrMany::Many(dirs));
        rc.gold = None;
    }
}

impl From<SampleReward> for RewardKind {
    fn from(r: SampleReward) -> Self {
        match r {
            SampleReward::Chrf => RewardKind::Chrf,
            SampleReward::Bleu => RewardKind::Bleu,
            SampleReward::Exact => RewardKind::Exact,
            SampleReward::External => RewardKind::External,
            SampleReward::Model => RewardKind::Model,
        }
    }
}
