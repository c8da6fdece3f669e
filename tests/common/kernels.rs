//! Checks of the sampling and log-prob kernels (shaders/), run
//! on any device: on wgpu they test the kernels, on the CPU backend the
//! reference.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use restlm::burn::prelude::*;
use restlm::sample::reference::{self, RowParams};
use restlm::sample::{PickOptions, candidates, sample_rows, target_logprobs};

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn normal(r: &mut ChaCha8Rng) -> f32 {
    // Box–Muller: logits shaped like a model's.
    let (a, b): (f32, f32) = (r.random::<f32>().max(1e-7), r.random());
    (-2.0 * a.ln()).sqrt() * (std::f32::consts::TAU * b).cos()
}

fn random_logits(r: &mut ChaCha8Rng, rows: usize, v: usize, scale: f32) -> Vec<f32> {
    (0..rows * v).map(|_| normal(r) * scale).collect()
}

/// log softmax(row)[t] in f64, written independently of the library.
fn exact_logprob(row: &[f32], t: usize) -> f64 {
    let m = row.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x as f64));
    let z: f64 = row.iter().map(|&x| (x as f64 - m).exp()).sum();
    row[t] as f64 - m - z.ln()
}

/// The fused log-softmax + gather equals an f64 log-softmax within
/// 1e-4 · max(1, |value|): f32 sums over V terms lose at most ~V·2^-24
/// relative, 1e-4 at V = 32000 is the worst case; typical errors are 1e-6.
/// Rows include huge (±3e4) and tiny (1e-6) logits.
pub fn logprob_matches_reference(device: &Device) {
    let mut r = rng(1);
    for (b, t, v) in [(3usize, 5usize, 1000usize), (2, 2, 32_000)] {
        let mut xs = random_logits(&mut r, b * t, v, 3.0);
        for x in &mut xs[..v] {
            *x *= 1e4; // a row with a huge spread
        }
        for x in &mut xs[v..2 * v] {
            *x *= 3e-7; // a nearly uniform row
        }
        let targets: Vec<i64> = (0..b * t).map(|_| r.random_range(0..v) as i64).collect();
        let logits = Tensor::<3>::from_data(TensorData::new(xs.clone(), [b, t, v]), device);
        let ids = Tensor::<2, Int>::from_data(TensorData::new(targets.clone(), [b, t]), device);
        let got: Vec<f32> = target_logprobs(logits, ids)
            .into_data()
            .try_to_vec()
            .unwrap();
        for (n, &tg) in targets.iter().enumerate() {
            let want = exact_logprob(&xs[n * v..(n + 1) * v], tg as usize);
            let err = (got[n] as f64 - want).abs();
            assert!(
                err <= 1e-4 * want.abs().max(1.0),
                "row {n} (V {v}): {} vs {want}",
                got[n]
            );
        }
    }
}

