//! The CPU backend's fused training ops (src/model/fused/) against burn's
//! unfused ops: values and gradients, on contiguous and strided inputs, and
//! a whole model's loss and gradients with the fused ops on and off; and
//! the CPU row helpers they build on (`restlm::cpu::rows`).

mod common;

use common::{SplitMix, max_abs_diff, to_vec};
use restlm::burn::nn::RmsNormConfig;
use restlm::burn::prelude::*;
use restlm::burn::tensor::activation::{silu, softmax};
use restlm::model::fused;
use restlm::ops::{BurnOps, use_burn_ops};
use std::sync::Mutex;

/// `ops::use_burn_ops` is process-wide: tests that depend on it (all of
/// them here, since they assert the fused path runs) take this lock.
static SWITCH: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    let guard = SWITCH.lock().unwrap_or_else(|e| e.into_inner());
    use_burn_ops(BurnOps::default());
    guard
}

/// Our fused layer ops on (true) or burn's ops in their place (false).
fn set_fused_layers(on: bool) {
    use_burn_ops(BurnOps {
        layers: !on,
        ..BurnOps::default()
    });
}

fn ad() -> Device {
    Device::flex().autodiff()
}

fn random(rng: &mut SplitMix, n: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|_| ((rng.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale)
        .collect()
}

fn tensor<const D: usize>(xs: &[f32], shape: [usize; D]) -> Tensor<D> {
    Tensor::from_data(TensorData::new(xs.to_vec(), shape), &ad()).require_grad()
}

/// |a − b| ≤ atol + rtol · |b| everywhere.
fn close(what: &str, a: &[f32], b: &[f32], atol: f32, rtol: f32) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= atol + rtol * y.abs(),
            "{what}[{i}]: fused {x} vs burn {y} (max diff {})",
            max_abs_diff(a, b)
        );
    }
}

#[test]
fn exp_is_within_a_few_ulp_of_f64_over_f32s_range() {
    let mut worst = 0f64;
    let mut x = -87.0f32;
    while x < 88.3 {
        let want = (x as f64).exp();
        let rel = ((restlm::cpu::rows::exp(x) as f64 - want) / want).abs();
        worst = worst.max(rel);
        x += 0.001_37;
    }
    // Taylor to r⁷ at |r| ≤ ln 2 / 2 leaves 2e-8; f32 rounding of k·ln 2,
    // r and the polynomial adds a few ulp (6e-8 each).
    assert!(worst < 4e-7, "worst relative error {worst:e}");
    assert_eq!(restlm::cpu::rows::exp(-88.0), 0.0);
    assert_eq!(restlm::cpu::rows::exp(-1e9), 0.0);
    assert_eq!(restlm::cpu::rows::exp(0.0), 1.0);
    assert!(restlm::cpu::rows::exp(1e9).is_finite() && restlm::cpu::rows::exp(1e9) > 1e38);
}

#[test]
fn swiglu_matches_silu_times_up_in_values_and_gradients() {
    let _serial = common::autodiff_lock();
    let _on = lock();
    let mut rng = SplitMix(1);
    // More elements than one parallel task (2^14) so chunk seams are crossed.
    let shape = [3, 97, 131];
    let n = shape.iter().product();
    let (g, u, w) = (
        random(&mut rng, n, 12.0),
        random(&mut rng, n, 3.0),
        random(&mut rng, n, 1.0),
    );
    let run = |fused_op: bool| {
        let (gt, ut) = (tensor(&g, shape), tensor(&u, shape));
        let y = if fused_op {
            fused::swiglu(gt.clone(), ut.clone())
        } else {
            silu(gt.clone()) * ut.clone()
        };
        let grads = (y.clone() * tensor(&w, shape)).sum().backward();
        let dg = to_vec(gt.grad(&grads).expect("d gate"));
        let du = to_vec(ut.grad(&grads).expect("d up"));
        (to_vec(y), dg, du)
    };
    let (y, dg, du) = run(true);
    let (y0, dg0, du0) = run(false);
    close("swiglu", &y, &y0, 1e-6, 1e-5);
    close("d gate", &dg, &dg0, 1e-6, 1e-5);
    close("d up", &du, &du0, 1e-6, 1e-5);
}

