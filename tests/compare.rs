//! A reduced, seeded `restlm compare` on CPU (one seed, small sizes): ReST
//! beats equal-step SFT on the default `mt` task, and the unfiltered
//! control does not, so the test fails if the reward filter stops working.
//!
//! Why `mt` and not `arith`: on `arith` no arm gets off the ground at any
//! size this machine can train from scratch (SFT on 150 worked traces
//! answers ≈ 0.5% of held-out sums, so self-training has nothing to
//! filter); the closing figures in README.md show it.

mod common;

use restlm::RunConfig;
use restlm::burn::prelude::Device;
use restlm::rest::compare::compare;
use restlm::rest::state::RunState;

/// Points of held-out verifier reward ReST must gain over each control,
/// in the mean of each arm's held-out evaluations after its Improve steps
/// (four per arm, equal step budgets). A single final evaluation on 64
/// prompts moves by ±5 points when rounding changes (the fused log-prob
/// moved this seed's final ReST point from 36.6 at g2-i1 to 26.8 at g2-i2);
/// the mean over the run does not: gaps of 8.6 (SFT) and 9.2 (no filter)
/// in the seeded run. The margin still fails if Improve or the filter does
/// nothing.
const MARGIN: f64 = 3.0;

/// The mean greedy held-out reward of an arm's evaluations after SFT.
fn mean_after_sft(dir: &std::path::Path, arm: &str) -> f64 {
    let state: RunState = restlm::io::read_json(&dir.join("seed-1").join(arm).join("state.json"))
        .unwrap_or_else(|e| panic!("arm {arm}: {e}"));
    let rows: Vec<f64> = state
        .evals
        .iter()
        .filter(|r| r.step != "init")
        .map(|r| r.greedy_reward)
        .collect();
    assert!(!rows.is_empty(), "arm {arm} has no evaluations");
    rows.iter().sum::<f64>() / rows.len() as f64
}

#[test]
fn rest_beats_equal_step_sft_and_the_reward_filter_is_why() {
    let dir = common::Scratch::new("compare");
    let mut cfg = RunConfig::default();
    cfg.data.task_train = Some(400);
    cfg.data.task_eval = Some(64);
    cfg.sft.steps = 150;
    cfg.improve.steps = 40;
    cfg.rest.grow_steps = 2;
    cfg.eval.samples = 1;
    let c = compare(&cfg, 1, &dir, &Device::flex()).unwrap();
    eprintln!("{}", restlm::rest::compare::table(&c));
    let mean = |arm: &str| mean_after_sft(&dir, arm);
    let (rest, sft, open) = (mean("rest"), mean("sft"), mean("no-filter"));
    eprintln!("mean held-out reward after SFT: rest {rest:.2}, sft {sft:.2}, no filter {open:.2}");
    assert!(
        rest > sft + MARGIN,
        "ReST {rest:.2} vs equal-step SFT {sft:.2}"
    );
    assert!(
        rest > open + MARGIN,
        "ReST {rest:.2} vs no filter {open:.2}"
    );
    let steps: Vec<usize> = c
        .arms
        .iter()
        .filter(|a| !a.arm.starts_with("best-of"))
        .map(|a| a.optimizer_steps)
        .collect();
    assert!(
        steps.windows(2).all(|w| w[0] == w[1]),
        "equal step budgets: {steps:?}"
    );
    assert!(dir.join("compare.json").exists() && dir.join("compare.svg").exists());
}
