//! Fine-tuning a pretrained policy: LoRA (only the adapters train, merging
//! equals base + adapter, the adapters survive checkpoints and exports) and
//! the learning-rate defaults for a pretrained start.

mod common;

use common::{encoded_task, max_abs_diff, seeded_model, task_tokenizer, tiny_model, to_vec};
use restlm::burn::module::{Module, ModuleVisitor, Param};
use restlm::burn::prelude::*;
use restlm::model::{LoraConfig, Transformer};
use restlm::policy::Policy;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn cpu() -> Device {
    restlm::device::select("cpu").expect("cpu").device
}

/// Every float parameter's values, by id, with whether it trains.
struct Values(BTreeMap<String, (Vec<f32>, bool)>);

impl ModuleVisitor for Values {
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
        self.0
            .insert(p.id.to_string(), (to_vec(p.val()), p.is_require_grad()));
    }
}

/// Values of every parameter, and whether it trains once the model is set
/// up for training (on an autodiff device, as the trainer does).
fn values(m: &Transformer) -> BTreeMap<String, (Vec<f32>, bool)> {
    let mut v = Values(BTreeMap::new());
    m.clone().fork(&cpu().autodiff()).train().visit(&mut v);
    v.0
}

fn logits(m: &Transformer, ids: &[i64]) -> Vec<f32> {
    let device = m.devices()[0].clone();
    let tokens =
        Tensor::<2, Int>::from_data(TensorData::new(ids.to_vec(), [1, ids.len()]), &device);
    to_vec(m.forward_causal(tokens))
}

const LORA: LoraConfig = LoraConfig {
    rank: 4,
    alpha: 8.0,
    base: None,
    base_dtype: restlm::model::BaseDtype::F32,
};

/// A tiny policy with adapters, trained `steps` steps.
fn trained(steps: usize) -> (Policy, Policy) {
    let tok = task_tokenizer();
    let cfg = tiny_model(tok.vocab_size());
    let base = Policy {
        model: seeded_model(&cfg, &cpu(), 5),
        cfg,
        tok,
    };
    let mut p = base.clone().with_lora(&LORA).unwrap();
    let data = encoded_task(&p.tok, 16, p.cfg.max_seq_len);
    let model = common::train_for(p.model.clone(), &p.cfg, &data, p.tok.pad, steps, 8);
    p.model = model;
    (base, p)
}

#[test]
fn only_the_adapters_train() {
    let _serial = common::autodiff_lock();
    let (base, p) = trained(3);
    // The projections carry their adapters (which `project` computes as
    // x·W + s·(x·A)·B), the embeddings none.
    let layer = &p.model.layers[1];
    assert!(layer.self_attn.k_proj.weight.adapter().is_some());
    assert!(layer.mlp.down_proj.weight.adapter().is_some());
    assert!(p.model.embed_tokens.weight.adapter().is_none());
    let before = values(&base.model);
    let after = values(&p.model);
    // Base parameters: same ids, same values, frozen.
    for (id, (v, _)) in &before {
        let (w, trains) = after.get(id).expect("base parameter kept");
        assert!(!trains, "base parameter {id} trains");
        assert_eq!(v, w, "base parameter {id} moved");
    }
    // Adapters: A and B for 7 projections in each of 2 layers, all training,
    // and B (zero at the start) has moved.
    let adapters: Vec<_> = after
        .iter()
        .filter(|(id, _)| !before.contains_key(*id))
        .collect();
    assert_eq!(adapters.len(), 2 * 7 * p.cfg.n_layers);
    assert!(adapters.iter().all(|(_, (_, trains))| *trains));
    let moved = adapters
        .iter()
        .filter(|(_, (v, _))| v.iter().any(|x| *x != 0.0))
        .count();
    assert_eq!(
        moved,
        adapters.len(),
        "every factor is non-zero after training"
    );
    // And the model's output changed.
    let ids: Vec<i64> = (0..12).map(|i| (i * 7 % 200) as i64).collect();
    let d = max_abs_diff(&logits(&base.model, &ids), &logits(&p.model, &ids));
    assert!(d > 1e-3, "training the adapters changed nothing ({d})");
}

