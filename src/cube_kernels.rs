//! Our GPU kernels, written once as `#[cube]` functions in burn's kernel
//! language and compiled by whichever shader compiler the runtime uses:
//! WGSL (the default build, and WebGPU in a browser), SPIR-V (the `vulkan`
//! build), MSL (the `metal` build). The `KernelOps` and `DecodeOps` impls
//! at the end launch them for the backend-extension ops of
//! `sample::kernels` and `model::fused::decode`; callers use ordinary
//! tensors and never see buffers.
//!
//! | op | does | plain-Rust reference |
//! |---|---|---|
//! | `sample_rows` | next token of every row of logits [B, V], with temperature, top-k, top-p and a per-row uniform; (token, log π) back, so only B × 2 numbers reach the host | `sample::reference::sample_row` |
//! | `target_logprobs` | fused log-softmax + gather: log π(target) for logits [N, V], the log-softmax never written | `sample::reference::target_logprob` (f64), `target_logprob_f32` |
//! | `target_logprobs_grad` | its backward, g · (one-hot(target) − softmax(logits)), one pass after the forward's two reductions; what autodiff calls in training | `sample::reference::target_logprob_grad` |
//! | `rms_norm_kernel`, `add_rms_norm_kernel` | RMSNorm of each row; a layer's residual add and the norm after it (writes x + y and its norm); inference on wgpu | `model::fused::rms_norm_row` |
//! | `swiglu_kernel` | silu(gate) · up | `model::fused::swiglu_cpu` |
//! | `rope_kernel` | rotary embedding (rotate-half) of a strided [B, H, T, Dh] view at positions start.., times a factor (attention's 1/√Dh on queries) | `model::fused::rope_row` |
//!
//! Limits: WebGPU's defaults (256 invocations per workgroup, ≤ 2 KiB of
//! workgroup memory, f32 only, ≤ 65 535 workgroups per grid dimension), so
//! the same kernels run in a browser.
//!
//! Sampling: top-k and top-p thresholds are found by bisection on an
//! order-preserving u32 key of the logits (no sort, no float atomics): up
//! to 32 counting passes for top-k and 32 mass passes for top-p, compiled
//! only when some row of the launch cuts that way
//! (`sample::kernels::launch_cuts`); ties at a cut are all kept. The draw
//! takes the first index, in vocabulary order, whose running sum of kept
//! weights exceeds u Σ w: per-invocation chunk sums, a scan, one invocation
//! walking its chunk.
//!
//! Barriers: every `sync_cube` sits in control flow that depends only on
//! launch constants (comptime flags, loop counts), never on a value read
//! from memory, so the kernels stay valid under WGSL's uniformity rules.
//! Where a row's own settings decide (top-k or not, greedy or not), the
//! work runs for every row and the row's result is selected afterwards.
//!
//! Tests (`tests/common/kernels.rs`, on the CPU backend's references by
//! `tests/kernels.rs`, on lavapipe by `tests/wgpu.rs`, through SPIR-V by
//! the same file in a `--features vulkan` build): log-probs within
//! 1e-4 · max(1, |value|) of an f64 log-softmax (rows of ±3e4 and of 1e-6,
//! V up to 32 000); token frequencies over 20 000 draws within total
//! variation 0.04 of the softmax; top-k/top-p never outside the sorted
//! definition of their sets; greedy = argmax; the kernel's token equal to
//! the reference's; the gradient within 1e-5 of an f64 w · (one-hot −
//! softmax) and of burn's own ops; the decode kernels against burn's ops
//! on the CPU; training and generation against the CPU backend.
//!
//! Until 2026-11-27 each kernel also had a hand-written WGSL version,
//! launched where the runtime compiles WGSL. On an H200 the two cost the
//! same (README, "Which shader compiler"), so only these remain.

// Kernel bodies are burn's kernel language, whose integers have no
// `div_ceil` and whose shared-memory slots are written back explicitly.
#![allow(clippy::manual_div_ceil, clippy::assign_op_pattern)]

