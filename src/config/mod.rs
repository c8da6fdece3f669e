//! The run configuration: one TOML file, every field with a default, so an
//! empty file (or none) is the embedded default task.

use crate::data::task::{Phrasing, Sizes, TaskKind, arith};
use crate::error::{Error, Result};
use crate::model::ModelConfig;
use crate::tokenizer::PromptFormat;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

mod reward;
mod validate;

pub use reward::{OneOrMany, RewardConfig, RewardKind, RmConfig, ScorerCommand};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    pub seed: u64,
    /// auto | wgpu | vulkan | metal | webgpu | cpu; `wgpu:1` or `wgpu:radeon`
    /// picks one of several GPUs (by index among hardware GPUs, or by name).
    pub device: String,
    pub run_dir: PathBuf,
    /// A pretrained policy to start from (a GGUF file, a Hugging Face model
    /// directory or a restlm checkpoint): what `--init` gives, kept in the
    /// config so that a run or comparison directory records it.
    pub init: Option<PathBuf>,
    pub data: DataConfig,
    pub tokenizer: TokenizerConfig,
    pub model: ModelConfig,
    pub sft: TrainConfig,
    pub improve: TrainConfig,
    pub sample: SampleConfig,
    pub rest: RestConfig,
    pub reward: RewardConfig,
    pub eval: EvalConfig,
    /// LoRA adapters for fine-tuning a policy (none: full fine-tuning).
    pub lora: Option<crate::model::LoraConfig>,
    /// Training a reward model (`restlm rm train`).
    pub rm: RmConfig,
    /// Which learning-rate settings the config file gave (the rest take
    /// defaults, which differ for a pretrained start).
    #[serde(skip)]
    pub given: Given,
}

/// Settings a config file set explicitly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Given {
    pub sft_lr: bool,
    pub sft_warmup: bool,
    pub improve_lr: bool,
    pub improve_warmup: bool,
}

/// Learning rates for fine-tuning a pretrained policy (from `--init`): the
/// from-scratch default (3e-3) wrecks one (SmolLM2-135M's held-out
/// loss went to 13 nats/token, worse than uniform, in 4 steps).
pub const FINETUNE_SFT_LR: f64 = 5e-5;
pub const FINETUNE_IMPROVE_LR: f64 = 2e-5;
pub const FINETUNE_WARMUP: usize = 2;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// JSONL records (prompt, target, references, meta); none = the
    /// embedded task.
    pub train: Option<PathBuf>,
    /// Held-out JSONL; none = the embedded task's held-out split.
    pub eval: Option<PathBuf>,
    /// The embedded task: mt | arith | toy.
    pub task: TaskKind,
    /// Size of the embedded task's training and held-out sets (none: the
    /// task's default).
    pub task_train: Option<usize>,
    pub task_eval: Option<usize>,
    /// Share of the embedded task's training prompts that carry a target;
    /// the rest are prompt-only (none: the task's default).
    pub labeled_fraction: Option<f64>,
    /// Longest prompt in tokens; longer prompts keep their last tokens.
    pub max_prompt_tokens: usize,
    /// `arith`: terms per sum, `n` or `[least, most]` (none: [2, 6]).
    pub terms: Option<Span>,
    /// `arith`: digits per term, `n` or `[least, most]` (none: 2).
    pub digits: Option<Span>,
    /// How the embedded task's prompts read: "plain" (`23+57+41`) or
    /// "question" ("What is 23 + 57 + 41? …", for an instruct model);
    /// none = question when `tokenizer.prompt_format = "chat"`, else plain.
    pub phrasing: Option<Phrasing>,
}

/// An inclusive range of whole numbers, written `n` or `[least, most]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SpanText", into = "[u32; 2]")]
pub struct Span(pub u32, pub u32);

#[derive(Deserialize)]
#[serde(untagged)]
enum SpanText {
    One(u32),
    Two([u32; 2]),
}

impl From<SpanText> for Span {
    fn from(t: SpanText) -> Self {
        match t {
            SpanText::One(n) => Span(n, n),
            SpanText::Two([a, b]) => Span(a, b),
        }
    }
}

