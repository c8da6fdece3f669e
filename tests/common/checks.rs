//! Device-generic checks, run on CPU (tests/model.rs) and on wgpu
//! (tests/wgpu.rs).
#![allow(dead_code)]

use super::*;
use restlm::model::{KvCache, decode_bias};
use restlm::sample::{PickOptions, SampleOptions, Special, generate};
use restlm::train;

/// Changing token 8 leaves the logits of positions 0..8 unchanged.
pub fn causality(device: &Device, tol: f32) {
    let cfg = tiny_model(64);
    let model = seeded_model(&cfg, device, 1);
    let ids: Vec<i64> = (0..32).map(|i| (i * 7 + 3) % 64).collect();
    let mut changed = ids.clone();
    changed[8] = (changed[8] + 5) % 64;
    changed[8 + 16] = (changed[8 + 16] + 5) % 64;
    let run = |ids: Vec<i64>| {
        let t = Tensor::<2, Int>::from_data(TensorData::new(ids, [2, 16]), device);
        to_vec(model.forward_causal(t))
    };
    let (a, b) = (run(ids), run(changed));
    let per_row = 16 * 64;
    for row in 0..2 {
        let base = row * per_row;
        let before = max_abs_diff(&a[base..base + 8 * 64], &b[base..base + 8 * 64]);
        assert!(
            before <= tol,
            "row {row}: logits before the change moved by {before}"
        );
        let at = max_abs_diff(
            &a[base + 8 * 64..base + 9 * 64],
            &b[base + 8 * 64..base + 9 * 64],
        );
        assert!(
            at > 1e-3,
            "row {row}: the changed position's logits did not move ({at})"
        );
    }
}

/// Prefill + one-token steps through the KV cache give the logits of a
/// full causal forward.
pub fn kv_cache_matches_full_forward(device: &Device, tol: f32) {
    let cfg = tiny_model(64);
    let model = seeded_model(&cfg, device, 2);
    let (b, len, prefill) = (2usize, 20usize, 16usize);
    let ids: Vec<i64> = (0..b * len).map(|i| ((i * 13 + 5) % 64) as i64).collect();
    let full = to_vec(model.forward_causal(Tensor::<2, Int>::from_data(
        TensorData::new(ids.clone(), [b, len]),
        device,
    )));
    let cap = cfg.max_seq_len;
    let mut cache = KvCache::new(&cfg, b, cap, device);
    let pad = vec![0; b];
    let first: Vec<i64> = (0..b)
        .flat_map(|r| ids[r * len..r * len + prefill].to_vec())
        .collect();
    let logits = model.forward(
        Tensor::from_data(TensorData::new(first, [b, prefill]), device),
        0,
        None,
        decode_bias(&pad, 0, prefill, cap, device),
        Some(&mut cache),
    );
    let mut cached = vec![to_vec(logits)];
    for pos in prefill..len {
        let step: Vec<i64> = (0..b).map(|r| ids[r * len + pos]).collect();
        let logits = model.forward(
            Tensor::from_data(TensorData::new(step, [b, 1]), device),
            pos,
            None,
            decode_bias(&pad, pos, 1, cap, device),
            Some(&mut cache),
        );
        cached.push(to_vec(logits));
    }
    let v = cfg.vocab_size;
    for r in 0..b {
        for pos in 0..len {
            let want = &full[(r * len + pos) * v..(r * len + pos + 1) * v];
            let got = if pos < prefill {
                &cached[0][(r * prefill + pos) * v..(r * prefill + pos + 1) * v]
            } else {
                &cached[pos - prefill + 1][r * v..(r + 1) * v]
            };
            let d = max_abs_diff(want, got);
            assert!(d <= tol, "row {r} position {pos}: |Δlogit| {d} > {tol}");
        }
    }
}

