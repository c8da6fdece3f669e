//! GGUF vocabulary ↔ a Hugging Face `tokenizers` tokenizer.
//!
//! GGUF stores a byte-level BPE (`tokenizer.ggml.model = "gpt2"`) as its
//! token strings, token types and merges, and names the pre-tokenizer
//! (`tokenizer.ggml.pre`) that llama.cpp hard-codes for it. We rebuild the
//! same tokenizer as a `tokenizer.json` value: the BPE model from the
//! vocabulary and merges, the pre-tokenizer from the name, control and
//! user-defined tokens as added tokens. A SentencePiece vocabulary
//! (`"llama"`: Llama 2, TinyLlama, Phi-3) stores scores instead of merges;
//! it becomes the BPE with byte fallback that transformers' converter
//! makes of the same model (see [`spm_merges`]). Export goes the other way
//! and names the pre-tokenizer by recognising its structure.

use super::file::{GgufFile, Value};
use crate::error::{Error, Result};
use serde_json::{Value as Json, json};

/// GGUF token types (llama.cpp's `llama_token_type`).
const NORMAL: i32 = 1;
const UNKNOWN: i32 = 2;
const CONTROL: i32 = 3;
const USER_DEFINED: i32 = 4;
const BYTE: i32 = 6;

const QWEN2_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const LLAMA3_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The pre-tokenizers we rebuild, by their `tokenizer.ggml.pre` names.
pub const PRE_SUPPORTED: &str = "default, gpt-2, smollm, qwen2, llama-bpe";

fn byte_level(use_regex: bool) -> Json {
    json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": use_regex})
}

fn split(regex: &str) -> Json {
    json!({"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": false})
}

/// (pre-tokenizer, normalizer, BPE `ignore_merges`) for a llama.cpp
/// pre-tokenizer name.
fn pre_tokenizer(pre: &str) -> Option<(Json, Json, bool)> {
    let seq = |items: Vec<Json>| json!({"type": "Sequence", "pretokenizers": items});
    Some(match pre {
        "default" | "gpt-2" | "gpt2" => (byte_level(true), Json::Null, false),
        // SmolLM's (and restlm's own): every digit a token of its own.
        "smollm" => (
            seq(vec![
                json!({"type": "Digits", "individual_digits": true}),
                byte_level(true),
            ]),
            Json::Null,
            false,
        ),
        "qwen2" => (
            seq(vec![split(QWEN2_REGEX), byte_level(false)]),
            json!({"type": "NFC"}),
            false,
        ),
        "llama-bpe" | "llama3" => (
            seq(vec![split(LLAMA3_REGEX), byte_level(false)]),
            Json::Null,
            true,
        ),
        _ => return None,
    })
}

/// The llama.cpp name of a `tokenizer.json`'s pre-tokenizer, when it is
/// one we know.
pub fn pre_name(tokenizer_json: &Json) -> Option<&'static str> {
    let pre = tokenizer_json.get("pre_tokenizer")?;
    let is_byte_level = |v: &Json, regex: bool| {
        v["type"] == "ByteLevel"
            && v["use_regex"].as_bool().unwrap_or(true) == regex
            && !v["add_prefix_space"].as_bool().unwrap_or(false)
    };
    fn split_regex(v: &Json) -> Option<&str> {
        (v["type"] == "Split")
            .then(|| v["pattern"]["Regex"].as_str())
            .flatten()
    }
    if is_byte_level(pre, true) {
        return Some("gpt-2");
    }
    let items = pre.get("pretokenizers")?.as_array()?;
    match items.as_slice() {
        [d, b]
            if d["type"] == "Digits"
                && d["individual_digits"] == true
                && is_byte_level(b, true) =>
        {
            Some("smollm")
        }
        [s, b] if is_byte_level(b, false) => match split_regex(s)? {
            QWEN2_REGEX => Some("qwen2"),
            LLAMA3_REGEX => Some("llama-bpe"),
            _ => None,
        },
        _ => None,
    }
}

fn strings(file: &GgufFile, key: &str) -> Result<Vec<String>> {
    file.req(key, |v| {
        v.as_array()?
            .iter()
            .map(|s| s.as_str().map(String::from))
            .collect()
    })
}

/// What the tokenizer needs from the file besides its `tokenizer.json`.
pub struct Specials {
    /// Prepended by the tokenizer (`tokenizer.ggml.add_bos_token`).
    pub bos: Option<u32>,
    pub eos: u32,
    pub pad: u32,
}

