//! The sampling and log-prob ops on the CPU backend (their plain-Rust
//! reference). tests/wgpu.rs runs the same checks on the GPU kernels.

mod common;

use common::kernels;

fn cpu() -> restlm::burn::prelude::Device {
    restlm::device::select("cpu").expect("cpu").device
}

#[test]
fn the_cpu_backend_runs_the_device_path() {
    assert!(restlm::ops::OpPath::of(&cpu()).sampler());
}

#[test]
fn logprob_matches_an_f64_log_softmax() {
    kernels::logprob_matches_reference(&cpu());
}

#[test]
fn sampler_frequencies_follow_the_softmax() {
    kernels::sampler_statistics(&cpu());
}

#[test]
fn sampler_respects_top_k_top_p_and_greedy() {
    kernels::sampler_respects_cuts(&cpu());
}

#[test]
fn device_and_host_sampling_agree_inside_generation() {
    common::checks::device_sampling_equals_host(&cpu(), true);
}

#[test]
fn fused_logprob_gradient_matches_f64_and_burn_ops() {
    kernels::logprob_gradient_matches_reference(&cpu());
}

#[test]
fn chunked_head_logprobs_and_gradients_match_f64() {
    kernels::head_logprobs_match_reference(&cpu());
}

#[test]
fn a_quantised_projection_and_its_input_gradient_match_f64() {
    let _serial = common::autodiff_lock();
    kernels::quant_linear_matches_reference(&cpu());
}

/// A quantised projection multiplies as decoding does (x rounded to 8-bit
/// blocks) exactly while a `Decoding` guard lives, exactly as training
/// does otherwise, and under autodiff with a tracked input always exactly.
/// A quantised base brings a quantised copy of the output projection,
/// which sampling (`forward_last`) multiplies in integers on a CPU with
/// AVX-512 VNNI: the logits are Q8_0's rounded product of the last hidden
/// state (a model of no layers: the final RMSNorm of the embedding, computed
/// here on the host) with the embedding's blocks; with autodiff, or without
/// the copy, the f32 head's exact product.
#[test]
fn sampling_takes_the_quantised_head_of_a_quantised_base() {
    use restlm::burn::prelude::*;
    use restlm::cpu::quant::{QuantKind, QuantMatrix};
    use restlm::model::{ModelConfig, Transformer, causal_bias};
    let _serial = common::autodiff_lock();
    let cfg = ModelConfig {
        // Over 4 096: the head's copy is quantised in bands of 4 096 rows,
        // and the last band is short.
        vocab_size: 4_100,
        d_model: 64,
        n_layers: 0,
        ..ModelConfig::default()
    };
    let device = cpu();
    device.seed(11);
    let model = Transformer::new(&cfg, &device);
    let e: Vec<f32> = model
        .embed_tokens
        .weight
        .val()
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap();
    let (rows, t, d, v) = (3, 2, cfg.d_model, cfg.vocab_size);
    let tokens: Vec<i64> = vec![5, 7, 1, 40, 9, 22];
    let last = |m: &Transformer, device: &Device| -> Vec<f32> {
        let ids = Tensor::<2, Int>::from_data(TensorData::new(tokens.clone(), [rows, t]), device);
        m.forward_last(ids, 0, None, causal_bias(t, device), None)
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap()
    };
    // h: the last token's embedding through RMSNorm (weight 1).
    let h: Vec<f32> = (0..rows)
        .flat_map(|r| {
            let x = &e[tokens[r * t + t - 1] as usize * d..][..d];
            let ms = x.iter().map(|a| a * a).sum::<f32>() / d as f32;
            let s = 1.0 / (ms + cfg.norm_eps as f32).sqrt();
            x.iter().map(move |a| a * s).collect::<Vec<_>>()
        })
        .collect();
    let host = QuantMatrix::quantize(QuantKind::Q8_0, &e, v, d).unwrap();
    let exact: Vec<f32> = (0..rows * v)
        .map(|i| {
            let (r, j) = (i / v, i % v);
            (0..d).map(|k| h[r * d + k] * e[j * d + k]).sum()
        })
        .collect();
    let diff = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max)
    };
    let f32_head = last(&model, &device);
    assert!(diff(&f32_head, &exact) < 1e-4, "the f32 head's logits");
    let quant = model.clone().quantized(QuantKind::Q8_0);
    assert!(quant.head_quant.is_some());
    let got = last(&quant, &device);
    if restlm::cpu::qdot::available() {
        let want = host.forward_rounded(&h, rows);
        assert!(diff(&got, &want) < 1e-4, "the rounded product");
        assert!(diff(&got, &exact) > 1e-3, "rounding changed the logits");
    } else {
        assert_eq!(got, f32_head, "no integer products: the f32 head");
    }
    // Under autodiff (a scoring pass, say) the head is the f32 one.
    let ad = device.clone().autodiff();
    let tracked = last(&quant.clone().to_device(&ad), &ad);
    assert!(diff(&tracked, &exact) < 1e-4, "autodiff: the f32 head");
    // Without the copy, the f32 head again.
    let plain = Transformer {
        head_quant: None,
        ..quant
    };
    assert!(diff(&last(&plain, &device), &exact) < 1e-4);
}

