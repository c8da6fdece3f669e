//! Tokenizer, JSONL records, truncation, append-only files.

use restlm::data::{encode_all, read_records};
use restlm::io::{JsonlAppender, read_jsonl, truncate_torn_tail};
use restlm::tokenizer::Tokenizer;
use std::io::Write;

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("restlm-data-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
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
        "{\"prompt\": \"a\", \"target\": \"b\"}\n{\"prompt\": \"c\"}\n",
    );
    let e = read_records(&p).unwrap_err().to_string();
    assert!(
        e.contains("d.jsonl:2:") && e.contains("missing field `target`"),
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
