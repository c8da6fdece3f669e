//! Rewards against sacrebleu, the external scorer's failure modes, the
//! Improve filter and threshold schedule.

mod common;
#[path = "rewards/reward_model.rs"]
mod reward_model;

use restlm::config::RestConfig;
use restlm::rest::{Grown, filter, thresholds};
use restlm::reward::{External, Item, score_all, sentence_bleu_multi, sentence_chrf_multi};

#[derive(serde::Deserialize)]
struct Row {
    hypothesis: String,
    references: Vec<String>,
    chrf: f64,
    bleu: f64,
}

// sacrebleu computes in f64 with the same formulas; only summation order
// can differ, so 1e-6 (of a 0–100 score) is loose enough and still catches
// any definitional slip (those move scores by ≥ 0.1).
const TOL: f64 = 1e-6;

#[test]
fn chrf_and_bleu_equal_sacrebleu_with_one_and_several_references() {
    let text = include_str!("fixtures/sacrebleu_scores.jsonl");
    let (mut n, mut multi) = (0, 0);
    for line in text.lines() {
        let r: Row = serde_json::from_str(line).unwrap();
        let c = sentence_chrf_multi(&r.hypothesis, &r.references);
        let b = sentence_bleu_multi(&r.hypothesis, &r.references);
        multi += (r.references.len() > 1) as usize;
        assert!(
            (c - r.chrf).abs() < TOL,
            "chrF {c} vs sacrebleu {} for {:?} / {:?}",
            r.chrf,
            r.hypothesis,
            r.references
        );
        assert!(
            (b - r.bleu).abs() < TOL,
            "BLEU {b} vs sacrebleu {} for {:?} / {:?}",
            r.bleu,
            r.hypothesis,
            r.references
        );
        n += 1;
    }
    assert!(
        n >= 50 && multi >= 30,
        "{n} rows, {multi} with several references"
    );
}

fn refs(r: &[&str]) -> &'static [String] {
    Box::leak(
        r.iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    )
}

fn items() -> Vec<Item<'static>> {
    let meta: &'static serde_json::Value = Box::leak(Box::new(serde_json::json!({"answer": 7})));
    vec![
        Item {
            prompt: "p1",
            sample: "la kato",
            references: refs(&["la kato", "kato"]),
            meta: Some(meta),
        },
        Item {
            prompt: "p2",
            sample: "hundo",
            references: refs(&[]),
            meta: None,
        },
    ]
}

/// `cmd` through a shell, as a user who wants one writes it.
fn sh(cmd: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), cmd.into()]
}

fn err_of(cmd: &str, timeout: f64) -> String {
    let mut r = External::new(sh(cmd), timeout);
    score_all(&mut r, &items(), 8).unwrap_err().to_string()
}

#[test]
fn external_scorer_round_trips_jsonl() {
    // Scores each line by its sample's length, via python's json.
    let cmd = r#"python3 -c 'import sys, json
for l in sys.stdin: print(json.dumps({"reward": len(json.loads(l)["sample"])}))'"#;
    let mut r = External::new(sh(cmd), 30.0);
    assert_eq!(score_all(&mut r, &items(), 1).unwrap(), vec![7.0, 5.0]);
}

#[test]
fn external_scorer_receives_references_and_meta() {
    // Echoes back: number of references + 10 × meta.answer (0 without).
    let cmd = r#"python3 -c 'import sys, json
for l in sys.stdin:
    d = json.loads(l)
    m = d["meta"] or {}
    assert d["reference"] == (d["references"][0] if d["references"] else None)
    print(len(d["references"]) + 10 * m.get("answer", 0))'"#;
    let mut r = External::new(sh(cmd), 30.0);
    assert_eq!(score_all(&mut r, &items(), 8).unwrap(), vec![72.0, 0.0]);
}