/// The `tokenizer.json` value and special ids a GGUF file describes.
pub fn tokenizer_json(file: &GgufFile) -> Result<(Json, Specials)> {
    let model: String = file.req("tokenizer.ggml.model", |v| v.as_str().map(String::from))?;
    let sentencepiece = match model.as_str() {
        "gpt2" => false,
        "llama" => true,
        _ => {
            return Err(Error::file(
                &file.path,
                format!(
                    "tokenizer.ggml.model {model:?} is not supported (\"gpt2\": byte-level BPE, \"llama\": SentencePiece)"
                ),
            ));
        }
    };
    let tokens = strings(file, "tokenizer.ggml.tokens")?;
    let types = token_types(file, tokens.len())?;
    let specials = specials(file, tokens.len())?;
    let mut vocab = serde_json::Map::new();
    for (i, tok) in tokens.iter().enumerate() {
        if vocab.insert(tok.clone(), json!(i)).is_some() {
            return Err(Error::file(
                &file.path,
                format!("token {tok:?} appears twice in the vocabulary"),
            ));
        }
    }
    let mut json = match sentencepiece {
        false => byte_level_bpe(file, vocab)?,
        true => sentencepiece_bpe(file, vocab, &tokens, &types)?,
    };
    json["added_tokens"] = Json::Array(added_tokens(&tokens, &types, sentencepiece));
    json["post_processor"] = post_processor(&tokens, specials.bos);
    Ok((json, specials))
}

/// The tokens matched before the model sees the text: control and
/// user-defined ones (and SentencePiece's unknown-type ones: `<unk>` and
/// padding placeholders), special unless user-defined.
fn added_tokens(tokens: &[String], types: &[i32], unknown_too: bool) -> Vec<Json> {
    tokens
        .iter()
        .zip(types)
        .enumerate()
        .filter(|(_, (_, ty))| {
            **ty == CONTROL || **ty == USER_DEFINED || (unknown_too && **ty == UNKNOWN)
        })
        .map(|(i, (tok, ty))| {
            json!({
                "id": i, "content": tok, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": *ty != USER_DEFINED,
            })
        })
        .collect()
}

/// Prepends bos when the file says the tokenizer adds it.
fn post_processor(tokens: &[String], bos: Option<u32>) -> Json {
    let Some(b) = bos else {
        return Json::Null;
    };
    let t = &tokens[b as usize];
    json!({
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": t, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": t, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": t, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {t: {"id": t, "ids": [b], "tokens": [t]}},
    })
}

/// `tokenizer.ggml.model = "gpt2"`: byte-level BPE with the merges the
/// file lists and the pre-tokenizer it names.
fn byte_level_bpe(file: &GgufFile, vocab: serde_json::Map<String, Json>) -> Result<Json> {
    let pre = file
        .opt("tokenizer.ggml.pre", |v| v.as_str().map(String::from))?
        .unwrap_or_else(|| "default".into());
    let (pre_tok, normalizer, ignore_merges) = pre_tokenizer(&pre).ok_or_else(|| {
        Error::file(
            &file.path,
            format!("tokenizer.ggml.pre {pre:?} is not supported (supported: {PRE_SUPPORTED})"),
        )
    })?;
    let merges = strings(file, "tokenizer.ggml.merges")?;
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "normalizer": normalizer,
        "pre_tokenizer": pre_tok,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": null,
            "continuing_subword_prefix": null, "end_of_word_suffix": null,
            "fuse_unk": false, "byte_fallback": false, "ignore_merges": ignore_merges,
            "vocab": vocab, "merges": merges,
        },
    }))
}

/// SentencePiece's word-start marker, which stands for a space.
const SPACE: &str = "\u{2581}";

