//! A reward written in the page: the library's Grow and evaluation score
//! with a stand-in that records each item; the page scores the items in a
//! Web Worker and hands the scores back (`Demo::settle`).

use restlm::reward::Reward;
use serde::Serialize;
use std::sync::{Arc, Mutex};

/// One output the page's own reward scores: what the JavaScript function
/// is called with.
#[derive(Serialize, Clone)]
pub(crate) struct Pending {
    pub(crate) prompt: String,
    pub(crate) sample: String,
    pub(crate) meta: Option<serde_json::Value>,
    pub(crate) references: Vec<String>,
}

/// Where the scores of the pending items go.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Awaiting {
    Nothing,
    /// The grown rows from this index on (a Grow batch, or D's rows).
    Grown(usize),
    /// A held-out evaluation: the page averages the scores itself.
    Eval,
}

/// The page's reward: records each item and gives it 0 until the page
/// hands in its scores ([`Demo::settle`]); the library's Grow and
/// evaluation run unchanged around it.
pub(crate) struct Deferred(pub(crate) Arc<Mutex<Vec<Pending>>>);

impl Reward for Deferred {
    fn name(&self) -> &str {
        "javascript"
    }

    fn score(&mut self, items: &[restlm::reward::Item<'_>]) -> restlm::Result<Vec<f64>> {
        let mut pending = self.0.lock().expect("one thread");
        pending.extend(items.iter().map(|i| Pending {
            prompt: i.prompt.to_string(),
            sample: i.sample.to_string(),
            meta: i.meta.cloned(),
            references: i.references.to_vec(),
        }));
        Ok(vec![0.0; items.len()])
    }
}
