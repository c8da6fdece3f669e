//! Command-line verbs that stand alone: `restlm eval` scores a policy as
//! the loop does.

use std::process::Command;

#[test]
fn eval_scores_a_policy_exactly_as_the_loop_evaluated_it() {
    let dir = std::env::temp_dir().join(format!("restlm-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("rest.toml"),
        r#"
seed = 5
device = "cpu"
run_dir = "run"
[data]
task = "toy"
task_train = 40
task_eval = 6
max_prompt_tokens = 24
[model]
d_model = 64
d_ff = 160
max_seq_len = 64
[tokenizer]
vocab_size = 320
[sft]
steps = 10
[improve]
steps = 3
[sample]
temperature = 1.0
max_new_tokens = 16
[eval]
samples = 2
[rest]
samples_per_prompt = 2
thresholds = [10.0]
"#,
    )
    .unwrap();
    let restlm = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_restlm"))
            .current_dir(&dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    restlm(&["--config", "rest.toml", "run"]);
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
        "6 held-out prompts, reward chrf: greedy {:.2}, sampled {:.2} (2 per prompt), chrF {:.2}",
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
    assert_eq!(lines.len(), 6);
    let greedy: f64 = lines
        .iter()
        .map(|l| l["greedy_reward"].as_f64().unwrap())
        .sum::<f64>()
        / 6.0;
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
