//! Grow: N samples per prompt from the current policy, each scored. The
//! grown set is an append-only JSONL file, flushed per batch of prompts, so
//! an interrupted Grow resumes with the prompts it had not finished.

use crate::data::{Record, demonstrations};
use crate::error::{Error, Result};
use crate::io::{JsonlAppender, read_jsonl, truncate_torn_tail, write_atomic};
use crate::policy::Policy;
use crate::reward::{self, Item, Reward};
use crate::sample::SampleOptions;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// One scored record of D_g.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Grown {
    pub grow: usize,
    pub prompt_id: String,
    /// Which of the N samples; None for D's own target.
    pub sample_index: Option<usize>,
    pub prompt: String,
    pub sample: String,
    pub reward: f64,
    /// log π(sample | prompt) under the policy that grew the set: recorded
    /// while sampling, and scored with the log-prob kernel for D's targets.
    pub logprob: Option<f64>,
    /// Ended with <eos> rather than at the length limit.
    pub finished: bool,
}

pub struct GrowSetup<'a> {
    pub grow_step: usize,
    pub samples_per_prompt: usize,
    pub include_dataset: bool,
    pub max_prompt: usize,
    pub sample: SampleOptions,
    pub reward_batch: usize,
    pub label: &'a str,
}

/// Reads what an earlier, interrupted Grow wrote: keeps only prompts with
/// all their rows (rewriting the file if a batch was cut mid-write).
fn resume(path: &Path, want: usize, include_dataset: bool) -> Result<Vec<Grown>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    truncate_torn_tail(path)?;
    let rows: Vec<Grown> = read_jsonl(path, true)?;
    let mut samples: HashMap<&str, usize> = HashMap::new();
    for r in rows.iter().filter(|r| r.sample_index.is_some()) {
        *samples.entry(&r.prompt_id).or_default() += 1;
    }
    let dataset_done = !include_dataset || rows.iter().any(|r| r.sample_index.is_none());
    // With N = 0 there are no samples, and D is the whole set.
    let dataset_done = dataset_done || want == 0 && rows.iter().any(|r| r.sample_index.is_none());
    let complete = |r: &Grown| match r.sample_index {
        Some(_) => samples.get(r.prompt_id.as_str()) == Some(&want),
        None => dataset_done,
    };
    if rows.iter().all(complete) {
        return Ok(rows);
    }
    let kept: Vec<Grown> = rows.iter().filter(|r| complete(r)).cloned().collect();
    let mut buf = Vec::new();
    for r in &kept {
        serde_json::to_writer(&mut buf, r).map_err(|e| Error::file(path, e))?;
        buf.push(b'\n');
    }
    write_atomic(path, &buf)?;
    Ok(kept)
}

/// D in a grown set: each record's target, scored by the reward, with π's
/// log-prob of it when given (the page, which cannot block, gives none).
pub fn dataset_rows(
    dataset: &[&Record],
    reward: &mut dyn Reward,
    setup: &GrowSetup<'_>,
    logprobs: Option<Vec<f64>>,
) -> Result<Vec<Grown>> {
    let targets: Vec<&str> = dataset
        .iter()
        .map(|r| r.target.as_deref().expect("a demonstration"))
        .collect();
    let items: Vec<Item> = dataset
        .iter()
        .zip(&targets)
        .map(|(r, t)| Item::of(r, t))
        .collect();
    let scores = reward::score_all(reward, &items, setup.reward_batch)?;
    let mut logprobs = logprobs.map(Vec::into_iter);
    Ok(dataset
        .iter()
        .zip(&targets)
        .zip(scores)
        .map(|((r, t), s)| Grown {
            grow: setup.grow_step,
            prompt_id: r.id.clone(),
            sample_index: None,
            prompt: r.prompt.clone(),
            sample: t.to_string(),
            reward: s,
            logprob: logprobs.as_mut().and_then(Iterator::next),
            finished: true,
        })
        .collect())
}

