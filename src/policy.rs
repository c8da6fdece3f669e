//! A policy π: model weights, their shape, and the tokenizer that goes with
//! them, stored together in one checkpoint directory.

use crate::error::Result;
use crate::model::checkpoint::{self, Saved, TrainState};
use crate::model::{ModelConfig, Transformer};
use crate::sample::{self, Generation, SampleOptions, Special};
use crate::tokenizer::Tokenizer;
use burn::prelude::*;
use std::path::Path;

#[derive(Clone)]
pub struct Policy {
    pub cfg: ModelConfig,
    pub model: Transformer,
    pub tok: Tokenizer,
}

impl Policy {
    pub fn new(cfg: ModelConfig, tok: Tokenizer, device: &Device) -> Self {
        Self {
            model: Transformer::new(&cfg, device),
            cfg,
            tok,
        }
    }

    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let tok = Tokenizer::load(&dir.join("tokenizer.json"))?;
        let (cfg, model) = checkpoint::load_model(dir, device)?;
        Ok(Self { cfg, model, tok })
    }

    pub fn save(&self, dir: &Path, state: &TrainState) -> Result<()> {
        let json = self.tok.to_json()?;
        checkpoint::save(
            dir,
            Saved {
                config: &self.cfg,
                model: &self.model,
                optim: None,
                state,
                tokenizer_json: Some(&json),
            },
        )
    }

    /// Trains this policy in place (SFT or an Improve step).
    pub fn fine_tune(
        &mut self,
        data: &[crate::data::Encoded],
        held: &[crate::data::Encoded],
        stage: crate::train::Stage<'_>,
        metrics: &mut crate::report::Metrics,
    ) -> Result<()> {
        let model = self.model.clone();
        self.model =
            crate::train::train(model, &self.cfg, data, held, self.tok.pad, stage, metrics)?;
        Ok(())
    }

    pub fn device(&self) -> Device {
        self.model.embed_tokens.weight.device()
    }

    /// `<bos> prompt <sep>` ids, keeping the last `max_prompt` prompt tokens.
    pub fn prompt_ids(&self, prompt: &str, max_prompt: usize) -> Result<Vec<u32>> {
        let mut ids = self.tok.encode(prompt)?;
        if ids.len() > max_prompt {
            ids.drain(..ids.len() - max_prompt);
        }
        Ok(self.tok.prompt_ids(&ids))
    }

    /// `n` completions per prompt, decoded to text, with their generations.
    pub fn complete(
        &self,
        prompts: &[&str],
        n: usize,
        max_prompt: usize,
        opts: &SampleOptions,
    ) -> Result<Vec<Vec<(String, Generation)>>> {
        let ids = prompts
            .iter()
            .map(|p| self.prompt_ids(p, max_prompt))
            .collect::<Result<Vec<_>>>()?;
        let special = Special {
            eos: self.tok.eos,
            pad: self.tok.pad,
        };
        let gens = sample::generate(&self.model, &self.cfg, &special, &ids, n, opts);
        gens.into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|g| Ok((self.tok.decode(&g.tokens)?, g)))
                    .collect()
            })
            .collect()
    }
}