#[test]
fn external_scorer_crash_is_an_error_naming_command_and_batch() {
    let e = err_of("echo oops >&2; exit 3", 10.0);
    assert!(
        e.contains("exit 3") && e.contains("batch 1") && e.contains("oops"),
        "{e}"
    );
}

#[test]
fn external_scorer_past_its_timeout_is_killed() {
    let t0 = std::time::Instant::now();
    let e = err_of("sleep 30", 0.5);
    assert!(e.contains("no answer within 0.5s"), "{e}");
    assert!(t0.elapsed().as_secs_f64() < 10.0);
}

#[test]
fn external_scorer_garbage_nan_and_short_answers_are_errors() {
    let e = err_of("cat >/dev/null; echo hello; echo 1", 10.0);
    assert!(e.contains("line 1") && e.contains("not JSON"), "{e}");
    let e = err_of("cat >/dev/null; echo NaN; echo 1", 10.0);
    assert!(e.contains("line 1"), "{e}");
    let e = err_of(
        "cat >/dev/null; echo '{\"reward\": \"high\"}'; echo 1",
        10.0,
    );
    assert!(e.contains("expected a number"), "{e}");
    let e = err_of("cat >/dev/null; echo 1", 10.0);
    assert!(e.contains("answered 1 lines for 2 items"), "{e}");
}

#[test]
fn grow_keeps_what_was_scored_before_a_scorer_failure() {
    // The first batch scores; the second crashes: the grown file keeps batch 1.
    use restlm::burn::prelude::Device;
    use restlm::rest::grow::{GrowSetup, grow};
    let dir = common::Scratch::new("grow-fail");
    let flag = dir.join("calls");
    let cmd = format!(
        "n=$(cat {f} 2>/dev/null || echo 0); echo $((n+1)) > {f}; [ $n -ge 1 ] && exit 9; while read l; do echo 50; done",
        f = flag.display()
    );
    let (records, _) = restlm::data::task::toy::generate(6, 0, 3);
    let texts: Vec<&str> = records
        .iter()
        .flat_map(|r| [r.prompt.as_str(), r.reference().unwrap()])
        .collect();
    let tok = restlm::tokenizer::Tokenizer::train(&texts, 280).unwrap();
    let mut cfg = restlm::model::ModelConfig {
        vocab_size: tok.vocab_size(),
        d_model: 32,
        d_ff: 64,
        max_seq_len: 48,
        ..Default::default()
    };
    cfg.n_layers = 1;
    let policy = restlm::Policy::new(cfg, tok, &Device::flex());
    let setup = GrowSetup {
        grow_step: 1,
        shard: restlm::rest::grow::Shard::WHOLE,
        samples_per_prompt: 2,
        include_dataset: false,
        max_prompt: 20,
        sample: restlm::sample::SampleOptions {
            pick: restlm::sample::PickOptions {
                temperature: 1.0,
                top_k: 0,
                top_p: 1.0,
            },
            max_new_tokens: 4,
            batch_size: 4,
            seed: 0,
            use_cache: true,
            on_device: true,
        },
        reward_batch: 64,
        label: "grow",
    };
    let path = dir.join("g1.jsonl");
    let mut reward = External::new(sh(&cmd), 10.0);
    let e = grow(&policy, &records, &mut reward, &setup, &path)
        .unwrap_err()
        .to_string();
    assert!(e.contains("batch 2") && e.contains("exit"), "{e}");
    let kept: Vec<Grown> = restlm::io::read_jsonl(&path, false).unwrap();
    assert_eq!(
        kept.len(),
        4,
        "two prompts × two samples from the first batch"
    );
    assert!(kept.iter().all(|g| g.reward == 50.0 && g.logprob.is_some()));
}

fn grown(rewards: &[f64]) -> Vec<Grown> {
    rewards
        .iter()
        .enumerate()
        .map(|(i, &r)| Grown {
            grow: 1,
            prompt_id: format!("p{i}"),
            origin: restlm::rest::grow::Origin::Sample(0),
            prompt: "p".into(),
            sample: "s".into(),
            reward: r,
            logprob: Some(-1.0),
            finished: true,
            scored_by: None,
        })
        .collect()
}

