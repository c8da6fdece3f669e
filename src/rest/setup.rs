//! A run's pieces as its config describes them: the data, the reward
//! (checked against every record), a fresh tokenizer, and the settings of
//! evaluation, Grow, Improve and sampling. The loop uses them, and so do
//! the CLI's single-stage verbs, the browser page and the examples, so that
//! each stage run alone is the loop's stage.

use crate::config::RunConfig;
use crate::data::task::{TaskKind, arith, phrase};
use crate::data::{Record, read_records};
use crate::error::{Error, Result};
use crate::eval::EvalSetup;
use crate::rest::grow::GrowSetup;
use crate::reward::{self, Reward};
use crate::sample::{PickOptions, SampleOptions};
use crate::tokenizer::Tokenizer;

/// Training and held-out records: the JSONL files, or the embedded task.
pub fn load_data(cfg: &RunConfig) -> Result<(Vec<Record>, Vec<Record>)> {
    let sizes = cfg.data.task_sizes();
    let embedded = || {
        let (task, seed) = (cfg.data.task, cfg.seed);
        let (mut train, mut eval) = match task {
            TaskKind::Arith => arith::generate_shaped(
                sizes.train,
                sizes.eval,
                sizes.labeled_fraction,
                seed,
                cfg.data.arith_shape(),
            ),
            _ => task.generate(sizes.train, sizes.eval, sizes.labeled_fraction, seed),
        };
        let phrasing = cfg.data.phrasing(cfg.tokenizer.prompt_format);
        phrase(task, phrasing, &mut train);
        phrase(task, phrasing, &mut eval);
        (train, eval)
    };
    let (train, eval) = match (&cfg.data.train, &cfg.data.eval) {
        (Some(t), Some(e)) => (read_records(t)?, read_records(e)?),
        (None, None) => embedded(),
        (None, Some(e)) => (embedded().0, read_records(e)?),
        (Some(_), None) => {
            return Err(Error::Config(
                "data.train is set but data.eval is not: give held-out records".into(),
            ));
        }
    };
    Ok((train, eval))
}

/// The run's reward, checked against every record it will score.
pub fn reward_for(
    cfg: &RunConfig,
    train: &[Record],
    eval: &[Record],
    device: &burn::prelude::Device,
) -> Result<Box<dyn Reward>> {
    let reward = reward::from_config(&cfg.reward, cfg.data.embedded_task(), device)?;
    checked(reward, train, eval)
}

/// `reward`, once it can score every training and held-out record.
pub fn checked(
    reward: Box<dyn Reward>,
    train: &[Record],
    eval: &[Record],
) -> Result<Box<dyn Reward>> {
    reward::check_records(reward.as_ref(), train, "training data")?;
    reward::check_records(reward.as_ref(), eval, "held-out data")?;
    Ok(reward)
}

/// A tokenizer for a run without one: the config's file, or a byte-level
/// BPE trained on the training records' prompts and references.
pub fn fresh_tokenizer(cfg: &RunConfig, train: &[Record]) -> Result<Tokenizer> {
    match &cfg.tokenizer.path {
        Some(p) => Tokenizer::load_file(p, None),
        None => {
            let texts: Vec<&str> = train.iter().flat_map(Record::texts).collect();
            Tokenizer::train(&texts, cfg.tokenizer.vocab_size)
        }
    }
}

/// Held-out evaluation as the config describes it: what the loop runs
/// after every step, and what `restlm eval` runs.
pub fn eval_setup<'a>(cfg: &RunConfig, records: &'a [Record]) -> EvalSetup<'a> {
    EvalSetup {
        records,
        max_prompt: cfg.data.max_prompt_tokens,
        sample: sample_options(cfg, cfg.seed ^ 0xE7A1),
        samples: cfg.eval.samples,
        reward_batch: cfg.reward.batch_size,
    }
}

/// Grow step `g` as the config describes it, over every prompt: what the
/// loop runs, and what `restlm grow` (sharded or not) runs too.
pub fn grow_setup<'a>(cfg: &RunConfig, g: usize, label: &'a str) -> GrowSetup<'a> {
    GrowSetup {
        grow_step: g,
        shard: crate::rest::grow::Shard::WHOLE,
        samples_per_prompt: cfg.rest.samples_per_prompt,
        include_dataset: cfg.rest.include_dataset,
        max_prompt: cfg.data.max_prompt_tokens,
        sample: sample_options(cfg, cfg.seed ^ 0x5EED),
        reward_batch: cfg.reward.batch_size,
        label,
    }
}

/// The training seed of Improve step `i` (from 1) on Grow step `g`: batch
/// order and nothing else (the loop's and the page's).
pub fn improve_seed(cfg: &RunConfig, g: usize, i: usize) -> u64 {
    cfg.seed
        .wrapping_add(1000 * g as u64 + i.saturating_sub(1) as u64)
}

/// Sampling as the config describes it, with `seed`: Grow, evaluation and
/// `restlm sample` start from these.
pub fn sample_options(cfg: &RunConfig, seed: u64) -> SampleOptions {
    SampleOptions {
        pick: PickOptions {
            temperature: cfg.sample.temperature,
            top_k: cfg.sample.top_k,
            top_p: cfg.sample.top_p,
        },
        max_new_tokens: cfg.sample.max_new_tokens,
        batch_size: cfg.sample.batch_size,
        seed,
        use_cache: true,
        on_device: true,
    }
}