/// The fused log-prob under autodiff (the fused forward and the gradient
/// kernel, or the CPU reference, as its backward) against an f64 gradient written here,
/// w · (one-hot − softmax), and against burn's own log-softmax + gather on
/// the same autodiff device: values and gradients within 1e-5 of the f64
/// (f32 softmax entries are ≤ 1; sums over V lose ~V·2^-24 relative).
/// Rows include a huge spread, a nearly uniform row and a zero weight.
pub fn logprob_gradient_matches_reference(device: &Device) {
    use restlm::burn::tensor::activation::log_softmax;
    let ad = device.clone().autodiff();
    let mut r = rng(7);
    for (b, t, v) in [(2usize, 3usize, 1000usize), (1, 2, 32_000)] {
        let n = b * t;
        let mut xs = random_logits(&mut r, n, v, 3.0);
        for x in &mut xs[..v] {
            *x *= 30.0;
        }
        for x in &mut xs[v..2 * v] {
            *x *= 3e-7;
        }
        let targets: Vec<i64> = (0..n).map(|_| r.random_range(0..v) as i64).collect();
        let mut w: Vec<f32> = (0..n).map(|_| r.random::<f32>() * 2.0 - 0.5).collect();
        w[n - 1] = 0.0;
        let weights = Tensor::<2>::from_data(TensorData::new(w.clone(), [b, t]), &ad);
        let ids = Tensor::<2, Int>::from_data(TensorData::new(targets.clone(), [b, t]), &ad);
        let run = |fused: bool| {
            let x =
                Tensor::<3>::from_data(TensorData::new(xs.clone(), [b, t, v]), &ad).require_grad();
            let lp = if fused {
                target_logprobs(x.clone(), ids.clone())
            } else {
                log_softmax(x.clone(), 2)
                    .gather(2, ids.clone().unsqueeze_dim(2))
                    .squeeze_dim::<2>(2)
            };
            let grads = (lp.clone() * weights.clone()).sum().backward();
            let g: Vec<f32> = x
                .grad(&grads)
                .expect("a gradient")
                .into_data()
                .try_to_vec()
                .unwrap();
            let lp: Vec<f32> = lp.into_data().try_to_vec().unwrap();
            (lp, g)
        };
        let (fused_lp, fused_g) = run(true);
        let (burn_lp, burn_g) = run(false);
        for i in 0..n {
            let row = &xs[i * v..(i + 1) * v];
            let m = row.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x as f64));
            let z: f64 = row.iter().map(|&x| (x as f64 - m).exp()).sum();
            let want_lp = exact_logprob(row, targets[i] as usize);
            for (name, lp) in [("fused", &fused_lp), ("burn", &burn_lp)] {
                let err = (lp[i] as f64 - want_lp).abs();
                assert!(
                    err <= 1e-4 * want_lp.abs().max(1.0),
                    "{name} row {i}: {} vs {want_lp}",
                    lp[i]
                );
            }
            for (j, &x) in row.iter().enumerate() {
                let onehot = if j == targets[i] as usize { 1.0 } else { 0.0 };
                let want = w[i] as f64 * (onehot - (x as f64 - m).exp() / z);
                for (name, g) in [("fused", &fused_g), ("burn", &burn_g)] {
                    let got = g[i * v + j] as f64;
                    assert!(
                        (got - want).abs() <= 1e-5,
                        "{name} ∂/∂logits[{i}, {j}] (V {v}): {got} vs {want}"
                    );
                }
            }
        }
    }
}

/// The output projection fused with the log-prob, a chunk of rows at a
/// time (`sample::head`), against an f64 computation on the host: the
/// log-probs, and the gradients of Σ w·log π to the hidden states and the
/// weight, with chunks that end inside a row (5 positions per row, chunks
/// of 1, 4 and 7), one chunk for all, padding (weight 0), a frozen weight
/// (no gradient asked for it) and no autodiff at all.
pub fn head_logprobs_match_reference(device: &Device) {
    use restlm::sample::kernels::head_logprobs;
    let _serial = super::autodiff_lock();
    let ad = device.clone().autodiff();
    let mut r = rng(11);
    let (b, t, d, v) = (3usize, 5usize, 16usize, 37usize);
    let n = b * t;
    let hs = random_logits(&mut r, n, d, 1.0);
    let ws = random_logits(&mut r, d, v, 0.7);
    let targets: Vec<i64> = (0..n).map(|_| r.random_range(0..v) as i64).collect();
    let mut w: Vec<f32> = (0..n).map(|_| r.random::<f32>() * 2.0 - 0.5).collect();
    w[n - 1] = 0.0;
    w[n - 2] = 0.0;
    // The host's f64 log-probs, ∂/∂h [N, D] and ∂/∂W [D, V].
    let (mut want_lp, mut want_dh, mut want_dw) =
        (vec![0f64; n], vec![0f64; n * d], vec![0f64; d * v]);
    for i in 0..n {
        let z: Vec<f64> = (0..v)
            .map(|j| {
                (0..d)
                    .map(|k| hs[i * d + k] as f64 * ws[k * v + j] as f64)
                    .sum()
            })
            .collect();
        let m = z.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
        let lse = m + z.iter().map(|&x| (x - m).exp()).sum::<f64>().ln();
        want_lp[i] = z[targets[i] as usize] - lse;
        for j in 0..v {
            let onehot = if j == targets[i] as usize { 1.0 } else { 0.0 };
            let dz = w[i] as f64 * (onehot - (z[j] - lse).exp());
            for k in 0..d {
                want_dh[i * d + k] += dz * ws[k * v + j] as f64;
                want_dw[k * v + j] += dz * hs[i * d + k] as f64;
            }
        }
    }
    let close = |what: &str, got: &[f32], want: &[f64]| {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g as f64 - w).abs() <= 1e-4 * w.abs().max(1.0),
                "{what}[{i}]: {g} vs {w}"
            );
        }
    };
    let host = |x: Tensor<2>| -> Vec<f32> { x.into_data().try_to_vec().unwrap() };
    for (chunk, weight_tracked) in [(1, true), (4, true), (7, false), (4, false), (n, true)] {
        let h = Tensor::<3>::from_data(TensorData::new(hs.clone(), [b, t, d]), &ad).require_grad();
        let mut wt = Tensor::<2>::from_data(TensorData::new(ws.clone(), [d, v]), &ad);
        if weight_tracked {
            wt = wt.require_grad();
        }
        let ids = Tensor::<2, Int>::from_data(TensorData::new(targets.clone(), [b, t]), &ad);
        let weights = Tensor::<2>::from_data(TensorData::new(w.clone(), [b, t]), &ad);
        let lp = head_logprobs(h.clone(), wt.clone(), ids, chunk);
        let grads = (lp.clone() * weights).sum().backward();
        let what = format!("chunk {chunk}, weight tracked {weight_tracked}");
        close(&format!("log π, {what}"), &host(lp), &want_lp);
        let dh = h.grad(&grads).expect("a hidden-state gradient");
        close(
            &format!("∂/∂h, {what}"),
            &host(dh.reshape([n, d])),
            &want_dh,
        );
        match wt.grad(&grads) {
            Some(dw) if weight_tracked => close(&format!("∂/∂W, {what}"), &host(dw), &want_dw),
            None if !weight_tracked => {}
            other => panic!("{what}: weight gradient {:?}", other.map(|g| g.dims())),
        }
    }
    // Without autodiff: the forward alone.
    let h = Tensor::<3>::from_data(TensorData::new(hs.clone(), [b, t, d]), device);
    let wt = Tensor::<2>::from_data(TensorData::new(ws.clone(), [d, v]), device);
    let ids = Tensor::<2, Int>::from_data(TensorData::new(targets.clone(), [b, t]), device);
    close(
        "log π without autodiff",
        &host(head_logprobs(h, wt, ids, 4)),
        &want_lp,
    );
}

