//! The ReST loop end to end on CPU: it improves on SFT, and a run killed
//! (SIGKILL) during Grow and during Improve resumes to the same result.

mod common;

use restlm::burn::prelude::Device;
use restlm::rest::grow::Grown;
use restlm::rest::run::RunOptions;
use restlm::rest::state::RunState;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A fresh scratch directory (removed when the test passes) for one run:
/// the run writes to its `run/`, its config sits beside that.
fn fresh(name: &str) -> common::Scratch {
    common::Scratch::new(&format!("loop-{name}"))
}

/// Held-out chrF must beat the SFT policy's by this many points. In the
/// seeded run SFT scores ≈ 30 and the last Improve ≈ 90; 10 leaves room
/// for other CPUs' rounding while still failing if Improve did nothing.
const MARGIN: f64 = 10.0;

#[test]
fn small_loop_on_cpu_beats_the_sft_policy() {
    let scratch = fresh("improves");
    let cfg = common::small_run(&scratch.join("run"), "cpu");
    let rows = restlm::rest::run(
        &cfg,
        &RunOptions {
            init: None,
            ..RunOptions::default()
        },
        &Device::flex(),
    )
    .unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.step.as_str()).collect();
    assert_eq!(names, ["sft", "g1-i1", "g1-i2"]);
    let (sft, last) = (rows[0].greedy_reward, rows.last().unwrap().greedy_reward);
    assert!(last > sft + MARGIN, "held-out reward {sft:.2} → {last:.2}");
    assert!(cfg.run_dir.join("reward.svg").exists() && cfg.run_dir.join("best/model.bpk").exists());
}

fn grown(dir: &Path) -> Vec<Grown> {
    restlm::io::read_jsonl(&dir.join("grow/g1.jsonl"), false).unwrap()
}

