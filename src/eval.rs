//! Held-out scoring: the policy's greedy and sampled outputs on prompts it
//! never trained on, under the run's reward, plus the reward's own second
//! metric and chrF and BLEU against the references where there are some.

use crate::data::Record;
use crate::error::Result;
use crate::policy::Policy;
use crate::report::EvalRow;
use crate::reward::{self, Item, Reward};
use crate::sample::{PickOptions, SampleOptions};
use serde::Serialize;

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
    Ok(evaluate_outputs_async(policy, setup, reward, step).await?.0)
}

/// One held-out record's outputs and their rewards (what `restlm eval`
/// writes).
#[derive(Debug, Clone, Serialize)]
pub struct Scored {
    pub id: String,
    pub prompt: String,
    pub greedy: String,
    pub greedy_reward: f64,
    /// `setup.samples` sampled outputs with their rewards.
    pub samples: Vec<(String, f64)>,
}

/// [`evaluate`], with every output and its reward.
pub fn evaluate_outputs(
    policy: &Policy,
    setup: &EvalSetup<'_>,
    reward: &mut dyn Reward,
    step: &str,
) -> Result<(EvalRow, Vec<Scored>)> {
    pollster::block_on(evaluate_outputs_async(policy, setup, reward, step))
}

async fn evaluate_outputs_async(
    policy: &Policy,
    setup: &EvalSetup<'_>,
    reward: &mut dyn Reward,
    step: &str,
) -> Result<(EvalRow, Vec<Scored>)> {
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
    let learned_reward = match reward.learned() {
        Some(l) => Some(mean(&reward::score_all(
            l,
            &greedy_items,
            setup.reward_batch,
        )?)),
        None => None,
    };
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
    let (sampled, sampled_scores) = if setup.samples == 0 {
        (vec![Vec::new(); prompts.len()], Vec::new())
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
        let scores = reward::score_all(reward, &sampled_items, setup.reward_batch)?;
        (sampled, scores)
    };
    let sampled_reward = if setup.samples == 0 {
        f64::NAN
    } else {
        mean(&sampled_scores)
    };
    let row = EvalRow {
        step: step.to_string(),
        greedy_reward: mean(&greedy_scores),
        sampled_reward,
        second,
        chrf,
        bleu,
        kept: 0,
        kept_from: None,
        learned_reward,
        distance: None,
    };
    let mut scores = sampled_scores.into_iter();
    let outputs = setup
        .records
        .iter()
        .zip(greedy)
        .zip(greedy_scores)
        .zip(sampled)
        .map(|(((r, g), gs), row)| Scored {
            id: r.id.clone(),
            prompt: r.prompt.clone(),
            greedy: g.into_iter().next().map(|(t, _)| t).unwrap_or_default(),
            greedy_reward: gs,
            samples: row
                .into_iter()
                .map(|(t, _)| (t, scores.next().unwrap_or(f64::NAN)))
                .collect(),
        })
        .collect();
    Ok((row, outputs))
}
