//! A reward model's training data: pointwise records `{"prompt",
//! "output", "score"}` (score 0–100) and pairwise records `{"prompt",
//! "chosen", "rejected"}`, from JSONL or from a grown set scored by a gold
//! reward; synthetic negatives; a held-out split by prompt; bootstrap
//! resamples for ensemble members.

use crate::error::{Error, Result};
use crate::io::Fnv;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub enum Example {
    /// An output with its score in [0, 100].
    Point {
        prompt: String,
        output: String,
        score: f64,
    },
    /// Two outputs for one prompt, the first preferred.
    Pair {
        prompt: String,
        chosen: String,
        rejected: String,
    },
}

impl Example {
    pub fn prompt(&self) -> &str {
        match self {
            Example::Point { prompt, .. } | Example::Pair { prompt, .. } => prompt,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    prompt: String,
    output: Option<String>,
    score: Option<f64>,
    chosen: Option<String>,
    rejected: Option<String>,
}

impl Line {
    fn example(self) -> std::result::Result<Example, String> {
        match self {
            Line { output: Some(output), score: Some(score), chosen: None, rejected: None, prompt } => {
                if !(score.is_finite() && (0.0..=100.0).contains(&score)) {
                    return Err(format!("`score` must be a number in [0, 100], got {score}"));
                }
                Ok(Example::Point { prompt, output, score })
            }
            Line { chosen: Some(chosen), rejected: Some(rejected), output: None, score: None, prompt } => {
                Ok(Example::Pair { prompt, chosen, rejected })
            }
            _ => Err("expected {\"prompt\", \"output\", \"score\"} or {\"prompt\", \"chosen\", \"rejected\"}".into()),
        }
    }
}

/// Every record of a JSONL file; an error names the file, line and cause.
pub fn read_examples(path: &Path) -> Result<Vec<Example>> {
    let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let fail = |msg: String| Error::Input {
            path: path.to_path_buf(),
            line: i + 1,
            msg,
        };
        let line = std::str::from_utf8(line).map_err(|e| fail(format!("not UTF-8 text: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line =
            serde_json::from_str(line).map_err(|e| fail(format!("invalid JSON record: {e}")))?;
        out.push(parsed.example().map_err(fail)?);
    }
    if out.is_empty() {
        return Err(Error::file(path, "no records (the file is empty)"));
    }
    Ok(out)
}

/// Pointwise examples from a grown set (`grow/g<N>.jsonl`): every row's
/// sample with the reward that scored it. Rows scored by a learned model
/// are left out: a reward model learns from gold scores only.
pub fn from_grown(path: &Path) -> Result<Vec<Example>> {
    /// The fields of a grown row (`rest::grow::Grown`) read here.
    #[derive(Deserialize)]
    struct Grown {
        prompt: String,
        sample: String,
        reward: f64,
        #[serde(default)]
        scored_by: Option<String>,
    }
    let rows: Vec<Grown> = crate::io::read_jsonl(path, true)?;
    let out: Vec<Example> = rows
        .into_iter()
        .filter(|g| g.scored_by.as_deref() != Some("model"))
        .map(|g| Example::Point {
            prompt: g.prompt,
            output: g.sample,
            score: g.reward,
        })
        .collect();
    if out.is_empty() {
        return Err(Error::file(path, "no gold-scored rows in this grown set"));
    }
    Ok(out)
}

/// The kinds of synthetic negative, in the order they are added.
pub const NEGATIVE_KINDS: [&str; 5] = [
    "empty",
    "copied prompt",
    "repeated span",
    "truncated",
    "dropped words",
];

/// `per_prompt` synthetic negatives (score 0) for each distinct prompt,
/// made from its best-scored output: an empty output, the prompt copied,
/// a span repeated, the output cut short, words dropped (cycling through
/// the kinds). Seeded by `seed` and the prompt.
pub fn negatives(examples: &[Example], per_prompt: usize, seed: u64) -> Vec<Example> {
    let mut best: BTreeMap<&str, (&str, f64)> = BTreeMap::new();
    for e in examples {
        if let Example::Point {
            prompt,
            output,
            score,
        } = e
        {
            let slot = best.entry(prompt).or_insert((output, *score));
            if *score > slot.1 {
                *slot = (output, *score);
            }
        }
    }
    let mut out = Vec::new();
    for (prompt, (output, _)) in best {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ Fnv::of(prompt.as_bytes()));
        let words: Vec<&str> = output.split_whitespace().collect();
        for k in 0..per_prompt {
            let text = match k % NEGATIVE_KINDS.len() {
                0 => String::new(),
                1 => prompt.to_string(),
                2 => repeated_span(&words, &mut rng),
                3 => words[..words.len() / 2].join(" "),
                _ => words
                    .iter()
                    .filter(|_| rng.random_bool(0.5))
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" "),
            };
            if text != *output {
                out.push(Example::Point {
                    prompt: prompt.to_string(),
                    output: text,
                    score: 0.0,
                });
            }
        }
    }
    out
}

fn repeated_span(words: &[&str], rng: &mut ChaCha8Rng) -> String {
    if words.is_empty() {
        return String::new();
    }
    let from = rng.random_range(0..words.len());
    let to = rng.random_range(from + 1..=words.len());
    let mut out = words[..to].to_vec();
    for _ in 0..3 {
        out.extend_from_slice(&words[from..to]);
    }
    out.extend_from_slice(&words[to..]);
    out.join(" ")
}

/// (training, held-out): a prompt is held out, with all its outputs, when
/// its seeded hash falls in the lowest `fraction`; at least one prompt
/// each way when there are two or more.
pub fn split(examples: Vec<Example>, fraction: f64, seed: u64) -> (Vec<Example>, Vec<Example>) {
    let key = |p: &str| {
        let h = Fnv::of(format!("{seed}\u{0}{p}").as_bytes());
        (h >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut prompts: Vec<(f64, &str)> = examples
        .iter()
        .map(|e| (key(e.prompt()), e.prompt()))
        .collect();
    prompts.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    prompts.dedup_by(|a, b| a.1 == b.1);
    let want = ((prompts.len() as f64 * fraction).round() as usize)
        .max((fraction > 0.0 && prompts.len() >= 2) as usize)
        .min(prompts.len().saturating_sub(1));
    let held: std::collections::HashSet<String> =
        prompts[..want].iter().map(|(_, p)| p.to_string()).collect();
    examples
        .into_iter()
        .partition(|e| !held.contains(e.prompt()))
}

/// The training data of ensemble member `k` (from 0): all of
/// `examples` for the first, and for the others a bootstrap resample of
/// the prompts drawn with `seed` when `bootstrap` is set, else all of them
/// again (the members then differ only by their seeds' batch order).
pub fn member_data(examples: &[Example], k: usize, seed: u64, bootstrap: bool) -> Vec<Example> {
    if k > 0 && bootstrap {
        self::bootstrap(examples, seed)
    } else {
        examples.to_vec()
    }
}

/// A bootstrap resample by prompt: as many prompts as there are, drawn
/// with replacement, each bringing all its examples.
pub fn bootstrap(examples: &[Example], seed: u64) -> Vec<Example> {
    let mut by_prompt: HashMap<&str, Vec<&Example>> = HashMap::new();
    let mut order = Vec::new();
    for e in examples {
        by_prompt
            .entry(e.prompt())
            .or_insert_with(|| {
                order.push(e.prompt());
                Vec::new()
            })
            .push(e);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..order.len())
        .flat_map(|_| {
            by_prompt[order.choose(&mut rng).expect("prompts")]
                .iter()
                .map(|e| (*e).clone())
        })
        .collect()
}

/// `output` with one word-level edit, the `kind`-th of: a word replaced by
/// one of `pool`, a word deleted, two words swapped, a word of `pool`
/// inserted. Task-agnostic near misses: scored by a gold reward, they show
/// a reward model what a single wrong word costs.
pub fn perturb(output: &str, pool: &[&str], kind: usize, rng: &mut impl Rng) -> String {
    let mut words: Vec<&str> = output.split_whitespace().collect();
    let n = words.len();
    let any = |rng: &mut dyn rand::RngCore| *pool.choose(rng).unwrap_or(&"");
    match (kind % 4, n) {
        (_, 0) | (3, _) => {
            let at = rng.random_range(0..=n);
            words.insert(at, any(rng));
        }
        (0, _) => {
            let at = rng.random_range(0..n);
            words[at] = any(rng);
        }
        (1, _) => {
            words.remove(rng.random_range(0..n));
        }
        _ => {
            let (a, b) = (rng.random_range(0..n), rng.random_range(0..n));
            words.swap(a, b);
        }
    }
    words.join(" ")
}
