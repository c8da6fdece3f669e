//! `compare`'s `rest-rm` arm (`[rm] compare = true`): the paper's setting,
//! where most prompts have no checker. Per seed, the SFT policy samples the
//! labeled prompts hot (`rm.grow_samples` at `rm.grow_temperature`), the
//! configured reward — gold, visible on the labeled prompts only — scores
//! them, a reward model is trained on them from the SFT policy's trunk,
//! and ReST runs with gold on the labeled prompts and the reward model on
//! the prompt-only ones.

use super::grow::{Grown, Origin, grow};
use super::setup::{grow_setup, load_data, reward_for};
use crate::config::{OneOrMany, RewardKind, RunConfig};
use crate::data::{Record, demonstrations};
use crate::error::Result;
use crate::io::write_jsonl_atomic;
use crate::policy::Policy;
use crate::reward::{Item, Reward};
use crate::rm::{self, Options};
use burn::prelude::Device;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The reward models of one seed under `base/rm` (trained when missing,
/// resumed when interrupted) from the SFT policy at `sft_dir`.
pub fn reward_models(
    cfg: &RunConfig,
    base: &Path,
    sft_dir: &Path,
    device: &Device,
) -> Result<Vec<PathBuf>> {
    let out = base.join("rm");
    let dirs = rm::member_dirs(&out, cfg.rm.members);
    if dirs
        .iter()
        .all(|d| d.join(crate::reward::learned::RM_INFO).exists())
    {
        return Ok(dirs);
    }
    eprintln!("seed {}: reward model for arm rest-rm", cfg.seed);
    let data = base.join("rm-data.jsonl");
    let (train, eval) = load_data(cfg)?;
    let labeled: Vec<Record> = demonstrations(&train).into_iter().cloned().collect();
    let mut gold = reward_for(cfg, &labeled, &eval, device)?;
    let policy = Policy::load_as(sft_dir, cfg.tokenizer.prompt_format, device)?;
    let mut setup = grow_setup(cfg, 1, "rm data");
    setup.samples_per_prompt = cfg.rm.grow_samples;
    setup.include_dataset = true;
    setup.sample.pick.temperature = cfg.rm.grow_temperature;
    let rows = grow(&policy, &labeled, gold.as_mut(), &setup, &data)?;
    let mut from_grown = vec![data];
    if cfg.rm.perturbations > 0 {
        let path = base.join("rm-near-misses.jsonl");
        let near = near_misses(
            &rows,
            &labeled,
            (cfg.rm.perturbations, cfg.seed),
            gold.as_mut(),
            cfg.reward.batch_size,
        )?;
        write_jsonl_atomic(&path, &near)?;
        from_grown.push(path);
    }
    let o = Options {
        init: sft_dir.to_path_buf(),
        data: vec![],
        from_grown,
        out,
    };
    for (dir, report) in rm::train_all(cfg, &o, device)? {
        eprintln!("{}: {}", dir.display(), report.lines().join("; "));
    }
    Ok(dirs)
}

/// The `rest` arm's config with the reward models in `dirs` scoring the
/// prompt-only records and the configured reward the rest.
pub fn config(cfg: &RunConfig, dirs: Vec<PathBuf>) -> RunConfig {
    let mut c = cfg.clone();
    c.reward.gold = Some(cfg.reward.kind);
    c.reward.kind = RewardKind::Model;
    c.reward.path = Some(OneOrMany::Many(dirs));
    c
}

/// `per_output` near misses of every output in `rows` (word-level edits,
/// `rm::data::perturb`, drawing words from all the outputs), scored by
/// `gold` against their record.
fn near_misses(
    rows: &[Grown],
    records: &[Record],
    (per_output, seed): (usize, u64),
    gold: &mut dyn Reward,
    reward_batch: usize,
) -> Result<Vec<Grown>> {
    let by_id: HashMap<&str, &Record> = records.iter().map(|r| (r.id.as_str(), r)).collect();
    let pool: Vec<&str> = rows
        .iter()
        .flat_map(|g| g.sample.split_whitespace())
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4E45_4152);
    let mut out = Vec::with_capacity(rows.len() * per_output);
    for g in rows {
        for k in 0..per_output {
            out.push(Grown {
                sample: rm::data::perturb(&g.sample, &pool, k, &mut rng),
                origin: Origin::Sample(k),
                logprob: None,
                scored_by: Some("gold".into()),
                ..g.clone()
            });
        }
    }
    let items: Vec<Item> = out
        .iter()
        .map(|g| Item::of(by_id[g.prompt_id.as_str()], &g.sample))
        .collect();
    let scores = crate::reward::score_all(gold, &items, reward_batch)?;
    for (g, s) in out.iter_mut().zip(scores) {
        g.reward = s;
    }
    Ok(out)
}
