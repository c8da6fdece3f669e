//! Tokenizer, JSONL records, truncation, append-only files.

mod common;

use restlm::data::{encode_all, read_records};
use restlm::io::{JsonlAppender, read_jsonl, truncate_torn_tail};
use restlm::tokenizer::Tokenizer;
use std::io::Write;

fn tmp(name: &str) -> common::Scratch {
    common::Scratch::new(&format!("data-{name}"))
}

#[test]
fn tokenizer_round_trips_unicode_and_survives_save_load() {
    let texts = [
        "la hundo ĉevalon vidas",
        "東京 にいます",
        "naïve café — ok",
        "emoji 🦀🚀 mixed",
    ];
    let tok = Tokenizer::train(&texts, 300).unwrap();
    let dir = tmp("tok");
    tok.save(&dir).unwrap();
    let back = Tokenizer::load(&dir).unwrap();
    assert_eq!(back.layout(), tok.layout());
    let unseen = "Ĝis revido, 世界! ümlaut ß 🦀 \u{1F600} tab\tend";
    for t in texts.iter().copied().chain([unseen]) {
        let ids = back.encode(t).unwrap();
        assert_eq!(back.decode(&ids).unwrap(), t);
        assert_eq!(tok.encode(t).unwrap(), ids);
    }
    // A sample cut inside a character (the length limit) shows the
    // characters before it, without U+FFFD noise; plain decode keeps it.
    let ids = back.encode("ok \u{1F600}").unwrap();
    let cut = &ids[..ids.len() - 1];
    assert!(
        back.decode(cut).unwrap().ends_with('\u{FFFD}'),
        "the cut is inside the emoji"
    );
    assert_eq!(back.decode_sample(cut).unwrap(), "ok ");
    assert_eq!(back.decode_sample(&ids).unwrap(), "ok \u{1F600}");
    assert_eq!(
        [tok.pad, tok.bos.unwrap(), tok.eos, tok.sep[0]]
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len(),
        4
    );
}

fn write(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("d.jsonl");
    std::fs::File::create(&p)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    p
}