/// Left-padded batched generation through the cache equals re-running the
/// whole sequence each step: same greedy tokens, log-probs within 1e-4.
pub fn cached_generation_equals_naive(device: &Device) {
    let (tok, cfg, model, data) = trained_tiny(device, ANSWERS);
    let prompts: Vec<Vec<u32>> = data.iter().take(5).map(|e| e.prompt.clone()).collect();
    assert!(
        prompts.iter().any(|p| p.len() != prompts[0].len()),
        "prompts of several lengths"
    );
    let special = Special {
        eos: tok.eos,
        pad: tok.pad,
    };
    let opts = SampleOptions {
        pick: PickOptions::GREEDY,
        max_new_tokens: 16,
        batch_size: 4,
        seed: 0,
        use_cache: true,
        on_device: true,
    };
    // `n` samples per prompt with and without the cache, which must agree
    // token by token and in log-prob; the cached ones.
    let both_ways = |n: usize, opts: &SampleOptions| {
        let cached = generate(&model, &cfg, &special, &prompts, n, opts).unwrap();
        let naive = SampleOptions {
            use_cache: false,
            ..opts.clone()
        };
        let naive = generate(&model, &cfg, &special, &prompts, n, &naive).unwrap();
        for (c, n) in cached.iter().flatten().zip(naive.iter().flatten()) {
            assert_eq!(c.tokens, n.tokens);
            assert!(
                (c.logprob - n.logprob).abs() < 1e-4,
                "{} vs {}",
                c.logprob,
                n.logprob
            );
        }
        cached
    };
    let cached = both_ways(1, &opts);
    let distinct: std::collections::HashSet<&Vec<u32>> =
        cached.iter().map(|r| &r[0].tokens).collect();
    assert_eq!(
        distinct.len(),
        prompts.len(),
        "a trained model answers different prompts differently: {cached:?}"
    );
    // Two samples per prompt at T = 1.5: through the cache each prompt is
    // prefilled once for both its rows (batches of 4 rows hold 2 prompts;
    // the last holds 1 and filler), without it every row runs in full.
    // Each sample draws from its own stream, so both ways agree draw by draw.
    let sampled = SampleOptions {
        pick: PickOptions {
            temperature: 1.5,
            top_k: 0,
            top_p: 1.0,
        },
        seed: 7,
        ..opts
    };
    let cached = both_ways(2, &sampled);
    assert!(
        cached.iter().any(|r| r[0].tokens != r[1].tokens),
        "the two samples of a prompt differ somewhere: {cached:?}"
    );
}

/// Training steps after which the tiny model answers each prompt with
/// confidence (an answer's log-prob near −1). After 40 it still repeated
/// a few tokens, its outputs were decided by near-ties, and an H100's
/// rounding gave five prompts the same answer where the CPU's gave two.
pub const ANSWERS: usize = 150;

/// A tiny model trained `steps` steps on 64 task records.
pub fn trained_tiny(
    device: &Device,
    steps: usize,
) -> (
    restlm::tokenizer::Tokenizer,
    ModelConfig,
    Transformer,
    Vec<Encoded>,
) {
    // Trained once per device and step count in a process: the wgpu test
    // asks twice (cached generation, device sampling), and on lavapipe the
    // 150 steps cost tens of seconds.
    type Trained = (
        restlm::tokenizer::Tokenizer,
        ModelConfig,
        Transformer,
        Vec<Encoded>,
    );
    static TRAINED: std::sync::Mutex<Vec<(String, Trained)>> = std::sync::Mutex::new(Vec::new());
    let key = format!("{device:?}/{steps}");
    let mut done = TRAINED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, t)) = done.iter().find(|(k, _)| *k == key) {
        return t.clone();
    }
    let t = train_tiny(device, 64, 16, steps);
    done.push((key, t.clone()));
    t
}

/// A tiny model (seed 4) trained `steps` steps, lr 1e-2, on `records` task
/// records in batches of `batch_size`.
fn train_tiny(
    device: &Device,
    records: usize,
    batch_size: usize,
    steps: usize,
) -> (
    restlm::tokenizer::Tokenizer,
    ModelConfig,
    Transformer,
    Vec<Encoded>,
) {
    let tok = task_tokenizer();
    let cfg = tiny_model(tok.vocab_size());
    let data = encoded_task(&tok, records, cfg.max_seq_len);
    let model = seeded_model(&cfg, device, 4);
    let model = train_for(model, &cfg, &data, tok.pad, steps, batch_size);
    (tok, cfg, model, data)
}

/// The model of [`trained_tiny`] (150 steps on 64 records) fits its
/// records: loss under `bound` (0.07 on the CPU). On a device where
/// training is slow this reuses the model other checks trained.
pub fn trained_model_memorises(device: &Device, bound: f64) {
    let (tok, cfg, model, data) = trained_tiny(device, ANSWERS);
    let loss = train::eval_loss(&model, &cfg, &data, 16, tok.pad);
    assert!(loss < bound, "training loss {loss:.4} is not under {bound}");
}