#[test]
fn rms_norm_matches_burns_module_in_values_and_gradients() {
    let _serial = common::autodiff_lock();
    let _on = lock();
    let mut rng = SplitMix(2);
    let (rows, d) = (300, 96);
    let shape = [3, rows / 3, d];
    let (x, gamma, w) = (
        random(&mut rng, rows * d, 4.0),
        random(&mut rng, d, 2.0),
        random(&mut rng, rows * d, 1.0),
    );
    let run = |fused_op: bool| {
        let mut norm = RmsNormConfig::new(d).with_epsilon(1e-5).init(&ad());
        norm.gamma = restlm::burn::module::Param::from_tensor(tensor(&gamma, [d]));
        let xt = tensor(&x, shape);
        let y = if fused_op {
            fused::rms_norm(&norm, xt.clone())
        } else {
            norm.forward(xt.clone())
        };
        let grads = (y.clone() * tensor(&w, shape)).sum().backward();
        let dx = to_vec(xt.grad(&grads).expect("d x"));
        let dgamma = to_vec(norm.gamma.val().grad(&grads).expect("d gamma"));
        (to_vec(y), dx, dgamma)
    };
    let (y, dx, dgamma) = run(true);
    let (y0, dx0, dgamma0) = run(false);
    close("rms_norm", &y, &y0, 1e-5, 1e-5);
    close("d x", &dx, &dx0, 1e-5, 1e-4);
    // A sum over 300 rows: rounding grows with the row count.
    close("d gamma", &dgamma, &dgamma0, 1e-4, 1e-4);
}

#[test]
fn a_model_trains_the_same_with_the_fused_ops_on_and_off() {
    let _serial = common::autodiff_lock();
    let _on = lock();
    let cfg = common::tiny_model(40);
    let device = ad();
    let model = common::seeded_model(&cfg, &device, 5);
    let mut rng = SplitMix(4);
    let (b, t) = (3, 12);
    let ids: Vec<i64> = (0..b * t).map(|_| (rng.next() % 40) as i64).collect();
    let run = |on: bool| {
        set_fused_layers(on);
        let tokens = Tensor::<2, Int>::from_data(TensorData::new(ids.clone(), [b, t]), &device);
        let logits = model.forward_causal(tokens);
        let loss = restlm::burn::tensor::activation::log_softmax(logits.clone(), 2)
            .mean()
            .neg();
        let grads = loss.backward();
        let g = to_vec(
            model.layers[0]
                .mlp
                .up_proj
                .weight
                .val()
                .grad(&grads)
                .expect("a gradient"),
        );
        let gn = match &model.layers[0].input_layernorm {
            restlm::model::Norm::Rms(n) => to_vec(n.gamma.val().grad(&grads).expect("d gamma")),
            restlm::model::Norm::Layer(_) => panic!("tiny_model is a Llama layout"),
        };
        (to_vec(logits), g, gn)
    };
    let (logits, g, gn) = run(true);
    let (logits0, g0, gn0) = run(false);
    use_burn_ops(BurnOps::default());
    close("logits", &logits, &logits0, 1e-5, 1e-4);
    close("d up_proj", &g, &g0, 1e-6, 1e-3);
    close("d input_layernorm", &gn, &gn0, 1e-6, 1e-3);
}

