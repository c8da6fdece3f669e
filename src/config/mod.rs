//! The run configuration: one TOML file, every field with a default, so an
//! empty file (or none) is the embedded default task.

use crate::data::task::{Phrasing, Sizes, TaskKind, arith};
use crate::error::{Error, Result};
use crate::model::ModelConfig;
use crate::tokenizer::PromptFormat;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

mod validate;

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
/// from-scratch defaults (3e-3, 1e-3) wreck one (SmolLM2-135M's held-out
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

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    /// The embedded task's own reward (mt, arith; chrF for toy and files).
    #[default]
    Auto,
    Chrf,
    Bleu,
    Exact,
    /// The `mt` task's verifier (needs `meta`: the source's meaning).
    Mt,
    /// The `arith` task's verifier (needs `meta.answer`).
    Arith,
    External,
    /// A learned reward model (`restlm rm train`), or an ensemble of them:
    /// `reward.path`.
    Model,
}

/// How to start an external scorer. No shell is involved: an argv list is
/// run as it is, and a single string is split into words as a POSIX shell
/// would (whitespace separates; single quotes, double quotes and
/// backslashes quote). Shell syntax in a string (`;`, `|`, `&`, `<`, `>`,
/// `$`, backquotes, parentheses) is an error that says to write
/// `["sh", "-c", "…"]` when a shell is really wanted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ScorerCommand {
    Argv(Vec<String>),
    Line(String),
}

impl From<&str> for ScorerCommand {
    fn from(s: &str) -> Self {
        ScorerCommand::Line(s.to_string())
    }
}

impl ScorerCommand {
    /// The program and its arguments.
    pub fn argv(&self) -> Result<Vec<String>> {
        let argv = match self {
            ScorerCommand::Argv(v) => v.clone(),
            ScorerCommand::Line(line) => split_words(line)?,
        };
        if argv.first().is_none_or(|p| p.is_empty()) {
            return Err(Error::Config("reward.command is empty".into()));
        }
        Ok(argv)
    }
}

/// Words of `line` as a POSIX shell splits them, refusing shell syntax.
fn split_words(line: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    let fail = |m: String| Err(Error::Config(format!("reward.command `{line}`: {m}")));
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '\\' => match chars.next() {
                Some(n) => word.get_or_insert_default().push(n),
                None => return fail("ends in a backslash".into()),
            },
            '\'' => {
                let w = word.get_or_insert_default();
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(n) => w.push(n),
                        None => return fail("a single quote is not closed".into()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_default();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(n @ ('"' | '\\' | '$' | '`')) => w.push(n),
                            Some(n) => {
                                w.push('\\');
                                w.push(n);
                            }
                            None => return fail("a double quote is not closed".into()),
                        },
                        Some(n @ ('$' | '`')) => {
                            return fail(format!(
                                "`{n}` inside double quotes needs a shell; write \
                                 command = [\"sh\", \"-c\", \"…\"] to run one"
                            ));
                        }
                        Some(n) => w.push(n),
                        None => return fail("a double quote is not closed".into()),
                    }
                }
            }
            ';' | '|' | '&' | '<' | '>' | '$' | '`' | '(' | ')' => {
                return fail(format!(
                    "`{c}` is shell syntax, and restlm runs no shell; write \
                     command = [\"sh\", \"-c\", \"…\"] to run one"
                ));
            }
            c => word.get_or_insert_default().push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RewardConfig {
    pub kind: RewardKind,
    /// For `external`: the scorer's argv (`["python3", "score.py"]`), or
    /// one string split into words as a shell would (no shell runs it).
    pub command: Option<ScorerCommand>,
    pub timeout_secs: f64,
    pub batch_size: usize,
    /// For `model`: a reward model's directory, or several (an ensemble,
    /// scored mean − uncertainty_penalty · std over its members).
    pub path: Option<OneOrMany>,
    pub uncertainty_penalty: f64,
    /// With `model`: a metric or verifier that scores the records that
    /// carry a reference (a target), the learned model scoring the
    /// prompt-only ones; on held-out prompts it is the measure `best/` is
    /// chosen by, and the learned reward is logged beside it.
    pub gold: Option<RewardKind>,
}

/// One path or a list of them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum OneOrMany {
    One(PathBuf),
    Many(Vec<PathBuf>),
}

impl OneOrMany {
    pub fn paths(&self) -> Vec<PathBuf> {
        match self {
            OneOrMany::One(p) => vec![p.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// `restlm rm train`: training a reward model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RmConfig {
    /// Optimizer steps, batch (pointwise records or pairs), schedule.
    pub train: TrainConfig,
    /// Share of the prompts held out for the report (by prompt: every
    /// output of a held-out prompt is held out).
    pub eval_fraction: f64,
    /// Synthetic negatives per prompt added to `--from-grown` data (an
    /// empty output, the prompt copied, a repeated span, a truncation,
    /// dropped words), each scored 0.
    pub negatives: usize,
    /// Bradley–Terry pairs: weight of the mean (r_chosen + r_rejected)²
    /// term that keeps rewards near 0 (TRL's `center_rewards_coefficient`).
    pub center: f64,
    /// Ensemble members (`--members`): member k > 1 trains on a bootstrap
    /// resample of the training prompts with seed + k.
    pub members: usize,
    /// The last of several members starts from a fresh trunk of the same
    /// shape (random weights, every weight trained) instead of `init`: an
    /// ensemble member that does not share the policy's blind spots.
    pub fresh_trunk: bool,
    /// `compare` adds the arm `rest-rm`: per seed, a reward model trained
    /// on the SFT policy's samples of the labeled prompts scored by the
    /// configured (gold) reward, then ReST with that reward on the labeled
    /// prompts and the model's on the prompt-only ones.
    pub compare: bool,
    /// Samples per labeled prompt for that reward model's data, and their
    /// temperature (hotter than Grow's: the model must see bad outputs).
    pub grow_samples: usize,
    pub grow_temperature: f32,
    /// Near misses per output of that data (a word replaced, deleted,
    /// swapped or inserted), scored by the gold reward too.
    pub perturbations: usize,
}

impl Default for RmConfig {
    fn default() -> Self {
        Self {
            train: TrainConfig {
                steps: 200,
                batch_size: 16,
                lr: 1e-3,
                warmup_steps: 10,
                eval_every: 50,
                ..TrainConfig::default()
            },
            eval_fraction: 0.1,
            negatives: 0,
            center: 0.01,
            members: 1,
            fresh_trunk: false,
            compare: false,
            grow_samples: 16,
            grow_temperature: 1.5,
            perturbations: 0,
        }
    }
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
            // Improve continues a trained policy: a gentler rate.
            improve: TrainConfig {
                steps: 30,
                lr: 1e-3,
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
            // twice as often; on `mt` (at improve.lr 3e-3) its greedy
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

impl Default for RewardConfig {
    fn default() -> Self {
        Self {
            kind: RewardKind::Auto,
            command: None,
            timeout_secs: 30.0,
            batch_size: 64,
            path: None,
            uncertainty_penalty: 0.0,
            gold: None,
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
    /// a key a section leaves out takes the run's default (`[improve] steps
    /// = 60` keeps Improve's 1e-3 rate, not the 3e-3 of a training section
    /// in general).
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