/// N samples for each of `chunk`'s prompts (with their positions in the
/// whole prompt list), scored. The random stream is seeded by the first
/// position, so a resumed Grow draws the same samples for a prompt as an
/// uninterrupted one would.
pub async fn sample_batch(
    policy: &Policy,
    chunk: &[(usize, &Record)],
    reward: &mut dyn Reward,
    setup: &GrowSetup<'_>,
) -> Result<Vec<Grown>> {
    let n = setup.samples_per_prompt;
    let prompts: Vec<&str> = chunk.iter().map(|(_, r)| r.prompt.as_str()).collect();
    let opts = SampleOptions {
        seed: setup.sample.seed ^ ((setup.grow_step as u64) << 40) ^ chunk[0].0 as u64,
        ..setup.sample.clone()
    };
    let completions = policy
        .complete_async(&prompts, n, setup.max_prompt, &opts)
        .await?;
    let items: Vec<Item> = chunk
        .iter()
        .zip(&completions)
        .flat_map(|((_, r), row)| row.iter().map(move |(text, _)| Item::of(r, text)))
        .collect();
    let mut scores = reward::score_all(reward, &items, setup.reward_batch)?.into_iter();
    let mut batch = Vec::with_capacity(items.len());
    for ((_, r), row) in chunk.iter().zip(&completions) {
        for (k, (text, g)) in row.iter().enumerate() {
            batch.push(Grown {
                grow: setup.grow_step,
                prompt_id: r.id.clone(),
                sample_index: Some(k),
                prompt: r.prompt.clone(),
                sample: text.clone(),
                reward: scores.next().expect("one score per sample"),
                logprob: Some(g.logprob),
                finished: g.finished,
            });
        }
    }
    Ok(batch)
}

/// Prompts per sampling batch: as many as fill `sample.batch_size` rows.
pub fn prompts_per_batch(setup: &GrowSetup<'_>) -> usize {
    (setup.sample.batch_size / setup.samples_per_prompt.max(1)).max(1)
}

/// Runs (or finishes) one Grow over `records`, appending to `path`;
/// returns the whole grown set: N samples of every prompt, labeled or
/// not, and (with `include_dataset`) D, the records that carry a target.
pub fn grow(
    policy: &Policy,
    records: &[Record],
    reward: &mut dyn Reward,
    setup: &GrowSetup<'_>,
    path: &Path,
) -> Result<Vec<Grown>> {
    let n = setup.samples_per_prompt;
    let mut rows = resume(path, n, setup.include_dataset)?;
    let mut out = JsonlAppender::open(path)?;
    let dataset = demonstrations(records);
    if setup.include_dataset
        && !dataset.is_empty()
        && !rows.iter().any(|r| r.sample_index.is_none())
    {
        // D's targets were not sampled: record π's log-prob of them too.
        let owned: Vec<Record> = dataset.iter().map(|r| (*r).clone()).collect();
        let logprobs = policy.score(&owned, setup.max_prompt, setup.sample.batch_size)?;
        let batch = dataset_rows(&dataset, reward, setup, Some(logprobs))?;
        out.append(&batch)?;
        rows.extend(batch);
    }
    if n == 0 {
        return Ok(rows);
    }
    let done: std::collections::HashSet<&str> = rows
        .iter()
        .filter(|r| r.sample_index.is_some())
        .map(|r| r.prompt_id.as_str())
        .collect();
    let todo: Vec<(usize, &Record)> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| !done.contains(r.id.as_str()))
        .collect();
    let bar =
        ProgressBar::new(records.len() as u64).with_position((records.len() - todo.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>14} {bar:30} {pos}/{len} prompts {msg} [{elapsed}<{eta}]",
        )
        .expect("template"),
    );
    bar.set_prefix(setup.label.to_string());
    for chunk in todo.chunks(prompts_per_batch(setup)) {
        let batch = pollster::block_on(sample_batch(policy, chunk, reward, setup))?;
        out.append(&batch)?;
        let mean = batch.iter().map(|g| g.reward).sum::<f64>() / batch.len() as f64;
        bar.set_message(format!("batch reward {mean:.1}"));
        bar.inc(chunk.len() as u64);
        rows.extend(batch);
    }
    bar.finish_and_clear();
    Ok(rows)
}