fn draw(device: &Device, row: &[f32], p: RowParams, n: usize, seed: u64) -> Vec<u32> {
    let v = row.len();
    let logits: Vec<f32> = row.iter().copied().cycle().take(n * v).collect();
    let mut r = rng(seed);
    let params: Vec<RowParams> = (0..n).map(|_| RowParams { u: r.random(), ..p }).collect();
    let t = Tensor::<2>::from_data(TensorData::new(logits, [n, v]), device);
    sample_rows(t, &params)
        .unwrap()
        .into_iter()
        .map(|(tok, _)| tok)
        .collect()
}

/// Token frequencies over 20 000 seeded draws match softmax(x / T): total
/// variation below 0.04 (its expectation here is about 0.015).
pub fn sampler_statistics(device: &Device) {
    let mut r = rng(2);
    let row = random_logits(&mut r, 1, 50, 1.5);
    for temperature in [1.0f32, 0.7] {
        let n = 20_000;
        let p = RowParams {
            temperature,
            top_k: 0,
            top_p: 1.0,
            u: 0.0,
        };
        let toks = draw(device, &row, p, n, 3);
        let mut freq = vec![0.0f64; row.len()];
        for t in toks {
            freq[t as usize] += 1.0 / n as f64;
        }
        let scaled: Vec<f32> = row.iter().map(|x| x / temperature).collect();
        let tv: f64 = (0..row.len())
            .map(|i| (freq[i] - exact_logprob(&scaled, i).exp()).abs())
            .sum::<f64>()
            / 2.0;
        assert!(tv < 0.04, "T = {temperature}: total variation {tv}");
    }
}