/// What the browser page reports of a loaded model: parameters, the LoRA
/// adapters' (the ones that train), and the bytes the weights hold, where
/// a quantised projection holds its blocks (36 bytes per 32 Q8_0 values:
/// 32 one-byte values and an f32 scale) instead of f32s.
#[test]
fn a_footprint_counts_the_base_the_adapters_and_quantised_blocks() {
    use restlm::cpu::quant::QuantKind;
    let _serial = common::autodiff_lock();
    let (base, p) = trained(0);
    let numel = |vals: &BTreeMap<String, (Vec<f32>, bool)>, training: bool| -> usize {
        vals.values()
            .filter(|(_, t)| *t == training)
            .map(|(v, _)| v.len())
            .sum()
    };
    let plain = values(&base.model);
    let f = base.model.footprint();
    assert_eq!(
        f.params,
        numel(&plain, true),
        "every parameter of a plain model"
    );
    assert_eq!((f.adapters, f.bytes), (0, 4 * f.params));
    let with = values(&p.model);
    let g = p.model.footprint();
    assert_eq!(g.params, f.params, "adapters are not the base's parameters");
    assert_eq!(
        g.adapters,
        numel(&with, true),
        "the adapters are what trains"
    );
    assert!(g.adapters > 0);
    assert_eq!(g.bytes, 4 * (g.params + g.adapters));
    // Q8_0: each projection's f32 weight gives way to its blocks, and the
    // output head gets a copy in blocks for sampling.
    let q = base
        .model
        .clone()
        .quantized(QuantKind::Q8_0)
        .with_lora(&LORA);
    let h = q.footprint();
    assert_eq!((h.params, h.adapters), (g.params, g.adapters));
    let mut proj = 0;
    for (_, pr) in base.model.clone().projections_mut() {
        proj += pr.weight.val().dims().iter().product::<usize>();
    }
    let head = base.cfg.vocab_size * base.cfg.d_model;
    let want = 4 * (g.params + g.adapters - proj) + (proj + head) / 32 * 36;
    assert_eq!(h.bytes, want, "Q8_0 base: {h:?}");
}

