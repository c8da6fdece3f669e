//! `merge`: the shards of one Grow checked against each other and written
//! as the grown set one process would have written, in named phases: read
//! the manifests, check they share their inputs, index them, check who
//! owns which prompt, read and check the rows, put them in one process's
//! order.

use super::{Manifest, first_difference, manifest_file, shard_file};
use crate::error::{Error, Result};
use crate::io::{file_hash, read_json, read_jsonl, write_jsonl_atomic};
use crate::rest::grow::{Grown, Origin, Shard};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

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
    let manifests = read_manifests(dir)?;
    let first = same_inputs(&manifests)?;
    let shards = by_index(dir, &manifests, first.shards)?;
    let owner = ownership(dir, &shards, first)?;
    let rows = read_rows(dir, &shards, &owner)?;
    let merged = one_process_order(dir, &shards, first, rows)?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    write_jsonl_atomic(out, &merged)?;
    Ok(Merged {
        shards: first.shards,
        prompts: first.records,
        rows: merged.len(),
    })
}

/// Every manifest (`grown.i-of-N.json`) in `dir`, at least one.
fn read_manifests(dir: &Path) -> Result<Vec<(PathBuf, Manifest)>> {
    let mut manifests = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for e in entries {
        let path = e.map_err(|e| Error::io(dir, e))?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with("grown.") && name.ends_with(".json") {
            let m: Manifest = read_json(&path)?;
            manifests.push((path, m));
        }
    }
    if manifests.is_empty() {
        return Err(Error::file(
            dir,
            "no shard manifest (grown.i-of-N.json) here",
        ));
    }
    Ok(manifests)
}

/// The first manifest, once every other one has the same inputs (policy,
/// data, seed, grow step, settings, shard count).
fn same_inputs(manifests: &[(PathBuf, Manifest)]) -> Result<&Manifest> {
    let (first_path, first) = &manifests[0];
    for (path, m) in manifests {
        if let Some((what, was, now)) = first_difference(first, m) {
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
    Ok(first)
}

/// The manifests by shard index: each of the `n` once.
fn by_index<'a>(
    dir: &Path,
    manifests: &'a [(PathBuf, Manifest)],
    n: usize,
) -> Result<Vec<&'a Manifest>> {
    let mut by_index: Vec<Option<&Manifest>> = vec![None; n];
    for (path, m) in manifests {
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
    Ok(by_index.into_iter().flatten().collect())
}

fn shard(index: usize, count: usize) -> Shard {
    Shard { index, count }
}

/// Which shard owns each prompt, once the shards are disjoint and cover
/// the data in its order: record g is shard g mod N's (g div N)-th prompt.
fn ownership<'a>(
    dir: &Path,
    shards: &[&'a Manifest],
    first: &Manifest,
) -> Result<HashMap<&'a str, usize>> {
    let n = first.shards;
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for m in shards {
        for id in &m.prompt_ids {
            if let Some(other) = owner.insert(id, m.shard) {
                return Err(Error::file(
                    shard_file(dir, shard(m.shard, n)),
                    format!(
                        "prompt `{id}` is in shard {other}/{n} and in shard {}/{n}",
                        m.shard
                    ),
                ));
            }
        }
    }
    for m in shards {
        let want = (first.records + n - 1 - m.shard) / n;
        if m.prompt_ids.len() != want {
            return Err(Error::file(
                manifest_file(dir, shard(m.shard, n)),
                format!(
                    "shard {}/{n} owns {} prompts; {} records split {n} ways give it {want}",
                    m.shard,
                    m.prompt_ids.len(),
                    first.records
                ),
            ));
        }
    }
    Ok(owner)
}

/// The shards' rows: D's row of each prompt, and its samples by index.
#[derive(Default)]
struct Rows {
    dataset: HashMap<String, Grown>,
    samples: HashMap<String, Vec<Option<Grown>>>,
}

/// Every shard's rows, once its file matches its manifest (checksum, row
/// count) and each row belongs there (an owned prompt, the grow step, a
/// sample index below N, nothing twice).
fn read_rows(dir: &Path, shards: &[&Manifest], owner: &HashMap<&str, usize>) -> Result<Rows> {
    let mut rows = Rows::default();
    for m in shards {
        let shard = shard(m.shard, m.shards);
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
        let grown: Vec<Grown> = read_jsonl(&path, false)?;
        if grown.len() != m.rows {
            return Err(Error::file(
                &path,
                format!("{} rows; its manifest says {}", grown.len(), m.rows),
            ));
        }
        for r in grown {
            rows.add(r, m, owner, &path)?;
        }
    }
    Ok(rows)
}

impl Rows {
    /// Files row `r` of shard `m` (read from `path`).
    fn add(
        &mut self,
        r: Grown,
        m: &Manifest,
        owner: &HashMap<&str, usize>,
        path: &Path,
    ) -> Result<()> {
        let shard = shard(m.shard, m.shards);
        if owner.get(r.prompt_id.as_str()) != Some(&m.shard) {
            return Err(Error::file(
                path,
                format!(
                    "a row of prompt `{}`, which shard {shard} does not own",
                    r.prompt_id
                ),
            ));
        }
        if r.grow != m.grow_step {
            return Err(Error::file(
                path,
                format!(
                    "a row of grow step {} in a shard of grow step {}",
                    r.grow, m.grow_step
                ),
            ));
        }
        let id = r.prompt_id.clone();
        match r.origin {
            Origin::Dataset => {
                if self.dataset.insert(id.clone(), r).is_some() {
                    return Err(Error::file(
                        path,
                        format!("prompt `{id}`'s dataset row appears twice"),
                    ));
                }
            }
            Origin::Sample(k) => {
                let slots = self
                    .samples
                    .entry(id.clone())
                    .or_insert_with(|| vec![None; m.samples_per_prompt]);
                match slots.get_mut(k) {
                    Some(slot @ None) => *slot = Some(r),
                    Some(Some(_)) => {
                        return Err(Error::file(
                            path,
                            format!("sample {k} of prompt `{id}` appears twice"),
                        ));
                    }
                    None => {
                        return Err(Error::file(
                            path,
                            format!(
                                "sample index {k} of prompt `{id}` is beyond N = {}",
                                m.samples_per_prompt
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// One process's order: D's rows, then every prompt's samples, both in
/// data order; a prompt missing a sample is an error naming its shard.
fn one_process_order(
    dir: &Path,
    shards: &[&Manifest],
    first: &Manifest,
    mut rows: Rows,
) -> Result<Vec<Grown>> {
    let n = first.shards;
    let order: Vec<(usize, &str)> = (0..first.records)
        .map(|g| (g % n, shards[g % n].prompt_ids[g / n].as_str()))
        .collect();
    let mut merged: Vec<Grown> = Vec::new();
    for (_, id) in &order {
        if let Some(r) = rows.dataset.remove(*id) {
            merged.push(r);
        }
    }
    if first.samples_per_prompt == 0 {
        return Ok(merged);
    }
    for (index, id) in &order {
        let slots = rows.samples.remove(*id).unwrap_or_default();
        if slots.len() != first.samples_per_prompt || slots.iter().any(Option::is_none) {
            let have = slots.iter().flatten().count();
            return Err(Error::file(
                shard_file(dir, shard(*index, n)),
                format!(
                    "prompt `{id}` has {have} of its {} samples",
                    first.samples_per_prompt
                ),
            ));
        }
        merged.extend(slots.into_iter().flatten());
    }
    Ok(merged)
}