/// Training's loss through the output projection fused with the log-prob
/// (`sample::head`, chunked) equals log-softmax and gather of the whole
/// logits, with its gradients: tied and untied heads, every parameter
/// trained and LoRA on a frozen base.
#[test]
fn a_batch_loss_through_the_fused_head_equals_log_softmax_and_gather() {
    use restlm::data::TrainBatch;
    use restlm::model::{LoraConfig, ModelConfig};
    let _serial = common::autodiff_lock();
    let _on = lock();
    let tok = common::task_tokenizer();
    let device = ad();
    let data = common::encoded_task(&tok, 5, 48);
    let rows: Vec<_> = data.iter().collect();
    let batch = TrainBatch::new(&rows, 6, 48, tok.pad, &device);
    let lora = Some(LoraConfig {
        rank: 4,
        alpha: 8.0,
        base: None,
        base_dtype: Default::default(),
    });
    for (tie_embeddings, lora) in [(true, None), (false, None), (true, lora)] {
        let cfg = ModelConfig {
            tie_embeddings,
            lora: lora.clone(),
            ..common::tiny_model(tok.vocab_size())
        };
        let model = common::seeded_model(&cfg, &device, 9);
        // Every gradient the loss leaves, by parameter name.
        let run = |burn_logprob: bool| {
            use_burn_ops(BurnOps {
                logprob: burn_logprob,
                ..BurnOps::default()
            });
            let loss = restlm::train::batch_loss(&model, &batch);
            let grads = loss.clone().backward();
            let mut out: Vec<(String, Vec<f32>)> = Vec::new();
            let g = |t: Tensor<2>| t.grad(&grads).map(to_vec);
            if let Some(v) = g(model.embed_tokens.weight.val()) {
                out.push(("embed_tokens".into(), v));
            }
            if let Some(head) = &model.lm_head {
                out.push(("lm_head".into(), g(head.weight.val()).expect("d lm_head")));
            }
            let up = &model.layers[1].mlp.up_proj.weight;
            match up.adapter() {
                Some(ad) => out.push(("up_proj A".into(), g(ad.a.val()).expect("d A"))),
                None => out.push(("up_proj".into(), g(up.val()).expect("d up_proj"))),
            }
            (to_vec(loss), out)
        };
        let (loss, grads) = run(false);
        let (loss0, grads0) = run(true);
        use_burn_ops(BurnOps::default());
        let what = format!("tied {tie_embeddings}, LoRA {}", lora.is_some());
        close(&format!("loss, {what}"), &loss, &loss0, 1e-6, 1e-5);
        let names: Vec<_> = grads.iter().map(|(n, _)| n.clone()).collect();
        let names0: Vec<_> = grads0.iter().map(|(n, _)| n.clone()).collect();
        assert_eq!(names, names0, "{what}: which parameters have gradients");
        assert_eq!(
            names.contains(&"embed_tokens".to_string()),
            lora.is_none(),
            "{what}"
        );
        for ((name, g), (_, g0)) in grads.iter().zip(&grads0) {
            close(&format!("d {name}, {what}"), g, g0, 1e-6, 1e-3);
        }
    }
}

#[test]
fn rope_matches_burns_rotate_half_in_values_and_gradients() {
    let _serial = common::autodiff_lock();
    let _on = lock();
    let mut rng = SplitMix(6);
    let (b, t, h, dh) = (2, 9, 3, 16);
    let n = b * t * h * dh;
    let (x, w) = (random(&mut rng, n, 2.0), random(&mut rng, n, 1.0));
    let rope = restlm::model::Rope::new(dh, 32, 10_000.0, &ad());
    let run = |on: bool, start: usize| {
        set_fused_layers(on);
        let xt = tensor(&x, [b, t, h, dh]);
        // [B, T, H, Dh] → [B, H, T, Dh] as attention does: a strided view.
        let y = rope.apply(xt.clone().swap_dims(1, 2), start);
        let grads = (y.clone() * tensor(&w, [b, h, t, dh])).sum().backward();
        let dx = to_vec(xt.grad(&grads).expect("d x"));
        use_burn_ops(BurnOps::default());
        (to_vec(y), dx)
    };
    for start in [0, 5] {
        let (y, dx) = run(true, start);
        let (y0, dx0) = run(false, start);
        close(&format!("rope at {start}"), &y, &y0, 1e-6, 1e-5);
        close(&format!("d x at {start}"), &dx, &dx0, 1e-6, 1e-5);
    }
}

/// softmax(q·kᵀ/√Dh + bias)·v in burn's ops, each query head h reading KV
/// head h / (H / Hkv) through an explicit copy (Llama's repeat_kv).
fn attention_by_burn_ops(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, bias: Tensor<4>) -> Tensor<4> {
    let [_, h, _, dh] = q.dims();
    let rep = h / k.dims()[1];
    let repeat = |x: Tensor<4>| {
        let heads = (0..h).map(|i| x.clone().narrow(1, i / rep, 1)).collect();
        Tensor::cat(heads, 1)
    };
    let scores = q
        .matmul(repeat(k).swap_dims(2, 3))
        .div_scalar((dh as f32).sqrt())
        + bias;
    softmax(scores, 3).matmul(repeat(v))
}

