//! The browser demo: a thin wasm-bindgen shell over the restlm library.
//! The page (web/www/main.js) calls these methods one small unit of work at
//! a time (a batch of prompts, one optimizer step) and awaits each, so the
//! page keeps drawing while the policy trains. Model, sampler, rewards,
//! filter and training step are the library's; nothing is reimplemented.

use restlm::Policy;
use restlm::burn::prelude::Device;
use restlm::config::{LossKind, RunConfig};
use restlm::data::{Encoded, Record};
use restlm::rest::run::{load_data, sample_options};
use restlm::rest::{Grown, filter, improve_examples};
use restlm::reward::{self, Item, Reward};
use restlm::sample::PickOptions;
use restlm::train::Trainer;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// How much work the page asks for (URL parameters override the defaults).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Sizes {
    /// Training prompts Grow samples from.
    pub prompts: usize,
    /// Samples per prompt (N).
    pub samples: usize,
    /// Held-out prompts scored after every step.
    pub heldout: usize,
    /// Optimizer steps per Improve threshold.
    pub steps: usize,
    /// Improve thresholds τ1 < τ2 < … (chrF).
    pub thresholds: Vec<f64>,
    /// Prompts per Grow call (one call = one await for the page).
    pub chunk: usize,
    pub max_new_tokens: usize,
}

impl Default for Sizes {
    fn default() -> Self {
        Self {
            prompts: 64,
            samples: 4,
            heldout: 32,
            steps: 20,
            thresholds: vec![40.0, 60.0],
            chunk: 16,
            max_new_tokens: 40,
        }
    }
}

struct State {
    cfg: RunConfig,
    sizes: Sizes,
    policy: Policy,
    train: Vec<Record>,
    eval: Vec<Record>,
    grown: Vec<Grown>,
    grow_step: usize,
    /// The Improve in progress: its trainer and examples.
    improving: Option<(Trainer, Vec<Encoded>)>,
    reward: Box<dyn Reward>,
}

/// One row the page shows after Grow.
#[derive(Serialize)]
struct Shown<'a> {
    prompt: &'a str,
    sample: &'a str,
    reference: &'a str,
    reward: f64,
}

fn js(e: impl std::fmt::Display) -> JsValue {
    JsValue::from_str(&e.to_string())
}