impl From<Span> for [u32; 2] {
    fn from(s: Span) -> Self {
        [s.0, s.1]
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TokenizerConfig {
    pub vocab_size: usize,
    /// Existing tokenizer.json; none = train one on the training data.
    pub path: Option<PathBuf>,
    /// How prompts are laid out for a policy from `--init`: "plain"
    /// (`prompt\ntarget`) or "chat" (one user turn of the model's chat
    /// template); none = the policy's own (plain unless it was trained in
    /// chat). Stored with every checkpoint of the run.
    pub prompt_format: Option<PromptFormat>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub steps: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub min_lr_ratio: f64,
    pub warmup_steps: usize,
    pub weight_decay: f32,
    pub grad_clip: f32,
    /// Evaluate held-out loss and write a checkpoint every this many steps.
    pub eval_every: usize,
    /// Recompute cheap (memory-bound) activations in the backward pass
    /// instead of keeping them: less memory, a little more compute.
    pub gradient_checkpointing: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SampleConfig {
    pub temperature: f32,
    pub top_k: usize,
    pub top_p: f32,
    pub max_new_tokens: usize,
    /// Rows decoded together (prompts × samples); fixed so shapes stay static.
    pub batch_size: usize,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Behaviour cloning: NLL on the filtered set (the paper's default).
    Bc,
    /// NLL weighted per record by its reward divided by the largest kept
    /// reward (a weight in (0, 1]).
    RewardWeighted,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RestConfig {
    /// G: number of Grow steps.
    pub grow_steps: usize,
    /// N: samples per prompt in each Grow.
    pub samples_per_prompt: usize,
    /// τ1 < τ2 < …, one Improve step each; used when `quantiles` is empty.
    pub thresholds: Vec<f64>,
    /// Thresholds as quantiles of the grown set's rewards (each in [0, 1)).
    pub quantiles: Vec<f64>,
    pub loss: LossKind,
    /// Put D itself (its targets, scored) in every grown set, as the paper does.
    pub include_dataset: bool,
    /// ReST-EM (Singh et al. 2023): every Improve fine-tunes the SFT policy
    /// afresh on the latest grown set instead of continuing the current one.
    pub restart_from_sft: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EvalConfig {
    /// Samples per held-out prompt for the sampled-output reward.
    pub samples: usize,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            device: "auto".into(),
            run_dir: "runs/default".into(),
            data: DataConfig::default(),
            tokenizer: TokenizerConfig::default(),
            model: ModelConfig::default(),
            // SFT runs well past the point where its held-out loss stops
            // falling (about step 50 on the default task's ~150
            // demonstrations): ReST is compared with a converged SFT, not
            // a deliberately short one.
            sft: TrainConfig {
                steps: 300,
                ..TrainConfig::default()
            },
            // Improve continues a trained policy at SFT's rate: on `mt`
            // (3 seeds) 3e-3 put ReST's greedy output above the SFT
            // policy's best of 4 on every seed, where 1e-3 left it level;
            // the `sft` arm of `compare` trains at this rate too and did
            // not do worse (README). A pretrained start takes
            // FINETUNE_IMPROVE_LR instead.
            improve: TrainConfig {
                steps: 30,
                ..TrainConfig::default()
            },
            sample: SampleConfig::default(),
            rest: RestConfig::default(),
            reward: RewardConfig::default(),
            eval: EvalConfig::default(),
            lora: None,
            rm: RmConfig::default(),
            init: None,
            given: Given::default(),
        }
    }
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            train: None,
            eval: None,
            task: TaskKind::default(),
            task_train: None,
            task_eval: None,
            labeled_fraction: None,
            max_prompt_tokens: 48,
            terms: None,
            digits: None,
            phrasing: None,
        }
    }
}

impl Default for TokenizerConfig {
    fn default() -> Self {
        Self {
            vocab_size: 384,
            path: None,
            prompt_format: None,
        }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            steps: 200,
            batch_size: 32,
            lr: 3e-3,
            min_lr_ratio: 0.1,
            warmup_steps: 5,
            weight_decay: 0.01,
            grad_clip: 1.0,
            eval_every: 20,
            gradient_checkpointing: false,
        }
    }
}

impl Default for SampleConfig {
    fn default() -> Self {
        Self {
            temperature: 0.8,
            top_k: 0,
            top_p: 1.0,
            max_new_tokens: 40,
            batch_size: 64,
        }
    }
}

impl Default for RestConfig {
    fn default() -> Self {
        Self {
            // Six Grows of two 30-step Improve steps: at the same 360
            // Improve steps as three Grows of 60, the policy is resampled
            // twice as often; on `mt` its greedy
            // output then passed the SFT policy's best of 4 (README).
            grow_steps: 6,
            samples_per_prompt: 4,
            thresholds: vec![40.0, 70.0],
            quantiles: vec![],
            loss: LossKind::Bc,
            include_dataset: true,
            restart_from_sft: false,
        }
    }
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self { samples: 2 }
    }
}

/// Batch-like sizes above this are typos (each costs memory per item).
pub const MAX_BATCH: usize = 1 << 16;
/// Records an embedded task may generate.
pub const MAX_TASK_RECORDS: usize = 10_000_000;

