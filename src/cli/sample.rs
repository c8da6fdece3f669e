//! `restlm sample`: completions of prompts, or the best of N under a reward.

use super::{SampleReward, open_device};
use anyhow::{Context, Result, bail};
use restlm::config::RunConfig;
use restlm::rest::setup::sample_options;
use restlm::reward::Item;
use restlm::sample::PickOptions;
use restlm::{Policy, reward};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    policy: PathBuf,
    #[arg(long, required = true)]
    prompt: Vec<String>,
    #[arg(long, default_value_t = 1)]
    n: usize,
    #[arg(long)]
    temperature: Option<f32>,
    #[arg(long)]
    top_k: Option<usize>,
    #[arg(long)]
    top_p: Option<f32>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Draw N samples and print the best one under --reward.
    #[arg(long)]
    best_of: Option<usize>,
    /// chrf | bleu | exact | external | model (the metrics score against
    /// --reference).
    #[arg(long, value_enum, default_value = "chrf")]
    reward: SampleReward,
    /// A reward model's directory for --best-of (repeat it for an
    /// ensemble); implies --reward model.
    #[arg(long)]
    reward_model: Vec<PathBuf>,
    #[arg(long)]
    reference: Vec<String>,
}

/// `restlm sample`: completions of prompts, or the best of N under a reward.
pub fn run(cfg: RunConfig, args: Args) -> Result<()> {
    let Args {
        policy,
        prompt,
        n,
        temperature,
        top_k,
        top_p,
        seed,
        best_of,
        reward: reward_kind,
        reward_model,
        reference,
    } = args;
    let dev = open_device(&cfg, None)?;
    let policy = Policy::load_as(&policy, cfg.tokenizer.prompt_format, &dev)?;
    let mut opts = sample_options(&cfg, seed);
    opts.pick = PickOptions {
        temperature: temperature.unwrap_or(opts.pick.temperature),
        top_k: top_k.unwrap_or(opts.pick.top_k),
        top_p: top_p.unwrap_or(opts.pick.top_p),
    };
    let draws = best_of.unwrap_or(n);
    let prompts: Vec<&str> = prompt.iter().map(String::as_str).collect();
    // One request decodes only its own rows. Grow and evaluation keep every
    // batch at `batch_size` rows (shapes compiled once on a GPU, sharded
    // runs equal to whole ones); padding one prompt to 64 rows made it 64
    // times the work.
    opts.batch_size = opts.batch_size.min(prompts.len() * draws).max(1);
    let out = policy.complete(&prompts, draws, cfg.data.max_prompt_tokens, &opts)?;
    let mut scorer = match best_of {
        Some(_) => {
            if reference.len() != prompt.len() {
                bail!(
                    "--best-of needs one --reference per --prompt ({} prompts, {} references)",
                    prompt.len(),
                    reference.len()
                );
            }
            let mut rc = cfg.reward.clone();
            rc.kind = reward_kind.into();
            super::use_reward_models(&mut rc, reward_model);
            Some(reward::from_config(&rc, None, &dev)?)
        }
        None => None,
    };
    for (i, (p, row)) in prompts.iter().zip(&out).enumerate() {
        println!("> {p}");
        match scorer.as_mut() {
            Some(r) => {
                let record = restlm::data::Record::labeled("", p.to_string(), reference[i].clone());
                let items: Vec<Item> = row.iter().map(|(s, _)| Item::of(&record, s)).collect();
                let scores = reward::score_all(r.as_mut(), &items, cfg.reward.batch_size)?;
                let best = (0..scores.len())
                    .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
                    .context("no samples")?;
                println!(
                    "{}\t(best of {draws}, {} {:.2})",
                    row[best].0,
                    r.name(),
                    scores[best]
                );
            }
            None => {
                for (text, g) in row {
                    println!("{text}\t(log-prob {:.2})", g.logprob);
                }
            }
        }
    }
    Ok(())
}
