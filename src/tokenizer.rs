//! A thin layer over Hugging Face `tokenizers`: byte-level BPE trained on
//! the run's data, with four special tokens. A sequence is laid out as
//! `<bos> prompt <sep> target <eos>`, right-padded with `<pad>`.

use crate::error::{Error, Result};
use std::path::Path;
use tokenizers::models::TrainerWrapper;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer as HfTokenizer};

pub const PAD: &str = "<pad>";
pub const BOS: &str = "<bos>";
pub const EOS: &str = "<eos>";
pub const SEP: &str = "<sep>";

#[derive(Clone)]
pub struct Tokenizer {
    inner: HfTokenizer,
    pub pad: u32,
    pub bos: u32,
    pub eos: u32,
    pub sep: u32,
}

fn tk_err(e: impl std::fmt::Display) -> Error {
    Error::Tokenizer(e.to_string())
}

impl Tokenizer {
    /// Trains a byte-level BPE with `vocab_size` entries (specials included)
    /// on `texts`. Any byte sequence stays encodable: the 256 byte symbols
    /// are always in the vocabulary.
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
        inner.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
        inner.with_decoder(Some(ByteLevel::default()));
        inner
            .train(&mut trainer, texts.iter().map(|s| s.as_ref()))
            .map_err(tk_err)?;
        Self::from_hf(inner)
    }

    pub fn load(path: &Path) -> Result<Self> {
        let inner = HfTokenizer::from_file(path)
            .map_err(|e| Error::file(path, format!("not a tokenizer.json: {e}")))?;
        Self::from_hf(inner)
    }

    pub fn from_json(json: &str) -> Result<Self> {
        Self::from_hf(json.parse::<HfTokenizer>().map_err(tk_err)?)
    }

    pub fn to_json(&self) -> Result<String> {
        self.inner.to_string(false).map_err(tk_err)
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        crate::io::write_atomic(path, self.to_json()?.as_bytes())
    }

    fn from_hf(inner: HfTokenizer) -> Result<Self> {
        let id = |t: &str| {
            inner
                .token_to_id(t)
                .ok_or_else(|| Error::Tokenizer(format!("special token {t} missing")))
        };
        Ok(Self {
            pad: id(PAD)?,
            bos: id(BOS)?,
            eos: id(EOS)?,
            sep: id(SEP)?,
            inner,
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.inner.encode(text, false).map_err(tk_err)?;
        Ok(enc.get_ids().to_vec())
    }

    /// Text of `ids`, special tokens dropped.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, true).map_err(tk_err)
    }

    /// `<bos> prompt <sep>`: what generation starts from.
    pub fn prompt_ids(&self, prompt: &[u32]) -> Vec<u32> {
        let mut ids = Vec::with_capacity(prompt.len() + 2);
        ids.push(self.bos);
        ids.extend_from_slice(prompt);
        ids.push(self.sep);
        ids
    }
}
