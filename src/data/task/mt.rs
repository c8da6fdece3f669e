//! `mt`: translating a toy English into an Esperanto-like language where a
//! sentence has several correct translations. The accusative `-n` marks the
//! object, so subject, object and verb may come in several orders; an
//! adjective may precede or follow its noun; `la` may be dropped before a
//! definite noun; a few words have synonyms.
//!
//!   the big dog sees a red bird → la hundo granda birdon ruĝan vidas
//!                               → granda hundo vidas ruĝan birdon  (…)
//!
//! Only a fraction of the prompts carry a reference (one correct
//! translation chosen at random); the rest are prompt-only. The reward is a
//! verifier (`reward::MtVerifier`) that parses the output with this
//! grammar and scores its meaning against the source's, which every record
//! carries in `meta`.

use crate::data::Record;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// (English singular, English plural, Esperanto stems).
pub const NOUNS: &[(&str, &str, &[&str])] = &[
    ("dog", "dogs", &["hund"]),
    ("cat", "cats", &["kat"]),
    ("bird", "birds", &["bird"]),
    ("fish", "fish", &["fiŝ"]),
    ("man", "men", &["vir"]),
    ("woman", "women", &["in"]),
    ("child", "children", &["infan", "id"]),
    ("horse", "horses", &["ĉeval"]),
    ("king", "kings", &["reĝ"]),
    ("farmer", "farmers", &["kamparan", "farmist"]),
];
/// (English, Esperanto stems).
pub const ADJECTIVES: &[(&str, &[&str])] = &[
    ("big", &["grand"]),
    ("small", &["malgrand", "et"]),
    ("red", &["ruĝ"]),
    ("green", &["verd"]),
    ("old", &["maljun"]),
    ("young", &["jun"]),
    ("happy", &["feliĉ", "ĝoj"]),
    ("fast", &["rapid"]),
];
/// (English 3rd singular, English plural, Esperanto forms).
pub const VERBS: &[(&str, &str, &[&str])] = &[
    ("sees", "see", &["vidas"]),
    ("eats", "eat", &["manĝas"]),
    ("likes", "like", &["ŝatas", "amas"]),
    ("follows", "follow", &["sekvas"]),
    ("finds", "find", &["trovas"]),
    ("hears", "hear", &["aŭdas"]),
];

/// A noun phrase's meaning, by English lemma.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NounPhrase {
    pub noun: String,
    pub plural: bool,
    pub definite: bool,
    pub adjective: Option<String>,
}

/// Who did what to whom: what a translation must convey. Stored in each
/// record's `meta` for the verifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meaning {
    pub subject: NounPhrase,
    /// The verb's English 3rd-person singular form ("sees").
    pub verb: String,
    pub object: NounPhrase,
}

/// The orders of subject (S), object (O) and verb (V) a translation may take.
const ORDERS: [[char; 3]; 3] = [['S', 'O', 'V'], ['S', 'V', 'O'], ['O', 'S', 'V']];

fn noun_phrase(rng: &mut ChaCha8Rng) -> NounPhrase {
    let noun = NOUNS.choose(rng).expect("nouns").0.to_string();
    let plural = rng.random_bool(0.3);
    NounPhrase {
        noun,
        plural,
        definite: plural || rng.random_bool(0.6),
        adjective: rng
            .random_bool(0.6)
            .then(|| ADJECTIVES.choose(rng).expect("adjectives").0.to_string()),
    }
}

fn meaning(rng: &mut ChaCha8Rng) -> Meaning {
    Meaning {
        subject: noun_phrase(rng),
        verb: VERBS.choose(rng).expect("verbs").0.to_string(),
        object: noun_phrase(rng),
    }
}

fn english_np(np: &NounPhrase) -> String {
    let (_, plural, _) = NOUNS.iter().find(|n| n.0 == np.noun).expect("noun");
    let mut words = Vec::new();
    if np.definite {
        words.push("the");
    } else if !np.plural {
        words.push("a");
    }
    if let Some(a) = &np.adjective {
        words.push(a);
    }
    words.push(if np.plural { plural } else { np.noun.as_str() });
    words.join(" ")
}

pub fn english(m: &Meaning) -> String {
    let (_, plural, _) = VERBS.iter().find(|v| v.0 == m.verb).expect("verb");
    let verb: &str = if m.subject.plural { plural } else { &m.verb };
    format!(
        "{} {verb} {}",
        english_np(&m.subject),
        english_np(&m.object)
    )
}

pub fn noun_stems(lemma: &str) -> &'static [&'static str] {
    NOUNS.iter().find(|n| n.0 == lemma).map_or(&[], |n| n.2)
}

pub fn adjective_stems(lemma: &str) -> &'static [&'static str] {
    ADJECTIVES
        .iter()
        .find(|a| a.0 == lemma)
        .map_or(&[], |a| a.1)
}

pub fn verb_forms(lemma: &str) -> &'static [&'static str] {
    VERBS.iter().find(|v| v.0 == lemma).map_or(&[], |v| v.2)
}

