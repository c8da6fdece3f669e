//! Learned reward models: the report's statistics against values worked
//! by hand, the losses against their formulas on the model's own outputs,
//! a model that learns a score it can see (pointwise and pairwise), an
//! ensemble's mean − λ·std, the mixed gold/model reward, and the errors a
//! user's bad data or config gets.

use crate::common::{self, Scratch};
use restlm::burn::prelude::*;
use restlm::config::{OneOrMany, RewardConfig, RewardKind, RunConfig};
use restlm::model::checkpoint::TrainState;
use restlm::reward::learned::{Mixed, mean_std, to_score};
use restlm::reward::{Item, Reward};
use restlm::rm::report::{Scored, ranks, report};
use restlm::rm::{self, Options, data::Example};
use std::path::Path;

fn cpu() -> Device {
    Device::flex()
}

#[test]
fn report_statistics_equal_values_worked_by_hand() {
    let s = |prompt, gold, model| Scored {
        prompt,
        gold,
        model,
    };
    // Prompt a: model orders (10 < 30 > 20) against gold (0 < 100 > 50):
    // pairs (0,100) right, (0,50) right, (100,50) right. Prompt b: one
    // pair, the model tied (half).
    let points = [
        s("a", 0.0, 10.0),
        s("a", 100.0, 30.0),
        s("a", 50.0, 20.0),
        s("b", 100.0, 60.0),
        s("b", 0.0, 60.0),
    ];
    let r = report(&points, &[(2.0, 1.0), (1.0, 3.0)], &[50.0]);
    assert_eq!(r.pairs, 4);
    assert!((r.pair_accuracy.unwrap() - 3.5 / 4.0).abs() < 1e-12);
    // Top-1: a's pick (30) has the best gold; b's pick is the first of
    // the tie (gold 100) or the second (0): max_by keeps the last, gold 0.
    assert!((r.top1_agreement.unwrap() - 0.5).abs() < 1e-12);
    assert_eq!(r.preference_accuracy, Some(0.5));
    // ≥ 50: the model says b, b (60, 60) and none of a; gold says a:100,
    // a:50, b:100 → precision 1/2, recall 1/3.
    let (p, rc) = r.at_threshold["50"];
    assert!((p.unwrap() - 0.5).abs() < 1e-12 && (rc.unwrap() - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
    let rising = [s("x", 1.0, 5.0), s("x", 2.0, 7.0), s("x", 3.0, 100.0)];
    let r = report(&rising, &[], &[]);
    assert!((r.spearman.unwrap() - 1.0).abs() < 1e-12);
    assert!(r.pearson.unwrap() < 0.95, "Pearson sees the outlier");
    let falling = [s("x", 1.0, 3.0), s("x", 2.0, 2.0), s("x", 3.0, 1.0)];
    assert!((report(&falling, &[], &[]).spearman.unwrap() + 1.0).abs() < 1e-12);
}

#[test]
fn a_row_scores_the_same_alone_and_padded_in_a_batch() {
    let (m, tok, cfg) = common::checks::tiny_reward_model(3);
    let pairs = [
        ("3 plus 4", "seven"),
        ("a much longer prompt than the other", "x"),
        ("hi", "a b c d e f"),
    ];
    let rows = restlm::reward::learned::encode_rows(&tok, &pairs, 20, cfg.max_seq_len).unwrap();
    let together = m.raw(&rows, 4, cfg.max_seq_len, tok.pad);
    for (i, row) in rows.iter().enumerate() {
        let alone = m.raw(std::slice::from_ref(row), 1, cfg.max_seq_len, tok.pad);
        assert!(
            (alone[0] - together[i]).abs() < 1e-4,
            "row {i}: {} vs {}",
            alone[0],
            together[i]
        );
    }
    // The last token is read: a different output changes the reward.
    let other =
        restlm::reward::learned::encode_rows(&tok, &[("hi", "a b c d e g")], 20, cfg.max_seq_len)
            .unwrap();
    assert_ne!(m.raw(&other, 1, cfg.max_seq_len, tok.pad)[0], together[2]);
}

#[test]
fn losses_equal_their_formulas_on_the_models_own_rewards() {
    let (m, tok, cfg) = common::checks::tiny_reward_model(5);
    let rows = restlm::reward::learned::encode_rows(
        &tok,
        &[("p1", "a"), ("p2", "b b"), ("p3", "c"), ("p3", "d d d")],
        20,
        cfg.max_seq_len,
    )
    .unwrap();
    let r: Vec<f64> = m
        .raw(&rows, 8, cfg.max_seq_len, tok.pad)
        .iter()
        .map(|&x| x as f64)
        .collect();
    let sp = |x: f64| (1.0 + x.exp()).ln();
    use restlm::rm::train::{Rows, batch_loss};
    let point = |i: usize, y: f32| Rows::Point(rows[i].clone(), y);
    let examples = [point(0, 0.25), point(1, 1.0)];
    let refs: Vec<&Rows> = examples.iter().collect();
    let got: f32 = batch_loss(&m, &refs, 8, 0.0, cfg.max_seq_len, tok.pad).into_scalar();
    let want = ((sp(r[0]) - 0.25 * r[0]) + (sp(r[1]) - r[1])) / 2.0;
    assert!(
        (got as f64 - want).abs() < 1e-4,
        "pointwise {got} vs {want}"
    );
    let pair = Rows::Pair(rows[2].clone(), rows[3].clone());
    let mixed = [point(0, 0.25), pair];
    let refs: Vec<&Rows> = mixed.iter().collect();
    let got: f32 = batch_loss(&m, &refs, 8, 0.1, cfg.max_seq_len, tok.pad).into_scalar();
    let want = (sp(r[0]) - 0.25 * r[0]) + sp(r[3] - r[2]) + 0.1 * (r[2] + r[3]).powi(2);
    assert!((got as f64 - want).abs() < 1e-4, "mixed {got} vs {want}");
}

/// 48 prompts, each with outputs that say "yes" (score 100) or "no" (0)
/// among filler words: a score the model can see.
fn seen_score_data(dir: &Path, pairwise: bool) -> std::path::PathBuf {
    let fill = ["red", "blue", "green", "old", "new"];
    let mut lines = Vec::new();
    for i in 0..48 {
        let prompt = format!("question {i} about the {}", fill[i % 5]);
        let out = |k: usize, word: &str| {
            format!("{} {word} {}", fill[(i + k) % 5], fill[(i * 3 + k) % 5])
        };
        let line = if pairwise {
            serde_json::json!({"prompt": prompt, "chosen": out(1, "yes"), "rejected": out(2, "no")})
        } else {
            let k = i % 4;
            let (good, score) = if (i / 4) % 2 == 0 {
                ("yes", 100.0)
            } else {
                ("no", 0.0)
            };
            serde_json::json!({"prompt": prompt, "output": out(k, good), "score": score})
        };
        lines.push(line.to_string());
        if !pairwise {
            let other = if (i / 4) % 2 == 0 {
                ("no", 0.0)
            } else {
                ("yes", 100.0)
            };
            lines.push(serde_json::json!({"prompt": prompt, "output": out(k_of(i), other.0), "score": other.1}).to_string());
        }
    }
    let path = dir.join(if pairwise {
        "pairs.jsonl"
    } else {
        "points.jsonl"
    });
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn k_of(i: usize) -> usize {
    (i + 1) % 4
}

/// A trunk checkpoint on disk (a fresh tiny policy) and a config that
/// trains reward models on it quickly.
fn trunk_and_config(dir: &Path, members: usize) -> (std::path::PathBuf, RunConfig) {
    let tok = common::task_tokenizer();
    let cfg = common::tiny_model(tok.vocab_size());
    let policy = restlm::Policy {
        model: common::seeded_model(&cfg, &cpu(), 1),
        cfg,
        tok,
    };
    let trunk = dir.join("trunk");
    policy.save(&trunk, &TrainState::default()).unwrap();
    let mut rc = RunConfig::default();
    rc.rm.train.steps = 120;
    rc.rm.train.lr = 3e-3;
    rc.rm.train.eval_every = 40;
    rc.rm.eval_fraction = 0.25;
    rc.rm.members = members;
    rc.rest.thresholds = vec![50.0];
    (trunk, rc)
}

#[test]
fn a_reward_model_learns_a_score_it_can_see_and_an_ensemble_scores_mean_minus_lambda_std() {
    let _lock = common::autodiff_lock();
    let dir = Scratch::new("rm-learns");
    let data = seen_score_data(&dir, false);
    let (trunk, rc) = trunk_and_config(&dir, 2);
    let out = dir.join("rm");
    let o = Options {
        init: trunk,
        data: vec![data.clone()],
        from_grown: vec![],
        out: out.clone(),
    };
    let members = rm::train_all(&rc, &o, &cpu()).unwrap();
    assert_eq!(members.len(), 2);
    for (d, r) in &members {
        assert!(r.prompts >= 10, "{r:?}");
        assert!(r.spearman.unwrap() > 0.8, "{}: {r:?}", d.display());
        assert!(r.pair_accuracy.unwrap() > 0.9, "{}: {r:?}", d.display());
    }
    // A re-run finds both trained and returns their reports unchanged.
    let again = rm::train_all(&rc, &o, &cpu()).unwrap();
    assert_eq!(
        again.iter().map(|m| &m.1).collect::<Vec<_>>(),
        members.iter().map(|m| &m.1).collect::<Vec<_>>()
    );
    // The ensemble as Grow loads it: mean − λ·std of the members' scores.
    let dirs: Vec<_> = members.iter().map(|m| m.0.clone()).collect();
    let cfg = RewardConfig {
        kind: RewardKind::Model,
        path: Some(OneOrMany::Many(dirs.clone())),
        uncertainty_penalty: 0.5,
        ..RewardConfig::default()
    };
    let mut ens = restlm::reward::from_config(&cfg, None, &cpu()).unwrap();
    let items = [
        Item {
            prompt: "question 3 about the old",
            sample: "new yes red",
            references: &[],
            meta: None,
        },
        Item {
            prompt: "question 3 about the old",
            sample: "new no red",
            references: &[],
            meta: None,
        },
    ];
    let got = ens.score(&items).unwrap();
    for (i, item) in items.iter().enumerate() {
        let each: Vec<f64> = dirs
            .iter()
            .map(|d| {
                let m = restlm::reward::learned::Member::load(d, &cpu()).unwrap();
                to_score(m.raw(&[(item.prompt, item.sample)], 1).unwrap()[0])
            })
            .collect();
        let (mean, std) = mean_std(&each);
        assert!(
            (got[i] - (mean - 0.5 * std).max(0.0)).abs() < 1e-3,
            "{got:?} vs {each:?}"
        );
    }
    assert!(got[0] > got[1] + 20.0, "yes over no: {got:?}");
    from_bytes_scores_as_from_its_directory(&dirs[0]);
}

/// A reward model read from its files' contents (the browser page's way)
/// scores exactly as one loaded from its directory; broken or unusable
/// files are errors that name the model and the file.
fn from_bytes_scores_as_from_its_directory(dir: &Path) {
    use restlm::reward::learned::{Member, RmFiles};
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let text = |f: &str| String::from_utf8(read(f)).unwrap();
    let files = || RmFiles {
        config_json: text("config.json"),
        model_bpk: read("model.bpk"),
        head_bpk: read("head.bpk"),
        tokenizer_json: text("tokenizer.json"),
        tokens_json: text("tokens.json"),
        rm_json: text("rm.json"),
    };
    let pairs = [
        ("question 3 about the old", "new yes red"),
        ("question 3 about the old", "new no red"),
        ("question 40 about the red", "old no blue"),
    ];
    let want = Member::load(dir, &cpu())
        .unwrap()
        .scores(&pairs, 2)
        .unwrap();
    let got = Member::from_bytes("picked", files(), &cpu())
        .unwrap()
        .scores(&pairs, 2)
        .unwrap();
    assert_eq!(got, want);
    // `rm score` gives each JSONL record the same score, other fields kept.
    let jsonl = dir.with_extension("score.jsonl");
    let lines: Vec<String> = pairs
        .iter()
        .enumerate()
        .map(|(i, (p, o))| serde_json::json!({"prompt": p, "output": o, "id": i}).to_string())
        .collect();
    std::fs::write(&jsonl, lines.join("\n") + "\n").unwrap();
    let rows = rm::score_file(&[dir.to_path_buf()], &jsonl, &RunConfig::default(), &cpu()).unwrap();
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["id"], i);
        assert_eq!(row["output"], pairs[i].1);
        assert!(
            (row["reward"].as_f64().unwrap() - want[i]).abs() < 1e-9,
            "{row} vs {}",
            want[i]
        );
    }
    let err = |f: RmFiles| {
        Member::from_bytes("picked", f, &cpu())
            .err()
            .unwrap()
            .to_string()
    };
    let e = err(RmFiles {
        head_bpk: b"not weights".to_vec(),
        ..files()
    });
    assert!(e.contains("picked/head.bpk"), "{e}");
    let mut cut = read("model.bpk");
    cut.truncate(cut.len() / 2);
    let e = err(RmFiles {
        model_bpk: cut,
        ..files()
    });
    assert!(e.contains("picked/model.bpk"), "{e}");
    let e = err(RmFiles {
        rm_json: "{".into(),
        ..files()
    });
    assert!(e.contains("picked/rm.json"), "{e}");
    let mut cfg: serde_json::Value = serde_json::from_str(&text("config.json")).unwrap();
    cfg["lora"] = serde_json::json!({"rank": 4, "alpha": 8.0, "base": {"path": "/models/base.gguf", "hash": "0"}});
    let e = err(RmFiles {
        config_json: cfg.to_string(),
        ..files()
    });
    assert!(
        e.contains("picked/config.json") && e.contains("/models/base.gguf"),
        "{e}"
    );
}

#[test]
fn preference_pairs_train_a_model_that_ranks_chosen_first() {
    let _lock = common::autodiff_lock();
    let dir = Scratch::new("rm-pairs");
    let data = seen_score_data(&dir, true);
    let (trunk, rc) = trunk_and_config(&dir, 1);
    let o = Options {
        init: trunk,
        data: vec![data],
        from_grown: vec![],
        out: dir.join("rm"),
    };
    let (_, r) = rm::train_all(&rc, &o, &cpu()).unwrap().remove(0);
    assert!(r.preference_accuracy.unwrap() >= 0.9, "{r:?}");
}

/// A reward that scores every item `self.0`.
struct Constant(f64);

impl Reward for Constant {
    fn name(&self) -> &str {
        "constant"
    }
    fn score(&mut self, items: &[Item<'_>]) -> restlm::Result<Vec<f64>> {
        Ok(vec![self.0; items.len()])
    }
}

#[test]
fn a_mixed_reward_scores_records_with_a_reference_by_gold_and_the_rest_by_the_model() {
    let mut mixed = Mixed::new(
        Box::new(restlm::reward::ExactMatch),
        Box::new(Constant(7.0)),
    );
    let refs = ["yes".to_string()];
    let item = |sample, references: &'static [String]| Item {
        prompt: "p",
        sample,
        references,
        meta: None,
    };
    let refs: &'static [String] = Box::leak(Box::new(refs));
    let items = [
        item("yes", refs),
        item("no", &[]),
        item("no", refs),
        item("yes", &[]),
    ];
    assert_eq!(mixed.score(&items).unwrap(), vec![100.0, 7.0, 0.0, 7.0]);
    let by: Vec<_> = items.iter().map(|i| mixed.scorer(i)).collect();
    assert_eq!(
        by,
        vec![Some("gold"), Some("model"), Some("gold"), Some("model")]
    );
}

#[test]
fn bad_reward_model_data_and_config_get_errors_naming_file_line_and_field() {
    let dir = Scratch::new("rm-bad");
    let cases = [
        (
            "{\"prompt\": \"p\", \"output\": \"o\", \"score\": 150}\n",
            "bad.jsonl:1:",
            "[0, 100]",
        ),
        (
            "{\"prompt\": \"p\", \"output\": \"o\", \"score\": 5}\n{\"prompt\": \"p\", \"chosen\": \"a\"}\n",
            "bad.jsonl:2:",
            "rejected",
        ),
        (
            "\n{\"prompt\": \"p\", \"output\": \"o\", \"score\": 5, \"extra\": 1}\n",
            "bad.jsonl:2:",
            "extra",
        ),
        (
            "{\"prompt\": \"p\", \"output\": \"o\", \"score\": 5}\n{nope\n",
            "bad.jsonl:2:",
            "invalid JSON",
        ),
        ("", "bad.jsonl", "no records"),
    ];
    for (text, at, what) in cases {
        let path = dir.join("bad.jsonl");
        std::fs::write(&path, text).unwrap();
        let e = rm::data::read_examples(&path).unwrap_err().to_string();
        assert!(
            e.contains("bad.jsonl") && e.contains(at) && e.contains(what),
            "{text:?}: {e}"
        );
    }
    let config = |extra: &str| {
        let path = dir.join("c.toml");
        std::fs::write(&path, extra).unwrap();
        RunConfig::load(&path).unwrap_err().to_string()
    };
    assert!(config("[reward]\nkind = \"model\"\n").contains("reward.path"));
    assert!(
        config("[reward]\nkind = \"model\"\npath = \"x\"\ngold = \"model\"\n")
            .contains("reward.gold")
    );
    assert!(config("[reward]\npath = \"x\"\n").contains("reward.path"));
    assert!(config("[rm]\nmembers = 0\n").contains("rm.members"));
    // A directory that is a policy, not a reward model, is named.
    let (trunk, _) = trunk_and_config(&dir, 1);
    std::fs::write(dir.join("cpu.toml"), "device = \"cpu\"\n").unwrap();
    let args = [
        "--config", "cpu.toml", "sample", "--policy", "trunk", "--prompt", "p",
    ];
    let out = common::restlm_in(
        &dir,
        &[
            &args[..],
            &["--reference", "r", "--best-of", "2", "--reward", "model"],
        ]
        .concat(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("reward.path"),
        "{err}"
    );
    let e = restlm::reward::learned::Member::load(&trunk, &cpu())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("trunk"), "{e}");
}

#[test]
fn negatives_split_and_bootstrap_keep_prompts_whole() {
    let ex = |p: &str, o: &str, s: f64| Example::Point {
        prompt: p.into(),
        output: o.into(),
        score: s,
    };
    let data: Vec<Example> = (0..40)
        .flat_map(|i| {
            [
                ex(&format!("p{i}"), "one two three four", 80.0),
                ex(&format!("p{i}"), "one", 10.0),
            ]
        })
        .collect();
    let (train, held) = rm::data::split(data.clone(), 0.25, 3);
    assert_eq!(held.len(), 20, "10 of 40 prompts, two outputs each");
    let held_prompts: std::collections::HashSet<_> = held.iter().map(|e| e.prompt()).collect();
    assert!(train.iter().all(|e| !held_prompts.contains(e.prompt())));
    let neg = rm::data::negatives(&train, 5, 1);
    // Per prompt: empty, the prompt, a repeat, a truncation, dropped words
    // (unless it happens to equal the best output), all scored 0.
    assert!(neg.len() >= 30 * 4 && neg.len() <= 30 * 5, "{}", neg.len());
    assert!(
        neg.iter()
            .all(|e| matches!(e, Example::Point { score, .. } if *score == 0.0))
    );
    assert!(
        neg.iter()
            .any(|e| matches!(e, Example::Point { output, .. } if output == "one two"))
    );
    let boot = rm::data::bootstrap(&train, 9);
    assert_eq!(
        boot.len(),
        train.len(),
        "every prompt brings its two outputs"
    );
    let distinct: std::collections::HashSet<_> = boot.iter().map(|e| e.prompt()).collect();
    assert!(distinct.len() < 30, "drawn with replacement");
    // Ensemble members: the first on all of it; the others on that
    // resample, or on all of it again without bootstrap.
    use rm::data::member_data;
    assert_eq!(member_data(&train, 0, 9, true), train);
    assert_eq!(member_data(&train, 1, 9, true), boot);
    assert_eq!(member_data(&train, 1, 9, false), train);
}

#[test]
fn a_run_with_a_learned_reward_routes_records_logs_both_rewards_and_the_distance() {
    let dir = Scratch::new("rm-run");
    let data = seen_score_data(&dir, false);
    let (trunk, _) = trunk_and_config(&dir, 1);
    let restlm = |args: &[&str]| common::restlm_ok(&dir, args);
    std::fs::write(
        dir.join("rm.toml"),
        "device = \"cpu\"\n[rm.train]\nsteps = 20\n",
    )
    .unwrap();
    let args = rm_train_args(&trunk, &data, "rm");
    let said = restlm(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        said.contains("Spearman") && said.contains("kind = \"model\""),
        "{said}"
    );
    let config = common::TINY_RUN
        .replace(
            "task = \"toy\"\n",
            "task = \"mt\"\nlabeled_fraction = 0.3\n",
        )
        .replace(
            "[rest]\n",
            "[rest]\ngrow_steps = 2\nthresholds = [10.0, 20.0]\n",
        )
        + "[improve]\nsteps = 2\n[eval]\nsamples = 0\n[reward]\nkind = \"model\"\npath = \"rm\"\ngold = \"mt\"\n";
    std::fs::write(dir.join("run.toml"), config).unwrap();
    restlm(&["--config", "run.toml", "run", "--run-dir", "run"]);
    let state: restlm::rest::state::RunState =
        restlm::io::read_json(&dir.join("run/state.json")).unwrap();
    let improves: Vec<_> = state.evals.iter().filter(|e| e.step != "sft").collect();
    assert_eq!(improves.len(), 4);
    assert!(
        state.evals.iter().all(|e| e.learned_reward.is_some()),
        "{:?}",
        state.evals
    );
    let d: Vec<f64> = improves.iter().map(|e| e.distance.unwrap()).collect();
    assert!(d.windows(2).all(|w| w[1] >= w[0]) && d[0] >= 0.0, "{d:?}");
    // Each step adds −log(kept share).
    let k = improves[0].kept_from.unwrap();
    assert!((d[0] + (improves[0].kept as f64 / k.of as f64).ln()).abs() < 1e-9);
    // Grown rows: labeled prompts (and D) by gold, prompt-only ones by the model.
    let grown: Vec<restlm::rest::Grown> =
        restlm::io::read_jsonl(&dir.join("run/grow/g1.jsonl"), false).unwrap();
    let cfg = RunConfig::load(&dir.join("run.toml")).unwrap();
    let (train, _) = restlm::rest::setup::load_data(&cfg).unwrap();
    let labeled: std::collections::HashSet<_> = train
        .iter()
        .filter(|r| r.target.is_some())
        .map(|r| r.id.clone())
        .collect();
    for g in &grown {
        let want = if labeled.contains(&g.prompt_id) {
            "gold"
        } else {
            "model"
        };
        assert_eq!(g.scored_by.as_deref(), Some(want), "{g:?}");
    }
    assert!(
        grown
            .iter()
            .any(|g| g.scored_by.as_deref() == Some("model"))
    );
}

#[test]
fn reward_model_training_killed_midway_resumes_to_the_uninterrupted_result() {
    let dir = Scratch::new("rm-resume");
    let data = seen_score_data(&dir, false);
    let (trunk, _) = trunk_and_config(&dir, 1);
    std::fs::write(
        dir.join("rm.toml"),
        "device = \"cpu\"\n[rm.train]\nsteps = 200\neval_every = 40\n",
    )
    .unwrap();
    let args = |out: &str| rm_train_args(&trunk, &data, out);
    let whole = args("whole");
    common::restlm_ok(&dir, &whole.iter().map(String::as_str).collect::<Vec<_>>());
    // The same, killed once a mid-training checkpoint is on disk.
    let cut = args("cut");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_restlm"))
        .current_dir(&*dir)
        .args(&cut)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let state = dir.join("cut/train.json");
    let killed_at = loop {
        if let Ok(s) = restlm::io::read_json::<TrainState>(&state) {
            child.kill().unwrap();
            break s.step;
        }
        if child.try_wait().unwrap().is_some() {
            panic!("finished before a checkpoint was seen");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    child.wait().unwrap();
    assert!(killed_at < 200, "killed at step {killed_at}");
    assert!(!dir.join("cut/rm.json").exists(), "killed before the end");
    let said = common::restlm_ok(&dir, &cut.iter().map(String::as_str).collect::<Vec<_>>());
    let report =
        |d: &str| restlm::io::read_json::<serde_json::Value>(&dir.join(d).join("rm.json")).unwrap();
    assert_eq!(report("whole"), report("cut"), "{said}");
    let (a, b) = (
        common::weights(&dir.join("whole")),
        common::weights(&dir.join("cut")),
    );
    assert_eq!(a, b);
}

/// `restlm --config rm.toml rm train` of `data` on `trunk` into `out`.
fn rm_train_args(trunk: &Path, data: &Path, out: &str) -> Vec<String> {
    let (trunk, data) = (trunk.to_str().unwrap(), data.to_str().unwrap());
    [
        "--config", "rm.toml", "rm", "train", "--init", trunk, "--data", data, "--out", out,
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn a_fresh_trunk_member_starts_from_random_weights_and_the_others_from_init() {
    let _lock = common::autodiff_lock();
    let dir = Scratch::new("rm-fresh");
    let data = seen_score_data(&dir, false);
    let (trunk, mut rc) = trunk_and_config(&dir, 2);
    rc.rm.fresh_trunk = true;
    // One step at a negligible rate: each trunk is still where it began.
    (rc.rm.train.steps, rc.rm.train.lr, rc.rm.train.warmup_steps) = (1, 1e-9, 0);
    rc.validate().unwrap();
    let o = Options {
        init: trunk.clone(),
        data: vec![data],
        from_grown: vec![],
        out: dir.join("rm"),
    };
    let members = rm::train_all(&rc, &o, &cpu()).unwrap();
    let init = common::weights(&trunk);
    let gap = |d: &Path| {
        let w = common::weights(d);
        assert_eq!(w.len(), init.len());
        w.iter()
            .zip(&init)
            .map(|(a, b)| common::max_abs_diff(a, b))
            .fold(0.0, f32::max)
    };
    assert!(gap(&members[0].0) < 1e-4, "member 1 starts from init");
    assert!(gap(&members[1].0) > 1e-2, "member 2 starts fresh");
    let mut one = rc.clone();
    one.rm.members = 1;
    assert!(
        one.validate()
            .unwrap_err()
            .to_string()
            .contains("rm.members")
    );
}
