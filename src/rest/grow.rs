//! Grow: N samples per prompt from the current policy, each scored. The
//! grown set is an append-only JSONL file, flushed per batch of prompts, so
//! an interrupted Grow resumes with the prompts it had not finished.

use crate::data::{Record, demonstrations};
use crate::error::Result;
use crate::io::{Fnv, JsonlAppender, read_jsonl, truncate_torn_tail, write_jsonl_atomic};
use crate::policy::Policy;
use crate::reward::{self, Item, Reward};
use crate::sample::SampleOptions;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// One scored record of D_g.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Grown {
    pub grow: usize,
    pub prompt_id: String,
    /// D's own target, or which of the N samples (`sample_index` in the
    /// file: null for D).
    #[serde(rename = "sample_index", with = "origin_as_index")]
    pub origin: Origin,
    pub prompt: String,
    pub sample: String,
    pub reward: f64,
    /// log π(sample | prompt) under the policy that grew the set: recorded
    /// while sampling, and scored with the log-prob kernel for D's targets.
    pub logprob: Option<f64>,
    /// Ended with `<eos>` rather than at the length limit.
    pub finished: bool,
    /// Which part of a mixed reward scored it ("gold", "model"); absent
    /// for a single reward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scored_by: Option<String>,
}

/// Where a grown record's output comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// The dataset's own target (D's demonstration).
    Dataset,
    /// Sample k of the N drawn from the policy.
    Sample(usize),
}

impl Origin {
    pub fn is_sample(self) -> bool {
        matches!(self, Origin::Sample(_))
    }
}

/// `Origin` as the files have it: `sample_index` null for D, else k.
mod origin_as_index {
    use super::Origin;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(o: &Origin, s: S) -> Result<S::Ok, S::Error> {
        match o {
            Origin::Dataset => None::<usize>.serialize(s),
            Origin::Sample(k) => Some(*k).serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Origin, D::Error> {
        Ok(Option::<usize>::deserialize(d)?.map_or(Origin::Dataset, Origin::Sample))
    }
}

pub struct GrowSetup<'a> {
    pub grow_step: usize,
    /// The part of the prompts this process samples (all of them by default).
    pub shard: Shard,
    pub samples_per_prompt: usize,
    pub include_dataset: bool,
    pub max_prompt: usize,
    pub sample: SampleOptions,
    pub reward_batch: usize,
    pub label: &'a str,
}

/// Which records a Grow process samples: record i belongs to shard
/// i mod `count`. `Shard::WHOLE` is every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    pub fn owns(&self, record: usize) -> bool {
        record % self.count == self.index
    }

    /// "i/N" with 0 ≤ i < N.
    pub fn parse(s: &str) -> std::result::Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("shard `{s}`: expected INDEX/COUNT, e.g. 0/4"))?;
        let index: usize = i
            .trim()
            .parse()
            .map_err(|_| format!("shard `{s}`: index `{i}` is not a number"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("shard `{s}`: count `{n}` is not a number"))?;
        Shard::new(index, count)
    }

    pub fn new(index: usize, count: usize) -> std::result::Result<Shard, String> {
        if count == 0 || index >= count {
            return Err(format!(
                "shard {index}/{count}: the index must be below the count (0 ≤ i < N)"
            ));
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Reads what an earlier, interrupted Grow wrote: keeps only prompts with
/// all their rows, and D's rows only if all `dataset` of them are there
/// (rewriting the file if a batch was cut mid-write).
fn resume(path: &Path, want: usize, dataset: usize) -> Result<Vec<Grown>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    truncate_torn_tail(path)?;
    let rows: Vec<Grown> = read_jsonl(path, true)?;
    let mut samples: HashMap<&str, usize> = HashMap::new();
    for r in rows.iter().filter(|r| r.origin.is_sample()) {
        *samples.entry(&r.prompt_id).or_default() += 1;
    }
    let dataset_done = rows.iter().filter(|r| !r.origin.is_sample()).count() == dataset;
    let complete = |r: &Grown| match r.origin {
        Origin::Sample(_) => samples.get(r.prompt_id.as_str()) == Some(&want),
        Origin::Dataset => dataset_done,
    };
    if rows.iter().all(complete) {
        return Ok(rows);
    }
    let kept: Vec<Grown> = rows.iter().filter(|r| complete(r)).cloned().collect();
    write_jsonl_atomic(path, &kept)?;
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
        .zip(&items)
        .map(|(((r, t), s), item)| Grown {
            grow: setup.grow_step,
            prompt_id: r.id.clone(),
            origin: Origin::Dataset,
            prompt: r.prompt.clone(),
            sample: t.to_string(),
            reward: s,
            logprob: logprobs.as_mut().and_then(Iterator::next),
            finished: true,
            scored_by: reward.scorer(item).map(str::to_string),
        })
        .collect())
}