/// top-k and top-p never leave the sets that sorting defines
/// ([`candidates`]); temperature 0 and top-k 1 return the argmax.
pub fn sampler_respects_cuts(device: &Device) {
    let mut r = rng(4);
    let row = random_logits(&mut r, 1, 300, 2.0);
    let cases = [(5usize, 1.0f32), (0, 0.6), (20, 0.5)];
    for (top_k, top_p) in cases {
        let opts = PickOptions {
            temperature: 1.0,
            top_k,
            top_p,
        };
        let allowed: Vec<u32> = candidates(&row, &opts).iter().map(|c| c.0 as u32).collect();
        let p = RowParams {
            temperature: 1.0,
            top_k: top_k as u32,
            top_p,
            u: 0.0,
        };
        let toks = draw(device, &row, p, 3000, 5);
        let seen: std::collections::BTreeSet<u32> = toks.iter().copied().collect();
        assert!(
            seen.iter().all(|t| allowed.contains(t)),
            "k {top_k} p {top_p}: drew {seen:?}, allowed {allowed:?}"
        );
        assert!(seen.len() > 1, "k {top_k} p {top_p}: only {seen:?}");
    }
    let best = reference::argmax(&row) as u32;
    for p in [
        RowParams {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            u: 0.9,
        },
        RowParams {
            temperature: 1.0,
            top_k: 1,
            top_p: 1.0,
            u: 0.9,
        },
        RowParams {
            temperature: 1e-3,
            top_k: 0,
            top_p: 1.0,
            u: 0.5,
        },
    ] {
        assert!(
            draw(device, &row, p, 4, 6).iter().all(|&t| t == best),
            "{p:?}"
        );
    }
}

/// Per row, the device's token is the reference's for the same inputs, or
/// for inputs within 1e-4 of them (u and top-p nudged): f32 sums in
/// another order may only move a draw that sits on a boundary.
pub fn sampler_matches_reference(device: &Device) {
    let mut r = rng(7);
    for v in [384usize, 32_000] {
        let b = 64;
        let xs = random_logits(&mut r, b, v, 2.5);
        let params: Vec<RowParams> = (0..b)
            .map(|i| RowParams {
                temperature: [0.0, 1.0, 0.8, 1.3][i % 4],
                top_k: [0, 0, 40, 1][(i / 4) % 4],
                top_p: [1.0, 0.9, 0.5][(i / 16) % 3],
                u: r.random(),
            })
            .collect();
        let t = Tensor::<2>::from_data(TensorData::new(xs.clone(), [b, v]), device);
        let got = sample_rows(t, &params).unwrap();
        for (i, (&(tok, lp), p)) in got.iter().zip(&params).enumerate() {
            let row = &xs[i * v..(i + 1) * v];
            let (want, want_lp) = reference::sample_row(row, p);
            if tok != want {
                let nudged = [(1e-4, 0.0), (-1e-4, 0.0), (0.0, 1e-4), (0.0, -1e-4)]
                    .iter()
                    .any(|&(du, dp)| {
                        let q = RowParams {
                            u: (p.u + du).clamp(0.0, 0.999_999),
                            top_p: p.top_p + dp,
                            ..*p
                        };
                        reference::sample_row(row, &q).0 == tok
                    });
                assert!(
                    nudged,
                    "V {v} row {i} {p:?}: device {tok}, reference {want}"
                );
            } else {
                assert!(
                    (lp - want_lp).abs() < 1e-3,
                    "row {i}: log-prob {lp} vs {want_lp}"
                );
            }
        }
    }
}

