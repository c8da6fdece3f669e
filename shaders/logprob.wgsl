// logprob.wgsl — fused log-softmax and gather: log π(target) for each row of
// logits, without writing the log-softmax out.
//
// Bindings
//   0  logits  : array<f32> [N, V] row-major (N = B·T), read
//   1  targets : array<f32> [N]    target token ids (exact as f32, V < 2^24)
//   2  out     : array<f32> [N]    logits[n, target] - logsumexp(logits[n, :])
//                                  (NaN for a target outside 0..V)
//   3  info    : array<u32> [3]    V, grid width in workgroups, N
//
// Layout: one workgroup of 256 invocations per row; rows beyond 65535 wrap
// into the grid's y dimension (row = wid.x + wid.y · info[1]). Two strided
// passes (max, then Σ exp) reduced through 1 KiB of workgroup memory
// (reduce.wgsl).

const WG: u32 = 256u;

// read_write throughout: tensors may share one wgpu buffer (see sample.wgsl).
@group(0) @binding(0) var<storage, read_write> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> targets: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> info: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid3: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>) {
    let lid = lid3.x;
    let v = info[0];
    let n = info[2];
    // The grid's last y row may overhang: those workgroups redo row n - 1
    // and write nothing (no early return, so barriers stay uniform).
    let wanted = wid.x + wid.y * info[1];
    let row = min(wanted, n - 1u);
    let base = row * v;
    var m = -3.4e38;
    for (var i = lid; i < v; i = i + WG) {
        m = max(m, logits[base + i]);
    }
    m = workgroup_max(lid, m);
    var z = 0.0;
    for (var i = lid; i < v; i = i + WG) {
        z = z + exp(logits[base + i] - m);
    }
    z = workgroup_sum(lid, z);
    if (lid == 0u && wanted < n) {
        let t = targets[row];
        if (t >= 0.0 && t < f32(v)) {
            out[row] = logits[base + u32(t)] - m - log(z);
        } else {
            out[row] = bitcast<f32>(0x7fc00000u);
        }
    }
}
