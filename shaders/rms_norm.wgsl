// rms_norm.wgsl — RMSNorm of each row of x: y = x / sqrt(mean(x²) + eps) · γ,
// the forward of src/model/fused/mod.rs's `rms_norm_row` (its plain-Rust
// reference, which the CPU backend runs), for inference on wgpu: one kernel
// where burn's ops took seven in a decode step.
//
// Bindings
//   0  x     : array<f32> [N, D] row-major, read
//   1  gamma : array<f32> [D], read
//   2  out   : array<f32> [N, D]
//   3  info  : array<u32> [4]    D, grid width in workgroups, N, eps (f32 bits)
//
// Layout: one workgroup of 64 invocations per row, rows beyond 65535
// wrapping into the grid's y dimension; (1) Σ x² reduced through workgroup
// memory (reduce.wgsl), (2) the strided write.

const WG: u32 = 64u;

// read_write throughout: tensors may share one wgpu buffer (see sample.wgsl).
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> gamma: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> info: array<u32>;

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
    // (1)
    var s = 0.0;
    for (var i = lid; i < d; i = i + WG) {
        let v = x[base + i];
        s = s + v * v;
    }
    let r = 1.0 / sqrt(workgroup_sum(lid, s) / f32(d) + eps);
    // (2)
    if (wanted < n) {
        for (var i = lid; i < d; i = i + WG) {
            out[base + i] = x[base + i] * r * gamma[i];
        }
    }
}
