//! RMSNorm of each row, alone or after a residual add (inference on wgpu).

// Kernel bodies are burn's kernel language, whose integers have no
// `div_ceil` and whose shared-memory slots are written back explicitly.
#![allow(clippy::manual_div_ceil, clippy::assign_op_pattern)]

use super::common::{HIDDEN_ROW, block_reduce, grid_row};
use cubecl::prelude::*;

/// 1 / sqrt(mean(x²) + eps) of a row whose invocation-strided Σ x² is `s`.
#[cube]
pub fn inv_rms(s: f32, lid: usize, d: usize, eps: f32) -> f32 {
    let mut red = Shared::<[f32]>::new_slice(HIDDEN_ROW);
    let total = block_reduce(&mut red, lid, s, false);
    1.0f32 / f32::sqrt(total / f32::cast_from(d as u32) + eps)
}

/// RMSNorm: each row of x [N, D] RMS-normalised and scaled by gamma.
#[cube(launch, create_dummy_kernel)]
pub fn rms_norm_kernel(
    x: &[f32],
    gamma: &[f32],
    out: &mut [f32],
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
#[cube(launch, create_dummy_kernel)]
pub fn add_rms_norm_kernel(
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