#[test]
fn attention_core_matches_burns_ops_in_values_and_gradients() {
    let _serial = common::autodiff_lock();
    let _on = lock();
    let mut rng = SplitMix(8);
    // (B, H, Hkv, T, Tk, Dh, per-row bias): training with grouped heads
    // (causal, Tk = T); a cache-like decode step (Tk > T, a bias per batch
    // row that hides left padding and empty slots); one batch row.
    for (b, h, hkv, t, tk, dh, per_row) in [
        (3, 6, 2, 10, 10, 8, false),
        (2, 4, 4, 2, 7, 16, true),
        (1, 3, 1, 5, 5, 4, false),
    ] {
        let bias: Vec<f32> = (0..if per_row { b } else { 1 } * t * tk)
            .map(|i| {
                let (row, q, key) = (i / (t * tk), (i / tk) % t, i % tk);
                let visible = key <= q + (tk - t) && key >= row;
                if visible { 0.0 } else { -1e9 }
            })
            .collect();
        let bias_rows = if per_row { b } else { 1 };
        let q = random(&mut rng, b * t * h * dh, 1.5);
        let (k, v) = (
            random(&mut rng, b * tk * hkv * dh, 1.5),
            random(&mut rng, b * tk * hkv * dh, 1.0),
        );
        let w = random(&mut rng, b * h * t * dh, 1.0);
        let run = |fused_op: bool| {
            // q, k, v as projections write them ([B, T, N, Dh]) seen as
            // [B, N, T, Dh]: strided views, as attention hands them over.
            let (ql, kl, vl) = (
                tensor(&q, [b, t, h, dh]),
                tensor(&k, [b, tk, hkv, dh]),
                tensor(&v, [b, tk, hkv, dh]),
            );
            let args = (
                ql.clone().swap_dims(1, 2),
                kl.clone().swap_dims(1, 2),
                vl.clone().swap_dims(1, 2),
                Tensor::<4>::from_data(TensorData::new(bias.clone(), [bias_rows, 1, t, tk]), &ad()),
            );
            let y = if fused_op {
                fused::attention_core(args.0, args.1, args.2, args.3)
            } else {
                attention_by_burn_ops(args.0, args.1, args.2, args.3)
            };
            let grads = (y.clone() * tensor(&w, [b, h, t, dh])).sum().backward();
            let d = |x: &Tensor<4>| to_vec(x.grad(&grads).expect("a gradient"));
            (to_vec(y), d(&ql), d(&kl), d(&vl))
        };
        let (y, dq, dk, dv) = run(true);
        let (y0, dq0, dk0, dv0) = run(false);
        let case = format!("B {b}, H {h}/{hkv}, T {t}/{tk}");
        close(&format!("output, {case}"), &y, &y0, 1e-5, 1e-4);
        close(&format!("d q, {case}"), &dq, &dq0, 1e-5, 1e-4);
        close(&format!("d k, {case}"), &dk, &dk0, 1e-5, 1e-4);
        close(&format!("d v, {case}"), &dv, &dv0, 1e-5, 1e-4);
        // Without autodiff (sampling): the same values.
        let plain = |x: &[f32], s: [usize; 4]| {
            Tensor::<4>::from_data(TensorData::new(x.to_vec(), s), &Device::flex()).swap_dims(1, 2)
        };
        let plain_core = |v: &[f32]| {
            to_vec(fused::attention_core(
                plain(&q, [b, t, h, dh]),
                plain(&k, [b, tk, hkv, dh]),
                plain(v, [b, tk, hkv, dh]),
                Tensor::from_data(
                    TensorData::new(bias.clone(), [bias_rows, 1, t, tk]),
                    &Device::flex(),
                ),
            ))
        };
        let y_plain = plain_core(&v);
        close(&format!("no autodiff, {case}"), &y_plain, &y0, 1e-5, 1e-4);
        // Keys the bias hides from every query get exactly nothing: values
        // written there (left padding, a cache's empty slots) leave the
        // output unchanged, bit for bit.
        let hidden = |bi: usize, key: usize| {
            (0..t).all(|i| bias[((bi % bias_rows) * t + i) * tk + key] != 0.0)
        };
        let mut v_hidden = v.clone();
        for bi in 0..b {
            for key in (0..tk).filter(|&key| hidden(bi, key)) {
                let at = (bi * tk + key) * hkv * dh;
                v_hidden[at..at + hkv * dh].fill(1e6);
            }
        }
        // The per-row bias hides some keys; the causal one hides none.
        assert_eq!(v_hidden != v, per_row, "{case}: hidden keys");
        assert_eq!(plain_core(&v_hidden), y_plain, "{case}: hidden keys leaked");
    }
}

