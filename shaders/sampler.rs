//! The sampler: the next token of every row of logits, with temperature,
//! top-k, top-p and a per-row uniform, chosen on the device.

// Kernel bodies are burn's kernel language, whose integers have no
// `div_ceil` and whose shared-memory slots are written back explicitly.
#![allow(clippy::manual_div_ceil, clippy::assign_op_pattern)]

use super::common::{VOCAB_ROW, block_reduce};
use cubecl::prelude::*;

/// Order-preserving map from f32 to u32: a < b ⇔ key(a) < key(b).
#[cube]
pub fn key(x: f32) -> u32 {
    let b = u32::reinterpret(x);
    if (b & 0x8000_0000) != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}

/// Sampling: one workgroup per row of `logits` [B, V]; `params` [B, 4]
/// (temperature, top_k, top_p, u); `out` [B, 2] (token, log π(token)).
/// `top_k` / `top_p`: whether any row of the launch cuts that way (rows
/// that do not take the work and discard it); `sampling`: whether any row
/// samples rather than takes the argmax.
#[cube(launch, create_dummy_kernel)]
pub fn sample_kernel(
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
