//! Algorithm 1 of the ReST paper written out with the library's pieces, on
//! the embedded toy task (English → a made-up language) and the CPU
//! backend: SFT on D, then G Grows each feeding Improve steps at rising τ,
//! evaluating after every step. `restlm run` is this loop with resume,
//! checkpoints and metrics on top.
//!
//! `cargo run --release --example rest_loop` (about 15 s on 2 cores)

use restlm::burn::prelude::Device;
use restlm::data::{encode_records, task::TaskKind};
use restlm::rest::setup::{eval_setup, fresh_tokenizer, grow_setup, load_data};
use restlm::rest::{filter, grow, improve_examples, thresholds};
use restlm::train::Stage;
use restlm::{Policy, RunConfig, eval, report::Metrics, reward};

fn main() -> restlm::Result<()> {
    let mut cfg = RunConfig::default();
    cfg.data.task = TaskKind::Toy;
    (cfg.data.task_train, cfg.data.task_eval) = (Some(160), Some(24));
    (cfg.model.d_model, cfg.model.d_ff, cfg.model.max_seq_len) = (64, 160, 64);
    (cfg.sft.steps, cfg.improve.steps, cfg.rest.grow_steps) = (60, 30, 3);
    cfg.rest.thresholds = vec![40.0, 70.0];
    let device = Device::flex();
    let (train, held_out) = load_data(&cfg)?;
    let mut reward = reward::from_config(&cfg.reward, cfg.data.embedded_task(), &device)?;
    let tok = fresh_tokenizer(&cfg, &train)?;
    cfg.model.vocab_size = tok.vocab_size();
    device.seed(cfg.seed); // the initial weights, as `restlm run` seeds them
    let mut policy = Policy::new(cfg.model.clone(), tok.clone(), &device);
    let (max_prompt, max_seq) = (cfg.data.max_prompt_tokens, cfg.model.max_seq_len);
    let mut metrics = Metrics::none();
    let held = eval_setup(&cfg, &held_out);

    // π ← SFT on D.
    let (demos, _) = encode_records(&tok, &train, max_prompt, max_seq)?;
    let stage = Stage::in_memory("sft", &cfg.sft, cfg.seed);
    policy.fine_tune(&demos, &[], stage, &mut metrics)?;
    let sft = eval::evaluate(&policy, &held, reward.as_mut(), "sft")?;
    println!("   sft: held-out reward {:.1}", sft.greedy_reward);

    let dir = std::env::temp_dir().join(format!("restlm-example-{}", std::process::id()));
    for g in 1..=cfg.rest.grow_steps {
        // Grow: N samples per prompt from π, each scored by R (with D's rows).
        let path = dir.join(format!("g{g}.jsonl"));
        let setup = grow_setup(&cfg, g, "grow");
        let grown = grow(&policy, &train, reward.as_mut(), &setup, &path)?;
        let samples = grown.iter().filter(|r| r.origin.is_sample());
        let rewards: Vec<f64> = samples.map(|r| r.reward).collect();
        // Improve at rising τ: keep R ≥ τ, fine-tune π on what is kept.
        for (i, tau) in thresholds(&cfg.rest, &rewards).into_iter().enumerate() {
            let kept = filter(&grown, tau);
            let (data, _) = improve_examples(&tok, &kept, cfg.rest.loss, max_prompt, max_seq)?;
            let stage = Stage::in_memory("improve", &cfg.improve, cfg.seed + i as u64);
            policy.fine_tune(&data, &[], stage, &mut metrics)?;
            let row = eval::evaluate(&policy, &held, reward.as_mut(), "improve")?;
            println!(
                "g{g}-i{}: τ = {tau:.0} keeps {} records; held-out reward {:.1}",
                i + 1,
                kept.len(),
                row.greedy_reward
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
