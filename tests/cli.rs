//! Command-line verbs that stand alone: `restlm eval` scores a policy as
//! the loop does; a full disk during a checkpoint or a grown-set write is
//! a named error that loses nothing already written.

mod common;

#[test]
fn eval_scores_a_policy_exactly_as_the_loop_evaluated_it() {
    let dir = common::Scratch::new("cli");
    let config = common::TINY_RUN.replace("[rest]\n", "[rest]\nthresholds = [10.0]\n")
        + "[improve]\nsteps = 3\n[eval]\nsamples = 2\n";
    std::fs::write(dir.join("rest.toml"), config).unwrap();
    let restlm = |args: &[&str]| common::restlm_ok(&dir, args);
    restlm(&["--config", "rest.toml", "run", "--run-dir", "run"]);
    let state: restlm::rest::state::RunState =
        restlm::io::read_json(&dir.join("run/state.json")).unwrap();
    let (best, _) = state.best.clone().unwrap();
    let row = state.evals.iter().find(|e| e.step == best).unwrap();
    let said = restlm(&[
        "--config",
        "rest.toml",
        "eval",
        "--policy",
        "run/best",
        "--out",
        "ev.jsonl",
    ]);
    let want = format!(
        "8 held-out prompts, reward chrf: greedy {:.2}, sampled {:.2} (2 per prompt), chrF {:.2}",
        row.greedy_reward,
        row.sampled_reward,
        row.chrf.unwrap()
    );
    assert!(said.contains(&want), "{said}\nwant {want}");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(dir.join("ev.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 8);
    let greedy: f64 = lines
        .iter()
        .map(|l| l["greedy_reward"].as_f64().unwrap())
        .sum::<f64>()
        / lines.len() as f64;
    assert!(
        (greedy - row.greedy_reward).abs() < 1e-9,
        "{greedy} vs {}",
        row.greedy_reward
    );
    assert!(
        lines
            .iter()
            .all(|l| l["samples"].as_array().unwrap().len() == 2)
    );
    // Another reward, no samples.
    let said = restlm(&[
        "--config",
        "rest.toml",
        "eval",
        "--policy",
        "run/best",
        "--reward",
        "exact",
        "--samples",
        "0",
    ]);
    assert!(
        said.contains("reward exact") && said.contains("not sampled"),
        "{said}"
    );
}

/// `restlm ARGS` in `dir` with files limited to `max_bytes` (RLIMIT_FSIZE,
/// SIGXFSZ ignored so that writes past it fail with EFBIG, as on a full
/// disk).
fn restlm_with_file_limit(
    dir: &std::path::Path,
    args: &[&str],
    max_bytes: u64,
) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_restlm"));
    cmd.current_dir(dir).args(args);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: max_bytes,
                rlim_max: max_bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0
                || libc::signal(libc::SIGXFSZ, libc::SIG_IGN) == libc::SIG_ERR
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.output().unwrap()
}

/// The error a failed command printed, checked to be a named error (not a
/// panic) that names `file`.
fn failed_naming(out: &std::process::Output, file: &str) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "it should have failed");
    assert!(!err.contains("panicked"), "a panic: {err}");
    assert!(
        err.contains("error: ") && err.contains(file) && err.contains("File too large"),
        "the error names {file} and the cause: {err}"
    );
    err
}

