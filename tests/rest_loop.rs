//! The ReST loop end to end on CPU: it improves on SFT, and a run killed
//! (SIGKILL) during Grow and during Improve resumes to the same result.

mod common;

use restlm::burn::prelude::Device;
use restlm::rest::grow::Grown;
use restlm::rest::run::{RunOptions, RunState};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn fresh(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("restlm-loop-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Held-out chrF must beat the SFT policy's by this many points. In the
/// seeded run SFT scores ≈ 30 and the last Improve ≈ 90; 10 leaves room
/// for other CPUs' rounding while still failing if Improve did nothing.
const MARGIN: f64 = 10.0;

#[test]
fn small_loop_on_cpu_beats_the_sft_policy() {
    let cfg = common::small_run(&fresh("improves"), "cpu");
    let rows = restlm::rest::run(
        &cfg,
        &RunOptions {
            init: None,
            max_units: None,
            stop_before_grow: false,
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

/// Starts `restlm run`, waits until `ready` holds, SIGKILLs it.
fn kill_when(config: &Path, ready: impl Fn() -> bool) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_restlm"))
        .args(["--config", config.to_str().unwrap(), "run"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
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
    let reference = fresh("reference");
    let (cfg, path) = write(&reference);
    run_to_end(&path);

    let dir = fresh("killed");
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
    for r in rows.iter().filter_map(|r| r.sample_index.map(|i| (r, i))) {
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
        rows.iter().filter(|r| r.sample_index.is_none()).count(),
        prompts,
        "D once"
    );
    // Same samples and rewards as the uninterrupted run.
    let key = |g: &Grown| {
        (
            g.prompt_id.clone(),
            g.sample_index,
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