#[test]
fn merging_equals_base_plus_adapter_and_survives_save_and_export() {
    let _serial = common::autodiff_lock();
    let (_, p) = trained(3);
    let ids: Vec<i64> = (0..12).map(|i| (i * 11 % 200) as i64).collect();
    let want = logits(&p.model, &ids);
    // Merged: W + (α/r)·A·B folded once. Same products in another order:
    // ~1e-6 on logits of magnitude ~1.
    let merged = p.merged();
    assert_eq!(merged.cfg.lora, None);
    assert_eq!(
        values(&merged.model).len(),
        values(&p.model).len() - 2 * 7 * p.cfg.n_layers
    );
    let d = max_abs_diff(&logits(&merged.model, &ids), &want);
    assert!(d <= 1e-4, "merged logits differ by {d}");

    let dir = std::env::temp_dir().join(format!("restlm-lora-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // A checkpoint keeps the adapters (and the base frozen).
    p.save(&dir.join("ckpt"), &Default::default()).unwrap();
    // Replacing a checkpoint keeps files it does not write (`sft --out`'s
    // metrics), and an appender holding one open keeps writing to it.
    let metrics = dir.join("ckpt/metrics.jsonl");
    let mut m = restlm::report::Metrics::to_file(&metrics).unwrap();
    m.log(serde_json::json!({"step": 1})).unwrap();
    p.save(&dir.join("ckpt"), &Default::default()).unwrap();
    m.log(serde_json::json!({"step": 2})).unwrap();
    assert_eq!(
        std::fs::read_to_string(&metrics).unwrap().lines().count(),
        2
    );
    let back = Policy::load(&dir.join("ckpt"), &cpu()).unwrap();
    assert_eq!(back.cfg.lora, Some(LORA));
    assert_eq!(logits(&back.model, &ids), want);
    let trainable = values(&back.model).values().filter(|(_, t)| *t).count();
    assert_eq!(trainable, 2 * 7 * p.cfg.n_layers);
    // Exports merge.
    p.export_hf(&dir.join("hf")).unwrap();
    let hf = Policy::load(&dir.join("hf"), &cpu()).unwrap();
    assert_eq!(hf.cfg.lora, None);
    let d = max_abs_diff(&logits(&hf.model, &ids), &want);
    assert!(d <= 1e-4, "exported logits differ by {d}");
    // Attaching other adapters over these is refused.
    let other = LoraConfig {
        base: None,
        rank: 2,
        alpha: 2.0,
        base_dtype: Default::default(),
    };
    assert!(p.clone().with_lora(&other).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn finetune_defaults_apply_only_where_the_config_is_silent() {
    let _serial = common::autodiff_lock();
    let dir = std::env::temp_dir().join(format!("restlm-ftcfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("c.toml");
    std::fs::write(
        &path,
        "[sft]\nlr = 1e-4\n[improve]\nwarmup_steps = 7\n[lora]\nrank = 4\nalpha = 8.0\n",
    )
    .unwrap();
    let mut cfg = restlm::config::RunConfig::load(&path).unwrap();
    assert_eq!(cfg.lora, Some(LORA));
    let changed = cfg.use_finetune_defaults();
    assert_eq!(cfg.sft.lr, 1e-4, "given: kept");
    assert_eq!(cfg.improve.warmup_steps, 7, "given: kept");
    assert_eq!(cfg.improve.lr, restlm::config::FINETUNE_IMPROVE_LR);
    assert_eq!(cfg.sft.warmup_steps, restlm::config::FINETUNE_WARMUP);
    assert_eq!(changed.len(), 2, "{changed:?}");
    // Bad adapter settings are a config error naming them.
    std::fs::write(&path, "[lora]\nrank = 0\nalpha = 8.0\n").unwrap();
    let e = restlm::config::RunConfig::load(&path)
        .unwrap_err()
        .to_string();
    assert!(e.contains("c.toml") && e.contains("lora: rank"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Gradient checkpointing (activations recomputed a layer at a time,
/// `restlm::train::recompute`) trains to the weights whole-graph training
/// reaches: full fine-tuning with a tied and an untied head, GPT-2's
/// learned positions, LoRA, and LoRA on a quantised base.
#[test]
fn gradient_checkpointing_trains_to_the_same_weights() {
    use restlm::cpu::quant::QuantKind;
    let _serial = common::autodiff_lock();
    let tok = task_tokenizer();
    let tied = tiny_model(tok.vocab_size());
    let data = encoded_task(&tok, 16, tied.max_seq_len);
    let ids: Vec<i64> = (0..12).map(|i| (i * 13 % 200) as i64).collect();
    let untied = restlm::model::ModelConfig {
        tie_embeddings: false,
        ..tied.clone()
    };
    let gpt2 = restlm::model::ModelConfig {
        arch: restlm::model::Arch::Gpt2,
        n_kv_heads: tied.n_heads,
        qkv_bias: true,
        o_bias: true,
        mlp_bias: true,
        ..tied.clone()
    };
    #[derive(Clone, Copy, Debug)]
    enum Train {
        Full,
        Lora,
        QuantLora,
    }
    let cases = [
        (&tied, Train::Full),
        (&untied, Train::Full),
        (&gpt2, Train::Full),
        (&tied, Train::Lora),
        (&gpt2, Train::Lora),
        (&tied, Train::QuantLora),
    ];
    for (cfg, how) in cases {
        let start = || {
            let model = seeded_model(cfg, &cpu(), 6);
            match how {
                Train::Full => model,
                Train::Lora => model.with_lora(&LORA),
                Train::QuantLora => model.quantized(QuantKind::Q8_0).with_lora(&LORA),
            }
        };
        let run = |checkpointing: bool| {
            let tc = restlm::config::TrainConfig {
                steps: 3,
                batch_size: 8,
                lr: 1e-2,
                eval_every: 3,
                gradient_checkpointing: checkpointing,
                ..Default::default()
            };
            let m = common::train_with(start(), cfg, &data, tok.pad, &tc, None);
            logits(&m, &ids)
        };
        let plain = run(false);
        // Recomputing an activation repeats the same f32 operations.
        let d = max_abs_diff(&run(true), &plain);
        assert!(
            d <= 1e-5,
            "{:?} {how:?}: checkpointed training differs by {d}",
            cfg.arch
        );
        assert!(max_abs_diff(&plain, &logits(&start(), &ids)) > 1e-3);
    }
}

/// The untrained tiny policy exported as a Hugging Face directory under a
/// fresh temporary `dir`, loaded back with adapters on it: (dir, base dir,
/// policy).
fn lora_on_an_exported_base(name: &str) -> (PathBuf, PathBuf, Policy) {
    let (base, _) = trained(0);
    let dir = std::env::temp_dir().join(format!("restlm-lora-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let base_dir = dir.join("base");
    base.export_hf(&base_dir).unwrap();
    let p = Policy::load(&base_dir, &cpu())
        .unwrap()
        .with_lora_on(&LORA, Some(&base_dir), 0)
        .unwrap();
    (dir, base_dir, p)
}

#[test]
fn a_checkpoint_of_adapters_on_a_base_file_holds_the_adapters_alone() {
    let _serial = common::autodiff_lock();
    let (dir, base_dir, p) = lora_on_an_exported_base("base");
    let data = encoded_task(&p.tok, 16, p.cfg.max_seq_len);
    let model = common::train_for(p.model.clone(), &p.cfg, &data, p.tok.pad, 3, 8);
    let p = Policy { model, ..p };
    let ids: Vec<i64> = (0..12).map(|i| (i * 5 % 200) as i64).collect();
    let want = logits(&p.model, &ids);

    let ckpt = dir.join("ckpt");
    p.save(&ckpt, &Default::default()).unwrap();
    assert!(!ckpt.join("model.bpk").exists(), "the base is not copied");
    let adapters = std::fs::metadata(ckpt.join("adapter.bpk")).unwrap().len();
    let base_bytes = std::fs::metadata(base_dir.join("model.safetensors"))
        .unwrap()
        .len();
    assert!(
        adapters * 4 < base_bytes,
        "adapters {adapters} B vs base {base_bytes} B"
    );
    let back = Policy::load(&ckpt, &cpu()).unwrap();
    assert_eq!(back.cfg.lora, p.cfg.lora);
    assert_eq!(logits(&back.model, &ids), want);
    // Trained further, it stays adapters alone.
    let trainable = values(&back.model).values().filter(|(_, t)| *t).count();
    assert_eq!(trainable, 2 * 7 * p.cfg.n_layers);

    // A changed base is refused, naming it.
    let cfg_path = base_dir.join("config.json");
    let text = std::fs::read_to_string(&cfg_path).unwrap();
    std::fs::write(&cfg_path, format!("{text}\n")).unwrap();
    let e = Policy::load(&ckpt, &cpu()).err().unwrap().to_string();
    assert!(e.contains("changed since the adapters were trained"), "{e}");
    // And so is a missing one.
    std::fs::remove_dir_all(&base_dir).unwrap();
    assert!(Policy::load(&ckpt, &cpu()).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_stage_resumed_from_an_adapter_checkpoint_equals_an_uninterrupted_one() {
    let _serial = common::autodiff_lock();
    let (dir, _, p) = lora_on_an_exported_base("resume");
    let data = encoded_task(&p.tok, 16, p.cfg.max_seq_len);
    // A constant learning rate, so that a 2-step stage is the first half
    // of a 4-step one.
    let stage = |start: Transformer, steps: usize, ckpt: Option<&std::path::Path>| {
        let tc = restlm::config::TrainConfig {
            steps,
            batch_size: 8,
            lr: 1e-2,
            warmup_steps: 0,
            min_lr_ratio: 1.0,
            eval_every: 2,
            ..Default::default()
        };
        common::train_with(start, &p.cfg, &data, p.tok.pad, &tc, ckpt)
    };
    let ids: Vec<i64> = (0..12).map(|i| (i * 3 % 200) as i64).collect();
    let straight = logits(&stage(p.model.clone(), 4, None), &ids);
    let ckpt = dir.join("ckpt");
    stage(p.model.clone(), 2, Some(&ckpt));
    assert!(ckpt.join("adapter.bpk").exists() && ckpt.join("optim.bpk").exists());
    // Handed other weights, the stage must take the checkpoint's.
    let other = common::seeded_model(&p.cfg, &cpu(), 99).with_lora(&LORA);
    let resumed = logits(&stage(other, 4, Some(&ckpt)), &ids);
    let d = max_abs_diff(&resumed, &straight);
    assert!(d <= 1e-5, "resumed training differs by {d}");
    std::fs::remove_dir_all(&dir).unwrap();
}

const LORA_Q8: LoraConfig = LoraConfig {
    base_dtype: restlm::model::BaseDtype::Q8_0,
    ..LORA
};

/// QLoRA's setting: adapters on a base held as Q8_0 / Q4_0 blocks train
/// exactly as adapters on the f32 copy of that quantised base (the same
/// dequantised weights), step by step: logits before and after 3 steps
/// agree to f32 rounding, and only the adapters train.
#[test]
fn lora_on_a_quantised_base_trains_as_on_its_dequantised_copy() {
    use restlm::cpu::quant::QuantKind;
    let _serial = common::autodiff_lock();
    let (base, _) = trained(0);
    let data = encoded_task(&base.tok, 16, base.cfg.max_seq_len);
    let ids: Vec<i64> = (0..12).map(|i| (i * 7 % 200) as i64).collect();
    for kind in [QuantKind::Q8_0, QuantKind::Q4_0] {
        let quant = base.model.clone().quantized(kind);
        assert!(quant.is_quantized());
        // The same weights in f32: the quantised base expanded.
        let plain = quant.merged();
        assert!(!plain.is_quantized());
        let f32_logits = logits(&base.model, &ids);
        let q_logits = logits(&quant, &ids);
        assert_eq!(q_logits.len(), f32_logits.len());
        let d = max_abs_diff(&q_logits, &logits(&plain, &ids));
        assert!(
            d <= 1e-4,
            "{kind:?}: quantised and dequantised logits differ by {d}"
        );
        // The same adapters on both: q's, loaded into f's by name.
        let q = quant.with_lora(&LORA);
        let adapters = q
            .clone()
            .into_record_group(restlm::burn::module::ParamGroup::from_predicate("lora"));
        let f = plain
            .with_lora(&LORA)
            .try_load_record(adapters.allow_partial(true))
            .unwrap();
        let trainable = values(&q).values().filter(|(_, t)| *t).count();
        assert_eq!(
            trainable,
            2 * 7 * base.cfg.n_layers,
            "{kind:?}: adapters alone train"
        );
        let base_blocks = |m: &Transformer| -> Vec<Vec<f32>> {
            m.clone()
                .projections_mut()
                .into_iter()
                .map(|(_, p)| to_vec(p.quant.as_ref().expect("quantised").dequantize()))
                .collect()
        };
        let before = base_blocks(&q);
        let q = common::train_for(q, &base.cfg, &data, base.tok.pad, 3, 8);
        let f = common::train_for(f, &base.cfg, &data, base.tok.pad, 3, 8);
        assert!(
            before == base_blocks(&q),
            "{kind:?}: the base's blocks changed in training"
        );
        let (lq, lf) = (logits(&q, &ids), logits(&f, &ids));
        let d = max_abs_diff(&lq, &lf);
        assert!(d <= 1e-3, "{kind:?}: after 3 steps, logits differ by {d}");
        assert!(
            max_abs_diff(&lq, &q_logits) > 1e-2,
            "{kind:?}: the adapters trained"
        );
    }
}

/// A policy on a base file held as Q8_0: its checkpoint is adapters alone,
/// loads back quantised with the same logits, and exports (merged) to
/// the f32 model it computes; without a base file it is refused, and a
/// quantised model is never saved whole.
#[test]
fn a_quantised_base_checkpoint_holds_adapters_and_loads_back_quantised() {
    let _serial = common::autodiff_lock();
    let (dir, base_dir, _) = lora_on_an_exported_base("q8");
    let p = Policy::load_base(&base_dir, None, Some(&LORA_Q8), &cpu())
        .unwrap()
        .with_lora_on(&LORA_Q8, Some(&base_dir), 0)
        .unwrap();
    assert!(p.model.is_quantized());
    assert!(
        p.model.head_quant.is_some(),
        "a quantised head for sampling"
    );
    let data = encoded_task(&p.tok, 16, p.cfg.max_seq_len);
    let model = common::train_for(p.model.clone(), &p.cfg, &data, p.tok.pad, 3, 8);
    let p = Policy { model, ..p };
    let ids: Vec<i64> = (0..12).map(|i| (i * 5 % 200) as i64).collect();
    let want = logits(&p.model, &ids);

    let ckpt = dir.join("ckpt");
    p.save(&ckpt, &Default::default()).unwrap();
    assert!(!ckpt.join("model.bpk").exists(), "the base is not copied");
    let back = Policy::load(&ckpt, &cpu()).unwrap();
    assert_eq!(back.cfg.lora, p.cfg.lora);
    assert!(back.model.is_quantized(), "the base comes back quantised");
    assert_eq!(logits(&back.model, &ids), want);

    let hf = dir.join("merged");
    back.export_hf(&hf).unwrap();
    let merged = Policy::load(&hf, &cpu()).unwrap();
    assert!(!merged.model.is_quantized() && merged.model.head_quant.is_none());
    let d = max_abs_diff(&logits(&merged.model, &ids), &want);
    assert!(d <= 1e-4, "the merged export's logits differ by {d}");

    // No base file: nothing to hold by reference.
    let (base, _) = trained(0);
    let e = base.clone().with_lora(&LORA_Q8).err().unwrap().to_string();
    assert!(e.contains("--init"), "{e}");
    // A quantised model is not written whole (its stand-ins are no weights).
    let whole = Policy {
        model: base
            .model
            .clone()
            .quantized(restlm::cpu::quant::QuantKind::Q8_0),
        ..base
    };
    let e = whole
        .save(&dir.join("whole"), &Default::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("quantised"), "{e}");
    assert!(!dir.join("whole").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The browser page's adapter download: a tar of an adapters-alone
/// checkpoint made from a policy whose GGUF base came as bytes, naming the
/// base file beside the checkpoint's directory. `tar -xf` (an outside
/// reader) unpacks it, and `Policy::load` gives the trained policy's
/// logits; a base of other bytes is refused, naming the file.
#[test]
fn an_adapter_tar_unpacks_to_a_checkpoint_that_loads_beside_its_gguf_base() {
    let _serial = common::autodiff_lock();
    let (base, _) = trained(0);
    let dir = std::env::temp_dir().join(format!("restlm-adapter-tar-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let gguf = dir.join("base.gguf");
    base.export_gguf(&gguf, restlm::model::gguf::Encoding::F32)
        .unwrap();
    let bytes = std::fs::read(&gguf).unwrap();
    let mut hash = restlm::io::Fnv::default();
    hash.update(&bytes);
    let file = restlm::model::gguf::GgufFile::from_bytes(&gguf, bytes).unwrap();
    let p = Policy::from_gguf(&file, None, None, &cpu())
        .unwrap()
        .with_lora(&LORA)
        .unwrap();
    let data = encoded_task(&p.tok, 16, p.cfg.max_seq_len);
    let model = common::train_for(p.model.clone(), &p.cfg, &data, p.tok.pad, 3, 8);
    let p = Policy { model, ..p };
    let ids: Vec<i64> = (0..12).map(|i| (i * 5 % 200) as i64).collect();
    let want = logits(&p.model, &ids);
    assert!(max_abs_diff(&want, &logits(&base.model, &ids)) > 1e-4);

    let files = p
        .adapter_files(restlm::model::BaseRef {
            path: "../base.gguf".into(),
            hash: hash.hex(),
        })
        .unwrap();
    let named: Vec<(String, Vec<u8>)> = files
        .into_iter()
        .map(|(n, b)| (format!("ckpt/{n}"), b))
        .collect();
    std::fs::write(dir.join("a.tar"), restlm::io::tar(&named).unwrap()).unwrap();
    let status = std::process::Command::new("tar")
        .args(["-xf", "a.tar"])
        .current_dir(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    let back = Policy::load(&dir.join("ckpt"), &cpu()).unwrap();
    assert_eq!(logits(&back.model, &ids), want);
    assert_eq!(back.tok.layout(), p.tok.layout());
    assert!(
        !dir.join("ckpt/model.bpk").exists(),
        "the base is not copied"
    );

    // Other bytes under the base's name: refused, naming the file.
    std::fs::write(&gguf, b"GGUF and something else").unwrap();
    let e = Policy::load(&dir.join("ckpt"), &cpu())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("base.gguf") && e.contains("changed"), "{e}");
    // A name tar cannot hold is an error, not a broken archive.
    assert!(restlm::io::tar(&[("x".repeat(101), vec![])]).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The browser page's downloads read a policy back without blocking
/// (`Policy::to_host_async`): every parameter, LoRA's factors and a
/// quantised base's blocks come over, so the copy's logits, its GGUF bytes
/// and its adapter files are the policy's own. (On wgpu:
/// tests/wgpu.rs.)
#[test]
fn a_policy_read_back_asynchronously_writes_the_same_files() {
    let _serial = common::autodiff_lock();
    let (base, _) = trained(0);
    let dir = std::env::temp_dir().join(format!("restlm-host-copy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let gguf = dir.join("base.gguf");
    base.export_gguf(&gguf, restlm::model::gguf::Encoding::F32)
        .unwrap();
    let p = Policy::load_base(&gguf, None, Some(&LORA_Q8), &cpu())
        .unwrap()
        .with_lora_on(&LORA_Q8, Some(&gguf), 3)
        .unwrap();
    assert!(p.model.is_quantized());
    let data = encoded_task(&p.tok, 16, p.cfg.max_seq_len);
    let model = common::train_for(p.model.clone(), &p.cfg, &data, p.tok.pad, 2, 8);
    let p = Policy { model, ..p };
    let host = pollster::block_on(p.to_host_async()).unwrap();
    let ids: Vec<i64> = (0..12).map(|i| (i * 7 % 200) as i64).collect();
    assert_eq!(logits(&host.model, &ids), logits(&p.model, &ids));
    let enc = restlm::model::gguf::Encoding::Q8_0;
    assert_eq!(host.gguf_bytes(enc).unwrap(), p.gguf_bytes(enc).unwrap());
    let base_ref = p.cfg.lora.as_ref().unwrap().base.clone().unwrap();
    assert_eq!(
        host.adapter_files(base_ref.clone()).unwrap(),
        p.adapter_files(base_ref).unwrap()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A WebGPU tab's buffer limits: a model whose embedding (its biggest f32
/// tensor) passes a limit by one byte is refused before anything is made,
/// naming the limit; a quantised base's MLP projection counts its blocks.
#[test]
fn a_model_over_a_devices_buffer_limit_is_named_before_it_loads() {
    use restlm::device::BufferLimits;
    let cfg = restlm::model::ModelConfig {
        vocab_size: 49_152,
        d_model: 576,
        d_ff: 1_536,
        ..restlm::model::ModelConfig::default()
    };
    let embedding = 4 * 49_152 * 576;
    let fits = BufferLimits {
        max_storage_binding: embedding,
        max_buffer: embedding,
    };
    fits.check_model(&cfg, None).unwrap();
    let e = BufferLimits {
        max_storage_binding: embedding - 1,
        ..fits
    }
    .check_model(&cfg, None)
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("maxStorageBufferBindingSize") && e.contains("embedding"),
        "{e}"
    );
    let e = BufferLimits {
        max_buffer: embedding - 1,
        ..fits
    }
    .check_model(&cfg, None)
    .unwrap_err()
    .to_string();
    assert!(e.contains("maxBufferSize"), "{e}");
    // A wide MLP (100 000 × 576): 230 MB in f32, one byte a weight in
    // Q8_0 blocks (their scales apart).
    let wide = restlm::model::ModelConfig {
        d_ff: 100_000,
        ..cfg.clone()
    };
    let mlp = BufferLimits {
        max_storage_binding: 4 * 100_000 * 576 - 1,
        max_buffer: u64::MAX,
    };
    assert!(
        mlp.check_model(&wide, None)
            .unwrap_err()
            .to_string()
            .contains("MLP")
    );
    mlp.check_model(&wide, Some(restlm::cpu::quant::QuantKind::Q8_0))
        .unwrap();
}