#[test]
fn filter_keeps_exactly_the_records_at_or_above_tau() {
    let g = grown(&[10.0, 50.0, 49.999, 50.0001, 90.0, 0.0]);
    let kept: Vec<f64> = filter(&g, 50.0).iter().map(|r| r.reward).collect();
    assert_eq!(kept, vec![50.0, 50.0001, 90.0]);
    assert!(filter(&g, 100.0).is_empty());
    assert_eq!(filter(&g, f64::NEG_INFINITY).len(), g.len());
}

#[test]
fn threshold_schedules_rise() {
    let cfg = RestConfig {
        thresholds: vec![40.0, 60.0, 75.0],
        ..Default::default()
    };
    let t = thresholds(&cfg, &[]);
    assert_eq!(t, vec![40.0, 60.0, 75.0]);
    let q = RestConfig {
        quantiles: vec![0.25, 0.5, 0.75],
        ..Default::default()
    };
    let rewards: Vec<f64> = (0..100).map(|i| i as f64).collect();
    assert_eq!(thresholds(&q, &rewards), vec![25.0, 50.0, 75.0]);
    let ties = thresholds(&q, &[10.0; 20]);
    assert!(ties.windows(2).all(|w| w[0] < w[1]), "{ties:?}");
    let mut bad = restlm::RunConfig::default();
    bad.rest.thresholds = vec![60.0, 40.0];
    assert!(bad.validate().unwrap_err().to_string().contains("rise"));
}

#[test]
fn scorer_commands_split_like_a_shell_but_run_without_one() {
    use restlm::config::ScorerCommand;
    let line = |s: &str| ScorerCommand::from(s).argv();
    assert_eq!(
        line(r#"python3 "my scorer.py" --tag 'a b'  c\ d "q\"uote""#).unwrap(),
        ["python3", "my scorer.py", "--tag", "a b", "c d", "q\"uote"]
    );
    for (bad, why) in [
        ("sleep 1; echo 2", "`;` is shell syntax"),
        ("score | tee log", "`|` is shell syntax"),
        ("score > out", "`>` is shell syntax"),
        ("score $HOME", "`$` is shell syntax"),
        ("score \"$HOME\"", "inside double quotes needs a shell"),
        ("score 'open", "single quote is not closed"),
        ("   ", "reward.command is empty"),
    ] {
        let e = line(bad).unwrap_err().to_string();
        assert!(e.contains(why), "{bad}: {e}");
    }
    // An argv list reaches the program untouched: one argument, unexpanded.
    let argv = ScorerCommand::Argv(vec![
        "python3".into(),
        "-c".into(),
        "import sys\nfor l in sys.stdin: print(len(sys.argv) * 10 + (sys.argv[1] == '$HOME; x'))"
            .into(),
        "$HOME; x".into(),
    ]);
    let mut r = External::new(argv.argv().unwrap(), 30.0);
    assert_eq!(score_all(&mut r, &items(), 8).unwrap(), vec![21.0, 21.0]);
    // In a config file: a list, or a string that must split cleanly.
    let dir = common::Scratch::new("scorer");
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        "[reward]\nkind = \"external\"\ncommand = [\"python3\", \"s.py\"]\n",
    )
    .unwrap();
    let cfg = restlm::RunConfig::load(&good).unwrap();
    assert_eq!(
        cfg.reward.command.unwrap().argv().unwrap(),
        ["python3", "s.py"]
    );
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[reward]\nkind = \"external\"\ncommand = \"a.sh && b.sh\"\n",
    )
    .unwrap();
    let e = restlm::RunConfig::load(&bad).unwrap_err().to_string();
    assert!(
        e.contains("bad.toml") && e.contains("`&` is shell syntax"),
        "{e}"
    );
}