/// `tokenizer.ggml.model = "llama"`: a SentencePiece BPE, as transformers'
/// `LlamaConverter` rebuilds one: spaces become ▁ (and, unless
/// `tokenizer.ggml.add_space_prefix` is false, one ▁ starts the text), no
/// pre-tokenizer, merges ranked by the scores, a character outside the
/// vocabulary spelled as its UTF-8 byte tokens (`<0x0A>`).
fn sentencepiece_bpe(
    file: &GgufFile,
    vocab: serde_json::Map<String, Json>,
    tokens: &[String],
    types: &[i32],
) -> Result<Json> {
    const SCORES: &str = "tokenizer.ggml.scores";
    let scores = per_token(file, SCORES, tokens.len(), |s| s.as_f64().map(|s| s as f32))?
        .ok_or_else(|| Error::file(&file.path, format!("GGUF metadata lacks {SCORES}")))?;
    let prefix = file
        .opt("tokenizer.ggml.add_space_prefix", |v| v.as_bool())?
        .unwrap_or(true);
    let unk = match file.opt("tokenizer.ggml.unknown_token_id", |v| v.as_u64())? {
        Some(i) => Some(tokens.get(i as usize).ok_or_else(|| {
            Error::file(
                &file.path,
                format!(
                    "tokenizer.ggml.unknown_token_id = {i} is outside the {} tokens",
                    tokens.len()
                ),
            )
        })?),
        None => tokens
            .iter()
            .zip(types)
            .find(|(_, ty)| **ty == UNKNOWN)
            .map(|(t, _)| t),
    };
    let replace = json!({"type": "Replace", "pattern": {"String": " "}, "content": SPACE});
    let normalizer = if prefix {
        json!({"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": SPACE}, replace]})
    } else {
        replace
    };
    let mut decoders = vec![
        json!({"type": "Replace", "pattern": {"String": SPACE}, "content": " "}),
        json!({"type": "ByteFallback"}),
        json!({"type": "Fuse"}),
    ];
    if prefix {
        decoders.push(json!({"type": "Strip", "content": " ", "start": 1, "stop": 0}));
    }
    let merges: Vec<Json> = spm_merges(tokens, &scores)
        .into_iter()
        .map(|(l, r)| json!([l, r]))
        .collect();
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "normalizer": normalizer,
        "pre_tokenizer": null,
        "decoder": {"type": "Sequence", "decoders": decoders},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": unk,
            "continuing_subword_prefix": null, "end_of_word_suffix": null,
            "fuse_unk": true, "byte_fallback": true, "ignore_merges": false,
            "vocab": vocab, "merges": merges,
        },
    }))
}

/// SentencePiece's merge order as BPE merges, as transformers'
/// `generate_merges` derives it: every split of a piece into two pieces
/// of the vocabulary is a merge, ranked by the piece's score, highest
/// first, then by the longer left part, then the longer right part (in
/// characters); remaining ties keep vocabulary order, the splits of one
/// piece ordered by the ids of their parts.
fn spm_merges<'a>(tokens: &'a [String], scores: &[f32]) -> Vec<(&'a str, &'a str)> {
    let ids = token_ids(tokens);
    // (score, left chars, right chars, left id, right id, left, right)
    let mut merges = Vec::new();
    for (piece, &score) in tokens.iter().zip(scores) {
        let start = merges.len();
        let len = piece.chars().count();
        for (chars, (at, _)) in piece.char_indices().enumerate().skip(1) {
            let (l, r) = piece.split_at(at);
            if let (Some(&li), Some(&ri)) = (ids.get(l), ids.get(r)) {
                merges.push((score, chars, len - chars, li, ri, l, r));
            }
        }
        merges[start..].sort_by_key(|m| (m.3, m.4));
    }
    // A stable sort: equal keys keep the order built above.
    merges.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)).then(b.2.cmp(&a.2)));
    merges.into_iter().map(|m| (m.5, m.6)).collect()
}

/// `tokenizer.ggml.token_type`, one per token (all normal when absent).
fn token_types(file: &GgufFile, n: usize) -> Result<Vec<i32>> {
    let types = per_token(file, "tokenizer.ggml.token_type", n, |t| {
        t.as_i64().map(|t| t as i32)
    })?;
    Ok(types.unwrap_or_else(|| vec![NORMAL; n]))
}

/// An optional array of one entry per token (`n` of them), each read by
/// `f`; another length is an error naming the key.
fn per_token<T>(
    file: &GgufFile,
    key: &str,
    n: usize,
    f: impl Fn(&Value) -> Option<T>,
) -> Result<Option<Vec<T>>> {
    match file.opt(key, |v| {
        v.as_array()?.iter().map(&f).collect::<Option<Vec<T>>>()
    })? {
        Some(t) if t.len() != n => Err(Error::file(
            &file.path,
            format!("{key} has {} entries for {n} tokens", t.len()),
        )),
        t => Ok(t),
    }
}

