use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader};
use std::path::Path;

/// One (prompt, target) pair of D. `id` defaults to the 1-based line number.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    pub id: String,
    pub prompt: String,
    pub target: String,
}

/// Reads `{"prompt": "...", "target": "..."}` lines (optional `id`, string
/// or number). Blank lines are skipped. A line that is not a JSON object, a
/// missing or non-string field, an empty prompt or target, or a repeated id
/// is an error naming the file and line.
pub fn read_records(path: &Path) -> Result<Vec<Record>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| Error::io(path, e))?;
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

fn parse_line(line: &str, n: usize) -> std::result::Result<Record, String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let obj = value
        .as_object()
        .ok_or("expected a JSON object with fields `prompt` and `target`")?;
    let text = |field: &str| -> std::result::Result<String, String> {
        match obj.get(field) {
            None => Err(format!("missing field `{field}`")),
            Some(serde_json::Value::String(s)) if s.trim().is_empty() => {
                Err(format!("field `{field}` is empty"))
            }
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(format!("field `{field}` must be a string, got {other}")),
        }
    };
    let id = match obj.get("id") {
        None => n.to_string(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(x)) => x.to_string(),
        Some(other) => {
            return Err(format!(
                "field `id` must be a string or number, got {other}"
            ));
        }
    };
    Ok(Record {
        id,
        prompt: text("prompt")?,
        target: text("target")?,
    })
}