#[test]
fn decoding_alone_rounds_a_quantised_projections_input() {
    use restlm::burn::prelude::*;
    use restlm::cpu::quant::{QuantKind, QuantMatrix};
    use restlm::model::quant::{Decoding, QuantWeight};
    let _serial = common::autodiff_lock();
    let (out, inp, m) = (40, 64, 3);
    let w: Vec<f32> = (0..out * inp)
        .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
        .collect();
    let xs: Vec<f32> = (0..m * inp)
        .map(|i| ((i * 13 % 97) as f32 / 40.0) - 1.2)
        .collect();
    let device = cpu();
    for kind in [QuantKind::Q8_0, QuantKind::Q4_0] {
        let host = QuantMatrix::quantize(kind, &w, out, inp).unwrap();
        let q = QuantWeight::quantize(kind, &w, out, inp, &device).unwrap();
        let run = |q: &QuantWeight, device: &Device| -> Vec<f32> {
            let x = Tensor::<2>::from_data(TensorData::new(xs.clone(), [m, inp]), device);
            q.forward(x)
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap()
        };
        assert_eq!(
            run(&q, &device),
            host.forward(&xs, m),
            "{kind:?}: exact outside decoding"
        );
        let rounded = host.forward_rounded(&xs, m);
        {
            let _decoding = Decoding::start();
            assert_eq!(run(&q, &device), rounded, "{kind:?}: decoding's product");
            // A tracked input (a training step) stays exact.
            let ad = device.clone().autodiff();
            let qa = QuantWeight::quantize(kind, &w, out, inp, &ad).unwrap();
            let x =
                Tensor::<2>::from_data(TensorData::new(xs.clone(), [m, inp]), &ad).require_grad();
            let y = qa
                .forward(x)
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap();
            assert_eq!(
                y,
                host.forward(&xs, m),
                "{kind:?}: a tracked input is exact"
            );
        }
        assert_eq!(
            run(&q, &device),
            host.forward(&xs, m),
            "{kind:?}: the guard ended"
        );
        if restlm::cpu::qdot::available() {
            assert_ne!(
                rounded,
                host.forward(&xs, m),
                "{kind:?}: rounding changes the product"
            );
        }
    }
}

/// The model's training path (autodiff, fused log-probs) gives the same
/// token log-probs as the same weights without autodiff.
#[test]
fn training_logprobs_equal_plain_ones() {
    use restlm::data::TrainBatch;
    use restlm::ops::OpPath;
    let device = cpu();
    let ad = device.clone().autodiff();
    let (plain_path, ad_path) = (OpPath::of(&device), OpPath::of(&ad));
    assert!(plain_path.sampler() && !ad_path.sampler() && ad_path.fused_logprob());
    let tok = common::task_tokenizer();
    let cfg = common::tiny_model(tok.vocab_size());
    let data = common::encoded_task(&tok, 6, cfg.max_seq_len);
    let rows: Vec<_> = data.iter().collect();
    let plain = common::seeded_model(&cfg, &device, 5);
    let batch = TrainBatch::new(&rows, 8, cfg.max_seq_len, tok.pad, &device);
    let fused = restlm::train::token_logprobs(&plain, &batch);
    use restlm::burn::module::Module;
    let graph = plain.clone().fork(&ad);
    let batch = TrainBatch::new(&rows, 8, cfg.max_seq_len, tok.pad, &ad);
    let trained = restlm::train::token_logprobs(&graph, &batch);
    let diff = common::max_abs_diff(&common::to_vec(fused), &common::to_vec(trained));
    assert!(diff < 1e-5, "max |Δ| {diff}");
}

