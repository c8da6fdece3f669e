//! The fused log-prob (log-softmax + gather, the log-softmax never
//! written) and its gradient, training's loss on the device.

// Kernel bodies are burn's kernel language, whose integers have no
// `div_ceil` and whose shared-memory slots are written back explicitly.
#![allow(clippy::manual_div_ceil, clippy::assign_op_pattern)]

use super::common::{VOCAB_ROW, block_reduce, grid_row};
use cubecl::prelude::*;

/// The row's max and log Σ exp(x - max) (the log-prob's two passes).
#[cube]
pub fn row_log_z(logits: &[f32], base: usize, vu: usize, lid: usize) -> (f32, f32) {
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
#[cube(launch, create_dummy_kernel)]
pub fn logprob_kernel(logits: &[f32], targets: &[f32], out: &mut [f32], v: u32, gx: u32, n: u32) {
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
#[cube(launch, create_dummy_kernel)]
pub fn logprob_grad_kernel(
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