impl RunConfig {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let cfg = Self::parse(&text).map_err(|e| Error::file(path, e))?;
        cfg.validate().map_err(|e| Error::file(path, e))?;
        Ok(cfg)
    }

    /// A config from TOML text (not validated): parsed once as written,
    /// for errors that name the line, then laid over the defaults, so that
    /// a key a section leaves out takes the run's default (`[improve] lr =
    /// 1e-3` keeps Improve's 30 steps, not the 200 of a training section in
    /// general).
    pub fn parse(text: &str) -> std::result::Result<Self, toml::de::Error> {
        toml::from_str::<Self>(text)?;
        let table: toml::Table = text.parse()?;
        let mut cfg = Self::over_defaults(&table)?;
        let has = |section: &str, key: &str| {
            table
                .get(section)
                .and_then(|s| s.as_table())
                .is_some_and(|s| s.contains_key(key))
        };
        cfg.given = Given {
            sft_lr: has("sft", "lr"),
            sft_warmup: has("sft", "warmup_steps"),
            improve_lr: has("improve", "lr"),
            improve_warmup: has("improve", "warmup_steps"),
        };
        Ok(cfg)
    }

    /// Fine-tuning learning rates and warmup for a pretrained start, where
    /// the config file did not set them; returns what changed, to print.
    pub fn use_finetune_defaults(&mut self) -> Vec<String> {
        let mut changed = Vec::new();
        let mut set = |given: bool, name: &str, field: &mut f64, v: f64| {
            if !given && *field != v {
                *field = v;
                changed.push(format!("{name} = {v:e}"));
            }
        };
        set(
            self.given.sft_lr,
            "sft.lr",
            &mut self.sft.lr,
            FINETUNE_SFT_LR,
        );
        set(
            self.given.improve_lr,
            "improve.lr",
            &mut self.improve.lr,
            FINETUNE_IMPROVE_LR,
        );
        for (given, name, t) in [
            (self.given.sft_warmup, "sft", &mut self.sft),
            (self.given.improve_warmup, "improve", &mut self.improve),
        ] {
            if !given && t.warmup_steps != FINETUNE_WARMUP {
                t.warmup_steps = FINETUNE_WARMUP;
                changed.push(format!("{name}.warmup_steps = {FINETUNE_WARMUP}"));
            }
        }
        changed
    }

    /// `table` laid over the default config, key by key at every depth.
    fn over_defaults(table: &toml::Table) -> std::result::Result<Self, toml::de::Error> {
        fn lay(base: &mut toml::Table, over: &toml::Table) {
            for (k, v) in over {
                match (base.get_mut(k), v) {
                    (Some(toml::Value::Table(b)), toml::Value::Table(o)) => lay(b, o),
                    _ => {
                        base.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        let mut base = toml::Table::try_from(Self::default()).expect("the default serialises");
        lay(&mut base, table);
        toml::Value::Table(base).try_into()
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serialises")
    }

    /// The Improve steps' number I: one per threshold.
    pub fn improve_steps(&self) -> usize {
        if self.rest.quantiles.is_empty() {
            self.rest.thresholds.len()
        } else {
            self.rest.quantiles.len()
        }
    }
}

impl DataConfig {
    /// The embedded task's sizes: the configured ones, else its defaults.
    pub fn task_sizes(&self) -> Sizes {
        let d = self.task.default_sizes();
        Sizes {
            train: self.task_train.unwrap_or(d.train),
            eval: self.task_eval.unwrap_or(d.eval),
            labeled_fraction: self.labeled_fraction.unwrap_or(d.labeled_fraction),
        }
    }

    /// The `arith` task's shape: the configured terms and digits, else
    /// the default's.
    pub fn arith_shape(&self) -> arith::Shape {
        let d = arith::Shape::default();
        arith::Shape {
            terms: self.terms.map_or(d.terms, |s| (s.0, s.1)),
            digits: self.digits.map_or(d.digits, |s| (s.0, s.1)),
        }
    }

    /// How the embedded task's prompts read for a policy laid out in
    /// `format` (the config's `tokenizer.prompt_format`).
    pub fn phrasing(&self, format: Option<PromptFormat>) -> Phrasing {
        self.phrasing.unwrap_or(match format {
            Some(PromptFormat::Chat) => Phrasing::Question,
            _ => Phrasing::Plain,
        })
    }

    /// The embedded task in use, or None when the data comes from files.
    pub fn embedded_task(&self) -> Option<TaskKind> {
        self.train.is_none().then_some(self.task)
    }
}