/// The eos, padding and (when the tokenizer adds it) bos ids, each checked
/// to be one of the `n` tokens.
fn specials(file: &GgufFile, n: usize) -> Result<Specials> {
    let fail = |m: String| Error::file(&file.path, m);
    let id = |key: &str| -> Result<Option<u32>> {
        match file.opt(key, |v| v.as_u64())? {
            Some(i) if i as usize >= n => {
                Err(fail(format!("{key} = {i} is outside the {n} tokens")))
            }
            v => Ok(v.map(|i| i as u32)),
        }
    };
    let eos = id("tokenizer.ggml.eos_token_id")?
        .ok_or_else(|| fail("GGUF metadata lacks tokenizer.ggml.eos_token_id".into()))?;
    let pad = id("tokenizer.ggml.padding_token_id")?.unwrap_or(eos);
    let add_bos = file
        .opt("tokenizer.ggml.add_bos_token", |v| v.as_bool())?
        .unwrap_or(false);
    let bos = match (add_bos, id("tokenizer.ggml.bos_token_id")?) {
        (true, None) => {
            return Err(fail(
                "add_bos_token is set but there is no tokenizer.ggml.bos_token_id".into(),
            ));
        }
        (true, b) => b,
        (false, _) => None,
    };
    Ok(Specials { bos, eos, pad })
}

/// Whether a `tokenizer.json` value is a SentencePiece BPE as
/// [`sentencepiece_bpe`] builds it (and transformers' legacy Llama
/// converter): byte fallback, no pre-tokenizer, spaces replaced by ▁,
/// perhaps after prepending one. Some(whether it prepends).
fn sentencepiece_shape(tok_json: &Json) -> Option<bool> {
    let model = &tok_json["model"];
    if model["type"] != "BPE"
        || model["byte_fallback"] != true
        || !tok_json["pre_tokenizer"].is_null()
    {
        return None;
    }
    let replace =
        |v: &Json| v["type"] == "Replace" && v["pattern"]["String"] == " " && v["content"] == SPACE;
    let norm = &tok_json["normalizer"];
    if replace(norm) {
        return Some(false);
    }
    match norm["normalizers"].as_array()?.as_slice() {
        [p, r] if p["type"] == "Prepend" && p["prepend"] == SPACE && replace(r) => Some(true),
        [r] if replace(r) => Some(false),
        _ => None,
    }
}

