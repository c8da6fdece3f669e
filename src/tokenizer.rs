//! A thin layer over Hugging Face `tokenizers`: byte-level BPE trained on
//! the run's data, with four special tokens, or an imported model's own
//! tokenizer. A sequence is laid out as `[bos] prompt sep target eos`,
//! right-padded with `pad`; [`Layout`] says which ids those are.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tokenizers::models::TrainerWrapper;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, Tokenizer as HfTokenizer};

pub const PAD: &str = "<pad>";
pub const BOS: &str = "<bos>";
pub const EOS: &str = "<eos>";
pub const SEP: &str = "<sep>";

/// The file beside `tokenizer.json` that records the [`Layout`].
pub const LAYOUT_FILE: &str = "tokens.json";

/// The ids that frame a record. For restlm's own tokenizer these are the
/// four special tokens; for an imported model, its bos (if its tokenizer
/// adds one), its eos, and the encoding of "\n" as the separator: the
/// plain prompt format `prompt\ntarget<eos>`. In the chat format the
/// prompt is instead one user turn of the model's chat template, followed
/// by its generation prompt, and the target is the assistant's reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    pub bos: Option<u32>,
    pub sep: Vec<u32>,
    pub eos: u32,
    pub pad: u32,
    #[serde(default)]
    pub format: PromptFormat,
    /// The model's Jinja chat template, kept with the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_template: Option<String>,
}

/// How a prompt is laid out before its target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PromptFormat {
    /// `[bos] prompt sep target eos`.
    #[default]
    Plain,
    /// `[bos] <template before the user's words> prompt <template after,
    /// generation prompt included> target eos`.
    Chat,
}

#[derive(Clone)]
pub struct Tokenizer {
    inner: HfTokenizer,
    pub pad: u32,
    pub bos: Option<u32>,
    pub eos: u32,
    pub sep: Vec<u32>,
    /// The model's chat template, if it has one (set it before choosing
    /// the chat format).
    pub chat_template: Option<String>,
    /// The chat template's ids before and after the user's words: present
    /// exactly in the chat format.
    frame: Option<(Vec<u32>, Vec<u32>)>,
    /// The ids of "a\n", when the tokenizer marks where text starts
    /// (SentencePiece's ▁), so that text encodes one way alone and another
    /// after a line: what [`Tokenizer::encode_target`] encodes text after.
    line: Option<Vec<u32>>,
}

fn tk_err(e: impl std::fmt::Display) -> Error {
    Error::Tokenizer(e.to_string())
}

/// Parses a `tokenizer.json` text. The `tokenizers` crate panics on some
/// malformed files (a truncated `decoder`, for one), so the text is checked
/// to be JSON first, and a panic that still escapes is caught.
fn parse(json: &str) -> Result<HfTokenizer> {
    let not = |e: String| Error::Tokenizer(format!("not a tokenizer.json: {e}"));
    serde_json::from_str::<serde_json::Value>(json).map_err(|e| not(e.to_string()))?;
    match std::panic::catch_unwind(|| json.parse::<HfTokenizer>()) {
        Ok(parsed) => parsed.map_err(|e| not(e.to_string())),
        Err(_) => Err(not("the tokenizers library could not read it".into())),
    }
}

