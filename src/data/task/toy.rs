//! `toy`: translating a toy English into an Esperanto-like language with
//! exactly one correct translation per sentence, every prompt labeled. It
//! is "translation-like" in the ways that make chrF a graded reward: a
//! lexicon to learn, word order to change (the adjective follows its noun,
//! the verb goes last), and agreement to get right (plural -j and
//! accusative -n spread from noun to adjective).
//!
//!   the big dog sees a red bird  →  la hundo granda birdon ruĝan vidas

use crate::data::Record;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;

const NOUNS: &[(&str, &str)] = &[
    ("dog", "hund"),
    ("cat", "kat"),
    ("bird", "bird"),
    ("fish", "fiŝ"),
    ("man", "vir"),
    ("woman", "in"),
    ("child", "infan"),
    ("horse", "ĉeval"),
    ("king", "reĝ"),
    ("farmer", "kamparan"),
];
const ADJECTIVES: &[(&str, &str)] = &[
    ("big", "grand"),
    ("small", "malgrand"),
    ("red", "ruĝ"),
    ("green", "verd"),
    ("old", "maljun"),
    ("young", "jun"),
    ("happy", "feliĉ"),
    ("fast", "rapid"),
];
const VERBS: &[(&str, &str, &str)] = &[
    ("sees", "see", "vidas"),
    ("eats", "eat", "manĝas"),
    ("likes", "like", "ŝatas"),
    ("follows", "follow", "sekvas"),
    ("finds", "find", "trovas"),
    ("hears", "hear", "aŭdas"),
];

struct Phrase {
    en: String,
    eo: String,
    plural: bool,
}

fn plural_en(noun: &str) -> String {
    match noun {
        "man" => "men".into(),
        "woman" => "women".into(),
        "child" => "children".into(),
        "fish" => "fish".into(),
        n => format!("{n}s"),
    }
}

/// A noun phrase; `object` marks the accusative.
fn phrase(rng: &mut ChaCha8Rng, object: bool) -> Phrase {
    let (noun_en, noun_eo) = *NOUNS.choose(rng).expect("nouns");
    let plural = rng.random_bool(0.3);
    let definite = plural || rng.random_bool(0.6);
    let adjective = rng
        .random_bool(0.6)
        .then(|| *ADJECTIVES.choose(rng).expect("adjectives"));
    let ending = format!(
        "{}{}",
        if plural { "j" } else { "" },
        if object { "n" } else { "" }
    );
    let mut en = Vec::new();
    if !plural {
        en.push(if definite {
            "the".to_string()
        } else {
            "a".to_string()
        });
    } else if definite {
        en.push("the".to_string());
    }
    let mut eo = Vec::new();
    if definite {
        eo.push("la".to_string());
    }
    eo.push(format!("{noun_eo}o{ending}"));
    if let Some((adj_en, adj_eo)) = adjective {
        en.push(adj_en.to_string());
        eo.push(format!("{adj_eo}a{ending}"));
    }
    en.push(if plural {
        plural_en(noun_en)
    } else {
        noun_en.to_string()
    });
    Phrase {
        en: en.join(" "),
        eo: eo.join(" "),
        plural,
    }
}

fn sentence(rng: &mut ChaCha8Rng) -> Record {
    let subject = phrase(rng, false);
    let object = phrase(rng, true);
    let (singular, plural, eo_verb) = *VERBS.choose(rng).expect("verbs");
    let en_verb = if subject.plural { plural } else { singular };
    Record::labeled(
        "",
        format!("{} {} {}", subject.en, en_verb, object.en),
        format!("{} {} {}", subject.eo, object.eo, eo_verb),
    )
}

/// `n_train` training and `n_eval` held-out records, all prompts distinct,
/// so held-out scores measure generalisation, not recall.
pub fn generate(n_train: usize, n_eval: usize, seed: u64) -> (Vec<Record>, Vec<Record>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut seen = HashSet::new();
    let mut all = Vec::with_capacity(n_train + n_eval);
    let mut attempts = 0;
    while all.len() < n_train + n_eval && attempts < 100 * (n_train + n_eval + 1) {
        attempts += 1;
        let mut r = sentence(&mut rng);
        if seen.insert(r.prompt.clone()) {
            r.id = format!("task-{}", all.len());
            all.push(r);
        }
    }
    let eval = all.split_off(n_train.min(all.len()));
    (all, eval)
}