#[wasm_bindgen]
pub struct Demo {
    state: Rc<RefCell<State>>,
    backend: String,
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
        let selected = restlm::device::select_async(&backend).await.map_err(js)?;
        let device: Device = selected.device.clone();
        let sizes: Sizes = serde_json::from_str(&sizes_json).map_err(js)?;
        let mut cfg = RunConfig::default();
        cfg.sample.max_new_tokens = sizes.max_new_tokens;
        cfg.improve.steps = sizes.steps;
        let policy = Policy::from_bytes(
            &config_json,
            model_bpk,
            &tokenizer_json,
            &tokens_json,
            &device,
        )
        .map_err(js)?;
        let (mut train, mut eval) = load_data(&cfg).map_err(js)?;
        train.truncate(sizes.prompts);
        eval.truncate(sizes.heldout);
        let reward = reward::from_config(&cfg.reward).map_err(js)?;
        let state = State {
            cfg,
            sizes,
            policy,
            train,
            eval,
            grown: Vec::new(),
            grow_step: 0,
            improving: None,
            reward,
        };
        let sampler = if restlm::sample::kernels::supported(&device) {
            "next token chosen on the device"
        } else {
            "next token chosen on the host"
        };
        Ok(Demo {
            state: Rc::new(RefCell::new(state)),
            backend: format!("{}; {sampler}", selected.description),
        })
    }

    /// Which device runs: adapter and graphics API, or the CPU backend.
    pub fn backend(&self) -> String {
        self.backend.clone()
    }

    /// Starts a Grow: forgets the previous grown set. Returns how many
    /// `grow_chunk` calls it takes.
    pub fn start_grow(&self) -> usize {
        let mut st = self.state.borrow_mut();
        st.grown.clear();
        st.grow_step += 1;
        st.train.len().div_ceil(st.sizes.chunk.max(1))
    }

    /// Samples N outputs for chunk `i` of the training prompts and scores
    /// them with chrF; the first chunk also adds D (the references).
    /// Resolves to the chunk's scored samples as JSON.
    pub fn grow_chunk(&self, i: usize) -> js_sys::Promise {
        let state = self.state.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let (policy, records, opts, n, max_prompt, g) = {
                let st = state.borrow();
                let c = st.sizes.chunk.max(1);
                let records: Vec<Record> = st.train.iter().skip(i * c).take(c).cloned().collect();
                let opts = sample_options(
                    &st.cfg,
                    st.cfg.seed ^ (st.grow_step as u64) << 32 ^ i as u64,
                );
                (
                    st.policy.clone(),
                    records,
                    opts,
                    st.sizes.samples,
                    st.cfg.data.max_prompt_tokens,
                    st.grow_step,
                )
            };
            let prompts: Vec<&str> = records.iter().map(|r| r.prompt.as_str()).collect();
            let out = policy
                .complete_async(&prompts, n, max_prompt, &opts)
                .await
                .map_err(js)?;
            let mut st = state.borrow_mut();
            let mut rows = Vec::new();
            for (r, samples) in records.iter().zip(&out) {
                for (s, (text, generation)) in samples.iter().enumerate() {
                    rows.push(Grown {
                        grow: g,
                        prompt_id: r.id.clone(),
                        sample_index: Some(s),
                        prompt: r.prompt.clone(),
                        sample: text.clone(),
                        reward: 0.0,
                        logprob: Some(generation.logprob),
                        finished: generation.finished,
                    });
                }
                // D: the reference itself, as in the CLI's grown sets.
                rows.push(Grown {
                    grow: g,
                    prompt_id: r.id.clone(),
                    sample_index: None,
                    prompt: r.prompt.clone(),
                    sample: r.target.clone(),
                    reward: 0.0,
                    logprob: None,
                    finished: true,
                });
            }
            let refs: Vec<&str> = records
                .iter()
                .flat_map(|r| std::iter::repeat_n(r.target.as_str(), n + 1))
                .collect();
            let items: Vec<Item> = rows
                .iter()
                .zip(&refs)
                .map(|(g, reference)| Item {
                    prompt: &g.prompt,
                    sample: &g.sample,
                    reference,
                })
                .collect();
            let scores = reward::score_all(st.reward.as_mut(), &items, 256).map_err(js)?;
            for (g, s) in rows.iter_mut().zip(scores) {
                g.reward = s;
            }
            let shown: Vec<Shown> = rows
                .iter()
                .zip(&refs)
                .filter(|(g, _)| g.sample_index.is_some())
                .map(|(g, reference)| Shown {
                    prompt: &g.prompt,
                    sample: &g.sample,
                    reference,
                    reward: g.reward,
                })
                .collect();
            let json = serde_json::to_string(&shown).map_err(js)?;
            st.grown.extend(rows);
            Ok(JsValue::from_str(&json))
        })
    }

    /// Improve thresholds τ1 < τ2 < … as JSON.
    pub fn thresholds(&self) -> String {
        serde_json::to_string(&self.state.borrow().sizes.thresholds).expect("numbers")
    }

    /// Starts an Improve at threshold `tau`: keeps the grown records with
    /// reward ≥ τ (D included) and returns how many it kept.
    pub fn start_improve(&self, tau: f64) -> Result<usize, JsValue> {
        let mut st = self.state.borrow_mut();
        let kept = filter(&st.grown, tau);
        let (mp, ms) = (st.cfg.data.max_prompt_tokens, st.policy.cfg.max_seq_len);
        let (data, _) =
            improve_examples(&st.policy.tok, &kept, LossKind::Bc, mp, ms).map_err(js)?;
        let n = data.len();
        let trainer = Trainer::new(
            st.policy.model.clone(),
            &st.policy.cfg,
            &st.cfg.improve,
            st.cfg.seed ^ tau.to_bits(),
            st.policy.tok.pad,
        );
        st.improving = Some((trainer, data));
        Ok(n)
    }

    /// One optimizer step of the Improve in progress; resolves to its loss.
    /// After the last step the policy is the improved one.
    pub fn improve_step(&self) -> js_sys::Promise {
        let state = self.state.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let loss = {
                let mut st = state.borrow_mut();
                let steps = st.cfg.improve.steps;
                let (trainer, data) = st
                    .improving
                    .as_mut()
                    .ok_or_else(|| js("no Improve in progress"))?;
                let out = trainer.step(data);
                if trainer.step >= steps {
                    let model = trainer.policy_model();
                    st.policy.model = model;
                    st.improving = None;
                }
                out.loss
            };
            let loss: f32 = loss.into_scalar_async().await.map_err(js)?;
            Ok(JsValue::from_f64(loss as f64))
        })
    }

    /// Held-out greedy chrF of the current policy (mean over the held-out
    /// prompts, which Grow never samples).
    pub fn evaluate(&self) -> js_sys::Promise {
        let state = self.state.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let (policy, eval, opts, max_prompt) = {
                let st = state.borrow();
                let mut opts = sample_options(&st.cfg, st.cfg.seed);
                opts.pick = PickOptions::GREEDY;
                (
                    st.policy.clone(),
                    st.eval.clone(),
                    opts,
                    st.cfg.data.max_prompt_tokens,
                )
            };
            let prompts: Vec<&str> = eval.iter().map(|r| r.prompt.as_str()).collect();
            let out = policy
                .complete_async(&prompts, 1, max_prompt, &opts)
                .await
                .map_err(js)?;
            let items: Vec<Item> = eval
                .iter()
                .zip(&out)
                .map(|(r, o)| Item {
                    prompt: &r.prompt,
                    sample: &o[0].0,
                    reference: &r.target,
                })
                .collect();
            let mut st = state.borrow_mut();
            let scores = reward::score_all(st.reward.as_mut(), &items, 256).map_err(js)?;
            let mean = scores.iter().sum::<f64>() / scores.len().max(1) as f64;
            Ok(JsValue::from_f64(mean))
        })
    }
}