impl Tokenizer {
    /// Trains a byte-level BPE with `vocab_size` entries (specials included)
    /// on `texts`, digits split one by one. Any byte sequence stays
    /// encodable: the 256 byte symbols are always in the vocabulary.
    pub fn train<S: AsRef<str> + Send + Sync>(texts: &[S], vocab_size: usize) -> Result<Self> {
        let specials: Vec<AddedToken> = [PAD, BOS, EOS, SEP]
            .iter()
            .map(|t| AddedToken::from(t.to_string(), true))
            .collect();
        let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
            .show_progress(false)
            .vocab_size(vocab_size)
            .min_frequency(2)
            .special_tokens(specials)
            .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
            .build()
            .into();
        let mut inner = HfTokenizer::new(BPE::default());
        // Every digit its own token, so numbers are read and written digit
        // by digit (arithmetic cannot be learnt over merged number tokens).
        inner.with_pre_tokenizer(Some(Sequence::new(vec![
            PreTokenizerWrapper::Digits(Digits::new(true)),
            PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, true, true)),
        ])));
        inner.with_decoder(Some(ByteLevel::default()));
        inner
            .train(&mut trainer, texts.iter().map(|s| s.as_ref()))
            .map_err(tk_err)?;
        Self::from_hf(inner)
    }

    /// `dir/tokenizer.json`, with the layout from `dir/tokens.json` when
    /// present, else restlm's four special tokens.
    pub fn load(dir: &Path) -> Result<Self> {
        let layout_path = dir.join(LAYOUT_FILE);
        let layout = if layout_path.exists() {
            Some(crate::io::read_json(&layout_path)?)
        } else {
            None
        };
        Self::load_with(dir, layout)
    }

    /// `dir/tokenizer.json` with an explicit layout (None: restlm's specials).
    pub fn load_with(dir: &Path, layout: Option<Layout>) -> Result<Self> {
        Self::load_file(&dir.join("tokenizer.json"), layout)
    }

    /// A `tokenizer.json` file with an explicit layout (None: restlm's specials).
    /// Every error names the file.
    pub fn load_file(path: &Path, layout: Option<Layout>) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let tok = match layout {
            Some(layout) => Self::from_json_with(&text, layout),
            None => Self::from_json(&text),
        };
        tok.map_err(|e| match e {
            Error::Tokenizer(m) => Error::file(path, m),
            other => other,
        })
    }

    pub fn from_json(json: &str) -> Result<Self> {
        Self::from_hf(parse(json)?)
    }

    /// A `tokenizer.json` text with an explicit layout.
    pub fn from_json_with(json: &str, layout: Layout) -> Result<Self> {
        Self::with_layout(parse(json)?, layout)
    }

    pub fn to_json(&self) -> Result<String> {
        self.inner.to_string(false).map_err(tk_err)
    }

    /// Writes `dir/tokenizer.json` and `dir/tokens.json`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        crate::io::write_atomic(&dir.join("tokenizer.json"), self.to_json()?.as_bytes())?;
        crate::io::write_json_atomic(&dir.join(LAYOUT_FILE), &self.layout())
    }

    pub fn layout(&self) -> Layout {
        Layout {
            bos: self.bos,
            sep: self.sep.clone(),
            eos: self.eos,
            pad: self.pad,
            format: self.format(),
            chat_template: self.chat_template.clone(),
        }
    }

    fn with_layout(inner: HfTokenizer, l: Layout) -> Result<Self> {
        let tok = Self {
            line: line_before_text(&inner)?,
            inner,
            pad: l.pad,
            bos: l.bos,
            eos: l.eos,
            sep: l.sep,
            chat_template: l.chat_template,
            frame: None,
        };
        tok.with_format(l.format)
    }

    /// This tokenizer with prompts laid out in `format`; the chat format
    /// needs a chat template.
    pub fn with_format(mut self, format: PromptFormat) -> Result<Self> {
        self.frame = match format {
            PromptFormat::Plain => None,
            PromptFormat::Chat => {
                let template = self.chat_template.as_deref().ok_or_else(|| {
                    Error::Tokenizer(
                        "prompt_format = \"chat\" but this policy has no chat template".into(),
                    )
                })?;
                let token = |id: Option<u32>| id.and_then(|i| self.token(i)).unwrap_or_default();
                let (before, after) =
                    crate::chat::frame(template, &token(self.bos), &token(Some(self.eos)))?;
                let mut before = self.encode(&before)?;
                // A template that writes bos itself: do not add a second.
                if self.bos.is_some() && before.first() == self.bos.as_ref() {
                    before.remove(0);
                }
                Some((before, self.encode_continuation(&after)?))
            }
        };
        Ok(self)
    }

    /// How prompts are laid out.
    pub fn format(&self) -> PromptFormat {
        match self.frame {
            Some(_) => PromptFormat::Chat,
            None => PromptFormat::Plain,
        }
    }

    fn from_hf(inner: HfTokenizer) -> Result<Self> {
        let id = |t: &str| {
            inner
                .token_to_id(t)
                .ok_or_else(|| Error::Tokenizer(format!("special token {t} missing")))
        };
        Ok(Self {
            pad: id(PAD)?,
            bos: Some(id(BOS)?),
            eos: id(EOS)?,
            sep: vec![id(SEP)?],
            chat_template: None,
            frame: None,
            line: line_before_text(&inner)?,
            inner,
        })
    }

    /// The plain-format layout for an imported model's tokenizer: its own
    /// bos if its post-processor adds one, `eos` and `pad` as its config
    /// gives them, and "\n" between prompt and target.
    pub fn imported(dir: &Path, eos: u32, pad: u32) -> Result<Self> {
        let path = dir.join("tokenizer.json");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let inner = parse(&text).map_err(|e| Error::file(&path, e))?;
        let with_specials = inner.encode("", true).map_err(tk_err)?;
        let bos = with_specials.get_ids().first().copied();
        let sep = newline_ids(&inner)?;
        if sep.is_empty() {
            return Err(Error::file(&path, "encodes \"\\n\" as nothing"));
        }
        let chat_template = read_chat_template(&dir.join("tokenizer_config.json"))?;
        Self::with_layout(
            inner,
            Layout {
                bos,
                sep,
                eos,
                pad,
                chat_template,
                ..Layout::default()
            },
        )
    }

    /// "\n" as it follows text: the plain format's separator.
    pub fn newline(&self) -> Result<Vec<u32>> {
        newline_ids(&self.inner)
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        ids(&self.inner, text)
    }

    /// A prompt's ids: as text starts (the plain format, where only bos
    /// precedes it) or as it follows the chat template's words before it.
    pub fn encode_prompt(&self, text: &str) -> Result<Vec<u32>> {
        match self.frame {
            Some(_) => self.encode_continuation(text),
            None => self.encode(text),
        }
    }

    /// A target's or a sample's ids, as they follow the prompt: so that
    /// the ids of a sample's decoded text are the ids that were sampled,
    /// and a record's sequence is how the tokenizer encodes its whole text.
    pub fn encode_target(&self, text: &str) -> Result<Vec<u32>> {
        self.encode_continuation(text)
    }

    /// `text` as it follows a line of text. A SentencePiece tokenizer
    /// starts text with its word-start marker, which it does not put after
    /// a newline ("Hello" is `▁Hello`, "a\nHello" is `▁a <0x0A> Hello`): the
    /// ids are those "a\n" + text adds to "a\n", when they extend them.
    /// Other tokenizers encode both alike.
    fn encode_continuation(&self, text: &str) -> Result<Vec<u32>> {
        match &self.line {
            Some(line) => match added_ids(&self.inner, LINE, line, text)? {
                Some(rest) => Ok(rest),
                None => self.encode(text),
            },
            None => self.encode(text),
        }
    }

    /// The token string of `id`, if there is one.
    pub fn token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// Text of `ids`, special tokens dropped.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, true).map_err(tk_err)
    }

    /// A generated sample's text: [`Tokenizer::decode`] less the U+FFFD
    /// that a sample cut at the length limit inside a multi-byte character
    /// ends with (byte-level tokens: the character's last bytes were never
    /// generated). Characters before the cut are kept as they are.
    pub fn decode_sample(&self, ids: &[u32]) -> Result<String> {
        let text = self.decode(ids)?;
        Ok(text.trim_end_matches('\u{FFFD}').to_string())
    }

    /// `[bos] prompt sep` (or the chat frame around the prompt): what
    /// generation starts from.
    pub fn prompt_ids(&self, prompt: &[u32]) -> Vec<u32> {
        let (before, after): (&[u32], &[u32]) = match &self.frame {
            Some((b, a)) => (b, a),
            None => (&[], &self.sep),
        };
        let mut ids = Vec::with_capacity(1 + before.len() + prompt.len() + after.len());
        ids.extend(self.bos);
        ids.extend_from_slice(before);
        ids.extend_from_slice(prompt);
        ids.extend_from_slice(after);
        ids
    }
}

