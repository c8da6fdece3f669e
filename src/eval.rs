//! Held-out scoring: the policy's greedy and sampled outputs on prompts it
//! never trained on, under the run's reward, plus the reward's own second
//! metric and chrF and BLEU against the references where there are some.

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

pub fn mean(xs: &[f64]) -> f64 {
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
    pollster::block_on(evaluate_async(policy, setup, reward, step))
}

/// [`evaluate`] without blocking (the browser page awaits it). With
/// `setup.samples == 0` the sampled reward is skipped (NaN).
pub async fn evaluate_async(
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
    let greedy = policy
        .complete_async(&prompts, 1, setup.max_prompt, &greedy_opts)
        .await?;
    let greedy_items: Vec<Item> = setup
        .records
        .iter()
        .zip(&greedy)
        .map(|(r, g)| Item::of(r, &g[0].0))
        .collect();
    let greedy_scores = reward::score_all(reward, &greedy_items, setup.reward_batch)?;
    // Metrics against the references, where every held-out prompt has some.
    let referenced = greedy_items.iter().all(|i| !i.references.is_empty());
    let over_refs = |f: fn(&str, &[String]) -> f64| {
        referenced.then(|| {
            mean(
                &greedy_items
                    .iter()
                    .map(|i| f(i.sample, i.references))
                    .collect::<Vec<_>>(),
            )
        })
    };
    let chrf = over_refs(reward::sentence_chrf_multi);
    let bleu = over_refs(reward::sentence_bleu_multi);
    let second = reward.second_metric().map(|m| {
        mean(
            &greedy_items
                .iter()
                .map(|i| (m.score)(i))
                .collect::<Vec<_>>(),
        )
    });
    let sampled_reward = if setup.samples == 0 {
        f64::NAN
    } else {
        let sampled = policy
            .complete_async(&prompts, setup.samples, setup.max_prompt, &setup.sample)
            .await?;
        let sampled_items: Vec<Item> = setup
            .records
            .iter()
            .zip(&sampled)
            .flat_map(|(r, row)| row.iter().map(move |(text, _)| Item::of(r, text)))
            .collect();
        mean(&reward::score_all(
            reward,
            &sampled_items,
            setup.reward_batch,
        )?)
    };
    Ok(EvalRow {
        step: step.to_string(),
        greedy_reward: mean(&greedy_scores),
        sampled_reward,
        second,
        chrf,
        bleu,
        kept: 0,
    })
}
