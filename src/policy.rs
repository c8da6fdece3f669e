//! A policy π: model weights, their shape, and the tokenizer that goes with
//! them, stored together in one checkpoint directory.

use crate::error::Result;
use crate::model::checkpoint::{self, Saved, TrainState};
use crate::model::{LoraConfig, ModelConfig, Transformer};
use crate::model::{gguf, hf};
use crate::sample::{self, Generation, SampleOptions, Special};
use crate::tokenizer::{LAYOUT_FILE, Tokenizer};
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

    /// A restlm checkpoint, a Hugging Face model directory or a GGUF file
    /// (both imported).
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        Self::load_as(dir, None, device)
    }

    /// [`Policy::load`] with its prompts laid out in `format` when given
    /// (the config's `tokenizer.prompt_format`), else in the policy's own:
    /// what every verb that loads a policy does, so that a raw instruct
    /// model is evaluated, sampled, grown and trained as the loop sees it.
    pub fn load_as(
        path: &Path,
        format: Option<crate::tokenizer::PromptFormat>,
        device: &Device,
    ) -> Result<Self> {
        Self::load_base(path, format, None, device)
    }

    /// [`Policy::load_as`] for a policy that `lora`'s adapters will be
    /// attached to: its projections read straight into the quantised
    /// blocks `lora.base_dtype` asks for (the f32 model never whole in
    /// memory).
    pub fn load_base(
        path: &Path,
        format: Option<crate::tokenizer::PromptFormat>,
        lora: Option<&LoraConfig>,
        device: &Device,
    ) -> Result<Self> {
        let tok = Self::load_tokenizer_as(path, format)?;
        let quant = lora.and_then(|l| l.base_dtype.quant_kind());
        let (cfg, model) = crate::model::checkpoint::load_any(path, quant, device)?;
        Ok(Self { cfg, model, tok })
    }

    /// [`Policy::load_tokenizer`] laid out in `format` when given.
    pub fn load_tokenizer_as(
        path: &Path,
        format: Option<crate::tokenizer::PromptFormat>,
    ) -> Result<Tokenizer> {
        with_format(Self::load_tokenizer(path)?, format, path)
    }

    /// A checkpoint's files given as contents rather than paths (the
    /// browser demo fetches them): `config.json`, `model.bpk`,
    /// `tokenizer.json`, `tokens.json`.
    pub fn from_bytes(
        config_json: &str,
        model_bpk: Vec<u8>,
        tokenizer_json: &str,
        tokens_json: &str,
        device: &Device,
    ) -> Result<Self> {
        let (cfg, model, tok) =
            checkpoint::from_bytes(config_json, model_bpk, tokenizer_json, tokens_json, device)?;
        Ok(Self { cfg, model, tok })
    }

    /// A GGUF file opened or given as its contents (the browser page's
    /// picked file), laid out in `format` when given; its projections held
    /// as `quant` blocks when asked.
    pub fn from_gguf(
        file: &gguf::GgufFile,
        format: Option<crate::tokenizer::PromptFormat>,
        quant: Option<crate::cpu::quant::QuantKind>,
        device: &Device,
    ) -> Result<Self> {
        let tok = with_format(gguf::tokenizer(file)?, format, &file.path)?;
        let (cfg, model) = gguf::load_file(file, quant, device)?;
        Ok(Self { cfg, model, tok })
    }

    /// [`Policy::export_gguf`]'s file as bytes.
    pub fn gguf_bytes(&self, enc: gguf::Encoding) -> Result<Vec<u8>> {
        let p = self.merged();
        gguf::export_bytes(&p.cfg, &p.model, &p.tok, enc)
    }

    /// The LoRA adapters alone as a checkpoint directory's files
    /// ([`checkpoint::adapter_files`]) on the base `base` (a path, relative
    /// to the directory, and the hash of the base file's bytes): what the
    /// browser page downloads; `restlm sample --policy DIR` loads it with
    /// the base file in place.
    pub fn adapter_files(&self, base: crate::model::BaseRef) -> Result<Vec<(String, Vec<u8>)>> {
        checkpoint::adapter_files(
            &self.cfg,
            &self.model,
            &self.tok,
            base,
            &TrainState::default(),
        )
    }

    /// This policy with its weights on the CPU, read back without
    /// blocking: the browser page's downloads are written from it (a
    /// WebGPU device's memory cannot be read blocking in a browser).
    pub async fn to_host_async(&self) -> Result<Self> {
        Ok(Self {
            cfg: self.cfg.clone(),
            model: self.model.to_device_async(&Device::flex()).await?,
            tok: self.tok.clone(),
        })
    }

    /// The tokenizer of a checkpoint or of a Hugging Face model directory.
    /// A directory restlm exported keeps its layout in `tokens.json`.
    pub fn load_tokenizer(dir: &Path) -> Result<Tokenizer> {
        if gguf::is_gguf(dir) {
            return gguf::tokenizer(&gguf::GgufFile::open(dir)?);
        }
        if hf::is_hf_dir(dir)? && !dir.join(LAYOUT_FILE).exists() {
            let ids = hf::special_ids(dir)?;
            Tokenizer::imported(dir, ids.eos, ids.pad)
        } else {
            Tokenizer::load(dir)
        }
    }

    /// Writes a Hugging Face model directory that `transformers` loads
    /// (LoRA adapters merged).
    pub fn export_hf(&self, dir: &Path) -> Result<()> {
        let p = self.merged();
        hf::export(dir, &p.cfg, &p.model, &p.tok)
    }

    /// Writes a GGUF file that llama.cpp runs (Llama and Qwen2 layouts;
    /// LoRA adapters merged).
    pub fn export_gguf(&self, path: &Path, enc: gguf::Encoding) -> Result<()> {
        let p = self.merged();
        gguf::export(path, &p.cfg, &p.model, &p.tok, enc)
    }

    /// This policy with LoRA adapters attached (base frozen); unchanged if
    /// it already has adapters of that shape. Its checkpoints hold the
    /// whole model.
    pub fn with_lora(self, lora: &LoraConfig) -> Result<Self> {
        self.attach_lora(lora, None, None)
    }

    /// [`Policy::with_lora`] for a policy loaded from `base` (none: a
    /// fresh one), its adapters initialised from `seed` so that a run
    /// repeats: its checkpoints then hold the adapters alone and name
    /// `base` (with a hash of its weights, checked when they are loaded).
    pub fn with_lora_on(self, lora: &LoraConfig, base: Option<&Path>, seed: u64) -> Result<Self> {
        self.attach_lora(lora, base, Some(seed))
    }

    fn attach_lora(
        mut self,
        lora: &LoraConfig,
        base: Option<&Path>,
        seed: Option<u64>,
    ) -> Result<Self> {
        match &self.cfg.lora {
            Some(l) if l.same_shape(lora) => Ok(self),
            Some(l) => Err(crate::error::Error::Config(format!(
                "the policy already has LoRA adapters (rank {}, alpha {}); merge them (restlm export) before attaching rank {}",
                l.rank, l.alpha, lora.rank
            ))),
            None => {
                lora.validate()?;
                let base = match base {
                    Some(p) => {
                        let path = p
                            .canonicalize()
                            .map_err(|e| crate::error::Error::io(p, e))?;
                        let hash = crate::model::checkpoint::weights_hash(&path)?;
                        Some(crate::model::BaseRef { path, hash })
                    }
                    None => None,
                };
                if let Some(seed) = seed {
                    self.device().seed(seed);
                }
                if let Some(kind) = lora.base_dtype.quant_kind() {
                    if base.is_none() {
                        return Err(crate::error::Error::Config(format!(
                            "lora.base_dtype = {:?} holds a pretrained base (--init FILE) quantised; this policy has none",
                            lora.base_dtype
                        )));
                    }
                    self.model = self.model.quantized(kind);
                }
                self.model = self.model.with_lora(lora);
                self.cfg.lora = Some(LoraConfig {
                    base,
                    ..lora.clone()
                });
                Ok(self)
            }
        }
    }

    /// The adapters folded into the weights (a copy; unchanged without LoRA).
    pub fn merged(&self) -> Self {
        match self.cfg.lora {
            None => self.clone(),
            Some(_) => Self {
                cfg: ModelConfig {
                    lora: None,
                    ..self.cfg.clone()
                },
                model: self.model.merged(),
                tok: self.tok.clone(),
            },
        }
    }

    pub fn save(&self, dir: &Path, state: &TrainState) -> Result<()> {
        checkpoint::save(
            dir,
            Saved {
                config: &self.cfg,
                model: &self.model,
                optim: None,
                state,
                tokenizer: Some(&self.tok),
                head: None,
            },
        )
    }

    /// Trains this policy in place (SFT or an Improve step); returns the
    /// target tokens trained on.
    pub fn fine_tune(
        &mut self,
        data: &[crate::data::Encoded],
        held: &[crate::data::Encoded],
        stage: crate::train::Stage<'_>,
        metrics: &mut crate::report::Metrics,
    ) -> Result<usize> {
        let model = self.model.clone();
        let (model, tokens) =
            crate::train::train(model, &self.cfg, data, held, self.tok.pad, stage, metrics)?;
        self.model = model;
        Ok(tokens)
    }

    /// Σ log π(target | prompt) of each record's target (and eos), with
    /// the fused log-prob kernel where the device runs it.
    pub fn score(
        &self,
        records: &[crate::data::Record],
        max_prompt: usize,
        batch_size: usize,
    ) -> Result<Vec<f64>> {
        let (enc, _) =
            crate::data::encode_records(&self.tok, records, max_prompt, self.cfg.max_seq_len)?;
        Ok(crate::train::sequence_logprobs(
            &self.model,
            &self.cfg,
            &enc,
            batch_size,
            self.tok.pad,
        ))
    }

    pub fn device(&self) -> Device {
        self.model.embed_tokens.weight.device()
    }

    /// `<bos> prompt <sep>` ids, keeping the last `max_prompt` prompt tokens.
    pub fn prompt_ids(&self, prompt: &str, max_prompt: usize) -> Result<Vec<u32>> {
        let mut ids = self.tok.encode_prompt(prompt)?;
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
        pollster::block_on(self.complete_async(prompts, n, max_prompt, opts))
    }

    /// [`Policy::complete`] without blocking (WebGPU in a browser).
    pub async fn complete_async(
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
        let special = self.special();
        let gens = sample::generate_async(&self.model, &self.cfg, &special, &ids, n, opts).await?;
        self.decode_all(gens)
    }

    /// `n` completions per prompt, prompt i drawing from the streams of
    /// `keys[i]` and every batch padded to at least `prompt_len` positions
    /// (see [`sample::generate_keyed_async`]): what Grow uses, so that a
    /// prompt's completions do not depend on its batch.
    pub async fn complete_keyed_async(
        &self,
        prompts: &[(&[u32], u64)],
        n: usize,
        prompt_len: usize,
        opts: &SampleOptions,
    ) -> Result<Vec<Vec<(String, Generation)>>> {
        let keyed: Vec<sample::Keyed<'_>> = prompts
            .iter()
            .map(|&(ids, key)| sample::Keyed { ids, key })
            .collect();
        let special = self.special();
        let gens = sample::generate_keyed_async(
            &self.model,
            &self.cfg,
            &special,
            &keyed,
            n,
            prompt_len,
            opts,
        )
        .await?;
        self.decode_all(gens)
    }

    fn special(&self) -> Special {
        Special {
            eos: self.tok.eos,
            pad: self.tok.pad,
        }
    }

    fn decode_all(&self, gens: Vec<Vec<Generation>>) -> Result<Vec<Vec<(String, Generation)>>> {
        gens.into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|g| Ok((self.tok.decode_sample(&g.tokens)?, g)))
                    .collect()
            })
            .collect()
    }
}

/// `tok` laid out in `format` when given (errors name `path`).
fn with_format(
    tok: Tokenizer,
    format: Option<crate::tokenizer::PromptFormat>,
    path: &Path,
) -> Result<Tokenizer> {
    match format {
        Some(f) if f != tok.format() => tok
            .with_format(f)
            .map_err(|e| crate::error::Error::file(path, e)),
        _ => Ok(tok),
    }
}
