//! What several kernels share: the workgroup sizes, WebGPU's grid limit,
//! a workgroup reduction, and where a workgroup's row or an invocation's
//! element lies in the grid.

// Kernel bodies are burn's kernel language, whose integers have no
// `div_ceil` and whose shared-memory slots are written back explicitly.
#![allow(clippy::manual_div_ceil, clippy::assign_op_pattern)]

use cubecl::prelude::*;

/// Invocations per workgroup of the vocabulary-row kernels (sampling,
/// log-prob), of the hidden-row kernels (RMSNorm) and of the elementwise
/// ones.
pub const VOCAB_ROW: usize = 256;
pub const HIDDEN_ROW: usize = 64;
pub const ELEMENTWISE: usize = 256;
/// WebGPU's default limit on workgroups along one grid dimension.
pub const MAX_GRID: usize = 65_535;

/// The workgroup's sum (or, with `max`, maximum) of each invocation's
/// `v`, through `red` (one slot per invocation); every invocation gets it.
#[cube]
pub fn block_reduce<N: Numeric>(
    red: &mut Shared<[N]>,
    lid: usize,
    v: N,
    #[comptime] max: bool,
) -> N {
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

/// The row a workgroup of a 2-D grid `gx` wide serves (rows past 65 535
/// wrap into y), clamped to `n - 1`: overhanging workgroups redo the last
/// row and write nothing, so barriers stay uniform.
#[cube]
pub fn grid_row(gx: u32, n: u32) -> (usize, bool) {
    let wanted = CUBE_POS_X + CUBE_POS_Y * gx;
    (select(wanted < n, wanted, n - 1) as usize, wanted < n)
}

/// The element an elementwise invocation serves (workgroups of 256 in a
/// grid `gx` wide).
#[cube]
pub fn element(gx: u32) -> usize {
    ((CUBE_POS_X + CUBE_POS_Y * gx) as usize) * ELEMENTWISE + UNIT_POS_X as usize
}
