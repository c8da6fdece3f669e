// swiglu.wgsl — silu(gate) · up elementwise, the forward of
// src/model/fused/mod.rs's `swiglu_cpu` (its plain-Rust reference, which the
// CPU backend runs), for inference on wgpu: one kernel where burn's ops
// took eight in a decode step.
//
// Bindings
//   0  gate : array<f32> [n], read
//   1  up   : array<f32> [n], read
//   2  out  : array<f32> [n]
//   3  info : array<u32> [2]    n, grid width in workgroups
//
// Layout: one invocation per element, workgroups of 256 in a 2-D grid
// (x up to 65535 workgroups, then y).

const WG: u32 = 256u;

@group(0) @binding(0) var<storage, read_write> gate: array<f32>;
@group(0) @binding(1) var<storage, read_write> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> info: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid3: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>) {
    let i = (wid.x + wid.y * info[1]) * WG + lid3.x;
    if (i < info[0]) {
        let g = gate[i];
        out[i] = g / (1.0 + exp(-g)) * up[i];
    }
}
