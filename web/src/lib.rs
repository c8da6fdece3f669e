//! The browser demo: a thin wasm-bindgen shell over the restlm library.
//! The page (web/www/main.js) calls these methods one small unit of work at
//! a time (a batch of prompts, one optimizer step) and awaits each, so the
//! page keeps drawing while the policy trains. Model, sampler, rewards,
//! filter and training step are the library's; nothing is reimplemented.

use restlm::Policy;
use restlm::burn::prelude::Device;
use restlm::config::RunConfig;
use restlm::data::{Encoded, Record, demonstrations, encode_records};
use restlm::eval::{EvalSetup, evaluate_async};
use restlm::model::gguf::GgufFile;
use restlm::rest::grow::{
    GrowSetup, dataset_rows, longest_prompt, prompts_per_batch, sample_batch,
};
use restlm::rest::setup::{
    eval_setup, grow_setup, improve_seed, load_data, reward_for, sample_options,
};
use restlm::rest::{Grown, filter, improve_examples};
use restlm::reward::Reward;
use restlm::sample::{PickOptions, SampleOptions};
use restlm::tokenizer::PromptFormat;
use restlm::train::Trainer;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use wasm_bindgen::prelude::*;

mod downloads;
mod model_info;
mod page_reward;
mod reward_model;
use model_info::ModelInfo;
use page_reward::{Awaiting, Deferred, Pending};

/// How much work the page asks for (URL parameters override the defaults).
/// The run's settings among them go into the library's [`RunConfig`]
/// (`Sizes::apply`), which everything else reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Sizes {
    /// Training prompts Grow samples from (labeled or not); the first
    /// this many of the task's.
    pub prompts: usize,
    /// Samples per prompt (N).
    pub samples: usize,
    /// Held-out prompts scored after every step.
    pub heldout: usize,
    /// Optimizer steps per Improve threshold.
    pub steps: usize,
    /// Improve thresholds τ1 < τ2 < … (the task's reward, 0–100).
    pub thresholds: Vec<f64>,
    /// Prompts per Grow call (one call = one await for the page); a
    /// sampling batch is this many prompts' samples.
    pub chunk: usize,
    pub max_new_tokens: usize,
}

impl Default for Sizes {
    fn default() -> Self {
        // Every training prompt, N = 4, 60 steps per τ (smaller Grows did
        // not lift the held-out reward in the page; `restlm run` now takes
        // 30 per τ over twice as many Grows).
        Self {
            prompts: usize::MAX,
            samples: 4,
            heldout: 64,
            steps: 60,
            thresholds: vec![40.0, 70.0],
            chunk: 16,
            max_new_tokens: 32,
        }
    }
}

impl Sizes {
    /// The run's settings, into the library's config (checked as a run's).
    fn apply(&self, cfg: &mut RunConfig) -> restlm::Result<()> {
        cfg.rest.samples_per_prompt = self.samples;
        cfg.rest.thresholds = self.thresholds.clone();
        cfg.rest.include_dataset = true;
        cfg.improve.steps = self.steps;
        cfg.sample.max_new_tokens = self.max_new_tokens;
        // Every decoding batch (Grow's and the held-out scoring's) is
        // padded to this many rows: one chunk's samples, not the CLI's 64
        // (a pretrained model scored 2 held-out prompts as 64 rows).
        cfg.sample.batch_size = self.chunk.max(1) * self.samples.max(1);
        cfg.validate()
    }
}

/// A policy being trained: its trainer and examples.
struct Training {
    trainer: Trainer,
    data: Vec<Encoded>,
}

struct State {
    cfg: RunConfig,
    sizes: Sizes,
    /// ReST's policy, and the equal-step SFT reference: the same start
    /// trained for as many steps on the demonstrations alone.
    policy: Policy,
    sft: Policy,
    train: Vec<Record>,
    /// Every demonstration of the task (D), for both policies.
    dataset: Vec<Record>,
    eval: Vec<Record>,
    grown: Vec<Grown>,
    grow_step: usize,
    /// The longest training prompt in tokens: every Grow batch pads to it,
    /// as the library's Grow does (the tokenizer never changes).
    prompt_len: usize,
    /// The Improve in progress, and the SFT reference's matching steps.
    improving: Option<(Training, Training)>,
    reward: Box<dyn Reward>,
    /// With a reward written in the page (JavaScript, scored in a Worker):
    /// the items the last Grow batch or evaluation left to score, and
    /// where their scores go.
    deferred: Option<Arc<Mutex<Vec<Pending>>>>,
    awaiting: Awaiting,
    /// The GGUF base's name beside an adapter download, and its hash.
    base: Option<restlm::model::BaseRef>,
}

