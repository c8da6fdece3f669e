use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;

/// One prompt and what is known about its answer. `id` defaults to the
/// 1-based line number.
///
/// - `target`: a demonstration. SFT trains on it, D in a grown set is made
///   of these, and it is one of the references.
/// - `references`: every acceptable output a metric reward compares with
///   (the target first, when there is one).
/// - `meta`: anything else the reward needs (an answer key, the source's
///   meaning), passed through untouched.
///
/// A record with neither target nor references is *prompt-only*: Grow
/// samples it and evaluation scores it, SFT never sees it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Record {
    pub id: String,
    pub prompt: String,
    pub target: Option<String>,
    pub references: Vec<String>,
    pub meta: Option<Value>,
}

impl Record {
    /// The prompt and the references: what a tokenizer is trained on.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.prompt.as_str()).chain(self.references.iter().map(String::as_str))
    }

    /// A (prompt, target) pair whose only reference is the target.
    pub fn labeled(id: impl Into<String>, prompt: impl Into<String>, target: String) -> Self {
        Self {
            id: id.into(),
            prompt: prompt.into(),
            references: vec![target.clone()],
            target: Some(target),
            meta: None,
        }
    }

    pub fn is_prompt_only(&self) -> bool {
        self.target.is_none() && self.references.is_empty()
    }

    /// The first reference (the target when there is one), if any.
    pub fn reference(&self) -> Option<&str> {
        self.references.first().map(String::as_str)
    }
}

/// The records that carry a demonstration: SFT's data, and D in a grown set.
pub fn demonstrations<'a>(records: impl IntoIterator<Item = &'a Record>) -> Vec<&'a Record> {
    records.into_iter().filter(|r| r.target.is_some()).collect()
}

/// Reads one record per line: `prompt` and any of `target`, `references`,
/// `meta` (optional `id`, string or number). Blank lines are skipped. A
/// line that is not a JSON object, a missing, empty or mistyped field, an
/// unknown field, or a repeated id is an error naming the file and line.
pub fn read_records(path: &Path) -> Result<Vec<Record>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, line) in BufReader::new(file).split(b'\n').enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| Error::io(path, e))?;
        let line = String::from_utf8(line).map_err(|e| Error::Input {
            path: path.to_path_buf(),
            line: n,
            msg: format!("not UTF-8 text: {}", e.utf8_error()),
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let record = parse_line(&line, n).map_err(|msg| Error::Input {
            path: path.to_path_buf(),
            line: n,
            msg,
        })?;
        if !seen.insert(record.id.clone()) {
            return Err(Error::Input {
                path: path.to_path_buf(),
                line: n,
                msg: format!("id {:?} appears twice", record.id),
            });
        }
        out.push(record);
    }
    if out.is_empty() {
        return Err(Error::file(path, "no records (the file is empty)"));
    }
    Ok(out)
}

const FIELDS: [&str; 5] = ["id", "prompt", "target", "references", "meta"];

fn text(field: &str, value: &Value) -> std::result::Result<String, String> {
    match value {
        Value::String(s) if s.trim().is_empty() => Err(format!("field `{field}` is empty")),
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("field `{field}` must be a string, got {other}")),
    }
}

fn parse_line(line: &str, n: usize) -> std::result::Result<Record, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let obj: &Map<String, Value> = value
        .as_object()
        .ok_or("expected a JSON object with a `prompt` field")?;
    if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "unknown field `{unknown}` (expected {})",
            FIELDS.join(", ")
        ));
    }
    let id = match obj.get("id") {
        None => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(x)) => x.to_string(),
        Some(other) => {
            return Err(format!(
                "field `id` must be a string or number, got {other}"
            ));
        }
    };
    let prompt = text("prompt", obj.get("prompt").ok_or("missing field `prompt`")?)?;
    let target = obj.get("target").map(|v| text("target", v)).transpose()?;
    let mut references: Vec<String> = target.iter().cloned().collect();
    match obj.get("references") {
        None => {}
        Some(Value::Array(items)) if items.is_empty() => {
            return Err("field `references` is an empty list (leave it out instead)".into());
        }
        Some(Value::Array(items)) => {
            for (k, item) in items.iter().enumerate() {
                let r = text(&format!("references[{k}]"), item)?;
                if !references.contains(&r) {
                    references.push(r);
                }
            }
        }
        Some(other) => {
            return Err(format!(
                "field `references` must be a list of strings, got {other}"
            ));
        }
    }
    let meta = match obj.get("meta") {
        None => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(other) => return Err(format!("field `meta` must be a JSON object, got {other}")),
    };
    Ok(Record {
        id,
        prompt,
        target,
        references,
        meta,
    })
}
