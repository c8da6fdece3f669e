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
    let (tok, cfg, model, data) = trained_tiny(device, 40);
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
    let cached = generate(&model, &cfg, &special, &prompts, 1, &opts).unwrap();
    let naive = generate(
        &model,
        &cfg,
        &special,
        &prompts,
        1,
        &SampleOptions {
            use_cache: false,
            on_device: true,
            ..opts
        },
    )
    .unwrap();
    for (c, n) in cached.iter().zip(&naive) {
        assert_eq!(c[0].tokens, n[0].tokens);
        assert!(
            (c[0].logprob - n[0].logprob).abs() < 1e-4,
            "{} vs {}",
            c[0].logprob,
            n[0].logprob
        );
    }
    let distinct: std::collections::HashSet<&Vec<u32>> =
        cached.iter().map(|r| &r[0].tokens).collect();
    assert!(
        distinct.len() > 1,
        "a trained model answers different prompts differently"
    );
}

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
    train_tiny(device, 64, 16, steps)
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
    let (tok, cfg, model, data) = trained_tiny(device, 40);
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