fn state(dir: &Path) -> Option<RunState> {
    restlm::io::read_json(&dir.join("state.json")).ok()
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

fn run_to_end(config: &Path) {
    common::restlm_ok(
        Path::new("."),
        &["--config", config.to_str().unwrap(), "run"],
    );
}

/// `restlm --config CONFIG run`, started in the background.
fn spawn_run(config: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_restlm"))
        .args(["--config", config.to_str().unwrap(), "run"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Starts `restlm run`, waits until `ready` holds, SIGKILLs it.
fn kill_when(config: &Path, ready: impl Fn() -> bool) {
    let mut child = spawn_run(config);
    let t0 = Instant::now();
    while !ready() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "run finished before the kill point"
        );
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "kill point never reached"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

#[test]
fn killed_during_grow_and_improve_resumes_with_every_sample_once() {
    let run = |dir: &Path| {
        let mut cfg = common::small_run(dir, "cpu");
        // A slow external scorer (0.2 s a batch) so the kill lands inside Grow.
        cfg.reward.kind = restlm::config::RewardKind::External;
        cfg.reward.command = Some(restlm::config::ScorerCommand::Argv(vec![
            "sh".into(),
            "-c".into(),
            "sleep 0.2; awk '{ print length($0) % 97 }'".into(),
        ]));
        cfg.reward.batch_size = 16;
        cfg.rest.thresholds = vec![60.0, 80.0];
        cfg
    };
    let write = |dir: &Path| {
        let cfg = run(dir);
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.with_extension("toml");
        std::fs::write(&path, cfg.to_toml()).unwrap();
        (cfg, path)
    };
    // Reference: the same run, never interrupted.
    let (reference_scratch, killed_scratch) = (fresh("reference"), fresh("killed"));
    let reference = reference_scratch.join("run");
    let (cfg, path) = write(&reference);
    run_to_end(&path);

    let dir = killed_scratch.join("run");
    let (_, path) = write(&dir);
    let grow_file = dir.join("grow/g1.jsonl");
    let prompts = cfg.data.task_train.unwrap();
    // 1. during Grow: some batches flushed, not all.
    kill_when(&path, || {
        let n = lines(&grow_file);
        n > prompts && n < prompts * 3
    });
    let partial = lines(&grow_file);
    assert!(
        state(&dir).unwrap().completed == ["sft"],
        "killed inside Grow"
    );
    // 2. during Improve: Grow recorded as done, the first Improve not yet.
    kill_when(&path, || {
        state(&dir).is_some_and(|s| s.completed.iter().any(|u| u == "g1-grow"))
    });
    assert!(!state(&dir).unwrap().completed.iter().any(|u| u == "g1-i2"));
    // 3. inside an Improve stage, once it has logged training rows.
    let logged = |stage: &str| {
        std::fs::read_to_string(dir.join("metrics.jsonl")).is_ok_and(|t| {
            t.lines().any(|l| {
                l.contains(&format!("\"stage\":\"{stage}\"")) && l.contains("\"step\":10,")
            })
        })
    };
    let first_done = state(&dir).unwrap().completed.iter().any(|u| u == "g1-i1");
    let improving = if first_done { "g1-i2" } else { "g1-i1" };
    kill_when(&path, || logged(improving));
    assert!(
        !state(&dir)
            .unwrap()
            .completed
            .iter()
            .any(|u| u == improving)
    );
    // 4. finish.
    run_to_end(&path);
    let s = state(&dir).unwrap();
    assert_eq!(s.completed, ["sft", "g1-grow", "g1-i1", "g1-i2"]);

    let rows = grown(&dir);
    assert!(rows.len() > partial, "Grow continued after the kill");
    let mut per_prompt: HashMap<&str, Vec<usize>> = HashMap::new();
    for r in rows.iter().filter_map(|r| match r.origin {
        restlm::rest::grow::Origin::Sample(i) => Some((r, i)),
        restlm::rest::grow::Origin::Dataset => None,
    }) {
        per_prompt.entry(&r.0.prompt_id).or_default().push(r.1);
    }
    assert_eq!(per_prompt.len(), prompts, "every prompt grown");
    for (id, mut idx) in per_prompt {
        idx.sort();
        assert_eq!(
            idx,
            (0..cfg.rest.samples_per_prompt).collect::<Vec<_>>(),
            "prompt {id}: each sample exactly once"
        );
    }
    assert_eq!(
        rows.iter().filter(|r| !r.origin.is_sample()).count(),
        prompts,
        "D once"
    );
    // Same samples and rewards as the uninterrupted run.
    let key = |g: &Grown| {
        (
            g.prompt_id.clone(),
            g.origin,
            g.sample.clone(),
            g.reward.to_bits(),
        )
    };
    let mut a: Vec<_> = rows.iter().map(key).collect();
    let mut b: Vec<_> = grown(&reference).iter().map(key).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b, "resumed Grow drew the same samples");

    // Each metrics row once: a unit redone after a kill logs its rows again,
    // and the run forgets the ones past its last checkpoint first.
    let metrics: Vec<serde_json::Value> =
        restlm::io::read_jsonl(&dir.join("metrics.jsonl"), false).unwrap();
    let mut seen = std::collections::HashSet::new();
    for m in &metrics {
        let key = (
            m["stage"].as_str().unwrap().to_string(),
            m["step"].as_u64(),
            m.get("eval").is_some(),
            m.get("samples").is_some(),
        );
        assert!(seen.insert(key.clone()), "metrics row {key:?} twice");
    }
    let evals = metrics.iter().filter(|m| m.get("eval").is_some()).count();
    assert_eq!(evals, 3, "one evaluation row per unit");
}

/// Kills the run with SIGKILL at `RESTLM_KILLS` (default 8; 20 for the
/// manual long mode) seeded moments spread over the whole run, re-running
/// after each, and requires the end to equal an uninterrupted run's
/// exactly: the `state.json` evaluations, the best policy's weights, the
/// grown sets and the metrics rows (each once).
///
/// The moments are points of progress, not of time, so that they spread
/// over SFT, both Grows and every Improve stage whatever the machine's
/// speed: progress counts the metrics rows (30 each) and grown rows written,
/// and kill k fires a seeded 0–60 ms after the k-th of K sorted seeded
/// points of the uninterrupted run's total is reached.
/// Where a kill landed: its progress point, the units done, and the last
/// metrics row's stage and step.
#[derive(Debug)]
struct Kill {
    #[allow(dead_code)] // shown in failure messages
    point: usize,
    done: Vec<restlm::rest::state::Unit>,
    last: Option<(String, Option<u64>)>,
}

#[test]
fn killed_at_random_moments_resumes_to_the_uninterrupted_result() {
    let kills: usize = std::env::var("RESTLM_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(8);
    let write = |dir: &Path| {
        let mut cfg = common::small_run(dir, "cpu");
        cfg.rest.grow_steps = 2;
        cfg.sft.eval_every = 5;
        cfg.improve.eval_every = 5;
        cfg.improve.steps = 20;
        cfg.sample.batch_size = 16;
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.with_extension("toml");
        std::fs::write(&path, cfg.to_toml()).unwrap();
        path
    };
    // Metrics rows weigh 30 grown rows: 34 of them against 960 grown rows.
    let progress = |dir: &Path| {
        30 * lines(&dir.join("metrics.jsonl"))
            + lines(&dir.join("grow/g1.jsonl"))
            + lines(&dir.join("grow/g2.jsonl"))
    };
    let (reference_scratch, killed_scratch) = (fresh("random-reference"), fresh("random-killed"));
    let reference = reference_scratch.join("run");
    run_to_end(&write(&reference));
    let total = progress(&reference);

    // K distinct seeded progress points in [1, total − 60]: the last two
    // metrics rows are written a moment before the run ends.
    let mut rng = common::SplitMix(0x5EED_0000 + kills as u64);
    let mut points = std::collections::BTreeSet::new();
    while points.len() < kills.min(total - 60) {
        points.insert(1 + (rng.next() % (total as u64 - 60)) as usize);
    }
    let dir = killed_scratch.join("run");
    let path = write(&dir);
    let mut landed = Vec::new();
    for &point in &points {
        let mut child = spawn_run(&path);
        let t0 = Instant::now();
        while progress(&dir) < point && child.try_wait().unwrap().is_none() {
            assert!(
                t0.elapsed() < Duration::from_secs(300),
                "stuck before {point}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(rng.next() % 60));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            let done = state(&dir).map(|s| s.completed).unwrap_or_default();
            let rows: Vec<serde_json::Value> =
                restlm::io::read_jsonl(&dir.join("metrics.jsonl"), true).unwrap_or_default();
            let last = rows.last().map(|r| {
                let stage = r["stage"].as_str().unwrap_or_default().to_string();
                (stage, r["step"].as_u64())
            });
            landed.push(Kill { point, done, last });
        }
    }
    run_to_end(&path);
    assert_eq!(
        landed.len(),
        points.len(),
        "every kill landed before the end: {landed:?}"
    );
    // At least one kill inside an Improve stage after a mid-stage
    // checkpoint (written with the training rows every 5 steps).
    let inside_improve = |k: &Kill| {
        k.last.as_ref().is_some_and(|(stage, step)| {
            stage.contains("-i")
                && !k.done.iter().any(|u| u == stage.as_str())
                && step.is_some_and(|s| s >= 5)
        })
    };
    assert!(
        landed.iter().any(inside_improve),
        "no kill inside an Improve stage after its checkpoint: {landed:?}"
    );
    eprintln!("kills: {landed:?}");

    let a = state(&dir).unwrap();
    let b = state(&reference).unwrap();
    assert_eq!(a.completed, b.completed);
    assert_eq!(
        a.evals, b.evals,
        "the same evaluations as the uninterrupted run"
    );
    assert_eq!(a.best, b.best);
    // The values, in module order (`model.bpk` also holds random parameter ids).
    assert!(
        common::weights(&dir.join("best")) == common::weights(&reference.join("best")),
        "the best policy's weights differ"
    );
    let bytes = |d: &Path, f: &str| std::fs::read(d.join(f)).unwrap();
    for g in ["grow/g1.jsonl", "grow/g2.jsonl"] {
        assert!(bytes(&dir, g) == bytes(&reference, g), "{g} differs");
    }
    let rows = |d: &Path| -> Vec<serde_json::Value> {
        restlm::io::read_jsonl(&d.join("metrics.jsonl"), false).unwrap()
    };
    // The same rows (timings aside) in the same order.
    let strip = |mut v: serde_json::Value| {
        for k in ["tokens_per_s", "elapsed_s"] {
            v.as_object_mut().unwrap().remove(k);
        }
        v
    };
    let (ra, rb): (Vec<_>, Vec<_>) = (
        rows(&dir).into_iter().map(strip).collect(),
        rows(&reference).into_iter().map(strip).collect(),
    );
    assert_eq!(ra.len(), rb.len(), "metrics rows: each once");
    assert_eq!(ra, rb, "metrics rows equal the uninterrupted run's");
}
