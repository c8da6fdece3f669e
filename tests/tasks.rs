//! The embedded tasks and their verifiers: hand-written correct, incorrect
//! and malformed outputs get the rewards the rules say.

use restlm::data::task::mt::{self, Meaning, NounPhrase};
use restlm::data::task::{TaskKind, arith};
use restlm::reward::{ArithVerifier, Item, MtVerifier, Reward, mt_score};
use std::collections::HashSet;

fn np(noun: &str, plural: bool, definite: bool, adjective: Option<&str>) -> NounPhrase {
    NounPhrase {
        noun: noun.into(),
        plural,
        definite,
        adjective: adjective.map(str::to_string),
    }
}

/// "the big dog sees a red bird"
fn dog_sees_bird() -> Meaning {
    Meaning {
        subject: np("dog", false, true, Some("big")),
        verb: "sees".into(),
        object: np("bird", false, false, Some("red")),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn every_licensed_order_article_and_adjective_position_scores_100() {
    let m = dog_sees_bird();
    assert_eq!(mt::english(&m), "the big dog sees a red bird");
    for t in [
        "la hundo granda birdon ruĝan vidas",
        "la hundo granda vidas birdon ruĝan",
        "birdon ruĝan la hundo granda vidas",
        "la granda hundo ruĝan birdon vidas",
        "hundo granda birdon ruĝan vidas",
        "granda hundo vidas ruĝan birdon",
    ] {
        assert!(close(mt_score(t, &m), 100.0), "{t}: {}", mt_score(t, &m));
    }
    let all = mt::translations(&m);
    // 3 orders × (2 articles × 2 adjective places) × (1 × 2) for the object.
    assert_eq!(all.len(), 3 * 4 * 2);
    assert!(all.iter().all(|t| close(mt_score(t, &m), 100.0)));
}

#[test]
fn synonyms_plurals_and_generated_translations_all_verify() {
    let m = Meaning {
        subject: np("child", true, true, Some("happy")),
        verb: "likes".into(),
        object: np("farmer", true, true, None),
    };
    for t in [
        "la infanoj feliĉaj la kamparanojn ŝatas",
        "idoj ĝojaj amas farmistojn",
        "la farmistojn la ĝojaj idoj amas",
    ] {
        assert!(close(mt_score(t, &m), 100.0), "{t}");
    }
    let (train, eval) = mt::generate(60, 20, 0.5, 4);
    for r in train.iter().chain(&eval) {
        let meaning: Meaning = serde_json::from_value(r.meta.clone().unwrap()).unwrap();
        for t in mt::translations(&meaning).iter().chain(&r.references) {
            assert!(close(mt_score(t, &meaning), 100.0), "{t} for {}", r.prompt);
        }
    }
}

#[test]
fn wrong_meaning_and_malformed_outputs_lose_what_the_rules_say() {
    let m = dog_sees_bird();
    let cases = [
        // One fact of 8 wrong, well-formed: 100 · 7/8.
        ("la kato granda birdon ruĝan vidas", 87.5), // wrong noun
        ("la hundoj grandaj birdon ruĝan vidas", 87.5), // wrong number
        ("la hundo birdon ruĝan vidas", 87.5),       // adjective missing
        ("la hundo granda birdon ruĝan manĝas", 87.5), // wrong verb
        ("la hundo granda la birdon ruĝan vidas", 87.5), // article on "a red bird"
        // Roles swapped by case: nouns and adjectives wrong, and "la" now
        // opens the indefinite object: 3 of 8 right.
        ("la hundon grandan birdo ruĝa vidas", 37.5),
        // An adjective agreeing with no neighbour: adjective facts off for
        // the subject and object (6/8), and one check of 5 fails (4/5).
        (
            "la hundo grandan birdon ruĝan vidas",
            100.0 * 6.0 / 8.0 * 4.0 / 5.0,
        ),
        // An unknown word and no verb: 2 checks of 5 fail; verb fact off.
        (
            "la hundo granda birdon ruĝan xyz",
            100.0 * 7.0 / 8.0 * 3.0 / 5.0,
        ),
        ("", 0.0),
        ("la la la", 0.0),
        // Only the verb conveyed (1/8); two verbs and no nouns (3/5).
        ("vidas vidas", 100.0 / 8.0 * 3.0 / 5.0),
    ];
    for (t, want) in cases {
        let got = mt_score(t, &m);
        assert!(close(got, want), "{t:?}: {got} (expected {want})");
    }
}

#[test]
fn mt_verifier_needs_the_meaning() {
    let item = Item {
        prompt: "the dog sees a cat",
        sample: "hundo katon vidas",
        references: &[],
        meta: None,
    };
    let e = MtVerifier.score(&[item]).unwrap_err().to_string();
    assert!(
        e.contains("no `meta`") && e.contains("the dog sees a cat"),
        "{e}"
    );
}

#[test]
fn mt_task_labels_a_fraction_and_covers_the_lexicon() {
    let (train, eval) = TaskKind::Mt.generate(400, 64, 0.15, 1);
    let labeled: Vec<_> = train.iter().filter(|r| r.target.is_some()).collect();
    assert!(
        labeled.len() >= 60 && labeled.len() < 80,
        "{}",
        labeled.len()
    );
    assert!(
        train
            .iter()
            .filter(|r| r.target.is_none())
            .all(|r| r.is_prompt_only())
    );
    let words: HashSet<String> = labeled
        .iter()
        .flat_map(|r| r.target.as_deref().unwrap().split_whitespace())
        .map(|w| w.trim_end_matches(['j', 'n']).to_string())
        .collect();
    for w in mt::lexicon() {
        assert!(words.contains(&w), "{w} missing from the labeled part");
    }
    let prompts: HashSet<&str> = train
        .iter()
        .chain(&eval)
        .map(|r| r.prompt.as_str())
        .collect();
    assert_eq!(prompts.len(), 464, "prompts are distinct");
    assert!(
        eval.iter()
            .all(|r| r.references.len() > 1 && r.references[0] == *r.target.as_ref().unwrap())
    );
}

fn arith_item<'a>(sample: &'a str, meta: &'a serde_json::Value) -> Item<'a> {
    Item {
        prompt: "23+57+41",
        sample,
        references: &[],
        meta: Some(meta),
    }
}

#[test]
fn arith_verifier_checks_the_answer_and_its_second_metric_every_step() {
    let terms = [23, 57, 41];
    assert_eq!(arith::prompt(&terms), "23+57+41");
    assert_eq!(arith::trace(&terms), "23>80>121=121");
    let meta = serde_json::json!({"terms": terms, "answer": 121});
    let steps = ArithVerifier.second_metric().unwrap();
    let cases = [
        ("23>80>121=121", 100.0, 100.0),
        (" 23>80>121=121 ", 100.0, 100.0),
        ("121", 100.0, 0.0),           // right answer, no working
        ("23>81>121=121", 100.0, 0.0), // right answer, wrong step
        ("23>80>121", 100.0, 0.0),     // no `=`: the last number is the answer
        ("23>80>121=120", 0.0, 0.0),
        ("23>80=80", 0.0, 0.0),
        ("", 0.0, 0.0),
        ("=abc", 0.0, 0.0),
    ];
    for (sample, reward, right) in cases {
        let item = arith_item(sample, &meta);
        assert_eq!(
            ArithVerifier.score(&[item]).unwrap(),
            vec![reward],
            "{sample:?}"
        );
        assert_eq!((steps.score)(&item), right, "{sample:?}");
    }
    let no_key = serde_json::json!({"terms": terms});
    let e = ArithVerifier
        .score(&[arith_item("1", &no_key)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("meta.answer"), "{e}");
}

#[test]
fn arith_verifier_finds_the_answer_where_an_instruct_reply_puts_it() {
    let meta = serde_json::json!({"terms": [23, 57, 41], "answer": 121});
    let cases = [
        ("23>80>121=121", 100.0),
        ("23 + 57 = 80, 80 + 41 = 121", 100.0),
        ("23 + 57 = 80\n80 + 41 = 121\nSo the sum is = 121.", 100.0),
        (
            "The running sums are 23, 80 and 121. The answer is 121.",
            100.0,
        ),
        ("**Answer:** 121", 100.0),
        ("The answer is: $121$", 100.0),
        ("I added them up and got 121", 100.0),
        ("The answer is 121. Check: 121 - 41 = 80", 100.0), // the stated answer wins
        // Two different final answers: never credited, whichever is right.
        ("The answer is 121. Wait, the answer is 131.", 0.0),
        ("The answer is 131. No, the answer is 121.", 0.0),
        ("Answer: 121\nAnswer: 120", 0.0),
        ("The answer is 121, so the answer is 121.", 100.0), // the same twice
        ("23 + 57 = 80, 80 + 41 = 120", 0.0),
        ("I cannot add these numbers.", 0.0),
        ("The answer is unknown, but = 121", 100.0), // a statement without a number states none
        ("", 0.0),
        ("= -121", 0.0),
        ("The answer is -121", 0.0),
        ("121000000000000000000000000000000", 0.0), // past i64: not a number
        ("1,21", 0.0),
        ("= 1,21", 0.0),
    ];
    for (sample, reward) in cases {
        let item = arith_item(sample, &meta);
        assert_eq!(
            ArithVerifier.score(&[item]).unwrap(),
            vec![reward],
            "{sample:?}"
        );
    }
    let thousands = serde_json::json!({"terms": [999, 235], "answer": 1234});
    for sample in ["= 1,234", "The answer is 1,234.", "it is 1234"] {
        let item = arith_item(sample, &thousands);
        assert_eq!(
            ArithVerifier.score(&[item]).unwrap(),
            vec![100.0],
            "{sample:?}"
        );
    }
}

#[test]
fn arith_task_takes_its_shape_and_reads_as_a_question_for_an_instruct_model() {
    use restlm::config::{RunConfig, Span};
    use restlm::data::task::Phrasing;
    let shape = arith::Shape {
        terms: (3, 4),
        digits: (1, 2),
    };
    let (train, eval) = arith::generate_shaped(300, 50, 0.2, 3, shape);
    let mut lengths = std::collections::BTreeSet::new();
    let mut one_digit = false;
    for r in train.iter().chain(&eval) {
        let terms: Vec<u32> =
            serde_json::from_value(r.meta.as_ref().unwrap()["terms"].clone()).unwrap();
        lengths.insert(terms.len());
        assert!(terms.iter().all(|&t| t <= 99), "{terms:?}");
        one_digit |= terms.iter().any(|&t| t <= 9);
    }
    assert_eq!(lengths, [3, 4].into());
    assert!(one_digit);
    assert_eq!(
        arith::question(&[23, 57, 41]),
        "What is 23 + 57 + 41? Show the running sums, then give the answer after '='."
    );
    // Through the config: chat format asks questions; the target stays the trace.
    let mut cfg: RunConfig = toml::from_str(
        "[data]\ntask = \"arith\"\nterms = [3, 4]\ndigits = [1, 2]\ntask_train = 100\ntask_eval = 20\n\
         [tokenizer]\nprompt_format = \"chat\"",
    )
    .unwrap();
    assert_eq!(cfg.data.terms, Some(Span(3, 4)));
    let (train, _) = restlm::rest::setup::load_data(&cfg).unwrap();
    let labeled = train.iter().find(|r| r.target.is_some()).unwrap();
    let terms: Vec<u32> =
        serde_json::from_value(labeled.meta.as_ref().unwrap()["terms"].clone()).unwrap();
    assert_eq!(labeled.prompt, arith::question(&terms));
    assert_eq!(
        labeled.target.as_deref(),
        Some(arith::trace(&terms).as_str())
    );
    cfg.data.phrasing = Some(Phrasing::Plain);
    let (plain, _) = restlm::rest::setup::load_data(&cfg).unwrap();
    assert_eq!(
        plain[0].prompt,
        arith::prompt(
            &serde_json::from_value::<Vec<u32>>(plain[0].meta.as_ref().unwrap()["terms"].clone())
                .unwrap()
        )
    );
    // A shape too small for the sizes asked is a named error, not a hang.
    cfg.data.terms = Some(Span(2, 2));
    cfg.data.digits = Some(Span(1, 1));
    let e = cfg.validate().unwrap_err().to_string();
    assert!(e.contains("100 distinct sums") && e.contains("120"), "{e}");
    cfg.data.digits = Some(Span(3, 2));
    let e = cfg.validate().unwrap_err().to_string();
    assert!(e.contains("data.digits"), "{e}");
}

#[test]
fn arith_task_has_answer_keys_everywhere_and_traces_for_a_few() {
    let (train, eval) = TaskKind::Arith.generate(2000, 200, 0.075, 1);
    assert_eq!(train.iter().filter(|r| r.target.is_some()).count(), 150);
    for r in train.iter().chain(&eval) {
        let terms: Vec<u32> =
            serde_json::from_value(r.meta.as_ref().unwrap()["terms"].clone()).unwrap();
        assert!((2..=6).contains(&terms.len()) && terms.iter().all(|t| (10..=99).contains(t)));
        assert_eq!(r.prompt, arith::prompt(&terms));
        assert_eq!(
            r.meta.as_ref().unwrap()["answer"],
            terms.iter().sum::<u32>()
        );
        if let Some(t) = &r.target {
            assert_eq!(*t, arith::trace(&terms));
        }
    }
}
