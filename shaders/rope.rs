//! The rotary embedding of a strided [B, H, T, Dh] view (inference on
//! wgpu), with attention's query scale folded in.

// Kernel bodies are burn's kernel language, whose integers have no
// `div_ceil` and whose shared-memory slots are written back explicitly.
#![allow(clippy::manual_div_ceil, clippy::assign_op_pattern)]

use super::common::element;
use cubecl::prelude::*;

/// Rotary embedding: the rotary embedding of x [B, H, T, Dh] (read through the
/// strides `sb`, `sh`, `st` of its first three dimensions) at positions
/// start.., from the whole tables cos, sin [max_len, Dh], times `scale`;
/// `out` contiguous, `len` elements.
#[cube(launch, create_dummy_kernel)]
pub fn rope_kernel(
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