/// Every correct rendering of one noun phrase (`accusative` for the object).
fn np_variants(np: &NounPhrase, accusative: bool) -> Vec<String> {
    let ending = format!(
        "{}{}",
        if np.plural { "j" } else { "" },
        if accusative { "n" } else { "" }
    );
    let articles: &[bool] = if np.definite {
        &[true, false]
    } else {
        &[false]
    };
    let mut out = Vec::new();
    for &article in articles {
        for stem in noun_stems(&np.noun) {
            let noun = format!("{stem}o{ending}");
            let adjectives: Vec<Option<String>> = match &np.adjective {
                None => vec![None],
                Some(a) => adjective_stems(a)
                    .iter()
                    .map(|s| Some(format!("{s}a{ending}")))
                    .collect(),
            };
            for adj in adjectives {
                let la = if article { "la " } else { "" };
                match adj {
                    None => out.push(format!("{la}{noun}")),
                    Some(a) => {
                        out.push(format!("{la}{noun} {a}"));
                        out.push(format!("{la}{a} {noun}"));
                    }
                }
            }
        }
    }
    out
}

/// Every correct translation of `m`, in a fixed order.
pub fn translations(m: &Meaning) -> Vec<String> {
    let subjects = np_variants(&m.subject, false);
    let objects = np_variants(&m.object, true);
    let mut out = Vec::new();
    for order in ORDERS {
        for s in &subjects {
            for o in &objects {
                for v in verb_forms(&m.verb) {
                    let words: Vec<&str> = order
                        .iter()
                        .map(|c| match c {
                            'S' => s.as_str(),
                            'O' => o.as_str(),
                            _ => v,
                        })
                        .collect();
                    out.push(words.join(" "));
                }
            }
        }
    }
    out
}

/// The Esperanto words of a translation, for checking lexicon coverage.
fn words_of(text: &str) -> HashSet<String> {
    text.split_whitespace()
        // hundojn → hundo: citation forms end in o, a or s.
        .map(|w| w.trim_end_matches(['j', 'n']).to_string())
        .collect()
}

/// Every Esperanto word of the lexicon in its citation form (`hundo`,
/// `granda`, `vidas`).
pub fn lexicon() -> Vec<String> {
    let nouns = NOUNS.iter().flat_map(|n| n.2).map(|s| format!("{s}o"));
    let adjectives = ADJECTIVES.iter().flat_map(|a| a.1).map(|s| format!("{s}a"));
    let verbs = VERBS.iter().flat_map(|v| v.2).map(|s| s.to_string());
    nouns.chain(adjectives).chain(verbs).collect()
}

/// Whether `translation` uses a word the labeled part still lacks.
fn brings(translation: &str, missing: &HashSet<String>) -> bool {
    words_of(translation).iter().any(|w| missing.contains(w))
}

/// A labeled record's reference: one of its correct translations `all` at
/// random, preferring one that uses a word the labeled part still lacks.
fn labeled_target(all: &[String], rng: &mut ChaCha8Rng, missing: &HashSet<String>) -> String {
    let helpful: Vec<&String> = all.iter().filter(|t| brings(t, missing)).collect();
    match helpful.choose(rng) {
        Some(t) => (*t).clone(),
        None => all.choose(rng).expect("a translation").clone(),
    }
}

/// The training prompts (a `labeled_fraction` of them with a reference,
/// the rest prompt-only) and the held-out records (references: every
/// correct translation; target: one of them). All prompts are distinct,
/// and every lexicon word occurs in some labeled reference.
pub fn generate(
    n_train: usize,
    n_eval: usize,
    labeled_fraction: f64,
    seed: u64,
) -> (Vec<Record>, Vec<Record>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut seen = HashSet::new();
    let mut meanings = Vec::new();
    let mut attempts = 0;
    while meanings.len() < n_train + n_eval && attempts < 100 * (n_train + n_eval + 1) {
        attempts += 1;
        let m = meaning(&mut rng);
        if seen.insert(english(&m)) {
            meanings.push(m);
        }
    }
    let eval_meanings = meanings.split_off(n_train.min(meanings.len()));
    let n_labeled = ((n_train as f64 * labeled_fraction).round() as usize).min(meanings.len());
    // Which prompts are labeled: a seeded shuffle walked in order, labeling
    // the first `n_labeled` and then any that brings a word the labeled
    // part still lacks, so every word of the lexicon is taught somewhere.
    let mut order: Vec<usize> = (0..meanings.len()).collect();
    order.shuffle(&mut rng);
    let mut missing: HashSet<String> = lexicon().into_iter().collect();
    let mut targets: Vec<Option<String>> = vec![None; meanings.len()];
    for (count, &i) in order.iter().enumerate() {
        if count >= n_labeled && missing.is_empty() {
            break;
        }
        let all = translations(&meanings[i]);
        if count < n_labeled || all.iter().any(|t| brings(t, &missing)) {
            let t = labeled_target(&all, &mut rng, &missing);
            for w in words_of(&t) {
                missing.remove(&w);
            }
            targets[i] = Some(t);
        }
    }
    let mut train: Vec<Record> = meanings
        .iter()
        .zip(targets)
        .map(|(m, target)| {
            let mut r = match target {
                Some(t) => Record::labeled("", english(m), t),
                None => Record {
                    prompt: english(m),
                    ..Record::default()
                },
            };
            r.meta = Some(serde_json::to_value(m).expect("meaning serialises"));
            r
        })
        .collect();
    for (i, r) in train.iter_mut().enumerate() {
        r.id = format!("mt-{i}");
    }
    let eval = eval_meanings
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut references = translations(m);
            let target = references.choose(&mut rng).expect("a translation").clone();
            // The target leads the references, as in records read from files.
            references.retain(|x| *x != target);
            references.insert(0, target.clone());
            Record {
                id: format!("mt-eval-{i}"),
                prompt: english(m),
                target: Some(target),
                references,
                meta: Some(serde_json::to_value(m).expect("meaning serialises")),
            }
        })
        .collect();
    (train, eval)
}
