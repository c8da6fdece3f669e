//! Checks against the outputs of Hugging Face `transformers` saved by
//! scripts/make_hf_fixtures.py (tiny random-weight models, committed).

use super::{max_abs_diff, to_vec};
use restlm::burn::prelude::*;
use restlm::policy::Policy;
use restlm::sample::{self, PickOptions, SampleOptions, Special};
use serde::Deserialize;
use std::path::PathBuf;

pub const FIXTURES: [&str; 3] = ["llama", "qwen2", "gpt2"];

#[derive(Deserialize)]
pub struct Reference {
    pub ids: Vec<Vec<i64>>,
    pub logits: Vec<f32>,
    pub shape: Vec<usize>,
    pub prompts: Vec<Vec<u32>>,
    pub greedy: Vec<Vec<u32>>,
}

pub fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hf")
        .join(name)
}

/// A copy of fixture `name` in `dir` with `file` replaced by `bytes`
/// (other files hard-linked where the filesystem allows, else copied).
pub fn fixture_copy_with(name: &str, dir: &std::path::Path, file: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    for e in std::fs::read_dir(fixture_dir(name)).unwrap() {
        let e = e.unwrap();
        let to = dir.join(e.file_name());
        if e.file_name() != file {
            std::fs::hard_link(e.path(), &to)
                .or_else(|_| std::fs::copy(e.path(), &to).map(|_| ()))
                .unwrap();
        }
    }
    std::fs::write(dir.join(file), bytes).unwrap();
}

pub fn reference(name: &str) -> Reference {
    let path = fixture_dir(name).join("reference.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json")
}

/// Logits [B·T·V] of `policy` on `ids` (rows of equal length).
pub fn logits(policy: &Policy, ids: &[Vec<i64>]) -> Vec<f32> {
    let device = policy.device();
    let (b, t) = (ids.len(), ids[0].len());
    let flat: Vec<i64> = ids.concat();
    let tokens = Tensor::<2, Int>::from_data(TensorData::new(flat, [b, t]), &device);
    to_vec(policy.model.forward_causal(tokens))
}

/// Greedy continuations of the reference prompts, decoded together in one
/// left-padded batch (the prompts differ in length).
pub fn greedy(policy: &Policy, r: &Reference) -> Vec<Vec<u32>> {
    let opts = SampleOptions {
        pick: PickOptions::GREEDY,
        max_new_tokens: r.greedy[0].len(),
        batch_size: 4,
        seed: 0,
        use_cache: true,
        on_device: true,
    };
    // No stop token: transformers generated with eos disabled.
    let special = Special {
        eos: u32::MAX,
        pad: policy.tok.pad,
    };
    let gens =
        sample::generate(&policy.model, &policy.cfg, &special, &r.prompts, 1, &opts).unwrap();
    gens.into_iter().map(|g| g[0].tokens.clone()).collect()
}

/// Imports the fixture `name` on `device` and compares logits (max |Δ| ≤
/// `tol`) and greedy tokens (identical) with transformers'.
pub fn matches_transformers(name: &str, device: &Device, tol: f32) -> Policy {
    let r = reference(name);
    let policy = Policy::load(&fixture_dir(name), device).expect("fixture imports");
    let got = logits(&policy, &r.ids);
    assert_eq!(got.len(), r.shape.iter().product::<usize>());
    let diff = max_abs_diff(&got, &r.logits);
    let scale = r.logits.iter().fold(0f32, |m, x| m.max(x.abs()));
    eprintln!("{name}: max |Δlogit| = {diff:.2e} (logits up to {scale:.2})");
    assert!(diff <= tol, "{name}: max |Δlogit| {diff} > {tol}");
    assert_eq!(greedy(&policy, &r), r.greedy, "{name}: greedy tokens");
    policy
}

/// A small chat template of the usual shape (role markers, generation
/// prompt), for fixtures of an instruct model.
pub const CHAT_TEMPLATE: &str = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";

/// The llama fixture as a downloaded instruct model's GGUF would be, at
/// `path`: it carries a chat template, and its prompt format is `format`
/// (a raw download is plain; a restlm export in chat format records it).
pub fn instruct_gguf(path: &std::path::Path, format: restlm::tokenizer::PromptFormat) {
    let mut p = Policy::load(&fixture_dir("llama"), &Device::flex()).unwrap();
    p.tok.chat_template = Some(CHAT_TEMPLATE.into());
    p.tok = p.tok.clone().with_format(format).unwrap();
    p.export_gguf(path, restlm::model::gguf::Encoding::F32)
        .unwrap();
}

/// The llama fixture as a downloaded instruct model's Hugging Face
/// directory: `tokenizer_config.json` with a chat template.
pub fn instruct_hf(dir: &std::path::Path) {
    let config = serde_json::json!({ "chat_template": CHAT_TEMPLATE });
    fixture_copy_with(
        "llama",
        dir,
        "tokenizer_config.json",
        config.to_string().as_bytes(),
    );
}