/// The lane-wise reductions against plain sequential ones, for every
/// length around the lane count (the tail loop and the empty row).
#[test]
fn lane_reductions_match_sequential_ones() {
    use restlm::cpu::rows::{LANES, max_of, sum_of, sum_pairs, sum_triples};
    for n in 0..3 * LANES + 3 {
        let a: Vec<f32> = (0..n).map(|i| ((i * 7919) % 23) as f32 - 11.5).collect();
        let b: Vec<f32> = (0..n).map(|i| ((i * 104_729) % 17) as f32 * 0.25).collect();
        let c: Vec<f32> = (0..n).map(|i| 1.0 + i as f32 * 0.01).collect();
        let seq3: f64 = (0..n).map(|i| (a[i] * b[i] * c[i]) as f64).sum();
        let seq2: f64 = (0..n).map(|i| (a[i] - b[i]) as f64).sum();
        let seq1: f64 = a.iter().map(|&x| (x * x) as f64).sum();
        let close = |x: f32, y: f64| (x as f64 - y).abs() <= 1e-5 * (1.0 + y.abs());
        assert!(
            close(sum_triples(&a, &b, &c, |a, b, c| a * b * c), seq3),
            "n {n}"
        );
        assert!(close(sum_pairs(&a, &b, |a, b| a - b), seq2), "n {n}");
        assert!(close(sum_of(&a, |x| x * x), seq1), "n {n}");
        let max = a.iter().copied().fold(f32::MIN, f32::max);
        assert_eq!(max_of(&a), max, "n {n}");
    }
    assert_eq!(max_of(&[-3.0, f32::MIN, -1.0]), -1.0);
}

/// A tiny Llama-layout model (`qkv_bias`: Qwen2's; `tied`: the head is
/// the embedding) on a `kind` base (None: f32), with LoRA adapters
/// trained 3 steps (so their term is not zero), on the plain CPU device
/// where the host decoder runs. The caller holds `common::autodiff_lock()`.
fn decoding_model(
    kind: Option<restlm::cpu::quant::QuantKind>,
    qkv_bias: bool,
    tied: bool,
) -> (restlm::model::Transformer, restlm::model::ModelConfig) {
    let tok = common::task_tokenizer();
    let cfg = restlm::model::ModelConfig {
        qkv_bias,
        tie_embeddings: tied,
        ..common::tiny_model(tok.vocab_size())
    };
    let cpu = restlm::device::select("cpu").expect("cpu").device;
    let lora = restlm::model::LoraConfig {
        rank: 4,
        alpha: 8.0,
        base: None,
        base_dtype: restlm::model::BaseDtype::F32,
    };
    let model = common::seeded_model(&cfg, &cpu, 9);
    let model = match kind {
        Some(kind) => model.quantized(kind),
        None => model,
    };
    let data = common::encoded_task(&tok, 16, cfg.max_seq_len);
    let model = common::train_for(model.with_lora(&lora), &cfg, &data, tok.pad, 3, 8);
    (model, cfg)
}

/// The host decoder (`model::decoder`, plain loops over the model's
/// buffers) gives `Transformer::forward_last`'s logits: a prompt pass over
/// three rows with different left padding (and over one row alone), then
/// four one-token steps
/// through each one's own cache, for Q8_0, Q4_0 and f32 bases, with and
/// without Qwen2's q/k/v biases, a tied and an untied head, LoRA adapters
/// trained. Both round x to 8 bits in the same products; only the order
/// of some f32 sums differs (measured: ≤ 3e-7 on logits up to 0.63). 1e-4 leaves room for a value
/// that lands on the other side of a rounding boundary of x's 8-bit grid;
/// a dropped adapter, bias or padding mask moves them by 0.1–0.3.
#[test]
fn the_host_decoder_gives_the_burn_paths_logits_step_by_step() {
    use restlm::cpu::quant::QuantKind;
    use restlm::model::decoder::HostDecoder;
    use restlm::model::{KvCache, decode_bias};
    let _serial = common::autodiff_lock();
    let _switch = lock();
    for (kind, qkv_bias, tied) in [
        (Some(QuantKind::Q8_0), false, true),
        (Some(QuantKind::Q4_0), false, true),
        (Some(QuantKind::Q8_0), true, false),
        (None, false, true),
        (None, true, false),
    ] {
        let (model, cfg) = decoding_model(kind, qkv_bias, tied);
        let device = model.embed_tokens.weight.device();
        let dec = HostDecoder::of(&model).expect("the host decoder takes this model");
        // Three rows with different padding, and one row alone (an f32
        // base's one-row products take their own path).
        for pad in [vec![0usize, 2, 5], vec![1]] {
            let (p, cap) = (8usize, 16usize);
            let b = pad.len();
            let mut ids: Vec<u32> = (0..b * p).map(|i| 3 + (i * 7 % 50) as u32).collect();
            for (r, &k) in pad.iter().enumerate() {
                ids[r * p..r * p + k].fill(0);
            }
            let mut cache = KvCache::new(&cfg, b, cap, &device);
            let mut host = dec.cache(b, cap);
            let (mut start, mut t) = (0, p);
            let mut peak = 0f32;
            for step in 0..5 {
                let input = Tensor::<2, Int>::from_data(
                    TensorData::new(ids.iter().map(|&x| x as i64).collect(), [b, t]),
                    &device,
                );
                let bias = decode_bias(&pad, start, t, cap, &device);
                let want = to_vec(model.forward_last(input, start, None, bias, Some(&mut cache)));
                let got = dec.forward_last(&ids, start, &pad, &mut host);
                let d = max_abs_diff(&got, &want);
                let scale = want.iter().fold(0f32, |m, x| m.max(x.abs()));
                assert!(
                    d <= 1e-4,
                    "{kind:?}, qkv bias {qkv_bias}, tied {tied}, step {step}: host logits differ by {d} (|logits| ≤ {scale})"
                );
                peak = peak.max(d);
                // Each row's next token: its greedy pick under burn's logits.
                let v = want.len() / b;
                ids = want
                    .chunks_exact(v)
                    .map(|row| restlm::sample::argmax(row) as u32)
                    .collect();
                start += t;
                t = 1;
            }
            eprintln!(
                "{kind:?}, qkv bias {qkv_bias}, tied {tied}, {b} rows: largest logit difference {peak:e}"
            );
        }
    }
}

