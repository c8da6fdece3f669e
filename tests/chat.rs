//! Chat templates rendered as transformers' `apply_chat_template` renders
//! them (fixture: scripts/make_gguf_fixtures.py), and the chat prompt
//! format built on them.

mod common;

use common::hf::instruct_gguf;
use restlm::chat::{self, Message};
use restlm::policy::Policy;
use restlm::tokenizer::PromptFormat;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Deserialize)]
struct Rendered {
    template: String,
    messages: Vec<Msg>,
    add_generation_prompt: bool,
    text: String,
}

#[derive(Deserialize)]
struct Msg {
    role: String,
    content: String,
}

#[derive(Deserialize)]
struct Fixture {
    chat: Vec<Rendered>,
    bos_token: String,
    eos_token: String,
}

fn fixture() -> Fixture {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gguf/smollm2.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn templates_render_as_transformers_renders_them() {
    let f = fixture();
    assert_eq!(f.chat.len(), 8);
    for c in &f.chat {
        let msgs: Vec<Message> = c
            .messages
            .iter()
            .map(|m| Message::new(&m.role, &m.content))
            .collect();
        let got = chat::render(
            &c.template,
            &msgs,
            c.add_generation_prompt,
            &f.bos_token,
            &f.eos_token,
        )
        .unwrap();
        assert_eq!(
            got,
            c.text,
            "{} messages, generation prompt {}",
            msgs.len(),
            c.add_generation_prompt
        );
    }
}

#[test]
fn a_template_that_raises_is_an_error_not_a_panic() {
    let other = &fixture().chat[4].template;
    let e = chat::render(other, &[Message::new("tool", "x")], true, "", "")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown role tool"), "{e}");
    let e = chat::render("{% for %}", &[], true, "", "")
        .unwrap_err()
        .to_string();
    assert!(e.contains("chat template"), "{e}");
}

#[test]
fn chat_format_frames_the_prompt_with_the_template() {
    let f = fixture();
    let template = &f.chat[0].template;
    let dir = common::hf::fixture_dir("llama");
    let mut tok = Policy::load_tokenizer(&dir).unwrap();
    assert!(
        tok.clone().with_format(PromptFormat::Chat).is_err(),
        "no template yet"
    );
    tok.chat_template = Some(template.clone());
    let chat = tok.clone().with_format(PromptFormat::Chat).unwrap();
    for prompt in ["the dog eats bread", "mi vidas la katon"] {
        let text = chat::render(template, &[Message::new("user", prompt)], true, "", "").unwrap();
        let mut want: Vec<u32> = tok.bos.into_iter().collect();
        want.extend(tok.encode(&text).unwrap());
        let p = chat.encode(prompt).unwrap();
        assert_eq!(chat.prompt_ids(&p), want, "{prompt}");
        // Plain is untouched: prompt, then "\n".
        let mut plain: Vec<u32> = tok.bos.into_iter().collect();
        plain.extend(&p);
        plain.extend(&tok.sep);
        assert_eq!(tok.prompt_ids(&p), plain);
    }
    // The format and template travel with the tokenizer's layout.
    let layout = chat.layout();
    assert_eq!(layout.format, PromptFormat::Chat);
    let back =
        restlm::tokenizer::Tokenizer::from_json_with(&chat.to_json().unwrap(), layout).unwrap();
    let p = chat.encode("la hundo").unwrap();
    assert_eq!(back.prompt_ids(&p), chat.prompt_ids(&p));
}

/// Settings of the verbs' runs below: the toy task on the llama fixture.
const VERB_RUN: &str = r#"
seed = 3
device = "cpu"
[data]
task = "toy"
task_train = 12
task_eval = 4
max_prompt_tokens = 24
[sample]
temperature = 1.0
max_new_tokens = 6
batch_size = 12
[sft]
steps = 2
batch_size = 4
eval_every = 2
[improve]
steps = 2
batch_size = 4
eval_every = 2
[rest]
samples_per_prompt = 2
thresholds = [0.0]
[eval]
samples = 1
"#;

/// What a verb wrote, as text: a file's lines without the fields that
/// name paths or times.
fn outputs(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            for key in ["elapsed_s", "tokens_per_s"] {
                v.as_object_mut().map(|o| o.remove(key));
            }
            v.to_string()
        })
        .collect()
}

