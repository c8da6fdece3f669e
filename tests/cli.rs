//! Command-line verbs that stand alone: `restlm eval` scores a policy as
//! the loop does.

mod common;

#[test]
fn eval_scores_a_policy_exactly_as_the_loop_evaluated_it() {
    let dir = std::env::temp_dir().join(format!("restlm-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = common::TINY_RUN.replace("[rest]\n", "[rest]\nthresholds = [10.0]\n")
        + "[improve]\nsteps = 3\n[eval]\nsamples = 2\n";
    std::fs::write(dir.join("rest.toml"), config).unwrap();
    let restlm = |args: &[&str]| common::restlm_ok(&dir, args);
    restlm(&["--config", "rest.toml", "run", "--run-dir", "run"]);
    let state: restlm::rest::run::RunState =
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