/// `sample::generate` decodes through the host decoder where it applies,
/// and its samples (temperature 1, two per prompt, prompts of different
/// lengths, a short last batch) are those of burn's ops, token for token,
/// with the same log-probs, on a Q8_0 and an f32 base; GPT-2's layout is
/// left to burn's ops.
#[test]
fn sampling_through_the_host_decoder_draws_the_burn_paths_samples() {
    use restlm::cpu::quant::QuantKind;
    let _serial = common::autodiff_lock();
    let _switch = lock();
    let gpt2 = restlm::model::ModelConfig {
        arch: restlm::model::Arch::Gpt2,
        ..common::tiny_model(64)
    };
    let gpt2 = common::seeded_model(&gpt2, &restlm::device::select("cpu").unwrap().device, 1);
    assert!(restlm::model::decoder::HostDecoder::of(&gpt2).is_none());
    for kind in [Some(QuantKind::Q8_0), None] {
        let (model, cfg) = decoding_model(kind, false, true);
        samples_agree(&model, &cfg);
    }
}

fn samples_agree(model: &restlm::model::Transformer, cfg: &restlm::model::ModelConfig) {
    use restlm::model::decoder::HostDecoder;
    use restlm::sample::{PickOptions, SampleOptions, Special, generate};
    assert!(HostDecoder::of(model).is_some());
    let prompts: Vec<Vec<u32>> = [5usize, 9, 3]
        .iter()
        .map(|&n| (0..n).map(|i| 3 + (i * 11 % 40) as u32).collect())
        .collect();
    let special = Special { eos: 1, pad: 0 };
    let opts = SampleOptions {
        pick: PickOptions {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
        },
        max_new_tokens: 12,
        batch_size: 4,
        seed: 3,
        use_cache: true,
        on_device: true,
    };
    let host = generate(model, cfg, &special, &prompts, 2, &opts).unwrap();
    use_burn_ops(BurnOps {
        decoder: true,
        ..BurnOps::default()
    });
    assert!(HostDecoder::of(model).is_none(), "the switch turns it off");
    let burn = generate(model, cfg, &special, &prompts, 2, &opts).unwrap();
    use_burn_ops(BurnOps::default());
    let tokens = |g: &Vec<Vec<restlm::sample::Generation>>| -> Vec<Vec<u32>> {
        g.iter().flatten().map(|g| g.tokens.clone()).collect()
    };
    assert_eq!(tokens(&host), tokens(&burn));
    assert!(tokens(&host).iter().map(Vec::len).sum::<usize>() > 20);
    for (h, b) in host.iter().flatten().zip(burn.iter().flatten()) {
        assert!((h.logprob - b.logprob).abs() < 1e-3, "{h:?} vs {b:?}");
    }
}
