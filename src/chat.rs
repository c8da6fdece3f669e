//! Chat templates: an instruct model's Jinja `chat_template` (from
//! `tokenizer_config.json` or GGUF's `tokenizer.chat_template`) rendered
//! with minijinja under the settings `transformers`' `apply_chat_template`
//! uses (trim_blocks, lstrip_blocks, Python string methods,
//! `raise_exception`).
//!
//! A ReST prompt becomes one user turn followed by the generation prompt;
//! the target is the assistant's reply, ended by the model's eos (its
//! end-of-turn token). [`frame`] renders the template once around a marker
//! to find the text before and after the user's words, so prompts are
//! tokenized as before and framed by fixed token ids.
//!
//! A template comes from a file somebody downloaded, so rendering is
//! bounded: [`FUEL`] instructions, [`RECURSION`] levels and [`MAX_OUTPUT`]
//! bytes, each a named error. (Not bounded: a string that one expression
//! builds up to minijinja's 100 MB repeat limit, or concatenates beyond.)

use crate::error::{Error, Result};
use minijinja::{Environment, ErrorKind, Value};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: &str, content: &str) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// Template instructions one render may run: real chat templates take a
/// few thousand for a conversation of one turn.
pub const FUEL: u64 = 1_000_000;
/// Nesting of loops, macro calls and includes.
pub const RECURSION: usize = 100;
/// Longest rendering in bytes.
pub const MAX_OUTPUT: usize = 1 << 20;

/// A writer that refuses past [`MAX_OUTPUT`] bytes.
struct Bounded(Vec<u8>);

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_OUTPUT {
            return Err(std::io::Error::other("output too long"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn raise_exception(msg: String) -> std::result::Result<Value, minijinja::Error> {
    Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
}

/// Renders `template` for `messages`, as `apply_chat_template(messages,
/// tokenize=False, add_generation_prompt=…)` does.
pub fn render(
    template: &str,
    messages: &[Message],
    add_generation_prompt: bool,
    bos_token: &str,
    eos_token: &str,
) -> Result<String> {
    let fail = |e: minijinja::Error| {
        let why = match e.kind() {
            ErrorKind::OutOfFuel => format!(
                "stopped after {FUEL} instructions (a loop or recursion that does not end soon)"
            ),
            ErrorKind::WriteFailure => format!("its output passed {MAX_OUTPUT} bytes"),
            _ if e.to_string().contains("recursion limit") => {
                format!("nested deeper than {RECURSION} levels")
            }
            _ => format!("{e:#}"),
        };
        Error::Tokenizer(format!("chat template: {why}"))
    };
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(RECURSION);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.add_function("raise_exception", raise_exception);
    env.add_template("chat", template).map_err(fail)?;
    let ctx = minijinja::context! {
        messages => messages,
        add_generation_prompt => add_generation_prompt,
        bos_token => bos_token,
        eos_token => eos_token,
    };
    let mut out = Bounded(Vec::new());
    env.get_template("chat")
        .and_then(|t| t.render_captured_to(ctx, &mut out).map(drop))
        .map_err(fail)?;
    String::from_utf8(out.0).map_err(|_| Error::Tokenizer("chat template: not UTF-8".into()))
}

/// Stands for the user's words while the template is rendered once.
const MARKER: &str = "RESTLMPROMPTMARKER";

/// The text before and after a single user turn's content, generation
/// prompt included: `render([user: p]) == before + p + after` for every p.
pub fn frame(template: &str, bos_token: &str, eos_token: &str) -> Result<(String, String)> {
    let text = render(
        template,
        &[Message::new("user", MARKER)],
        true,
        bos_token,
        eos_token,
    )?;
    let mut parts = text.split(MARKER);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(before), Some(after), None) => Ok((before.to_string(), after.to_string())),
        _ => Err(Error::Tokenizer(
            "chat template: a user message's content does not appear exactly once in what it renders".into(),
        )),
    }
}
