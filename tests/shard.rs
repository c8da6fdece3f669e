//! Grow sharded over processes (`restlm grow --shard i/N`, `restlm merge`),
//! through the command line on the CPU backend: shards merge to exactly
//! what one process grows, at another batch size too; merge refuses
//! inconsistent shards by name; a killed shard resumes without loss or
//! duplication; two copies of one shard at once leave a correct file.

mod common;

use restlm::rest::grow::Grown;
use restlm::rest::shard::Manifest;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::TINY_RUN as CONFIG;

struct Work {
    dir: common::Scratch,
}

impl Work {
    /// A directory with `rest.toml` (batch 12), `batch5.toml` (the same at
    /// batch 5) and a policy trained by `restlm sft` (and a second one from
    /// another seed).
    fn new(name: &str) -> Work {
        let dir = common::Scratch::new(&format!("shard-{name}"));
        std::fs::write(dir.join("rest.toml"), CONFIG).unwrap();
        std::fs::write(
            dir.join("batch5.toml"),
            CONFIG.replace("batch_size = 12", "batch_size = 5"),
        )
        .unwrap();
        std::fs::write(
            dir.join("seed12.toml"),
            CONFIG.replace("seed = 11", "seed = 12"),
        )
        .unwrap();
        let w = Work { dir };
        w.ok(&["--config", "rest.toml", "sft", "--out", "policy"]);
        w
    }

    fn restlm(&self, args: &[&str]) -> Output {
        common::restlm_in(&self.dir, args)
    }

    fn ok(&self, args: &[&str]) -> String {
        common::restlm_ok(&self.dir, args)
    }