use crate::model::fused::decode::DecodeOps;
use crate::sample::kernels::KernelOps;
use burn::tensor::{DType, Shape};
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;

/// Invocations per workgroup of the vocabulary-row kernels (sampling,
/// log-prob), of the hidden-row kernels (RMSNorm) and of the elementwise
/// ones.
const VOCAB_ROW: usize = 256;
const HIDDEN_ROW: usize = 64;
const ELEMENTWISE: usize = 256;
/// WebGPU's default limit on workgroups along one grid dimension.
const MAX_GRID: usize = 65_535;

// ---------------------------------------------------------------- helpers

/// The workgroup's sum (or, with `max`, maximum) of each invocation's
/// `v`, through `red` (one slot per invocation); every invocation gets it.
#[cube]
fn block_reduce<N: Numeric>(red: &mut Shared<[N]>, lid: usize, v: N, #[comptime] max: bool) -> N {
    red[lid] = v;
    sync_cube();
    let mut s = CUBE_DIM_X as usize / 2;
    while s > 0 {
        if lid < s {
            let (a, b) = (red[lid], red[lid + s]);
            if max {
                red[lid] = select(b > a, b, a);
            } else {
                red[lid] = a + b;
            }
        }
        sync_cube();
        s /= 2;
    }
    let total = red[0];
    sync_cube();
    total
}

/// Order-preserving map from f32 to u32: a < b ⇔ key(a) < key(b).
#[cube]
fn key(x: f32) -> u32 {
    let b = u32::reinterpret(x);
    if (b & 0x8000_0000) != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}

/// The row a workgroup of a 2-D grid `gx` wide serves (rows past 65 535
/// wrap into y), clamped to `n - 1`: overhanging workgroups redo the last
/// row and write nothing, so barriers stay uniform.
#[cube]
fn grid_row(gx: u32, n: u32) -> (usize, bool) {
    let wanted = CUBE_POS_X + CUBE_POS_Y * gx;
    (select(wanted < n, wanted, n - 1) as usize, wanted < n)
}

// ---------------------------------------------------------------- kernels

