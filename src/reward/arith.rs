//! The `arith` verifier: 100 when the reply's final answer is the answer
//! key (`meta.answer`), else 0. The final answer is found where a
//! reasonable reply puts it: the number after "answer is" / "answer:"
//! (every such statement must give the same number, so a reply that states
//! two different answers gets nothing), else the number right after the
//! last `=`, else the last number. Its second metric asks more: every
//! running sum of the trace right (`meta.terms`), which catches a right
//! answer reached by wrong steps.

use super::{Item, Reward, SecondMetric};
use crate::error::{Error, Result};

pub struct ArithVerifier;

/// `text` starts with a group of exactly three digits (after a thousands
/// comma).
fn thousands(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 3
        && b[..3].iter().all(u8::is_ascii_digit)
        && !b.get(3).is_some_and(u8::is_ascii_digit)
}

/// A number at the start of `text` (after spaces, `*` or `$`; a sign
/// and thousands commas allowed), and where it ends. None past `i64`.
fn number_at(text: &str) -> Option<(i64, usize)> {
    let skip = text.len() - text.trim_start_matches([' ', '*', '$', ':']).len();
    let rest = &text[skip..];
    let (sign, digits_from) = match rest.strip_prefix(['-', '−']) {
        Some(r) => (-1, rest.len() - r.len()),
        None => (1, 0),
    };
    let body = &rest[digits_from..];
    let len = body
        .char_indices()
        .take_while(|&(i, c)| {
            c.is_ascii_digit() || (c == ',' && i > 0 && thousands(&body[i + 1..]))
        })
        .map(|(i, c)| i + c.len_utf8())
        .last()?;
    let digits: String = body[..len].chars().filter(char::is_ascii_digit).collect();
    let n: i64 = digits.parse().ok()?;
    Some((sign * n, skip + digits_from + len))
}

/// The final answer a reply states (see the module's doc).
fn answer_of(sample: &str) -> Option<i64> {
    let lower = sample.to_lowercase();
    let mut stated = Vec::new();
    for marker in ["answer is", "answer:", "answer ="] {
        for (at, _) in lower.match_indices(marker) {
            // An answer statement that gives no number states none.
            if let Some((n, _)) = number_at(&lower[at + marker.len()..]) {
                stated.push(n);
            }
        }
    }
    if let Some(&first) = stated.first() {
        return stated.iter().all(|&n| n == first).then_some(first);
    }
    if let Some((_, tail)) = sample.rsplit_once('=') {
        return number_at(tail).map(|(n, _)| n);
    }
    (0..sample.len())
        .rev()
        .filter(|&i| sample.is_char_boundary(i))
        .filter(|&i| {
            sample[i..].starts_with(|c: char| c.is_ascii_digit())
                && !sample[..i].ends_with(|c: char| c.is_ascii_digit() || c == ',')
        })
        .find_map(|i| {
            let signed = if sample[..i].ends_with('-') { i - 1 } else { i };
            number_at(&sample[signed..]).map(|(n, _)| n)
        })
}

/// Every running sum, then the answer: `23>80>121=121` for 23+57+41.
fn steps_right(item: &Item<'_>) -> f64 {
    let terms: Option<Vec<u64>> = item
        .meta
        .and_then(|m| m.get("terms"))
        .and_then(|t| t.as_array())
        .and_then(|t| t.iter().map(|x| x.as_u64()).collect());
    let Some(terms) = terms else { return 0.0 };
    let Some((steps, answer)) = item.sample.trim().rsplit_once('=') else {
        return 0.0;
    };
    let steps: Vec<Option<u64>> = steps.split('>').map(|s| s.trim().parse().ok()).collect();
    let mut sum = 0;
    let running: Vec<Option<u64>> = terms
        .iter()
        .map(|t| {
            sum += t;
            Some(sum)
        })
        .collect();
    let ok = steps == running && answer.trim().parse::<u64>().ok() == Some(sum);
    100.0 * ok as u8 as f64
}

impl Reward for ArithVerifier {
    fn name(&self) -> &str {
        "arith"
    }

    fn score(&mut self, items: &[Item<'_>]) -> Result<Vec<f64>> {
        items
            .iter()
            .map(|i| {
                let key = i.meta_field(self.name(), "answer")?;
                let key = key.as_u64().ok_or_else(|| Error::Reward {
                    name: self.name().into(),
                    msg: format!("prompt {:?}: `meta.answer` is not a whole number", i.prompt),
                })?;
                let right = answer_of(i.sample).is_some_and(|a| a >= 0 && a as u64 == key);
                Ok(100.0 * right as u8 as f64)
            })
            .collect()
    }

    fn second_metric(&self) -> Option<SecondMetric> {
        Some(SecondMetric {
            name: "steps right",
            score: steps_right,
        })
    }
}
