// sample.wgsl — pick the next token of every row from its logits, on the GPU.
//
// Bindings
//   0  logits : array<f32>  [B, V] row-major, read
//   1  params : array<f32>  [B, 4] per row: temperature, top_k, top_p, u
//                (u uniform in [0, 1), drawn on the host from the row's
//                 seeded stream; top_k 0 = no cut; temperature <= 0 or
//                 top_k == 1 = greedy)
//   2  out    : array<f32>  [B, 2] per row: token id (exact as f32 for
//                V < 2^24), log π(token) at temperature 1 with no cuts
//   3  info   : array<u32>  [1]    V
//
// Layout: one workgroup of 256 invocations per row (dispatch B × 1 × 1).
// Each invocation strides over the vocabulary; reductions go through 2 KiB
// of workgroup memory, inside WebGPU's default limits (16 KiB, 256
// invocations), f32 only.
//
// Algorithm (the plain-Rust reference is src/sample/reference.rs):
//   1. max and argmax (lowest index among ties), Z = Σ exp(x - max);
//   2. top-k: the largest key t with #{key(x) >= t} >= k, by bisection on
//      the order-preserving u32 key of the f32 logit (32 counting passes);
//   3. top-p: the largest key t with Σ_{key >= t} w >= p Σ w, w = exp((x -
//      max) / T), by the same bisection over mass (ties at t are kept);
//   4. draw: the first index, in vocabulary order, whose running sum of
//      kept weights exceeds u Σ w: per-invocation chunk sums, a scan, and one
//      invocation walking its chunk.

const WG: u32 = 256u;

// All bindings are read_write: the runtime may place several tensors in one
// wgpu buffer, and a buffer bound both read-only and read-write in one
// dispatch is a validation error. Storage loads are therefore not uniform
// values, which is why row parameters go through workgroupUniformLoad.
@group(0) @binding(0) var<storage, read_write> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> params: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> info: array<u32>;

var<workgroup> red_f: array<f32, 256>;
var<workgroup> red_u: array<u32, 256>;
// Scalars every invocation reads through workgroupUniformLoad, so that
// loops and branches over them stay in uniform control flow (barriers).
var<workgroup> uni_u: u32;
var<workgroup> uni_f: f32;
var<workgroup> row_k: u32;
var<workgroup> row_p: f32;
// The draw's chosen chunk, the running sum before it, and the goal.
var<workgroup> pick_chunk: u32;
var<workgroup> pick_prefix: f32;
var<workgroup> pick_target: f32;

// Order-preserving map from f32 to u32: a < b  <=>  key(a) < key(b).
fn key(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    if ((b & 0x80000000u) != 0u) {
        return ~b;
    }
    return b | 0x80000000u;
}

