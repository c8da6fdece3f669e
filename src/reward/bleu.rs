//! Sentence BLEU as sacrebleu's `sentence_bleu` computes it: 13a
//! tokenisation, n-grams up to 4, "exp" smoothing, effective order.

use super::{Item, Reward};
use crate::error::Result;
use regex::Regex;
use std::collections::HashMap;
use std::sync::OnceLock;

const MAX_ORDER: usize = 4;

/// mteval-v13a tokenisation, as in sacrebleu's `Tokenizer13a`.
pub fn tokenize_13a(line: &str) -> String {
    static RULES: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    let rules = RULES.get_or_init(|| {
        [
            (r"([\{-\~\[-\` -\&\(-\+\:-\@\/])", " $1 "),
            (r"([^0-9])([\.,])", "$1 $2 "),
            (r"([\.,])([^0-9])", " $1 $2"),
            (r"([0-9])(-)", "$1 $2 "),
        ]
        .into_iter()
        .map(|(re, rep)| (Regex::new(re).expect("13a rule"), rep))
        .collect()
    });
    let mut s = line
        .replace("<skipped>", "")
        .replace("-\n", "")
        .replace('\n', " ");
    if s.contains('&') {
        s = s
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
    }
    let mut s = format!(" {s} ");
    for (re, rep) in rules {
        s = re.replace_all(&s, *rep).into_owned();
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn counts(words: &[&str], n: usize) -> HashMap<Vec<String>, usize> {
    let mut m = HashMap::new();
    for w in words.windows(n) {
        *m.entry(w.iter().map(|s| s.to_string()).collect())
            .or_insert(0) += 1;
    }
    m
}

pub fn sentence_bleu(hypothesis: &str, reference: &str) -> f64 {
    sentence_bleu_multi(hypothesis, &[reference])
}

/// sacrebleu's multi-reference rule: the reference length closest to the
/// hypothesis' (the shorter on a tie).
fn closest_ref_len(hyp_len: usize, ref_lens: &[usize]) -> usize {
    let mut best: Option<(usize, usize)> = None; // (diff, len)
    for &len in ref_lens {
        let diff = hyp_len.abs_diff(len);
        best = match best {
            Some((d, l)) if diff > d || (diff == d && l <= len) => Some((d, l)),
            _ => Some((diff, len)),
        };
    }
    best.map_or(0, |(_, l)| l)
}

/// Sentence BLEU against several references as sacrebleu computes it:
/// each n-gram's count is clipped by its largest count in any reference,
/// and the brevity penalty uses the closest reference length. With no
/// reference the score is 0.
pub fn sentence_bleu_multi<S: AsRef<str>>(hypothesis: &str, references: &[S]) -> f64 {
    if references.is_empty() {
        return 0.0;
    }
    let h = tokenize_13a(hypothesis);
    let hyp: Vec<&str> = h.split(' ').filter(|w| !w.is_empty()).collect();
    let refs: Vec<String> = references
        .iter()
        .map(|r| tokenize_13a(r.as_ref()))
        .collect();
    let refs: Vec<Vec<&str>> = refs
        .iter()
        .map(|r| r.split(' ').filter(|w| !w.is_empty()).collect())
        .collect();
    let ref_len = closest_ref_len(hyp.len(), &refs.iter().map(Vec::len).collect::<Vec<_>>());
    let mut correct = [0usize; MAX_ORDER];
    let mut total = [0usize; MAX_ORDER];
    for n in 1..=MAX_ORDER {
        total[n - 1] = hyp.len().saturating_sub(n - 1);
        let hc = counts(&hyp, n);
        let mut rc: HashMap<Vec<String>, usize> = HashMap::new();
        for r in &refs {
            for (g, c) in counts(r, n) {
                let e = rc.entry(g).or_insert(0);
                *e = (*e).max(c);
            }
        }
        correct[n - 1] = hc
            .iter()
            .map(|(g, c)| (*c).min(rc.get(g).copied().unwrap_or(0)))
            .sum();
    }
    // No matching n-gram at all scores 0, before any smoothing (sacrebleu #141).
    if correct.iter().all(|&c| c == 0) {
        return 0.0;
    }
    let mut precisions = [0.0f64; MAX_ORDER];
    let mut smooth = 1.0;
    let mut eff_order = MAX_ORDER;
    for n in 1..=MAX_ORDER {
        if total[n - 1] == 0 {
            break;
        }
        eff_order = n;
        precisions[n - 1] = if correct[n - 1] == 0 {
            smooth *= 2.0;
            100.0 / (smooth * total[n - 1] as f64)
        } else {
            100.0 * correct[n - 1] as f64 / total[n - 1] as f64
        };
    }
    let bp = if hyp.len() < ref_len {
        (1.0 - ref_len as f64 / hyp.len() as f64).exp()
    } else {
        1.0
    };
    let log_sum: f64 = precisions[..eff_order]
        .iter()
        .map(|&p| if p == 0.0 { -9_999_999_999.0 } else { p.ln() })
        .sum();
    bp * (log_sum / eff_order as f64).exp()
}

pub struct Bleu;

impl Reward for Bleu {
    fn name(&self) -> &str {
        "bleu"
    }

    fn needs_references(&self) -> bool {
        true
    }

    fn score(&mut self, items: &[Item<'_>]) -> Result<Vec<f64>> {
        items
            .iter()
            .map(|i| Ok(sentence_bleu_multi(i.sample, i.references(self.name())?)))
            .collect()
    }
}
