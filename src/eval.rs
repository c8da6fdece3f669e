//! Held-out scoring: the policy's greedy and sampled outputs on prompts it
//! never trained on, under the run's reward, plus chrF and BLEU.

use crate::data::Record;
use crate::error::Result;
use crate::policy::Policy;
use crate::report::EvalRow;
use crate::reward::{self, Item, Reward};
use crate::sample::{PickOptions, SampleOptions};

pub struct EvalSetup<'a> {
    pub records: &'a [Record],
    pub max_prompt: usize,
    /// Sampling settings for the sampled-output score (seed included).
    pub sample: SampleOptions,
    pub samples: usize,
    pub reward_batch: usize,
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

pub fn evaluate(
    policy: &Policy,
    setup: &EvalSetup<'_>,
    reward: &mut dyn Reward,
    step: &str,
) -> Result<EvalRow> {
    let prompts: Vec<&str> = setup.records.iter().map(|r| r.prompt.as_str()).collect();
    let greedy_opts = SampleOptions {
        pick: PickOptions::GREEDY,
        ..setup.sample.clone()
    };
    let greedy = policy.complete(&prompts, 1, setup.max_prompt, &greedy_opts)?;
    let greedy_items: Vec<Item> = setup
        .records
        .iter()
        .zip(&greedy)
        .map(|(r, g)| Item {
            prompt: &r.prompt,
            sample: &g[0].0,
            reference: &r.target,
        })
        .collect();
    let greedy_scores = reward::score_all(reward, &greedy_items, setup.reward_batch)?;
    let chrf: Vec<f64> = greedy_items
        .iter()
        .map(|i| reward::sentence_chrf(i.sample, i.reference))
        .collect();
    let bleu: Vec<f64> = greedy_items
        .iter()
        .map(|i| reward::sentence_bleu(i.sample, i.reference))
        .collect();
    let sampled = policy.complete(&prompts, setup.samples, setup.max_prompt, &setup.sample)?;
    let sampled_items: Vec<Item> = setup
        .records
        .iter()
        .zip(&sampled)
        .flat_map(|(r, row)| {
            row.iter().map(move |(text, _)| Item {
                prompt: &r.prompt,
                sample: text,
                reference: &r.target,
            })
        })
        .collect();
    let sampled_scores = reward::score_all(reward, &sampled_items, setup.reward_batch)?;
    Ok(EvalRow {
        step: step.to_string(),
        greedy_reward: mean(&greedy_scores),
        sampled_reward: mean(&sampled_scores),
        chrf: mean(&chrf),
        bleu: mean(&bleu),
        kept: 0,
    })
}
