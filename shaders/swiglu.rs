//! SwiGLU's silu(gate) · up, elementwise (inference on wgpu).

use super::common::element;
use cubecl::prelude::*;

/// SwiGLU: silu(gate) · up.
#[cube(launch, create_dummy_kernel)]
pub fn swiglu_kernel(gate: &[f32], up: &[f32], out: &mut [f32], len: u32, gx: u32) {
    let i = element(gx);
    if i < len as usize {
        let g = gate[i];
        out[i] = g / (1.0f32 + f32::exp(-g)) * up[i];
    }
}
