//! Our GPU kernels, one family per file, written once as `#[cube]`
//! functions in burn's kernel language and compiled by whichever shader
//! compiler the runtime uses: WGSL (the default build, and WebGPU in a
//! browser), SPIR-V (the `vulkan` build), MSL (the `metal` build).
//! `launch.rs` binds them to the backend-extension ops of `sample::kernels`
//! and `model::fused::decode`; callers use ordinary tensors and never see
//! buffers. The WGSL each compiles to is checked in under `shaders/wgsl/`
//! for reading (`cargo run --release --example dump_wgsl` writes it;
//! `tests/wgpu.rs` fails when it is stale).
//!
//! | file | kernel | does | plain-Rust reference |
//! |---|---|---|---|
//! | `sampler.rs` | `sample_kernel` | next token of every row of logits [B, V], with temperature, top-k, top-p and a per-row uniform; (token, log π) back, so only B × 2 numbers reach the host | `sample::reference::sample_row` |
//! | `logprob.rs` | `logprob_kernel` | fused log-softmax + gather: log π(target) for logits [N, V], the log-softmax never written | `sample::reference::target_logprob` (f64), `target_logprob_f32` |
//! | `logprob.rs` | `logprob_grad_kernel` | its backward, g · (one-hot(target) − softmax(logits)), one pass after the forward's two reductions; what autodiff calls in training | `sample::reference::target_logprob_grad` |
//! | `norm.rs` | `rms_norm_kernel`, `add_rms_norm_kernel` | RMSNorm of each row; a layer's residual add and the norm after it (writes x + y and its norm); inference on wgpu | `model::fused` CPU `rms_norm_row` |
//! | `swiglu.rs` | `swiglu_kernel` | silu(gate) · up | `model::fused` CPU `swiglu_cpu` |
//! | `rope.rs` | `rope_kernel` | rotary embedding (rotate-half) of a strided [B, H, T, Dh] view at positions start.., times a factor (attention's 1/√Dh on queries) | `model::fused` CPU `rope_row` |
//! | `quant.rs` | `quant_matmul_kernel`, `quant_matmul_grad_kernel` | x·Wᵀ and dy·W for a projection held as Q8_0 / Q4_0 blocks (`model::quant`), each weight expanded as it is read; one invocation per output element | `cpu::quant::QuantRef::{forward, backward}` |
//! | `common.rs` | `block_reduce`, `grid_row`, `element` | a workgroup's sum or max; the row or element an invocation serves | |
//!
//! Limits: WebGPU's defaults (256 invocations per workgroup, ≤ 2 KiB of
//! workgroup memory, f32 only, ≤ 65 535 workgroups per grid dimension), so
//! the same kernels run in a browser.
//!
//! Sampling: top-k and top-p thresholds are found by bisection on an
//! order-preserving u32 key of the logits (no sort, no float atomics): up
//! to 32 counting passes for top-k and 32 mass passes for top-p, compiled
//! only when some row of the launch cuts that way
//! (`sample::kernels::launch_cuts`); ties at a cut are all kept. The draw
//! takes the first index, in vocabulary order, whose running sum of kept
//! weights exceeds u Σ w: per-invocation chunk sums, a scan, one invocation
//! walking its chunk.
//!
//! Barriers: every `sync_cube` sits in control flow that depends only on
//! launch constants (comptime flags, loop counts), never on a value read
//! from memory, so the kernels stay valid under WGSL's uniformity rules.
//! Where a row's own settings decide (top-k or not, greedy or not), the
//! work runs for every row and the row's result is selected afterwards.
//!
//! Tests (`tests/common/kernels.rs`, on the CPU backend's references by
//! `tests/kernels.rs`, on lavapipe by `tests/wgpu.rs`, through SPIR-V by
//! the same file in a `--features vulkan` build): log-probs within
//! 1e-4 · max(1, |value|) of an f64 log-softmax (rows of ±3e4 and of 1e-6,
//! V up to 32 000); token frequencies over 20 000 draws within total
//! variation 0.04 of the softmax; top-k/top-p never outside the sorted
//! definition of their sets; greedy = argmax; the kernel's token equal to
//! the reference's; the gradient within 1e-5 of an f64 w · (one-hot −
//! softmax) and of burn's own ops; the decode kernels against burn's ops
//! on the CPU; training and generation against the CPU backend.

mod common;
mod launch;
mod logprob;
mod norm;
mod quant;
mod rope;
mod sampler;
mod swiglu;
#[cfg(not(target_family = "wasm"))]
pub mod wgsl;
