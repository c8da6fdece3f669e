//! Grow spread over processes: shard i of N samples the records whose
//! position is i mod N (a Slurm job array, a Kubernetes Indexed Job, or
//! plain processes), each into its own file with a manifest, and
//! [`merge`] checks the shards against each other and writes the grown
//! set one process would have written.
//!
//! Files in the shard directory, for shard i of N:
//! - `grown.i-of-N.part.jsonl`: appended while sampling (resumable);
//! - `grown.i-of-N.json`: the manifest, written once the shard is complete;
//! - `grown.i-of-N.jsonl`: the finished shard (renamed from the part file);
//! - `grown.i-of-N.lock`: held while a process works on the shard, so a
//!   second copy of the same shard waits and then finds it done.

use super::grow::{GrowSetup, Grown, Shard, grow};
use crate::data::Record;
use crate::error::{Error, Result};
use crate::io::{Fnv, file_hash, read_json, write_json_atomic};
use crate::policy::Policy;
use crate::reward::Reward;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

/// What a finished shard holds and what it was grown from: merge refuses
/// shards whose inputs differ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub shard: usize,
    pub shards: usize,
    pub grow_step: usize,
    pub seed: u64,
    pub samples_per_prompt: usize,
    pub include_dataset: bool,
    /// FNV-1a of the policy's weights and config.
    pub policy: String,
    /// FNV-1a of every record (ids, prompts, targets, references, meta).
    pub data: String,
    /// FNV-1a of the sampling settings, prompt limit and reward.
    pub settings: String,
    /// Records in the whole data set.
    pub records: usize,
    /// The ids of the records this shard owns, in data order.
    pub prompt_ids: Vec<String>,
    /// Rows in the shard file: N per owned prompt, plus D's rows.
    pub rows: usize,
    /// FNV-1a of the shard file.
    pub checksum: String,
}

