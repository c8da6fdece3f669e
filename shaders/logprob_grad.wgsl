// logprob_grad.wgsl — the backward of logprob.wgsl: for y[n] = log π(t[n])
// = logits[n, t] - logsumexp(logits[n, :]) and upstream gradient g[n],
//   ∂y/∂logits[n, i] · g[n] = g[n] · ([i = t[n]] - softmax(logits[n, :])[i]),
// written in one pass over the row after the two reductions of the forward.
//
// Bindings
//   0  logits  : array<f32> [N, V] row-major (N = B·T), read
//   1  targets : array<f32> [N]    target token ids (exact as f32, V < 2^24)
//   2  grad    : array<f32> [N]    upstream gradient g, read
//   3  out     : array<f32> [N, V] gradient with respect to the logits
//                                  (a target outside 0..V adds no one-hot)
//   4  info    : array<u32> [3]    V, grid width in workgroups, N
//
// Layout: as logprob.wgsl — one workgroup of 256 invocations per row, rows
// beyond 65535 wrapping into the grid's y dimension; (1) max, (2) Σ exp,
// each reduced through 1 KiB of workgroup memory (reduce.wgsl), (3) the
// strided write.

const WG: u32 = 256u;

// read_write throughout: tensors may share one wgpu buffer (see sample.wgsl).
@group(0) @binding(0) var<storage, read_write> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> targets: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> info: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid3: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>) {
    let lid = lid3.x;
    let v = info[0];
    let n = info[2];
    // Overhanging workgroups of the grid's last y row redo row n - 1 and
    // write nothing (no early return, so barriers stay uniform).
    let wanted = wid.x + wid.y * info[1];
    let row = min(wanted, n - 1u);
    let base = row * v;
    // (1) the row's max
    var m = -3.4e38;
    for (var i = lid; i < v; i = i + WG) {
        m = max(m, logits[base + i]);
    }
    m = workgroup_max(lid, m);
    // (2) Σ exp(x - max)
    var z = 0.0;
    for (var i = lid; i < v; i = i + WG) {
        z = z + exp(logits[base + i] - m);
    }
    z = workgroup_sum(lid, z);
    // (3) g · (one-hot - softmax)
    if (wanted < n) {
        let scale = grad[row] / z;
        let t = targets[row];
        let hit = select(v, u32(t), t >= 0.0 && t < f32(v));
        for (var i = lid; i < v; i = i + WG) {
            var d = -scale * exp(logits[base + i] - m);
            if (i == hit) {
                d = d + grad[row];
            }
            out[base + i] = d;
        }
    }
}