/// The staleness check of `shaders/wgsl/` looks past the hash cubecl puts
/// in an entry point's name, and at nothing else.
#[cfg(feature = "wgpu")]
#[test]
fn wgsl_comparison_ignores_the_entry_point_hash_only() {
    use restlm::shaders::wgsl::same_kernel;
    let checked_in = "@compute @workgroup_size(256, 1, 1)\nfn rope_kernel_051c4b29(@builtin(workgroup_id) v: vec3<u32>) {\nlet a = 1u;\n}\n";
    let rebuilt = checked_in.replace("051c4b29", "673322c0");
    assert!(same_kernel(checked_in, &rebuilt));
    assert!(!same_kernel(checked_in, &rebuilt.replace("1u", "2u")));
    assert!(!same_kernel(
        checked_in,
        &checked_in.replace("rope_kernel", "swiglu_kernel")
    ));
    assert!(!same_kernel(
        checked_in,
        &checked_in.replace("256, 1, 1", "128, 1, 1")
    ));
    // Only an 8-digit hex suffix of a function's name is a hash.
    let named = checked_in.replace("rope_kernel_051c4b29", "rope_kernel_main");
    assert!(!same_kernel(&named, &named.replace("_main", "_side")));
}

mod quantised {
    //! `cpu::quant`: weights kept in Q8_0 / Q4_0 blocks, multiplied without
    //! dequantising the matrix, against the dequantised matrix multiplied
    //! in f64 on the host.
    use restlm::cpu::quant::{BLOCK, QuantKind, QuantMatrix};

    fn random(seed: u64, n: usize) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// Every block's values come back within half a step of the grid (Q8_0:
    /// d/2; Q4_0: d/2, and d for the value opposite the largest, which
    /// the 16 levels leave outside the grid); zero blocks stay zero.
    #[test]
    fn quantised_blocks_round_to_their_grid() {
        let (rows, cols) = (3, 96);
        let mut w = random(1, rows * cols);
        w[32..64].iter_mut().for_each(|x| *x = 0.0);
        w[64] = 40.0;
        for kind in [QuantKind::Q8_0, QuantKind::Q4_0] {
            let q = QuantMatrix::quantize(kind, &w, rows, cols).unwrap();
            let back = q.dequantize();
            for (b, (x, y)) in w.chunks(BLOCK).zip(back.chunks(BLOCK)).enumerate() {
                let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
                let d = amax / if kind == QuantKind::Q8_0 { 127.0 } else { 8.0 };
                let bound = if kind == QuantKind::Q8_0 { d / 2.0 } else { d };
                for (i, (a, b2)) in x.iter().zip(y).enumerate() {
                    assert!(
                        (a - b2).abs() <= bound * 1.0001 + 1e-7,
                        "{kind:?} block {b} value {i}: {a} → {b2} (bound {bound})"
                    );
                }
            }
            assert!(
                back[32..64].iter().all(|&v| v == 0.0),
                "{kind:?}: zero block"
            );
            let f32_bytes = 4 * rows * cols;
            let ratio = q.bytes() as f64 / f32_bytes as f64;
            let want = if kind == QuantKind::Q8_0 {
                36.0 / 128.0
            } else {
                20.0 / 128.0
            };
            assert!(
                (ratio - want).abs() < 1e-9,
                "{kind:?}: {ratio} of f32's bytes"
            );
        }
        let e = QuantMatrix::quantize(QuantKind::Q8_0, &w[..3 * 40], 3, 40).unwrap_err();
        assert!(e.to_string().contains("blocks of 32"), "{e}");
    }

    /// got [m, outs] against Σ_j term(i, o, j) over `inner` in f64, within
    /// 1e-5 of Σ_j |term| (f32 sums in another order).
    fn close(
        what: &str,
        got: &[f32],
        (m, outs, inner): (usize, usize, usize),
        term: impl Fn(usize, usize, usize) -> f64,
    ) {
        for i in 0..m {
            for o in 0..outs {
                let (mut want, mut scale) = (0f64, 0f64);
                for j in 0..inner {
                    let p = term(i, o, j);
                    want += p;
                    scale += p.abs();
                }
                let g = got[i * outs + o] as f64;
                assert!(
                    (g - want).abs() <= 1e-5 * scale.max(1.0),
                    "{what} [{i}, {o}]: {g} vs {want}"
                );
            }
        }
    }

    /// forward (y = x·Wᵀ) and backward (dx = dy·W) equal the dequantised
    /// matrix's products: through the dot-product path (1–4 rows) and the
    /// tile path, with rows not a multiple of the tile and columns whose
    /// last slab is half a tile.
    #[test]
    fn quantised_products_equal_the_dequantised_matrix() {
        let (rows, cols) = (70, 96);
        let w = random(2, rows * cols);
        for kind in [QuantKind::Q8_0, QuantKind::Q4_0] {
            let q = QuantMatrix::quantize(kind, &w, rows, cols).unwrap();
            let deq = q.dequantize();
            for m in [1, 3, 5, 33] {
                let x = random(3 + m as u64, m * cols);
                let y = q.forward(&x, m);
                close(
                    &format!("{kind:?} forward m {m}"),
                    &y,
                    (m, rows, cols),
                    |i, r, k| x[i * cols + k] as f64 * deq[r * cols + k] as f64,
                );
                let dy = random(50 + m as u64, m * rows);
                let dx = q.backward(&dy, m);
                close(
                    &format!("{kind:?} backward m {m}"),
                    &dx,
                    (m, cols, rows),
                    |i, k, r| dy[i * rows + r] as f64 * deq[r * cols + k] as f64,
                );
            }
        }
    }