impl State {
    fn grow_setup(&self) -> GrowSetup<'static> {
        grow_setup(&self.cfg, self.grow_step, "grow")
    }

    /// The reward, taken out of the state while a Grow batch or an
    /// evaluation awaits (a placeholder stands in; the caller puts it back).
    fn take_reward(&mut self) -> Box<dyn Reward> {
        std::mem::replace(&mut self.reward, Box::new(restlm::reward::ExactMatch))
    }

    /// Before a step that scores: with the page's reward, the previous
    /// batch's scores must have come back; marks where the next ones go.
    fn expect_scores(&mut self, next: Awaiting) -> Result<(), JsValue> {
        let Some(items) = &self.deferred else {
            return Ok(());
        };
        if !items.lock().expect("one thread").is_empty() {
            return Err(js(format!(
                "the page's reward has not scored the last batch ({:?}) yet",
                self.awaiting
            )));
        }
        self.awaiting = next;
        Ok(())
    }
}

/// One row the page shows after Grow.
#[derive(Serialize)]
struct Shown<'a> {
    prompt: &'a str,
    sample: &'a str,
    /// The record's reference, when it has one (most prompts have none).
    reference: Option<&'a str>,
    reward: f64,
    /// The sample's length in tokens (the page's decoding speed).
    tokens: usize,
    /// "gold" or "model" under a reward model (`Demo::use_reward_model`).
    scored_by: Option<&'a str>,
}

impl<'a> Shown<'a> {
    /// The grown row `g` with its record's reference, its length in
    /// `policy`'s tokens.
    fn of(g: &'a Grown, reference: Option<&'a str>, policy: &Policy) -> Self {
        Shown {
            prompt: &g.prompt,
            sample: &g.sample,
            reference,
            reward: g.reward,
            tokens: policy.tok.encode(&g.sample).map_or(0, |t| t.len()),
            scored_by: g.scored_by.as_deref(),
        }
    }
}

thread_local! {
    /// The device the page started, by the backend asked for: a page makes
    /// a new `Demo` for each model it loads, and WebGPU's device is
    /// initialised once per page (a second initialisation fails, and
    /// `auto` would then fall back to the CPU).
    static SELECTED: RefCell<Option<(String, restlm::device::Selected)>> =
        const { RefCell::new(None) };
}

/// The device for `backend`, started on the first call and reused after.
async fn select(backend: &str) -> Result<restlm::device::Selected, JsValue> {
    let known = SELECTED.with_borrow(|s| {
        s.as_ref()
            .filter(|(b, _)| b == backend)
            .map(|(_, sel)| sel.clone())
    });
    if let Some(sel) = known {
        return Ok(sel);
    }
    let sel = restlm::device::select_async(backend).await.map_err(js)?;
    SELECTED.with_borrow_mut(|s| *s = Some((backend.to_string(), sel.clone())));
    Ok(sel)
}

fn js(e: impl std::fmt::Display) -> JsValue {
    JsValue::from_str(&e.to_string())
}

#[wasm_bindgen]
pub struct Demo {
    state: Rc<RefCell<State>>,
    selected: restlm::device::Selected,
    info: Option<ModelInfo>,
}

/// Held-out greedy reward of `policy` under the page's reward, through the
/// library's evaluation.
async fn held_out(state: &Rc<RefCell<State>>, reference: bool) -> Result<JsValue, JsValue> {
    let (policy, eval, cfg) = {
        let st = state.borrow();
        let policy = if reference { &st.sft } else { &st.policy };
        (policy.clone(), st.eval.clone(), st.cfg.clone())
    };
    // Greedy only: the page shows one number per step.
    let setup = EvalSetup {
        samples: 0,
        ..eval_setup(&cfg, &eval)
    };
    state.borrow_mut().expect_scores(Awaiting::Eval)?;
    let mut reward = state.borrow_mut().take_reward();
    let row = evaluate_async(&policy, &setup, reward.as_mut(), "page").await;
    state.borrow_mut().reward = reward;
    Ok(JsValue::from_f64(row.map_err(js)?.greedy_reward))
}