/// llama.cpp's tokenizer model for a `tokenizer.json`, as export writes it.
#[derive(Clone, Copy)]
enum Export {
    /// `"gpt2"` with this pre-tokenizer name.
    ByteLevel(&'static str),
    /// `"llama"`, with or without a ▁ prepended to text.
    SentencePiece { space_prefix: bool },
}

/// GGUF tokenizer metadata for a `tokenizer.json` value, its vocabulary
/// padded with unused tokens to the model's `vocab_size` rows: a
/// byte-level BPE as `"gpt2"` with its merges, a SentencePiece BPE as
/// `"llama"` with scores that rank its merges as they stand.
pub fn metadata(
    tok_json: &Json,
    vocab_size: usize,
    bos: Option<u32>,
    eos: u32,
    pad: u32,
) -> std::result::Result<Vec<(&'static str, Value)>, String> {
    let model = &tok_json["model"];
    if model["type"] != "BPE" {
        return Err(format!(
            "the tokenizer is {}, not byte-level or SentencePiece BPE",
            model["type"]
        ));
    }
    let export = match (pre_name(tok_json), sentencepiece_shape(tok_json)) {
        (Some(pre), _) => Export::ByteLevel(pre),
        (None, Some(space_prefix)) => Export::SentencePiece { space_prefix },
        (None, None) => return Err("its pre-tokenizer is none llama.cpp knows by name (byte-level BPE with the gpt-2, smollm, qwen2 or llama-bpe splitting, or SentencePiece's ▁ for spaces with byte fallback)".into()),
    };
    let spm = matches!(export, Export::SentencePiece { .. });
    let mut tokens: Vec<Option<String>> = vec![None; vocab_size];
    let mut types = vec![NORMAL; vocab_size];
    let mut put = |id: u64, tok: &str, ty: i32| -> std::result::Result<(), String> {
        let slot = tokens.get_mut(id as usize).ok_or(format!(
            "token id {id} ≥ the model's vocab_size {vocab_size}"
        ))?;
        *slot = Some(tok.to_string());
        types[id as usize] = ty;
        Ok(())
    };
    for (tok, id) in model["vocab"]
        .as_object()
        .ok_or("BPE model without vocab")?
    {
        let byte = spm && tok.len() == 6 && tok.starts_with("<0x") && tok.ends_with('>');
        put(
            id.as_u64().ok_or("non-integer token id")?,
            tok,
            if byte { BYTE } else { NORMAL },
        )?;
    }
    for a in tok_json["added_tokens"].as_array().into_iter().flatten() {
        let content = a["content"].as_str().ok_or("added token without content")?;
        let ty = if spm && model["unk_token"] == content {
            UNKNOWN
        } else if a["special"] == true {
            CONTROL
        } else {
            USER_DEFINED
        };
        put(
            a["id"].as_u64().ok_or("added token without id")?,
            content,
            ty,
        )?;
    }
    let tokens: Vec<String> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            t.unwrap_or_else(|| {
                types[i] = USER_DEFINED;
                format!("[PAD{i}]")
            })
        })
        .collect();
    let merges: Vec<(String, String)> = model["merges"]
        .as_array()
        .ok_or("BPE model without merges")?
        .iter()
        .map(|m| match m {
            Json::String(s) => s
                .split_once(' ')
                .map(|(l, r)| (l.to_string(), r.to_string()))
                .ok_or(format!("merge {m} is not \"a b\"")),
            Json::Array(p) if p.len() == 2 => Ok((
                p[0].as_str().unwrap_or_default().to_string(),
                p[1].as_str().unwrap_or_default().to_string(),
            )),
            _ => Err(format!("merge {m} is neither \"a b\" nor [a, b]")),
        })
        .collect::<std::result::Result<_, _>>()?;
    let strs = |v: Vec<String>| Value::Array(v.into_iter().map(Value::Str).collect());
    let unk = types.iter().position(|&t| t == UNKNOWN);
    let (model, pre, ranking) = match export {
        Export::ByteLevel(pre) => {
            let merges = merges
                .into_iter()
                .map(|(l, r)| format!("{l} {r}"))
                .collect();
            ("gpt2", pre, ("tokenizer.ggml.merges", strs(merges)))
        }
        Export::SentencePiece { .. } => {
            let scores = spm_scores(&tokens, &merges)
                .into_iter()
                .map(Value::F32)
                .collect();
            (
                "llama",
                "default",
                ("tokenizer.ggml.scores", Value::Array(scores)),
            )
        }
    };
    let mut meta = vec![
        ("tokenizer.ggml.model", Value::Str(model.into())),
        ("tokenizer.ggml.pre", Value::Str(pre.into())),
        ("tokenizer.ggml.tokens", strs(tokens)),
        (
            "tokenizer.ggml.token_type",
            Value::Array(types.into_iter().map(Value::I32).collect()),
        ),
        ranking,
    ];
    if let Export::SentencePiece { space_prefix } = export {
        meta.push(("tokenizer.ggml.add_space_prefix", Value::Bool(space_prefix)));
        if let Some(unk) = unk {
            meta.push(("tokenizer.ggml.unknown_token_id", Value::U32(unk as u32)));
        }
    }
    meta.extend([
        ("tokenizer.ggml.eos_token_id", Value::U32(eos)),
        ("tokenizer.ggml.padding_token_id", Value::U32(pad)),
        ("tokenizer.ggml.add_bos_token", Value::Bool(bos.is_some())),
    ]);
    if let Some(b) = bos {
        meta.push(("tokenizer.ggml.bos_token_id", Value::U32(b)));
    }
    Ok(meta)
}

/// Scores under which [`spm_merges`] ranks a BPE's merges as they stand
/// (SentencePiece merges the pair whose result scores highest): a token
/// scores minus the rank of the first merge that makes it, except that
/// tokens whose merges interleave (transformers orders the merges of
/// equally scored pieces by the lengths of their parts) share the score
/// of the first; a token no merge makes scores below them all.
fn spm_scores(tokens: &[String], merges: &[(String, String)]) -> Vec<f32> {
    let ids = token_ids(tokens);
    // Each made token's first and last merge.
    let mut span: std::collections::BTreeMap<usize, (usize, usize)> = Default::default();
    for (rank, (l, r)) in merges.iter().enumerate() {
        if let Some(&i) = ids.get(format!("{l}{r}").as_str()) {
            span.entry(i).or_insert((rank, rank)).1 = rank;
        }
    }
    let mut by_first: Vec<(usize, usize, usize)> = span
        .into_iter()
        .map(|(i, (first, last))| (first, last, i))
        .collect();
    by_first.sort_unstable();
    let mut scores = vec![-(merges.len() as f32) - 1.0; tokens.len()];
    let (mut group_first, mut group_last) = (0, None);
    for (first, last, i) in by_first {
        if group_last.is_none_or(|g| first > g) {
            group_first = first;
        }
        group_last = Some(group_last.map_or(last, |g: usize| g.max(last)));
        scores[i] = -(group_first as f32);
    }
    scores
}

/// Each token's id.
fn token_ids(tokens: &[String]) -> std::collections::HashMap<&str, usize> {
    tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect()
}
