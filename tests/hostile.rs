//! Hostile inputs: property tests that mutate valid files (truncate, flip
//! bytes, splice in junk, duplicate or drop lines) and feed random values
//! into configs, for every file a user hands restlm: TOML configs, JSONL
//! records, grown sets, `tokenizer.json`, Hugging Face `config.json` and
//! safetensors, and external-scorer replies. Each case must end in Ok or
//! in a named error (the file named in the message); none may panic. A
//! config that loads must be one the code can run without dividing by
//! zero or allocating absurdly.

mod common;

use proptest::prelude::*;
use restlm::config::{MAX_BATCH, RunConfig};
use restlm::reward::{External, Item, Reward};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh file path per case (cases run in one process, one at a time
/// per test, several tests at once) under cargo's scratch directory for
/// integration tests; the file or directory goes when the case ends.
fn case_path(test: &str, ext: &str) -> Case {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    Case(dir.join(format!(
        "{test}-{}-{}.{ext}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )))
}

/// A case's file (or directory), removed when dropped.
struct Case(PathBuf);

impl std::ops::Deref for Case {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Case {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One edit of a file's bytes.
#[derive(Debug, Clone)]
enum Edit {
    Truncate(usize),
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    DuplicateLine(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let junk = prop_oneof![
        Just(b"\"".to_vec()),
        Just(b"{".to_vec()),
        Just(b"}".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"null".to_vec()),
        Just(b"-1".to_vec()),
        Just(b"1e309".to_vec()),
        Just(b"18446744073709551616".to_vec()),
        Just("\u{FFFD}é\u{0}".as_bytes().to_vec()),
        Just(vec![0xFF, 0xFE]),
        prop::collection::vec(any::<u8>(), 1..8),
    ];
    prop_oneof![
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), junk).prop_map(|(i, j)| Edit::Insert(i, j)),
        (any::<usize>(), 1..64usize).prop_map(|(i, n)| Edit::Delete(i, n)),
        any::<usize>().prop_map(Edit::DuplicateLine),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let n = bytes.len().max(1);
        match e {
            Edit::Truncate(i) => bytes.truncate(i % n),
            Edit::Flip(i, b) => {
                if !bytes.is_empty() {
                    bytes[i % n] = *b;
                }
            }
            Edit::Insert(i, j) => {
                let at = i % (bytes.len() + 1);
                bytes.splice(at..at, j.iter().copied());
            }
            Edit::Delete(i, k) => {
                let at = i % n;
                let end = (at + k).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            Edit::DuplicateLine(i) => {
                let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
                if !lines.is_empty() {
                    let line = lines[i % lines.len()].to_vec();
                    bytes.extend(line);
                }
            }
        }
    }
    bytes
}

/// An error must name the file it is about.
fn names(err: &restlm::Error, path: &Path) -> bool {
    let name = path.file_name().unwrap().to_string_lossy();
    err.to_string().contains(name.as_ref())
}

const RECORDS: &str = r#"{"id": "a", "prompt": "the cat sees a dog", "target": "la kato vidas hundon"}
{"prompt": "two plus two", "references": ["four", "4"], "meta": {"answer": 4}}
{"id": 7, "prompt": "only a prompt"}
"#;

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn mutated_records_are_read_or_named(edits in prop::collection::vec(edit(), 1..5)) {
        let path = case_path("records", "jsonl");
        std::fs::write(&path, apply(RECORDS.as_bytes().to_vec(), &edits)).unwrap();
        if let Err(e) = restlm::data::read_records(&path) {
            prop_assert!(names(&e, &path), "{e}");
        }
    }

    #[test]
    fn mutated_grown_sets_are_read_or_named(edits in prop::collection::vec(edit(), 1..5)) {
        let row = r#"{"grow":1,"prompt_id":"task-0","sample_index":null,"prompt":"the fish","sample":"la fiŝo","reward":100.0,"logprob":-6.3,"finished":true}
{"grow":1,"prompt_id":"task-0","sample_index":0,"prompt":"the fish","sample":"la","reward":41.5,"logprob":null,"finished":false}
"#;
        let path = case_path("grown", "jsonl");
        std::fs::write(&path, apply(row.as_bytes().to_vec(), &edits)).unwrap();
        let read = restlm::io::read_jsonl::<restlm::rest::Grown>(&path, false);
        match read {
            Ok(rows) => {
                // What was read filters without trouble at any τ.
                for tau in [f64::NEG_INFINITY, 0.0, 50.0, f64::NAN] {
                    let _ = restlm::rest::filter(&rows, tau);
                }
            }
            Err(e) => prop_assert!(names(&e, &path), "{e}"),
        }
    }

    #[test]
    fn mutated_configs_load_or_are_named(edits in prop::collection::vec(edit(), 1..4)) {
        let path = case_path("config", "toml");
        let text = common::TINY_RUN.to_string() + "[rest]\nthresholds = [10.0, 20.0]\n";
        let text = text.replacen("[rest]\nsamples_per_prompt = 3\n", "", 1);
        std::fs::write(&path, apply(text.into_bytes(), &edits)).unwrap();
        match RunConfig::load(&path) {
            Ok(cfg) => runnable(&cfg)?,
            Err(e) => prop_assert!(names(&e, &path), "{e}"),
        }
    }

    #[test]
    fn random_sizes_in_configs_load_or_are_named(
        key in prop::sample::select(SIZE_KEYS),
        value in prop_oneof![
            Just("0".to_string()), Just("-1".to_string()), Just("1".to_string()),
            Just("4294967296".to_string()), Just("9223372036854775807".to_string()),
            Just("1e30".to_string()), Just("nan".to_string()), Just("-inf".to_string()),
            Just("\"12\"".to_string()), (0u64..100_000).prop_map(|v| v.to_string()),
        ],
    ) {
        let (section, name) = key.split_once('.').unwrap();
        let path = case_path("sizes", "toml");
        std::fs::write(&path, format!("device = \"cpu\"\n[{section}]\n{name} = {value}\n")).unwrap();
        match RunConfig::load(&path) {
            Ok(cfg) => runnable(&cfg)?,
            Err(e) => prop_assert!(names(&e, &path), "{e}"),
        }
    }
}

/// Numeric keys of the config a typo can set to anything.
const SIZE_KEYS: &[&str] = &[
    "data.task_train",
    "data.task_eval",
    "data.max_prompt_tokens",
    "data.labeled_fraction",
    "model.vocab_size",
    "model.d_model",
    "model.n_layers",
    "model.n_heads",
    "model.n_kv_heads",
    "model.d_ff",
    "model.max_seq_len",
    "model.rope_theta",
    "model.norm_eps",
    "tokenizer.vocab_size",
    "sft.steps",
    "sft.batch_size",
    "sft.lr",
    "sft.eval_every",
    "sft.warmup_steps",
    "sft.grad_clip",
    "sft.min_lr_ratio",
    "improve.batch_size",
    "improve.eval_every",
    "sample.temperature",
    "sample.top_k",
    "sample.top_p",
    "sample.max_new_tokens",
    "sample.batch_size",
    "rest.samples_per_prompt",
    "rest.grow_steps",
    "reward.batch_size",
    "reward.timeout_secs",
    "eval.samples",
];

/// What the code divides by or allocates from, in a config that loaded.
fn runnable(cfg: &RunConfig) -> Result<(), TestCaseError> {
    let m = &cfg.model;
    prop_assert!(m.n_heads >= 1 && m.n_kv_heads >= 1 && m.d_model >= m.n_heads);
    prop_assert!(m.head_dim() >= 2 && m.head_dim().is_multiple_of(2));
    prop_assert!(m.params_estimate() <= restlm::model::MAX_PARAMS);
    for t in [&cfg.sft, &cfg.improve] {
        prop_assert!(t.batch_size >= 1 && t.batch_size <= MAX_BATCH && t.eval_every >= 1);
        prop_assert!(t.lr.is_finite() && t.lr > 0.0);
    }
    prop_assert!(cfg.sample.batch_size >= 1 && cfg.sample.max_new_tokens >= 1);
    prop_assert!(cfg.reward.batch_size >= 1 && cfg.reward.timeout_secs > 0.0);
    prop_assert!(cfg.data.max_prompt_tokens + 2 < m.max_seq_len);
    // Derived quantities the loop computes up front.
    let _ = cfg.data.task_sizes();
    let _ = cfg.improve_steps();
    let _ = restlm::rest::thresholds(&cfg.rest, &[1.0, 50.0, 99.0]);
    Ok(())
}

fn hf_fixture() -> PathBuf {
    common::hf::fixture_dir("gpt2")
}

/// A copy of the GPT-2 fixture with `file` replaced by `bytes`.
fn hf_copy_with(file: &str, bytes: &[u8]) -> Case {
    let dir = case_path("hf", "d");
    common::hf::fixture_copy_with("gpt2", &dir, file, bytes);
    dir
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn mutated_hf_configs_load_or_are_named(edits in prop::collection::vec(edit(), 1..4)) {
        let original = std::fs::read(hf_fixture().join("config.json")).unwrap();
        let dir = hf_copy_with("config.json", &apply(original, &edits));
        if let Err(e) = restlm::policy::Policy::load(&dir, &restlm::burn::prelude::Device::flex()) {
            let s = e.to_string();
            prop_assert!(s.contains("config.json") || s.contains("safetensors") || s.contains(&*dir.to_string_lossy()), "{s}");
        }
    }

    #[test]
    fn truncated_or_corrupt_safetensors_are_named(
        cut in 0usize..4096,
        edits in prop::collection::vec(edit(), 0..3),
    ) {
        let original = std::fs::read(hf_fixture().join("model.safetensors")).unwrap();
        // Cuts inside the 8-byte length, the JSON header, and the data.
        let mut bytes = apply(original.clone(), &edits);
        let keep = if cut < 2048 { cut } else { original.len() - (cut - 2048) };
        bytes.truncate(keep);
        let dir = hf_copy_with("model.safetensors", &bytes);
        let loaded = restlm::policy::Policy::load(&dir, &restlm::burn::prelude::Device::flex());
        if bytes != original {
            let e = loaded.err();
            // Some edits land in padding or leave valid numbers: those load.
            if let Some(e) = e {
                prop_assert!(e.to_string().contains("model.safetensors"), "{e}");
            }
        }
    }

    #[test]
    fn mutated_tokenizers_load_or_are_named(edits in prop::collection::vec(edit(), 1..4)) {
        let original = std::fs::read(hf_fixture().join("tokenizer.json")).unwrap();
        let path = case_path("tokenizer", "json");
        std::fs::write(&path, apply(original, &edits)).unwrap();
        if let Err(e) = restlm::tokenizer::Tokenizer::load_file(&path, None) {
            prop_assert!(names(&e, &path), "{e}");
        }
    }

    #[test]
    fn any_scorer_reply_is_scores_or_a_named_error(
        reply in prop::collection::vec(prop_oneof![
            Just("{\"reward\": 50}".to_string()),
            Just("{\"reward\": 1e400}".to_string()),
            Just("{\"reward\": \"NaN\"}".to_string()),
            Just("{\"reward\": null}".to_string()),
            Just("42".to_string()),
            Just("".to_string()),
            Just("{}".to_string()),
            "[ -~]{0,12}",
        ], 0..5),
    ) {
        let path = case_path("reply", "txt");
        std::fs::write(&path, reply.join("\n")).unwrap();
        let mut scorer = External::new(vec!["cat".into(), path.to_string_lossy().into_owned()], 10.0);
        let refs = vec!["la kato".to_string()];
        let items: Vec<Item<'_>> = ["la", "la kato", "hundo"]
            .iter()
            .map(|s| Item { prompt: "the cat", sample: s, references: &refs, meta: None })
            .collect();
        match scorer.score(&items) {
            Ok(scores) => {
                prop_assert_eq!(scores.len(), items.len());
                prop_assert!(scores.iter().all(|s| s.is_finite()));
            }
            Err(e) => prop_assert!(e.to_string().contains("cat"), "{e}"),
        }
    }
}

/// The committed corpus (`tests/fixtures/hostile/`, with what each error
/// must say in `expected.json`): cases found by the properties above, or
/// written by hand, each a named error through the loader a user reaches.
#[test]
fn the_committed_corpus_of_malformed_inputs_gives_named_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile");
    let expected: std::collections::BTreeMap<String, String> =
        restlm::io::read_json(&dir.join("expected.json")).unwrap();
    let cpu = restlm::burn::prelude::Device::flex();
    for (file, want) in &expected {
        let path = dir.join(file);
        let kind = file.split('-').next().unwrap();
        let err = match kind {
            "tokenizer" => restlm::tokenizer::Tokenizer::load_file(&path, None).err(),
            "config" => RunConfig::load(&path).err(),
            "records" => restlm::data::read_records(&path).err(),
            "grown" => restlm::io::read_jsonl::<restlm::rest::Grown>(&path, false).err(),
            "hf" | "safetensors" => {
                let target = if kind == "hf" {
                    "config.json"
                } else {
                    "model.safetensors"
                };
                let copy = hf_copy_with(target, &std::fs::read(&path).unwrap());
                let e = restlm::policy::Policy::load(&copy, &cpu).err();
                let _ = std::fs::remove_dir_all(&copy);
                e
            }
            "template" => {
                // A downloaded model's chat template, as `prompt_format =
                // "chat"` renders it: an error within seconds, never a hang.
                let text = std::fs::read_to_string(&path).unwrap();
                let t0 = std::time::Instant::now();
                let e = restlm::chat::frame(&text, "<s>", "</s>").err();
                let took = t0.elapsed().as_secs_f64();
                assert!(took < 10.0, "{file}: stopped after {took:.1} s");
                e
            }
            other => panic!("{file}: no loader for `{other}`"),
        };
        let err = err.unwrap_or_else(|| panic!("{file} loaded"));
        let text = err.to_string();
        assert!(text.contains(want.as_str()), "{file}: {text} (want {want})");
        if !matches!(kind, "hf" | "safetensors" | "template") {
            assert!(
                text.contains(file.as_str()),
                "{file}: the error names it: {text}"
            );
        }
    }
}
