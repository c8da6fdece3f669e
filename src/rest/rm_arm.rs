//! `compare`'s `rest-rm` arm (`[rm] compare = true`): the paper's setting,
//! where most prompts have no checker. Per seed, the SFT policy samples the
//! labeled prompts hot (`rm.grow_samples` at `rm.grow_temperature`), the
//! configured reward — gold, visible on the labeled prompts only — scores
//! them, a reward model is trained on them from the SFT policy's trunk,
//! and ReST runs with gold on the labeled prompts and the reward model on
//! the prompt-only ones.

use super::grow::grow;
use super::setup::{grow_setup, load_data, reward_for};
use crate::config::{OneOrMany, RewardKind, RunConfig};
use crate::data::Record;
use crate::error::Result;
use crate::policy::Policy;
use crate::rm::{self, Options};
use burn::prelude::Device;
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
    let labeled: Vec<Record> = train.into_iter().filter(|r| r.target.is_some()).collect();
    let mut gold = reward_for(cfg, &labeled, &eval, device)?;
    let policy = Policy::load_as(sft_dir, cfg.tokenizer.prompt_format, device)?;
    let mut setup = grow_setup(cfg, 1, "rm data");
    setup.samples_per_prompt = cfg.rm.grow_samples;
    setup.include_dataset = true;
    setup.sample.pick.temperature = cfg.rm.grow_temperature;
    grow(&policy, &labeled, gold.as_mut(), &setup, &data)?;
    let o = Options {
        init: sft_dir.to_path_buf(),
        data: vec![],
        from_grown: vec![data],
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
