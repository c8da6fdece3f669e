//! The embedded tasks (seeded, nothing downloaded), chosen by `data.task`:
//! `mt` (the default: several correct translations, few references, a
//! verifier reward), `arith` (answer keys everywhere, few worked traces)
//! and `toy` (one perfect reference per prompt: ReST's null case).

pub mod arith;
pub mod mt;
pub mod toy;

use crate::data::Record;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    #[default]
    Mt,
    Arith,
    Toy,
}

/// How an embedded task's prompts read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phrasing {
    /// Terse, for a policy trained from scratch: `23+57+41`, `the big dog
    /// sees a red bird`.
    Plain,
    /// As a user would ask an instruct model: "What is 23 + 57 + 41? Show
    /// the running sums, then give the answer after '='.", "Translate into
    /// Esperanto: the big dog sees a red bird".
    Question,
}

/// Rewrites the prompts of records of `task` in `phrasing` (targets,
/// references and meta stay: the verifiers read meta, not prompts).
pub fn phrase(task: TaskKind, phrasing: Phrasing, records: &mut [Record]) {
    if phrasing == Phrasing::Plain {
        return;
    }
    for r in records {
        match task {
            TaskKind::Arith => {
                let terms: Option<Vec<u32>> = r
                    .meta
                    .as_ref()
                    .and_then(|m| serde_json::from_value(m["terms"].clone()).ok());
                if let Some(t) = terms {
                    r.prompt = arith::question(&t);
                }
            }
            TaskKind::Mt => r.prompt = format!("Translate into Esperanto: {}", r.prompt),
            TaskKind::Toy => {}
        }
    }
}

/// A task's sizes when the config leaves them out.
pub struct Sizes {
    pub train: usize,
    pub eval: usize,
    pub labeled_fraction: f64,
}

impl TaskKind {
    pub fn default_sizes(self) -> Sizes {
        match self {
            TaskKind::Mt => Sizes {
                train: 1000,
                eval: 128,
                labeled_fraction: 0.15,
            },
            TaskKind::Arith => Sizes {
                train: 2000,
                eval: 200,
                labeled_fraction: 0.075,
            },
            TaskKind::Toy => Sizes {
                train: 400,
                eval: 64,
                labeled_fraction: 1.0,
            },
        }
    }

    /// Training and held-out records; `labeled_fraction` of the training
    /// prompts carry a target (`toy` labels every one).
    pub fn generate(
        self,
        n_train: usize,
        n_eval: usize,
        labeled_fraction: f64,
        seed: u64,
    ) -> (Vec<Record>, Vec<Record>) {
        match self {
            TaskKind::Mt => mt::generate(n_train, n_eval, labeled_fraction, seed),
            TaskKind::Arith => arith::generate(n_train, n_eval, labeled_fraction, seed),
            TaskKind::Toy => toy::generate(n_train, n_eval, seed),
        }
    }
}