/// SFT on 8 records drives the training loss under `bound`.
pub fn sft_memorises(device: &Device, steps: usize, bound: f64) -> f64 {
    let (tok, cfg, model, data) = train_tiny(device, 8, 8, steps);
    let after = train::eval_loss(&model, &cfg, &data, 8, tok.pad);
    assert!(
        after < bound,
        "training loss {after:.4} is not under {bound}"
    );
    after
}

/// Inside the real sampling loop, choosing tokens on the device (our
/// kernel on wgpu, its reference on CPU) gives the host path's greedy
/// outputs and log-probs. With `sampled_too`, sampled outputs as well
/// (exact where both run the same code, the CPU backend).
pub fn device_sampling_equals_host(device: &Device, sampled_too: bool) {
    let (tok, cfg, model, data) = trained_tiny(device, ANSWERS);
    let prompts: Vec<Vec<u32>> = data.iter().take(6).map(|e| e.prompt.clone()).collect();
    let special = Special {
        eos: tok.eos,
        pad: tok.pad,
    };
    let mut picks = vec![PickOptions::GREEDY];
    if sampled_too {
        picks.push(PickOptions {
            temperature: 1.0,
            top_k: 20,
            top_p: 0.9,
        });
    }
    for pick in picks {
        let opts = SampleOptions {
            pick,
            max_new_tokens: 16,
            batch_size: 8,
            seed: 3,
            use_cache: true,
            on_device: true,
        };
        let dev = generate(&model, &cfg, &special, &prompts, 2, &opts).unwrap();
        let host_opts = SampleOptions {
            on_device: false,
            ..opts
        };
        let host = generate(&model, &cfg, &special, &prompts, 2, &host_opts).unwrap();
        for (d, h) in dev.iter().flatten().zip(host.iter().flatten()) {
            assert_eq!(d.tokens, h.tokens, "{pick:?}");
            assert!(
                (d.logprob - h.logprob).abs() < 1e-3,
                "{} vs {}",
                d.logprob,
                h.logprob
            );
        }
    }
}

/// Training on `device` against the CPU backend from the same weights:
/// one batch's loss and every parameter's gradient, with our fused
/// log-prob and with burn's ops, then the losses of `steps` optimizer
/// steps. Prints each parameter's error before asserting, so a device
/// that trains wrongly shows which weights (hence which op) are at fault.
pub fn training_matches_cpu(device: &Device, steps: usize) {
    let tok = task_tokenizer();
    let cfg = tiny_model(tok.vocab_size());
    let data = encoded_task(&tok, 64, cfg.max_seq_len);
    let model = seeded_model(&cfg, &Device::flex(), 4);
    let rows: Vec<&Encoded> = data.iter().take(16).collect();
    let (cpu_loss, cpu_grads) = loss_and_grads(&model, &cfg, &rows, tok.pad, &Device::flex());
    let mut worst = Vec::new();
    for fused in [true, false] {
        use restlm::ops::{BurnOps, use_burn_ops};
        use_burn_ops(BurnOps {
            logprob: !fused,
            ..BurnOps::default()
        });
        let (loss, grads) = loss_and_grads(&model, &cfg, &rows, tok.pad, device);
        use_burn_ops(BurnOps::default());
        eprintln!(
            "training on {device:?}, fused log-prob {fused}: loss {loss:.6} (cpu {cpu_loss:.6})"
        );
        let mut bad = 0.0f32;
        for ((name, g), (_, c)) in grads.iter().zip(&cpu_grads) {
            let scale = c.iter().fold(1e-12f32, |m, x| m.max(x.abs()));
            let err = max_abs_diff(g, c) / scale;
            let finite = g.iter().all(|x| x.is_finite());
            eprintln!("  {name:<40} |g| {scale:.3e}  relative error {err:.2e}  finite {finite}");
            bad = bad.max(if finite { err } else { f32::INFINITY });
        }
        worst.push((fused, (loss - cpu_loss).abs() / cpu_loss, bad));
    }
    let curve = |d: &Device| {
        let tc = restlm::config::TrainConfig {
            steps,
            batch_size: 16,
            lr: 1e-2,
            eval_every: steps,
            ..Default::default()
        };
        let mut t = train::Trainer::new(model.clone().fork(d), &cfg, &tc, 0, tok.pad);
        (0..steps)
            .map(|_| t.step(&data).loss.into_scalar::<f32>())
            .collect::<Vec<f32>>()
    };
    let (on_cpu, on_device) = (curve(&Device::flex()), curve(device));
    eprintln!("losses, cpu:    {on_cpu:.4?}\nlosses, device: {on_device:.4?}");
    for (fused, loss_err, grad_err) in worst {
        assert!(
            loss_err < 1e-4 && grad_err < 1e-3,
            "fused log-prob {fused}: loss off by {loss_err:.2e}, worst gradient by {grad_err:.2e}"
        );
    }
    // Float rounding moves the two trajectories apart slowly; a wrong op
    // moves them at once and keeps them apart.
    for (i, (c, d)) in on_cpu.iter().zip(&on_device).enumerate() {
        assert!(
            (c - d).abs() < 0.02 * c.abs().max(1.0),
            "step {i}: loss {d} on the device, {c} on the CPU"
        );
    }
}