#[wasm_bindgen]
impl Demo {
    /// Starts `backend` ("auto": WebGPU when the browser gives an adapter,
    /// else the CPU backend; "webgpu"; "cpu") and loads the policy from the
    /// contents of its checkpoint files.
    pub async fn create(
        backend: String,
        sizes_json: String,
        config_json: String,
        model_bpk: Vec<u8>,
        tokenizer_json: String,
        tokens_json: String,
    ) -> Result<Demo, JsValue> {
        console_error_panic_hook::set_once();
        let selected = select(&backend).await?;
        let device: Device = selected.device.clone();
        let sizes: Sizes = serde_json::from_str(&sizes_json).map_err(js)?;
        let mut cfg = RunConfig::default();
        sizes.apply(&mut cfg).map_err(js)?;
        let policy = Policy::from_bytes(
            &config_json,
            model_bpk,
            &tokenizer_json,
            &tokens_json,
            &device,
        )
        .map_err(js)?;
        Demo::start(selected, cfg, sizes, policy, None)
    }

    /// Starts `backend` and loads a pretrained model from a GGUF file's
    /// contents (`name`: the file's name, for errors), run by the settings
    /// of `config_toml` (a `restlm` config: the task, `[lora]`, learning
    /// rates) under the page's sizes. The model's chat template lays out
    /// the prompts when it has one; LoRA adapters go on when `[lora]` is
    /// set, and a pretrained start takes the fine-tuning learning rates
    /// where the config sets none (as `restlm run --init` does).
    pub async fn create_gguf(
        backend: String,
        sizes_json: String,
        config_toml: String,
        name: String,
        bytes: Vec<u8>,
    ) -> Result<Demo, JsValue> {
        console_error_panic_hook::set_once();
        let selected = select(&backend).await?;
        let device: Device = selected.device.clone();
        let sizes: Sizes = serde_json::from_str(&sizes_json).map_err(js)?;
        let mut cfg = RunConfig::parse(&config_toml).map_err(|e| js(format!("the config: {e}")))?;
        sizes.apply(&mut cfg).map_err(js)?;
        cfg.use_finetune_defaults();
        // An adapter download names the base file beside its directory,
        // with the hash `restlm` checks when it loads the adapters.
        let mut hash = restlm::io::Fnv::default();
        hash.update(&bytes);
        let base = restlm::model::BaseRef {
            path: Path::new("..").join(&name),
            hash: hash.hex(),
        };
        let file = GgufFile::from_bytes(Path::new(&name), bytes).map_err(js)?;
        let has_template = restlm::model::gguf::chat_template(&file).is_some();
        let format = cfg
            .tokenizer
            .prompt_format
            .or(has_template.then_some(PromptFormat::Chat));
        cfg.tokenizer.prompt_format = format;
        let quant = cfg.lora.as_ref().and_then(|l| l.base_dtype.quant_kind());
        if let Some(limits) = &selected.limits {
            let shape = restlm::model::gguf::model_config(&file).map_err(js)?;
            limits
                .check_model(&shape, quant)
                .map_err(|e| js(format!("{name}: {e}")))?;
        }
        let mut info = ModelInfo::of(&file, &name);
        let mut policy = Policy::from_gguf(&file, format, quant, &device).map_err(js)?;
        drop(file);
        if let Some(lora) = &cfg.lora {
            policy = policy.with_lora(lora).map_err(js)?;
        }
        info.describe(&policy, quant);
        let demo = Demo::start(selected, cfg, sizes, policy, Some(info))?;
        demo.state.borrow_mut().base = Some(base);
        Ok(demo)
    }

    /// The state every page starts from: the task's data, its reward, the
    /// policy and its equal-step SFT reference.
    fn start(
        selected: restlm::device::Selected,
        cfg: RunConfig,
        sizes: Sizes,
        policy: Policy,
        info: Option<ModelInfo>,
    ) -> Result<Demo, JsValue> {
        let device = selected.device.clone();
        // The configured task, as `restlm run` makes it; the page grows on
        // its first prompts and scores the first held-out ones.
        let (mut train, mut eval) = load_data(&cfg).map_err(js)?;
        let reward = reward_for(&cfg, &train, &eval, &device).map_err(js)?;
        let dataset: Vec<Record> = demonstrations(&train).into_iter().cloned().collect();
        train.truncate(sizes.prompts);
        eval.truncate(sizes.heldout);
        let prompt_len = longest_prompt(&policy, &train, cfg.data.max_prompt_tokens).map_err(js)?;
        let state = State {
            cfg,
            sizes,
            sft: policy.clone(),
            policy,
            train,
            dataset,
            eval,
            grown: Vec::new(),
            grow_step: 0,
            prompt_len,
            improving: None,
            reward,
            deferred: None,
            awaiting: Awaiting::Nothing,
            base: None,
        };
        Ok(Demo {
            state: Rc::new(RefCell::new(state)),
            selected,
            info,
        })
    }

