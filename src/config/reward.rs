//! The reward sections: `[reward]` (which reward, an external scorer's
//! command, a learned model and its gold) and `[rm]` (training a reward
//! model, and compare's reward-model arm).

use super::TrainConfig;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    /// The embedded task's own reward (mt, arith; chrF for toy and files).
    #[default]
    Auto,
    Chrf,
    Bleu,
    Exact,
    /// The `mt` task's verifier (needs `meta`: the source's meaning).
    Mt,
    /// The `arith` task's verifier (needs `meta.answer`).
    Arith,
    External,
    /// A learned reward model (`restlm rm train`), or an ensemble of them:
    /// `reward.path`.
    Model,
}

/// How to start an external scorer. No shell is involved: an argv list is
/// run as it is, and a single string is split into words as a POSIX shell
/// would (whitespace separates; single quotes, double quotes and
/// backslashes quote). Shell syntax in a string (`;`, `|`, `&`, `<`, `>`,
/// `$`, backquotes, parentheses) is an error that says to write
/// `["sh", "-c", "…"]` when a shell is really wanted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ScorerCommand {
    Argv(Vec<String>),
    Line(String),
}

impl From<&str> for ScorerCommand {
    fn from(s: &str) -> Self {
        ScorerCommand::Line(s.to_string())
    }
}

impl ScorerCommand {
    /// The program and its arguments.
    pub fn argv(&self) -> Result<Vec<String>> {
        let argv = match self {
            ScorerCommand::Argv(v) => v.clone(),
            ScorerCommand::Line(line) => split_words(line)?,
        };
        if argv.first().is_none_or(|p| p.is_empty()) {
            return Err(Error::Config("reward.command is empty".into()));
        }
        Ok(argv)
    }
}

/// Words of `line` as a POSIX shell splits them, refusing shell syntax.
fn split_words(line: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    let fail = |m: String| Err(Error::Config(format!("reward.command `{line}`: {m}")));
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '\\' => match chars.next() {
                Some(n) => word.get_or_insert_default().push(n),
                None => return fail("ends in a backslash".into()),
            },
            '\'' => {
                let w = word.get_or_insert_default();
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(n) => w.push(n),
                        None => return fail("a single quote is not closed".into()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_default();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(n @ ('"' | '\\' | '$' | '`')) => w.push(n),
                            Some(n) => {
                                w.push('\\');
                                w.push(n);
                            }
                            None => return fail("a double quote is not closed".into()),
                        },
                        Some(n @ ('$' | '`')) => {
                            return fail(format!(
                                "`{n}` inside double quotes needs a shell; write \
                                 command = [\"sh\", \"-c\", \"…\"] to run one"
                            ));
                        }
                        Some(n) => w.push(n),
                        None => return fail("a double quote is not closed".into()),
                    }
                }
            }
            ';' | '|' | '&' | '<' | '>' | '$' | '`' | '(' | ')' => {
                return fail(format!(
                    "`{c}` is shell syntax, and restlm runs no shell; write \
                     command = [\"sh\", \"-c\", \"…\"] to run one"
                ));
            }
            c => word.get_or_insert_default().push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RewardConfig {
    pub kind: RewardKind,
    /// For `external`: the scorer's argv (`["python3", "score.py"]`), or
    /// one string split into words as a shell would (no shell runs it).
    pub command: Option<ScorerCommand>,
    pub timeout_secs: f64,
    pub batch_size: usize,
    /// For `model`: a reward model's directory, or several (an ensemble,
    /// scored mean − uncertainty_penalty · std over its members).
    pub path: Option<OneOrMany>,
    pub uncertainty_penalty: f64,
    /// With `model`: a metric or verifier that scores the records that
    /// carry a reference (a target), the learned model scoring the
    /// prompt-only ones; on held-out prompts it is the measure `best/` is
    /// chosen by, and the learned reward is logged beside it.
    pub gold: Option<RewardKind>,
}

/// One path or a list of them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum OneOrMany {
    One(PathBuf),
    Many(Vec<PathBuf>),
}

impl OneOrMany {
    pub fn paths(&self) -> Vec<PathBuf> {
        match self {
            OneOrMany::One(p) => vec![p.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// `restlm rm train`: training a reward model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RmConfig {
    /// Optimizer steps, batch (pointwise records or pairs), schedule.
    pub train: TrainConfig,
    /// Share of the prompts held out for the report (by prompt: every
    /// output of a held-out prompt is held out).
    pub eval_fraction: f64,
    /// Synthetic negatives per prompt added to `--from-grown` data (an
    /// empty output, the prompt copied, a repeated span, a truncation,
    /// dropped words), each scored 0.
    pub negatives: usize,
    /// Bradley–Terry pairs: weight of the mean (r_chosen + r_rejected)²
    /// term that keeps rewards near 0 (TRL's `center_rewards_coefficient`).
    pub center: f64,
    /// Ensemble members (`--members`): member k > 1 trains with seed + k
    /// (its batches' order) on a bootstrap resample of the training
    /// prompts, or on all of them with `bootstrap = false`.
    pub members: usize,
    pub bootstrap: bool,
    /// The last of several members starts from a fresh trunk of the same
    /// shape (random weights, every weight trained) instead of `init`: an
    /// ensemble member that does not share the policy's blind spots.
    pub fresh_trunk: bool,
    /// `compare` adds the arm `rest-rm`: per seed, a reward model trained
    /// on the SFT policy's samples of the labeled prompts scored by the
    /// configured (gold) reward, then ReST with that reward on the labeled
    /// prompts and the model's on the prompt-only ones.
    pub compare: bool,
    /// Samples per labeled prompt for that reward model's data, and their
    /// temperature (hotter than Grow's: the model must see bad outputs).
    pub grow_samples: usize,
    pub grow_temperature: f32,
    /// Near misses per output of that data (a word replaced, deleted,
    /// swapped or inserted), scored by the gold reward too.
    pub perturbations: usize,
}

impl Default for RmConfig {
    fn default() -> Self {
        Self {
            train: TrainConfig {
                steps: 200,
                batch_size: 16,
                lr: 1e-3,
                warmup_steps: 10,
                eval_every: 50,
                ..TrainConfig::default()
            },
            eval_fraction: 0.1,
            negatives: 0,
            center: 0.01,
            members: 1,
            bootstrap: true,
            fresh_trunk: false,
            compare: false,
            grow_samples: 16,
            grow_temperature: 1.5,
            perturbations: 0,
        }
    }
}

impl Default for RewardConfig {
    fn default() -> Self {
        Self {
            kind: RewardKind::Auto,
            command: None,
            timeout_secs: 30.0,
            batch_size: 64,
            path: None,
            uncertainty_penalty: 0.0,
            gold: None,
        }
    }
}