impl Manifest {
    /// The inputs two shards of one Grow must share, with their names.
    pub(super) fn inputs(&self) -> [(&'static str, String); 8] {
        [
            ("shard count", self.shards.to_string()),
            ("grow step", self.grow_step.to_string()),
            ("seed", self.seed.to_string()),
            ("samples per prompt", self.samples_per_prompt.to_string()),
            ("include_dataset", self.include_dataset.to_string()),
            ("policy (weights hash)", self.policy.clone()),
            ("data (hash)", self.data.clone()),
            ("sampling and reward settings (hash)", self.settings.clone()),
        ]
    }
}

/// The shard a process should grow: `explicit` ("i/N") when given, else
/// Slurm's job array variables (`SLURM_ARRAY_TASK_ID` minus
/// `SLURM_ARRAY_TASK_MIN`, of `SLURM_ARRAY_TASK_COUNT`), else Kubernetes'
/// `JOB_COMPLETION_INDEX` of `shards`.
pub fn shard_from_env(
    explicit: Option<&str>,
    shards: Option<usize>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Shard> {
    let num = |name: &str| -> Result<Option<usize>> {
        env(name)
            .map(|v| {
                v.trim()
                    .parse::<usize>()
                    .map_err(|_| Error::Config(format!("{name}={v} is not a number")))
            })
            .transpose()
    };
    let shard = if let Some(s) = explicit {
        Shard::parse(s)
    } else if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
        let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let count = match shards {
            Some(n) => n,
            None => num("SLURM_ARRAY_TASK_COUNT")?.ok_or_else(|| {
                Error::Config("SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_COUNT".into())
            })?,
        };
        Shard::new(id.checked_sub(min).unwrap_or(usize::MAX), count)
    } else if let Some(index) = num("JOB_COMPLETION_INDEX")? {
        let count = shards.ok_or_else(|| {
            Error::Config(
                "JOB_COMPLETION_INDEX is set: give the number of shards with --shards".into(),
            )
        })?;
        Shard::new(index, count)
    } else {
        return Err(Error::Config(
            "--shard without a value needs SLURM_ARRAY_TASK_ID (a Slurm job array) or \
             JOB_COMPLETION_INDEX (a Kubernetes Indexed Job); or give --shard i/N"
                .into(),
        ));
    };
    shard.map_err(Error::Config)
}

fn stem(shard: Shard) -> String {
    format!("grown.{}-of-{}", shard.index, shard.count)
}

/// The finished shard file of `shard` in `dir`.
pub fn shard_file(dir: &Path, shard: Shard) -> PathBuf {
    dir.join(format!("{}.jsonl", stem(shard)))
}

pub(super) fn manifest_file(dir: &Path, shard: Shard) -> PathBuf {
    dir.join(format!("{}.json", stem(shard)))
}

/// FNV-1a over every field of every record, in order.
pub fn data_hash(records: &[Record]) -> String {
    let mut h = Fnv::default();
    for r in records {
        let meta = r.meta.as_ref().map(|m| m.to_string());
        let fields = [
            Some(&r.id),
            Some(&r.prompt),
            r.target.as_ref(),
            meta.as_ref(),
        ];
        for f in fields {
            match f {
                Some(s) => {
                    h.update(&(s.len() as u64).to_le_bytes());
                    h.update(s.as_bytes());
                }
                None => h.update(&u64::MAX.to_le_bytes()),
            }
        }
        h.update(&(r.references.len() as u64).to_le_bytes());
        for s in &r.references {
            h.update(&(s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        }
    }
    h.hex()
}

/// What [`grow_shard`] did.
#[derive(Debug)]
pub enum ShardOutcome {
    /// Sampled (or finished) the shard: its rows.
    Grown(Vec<Grown>),
    /// The shard was already complete, from the same inputs.
    AlreadyDone(Manifest),
}

/// Grows `setup.shard` of `records` into `dir`, resuming an interrupted
/// attempt; a complete shard from the same inputs is left as it is, one
/// from other inputs is an error. `policy_path` is what the policy was
/// loaded from (its weights are hashed into the manifest); `settings`
/// describes the reward (hashed too).
pub fn grow_shard(
    policy: &Policy,
    policy_path: &Path,
    records: &[Record],
    reward: &mut dyn Reward,
    setup: &GrowSetup<'_>,
    settings: &str,
    dir: &Path,
) -> Result<ShardOutcome> {
    let shard = setup.shard;
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let lock_path = dir.join(format!("{}.lock", stem(shard)));
    let lock = fs::File::create(&lock_path).map_err(|e| Error::io(&lock_path, e))?;
    // Held until this function returns: a second copy of this shard waits
    // here, then finds it finished.
    lock.lock().map_err(|e| Error::io(&lock_path, e))?;

    let mut settings_hash = Fnv::default();
    settings_hash.update(format!("{:?}|{}|{settings}", setup.sample, setup.max_prompt).as_bytes());
    let mut manifest = Manifest {
        shard: shard.index,
        shards: shard.count,
        grow_step: setup.grow_step,
        seed: setup.sample.seed,
        samples_per_prompt: setup.samples_per_prompt,
        include_dataset: setup.include_dataset,
        policy: crate::model::checkpoint::weights_hash(policy_path)?,
        data: data_hash(records),
        settings: settings_hash.hex(),
        records: records.len(),
        prompt_ids: records
            .iter()
            .enumerate()
            .filter(|(i, _)| shard.owns(*i))
            .map(|(_, r)| r.id.clone())
            .collect(),
        rows: 0,
        checksum: String::new(),
    };
    let (done, mpath) = (shard_file(dir, shard), manifest_file(dir, shard));
    if done.exists() && mpath.exists() {
        let old: Manifest = read_json(&mpath)?;
        if let Some((what, was, now)) = first_difference(&old, &manifest) {
            return Err(Error::file(
                &done,
                format!(
                    "this shard was grown with another {what} ({was}, now {now}); \
                     delete it (and {}) to grow it again",
                    mpath.display()
                ),
            ));
        }
        return Ok(ShardOutcome::AlreadyDone(old));
    }
    let part = dir.join(format!("{}.part.jsonl", stem(shard)));
    if done.exists() {
        // Renamed but the manifest was never written: finish it again.
        fs::rename(&done, &part).map_err(|e| Error::io(&done, e))?;
    }
    let rows = grow(policy, records, reward, setup, &part)?;
    let file = fs::File::open(&part).map_err(|e| Error::io(&part, e))?;
    file.sync_all().map_err(|e| Error::io(&part, e))?;
    manifest.rows = rows.len();
    manifest.checksum = file_hash(&part)?;
    write_json_atomic(&mpath, &manifest)?;
    fs::rename(&part, &done).map_err(|e| Error::io(&part, e))?;
    sync_dir(dir)?;
    Ok(ShardOutcome::Grown(rows))
}

/// Makes a rename in `dir` durable (a no-op where directories cannot be
/// opened as files).
fn sync_dir(dir: &Path) -> Result<()> {
    if cfg!(unix) {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, e))?;
    }
    Ok(())
}

/// The first input (policy, data, seed, …) two manifests differ in: its
/// name and both values.
fn first_difference(a: &Manifest, b: &Manifest) -> Option<(&'static str, String, String)> {
    a.inputs()
        .into_iter()
        .zip(b.inputs())
        .find(|((_, x), (_, y))| x != y)
        .map(|((what, x), (_, y))| (what, x, y))
}

mod merge;
pub use merge::{Merged, merge};
