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

use super::grow::{GrowSetup, Grown, Origin, Shard, grow};
use crate::data::Record;
use crate::error::{Error, Result};
use crate::io::{Fnv, file_hash, read_json, read_jsonl, write_json_atomic, write_jsonl_atomic};
use crate::policy::Policy;
use crate::reward::Reward;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
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
    fn inputs(&self) -> [(&'static str, String); 8] {
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

fn manifest_file(dir: &Path, shard: Shard) -> PathBuf {
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

fn first_difference(a: &Manifest, b: &Manifest) -> Option<(&'static str, String, String)> {
    a.inputs()
        .into_iter()
        .zip(b.inputs())
        .find(|((_, x), (_, y))| x != y)
        .map(|((what, x), (_, y))| (what, x, y))
}

/// What [`merge`] wrote.
#[derive(Debug)]
pub struct Merged {
    pub shards: usize,
    pub prompts: usize,
    pub rows: usize,
}

/// Checks the shards in `dir` and writes the grown set one process would
/// have written to `out` (atomically; running it again writes the same
/// file). Refuses, naming the shard: a missing shard or manifest, shards
/// of different counts or inputs (policy, data, seed, grow step,
/// settings), a file that does not match its manifest, a prompt in two
/// shards, prompts not covering the data, a sample twice or missing, a
/// row of a prompt the shard does not own.
pub fn merge(dir: &Path, out: &Path) -> Result<Merged> {
    let mut manifests: Vec<(PathBuf, Manifest)> = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for e in entries {
        let path = e.map_err(|e| Error::io(dir, e))?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with("grown.") && name.ends_with(".json") {
            let m: Manifest = read_json(&path)?;
            manifests.push((path, m));
        }
    }
    let Some((first_path, first)) = manifests.first().cloned() else {
        return Err(Error::file(
            dir,
            "no shard manifest (grown.i-of-N.json) here",
        ));
    };
    let n = first.shards;
    for (path, m) in &manifests {
        if let Some((what, was, now)) = first_difference(&first, m) {
            return Err(Error::file(
                path,
                format!(
                    "shard {}/{} has another {what} than {} ({now} against {was}): \
                     shards of one Grow must come from the same inputs",
                    m.shard,
                    m.shards,
                    first_path.display()
                ),
            ));
        }
    }
    let mut by_index: Vec<Option<&Manifest>> = vec![None; n];
    for (path, m) in &manifests {
        if m.shard >= n || by_index[m.shard].is_some() {
            return Err(Error::file(
                path,
                format!("shard {}/{n} appears twice or out of range", m.shard),
            ));
        }
        by_index[m.shard] = Some(m);
    }
    if let Some(i) = by_index.iter().position(Option::is_none) {
        return Err(Error::file(
            dir,
            format!("shard {i}/{n} is missing (no grown.{i}-of-{n}.json): grow it first"),
        ));
    }
    let shards: Vec<&Manifest> = by_index.into_iter().flatten().collect();

    // Disjoint, and covering the data in its order: record g is shard
    // g mod N's (g div N)-th prompt.
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for m in &shards {
        for id in &m.prompt_ids {
            if let Some(other) = owner.insert(id, m.shard) {
                return Err(Error::file(
                    shard_file(
                        dir,
                        Shard {
                            index: m.shard,
                            count: n,
                        },
                    ),
                    format!(
                        "prompt `{id}` is in shard {other}/{n} and in shard {}/{n}",
                        m.shard
                    ),
                ));
            }
        }
    }
    for m in &shards {
        let want = (first.records + n - 1 - m.shard) / n;
        if m.prompt_ids.len() != want {
            return Err(Error::file(
                manifest_file(
                    dir,
                    Shard {
                        index: m.shard,
                        count: n,
                    },
                ),
                format!(
                    "shard {}/{n} owns {} prompts; {} records split {n} ways give it {want}",
                    m.shard,
                    m.prompt_ids.len(),
                    first.records
                ),
            ));
        }
    }

    let mut dataset: HashMap<String, Grown> = HashMap::new();
    let mut samples: HashMap<String, Vec<Option<Grown>>> = HashMap::new();
    for m in &shards {
        let shard = Shard {
            index: m.shard,
            count: n,
        };
        let path = shard_file(dir, shard);
        if !path.exists() {
            return Err(Error::file(
                &path,
                format!("shard {shard} has a manifest but no file"),
            ));
        }
        let sum = file_hash(&path)?;
        if sum != m.checksum {
            return Err(Error::file(
                &path,
                format!(
                    "checksum {sum} does not match its manifest's {}",
                    m.checksum
                ),
            ));
        }
        let rows: Vec<Grown> = read_jsonl(&path, false)?;
        if rows.len() != m.rows {
            return Err(Error::file(
                &path,
                format!("{} rows; its manifest says {}", rows.len(), m.rows),
            ));
        }
        for r in rows {
            if owner.get(r.prompt_id.as_str()) != Some(&m.shard) {
                return Err(Error::file(
                    &path,
                    format!(
                        "a row of prompt `{}`, which shard {shard} does not own",
                        r.prompt_id
                    ),
                ));
            }
            if r.grow != m.grow_step {
                return Err(Error::file(
                    &path,
                    format!(
                        "a row of grow step {} in a shard of grow step {}",
                        r.grow, m.grow_step
                    ),
                ));
            }
            match r.origin {
                Origin::Dataset => {
                    let id = r.prompt_id.clone();
                    if dataset.insert(id.clone(), r).is_some() {
                        return Err(Error::file(
                            &path,
                            format!("prompt `{id}`'s dataset row appears twice"),
                        ));
                    }
                }
                Origin::Sample(k) => {
                    let slots = samples
                        .entry(r.prompt_id.clone())
                        .or_insert_with(|| vec![None; m.samples_per_prompt]);
                    let id = r.prompt_id.clone();
                    match slots.get_mut(k) {
                        Some(slot @ None) => *slot = Some(r),
                        Some(Some(_)) => {
                            return Err(Error::file(
                                &path,
                                format!("sample {k} of prompt `{id}` appears twice"),
                            ));
                        }
                        None => {
                            return Err(Error::file(
                                &path,
                                format!(
                                    "sample index {k} of prompt `{id}` is beyond N = {}",
                                    m.samples_per_prompt
                                ),
                            ));
                        }
                    }
                }
            }
        }
    }

    // One process's order: D's rows, then every prompt's samples, both in
    // data order.
    let order: Vec<(usize, &str)> = (0..first.records)
        .map(|g| (g % n, shards[g % n].prompt_ids[g / n].as_str()))
        .collect();
    let mut merged: Vec<Grown> = Vec::new();
    for (_, id) in &order {
        if let Some(r) = dataset.remove(*id) {
            merged.push(r);
        }
    }
    for (shard, id) in &order {
        if first.samples_per_prompt == 0 {
            break;
        }
        let slots = samples.remove(*id).unwrap_or_default();
        if slots.len() != first.samples_per_prompt || slots.iter().any(Option::is_none) {
            let have = slots.iter().flatten().count();
            return Err(Error::file(
                shard_file(
                    dir,
                    Shard {
                        index: *shard,
                        count: n,
                    },
                ),
                format!(
                    "prompt `{id}` has {have} of its {} samples",
                    first.samples_per_prompt
                ),
            ));
        }
        merged.extend(slots.into_iter().flatten());
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    write_jsonl_atomic(out, &merged)?;
    Ok(Merged {
        shards: n,
        prompts: first.records,
        rows: merged.len(),
    })
}