    /// What the loaded GGUF model is, as JSON (none for the page's own
    /// policy).
    pub fn model_info(&self) -> Option<String> {
        self.info
            .as_ref()
            .map(|i| serde_json::to_string(i).expect("plain fields"))
    }

    /// ReST's policy's greedy completion of `prompt` (laid out as the
    /// task's prompts are), special tokens dropped, as JSON `{text,
    /// logprob}` (Σ log π of its tokens and `<eos>`, as `restlm sample`
    /// prints it).
    pub fn complete(&self, prompt: String) -> js_sys::Promise {
        let state = self.state.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let (policy, max_prompt, opts) = {
                let st = state.borrow();
                // One row, as `restlm sample` decodes one prompt.
                let opts = SampleOptions {
                    pick: PickOptions::GREEDY,
                    batch_size: 1,
                    ..sample_options(&st.cfg, st.cfg.seed)
                };
                (st.policy.clone(), st.cfg.data.max_prompt_tokens, opts)
            };
            let out = policy
                .complete_async(&[prompt.as_str()], 1, max_prompt, &opts)
                .await
                .map_err(js)?;
            let (text, g) = &out[0][0];
            let json = serde_json::json!({ "text": text, "logprob": g.logprob });
            Ok(JsValue::from_str(&json.to_string()))
        })
    }

    /// Which device runs, as a short sentence for the page.
    pub fn backend(&self) -> String {
        use restlm::device::Runtime;
        let on_device = restlm::ops::OpPath::of(&self.selected.device).sampler();
        match (self.selected.runtime, &self.selected.fallback) {
            (Runtime::Wgpu, _) => format!(
                "WebGPU in this browser; the next token is chosen {}.",
                if on_device {
                    "on the GPU"
                } else {
                    "on the host"
                }
            ),
            (Runtime::Flex, None) => "The CPU, through burn's Flex backend in WebAssembly.".into(),
            (Runtime::Flex, Some(_)) => "The CPU, through burn's Flex backend in WebAssembly: \
                 this browser offers no WebGPU adapter."
                .into(),
        }
    }

    /// "webgpu" or "cpu": which backend runs, for scripts.
    pub fn backend_kind(&self) -> String {
        match self.selected.runtime {
            restlm::device::Runtime::Wgpu => "webgpu".into(),
            restlm::device::Runtime::Flex => "cpu".into(),
        }
    }

    /// Why the page fell back to the CPU, in full (for the console).
    pub fn fallback_reason(&self) -> Option<String> {
        self.selected.fallback.clone()
    }

    /// The reward's name (the task's verifier by default).
    pub fn reward_name(&self) -> String {
        self.state.borrow().reward.name().to_string()
    }

    /// Starts a Grow: forgets the previous grown set and puts D (every
    /// demonstration, scored) in the new one. Returns how many
    /// `grow_chunk` calls it takes.
    pub fn start_grow(&self) -> Result<usize, JsValue> {
        let mut guard = self.state.borrow_mut();
        let st = &mut *guard;
        st.grown.clear();
        st.expect_scores(Awaiting::Grown(0))?;
        st.grow_step += 1;
        let setup = st.grow_setup();
        let dataset: Vec<&Record> = st.dataset.iter().collect();
        let rows = dataset_rows(&dataset, st.reward.as_mut(), &setup, None).map_err(js)?;
        st.grown.extend(rows);
        let per = prompts_per_batch(&setup).min(st.sizes.chunk.max(1));
        Ok(st.train.len().div_ceil(per))
    }

    /// Samples N outputs for chunk `i` of the training prompts and scores
    /// them (the library's Grow batch). Resolves to the scored samples as JSON.
    pub fn grow_chunk(&self, i: usize) -> js_sys::Promise {
        let state = self.state.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let (policy, records, setup, mut reward, prompt_len) = {
                let mut st = state.borrow_mut();
                let from = st.grown.len();
                st.expect_scores(Awaiting::Grown(from))?;
                let setup = st.grow_setup();
                let per = prompts_per_batch(&setup).min(st.sizes.chunk.max(1));
                let records: Vec<Record> =
                    st.train.iter().skip(i * per).take(per).cloned().collect();
                let reward = st.take_reward();
                (st.policy.clone(), records, setup, reward, st.prompt_len)
            };
            let chunk: Vec<&Record> = records.iter().collect();
            let batch = sample_batch(&policy, &chunk, prompt_len, reward.as_mut(), &setup).await;
            let mut st = state.borrow_mut();
            st.reward = reward;
            let batch = batch.map_err(js)?;
            let shown: Vec<Shown> = batch
                .iter()
                .zip(
                    records
                        .iter()
                        .flat_map(|r| std::iter::repeat_n(r, setup.samples_per_prompt)),
                )
                .map(|(g, r)| Shown::of(g, r.reference(), &policy))
                .collect();
            let json = serde_json::to_string(&shown).map_err(js)?;
            st.grown.extend(batch);
            Ok(JsValue::from_str(&json))
        })
    }

    /// Scores Grow and the held-out evaluation with a reward the page
    /// computes (a JavaScript function run in a Worker) instead of the
    /// task's: each step that scores leaves its items in [`Demo::pending`]
    /// until [`Demo::settle`] hands their scores back. The held-out
    /// reward is then the mean of the page's scores of the greedy outputs.
    pub fn use_page_reward(&self) {
        let mut st = self.state.borrow_mut();
        let items = Arc::new(Mutex::new(Vec::new()));
        st.reward = Box::new(Deferred(items.clone()));
        st.deferred = Some(items);
        st.awaiting = Awaiting::Nothing;
    }

    /// The items the last scoring step left for the page's reward, as JSON
    /// (`[{prompt, sample, meta, references}]`; empty without one).
    pub fn pending(&self) -> String {
        let st = self.state.borrow();
        let items = st
            .deferred
            .as_ref()
            .map(|d| d.lock().expect("one thread").clone());
        serde_json::to_string(&items.unwrap_or_default()).expect("plain fields")
    }

    /// The page's scores of [`Demo::pending`]'s items, in order (JSON
    /// numbers, each finite in 0–100): written into the grown rows they
    /// belong to (then returned as the rows the page shows) or, for an
    /// evaluation, only taken (the page averages them).
    pub fn settle(&self, scores_json: String) -> Result<String, JsValue> {
        let mut guard = self.state.borrow_mut();
        let st = &mut *guard;
        let Some(deferred) = st.deferred.clone() else {
            return Err(js("the page's reward is not in use"));
        };
        let mut items = deferred.lock().expect("one thread");
        let scores: Vec<f64> =
            serde_json::from_str(&scores_json).map_err(|e| js(format!("the scores: {e}")))?;
        if scores.len() != items.len() {
            return Err(js(format!(
                "{} scores for {} samples",
                scores.len(),
                items.len()
            )));
        }
        if let Some((i, s)) = scores
            .iter()
            .enumerate()
            .find(|(_, s)| !(s.is_finite() && (0.0..=100.0).contains(*s)))
        {
            return Err(js(format!(
                "sample {i}'s score is {s}, not a number in 0–100"
            )));
        }
        let shown = match st.awaiting {
            Awaiting::Grown(from) => {
                let rows = &mut st.grown[from..];
                if rows.len() != scores.len() {
                    return Err(js(format!(
                        "{} scores for {} grown rows",
                        scores.len(),
                        rows.len()
                    )));
                }
                for (row, s) in rows.iter_mut().zip(&scores) {
                    row.reward = *s;
                }
                let shown: Vec<Shown> = rows
                    .iter()
                    .zip(items.iter())
                    .map(|(g, p)| {
                        Shown::of(g, p.references.first().map(String::as_str), &st.policy)
                    })
                    .collect();
                serde_json::to_string(&shown).map_err(js)?
            }
            Awaiting::Eval | Awaiting::Nothing => "[]".to_string(),
        };
        items.clear();
        st.awaiting = Awaiting::Nothing;
        Ok(shown)
    }

    /// Whether the WebGPU adapter offers `shader-f16` (16-bit floats in
    /// shaders); false on the CPU backend.
    pub fn shader_f16(&self) -> bool {
        self.selected.shader_f16
    }

    /// The device's limit on one buffer in MiB (the smaller of
    /// `maxStorageBufferBindingSize` and `maxBufferSize`), none on the CPU.
    pub fn buffer_limit_mib(&self) -> Option<f64> {
        self.selected
            .limits
            .map(|l| l.max_storage_binding.min(l.max_buffer) as f64 / (1u64 << 20) as f64)
    }

    /// The WebGPU device's memory in MB as `[in use, reserved]` (cubecl
    /// keeps the pages it reserved: the peak of the work so far); none on
    /// the CPU backend.
    pub fn gpu_memory_mb(&self) -> Option<Vec<f64>> {
        restlm::device::gpu_memory(&self.selected.device)
            .map(|m| vec![m.in_use as f64 / 1e6, m.reserved as f64 / 1e6])
    }

    /// Optimizer steps per Improve threshold.
    pub fn steps(&self) -> usize {
        self.state.borrow().cfg.improve.steps
    }

    /// Improve thresholds τ1 < τ2 < … as JSON.
    pub fn thresholds(&self) -> String {
        serde_json::to_string(&self.state.borrow().cfg.rest.thresholds).expect("numbers")
    }

    /// Starts an Improve at threshold `tau`: keeps the grown records with
    /// reward ≥ τ (D included) and returns how many it kept. The SFT
    /// reference takes as many steps on D alone.
    pub fn start_improve(&self, tau: f64) -> Result<usize, JsValue> {
        let mut st = self.state.borrow_mut();
        let kept = filter(&st.grown, tau);
        let (mp, ms) = (st.cfg.data.max_prompt_tokens, st.policy.cfg.max_seq_len);
        let (data, _) =
            improve_examples(&st.policy.tok, &kept, st.cfg.rest.loss, mp, ms).map_err(js)?;
        let (demos, _) = encode_records(&st.sft.tok, &st.dataset, mp, ms).map_err(js)?;
        let n = data.len();
        // Improve step i of this Grow: τ's place in the schedule.
        let i = 1 + st
            .cfg
            .rest
            .thresholds
            .iter()
            .position(|&t| t == tau)
            .unwrap_or(0);
        let seed = improve_seed(&st.cfg, st.grow_step, i);
        let trainer =
            |p: &Policy| Trainer::new(p.model.clone(), &p.cfg, &st.cfg.improve, seed, p.tok.pad);
        st.improving = Some((
            Training {
                trainer: trainer(&st.policy),
                data,
            },
            Training {
                trainer: trainer(&st.sft),
                data: demos,
            },
        ));
        Ok(n)
    }

    /// One optimizer step of the Improve in progress (and of the SFT
    /// reference); resolves to ReST's loss. After the last step both
    /// policies are the trained ones.
    pub fn improve_step(&self) -> js_sys::Promise {
        let state = self.state.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let loss = {
                let mut st = state.borrow_mut();
                let steps = st.cfg.improve.steps;
                let (rest, sft) = st
                    .improving
                    .as_mut()
                    .ok_or_else(|| js("no Improve in progress"))?;
                let out = rest.trainer.step(&rest.data);
                sft.trainer.step(&sft.data);
                if rest.trainer.step >= steps {
                    let (rest, sft) = (rest.trainer.policy_model(), sft.trainer.policy_model());
                    st.policy.model = rest;
                    st.sft.model = sft;
                    st.improving = None;
                }
                out.loss
            };
            let loss: f32 = loss.into_scalar_async().await.map_err(js)?;
            Ok(JsValue::from_f64(loss as f64))
        })
    }

    /// Held-out greedy reward of ReST's policy (mean over the held-out
    /// prompts, which Grow never samples).
    pub fn evaluate(&self) -> js_sys::Promise {
        let state = self.state.clone();
        wasm_bindgen_futures::future_to_promise(async move { held_out(&state, false).await })
    }

    /// Held-out greedy reward of the equal-step SFT reference.
    pub fn evaluate_sft(&self) -> js_sys::Promise {
        let state = self.state.clone();
        wasm_bindgen_futures::future_to_promise(async move { held_out(&state, true).await })
    }
}
