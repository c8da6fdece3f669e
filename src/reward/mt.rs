//! The `mt` verifier: parses a translation with the task's grammar
//! (`data::task::mt`) and scores it without any reference:
//!
//!   reward = 100 · meaning · well-formedness
//!
//! meaning: the share of 8 facts of the source (`meta`, a `Meaning`) the
//! output conveys: subject noun, number and adjective; object noun, number
//! and adjective; the verb; no article on an indefinite noun phrase.
//! Subject and object are told apart by case (the accusative `-n`), not by
//! position, so every licensed word order counts as correct.
//!
//! well-formedness: the share of 5 checks passed: every word is in the
//! lexicon; one verb; one nominative and one accusative noun; every
//! adjective stands next to a noun it agrees with (number and case), at
//! most one per noun; every `la` opens its noun phrase.

use super::{Item, Reward};
use crate::data::task::mt::{ADJECTIVES, Meaning, NOUNS, NounPhrase, VERBS};
use crate::error::{Error, Result};
use serde::Deserialize;

pub struct MtVerifier;

#[derive(Debug, Clone, PartialEq)]
enum Word {
    Article,
    Noun {
        lemma: &'static str,
        plural: bool,
        accusative: bool,
    },
    Adjective {
        lemma: &'static str,
        plural: bool,
        accusative: bool,
    },
    Verb(&'static str),
    Unknown,
}

fn classify(w: &str) -> Word {
    if w == "la" {
        return Word::Article;
    }
    if let Some(v) = VERBS.iter().find(|v| v.2.contains(&w)) {
        return Word::Verb(v.0);
    }
    let (base, accusative) = w.strip_suffix('n').map_or((w, false), |b| (b, true));
    let (base, plural) = base.strip_suffix('j').map_or((base, false), |b| (b, true));
    if let Some(stem) = base.strip_suffix('o')
        && let Some(n) = NOUNS.iter().find(|n| n.2.contains(&stem))
    {
        return Word::Noun {
            lemma: n.0,
            plural,
            accusative,
        };
    }
    if let Some(stem) = base.strip_suffix('a')
        && let Some(a) = ADJECTIVES.iter().find(|a| a.1.contains(&stem))
    {
        return Word::Adjective {
            lemma: a.0,
            plural,
            accusative,
        };
    }
    Word::Unknown
}

/// What the parse found: words, and for each adjective the noun it
/// belongs to (None: it agrees with no neighbour).
struct Parse {
    words: Vec<Word>,
    attached: Vec<Option<usize>>,
}

fn agrees(words: &[Word], adj: usize, noun: usize) -> bool {
    match (&words[adj], words.get(noun)) {
        (
            Word::Adjective {
                plural: p,
                accusative: a,
                ..
            },
            Some(Word::Noun {
                plural, accusative, ..
            }),
        ) => p == plural && a == accusative,
        _ => false,
    }
}

fn parse(sample: &str) -> Parse {
    let words: Vec<Word> = sample.split_whitespace().map(classify).collect();
    let mut attached = vec![None; words.len()];
    let mut taken = vec![false; words.len()];
    for i in 0..words.len() {
        if !matches!(words[i], Word::Adjective { .. }) {
            continue;
        }
        let left = i
            .checked_sub(1)
            .filter(|&j| agrees(&words, i, j) && !taken[j]);
        let right = Some(i + 1).filter(|&j| agrees(&words, i, j) && !taken[j]);
        if let Some(j) = left.or(right) {
            attached[i] = Some(j);
            taken[j] = true;
        }
    }
    Parse { words, attached }
}

impl Parse {
    fn nouns(&self, accusative: bool) -> Vec<usize> {
        (0..self.words.len())
            .filter(
                |&i| matches!(self.words[i], Word::Noun { accusative: a, .. } if a == accusative),
            )
            .collect()
    }

    fn adjective_of(&self, noun: usize) -> Option<&'static str> {
        let i = self.attached.iter().position(|a| *a == Some(noun))?;
        match self.words[i] {
            Word::Adjective { lemma, .. } => Some(lemma),
            _ => None,
        }
    }

    /// The first word of the noun phrase headed by `noun`.
    fn phrase_start(&self, noun: usize) -> usize {
        match self.attached.iter().position(|a| *a == Some(noun)) {
            Some(adj) if adj < noun => adj,
            _ => noun,
        }
    }

    fn has_article(&self, noun: usize) -> bool {
        let start = self.phrase_start(noun);
        start > 0 && self.words[start - 1] == Word::Article
    }

    fn well_formed(&self) -> f64 {
        let w = &self.words;
        let verbs = w.iter().filter(|x| matches!(x, Word::Verb(_))).count();
        let articles_ok = (0..w.len()).filter(|&i| w[i] == Word::Article).all(|i| {
            (0..w.len()).any(|n| matches!(w[n], Word::Noun { .. }) && self.phrase_start(n) == i + 1)
        });
        let adjectives_ok = (0..w.len())
            .filter(|&i| matches!(w[i], Word::Adjective { .. }))
            .all(|i| self.attached[i].is_some());
        let checks = [
            !w.contains(&Word::Unknown),
            verbs == 1,
            self.nouns(false).len() == 1 && self.nouns(true).len() == 1,
            adjectives_ok,
            articles_ok,
        ];
        checks.iter().filter(|&&c| c).count() as f64 / checks.len() as f64
    }

    /// Facts right of the phrase headed by `noun`, out of 3 (noun, number,
    /// adjective), and whether its article is allowed (a missing phrase
    /// gets nothing, not even the article fact).
    fn phrase_facts(&self, noun: Option<usize>, want: &NounPhrase) -> (usize, bool) {
        let Some(n) = noun else { return (0, false) };
        let Word::Noun { lemma, plural, .. } = self.words[n] else {
            return (0, false);
        };
        let right = (lemma == want.noun) as usize
            + (plural == want.plural) as usize
            + (self.adjective_of(n) == want.adjective.as_deref()) as usize;
        (right, want.definite || !self.has_article(n))
    }

    fn meaning(&self, want: &Meaning) -> f64 {
        let (s, s_article) = self.phrase_facts(self.nouns(false).first().copied(), &want.subject);
        let (o, o_article) = self.phrase_facts(self.nouns(true).first().copied(), &want.object);
        let verb = self.words.iter().find_map(|x| match x {
            Word::Verb(v) => Some(*v),
            _ => None,
        });
        let right =
            s + o + (verb == Some(want.verb.as_str())) as usize + (s_article && o_article) as usize;
        right as f64 / 8.0
    }
}

/// The verifier's score of `sample` as a translation of `meaning`.
pub fn score(sample: &str, meaning: &Meaning) -> f64 {
    let p = parse(sample);
    100.0 * p.meaning(meaning) * p.well_formed()
}

impl Reward for MtVerifier {
    fn name(&self) -> &str {
        "mt"
    }

    fn score(&mut self, items: &[Item<'_>]) -> Result<Vec<f64>> {
        items
            .iter()
            .map(|i| {
                let meta = i.meta.ok_or_else(|| Error::Reward {
                    name: "mt".into(),
                    msg: format!("prompt {:?} has no `meta` (the source's meaning)", i.prompt),
                })?;
                let m = Meaning::deserialize(meta).map_err(|e| Error::Reward {
                    name: "mt".into(),
                    msg: format!("prompt {:?}: `meta` is not a meaning: {e}", i.prompt),
                })?;
                Ok(score(i.sample, &m))
            })
            .collect()
    }
}
