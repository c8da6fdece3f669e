//! What a run directory records of its progress: `state.json`
//! ([`RunState`]: completed units, current and best policy, evaluations)
//! and the names of its units ([`Unit`]: "sft", "g1-grow", "g1-i2"), and
//! the Grow a stopped run waits for ([`pending_grow`]).

use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::io::read_json;
use crate::report::EvalRow;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A run's progress, as `state.json` holds it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunState {
    pub completed: Vec<Unit>,
    /// Current policy, relative to the run directory.
    pub policy: Option<PathBuf>,
    pub best: Option<(String, f64)>,
    pub evals: Vec<EvalRow>,
    pub total_steps: usize,
    /// Target tokens trained on and tokens sampled in Grow, over the run.
    #[serde(default)]
    pub tokens_trained: usize,
    #[serde(default)]
    pub tokens_sampled: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Unit {
    /// Supervised fine-tuning on D: the starting policy.
    Sft,
    /// A given starting policy (`run --init`), evaluated, not trained.
    Init,
    /// Grow step g (from 1).
    Grow(usize),
    /// Improve step i (from 1) on Grow step g's set: `Improve(g, i)`.
    Improve(usize, usize),
}

impl std::fmt::Display for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unit::Sft => write!(f, "sft"),
            Unit::Init => write!(f, "init"),
            Unit::Grow(g) => write!(f, "g{g}-grow"),
            Unit::Improve(g, i) => write!(f, "g{g}-i{i}"),
        }
    }
}

impl std::str::FromStr for Unit {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("`{s}` is not a unit of a run (sft, init, g1-grow, g1-i1, …)");
        match s {
            "sft" => return Ok(Unit::Sft),
            "init" => return Ok(Unit::Init),
            _ => {}
        }
        let (g, rest) = s
            .strip_prefix('g')
            .and_then(|r| r.split_once('-'))
            .ok_or_else(bad)?;
        let g: usize = g.parse().map_err(|_| bad())?;
        match rest {
            "grow" => Ok(Unit::Grow(g)),
            i => {
                let i = i
                    .strip_prefix('i')
                    .and_then(|i| i.parse().ok())
                    .ok_or_else(bad)?;
                Ok(Unit::Improve(g, i))
            }
        }
    }
}

impl From<Unit> for String {
    fn from(u: Unit) -> String {
        u.to_string()
    }
}

impl TryFrom<String> for Unit {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        s.parse()
    }
}

impl PartialEq<str> for Unit {
    fn eq(&self, other: &str) -> bool {
        other.parse::<Unit>().is_ok_and(|u| u == *self)
    }
}

impl PartialEq<&str> for Unit {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

/// The Grow a stopped run waits for: its step, the policy to sample, and
/// where shards and the merged set go.
#[derive(Debug)]
pub struct PendingGrow {
    pub cfg: RunConfig,
    pub step: usize,
    pub policy: PathBuf,
    pub shards: PathBuf,
    pub grown: PathBuf,
}

/// The next Grow of the run in `dir` (from its `config.toml` and
/// `state.json`): an error when the run has not reached it or is done.
pub fn pending_grow(dir: &Path) -> Result<PendingGrow> {
    let mut cfg = RunConfig::load(&dir.join("config.toml"))?;
    cfg.run_dir = dir.to_path_buf();
    let state_path = dir.join("state.json");
    if !state_path.exists() {
        return Err(Error::file(
            &state_path,
            "missing: start the run first (restlm run --stop-before-grow)",
        ));
    }
    let state: RunState = read_json(&state_path)?;
    let step = (1..=cfg.rest.grow_steps)
        .find(|&g| !state.completed.contains(&Unit::Grow(g)))
        .ok_or_else(|| Error::file(&state_path, "every Grow of this run is done"))?;
    let policy = state.policy.as_ref().ok_or_else(|| {
        Error::file(
            &state_path,
            "the run has no saved policy to grow from yet (a run started with --init \
             grows its first step in the run itself)",
        )
    })?;
    let grow = dir.join("grow");
    Ok(PendingGrow {
        step,
        policy: dir.join(policy),
        shards: grow.join(format!("g{step}.shards")),
        grown: grow.join(format!("g{step}.jsonl")),
        cfg,
    })
}