/// N samples for each of `chunk`'s prompts, scored. Each prompt draws
/// from streams keyed by (seed, grow step, prompt id), and prompts are
/// padded to at least `prompt_len` positions (the longest prompt of the
/// whole set, or 0): a prompt's samples are then the same whichever batch,
/// shard or resumed run draws them.
pub async fn sample_batch(
    policy: &Policy,
    chunk: &[&Record],
    prompt_len: usize,
    reward: &mut dyn Reward,
    setup: &GrowSetup<'_>,
) -> Result<Vec<Grown>> {
    let n = setup.samples_per_prompt;
    let ids = chunk
        .iter()
        .map(|r| policy.prompt_ids(&r.prompt, setup.max_prompt))
        .collect::<Result<Vec<_>>>()?;
    let keyed: Vec<(&[u32], u64)> = chunk
        .iter()
        .zip(&ids)
        .map(|(r, ids)| (ids.as_slice(), prompt_key(setup, &r.id)))
        .collect();
    let completions = policy
        .complete_keyed_async(&keyed, n, prompt_len, &setup.sample)
        .await?;
    let items: Vec<Item> = chunk
        .iter()
        .zip(&completions)
        .flat_map(|(r, row)| row.iter().map(move |(text, _)| Item::of(r, text)))
        .collect();
    let mut scores = reward::score_all(reward, &items, setup.reward_batch)?.into_iter();
    let mut scored_by = items.iter().map(|i| reward.scorer(i));
    let mut batch = Vec::with_capacity(items.len());
    for (r, row) in chunk.iter().zip(&completions) {
        for (k, (text, g)) in row.iter().enumerate() {
            batch.push(Grown {
                grow: setup.grow_step,
                prompt_id: r.id.clone(),
                origin: Origin::Sample(k),
                prompt: r.prompt.clone(),
                sample: text.clone(),
                reward: scores.next().expect("one score per sample"),
                logprob: Some(g.logprob),
                finished: g.finished,
                scored_by: scored_by.next().flatten().map(str::to_string),
            });
        }
    }
    Ok(batch)
}

/// The key of a prompt's random streams in Grow step `setup.grow_step`.
fn prompt_key(setup: &GrowSetup<'_>, prompt_id: &str) -> u64 {
    crate::sample::stream_key(
        setup.sample.seed,
        &[setup.grow_step as u64, Fnv::of(prompt_id.as_bytes())],
    )
}

/// The longest `<bos> prompt <sep>` of `records`, in tokens.
pub fn longest_prompt(policy: &Policy, records: &[Record], max_prompt: usize) -> Result<usize> {
    records.iter().try_fold(0, |m, r| {
        Ok(m.max(policy.prompt_ids(&r.prompt, max_prompt)?.len()))
    })
}

/// Prompts per sampling batch: as many as fill `sample.batch_size` rows.
pub fn prompts_per_batch(setup: &GrowSetup<'_>) -> usize {
    (setup.sample.batch_size / setup.samples_per_prompt.max(1)).max(1)
}

/// Runs (or finishes) one Grow over the records `setup.shard` owns,
/// appending to `path`; returns the whole grown set: N samples of every
/// owned prompt, labeled or not, and (with `include_dataset`) D, the owned
/// records that carry a target.
pub fn grow(
    policy: &Policy,
    records: &[Record],
    reward: &mut dyn Reward,
    setup: &GrowSetup<'_>,
    path: &Path,
) -> Result<Vec<Grown>> {
    let n = setup.samples_per_prompt;
    let owned: Vec<&Record> = records
        .iter()
        .enumerate()
        .filter(|(i, _)| setup.shard.owns(*i))
        .map(|(_, r)| r)
        .collect();
    let dataset: Vec<&Record> = if setup.include_dataset {
        demonstrations(owned.iter().copied())
    } else {
        Vec::new()
    };
    let mut rows = resume(path, n, dataset.len())?;
    let mut out = JsonlAppender::open(path)?;
    if !dataset.is_empty() && !rows.iter().any(|r| !r.origin.is_sample()) {
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
    let prompt_len = longest_prompt(policy, records, setup.max_prompt)?;
    let done: HashSet<&str> = rows
        .iter()
        .filter(|r| r.origin.is_sample())
        .map(|r| r.prompt_id.as_str())
        .collect();
    let todo: Vec<&Record> = owned
        .iter()
        .copied()
        .filter(|r| !done.contains(r.id.as_str()))
        .collect();
    let bar = ProgressBar::new(owned.len() as u64).with_position((owned.len() - todo.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>14} {bar:30} {pos}/{len} prompts {msg} [{elapsed}<{eta}]",
        )
        .expect("template"),
    );
    bar.set_prefix(setup.label.to_string());
    for chunk in todo.chunks(prompts_per_batch(setup)) {
        let batch = pollster::block_on(sample_batch(policy, chunk, prompt_len, reward, setup))?;
        out.append(&batch)?;
        let mean = batch.iter().map(|g| g.reward).sum::<f64>() / batch.len() as f64;
        bar.set_message(format!("batch reward {mean:.1}"));
        bar.inc(chunk.len() as u64);
        rows.extend(batch);
    }
    bar.finish_and_clear();
    Ok(rows)
}