/// Sampling: one workgroup per row of `logits` [B, V]; `params` [B, 4]
/// (temperature, top_k, top_p, u); `out` [B, 2] (token, log π(token)).
/// `top_k` / `top_p`: whether any row of the launch cuts that way (rows
/// that do not take the work and discard it); `sampling`: whether any row
/// samples rather than takes the argmax.
#[cube(launch)]
fn sample_kernel(
    logits: &[f32],
    params: &[f32],
    out: &mut [f32],
    v: u32,
    #[comptime] sampling: bool,
    #[comptime] top_k: bool,
    #[comptime] top_p: bool,
) {
    let lid = UNIT_POS_X as usize;
    let row = CUBE_POS_X as usize;
    let vu = v as usize;
    let base = row * vu;
    let mut red_f = Shared::<[f32]>::new_slice(VOCAB_ROW);
    let mut red_u = Shared::<[u32]>::new_slice(VOCAB_ROW);

    // 1. max and argmax (lowest index among ties), then Z.
    let mut best = f32::new(-3.4e38);
    let mut best_i = 0xFFFF_FFFFu32;
    let mut i = lid;
    while i < vu {
        let x = logits[base + i];
        if x > best {
            best = x;
            best_i = i as u32;
        }
        i += VOCAB_ROW;
    }
    red_f[lid] = best;
    red_u[lid] = best_i;
    sync_cube();
    let mut s = CUBE_DIM_X as usize / 2;
    while s > 0 {
        if lid < s {
            let a = red_f[lid];
            let b = red_f[lid + s];
            if b > a || (b == a && red_u[lid + s] < red_u[lid]) {
                red_f[lid] = b;
                red_u[lid] = red_u[lid + s];
            }
        }
        sync_cube();
        s /= 2;
    }
    let m = red_f[0];
    let amax = red_u[0];
    sync_cube();
    let mut z = 0.0f32;
    let mut i = lid;
    while i < vu {
        z += f32::exp(logits[base + i] - m);
        i += VOCAB_ROW;
    }
    let log_z = m + f32::ln(block_reduce(&mut red_f, lid, z, false));

    let mut token = amax;
    if sampling {
        let t = params[row * 4];
        let k = u32::cast_from(params[row * 4 + 1]);
        let p = params[row * 4 + 2];
        let u = params[row * 4 + 3];
        let samples = t > 0.0 && k != 1;
        let inv_t = select(samples, 1.0f32 / t, 1.0f32);
        let mut thr = 0u32;
        // 2. top-k: the largest key t with #{key(x) >= t} >= k.
        if top_k {
            let mut lo = 0u32;
            let mut hi = key(m);
            for _it in 0..32u32 {
                let mid = lo + (hi - lo + 1) / 2;
                let mut c = 0u32;
                let mut i = lid;
                while i < vu {
                    c += select(key(logits[base + i]) >= mid, 1u32, 0u32);
                    i += VOCAB_ROW;
                }
                if block_reduce(&mut red_u, lid, c, false) >= k {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            thr = select(k > 0 && k < v, lo, 0u32);
        }
        // 3. top-p over the top-k survivors: the largest key t whose mass
        // at or above it is at least p of theirs.
        if top_p {
            let mut total = 0.0f32;
            let mut i = lid;
            while i < vu {
                let x = logits[base + i];
                total += select(key(x) >= thr, f32::exp((x - m) * inv_t), 0.0f32);
                i += VOCAB_ROW;
            }
            let want = p * block_reduce(&mut red_f, lid, total, false);
            let mut lo = thr;
            let mut hi = key(m);
            for _it in 0..32u32 {
                let mid = lo + (hi - lo + 1) / 2;
                let mut acc = 0.0f32;
                let mut i = lid;
                while i < vu {
                    let x = logits[base + i];
                    acc += select(key(x) >= mid, f32::exp((x - m) * inv_t), 0.0f32);
                    i += VOCAB_ROW;
                }
                if block_reduce(&mut red_f, lid, acc, false) >= want {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            thr = select(p < 1.0, lo, thr);
        }
        // 4. draw: the first index whose running sum of kept weights
        // exceeds u Σ w, through per-invocation chunk sums.
        let chunk = (vu + VOCAB_ROW - 1) / VOCAB_ROW;
        let start = usize::min(lid * chunk, vu);
        let end = usize::min(start + chunk, vu);
        let mut acc = 0.0f32;
        for i in start..end {
            let x = logits[base + i];
            acc += select(key(x) >= thr, f32::exp((x - m) * inv_t), 0.0f32);
        }
        red_f[lid] = acc;
        let mut pick_u = Shared::<[u32]>::new_slice(1usize);
        let mut pick_f = Shared::<[f32]>::new_slice(2usize);
        sync_cube();
        if lid == 0 {
            let mut total = 0.0f32;
            for j in 0..CUBE_DIM_X as usize {
                total += red_f[j];
            }
            let goal = u * total;
            let mut run = 0.0f32;
            let mut pick = 0xFFFF_FFFFu32;
            let mut prefix = f32::new(0.0);
            let mut last = 0u32;
            let mut last_prefix = f32::new(0.0);
            for j in 0..CUBE_DIM_X as usize {
                let c = red_f[j];
                if c > 0.0 {
                    last = j as u32;
                    last_prefix = run;
                    if pick == 0xFFFF_FFFFu32 && run + c > goal {
                        pick = j as u32;
                        prefix = run;
                    }
                }
                run += c;
            }
            if pick == 0xFFFF_FFFFu32 {
                // u·total rounded past the end: the last chunk with weight.
                pick = last;
                prefix = last_prefix;
            }
            pick_u[0] = pick;
            pick_f[0] = prefix;
            pick_f[1] = goal;
        }
        sync_cube();
        if lid as u32 == pick_u[0] {
            let goal = pick_f[1];
            let mut run = pick_f[0];
            let mut chosen = 0xFFFF_FFFFu32;
            let mut last_kept = start as u32;
            for i in start..end {
                let x = logits[base + i];
                if key(x) >= thr {
                    last_kept = i as u32;
                    run += f32::exp((x - m) * inv_t);
                    if chosen == 0xFFFF_FFFFu32 && run > goal {
                        chosen = i as u32;
                    }
                }
            }
            if chosen == 0xFFFF_FFFFu32 {
                chosen = last_kept;
            }
            if samples {
                out[row * 2] = f32::cast_from(chosen);
                out[row * 2 + 1] = logits[base + chosen as usize] - log_z;
            }
        }
        token = select(samples, 0xFFFF_FFFFu32, amax);
    }
    if lid == 0 && token != 0xFFFF_FFFFu32 {
        out[row * 2] = f32::cast_from(token);
        out[row * 2 + 1] = logits[base + token as usize] - log_z;
    }
}

/// The row's max and log Σ exp(x - max) (the log-prob's two passes).
#[cube]
fn row_log_z(logits: &[f32], base: usize, vu: usize, lid: usize) -> (f32, f32) {
    let mut red = Shared::<[f32]>::new_slice(VOCAB_ROW);
    let mut m = f32::new(-3.4e38);
    let mut i = lid;
    while i < vu {
        m = f32::max(m, logits[base + i]);
        i += VOCAB_ROW;
    }
    let m = block_reduce(&mut red, lid, m, true);
    let mut z = 0.0f32;
    let mut i = lid;
    while i < vu {
        z += f32::exp(logits[base + i] - m);
        i += VOCAB_ROW;
    }
    (m, block_reduce(&mut red, lid, z, false))
}

/// Log-prob: `out[n]` = logits[n, target] − logsumexp(logits[n, :]),
/// NaN for a target outside 0..V; one workgroup per row.
#[cube(launch)]
fn logprob_kernel(logits: &[f32], targets: &[f32], out: &mut [f32], v: u32, gx: u32, n: u32) {
    let lid = UNIT_POS_X as usize;
    let (row, writes) = grid_row(gx, n);
    let vu = v as usize;
    let base = row * vu;
    let (m, z) = row_log_z(logits, base, vu, lid);
    if lid == 0 && writes {
        let t = targets[row];
        if t >= 0.0 && t < f32::cast_from(v) {
            out[row] = logits[base + u32::cast_from(t) as usize] - m - f32::ln(z);
        } else {
            out[row] = f32::reinterpret(0x7fc0_0000u32);
        }
    }
}

/// Log-prob gradient: `out[n, :]` = grad[n] · (one-hot(target) −
/// softmax(logits[n, :])).
#[cube(launch)]
fn logprob_grad_kernel(
    logits: &[f32],
    targets: &[f32],
    grad: &[f32],
    out: &mut [f32],
    v: u32,
    gx: u32,
    n: u32,
) {
    let lid = UNIT_POS_X as usize;
    let (row, writes) = grid_row(gx, n);
    let vu = v as usize;
    let base = row * vu;
    let (m, z) = row_log_z(logits, base, vu, lid);
    if writes {
        let g = grad[row];
        let scale = g / z;
        let t = targets[row];
        let hit = select(t >= 0.0 && t < f32::cast_from(v), u32::cast_from(t), v) as usize;
        let mut i = lid;
        while i < vu {
            let mut d = -scale * f32::exp(logits[base + i] - m);
            if i == hit {
                d += g;
            }
            out[base + i] = d;
            i += VOCAB_ROW;
        }
    }
}

/// 1 / sqrt(mean(x²) + eps) of a row whose invocation-strided Σ x² is `s`.
#[cube]
fn inv_rms(s: f32, lid: usize, d: usize, eps: f32) -> f32 {
    let mut red = Shared::<[f32]>::new_slice(HIDDEN_ROW);
    let total = block_reduce(&mut red, lid, s, false);
    1.0f32 / f32::sqrt(total / f32::cast_from(d as u32) + eps)
}

/// RMSNorm: each row of x [N, D] RMS-normalised and scaled by gamma.
#[cube(launch)]
fn rms_norm_kernel(x: &[f32], gamma: &[f32], out: &mut [f32], d: u32, gx: u32, n: u32, eps: f32) {
    let lid = UNIT_POS_X as usize;
    let (row, writes) = grid_row(gx, n);
    let du = d as usize;
    let base = row * du;
    let mut s = 0.0f32;
    let mut i = lid;
    while i < du {
        let v = x[base + i];
        s += v * v;
        i += HIDDEN_ROW;
    }
    let r = inv_rms(s, lid, du, eps);
    if writes {
        let mut i = lid;
        while i < du {
            out[base + i] = x[base + i] * r * gamma[i];
            i += HIDDEN_ROW;
        }
    }
}

/// Add + RMSNorm: `sum` = x + y and `out` its RMSNorm by gamma.
#[cube(launch)]
fn add_rms_norm_kernel(
    x: &[f32],
    y: &[f32],
    gamma: &[f32],
    out: &mut [f32],
    sum: &mut [f32],
    d: u32,
    gx: u32,
    n: u32,
    eps: f32,
) {
    let lid = UNIT_POS_X as usize;
    let (row, writes) = grid_row(gx, n);
    let du = d as usize;
    let base = row * du;
    let mut s = 0.0f32;
    let mut i = lid;
    while i < du {
        let v = x[base + i] + y[base + i];
        if writes {
            sum[base + i] = v;
        }
        s += v * v;
        i += HIDDEN_ROW;
    }
    let r = inv_rms(s, lid, du, eps);
    if writes {
        let mut i = lid;
        while i < du {
            out[base + i] = (x[base + i] + y[base + i]) * r * gamma[i];
            i += HIDDEN_ROW;
        }
    }
}

/// The element an elementwise invocation serves (workgroups of 256 in a
/// grid `gx` wide).
#[cube]
fn element(gx: u32) -> usize {
    ((CUBE_POS_X + CUBE_POS_Y * gx) as usize) * ELEMENTWISE + UNIT_POS_X as usize
}

/// SwiGLU: silu(gate) · up.
#[cube(launch)]
fn swiglu_kernel(gate: &[f32], up: &[f32], out: &mut [f32], len: u32, gx: u32) {
    let i = element(gx);
    if i < len as usize {
        let g = gate[i];
        out[i] = g / (1.0f32 + f32::exp(-g)) * up[i];
    }
}

/// Rotary embedding: the rotary embedding of x [B, H, T, Dh] (read through the
/// strides `sb`, `sh`, `st` of its first three dimensions) at positions
/// start.., from the whole tables cos, sin [max_len, Dh], times `scale`;
/// `out` contiguous, `len` elements.
#[cube(launch)]
fn rope_kernel(
    x: &[f32],
    cos_t: &[f32],
    sin_t: &[f32],
    out: &mut [f32],
    h: u32,
    t: u32,
    dh: u32,
    sb: u32,
    sh: u32,
    st: u32,
    start: u32,
    gx: u32,
    len: u32,
    scale: f32,
) {
    let o = element(gx);
    if o < len as usize {
        let (h, t, dh) = (h as usize, t as usize, dh as usize);
        let half = dh / 2;
        let i = o % dh;
        let ti = (o / dh) % t;
        let hi = (o / (dh * t)) % h;
        let bi = o / (dh * t * h);
        let row = bi * sb as usize + hi * sh as usize + ti * st as usize;
        let tab = (start as usize + ti) * dh + i;
        if i < half {
            out[o] = (x[row + i] * cos_t[tab] - x[row + i + half] * sin_t[tab]) * scale;
        } else {
            out[o] = (x[row + i] * cos_t[tab] + x[row + i - half] * sin_t[tab]) * scale;
        }
    }
}

// ------------------------------------------------------------- launching

/// Which row settings a sampling launch has to serve (a kernel constant,
/// so rows that need none of a pass do not pay for it): bit 0 some row
/// samples, bit 1 some sampling row cuts to its top k, bit 2 some sampling
/// row cuts to its top p.
pub mod cuts {
    pub const SAMPLES: u32 = 1;
    pub const TOP_K: u32 = 2;
    pub const TOP_P: u32 = 4;
}

/// A new contiguous f32 tensor of `shape` on `like`'s device.
fn empty_like(like: &CubeTensor, shape: Shape) -> CubeTensor {
    let handle = like.client.empty(shape.num_elements() * 4);
    CubeTensor::new_contiguous(
        like.client.clone(),
        like.device.clone(),
        shape,
        handle,
        DType::F32,
    )
}

fn buffer(t: &CubeTensor) -> BufferArg {
    t.clone().into_buffer_arg()
}

/// One workgroup per row, rows past 65 535 wrapping into the grid's y:
/// (count, grid width).
fn row_grid(n: usize) -> (CubeCount, u32) {
    let gx = n.clamp(1, MAX_GRID);
    (
        CubeCount::Static(gx as u32, n.div_ceil(gx).max(1) as u32, 1),
        gx as u32,
    )
}

/// Workgroups of [`ELEMENTWISE`] for n elements: (count, grid width).
fn elementwise_grid(n: usize) -> (CubeCount, u32) {
    row_grid(n.div_ceil(ELEMENTWISE).max(1))
}

/// The sampling and log-prob ops of `sample::kernels` on wgpu.
impl KernelOps for CubeBackend {
    /// `cuts` as [`cuts`].
    fn sample_rows(logits: CubeTensor, params: CubeTensor, cuts: u32) -> CubeTensor {
        let (logits, params) = (into_contiguous(logits), into_contiguous(params));
        let (b, v) = (logits.meta.shape()[0], logits.meta.shape()[1]);
        assert!(b <= MAX_GRID, "sample_rows: {b} rows exceed one dispatch");
        let out = empty_like(&logits, Shape::new([b, 2]));
        sample_kernel::launch(
            &logits.client,
            CubeCount::Static(b as u32, 1, 1),
            CubeDim::new_1d(VOCAB_ROW as u32),
            buffer(&logits),
            buffer(&params),
            buffer(&out),
            v as u32,
            cuts & cuts::SAMPLES != 0,
            cuts & cuts::TOP_K != 0,
            cuts & cuts::TOP_P != 0,
        );
        out
    }

    fn target_logprobs(logits: CubeTensor, targets: CubeTensor) -> CubeTensor {
        let (logits, targets) = (into_contiguous(logits), into_contiguous(targets));
        let (n, v) = (logits.meta.shape()[0], logits.meta.shape()[1]);
        let out = empty_like(&logits, Shape::new([n]));
        let (count, gx) = row_grid(n);
        logprob_kernel::launch(
            &logits.client,
            count,
            CubeDim::new_1d(VOCAB_ROW as u32),
            buffer(&logits),
            buffer(&targets),
            buffer(&out),
            v as u32,
            gx,
            n as u32,
        );
        out
    }

    fn target_logprobs_grad(
        logits: CubeTensor,
        targets: CubeTensor,
        grad: CubeTensor,
    ) -> CubeTensor {
        let (logits, targets, grad) = (
            into_contiguous(logits),
            into_contiguous(targets),
            into_contiguous(grad),
        );
        let (n, v) = (logits.meta.shape()[0], logits.meta.shape()[1]);
        let out = empty_like(&logits, Shape::new([n, v]));
        let (count, gx) = row_grid(n);
        logprob_grad_kernel::launch(
            &logits.client,
            count,
            CubeDim::new_1d(VOCAB_ROW as u32),
            buffer(&logits),
            buffer(&targets),
            buffer(&grad),
            buffer(&out),
            v as u32,
            gx,
            n as u32,
        );
        out
    }
}

/// Rows of x over gamma's length: (rows, row length).
fn rows(x: &CubeTensor, gamma: &CubeTensor) -> (usize, usize) {
    let d = gamma.meta.num_elements();
    (x.meta.num_elements() / d.max(1), d)
}

/// The decode ops of `model::fused::decode` on wgpu.
impl DecodeOps for CubeBackend {
    fn rms_norm_kernel(x: CubeTensor, gamma: CubeTensor, eps: f32) -> CubeTensor {
        let (x, gamma) = (into_contiguous(x), into_contiguous(gamma));
        let (n, d) = rows(&x, &gamma);
        let out = empty_like(&x, x.meta.shape().clone());
        let (count, gx) = row_grid(n);
        rms_norm_kernel::launch(
            &x.client,
            count,
            CubeDim::new_1d(HIDDEN_ROW as u32),
            buffer(&x),
            buffer(&gamma),
            buffer(&out),
            d as u32,
            gx,
            n as u32,
            eps,
        );
        out
    }

    /// (x + y, its norm).
    fn add_rms_norm_kernel(
        x: CubeTensor,
        y: CubeTensor,
        gamma: CubeTensor,
        eps: f32,
    ) -> (CubeTensor, CubeTensor) {
        let (x, y, gamma) = (
            into_contiguous(x),
            into_contiguous(y),
            into_contiguous(gamma),
        );
        let (n, d) = rows(&x, &gamma);
        let (normed, sum) = (
            empty_like(&x, x.meta.shape().clone()),
            empty_like(&x, x.meta.shape().clone()),
        );
        let (count, gx) = row_grid(n);
        add_rms_norm_kernel::launch(
            &x.client,
            count,
            CubeDim::new_1d(HIDDEN_ROW as u32),
            buffer(&x),
            buffer(&y),
            buffer(&gamma),
            buffer(&normed),
            buffer(&sum),
            d as u32,
            gx,
            n as u32,
            eps,
        );
        (sum, normed)
    }

    fn swiglu_kernel(gate: CubeTensor, up: CubeTensor) -> CubeTensor {
        let (gate, up) = (into_contiguous(gate), into_contiguous(up));
        let n = gate.meta.num_elements();
        let out = empty_like(&gate, gate.meta.shape().clone());
        let (count, gx) = elementwise_grid(n);
        swiglu_kernel::launch(
            &gate.client,
            count,
            CubeDim::new_1d(ELEMENTWISE as u32),
            buffer(&gate),
            buffer(&up),
            buffer(&out),
            n as u32,
            gx,
        );
        out
    }

    /// x is read through its strides when its last
    /// dimension is contiguous (attention's [B, T, H, Dh] buffer seen as
    /// [B, H, T, Dh] needs no copy).
    fn rope_kernel(
        x: CubeTensor,
        cos: CubeTensor,
        sin: CubeTensor,
        start: usize,
        scale: f32,
    ) -> CubeTensor {
        let plain = !x.meta.is_tiled() && x.meta.strides()[3] == 1;
        let x = if plain { x } else { into_contiguous(x) };
        let (cos, sin) = (into_contiguous(cos), into_contiguous(sin));
        let dims = x.meta.shape().clone();
        let st = x.meta.strides().clone();
        let n = dims.num_elements();
        let out = empty_like(&x, dims.clone());
        let (count, gx) = elementwise_grid(n);
        // The whole buffer behind x, whatever its strides cover.
        let span = 1 + (0..4).map(|i| (dims[i] - 1) * st[i]).sum::<usize>();
        rope_kernel::launch(
            &x.client,
            count,
            CubeDim::new_1d(ELEMENTWISE as u32),
            unsafe { BufferArg::from_raw_parts(x.handle.clone(), span) },
            buffer(&cos),
            buffer(&sin),
            buffer(&out),
            dims[1] as u32,
            dims[2] as u32,
            dims[3] as u32,
            st[0] as u32,
            st[1] as u32,
            st[2] as u32,
            start as u32,
            gx,
            n as u32,
            scale,
        );
        out
    }
}
