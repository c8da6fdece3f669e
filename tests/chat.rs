//! Chat templates rendered as transformers' `apply_chat_template` renders
//! them (fixture: scripts/make_gguf_fixtures.py), and the chat prompt
//! format built on them.

mod common;

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
