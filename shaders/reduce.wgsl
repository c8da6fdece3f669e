// reduce.wgsl — not a kernel: the workgroup reductions of the row kernels
// (logprob.wgsl, logprob_grad.wgsl, rms_norm.wgsl, add_rms_norm.wgsl),
// put after a kernel's source when it is bound (`wgsl_kernel!` in
// src/sample/kernels.rs). The kernel declares WG, its invocations per
// workgroup (a power of two). The #[cube] twins take the same steps in
// `block_reduce` (src/cube_kernels.rs).
//
// Each helper holds barriers: call it from uniform control flow. Each
// invocation's value goes into `red`, halves are combined until red[0]
// holds the result, which every invocation reads before a last barrier
// frees `red` for the next reduction.

var<workgroup> red: array<f32, WG>;

fn workgroup_sum(lid: u32, x: f32) -> f32 {
    red[lid] = x;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (lid < s) {
            red[lid] = red[lid] + red[lid + s];
        }
        workgroupBarrier();
    }
    let total = red[0];
    workgroupBarrier();
    return total;
}

fn workgroup_max(lid: u32, x: f32) -> f32 {
    red[lid] = x;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (lid < s) {
            red[lid] = max(red[lid], red[lid + s]);
        }
        workgroupBarrier();
    }
    let top = red[0];
    workgroupBarrier();
    return top;
}
