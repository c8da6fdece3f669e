// rope.wgsl — rotary embedding in Llama's rotate-half layout, the forward of
// src/model/fused/mod.rs's `rope_row` (its plain-Rust reference, which the
// CPU backend runs), for inference on wgpu: per row of Dh (h = Dh / 2),
//   y_i     = x_i · cos_i − x_{i+h} · sin_i
//   y_{i+h} = x_{i+h} · cos_{i+h} + x_i · sin_{i+h}
// with the tables' rows at positions start .. start + T. One kernel where
// burn's ops took eight or nine in a decode step (two slices, a negation, a
// concatenation as two slice writes, three products and a sum).
//
// Bindings
//   0  x    : array<f32> [B, H, T, Dh] read through its strides (attention
//             hands over a [B, T, H, Dh] buffer seen as [B, H, T, Dh])
//   1  cos  : array<f32> [max_len, Dh], read
//   2  sin  : array<f32> [max_len, Dh], read
//   3  out  : array<f32> [B, H, T, Dh] contiguous
//   4  info : array<u32> [10]   H, T, Dh, stride of B, H and T in x, start,
//                               grid width in workgroups, number of elements,
//                               a factor for the output (f32 bits: attention
//                               scales its queries by 1/√Dh here)
//
// Layout: one invocation per output element, workgroups of 256 in a 2-D
// grid (x up to 65535 workgroups, then y).

const WG: u32 = 256u;

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> cos_t: array<f32>;
@group(0) @binding(2) var<storage, read_write> sin_t: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> info: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid3: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>) {
    let o = (wid.x + wid.y * info[7]) * WG + lid3.x;
    if (o >= info[8]) {
        return;
    }
    let h = info[0];
    let t = info[1];
    let dh = info[2];
    let half = dh / 2u;
    let i = o % dh;
    let ti = (o / dh) % t;
    let hi = (o / (dh * t)) % h;
    let bi = o / (dh * t * h);
    let row = bi * info[3] + hi * info[4] + ti * info[5];
    let tab = (info[6] + ti) * dh + i;
    let scale = bitcast<f32>(info[9]);
    if (i < half) {
        out[o] = (x[row + i] * cos_t[tab] - x[row + i + half] * sin_t[tab]) * scale;
    } else {
        out[o] = (x[row + i] * cos_t[tab] + x[row + i - half] * sin_t[tab]) * scale;
    }
}
