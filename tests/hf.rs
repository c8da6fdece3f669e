//! Hugging Face import and export, checked against `transformers` outputs
//! saved by scripts/make_hf_fixtures.py: tiny random-weight Llama (sharded
//! f32), Qwen2 (bf16, q/k/v biases, tied) and GPT-2 (f16) models.

mod common;

use common::hf::{FIXTURES, fixture_dir, logits, matches_transformers, reference};
use common::max_abs_diff;
use restlm::policy::Policy;

fn cpu() -> restlm::burn::prelude::Device {
    restlm::device::select("cpu").expect("cpu").device
}

fn temp(name: &str) -> common::Scratch {
    common::Scratch::new(&format!("hf-{name}"))
}

// Both sides compute in f32 from the same (bf16/f16-rounded) weights; they
// differ only in summation order, ~1e-6 on logits of magnitude ~5. A wrong
// transpose, bias, norm or position moves logits by ≥ 1e-1.
const CPU_TOL: f32 = 1e-4;

#[test]
fn imports_match_transformers_on_cpu() {
    for name in FIXTURES {
        matches_transformers(name, &cpu(), CPU_TOL);
    }
}

#[test]
fn export_then_import_reproduces_the_logits() {
    for name in FIXTURES {
        let r = reference(name);
        let policy = Policy::load(&fixture_dir(name), &cpu()).unwrap();
        let scratch = temp(&format!("export-{name}"));
        let dir = scratch.join("m");
        policy.export_hf(&dir).unwrap();
        for f in ["config.json", "model.safetensors", "tokenizer.json"] {
            assert!(dir.join(f).exists(), "{name}: export lacks {f}");
        }
        let back = Policy::load(&dir, &cpu()).unwrap();
        assert_eq!(back.cfg, policy.cfg, "{name}: config round trip");
        assert_eq!(back.tok.layout(), policy.tok.layout());
        let diff = max_abs_diff(&logits(&back, &r.ids), &logits(&policy, &r.ids));
        assert_eq!(diff, 0.0, "{name}: f32 export must be lossless");
        // Exporting over an existing directory is refused.
        assert!(policy.export_hf(&dir).is_err());
    }
}

/// A copy of a fixture with `edit` applied to its config.json.
fn edited(name: &str, edit: impl Fn(&mut serde_json::Value)) -> common::Scratch {
    let dir = temp(&format!("edit-{name}"));
    let config = fixture_dir(name).join("config.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    edit(&mut v);
    common::hf::fixture_copy_with(name, &dir, "config.json", v.to_string().as_bytes());
    dir
}

fn load_error(dir: &std::path::Path) -> String {
    match Policy::load(dir, &cpu()) {
        Ok(_) => panic!("{} loaded", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn unsupported_architecture_and_wrong_shapes_are_named() {
    let dir = edited("llama", |v| {
        v["architectures"] = serde_json::json!(["MambaForCausalLM"])
    });
    let e = load_error(&dir);
    assert!(
        e.contains("MambaForCausalLM") && e.contains("LlamaForCausalLM"),
        "{e}"
    );

    let dir = edited("qwen2", |v| v["intermediate_size"] = 100.into());
    let e = load_error(&dir);
    assert!(
        e.contains("model.layers.0.mlp.gate_proj.weight") && e.contains("[96, 64]"),
        "{e}"
    );

    let dir = edited("gpt2", |v| v["n_layer"] = 3.into());
    let e = load_error(&dir);
    assert!(e.contains("missing tensor h.2."), "{e}");

    let dir = edited("llama", |v| v["num_hidden_layers"] = 1.into());
    let e = load_error(&dir);
    assert!(e.contains("do not fit") && e.contains("layers.1"), "{e}");

    let dir = edited("llama", |v| {
        v["rope_parameters"] = serde_json::json!({"rope_type": "yarn", "rope_theta": 1e4})
    });
    assert!(load_error(&dir).contains("yarn"));
}

#[test]
fn plain_prompt_format_of_an_imported_tokenizer() {
    let p = Policy::load(&fixture_dir("gpt2"), &cpu()).unwrap();
    let nl = p.tok.encode("\n").unwrap();
    let hello = p.tok.encode("la hundo").unwrap();
    // No post-processor adds a bos, so a prompt is its text then "\n".
    assert_eq!(p.tok.bos, None);
    assert_eq!(p.prompt_ids("la hundo", 100).unwrap(), [hello, nl].concat());
    assert_eq!(p.tok.eos, 0);
}

#[test]
fn a_restlm_policy_exports_and_comes_back_with_its_prompt_layout() {
    let device = cpu();
    let tok = common::task_tokenizer();
    let cfg = common::tiny_model(tok.vocab_size());
    let policy = Policy {
        model: common::seeded_model(&cfg, &device, 3),
        cfg,
        tok,
    };
    let scratch = temp("native");
    let dir = scratch.join("m");
    policy.export_hf(&dir).unwrap();
    let back = Policy::load(&dir, &device).unwrap();
    assert_eq!(back.tok.layout(), policy.tok.layout());
    let prompt = "la granda hundo";
    assert_eq!(
        back.prompt_ids(prompt, 20).unwrap(),
        policy.prompt_ids(prompt, 20).unwrap()
    );
    let ids = vec![(0..24).map(|i| (i * 37 % 299) as i64).collect::<Vec<_>>()];
    assert_eq!(
        max_abs_diff(&logits(&back, &ids), &logits(&policy, &ids)),
        0.0
    );
}