/// The decode kernels (RMSNorm, add + RMSNorm, SiLU · up, rotary) on
/// `device` against burn's ops on the CPU backend, written here from the
/// definitions: RMSNorm, alone and after a residual add, over rows that
/// are not a multiple of the workgroup; SiLU · up over more elements than one workgroup row; the
/// rotary embedding at two start positions (one with a factor, as for
/// attention's queries) on a strided [B, T, H, Dh] buffer seen as
/// [B, H, T, Dh]. f32 sums in other orders: 1e-5 relative.
pub fn decode_kernels_match_cpu(device: &Device) {
    use crate::common::{max_abs_diff, to_vec};
    use restlm::burn::tensor::activation::silu;
    use restlm::model::fused::decode;
    let cpu = Device::flex();
    let mut r = rng(11);
    let close = |what: &str, a: &[f32], b: &[f32]| {
        let scale = b.iter().fold(1f32, |m, x| m.max(x.abs()));
        let diff = max_abs_diff(a, b);
        assert!(
            diff <= 1e-5 * scale,
            "{what}: max diff {diff} (scale {scale})"
        );
    };

    let (n, d, eps) = (70, 96, 1e-5);
    let (x, g) = (
        random_logits(&mut r, n, d, 2.0),
        random_logits(&mut r, 1, d, 1.0),
    );
    let on = |dev: &Device| {
        let x = Tensor::<2>::from_data(TensorData::new(x.clone(), [n, d]), dev);
        let g = Tensor::<1>::from_data(TensorData::new(g.clone(), [d]), dev);
        (x, g)
    };
    let (xg, gg) = on(device);
    let (xc, gc) = on(&cpu);
    let rms = (xc.clone().powi_scalar(2).mean_dim(1) + eps as f64).sqrt();
    let want = xc / rms * gc.unsqueeze::<2>();
    close(
        "rms_norm",
        &to_vec(decode::rms_norm(xg.clone(), gg.clone(), eps)),
        &to_vec(want),
    );
    // With the residual add: x + y and its norm, both returned.
    let y = random_logits(&mut r, n, d, 2.0);
    let ys = |dev: &Device| Tensor::<2>::from_data(TensorData::new(y.clone(), [n, d]), dev);
    let (xc, gc) = on(&cpu);
    let sum = xc + ys(&cpu);
    let rms = (sum.clone().powi_scalar(2).mean_dim(1) + eps as f64).sqrt();
    let want = sum.clone() / rms * gc.unsqueeze::<2>();
    let (got_sum, got) = decode::add_rms_norm(xg, ys(device), gg, eps);
    close("add_rms_norm sum", &to_vec(got_sum), &to_vec(sum));
    close("add_rms_norm", &to_vec(got), &to_vec(want));

    let m = 70_001;
    let (gate, up) = (
        random_logits(&mut r, 1, m, 4.0),
        random_logits(&mut r, 1, m, 1.0),
    );
    let t1 =
        |v: &[f32], dev: &Device| Tensor::<1>::from_data(TensorData::new(v.to_vec(), [m]), dev);
    let want = silu(t1(&gate, &cpu)) * t1(&up, &cpu);
    let got = decode::swiglu(t1(&gate, device), t1(&up, device));
    close("swiglu", &to_vec(got), &to_vec(want));

    let (b, t, h, dh, max_len) = (2, 5, 3, 8, 16);
    let x = random_logits(&mut r, b * t * h, dh, 1.0);
    for (start, scale) in [(0, 1.0), (7, 0.35)] {
        let (cos, sin) = rope_tables(dh, max_len, 10_000.0);
        let view = |dev: &Device| {
            Tensor::<4>::from_data(TensorData::new(x.clone(), [b, t, h, dh]), dev).swap_dims(1, 2)
        };
        let tab = |v: &[f32], dev: &Device| {
            Tensor::<2>::from_data(TensorData::new(v.to_vec(), [max_len, dh]), dev)
        };
        let xc = view(&cpu);
        let (c, s) = (
            tab(&cos, &cpu).narrow(0, start, t).unsqueeze::<4>(),
            tab(&sin, &cpu).narrow(0, start, t).unsqueeze::<4>(),
        );
        let half = dh / 2;
        let rotated = Tensor::cat(
            vec![
                xc.clone().narrow(3, half, half).neg(),
                xc.clone().narrow(3, 0, half),
            ],
            3,
        );
        let want = (xc * c + rotated * s).mul_scalar(scale);
        let (cos, sin) = (tab(&cos, device), tab(&sin, device));
        let got = decode::rope(view(device), cos, sin, start, scale);
        close(
            &format!("rope at {start}, × {scale}"),
            &to_vec(got),
            &to_vec(want),
        );
    }
}

/// cos and sin of pos · θ^(−2i/Dh) for i < Dh/2, repeated for the second
/// half (Llama's rotate-half tables), in f64 rounded to f32.
fn rope_tables(dh: usize, max_len: usize, theta: f64) -> (Vec<f32>, Vec<f32>) {
    let (mut cos, mut sin) = (vec![], vec![]);
    for pos in 0..max_len {
        for i in 0..dh {
            let angle = pos as f64 * theta.powf(-((2 * (i % (dh / 2))) as f64) / dh as f64);
            cos.push(angle.cos() as f32);
            sin.push(angle.sin() as f32);
        }
    }
    (cos, sin)
}