    /// Decoding's product (x rounded to 8-bit blocks, integer dot
    /// products) equals the same arithmetic done here in f64: each block of
    /// x rounded as Q8_0 rounds (scale amax / 127, round to nearest), W
    /// dequantised; and it stays within the rounding's bound of the exact
    /// product (half of x's step times Σ|w| per block). Rows 1–5, 33 and 64
    /// (groups of four and their remainders); 3 blocks per row, so a pair
    /// and a lone block, and 4.
    #[test]
    fn rounded_products_equal_integer_arithmetic_and_stay_near_the_exact_ones() {
        if !restlm::cpu::qdot::available() {
            eprintln!("this CPU has no AVX-512 VNNI: forward_rounded is forward (checked above)");
            return;
        }
        for (rows, cols) in [(70, 96), (9, 128)] {
            let w = random(7, rows * cols);
            for kind in [QuantKind::Q8_0, QuantKind::Q4_0] {
                let q = QuantMatrix::quantize(kind, &w, rows, cols).unwrap();
                let deq = q.dequantize();
                for m in [1, 2, 3, 4, 5, 33, 64] {
                    let mut x = random(11 + m as u64, m * cols);
                    x[..BLOCK].iter_mut().for_each(|v| *v = 0.0);
                    let y = q.forward_rounded(&x, m);
                    // x rounded, as an f64 value per element.
                    let mut xq = vec![0f64; x.len()];
                    let mut step = vec![0f64; x.len() / BLOCK];
                    for (b, (xb, qb)) in x.chunks(BLOCK).zip(xq.chunks_mut(BLOCK)).enumerate() {
                        let amax = xb.iter().fold(0f32, |a, v| a.max(v.abs()));
                        let d = amax / 127.0;
                        let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
                        for (o, &v) in qb.iter_mut().zip(xb) {
                            *o = (v * inv).round() as f64 * d as f64;
                        }
                        step[b] = d as f64;
                    }
                    for i in 0..m {
                        for r in 0..rows {
                            let (mut want, mut scale, mut exact, mut bound) =
                                (0f64, 0f64, 0f64, 0f64);
                            for c in 0..cols {
                                let wv = deq[r * cols + c] as f64;
                                want += xq[i * cols + c] * wv;
                                scale += (xq[i * cols + c] * wv).abs();
                                exact += x[i * cols + c] as f64 * wv;
                                bound += step[(i * cols + c) / BLOCK] / 2.0 * wv.abs();
                            }
                            let g = y[i * rows + r] as f64;
                            assert!(
                                (g - want).abs() <= 1e-5 * scale.max(1.0),
                                "{kind:?} {rows}x{cols} m {m} [{i}, {r}]: {g} vs {want}"
                            );
                            assert!(
                                (g - exact).abs() <= bound + 1e-5 * scale.max(1.0),
                                "{kind:?} m {m} [{i}, {r}]: {g} vs exact {exact}, bound {bound}"
                            );
                        }
                    }
                }
            }
        }
    }
}

/// A sampled token's log-prob is log softmax(logits)[token] at every
/// setting, to the bit of the plain formula (at temperature 1 without cuts
/// `sample_row` reuses its draw's sum for the normaliser; at other
/// temperatures or with cuts that sum is not the normaliser).
#[test]
fn a_sampled_tokens_logprob_is_its_log_softmax_at_every_setting() {
    use restlm::sample::reference::{RowParams, logsumexp, sample_row};
    let mut s = 7u64;
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 40) as f32 / (1u64 << 24) as f32
    };
    let row: Vec<f32> = (0..5000).map(|_| next() * 12.0 - 6.0).collect();
    let lse = logsumexp(&row);
    for (temperature, top_k, top_p) in [
        (1.0, 0, 1.0),
        (0.7, 0, 1.0),
        (1.0, 40, 1.0),
        (1.0, 0, 0.9),
        (0.0, 0, 1.0),
    ] {
        for _ in 0..20 {
            let p = RowParams {
                temperature,
                top_k,
                top_p,
                u: next(),
            };
            let (token, lp) = sample_row(&row, &p);
            let want = (row[token as usize] as f64 - lse) as f32;
            assert_eq!(
                lp.to_bits(),
                want.to_bits(),
                "T {temperature}, k {top_k}, p {top_p}: token {token}"
            );
        }
    }
}
