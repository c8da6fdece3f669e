//! A reward computed by a user's program. For each batch restlm starts the
//! program from its argv (no shell), writes one JSON object per line to its stdin
//! (`{"prompt", "sample", "reference", "references", "meta"}`: `reference`
//! is the first reference or null, `meta` the record's or null), closes
//! stdin, and reads one line
//! per item from its stdout: a number, or an object with a `reward` number.
//! A crash, a timeout, a wrong line count, a malformed line or a NaN is an
//! error naming the command and the batch.

use super::{Item, Reward};
use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct External {
    argv: Vec<String>,
    /// The argv as the user reads it, for error messages.
    command: String,
    timeout: Duration,
    batches: usize,
}

impl External {
    /// `argv`: the program and its arguments (non-empty).
    pub fn new(argv: Vec<String>, timeout_secs: f64) -> Self {
        Self {
            command: argv.join(" "),
            argv,
            timeout: Duration::from_secs_f64(timeout_secs.max(0.001)),
            batches: 0,
        }
    }

    fn fail(&self, batch: usize, msg: impl std::fmt::Display) -> Error {
        Error::Reward {
            name: format!("external `{}`", self.command),
            msg: format!("batch {batch}: {msg}"),
        }
    }

    fn run(&self, batch: usize, input: Vec<u8>) -> Result<String> {
        let (program, args) = self
            .argv
            .split_first()
            .ok_or_else(|| self.fail(batch, "the command is empty"))?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.fail(batch, format!("cannot start: {e}")))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        // A scorer that never reads its input must not block us: write from
        // a thread, and ignore a broken pipe (the exit status tells).
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut out = String::new();
            let mut err = String::new();
            let ok = stdout.read_to_string(&mut out).is_ok();
            let _ = stderr.read_to_string(&mut err);
            let _ = tx.send((ok, out, err));
        });
        let (ok, out, err) = match rx.recv_timeout(self.timeout) {
            Ok(v) => v,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(self.fail(
                    batch,
                    format!(
                        "no answer within {:.1}s (killed)",
                        self.timeout.as_secs_f64()
                    ),
                ));
            }
        };
        let status = child.wait().map_err(|e| self.fail(batch, e))?;
        if !status.success() {
            let tail: String = err
                .trim()
                .chars()
                .rev()
                .take(400)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            return Err(self.fail(batch, format!("exited with {status}; stderr: {tail}")));
        }
        if !ok {
            return Err(self.fail(batch, "stdout is not UTF-8"));
        }
        Ok(out)
    }
}

fn parse_score(line: &str) -> std::result::Result<f64, String> {
    let v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON ({e}): {line:?}"))?;
    let x = match &v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::Object(o) => o.get("reward").and_then(|r| r.as_f64()),
        _ => None,
    }
    .ok_or_else(|| format!("expected a number or {{\"reward\": number}}, got {line:?}"))?;
    if !x.is_finite() {
        return Err(format!("reward is not finite: {line:?}"));
    }
    Ok(x)
}

impl Reward for External {
    fn name(&self) -> &str {
        &self.command
    }

    fn score(&mut self, items: &[Item<'_>]) -> Result<Vec<f64>> {
        self.batches += 1;
        let batch = self.batches;
        let mut input = Vec::new();
        for i in items {
            let row = serde_json::json!({
                "prompt": i.prompt, "sample": i.sample, "reference": i.references.first(),
                "references": i.references, "meta": i.meta,
            });
            serde_json::to_writer(&mut input, &row).expect("json");
            input.push(b'\n');
        }
        let out = self.run(batch, input)?;
        let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.len() != items.len() {
            return Err(self.fail(
                batch,
                format!("answered {} lines for {} items", lines.len(), items.len()),
            ));
        }
        lines
            .iter()
            .enumerate()
            .map(|(k, l)| {
                parse_score(l).map_err(|m| self.fail(batch, format!("line {}: {m}", k + 1)))
            })
            .collect()
    }
}
