//! The `arith` verifier: 100 when the number after the last `=` (or the
//! whole output, when it has no `=`) is the answer key (`meta.answer`),
//! else 0. Its second metric asks more: every
//! running sum of the trace right (`meta.terms`), which catches a right
//! answer reached by wrong steps.

use super::{Item, Reward, SecondMetric};
use crate::error::{Error, Result};

pub struct ArithVerifier;

/// The number after the last `=`, or the whole output when it has none.
fn answer_of(sample: &str) -> Option<u64> {
    let tail = sample.rsplit_once('=').map_or(sample, |(_, a)| a);
    tail.trim().parse().ok()
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
                Ok(100.0 * (answer_of(i.sample) == Some(key)) as u8 as f64)
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