/// `eval`, `sample`, `grow`, `improve`, `sft`, `run` and `export` given a
/// raw instruct GGUF (plain layout, a chat template inside) and a config
/// with `prompt_format = "chat"` lay prompts out as the chat template does:
/// what they produce equals what they produce from the same model saved
/// in chat format, and differs from the plain layout's.
#[test]
fn every_verb_that_loads_a_raw_gguf_applies_the_configs_prompt_format() {
    let dir = common::Scratch::new("verbs-format");
    instruct_gguf(&dir.join("raw.gguf"), PromptFormat::Plain);
    instruct_gguf(&dir.join("chat.gguf"), PromptFormat::Chat);
    std::fs::write(dir.join("plain.toml"), VERB_RUN).unwrap();
    let chat_cfg = VERB_RUN.to_string() + "[tokenizer]\nprompt_format = \"chat\"\n";
    std::fs::write(dir.join("chat.toml"), chat_cfg).unwrap();
    let restlm = |args: &[&str]| common::restlm_ok(&dir, args);
    // (config, policy) → the verb's output: the raw file in chat format
    // must equal the chat file, and differ from the raw file left plain.
    let cases = [
        ("chat.toml", "raw.gguf", "a"),
        ("plain.toml", "chat.gguf", "b"),
        ("plain.toml", "raw.gguf", "c"),
    ];
    let mut got: Vec<[Vec<String>; 3]> = Vec::new();
    for (cfg, policy, tag) in cases {
        let file = |name: &str| format!("{tag}-{name}");
        let c = ["--config", cfg];
        restlm(
            &[
                &c[..],
                &["eval", "--policy", policy, "--out", &file("eval.jsonl")],
            ]
            .concat(),
        );
        let said = restlm(
            &[
                &c[..],
                &[
                    "sample",
                    "--policy",
                    policy,
                    "--prompt",
                    "the dog eats",
                    "--n",
                    "3",
                    "--seed",
                    "5",
                ],
            ]
            .concat(),
        );
        restlm(
            &[
                &c[..],
                &["grow", "--policy", policy, "--out", &file("grow.jsonl")],
            ]
            .concat(),
        );
        got.push([
            outputs(&dir.join(file("eval.jsonl"))),
            vec![said],
            outputs(&dir.join(file("grow.jsonl"))),
        ]);
        // Verbs that write a policy: it keeps the layout it was trained in.
        let grown = file("grow.jsonl");
        let written = [
            (
                vec![
                    "improve",
                    "--policy",
                    policy,
                    "--grown",
                    &grown,
                    "--threshold",
                    "0",
                ],
                "improve",
            ),
            (vec!["sft", "--init", policy], "sft"),
            (
                vec!["export", "--policy", policy, "--format", "hf"],
                "export",
            ),
        ];
        for (args, verb) in written {
            let out = file(verb);
            restlm(&[&c[..], &args[..], &["--out", &out]].concat());
            let format = Policy::load_tokenizer(&dir.join(&out)).unwrap().format();
            let want = if tag == "c" {
                PromptFormat::Plain
            } else {
                PromptFormat::Chat
            };
            assert_eq!(format, want, "{verb} with {cfg} from {policy}");
        }
        let run = file("run");
        restlm(&[&c[..], &["run", "--init", policy, "--run-dir", &run]].concat());
        let tok = restlm::tokenizer::Tokenizer::load(&dir.join(&run)).unwrap();
        let want = if tag == "c" {
            PromptFormat::Plain
        } else {
            PromptFormat::Chat
        };
        assert_eq!(tok.format(), want, "run with {cfg} from {policy}");
    }
    for (k, verb) in ["eval", "sample", "grow"].iter().enumerate() {
        assert_eq!(
            got[0][k], got[1][k],
            "{verb}: raw + chat config = chat file"
        );
        assert_ne!(got[0][k], got[2][k], "{verb}: chat differs from plain");
    }
}
