// add_rms_norm.wgsl — a decoder layer's residual add and the RMSNorm after
// it in one kernel: s = x + y, out = s / sqrt(mean(s²) + eps) · γ, writing
// both s (the new residual stream) and out. rms_norm.wgsl is this without
// the add; its plain-Rust reference is the add followed by
// src/model/fused/mod.rs's `rms_norm_row`. For inference on wgpu: one
// launch where the add and rms_norm.wgsl took two.
//
// Bindings
//   0  x     : array<f32> [N, D] row-major, read
//   1  y     : array<f32> [N, D] row-major, read
//   2  gamma : array<f32> [D], read
//   3  out   : array<f32> [N, D]   the normalised sum
//   4  sum   : array<f32> [N, D]   x + y
//   5  info  : array<u32> [4]      D, grid width in workgroups, N, eps (f32 bits)
//
// Layout as rms_norm.wgsl: one workgroup of 64 invocations per row, rows
// beyond 65535 wrapping into the grid's y dimension; (1) the sum written
// and Σ s² reduced through workgroup memory (reduce.wgsl), (2) the strided normalised
// write (the sum recomputed, the same f32 add as in (1)).

const WG: u32 = 64u;

// read_write throughout: tensors may share one wgpu buffer (see sample.wgsl).
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> gamma: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> sum: array<f32>;
@group(0) @binding(5) var<storage, read_write> info: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_id) lid3: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>) {
    let lid = lid3.x;
    let d = info[0];
    let n = info[2];
    let eps = bitcast<f32>(info[3]);
    // The grid's last y row may overhang: those workgroups redo row n - 1
    // and write nothing (no early return, so barriers stay uniform).
    let wanted = wid.x + wid.y * info[1];
    let row = min(wanted, n - 1u);
    let base = row * d;
    let writes = wanted < n;
    // (1)
    var s = 0.0;
    for (var i = lid; i < d; i = i + WG) {
        let v = x[base + i] + y[base + i];
        if (writes) {
            sum[base + i] = v;
        }
        s = s + v * v;
    }
    let r = 1.0 / sqrt(workgroup_sum(lid, s) / f32(d) + eps);
    // (2)
    if (writes) {
        for (var i = lid; i < d; i = i + WG) {
            out[base + i] = (x[base + i] + y[base + i]) * r * gamma[i];
        }
    }
}
