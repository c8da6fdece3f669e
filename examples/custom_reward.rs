//! A reward of your own in the ReST loop: anything that implements
//! [`Reward`] (score a batch of samples, each with its prompt, references
//! and metadata, on a 0–100 scale) replaces the config's `[reward]`.
//!
//! This one scores the share of the reference's words a sample contains,
//! in any order: softer than exact match, blind to word order. The loop
//! runs on the embedded toy task on the CPU backend.
//!
//! `cargo run --release --example custom_reward` (about 10 s on 2 cores)

use restlm::burn::prelude::Device;
use restlm::data::task::TaskKind;
use restlm::report::table;
use restlm::rest::run::{RunOptions, run_with_reward};
use restlm::reward::{Item, Reward};
use restlm::{Result, RunConfig};
use std::collections::HashSet;

/// 100 × the share of the first reference's words found in the sample.
struct WordRecall;

impl Reward for WordRecall {
    fn name(&self) -> &str {
        "word-recall"
    }

    fn score(&mut self, items: &[Item<'_>]) -> Result<Vec<f64>> {
        items
            .iter()
            .map(|item| {
                let reference = &item.references(self.name())?[0];
                let said: HashSet<&str> = item.sample.split_whitespace().collect();
                let words: Vec<&str> = reference.split_whitespace().collect();
                let found = words.iter().filter(|w| said.contains(*w)).count();
                Ok(100.0 * found as f64 / words.len().max(1) as f64)
            })
            .collect()
    }
}

fn main() -> Result<()> {
    let mut cfg = RunConfig {
        run_dir: std::env::temp_dir().join(format!("restlm-custom-{}", std::process::id())),
        ..RunConfig::default()
    };
    cfg.data.task = TaskKind::Toy;
    (cfg.data.task_train, cfg.data.task_eval) = (Some(160), Some(24));
    (cfg.model.d_model, cfg.model.d_ff, cfg.model.max_seq_len) = (64, 160, 64);
    (cfg.sft.steps, cfg.improve.steps, cfg.rest.grow_steps) = (60, 30, 2);
    cfg.rest.thresholds = vec![50.0, 80.0];
    let opts = RunOptions::default();
    let rows = run_with_reward(&cfg, &opts, Some(Box::new(WordRecall)), &Device::flex())?;
    println!(
        "held-out word recall after each step\n{}",
        table(&rows, None)
    );
    let _ = std::fs::remove_dir_all(&cfg.run_dir);
    Ok(())
}
