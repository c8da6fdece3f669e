//! A projection held as Q8_0 / Q4_0 blocks (`model::quant`): y = x·Wᵀ
//! and the input gradient dx = dy·W, each weight expanded from its block
//! as it is read (the f32 matrix is never written). One invocation per
//! output element, a plain loop over the shared dimension: correctness
//! and memory first, not a tiled matmul's speed.

// Kernel bodies are burn's kernel language, whose integers have no
// `div_ceil`.
#![allow(clippy::manual_div_ceil)]

use super::common::element;
use cubecl::prelude::*;

/// W[r, c] of a matrix with `k` columns from its packed blocks: `values`
/// [rows, k · bytes per value / 4] (four bytes to a u32, little-endian)
/// and `scales` [rows, k / 32]. Q8_0: byte c of the row is the signed
/// value. Q4_0 (`q4`): each block's 16 bytes hold value j in the low
/// nibble of byte j and value j + 16 in its high nibble, offset by 8.
#[cube]
pub fn weight(
    values: &[u32],
    scales: &[f32],
    r: usize,
    c: usize,
    k: usize,
    #[comptime] q4: bool,
) -> f32 {
    let scale = scales[r * (k / 32) + c / 32];
    let j = c % 32;
    let q = if q4 {
        let byte = (c / 32) * 16 + j % 16;
        let word = values[r * (k / 8) + byte / 4];
        let shift = ((byte % 4) * 8 + (j / 16) * 4) as u32;
        f32::cast_from((word >> shift) & 15u32) - 8.0f32
    } else {
        let word = values[r * (k / 4) + c / 4];
        let b = (word >> (((c % 4) * 8) as u32)) & 255u32;
        f32::cast_from(b) - select(b > 127u32, 256.0f32, 0.0f32)
    };
    scale * q
}

/// y [m, n] = x [m, k] · Wᵀ for W [n, k] in blocks.
#[cube(launch, create_dummy_kernel)]
pub fn quant_matmul_kernel(
    x: &[f32],
    values: &[u32],
    scales: &[f32],
    out: &mut [f32],
    m: u32,
    n: u32,
    k: u32,
    gx: u32,
    #[comptime] q4: bool,
) {
    let i = element(gx);
    let (nu, ku) = (n as usize, k as usize);
    if i < (m as usize) * nu {
        let (row, col) = (i / nu, i % nu);
        let mut acc = 0.0f32;
        let mut c = 0usize;
        while c < ku {
            acc += x[row * ku + c] * weight(values, scales, col, c, ku, q4);
            c += 1;
        }
        out[i] = acc;
    }
}

/// dx [m, k] = dy [m, n] · W for W [n, k] in blocks.
#[cube(launch, create_dummy_kernel)]
pub fn quant_matmul_grad_kernel(
    dy: &[f32],
    values: &[u32],
    scales: &[f32],
    out: &mut [f32],
    m: u32,
    n: u32,
    k: u32,
    gx: u32,
    #[comptime] q4: bool,
) {
    let i = element(gx);
    let (nu, ku) = (n as usize, k as usize);
    if i < (m as usize) * ku {
        let (row, col) = (i / ku, i % ku);
        let mut acc = 0.0f32;
        let mut r = 0usize;
        while r < nu {
            acc += dy[row * nu + r] * weight(values, scales, r, col, ku, q4);
            r += 1;
        }
        out[i] = acc;
    }
}