/// The ids of "\n" as they follow text: what the plain format puts between
/// prompt and target. Encoded alone, a SentencePiece tokenizer would start
/// "\n" with its word-start marker (Llama: `▁ <0x0A>`, where "a\n" is
/// `▁a <0x0A>`), so the ids are those "a\n" adds to "a" when it extends
/// them, and "\n" alone otherwise.
fn newline_ids(inner: &HfTokenizer) -> Result<Vec<u32>> {
    match added_ids(inner, "a", &ids(inner, "a")?, "\n")? {
        Some(rest) if !rest.is_empty() => Ok(rest),
        _ => ids(inner, "\n"),
    }
}

/// The line that [`Tokenizer::encode_target`] encodes text after.
const LINE: &str = "a\n";

/// The ids of [`LINE`] when "\n" encodes otherwise alone than after text:
/// the mark of a tokenizer that marks where text starts. None otherwise.
fn line_before_text(inner: &HfTokenizer) -> Result<Option<Vec<u32>>> {
    if newline_ids(inner)? == ids(inner, "\n")? {
        return Ok(None);
    }
    Ok(Some(ids(inner, LINE)?))
}

/// `text`'s ids, no special tokens added.
fn ids(inner: &HfTokenizer, text: &str) -> Result<Vec<u32>> {
    Ok(inner
        .encode(text, false)
        .map_err(tk_err)?
        .get_ids()
        .to_vec())
}

/// The ids `text` adds after `before` (whose ids are `before_ids`), when
/// the ids of `before + text` extend those of `before`; None when the two
/// merge across the seam.
fn added_ids(
    inner: &HfTokenizer,
    before: &str,
    before_ids: &[u32],
    text: &str,
) -> Result<Option<Vec<u32>>> {
    let whole = ids(inner, &format!("{before}{text}"))?;
    Ok(whole.strip_prefix(before_ids).map(<[u32]>::to_vec))
}

/// `chat_template` of a Hugging Face `tokenizer_config.json`, if the file
/// exists and has one: a string, or a list of named templates of which
/// "default" is used.
pub fn read_chat_template(path: &Path) -> Result<Option<String>> {
    if !path.exists() {
        return Ok(None);
    }
    let v: serde_json::Value = crate::io::read_json(path)?;
    Ok(match v.get("chat_template") {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Array(named)) => named
            .iter()
            .find(|t| t["name"] == "default")
            .and_then(|t| t["template"].as_str())
            .map(String::from),
        _ => None,
    })
}