/// The WGSL checked in under `shaders/wgsl/` is what the kernels compile to
/// on `device` now: every kernel's file present and equal, and no file of
/// a kernel that is gone. The files are lavapipe's (what CI runs); another
/// adapter may be offered other features, so there every kernel only has
/// to compile.
#[cfg(feature = "wgpu")]
pub fn wgsl_is_current(device: &Device, adapter: &str) {
    use restlm::shaders::wgsl;
    let dir = wgsl::dir();
    let now = wgsl::compile_all(device).expect("kernels compile to WGSL");
    assert!(
        now.len() >= 10,
        "every kernel and sampler variant: {}",
        now.len()
    );
    if !wgsl::is_reference_adapter(adapter) {
        eprintln!("{adapter}: not lavapipe, the checked-in WGSL is not compared");
        return;
    }
    let differ: Vec<&str> = now
        .iter()
        .filter(|(name, src)| {
            std::fs::read_to_string(dir.join(name))
                .ok()
                .is_none_or(|old| !wgsl::same_kernel(&old, src))
        })
        .map(|(name, _)| name.as_str())
        .collect();
    let orphans = wgsl::orphans(&dir, &now).expect("shaders/wgsl/ is readable");
    assert!(
        differ.is_empty() && orphans.is_empty(),
        "shaders/wgsl/ is stale: {differ:?} differ from what the kernels compile to or are missing, \
         {orphans:?} belong to no kernel; run `cargo run --release --example dump_wgsl` and commit"
    );
}

/// A projection held as Q8_0 / Q4_0 blocks (`model::quant`) against its
/// dequantised matrix multiplied in f64 on the host: the forward x·Wᵀ,
/// through the few-rows and the many-rows paths, and under autodiff the
/// input gradient of Σ r·y (r random), within 1e-5 of Σ|term| (f32 sums
/// in another order). The dequantised matrix itself is checked against W
/// (within a step of each block's grid), so the blocks are W's.
pub fn quant_linear_matches_reference(device: &Device) {
    use restlm::cpu::quant::QuantKind;
    use restlm::model::quant::QuantWeight;
    let ad = device.clone().autodiff();
    let mut r = rng(11);
    let (out, inp) = (70usize, 96usize);
    let w: Vec<f32> = (0..out * inp).map(|_| normal(&mut r)).collect();
    for kind in [QuantKind::Q8_0, QuantKind::Q4_0] {
        let q = QuantWeight::quantize(kind, &w, out, inp, &ad).expect("whole blocks");
        // [in, out], burn's Linear orientation.
        let deq: Vec<f32> = q
            .dequantize()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap();
        for o in 0..out {
            for i in 0..inp {
                let block = &w[o * inp + i / 32 * 32..][..32];
                let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
                let step = amax / if kind == QuantKind::Q8_0 { 127.0 } else { 8.0 };
                let err = (deq[i * out + o] - w[o * inp + i]).abs();
                assert!(
                    err <= step * 1.0001 + 1e-7,
                    "{kind:?} W[{o}, {i}] off by {err}"
                );
            }
        }
        for m in [1usize, 3, 9, 70] {
            let xs: Vec<f32> = (0..m * inp).map(|_| normal(&mut r)).collect();
            let rs: Vec<f32> = (0..m * out).map(|_| normal(&mut r)).collect();
            let x =
                Tensor::<2>::from_data(TensorData::new(xs.clone(), [m, inp]), &ad).require_grad();
            let y = q.forward(x.clone());
            let weights = Tensor::<2>::from_data(TensorData::new(rs.clone(), [m, out]), &ad);
            let grads = (y.clone() * weights).sum().backward();
            let got_y: Vec<f32> = y.into_data().try_to_vec::<f32>().unwrap();
            let got_dx: Vec<f32> = x
                .grad(&grads)
                .expect("a gradient")
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            let check = |what: &str, got: f32, terms: &mut dyn Iterator<Item = f64>| {
                let (mut want, mut scale) = (0f64, 0f64);
                for t in terms {
                    want += t;
                    scale += t.abs();
                }
                assert!(
                    (got as f64 - want).abs() <= 1e-5 * scale.max(1.0),
                    "{kind:?} m {m} {what}: {got} vs {want}"
                );
            };
            for a in 0..m {
                for o in 0..out {
                    let mut terms =
                        (0..inp).map(|i| xs[a * inp + i] as f64 * deq[i * out + o] as f64);
                    check(&format!("y[{a}, {o}]"), got_y[a * out + o], &mut terms);
                }
                for i in 0..inp {
                    let mut terms =
                        (0..out).map(|o| rs[a * out + o] as f64 * deq[i * out + o] as f64);
                    check(&format!("dx[{a}, {i}]"), got_dx[a * inp + i], &mut terms);
                }
            }
        }
    }
}