#[test]
fn a_full_disk_is_a_named_error_and_loses_nothing_already_written() {
    let dir = common::Scratch::new("cli-disk");
    let config = |steps: usize| {
        common::TINY_RUN.replace(
            "[sft]\nsteps = 10\n",
            &format!("[sft]\nsteps = {steps}\neval_every = 5\n"),
        )
    };
    std::fs::write(dir.join("five.toml"), config(5)).unwrap();
    std::fs::write(dir.join("ten.toml"), config(10)).unwrap();
    let restlm = |args: &[&str]| common::restlm_ok(&dir, args);

    // A checkpoint at step 5; then the disk fills while writing step 10's.
    restlm(&["--config", "five.toml", "sft", "--out", "ck"]);
    let before = common::weights(&dir.join("ck"));
    let out = restlm_with_file_limit(
        &dir,
        &["--config", "ten.toml", "sft", "--out", "ck"],
        64 << 10,
    );
    failed_naming(&out, "model.bpk");
    let state = restlm::model::checkpoint::load_state(&dir.join("ck")).unwrap();
    assert_eq!(
        state.step, 5,
        "the previous checkpoint is still the one in place"
    );
    assert!(
        common::weights(&dir.join("ck")) == before,
        "its weights are intact"
    );
    assert!(
        !dir.join(".ck.tmp").exists(),
        "the partial checkpoint is removed"
    );
    // With room again, training resumes from step 5.
    restlm(&["--config", "ten.toml", "sft", "--out", "ck"]);
    assert_eq!(
        restlm::model::checkpoint::load_state(&dir.join("ck"))
            .unwrap()
            .step,
        10
    );

    // The grown set: the disk fills part-way; whole lines stay, and the
    // resumed Grow ends equal to one that had room.
    fn grow(out: &str) -> [&str; 7] {
        [
            "--config", "ten.toml", "grow", "--policy", "ck", "--out", out,
        ]
    }
    restlm(&grow("roomy.jsonl"));
    let out = restlm_with_file_limit(&dir, &grow("full.jsonl"), 24 << 10);
    failed_naming(&out, "full.jsonl");
    let partial = std::fs::read_to_string(dir.join("full.jsonl")).unwrap();
    assert!(
        !partial.is_empty() && partial.ends_with('\n'),
        "only whole lines"
    );
    let roomy = std::fs::read(dir.join("roomy.jsonl")).unwrap();
    assert!(
        roomy.starts_with(partial.as_bytes()),
        "what was written is right"
    );
    restlm(&grow("full.jsonl"));
    assert!(
        std::fs::read(dir.join("full.jsonl")).unwrap() == roomy,
        "resumed to the same set"
    );
}

#[test]
fn a_run_directory_refuses_another_config_but_not_an_older_spelling_or_rm_settings() {
    let dir = common::Scratch::new("cli-pin");
    let config = |extra: &str| {
        common::TINY_RUN
            .replace("[sft]\nsteps = 10\n", "[sft]\nsteps = 2\n")
            .replace("[rest]\n", "[rest]\ngrow_steps = 0\n")
            + extra
    };
    let restlm = |args: &[&str]| common::restlm_in(&dir, args);
    std::fs::write(dir.join("a.toml"), config("")).unwrap();
    assert!(
        restlm(&["--config", "a.toml", "run", "--run-dir", "run"])
            .status
            .success()
    );
    // Written by a version before `[rm]` and the learned-reward keys: the
    // same run.
    let pinned = dir.join("run/config.toml");
    let text = std::fs::read_to_string(&pinned).unwrap();
    let rm_at = text.find("[rm]").expect("the config records [rm]");
    let older: String = text[..rm_at]
        .lines()
        .filter(|l| !l.starts_with("uncertainty_penalty"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&pinned, older).unwrap();
    assert!(
        restlm(&["--config", "a.toml", "run", "--run-dir", "run"])
            .status
            .success()
    );
    // `[rm]` is not read by a run.
    std::fs::write(dir.join("b.toml"), config("[rm]\nmembers = 3\n")).unwrap();
    let out = restlm(&["--config", "b.toml", "run", "--run-dir", "run"]);
    assert!(out.status.success());
    // A finished run ends with its peak memory (Linux reports it).
    let err = String::from_utf8_lossy(&out.stderr);
    let mb = err.lines().find_map(|l| {
        l.strip_prefix("peak RSS: ")?
            .strip_suffix(" MB")?
            .parse::<f64>()
            .ok()
    });
    assert!(mb.is_some_and(|mb| mb > 1.0), "{err}");
    // Anything a run reads is.
    std::fs::write(dir.join("c.toml"), config("[eval]\nsamples = 3\n")).unwrap();
    let out = restlm(&["--config", "c.toml", "run", "--run-dir", "run"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("different configuration"),
        "{err}"
    );
    assert!(
        !err.contains("peak RSS"),
        "a failed run reports no memory: {err}"
    );
}