/// Loss and per-parameter gradients (module path, values) of `model`
/// (any device) on `rows`, computed on `device`.
fn loss_and_grads(
    model: &Transformer,
    cfg: &ModelConfig,
    rows: &[&Encoded],
    pad: u32,
    device: &Device,
) -> (f32, Vec<(String, Vec<f32>)>) {
    struct Grads<'a> {
        grads: &'a restlm::burn::tensor::Gradients,
        path: Vec<String>,
        out: Vec<(String, Vec<f32>)>,
    }
    impl restlm::burn::module::ModuleVisitor for Grads<'_> {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, p: &restlm::burn::module::Param<Tensor<D>>) {
            if let Some(g) = p.val().grad(self.grads) {
                self.out.push((self.path.join("."), to_vec(g)));
            }
        }
    }
    let ad = device.clone().autodiff();
    let model = model.clone().fork(&ad).train();
    let batch = restlm::data::TrainBatch::new(rows, rows.len(), cfg.max_seq_len, pad, &ad);
    let loss = train::batch_loss(&model, &batch);
    let grads = loss.backward();
    let mut v = Grads {
        grads: &grads,
        path: Vec::new(),
        out: Vec::new(),
    };
    restlm::burn::module::Module::visit(&model, &mut v);
    (loss.into_scalar(), v.out)
}

/// A reward model's rewards on `device` equal the CPU backend's for rows
/// of different lengths padded into one batch (the head reads each row's
/// last token through a gather of the flattened hidden states).
pub fn reward_model_matches_cpu(device: &Device) {
    let (m, tok, cfg) = tiny_reward_model(4);
    let pairs = [
        ("3 plus 4", "seven"),
        ("hi", "a b c d e f g h"),
        ("a longer prompt here", ""),
    ];
    let rows = restlm::reward::learned::encode_rows(&tok, &pairs, 20, cfg.max_seq_len).unwrap();
    let want = m.raw(&rows, 4, cfg.max_seq_len, tok.pad);
    let got = m
        .clone()
        .to_device(device)
        .raw(&rows, 4, cfg.max_seq_len, tok.pad);
    let diff = super::max_abs_diff(&want, &got);
    assert!(diff < 1e-3, "{want:?} vs {got:?}");
    assert!(
        want.iter().any(|&r| r.abs() > 0.01),
        "rewards not all ~0: {want:?}"
    );
}

/// A reward model on the CPU backend: a tiny trunk with weights from
/// `seed` and a random head (a fresh head is zero: every reward equal).
pub fn tiny_reward_model(seed: u64) -> (restlm::model::RewardModel, Tokenizer, ModelConfig) {
    let tok = super::task_tokenizer();
    let cfg = super::tiny_model(tok.vocab_size());
    let cpu = Device::flex();
    let mut m = restlm::model::RewardModel::new(super::seeded_model(&cfg, &cpu, seed), &cfg, &cpu);
    m.head.weight = m
        .head
        .weight
        .map(|w| w.random_like(restlm::burn::tensor::Distribution::Normal(0.0, 1.0)));
    (m, tok, cfg)
}