#[test]
fn malformed_jsonl_line_is_an_error_naming_file_and_line() {
    let dir = tmp("bad");
    let p = write(
        &dir,
        "{\"prompt\": \"a\", \"target\": \"b\"}\n\n{\"prompt\": \"c\", \"target\": \n",
    );
    let e = read_records(&p).unwrap_err().to_string();
    assert!(e.contains("d.jsonl:3:"), "{e}");
    assert!(e.contains("invalid JSON"), "{e}");
    let p = write(
        &dir,
        "{\"prompt\": \"a\", \"target\": \"b\"}\n{\"target\": \"c\"}\n",
    );
    let e = read_records(&p).unwrap_err().to_string();
    assert!(
        e.contains("d.jsonl:2:") && e.contains("missing field `prompt`"),
        "{e}"
    );
    let p = write(&dir, "{\"prompt\": 3, \"target\": \"b\"}\n");
    let e = read_records(&p).unwrap_err().to_string();
    assert!(e.contains(":1:") && e.contains("must be a string"), "{e}");
    let e = read_records(&dir.join("missing.jsonl"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.jsonl"), "{e}");
}

#[test]
fn empty_prompt_is_an_error_and_ids_default_to_line_numbers() {
    let dir = tmp("empty");
    let p = write(
        &dir,
        "{\"prompt\": \"a\", \"target\": \"b\"}\n{\"prompt\": \"  \", \"target\": \"b\"}\n",
    );
    let e = read_records(&p).unwrap_err().to_string();
    assert!(e.contains(":2:") && e.contains("`prompt` is empty"), "{e}");
    let p = write(
        &dir,
        "{\"prompt\": \"a\", \"target\": \"b\"}\n\n{\"id\": 7, \"prompt\": \"c\", \"target\": \"d\"}\n",
    );
    let r = read_records(&p).unwrap();
    assert_eq!((r[0].id.as_str(), r[1].id.as_str()), ("1", "7"));
}

#[test]
fn overlong_records_keep_the_prompt_end_and_cut_the_target() {
    let tok = Tokenizer::train(&["one two three four five six seven eight nine ten"], 280).unwrap();
    let long = "one two three four five six seven eight nine ten one two three four five six";
    let (enc, cut) = encode_all(&tok, [(long, long, 1.0), ("one", "two", 1.0)], 5, 12).unwrap();
    assert_eq!((cut.prompts, cut.targets), (1, 1));
    let ids = tok.encode(long).unwrap();
    assert_eq!(enc[0].prompt, tok.prompt_ids(&ids[ids.len() - 5..]));
    assert_eq!(
        enc[0].prompt.len() + enc[0].target.len(),
        13,
        "sequence fills max_seq + 1"
    );
    assert_ne!(
        enc[0].target.last(),
        Some(&tok.eos),
        "a cut target has no <eos>"
    );
    assert_eq!(enc[1].target.last(), Some(&tok.eos));
}

#[test]
fn appended_jsonl_survives_a_torn_tail() {
    let dir = tmp("append");
    let p = dir.join("g.jsonl");
    let mut out = JsonlAppender::open(&p).unwrap();
    out.append(&[serde_json::json!({"a": 1}), serde_json::json!({"a": 2})])
        .unwrap();
    drop(out);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&p)
        .unwrap()
        .write_all(b"{\"a\": 3")
        .unwrap();
    assert!(read_jsonl::<serde_json::Value>(&p, false).is_err());
    assert_eq!(read_jsonl::<serde_json::Value>(&p, true).unwrap().len(), 2);
    truncate_torn_tail(&p).unwrap();
    JsonlAppender::open(&p)
        .unwrap()
        .append(&[serde_json::json!({"a": 4})])
        .unwrap();
    let rows: Vec<serde_json::Value> = read_jsonl(&p, false).unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| r["a"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![1, 2, 4]
    );
}

#[test]
fn mixed_records_parse_and_each_malformed_combination_is_named() {
    let dir = tmp("mixed");
    let p = write(
        &dir,
        concat!(
            "{\"prompt\": \"a\", \"target\": \"b\"}\n",
            "{\"prompt\": \"c\"}\n",
            "{\"prompt\": \"d\", \"references\": [\"e\", \"f\"]}\n",
            "{\"prompt\": \"g\", \"target\": \"h\", \"references\": [\"i\", \"h\"], \"meta\": {\"answer\": 3}}\n",
            "{\"prompt\": \"j\", \"meta\": {\"k\": [1]}}\n",
        ),
    );
    let r = read_records(&p).unwrap();
    assert_eq!(r.len(), 5);
    assert_eq!(
        (r[0].target.as_deref(), &r[0].references[..]),
        (Some("b"), &["b".to_string()][..])
    );
    assert!(r[1].is_prompt_only() && r[1].meta.is_none());
    assert!(r[2].target.is_none() && !r[2].is_prompt_only());
    assert_eq!(r[2].references, ["e", "f"]);
    // The target leads the references, and is not repeated.
    assert_eq!(r[3].references, ["h", "i"]);
    assert_eq!(r[3].meta.as_ref().unwrap()["answer"], 3);
    assert!(r[4].is_prompt_only() && r[4].meta.is_some());
    let bad = [
        (
            "{\"prompt\": \"a\", \"references\": \"x\"}",
            "must be a list of strings",
        ),
        ("{\"prompt\": \"a\", \"references\": []}", "empty list"),
        (
            "{\"prompt\": \"a\", \"references\": [\"x\", 3]}",
            "`references[1]` must be a string",
        ),
        (
            "{\"prompt\": \"a\", \"references\": [\" \"]}",
            "`references[0]` is empty",
        ),
        (
            "{\"prompt\": \"a\", \"meta\": 5}",
            "`meta` must be a JSON object",
        ),
        ("{\"prompt\": \"a\", \"target\": \"\"}", "`target` is empty"),
        (
            "{\"prompt\": \"a\", \"answer\": 5}",
            "unknown field `answer`",
        ),
        ("[1, 2]", "expected a JSON object"),
    ];
    for (line, want) in bad {
        let p = write(&dir, &format!("{{\"prompt\": \"ok\"}}\n{line}\n"));
        let e = read_records(&p).unwrap_err().to_string();
        assert!(e.contains("d.jsonl:2:") && e.contains(want), "{line}: {e}");
    }
}

#[test]
fn prompt_only_records_never_reach_sft_or_d() {
    use restlm::burn::prelude::Device;
    use restlm::data::{Record, encode_records};
    use restlm::rest::grow::{GrowSetup, Grown, grow};
    let mut records: Vec<Record> = (0..6)
        .map(|i| {
            Record::labeled(
                format!("l{i}"),
                format!("labeled {i}"),
                format!("target {i}"),
            )
        })
        .collect();
    for i in 0..5 {
        records.push(Record {
            id: format!("u{i}"),
            prompt: format!("unlabeled {i}"),
            ..Record::default()
        });
    }
    let texts: Vec<&str> = records
        .iter()
        .map(|r| r.prompt.as_str())
        .chain(["target"])
        .collect();
    let tok = Tokenizer::train(&texts, 280).unwrap();
    let (enc, _) = encode_records(&tok, &records, 20, 48).unwrap();
    assert_eq!(enc.len(), 6, "SFT encodes the labeled records only");
    let cfg = restlm::model::ModelConfig {
        vocab_size: tok.vocab_size(),
        d_model: 32,
        n_layers: 1,
        d_ff: 64,
        max_seq_len: 48,
        ..Default::default()
    };
    let policy = restlm::Policy::new(cfg, tok, &Device::flex());
    let setup = GrowSetup {
        grow_step: 1,
        shard: restlm::rest::grow::Shard::WHOLE,
        samples_per_prompt: 2,
        include_dataset: true,
        max_prompt: 20,
        sample: restlm::rest::setup::sample_options(&restlm::RunConfig::default(), 0),
        reward_batch: 64,
        label: "grow",
    };
    let dir = tmp("grow-mixed");
    // A length reward: scores any record, labeled or not.
    let mut reward =
        restlm::reward::External::new(vec!["awk".into(), "{ print length($0) % 50 }".into()], 30.0);
    let rows: Vec<Grown> =
        grow(&policy, &records, &mut reward, &setup, &dir.join("g.jsonl")).unwrap();
    let d: Vec<&str> = rows
        .iter()
        .filter(|g| !g.origin.is_sample())
        .map(|g| g.prompt_id.as_str())
        .collect();
    assert_eq!(
        d,
        ["l0", "l1", "l2", "l3", "l4", "l5"],
        "D is the labeled records"
    );
    for r in &records {
        let n = rows
            .iter()
            .filter(|g| g.prompt_id == r.id && g.origin.is_sample())
            .count();
        assert_eq!(n, 2, "{} sampled twice", r.id);
    }
}

/// Every size that would divide by zero, loop forever or train nothing is
/// a config error naming the key, from the file it came from; none panics.
#[test]
fn configs_with_zero_negative_or_absurd_values_are_named_errors() {
    let dir = tmp("bad-configs");
    let cases = [
        (
            "[improve]\neval_every = 0",
            "improve.eval_every must be at least 1",
        ),
        ("[sft]\neval_every = 0", "sft.eval_every must be at least 1"),
        ("[sft]\nbatch_size = 0", "sft.batch_size must be at least 1"),
        ("[sft]\nlr = -1.0", "sft.lr must be a positive number"),
        (
            "[improve]\nlr = nan",
            "improve.lr must be a positive number",
        ),
        (
            "[sft]\nmin_lr_ratio = 2.0",
            "sft.min_lr_ratio must be in [0, 1]",
        ),
        (
            "[sft]\ngrad_clip = 0.0",
            "sft.grad_clip must be a positive gradient norm",
        ),
        (
            "[sample]\nbatch_size = 0",
            "sample.batch_size must be at least 1",
        ),
        (
            "[sample]\nmax_new_tokens = 0",
            "sample.max_new_tokens must be at least 1",
        ),
        (
            "[sample]\ntemperature = -0.5",
            "sample.temperature must be ≥ 0",
        ),
        ("[sample]\ntop_p = 0.0", "sample.top_p must be in (0, 1]"),
        (
            "[reward]\nbatch_size = 0",
            "reward.batch_size must be at least 1",
        ),
        (
            "[reward]\ntimeout_secs = 0.0",
            "reward.timeout_secs must be a positive number",
        ),
        ("[rest]\nthresholds = [50.0, 50.0]", "must rise strictly"),
        (
            "[rest]\nsamples_per_prompt = 0\ninclude_dataset = false",
            "grows D alone",
        ),
        ("[sft]\nsteps = -3", "invalid value"),
        ("[sft]\nstep = 3", "unknown field `step`"),
    ];
    for (i, (toml, want)) in cases.iter().enumerate() {
        let path = dir.join(format!("bad{i}.toml"));
        std::fs::write(&path, toml).unwrap();
        let e = restlm::RunConfig::load(&path).unwrap_err().to_string();
        assert!(e.contains(want), "{toml:?}: {e}");
        assert!(e.contains(&format!("bad{i}.toml")), "names the file: {e}");
    }
}

#[test]
fn run_units_read_back_as_written_and_bad_names_are_errors() {
    use restlm::rest::state::Unit;
    for u in [Unit::Sft, Unit::Init, Unit::Grow(3), Unit::Improve(2, 11)] {
        assert_eq!(u.to_string().parse::<Unit>(), Ok(u));
        let json = serde_json::to_string(&u).unwrap();
        assert_eq!(serde_json::from_str::<Unit>(&json).unwrap(), u);
    }
    assert_eq!(Unit::Improve(1, 2).to_string(), "g1-i2");
    assert!(Unit::Grow(1) == "g1-grow" && Unit::Grow(1) != "g1-i1");
    for bad in [
        "", "g", "g1", "gx-grow", "g1-x2", "g1-i", "sft2", "g-1-grow",
    ] {
        assert!(bad.parse::<Unit>().is_err(), "{bad}");
    }
    let state = r#"{"completed":["sft","g1-grow","g9-i9"],"policy":null,"best":null,"evals":[],"total_steps":0}"#;
    let s: restlm::rest::state::RunState = serde_json::from_str(state).unwrap();
    assert_eq!(s.completed, [Unit::Sft, Unit::Grow(1), Unit::Improve(9, 9)]);
    let bad = state.replace("g9-i9", "g9-j9");
    assert!(serde_json::from_str::<restlm::rest::state::RunState>(&bad).is_err());
}

#[test]
fn run_table_leaves_out_columns_no_row_has_and_keeps_the_others() {
    use restlm::report::{EvalRow, table};
    let row = |step: &str, second: Option<f64>, chrf: Option<f64>| EvalRow {
        step: step.into(),
        greedy_reward: 40.0,
        sampled_reward: 30.0,
        second,
        chrf,
        bleu: None,
        kept: 7,
        kept_from: None,
        learned_reward: None,
        distance: None,
    };
    let header = |t: &str| {
        t.lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    // No second metric (the `mt` verifier): its column and BLEU's are gone.
    let t = table(
        &[row("sft", None, Some(50.0)), row("g1-i1", None, None)],
        None,
    );
    assert_eq!(header(&t), "step greedy reward sampled reward chrF kept");
    assert!(
        t.lines().nth(2).unwrap().contains(" - "),
        "a row without chrF shows '-': {t}"
    );
    // One row with the second metric keeps its named column for all rows.
    let t = table(
        &[row("sft", None, None), row("g1-i1", Some(12.5), None)],
        Some("steps"),
    );
    assert_eq!(header(&t), "step greedy reward sampled reward steps kept");
    assert!(t.lines().nth(2).unwrap().contains("12.50"), "{t}");
}

#[test]
fn an_evaluation_without_samples_reads_back_from_state_json() {
    // eval.samples = 0 leaves the sampled reward NaN, which JSON writes as
    // null: a run (or compare) reading its state.json back must accept it.
    let row = restlm::report::EvalRow {
        step: "init".into(),
        greedy_reward: 17.0,
        sampled_reward: f64::NAN,
        second: None,
        chrf: None,
        bleu: None,
        kept: 0,
        kept_from: None,
        learned_reward: None,
        distance: None,
    };
    let text = serde_json::to_string(&row).unwrap();
    assert!(text.contains("\"sampled_reward\":null"), "{text}");
    let back: restlm::report::EvalRow = serde_json::from_str(&text).unwrap();
    assert!(back.sampled_reward.is_nan() && back.greedy_reward == 17.0);
}

#[test]
fn a_key_a_config_section_leaves_out_takes_the_runs_default_not_the_sections() {
    let dir = common::Scratch::new("config-defaults");
    let path = dir.join("c.toml");
    std::fs::write(
        &path,
        "[improve]\nlr = 0.002\n[sft]\nbatch_size = 4\n[rm.train]\nlr = 0.5\n",
    )
    .unwrap();
    let cfg = restlm::config::RunConfig::load(&path).unwrap();
    let d = restlm::config::RunConfig::default();
    assert_eq!(cfg.improve.lr, 0.002);
    // Improve's 30 steps, not a training section's 200.
    assert_eq!(cfg.improve.steps, d.improve.steps);
    assert_ne!(
        d.improve.steps,
        restlm::config::TrainConfig::default().steps
    );
    assert_eq!((cfg.sft.batch_size, cfg.sft.steps), (4, d.sft.steps));
    assert_eq!(
        (cfg.rm.train.lr, cfg.rm.train.steps),
        (0.5, d.rm.train.steps)
    );
    // Errors still name the line.
    std::fs::write(&path, "[improve]\nsteps = 60\nsteps_typo = 1\n").unwrap();
    let e = restlm::config::RunConfig::load(&path)
        .unwrap_err()
        .to_string();
    assert!(e.contains("steps_typo") && e.contains("line 3"), "{e}");
}