    /// `restlm merge` must fail; its error message.
    fn merge_fails(&self, shards: &str) -> String {
        let out = self.restlm(&["merge", "--dir", shards, "--out", "merged.jsonl"]);
        assert!(!out.status.success(), "merge of {shards} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// `restlm grow --shard` of `policy`, which must succeed.
    fn grow_shard(&self, config: &str, shard: &str, out: &str) {
        let done = self.grow_shard_of("policy", config, shard, out);
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
    }

    fn grow_shard_of(&self, policy: &str, config: &str, shard: &str, out: &str) -> Output {
        self.restlm(&[
            "--config", config, "grow", "--policy", policy, "--out", out, "--shard", shard,
        ])
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.join(p)
    }

    fn read(&self, p: &str) -> String {
        std::fs::read_to_string(self.path(p)).unwrap()
    }
}

fn rows(path: &Path) -> Vec<Grown> {
    restlm::io::read_jsonl(path, false).unwrap()
}

#[test]
fn three_shards_at_another_batch_size_merge_to_one_process_grow() {
    let w = Work::new("stable");
    w.ok(&[
        "--config",
        "rest.toml",
        "grow",
        "--policy",
        "policy",
        "--out",
        "single.jsonl",
    ]);
    for i in 0..3 {
        w.grow_shard("batch5.toml", &format!("{i}/3"), "shards");
    }
    let said = w.ok(&["merge", "--dir", "shards", "--out", "merged.jsonl"]);
    assert!(said.contains("3 shards, 50 prompts"), "{said}");
    let single = w.read("single.jsonl");
    // 50 prompts × 3 samples, plus D's rows (the toy task labels some).
    let n = rows(&w.path("single.jsonl"));
    assert!(n.iter().filter(|r| r.origin.is_sample()).count() == 150);
    assert!(n.iter().any(|r| !r.origin.is_sample()));
    assert_eq!(
        single,
        w.read("merged.jsonl"),
        "merged shards differ from one process"
    );
    // Merging again writes the same file.
    w.ok(&["merge", "--dir", "shards", "--out", "merged.jsonl"]);
    assert_eq!(single, w.read("merged.jsonl"));
    // A finished shard is not grown again.
    let again = w.ok(&[
        "--config",
        "batch5.toml",
        "grow",
        "--policy",
        "policy",
        "--out",
        "shards",
        "--shard",
        "1/3",
    ]);
    assert!(again.contains("already complete"), "{again}");
}

#[test]
fn shard_index_comes_from_slurm_or_kubernetes_variables() {
    use restlm::rest::shard::shard_from_env;
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    let slurm = env(&[
        ("SLURM_ARRAY_TASK_ID", "5"),
        ("SLURM_ARRAY_TASK_MIN", "4"),
        ("SLURM_ARRAY_TASK_COUNT", "3"),
    ]);
    assert_eq!(
        shard_from_env(None, None, &slurm).unwrap().to_string(),
        "1/3"
    );
    let k8s = env(&[("JOB_COMPLETION_INDEX", "2")]);
    assert_eq!(
        shard_from_env(None, Some(4), &k8s).unwrap().to_string(),
        "2/4"
    );
    assert!(
        shard_from_env(None, None, &k8s)
            .unwrap_err()
            .to_string()
            .contains("--shards")
    );
    assert!(shard_from_env(None, None, &env(&[])).is_err());
    assert_eq!(
        shard_from_env(Some("0/2"), None, &slurm)
            .unwrap()
            .to_string(),
        "0/2"
    );
    for bad in ["3/3", "1", "a/2", "0/0"] {
        assert!(shard_from_env(Some(bad), None, &env(&[])).is_err(), "{bad}");
    }
}

fn manifest(w: &Work, p: &str) -> Manifest {
    restlm::io::read_json(&w.path(p)).unwrap()
}

fn set_manifest(w: &Work, p: &str, m: &Manifest) {
    restlm::io::write_json_atomic(&w.path(p), m).unwrap();
}

fn copy_shards(w: &Work, from: &str, to: &str) {
    let (from, to) = (w.path(from), w.path(to));
    let _ = std::fs::remove_dir_all(&to);
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

#[test]
fn merge_refuses_inconsistent_shards_by_name() {
    let w = Work::new("refuse");
    for i in 0..3 {
        w.grow_shard("rest.toml", &format!("{i}/3"), "good");
    }
    w.ok(&["merge", "--dir", "good", "--out", "merged.jsonl"]);

    // A missing shard.
    copy_shards(&w, "good", "missing");
    std::fs::remove_file(w.path("missing/grown.2-of-3.json")).unwrap();
    let e = w.merge_fails("missing");
    assert!(e.contains("shard 2/3 is missing"), "{e}");

    // A shard from another policy.
    w.ok(&["--config", "seed12.toml", "sft", "--out", "other"]);
    copy_shards(&w, "good", "policy2");
    for f in ["json", "jsonl"] {
        std::fs::remove_file(w.path(&format!("policy2/grown.1-of-3.{f}"))).unwrap();
    }
    let grown = w.grow_shard_of("other", "rest.toml", "1/3", "policy2");
    assert!(grown.status.success());
    let e = w.merge_fails("policy2");
    assert!(e.contains("another policy"), "{e}");

    // A shard from another seed.
    copy_shards(&w, "good", "seed");
    for f in ["json", "jsonl"] {
        std::fs::remove_file(w.path(&format!("seed/grown.0-of-3.{f}"))).unwrap();
    }
    w.grow_shard("seed12.toml", "0/3", "seed");
    let e = w.merge_fails("seed");
    assert!(e.contains("another seed"), "{e}");

    // Shards that overlap: shard 1 claims one of shard 0's prompts.
    copy_shards(&w, "good", "overlap");
    let m0 = manifest(&w, "overlap/grown.0-of-3.json");
    let mut m1 = manifest(&w, "overlap/grown.1-of-3.json");
    m1.prompt_ids[0] = m0.prompt_ids[0].clone();
    set_manifest(&w, "overlap/grown.1-of-3.json", &m1);
    let e = w.merge_fails("overlap");
    assert!(
        e.contains(&format!(
            "prompt `{}` is in shard 0/3 and in shard 1/3",
            m0.prompt_ids[0]
        )),
        "{e}"
    );

    // A sample twice (the manifest made to agree with the tampered file).
    copy_shards(&w, "good", "dup");
    let file = w.path("dup/grown.2-of-3.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    let sample = text
        .lines()
        .find(|l| !l.contains("\"sample_index\":null"))
        .unwrap();
    std::fs::write(&file, format!("{text}{sample}\n")).unwrap();
    let e = w.merge_fails("dup");
    assert!(e.contains("checksum"), "{e}");
    let mut m2 = manifest(&w, "dup/grown.2-of-3.json");
    m2.rows += 1;
    m2.checksum = restlm::io::file_hash(&file).unwrap();
    set_manifest(&w, "dup/grown.2-of-3.json", &m2);
    let e = w.merge_fails("dup");
    assert!(e.contains("appears twice"), "{e}");

    // A sample missing.
    copy_shards(&w, "good", "short");
    let file = w.path("short/grown.0-of-3.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    let kept: Vec<&str> = text.lines().take(text.lines().count() - 1).collect();
    std::fs::write(&file, kept.join("\n") + "\n").unwrap();
    let mut m0 = manifest(&w, "short/grown.0-of-3.json");
    m0.rows -= 1;
    m0.checksum = restlm::io::file_hash(&file).unwrap();
    set_manifest(&w, "short/grown.0-of-3.json", &m0);
    let e = w.merge_fails("short");
    assert!(e.contains("has 2 of its 3 samples"), "{e}");

    // Growing into a finished shard with another policy is refused.
    let out = w.grow_shard_of("other", "rest.toml", "0/3", "good");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("another policy"));
}

fn spawn_shard(w: &Work, out: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_restlm"))
        .current_dir(&w.dir)
        .args([
            "--config", "big.toml", "grow", "--policy", "policy", "--out", out, "--shard", "0/2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_killed_shard_resumes_and_two_copies_at_once_agree() {
    let w = Work::new("kill");
    // More prompts, so that the kill lands mid-shard.
    std::fs::write(
        w.path("big.toml"),
        CONFIG
            .replace("task_train = 50", "task_train = 400")
            .replace("batch_size = 12", "batch_size = 6"),
    )
    .unwrap();
    w.ok(&[
        "--config", "big.toml", "grow", "--policy", "policy", "--out", "whole", "--shard", "0/2",
    ]);
    let want = w.read("whole/grown.0-of-2.jsonl");

    // SIGKILL once the part file holds D's rows and a batch of samples,
    // then run again.
    let dataset = want
        .lines()
        .filter(|l| l.contains("\"sample_index\":null"))
        .count();
    let part = w.path("killed/grown.0-of-2.part.jsonl");
    let mut child = spawn_shard(&w, "killed");
    let t0 = Instant::now();
    while std::fs::read_to_string(&part).map_or(0, |s| s.lines().count()) <= dataset {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the shard finished before the kill"
        );
        assert!(t0.elapsed() < Duration::from_secs(120), "no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!w.path("killed/grown.0-of-2.jsonl").exists());
    let partial = std::fs::read_to_string(&part).unwrap().lines().count();
    w.ok(&[
        "--config", "big.toml", "grow", "--policy", "policy", "--out", "killed", "--shard", "0/2",
    ]);
    assert!(partial < want.lines().count(), "killed after the end");
    assert_eq!(
        w.read("killed/grown.0-of-2.jsonl"),
        want,
        "resumed shard differs"
    );

    // Two copies of the same shard at once: both succeed, one file.
    let (a, b) = (spawn_shard(&w, "twice"), spawn_shard(&w, "twice"));
    for c in [a, b] {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success());
    }
    assert_eq!(w.read("twice/grown.0-of-2.jsonl"), want);
    let m: Manifest = restlm::io::read_json(&w.path("twice/grown.0-of-2.json")).unwrap();
    assert_eq!(m.rows, want.lines().count());
}

#[test]
fn a_run_stopped_before_each_grow_and_grown_in_shards_ends_as_one_process_run() {
    let w = Work::new("run");
    let cfg = CONFIG.replace("[rest]", "[improve]\nsteps = 4\n[eval]\nsamples = 1\n[rest]\ngrow_steps = 2\nthresholds = [10.0, 20.0]");
    std::fs::write(w.path("loop.toml"), cfg).unwrap();
    w.ok(&["--config", "loop.toml", "run", "--run-dir", "local"]);
    let mut stops = 0;
    loop {
        let out = w.restlm(&[
            "--config",
            "loop.toml",
            "run",
            "--run-dir",
            "split",
            "--stop-before-grow",
        ]);
        match out.status.code() {
            Some(0) => break,
            Some(3) => stops += 1,
            _ => panic!("{}", String::from_utf8_lossy(&out.stderr)),
        }
        for i in 0..2 {
            w.ok(&[
                "--config",
                "loop.toml",
                "grow",
                "--run",
                "split",
                "--shard",
                &format!("{i}/2"),
            ]);
        }
        w.ok(&["merge", "--run", "split"]);
    }
    assert_eq!(stops, 2, "one stop per Grow");
    let state = |d: &str| -> restlm::rest::state::RunState {
        restlm::io::read_json(&w.path(&format!("{d}/state.json"))).unwrap()
    };
    let (a, b) = (state("local"), state("split"));
    assert_eq!(a.completed, b.completed);
    assert_eq!(
        serde_json::to_string(&a.evals).unwrap(),
        serde_json::to_string(&b.evals).unwrap()
    );
    for g in 1..=2 {
        let f = format!("grow/g{g}.jsonl");
        assert_eq!(w.read(&format!("local/{f}")), w.read(&format!("split/{f}")));
    }
    // Nothing pending any more.
    let out = w.restlm(&["merge", "--run", "split"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("every Grow of this run is done"));
}