fn sum_f(lid: u32, v: f32) -> f32 {
    red_f[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (lid < s) {
            red_f[lid] = red_f[lid] + red_f[lid + s];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        uni_f = red_f[0];
    }
    return workgroupUniformLoad(&uni_f);
}

fn sum_u(lid: u32, v: u32) -> u32 {
    red_u[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (lid < s) {
            red_u[lid] = red_u[lid] + red_u[lid + s];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        uni_u = red_u[0];
    }
    return workgroupUniformLoad(&uni_u);
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid3: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>) {
    let lid = lid3.x;
    let row = wid.x;
    let v = info[0];
    let base = row * v;

    // 1. max / argmax / Z.
    var best = -3.4e38;
    var best_i = 0xFFFFFFFFu;
    for (var i = lid; i < v; i = i + WG) {
        let x = logits[base + i];
        if (x > best) {
            best = x;
            best_i = i;
        }
    }
    red_f[lid] = best;
    red_u[lid] = best_i;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (lid < s) {
            let a = red_f[lid];
            let b = red_f[lid + s];
            if (b > a || (b == a && red_u[lid + s] < red_u[lid])) {
                red_f[lid] = b;
                red_u[lid] = red_u[lid + s];
            }
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        uni_f = red_f[0];
    }
    let m = workgroupUniformLoad(&uni_f);
    let amax = red_u[0];
    var z = 0.0;
    for (var i = lid; i < v; i = i + WG) {
        z = z + exp(logits[base + i] - m);
    }
    let log_z = m + log(sum_f(lid, z));

    // Row parameters, made uniform for the control flow below.
    if (lid == 0u) {
        let t = params[row * 4u];
        let k = u32(params[row * 4u + 1u]);
        let p = params[row * 4u + 2u];
        var mode = 0u;                         // greedy
        if (t > 0.0 && k != 1u) {
            mode = 1u;                         // sample
            if (k > 0u && k < v) { mode = mode | 2u; }
            if (p < 1.0) { mode = mode | 4u; }
        }
        uni_u = mode;
        row_k = k;
        row_p = p;
    }
    let mode = workgroupUniformLoad(&uni_u);
    let k = workgroupUniformLoad(&row_k);
    let p = workgroupUniformLoad(&row_p);
    if ((mode & 1u) != 0u) {
        let inv_t = 1.0 / params[row * 4u];
        let u = params[row * 4u + 3u];
        var thr = 0u;
        // 2. top-k threshold.
        if ((mode & 2u) != 0u) {
            var lo = 0u;
            var hi = key(m);
            for (var it = 0u; it < 32u; it = it + 1u) {
                let mid = lo + (hi - lo + 1u) / 2u;
                var c = 0u;
                for (var i = lid; i < v; i = i + WG) {
                    c = c + select(0u, 1u, key(logits[base + i]) >= mid);
                }
                if (sum_u(lid, c) >= k) { lo = mid; } else { hi = mid - 1u; }
                if (lo == hi) { break; }
            }
            thr = lo;
        }
        // 3. top-p threshold over the top-k survivors.
        if ((mode & 4u) != 0u) {
            var total = 0.0;
            for (var i = lid; i < v; i = i + WG) {
                let x = logits[base + i];
                total = total + select(0.0, exp((x - m) * inv_t), key(x) >= thr);
            }
            let want = p * sum_f(lid, total);
            var lo = thr;
            var hi = key(m);
            for (var it = 0u; it < 32u; it = it + 1u) {
                let mid = lo + (hi - lo + 1u) / 2u;
                var s = 0.0;
                for (var i = lid; i < v; i = i + WG) {
                    let x = logits[base + i];
                    s = s + select(0.0, exp((x - m) * inv_t), key(x) >= mid);
                }
                if (sum_f(lid, s) >= want) { lo = mid; } else { hi = mid - 1u; }
                if (lo == hi) { break; }
            }
            thr = lo;
        }
        // 4. draw: chunk sums in vocabulary order.
        let chunk = (v + WG - 1u) / WG;
        let start = min(lid * chunk, v);
        let end = min(start + chunk, v);
        var s = 0.0;
        for (var i = start; i < end; i = i + 1u) {
            let x = logits[base + i];
            s = s + select(0.0, exp((x - m) * inv_t), key(x) >= thr);
        }
        red_f[lid] = s;
        workgroupBarrier();
        if (lid == 0u) {
            var total = 0.0;
            for (var j = 0u; j < WG; j = j + 1u) { total = total + red_f[j]; }
            let goal = u * total;
            var acc = 0.0;
            var pick = 0xFFFFFFFFu;
            var prefix = 0.0;
            var last = 0u;
            var last_prefix = 0.0;
            for (var j = 0u; j < WG; j = j + 1u) {
                let c = red_f[j];
                if (c > 0.0) {
                    last = j;
                    last_prefix = acc;
                    if (pick == 0xFFFFFFFFu && acc + c > goal) {
                        pick = j;
                        prefix = acc;
                    }
                }
                acc = acc + c;
            }
            if (pick == 0xFFFFFFFFu) {
                // u·total rounded past the end: the last chunk with weight.
                pick = last;
                prefix = last_prefix;
            }
            pick_chunk = pick;
            pick_prefix = prefix;
            pick_target = goal;
        }
        workgroupBarrier();
        if (lid == pick_chunk) {
            let goal = pick_target;
            var acc = pick_prefix;
            var chosen = 0xFFFFFFFFu;
            var last_kept = start;
            for (var i = start; i < end; i = i + 1u) {
                let x = logits[base + i];
                if (key(x) >= thr) {
                    last_kept = i;
                    acc = acc + exp((x - m) * inv_t);
                    if (chosen == 0xFFFFFFFFu && acc > goal) { chosen = i; }
                }
            }
            if (chosen == 0xFFFFFFFFu) { chosen = last_kept; }
            out[row * 2u] = f32(chosen);
            out[row * 2u + 1u] = logits[base + chosen] - log_z;
        }
        return;
    }
    if (lid == 0u) {
        out[row * 2u] = f32(amax);
        out[row * 2u + 1u] = logits[base + amax] - log_z;
    }
}
