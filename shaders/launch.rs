//! The typed layer between burn's tensors and the kernels: the
//! `KernelOps` (sampler, log-prob) and `DecodeOps` (norms, SwiGLU, rotary)
//! impls for `CubeBackend`, which size the grids and launch. Callers use
//! ordinary tensors and never see buffers.

use super::common::{ELEMENTWISE, HIDDEN_ROW, MAX_GRID, VOCAB_ROW};
use super::logprob::{logprob_grad_kernel, logprob_kernel};
use super::norm::{add_rms_norm_kernel, rms_norm_kernel};
use super::quant::{quant_matmul_grad_kernel, quant_matmul_kernel};
use super::rope::rope_kernel;
use super::sampler::sample_kernel;
use super::swiglu::swiglu_kernel;
use crate::cpu::quant::QuantKind;
use crate::model::fused::decode::DecodeOps;
use crate::model::quant::{QuantOps, kind_of};
use crate::sample::kernels::KernelOps;
use burn::tensor::{DType, Shape};
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;
/// Which row settings a sampling launch has to serve (a kernel constant,
/// so rows that need none of a pass do not pay for it): bit 0 some row
/// samples, bit 1 some sampling row cuts to its top k, bit 2 some sampling
/// row cuts to its top p.
mod cuts {
    pub const SAMPLES: u32 = 1;
    pub const TOP_K: u32 = 2;
    pub const TOP_P: u32 = 4;
}

/// A new contiguous f32 tensor of `shape` on `like`'s device.
fn empty_like(like: &CubeTensor, shape: Shape) -> CubeTensor {
    let handle = like.client.empty(shape.num_elements() * 4);
    CubeTensor::new_contiguous(
        like.client.clone(),
        like.device.clone(),
        shape,
        handle,
        DType::F32,
    )
}

fn buffer(t: &CubeTensor) -> BufferArg {
    t.clone().into_buffer_arg()
}

/// One workgroup per row, rows past 65 535 wrapping into the grid's y:
/// (count, grid width).
fn row_grid(n: usize) -> (CubeCount, u32) {
    let gx = n.clamp(1, MAX_GRID);
    (
        CubeCount::Static(gx as u32, n.div_ceil(gx).max(1) as u32, 1),
        gx as u32,
    )
}

/// Workgroups of [`ELEMENTWISE`] for n elements: (count, grid width).
fn elementwise_grid(n: usize) -> (CubeCount, u32) {
    row_grid(n.div_ceil(ELEMENTWISE).max(1))
}

/// The sampling and log-prob ops of `sample::kernels` on wgpu.
impl KernelOps for CubeBackend {
    /// `cuts`: which passes run, as the bits of `cuts` in this file.
    fn sample_rows(logits: CubeTensor, params: CubeTensor, cuts: u32) -> CubeTensor {
        let (logits, params) = (into_contiguous(logits), into_contiguous(params));
        let (b, v) = (logits.meta.shape()[0], logits.meta.shape()[1]);
        assert!(b <= MAX_GRID, "sample_rows: {b} rows exceed one dispatch");
        let out = empty_like(&logits, Shape::new([b, 2]));
        sample_kernel::launch(
            &logits.client,
            CubeCount::Static(b as u32, 1, 1),
            CubeDim::new_1d(VOCAB_ROW as u32),
            buffer(&logits),
            buffer(&params),
            buffer(&out),
            v as u32,
            cuts & cuts::SAMPLES != 0,
            cuts & cuts::TOP_K != 0,
            cuts & cuts::TOP_P != 0,
        );
        out
    }

    fn target_logprobs(logits: CubeTensor, targets: CubeTensor) -> CubeTensor {
        let (logits, targets) = (into_contiguous(logits), into_contiguous(targets));
        let (n, v) = (logits.meta.shape()[0], logits.meta.shape()[1]);
        let out = empty_like(&logits, Shape::new([n]));
        let (count, gx) = row_grid(n);
        logprob_kernel::launch(
            &logits.client,
            count,
            CubeDim::new_1d(VOCAB_ROW as u32),
            buffer(&logits),
            buffer(&targets),
            buffer(&out),
            v as u32,
            gx,
            n as u32,
        );
        out
    }

    fn target_logprobs_grad(
        logits: CubeTensor,
        targets: CubeTensor,
        grad: CubeTensor,
    ) -> CubeTensor {
        let (logits, targets, grad) = (
            into_contiguous(logits),
            into_contiguous(targets),
            into_contiguous(grad),
        );
        let (n, v) = (logits.meta.shape()[0], logits.meta.shape()[1]);
        let out = empty_like(&logits, Shape::new([n, v]));
        let (count, gx) = row_grid(n);
        logprob_grad_kernel::launch(
            &logits.client,
            count,
            CubeDim::new_1d(VOCAB_ROW as u32),
            buffer(&logits),
            buffer(&targets),
            buffer(&grad),
            buffer(&out),
            v as u32,
            gx,
            n as u32,
        );
        out
    }

    /// The projection's chunks through burn's matmul, each chunk's
    /// log-probs through the kernel above.
    fn head_logprobs(
        hidden: CubeTensor,
        weight: CubeTensor,
        targets: CubeTensor,
        chunk: u32,
    ) -> CubeTensor {
        crate::sample::head::forward::<Self>(hidden, weight, targets, chunk as usize, false).0
    }
}

/// Rows of x over gamma's length: (rows, row length).
fn rows(x: &CubeTensor, gamma: &CubeTensor) -> (usize, usize) {
    let d = gamma.meta.num_elements();
    (x.meta.num_elements() / d.max(1), d)
}

/// The decode ops of `model::fused::decode` on wgpu.
impl DecodeOps for CubeBackend {
    fn rms_norm_kernel(x: CubeTensor, gamma: CubeTensor, eps: f32) -> CubeTensor {
        let (x, gamma) = (into_contiguous(x), into_contiguous(gamma));
        let (n, d) = rows(&x, &gamma);
        let out = empty_like(&x, x.meta.shape().clone());
        let (count, gx) = row_grid(n);
        rms_norm_kernel::launch(
            &x.client,
            count,
            CubeDim::new_1d(HIDDEN_ROW as u32),
            buffer(&x),
            buffer(&gamma),
            buffer(&out),
            d as u32,
            gx,
            n as u32,
            eps,
        );
        out
    }

    /// (x + y, its norm).
    fn add_rms_norm_kernel(
        x: CubeTensor,
        y: CubeTensor,
        gamma: CubeTensor,
        eps: f32,
    ) -> (CubeTensor, CubeTensor) {
        let (x, y, gamma) = (
            into_contiguous(x),
            into_contiguous(y),
            into_contiguous(gamma),
        );
        let (n, d) = rows(&x, &gamma);
        let (normed, sum) = (
            empty_like(&x, x.meta.shape().clone()),
            empty_like(&x, x.meta.shape().clone()),
        );
        let (count, gx) = row_grid(n);
        add_rms_norm_kernel::launch(
            &x.client,
            count,
            CubeDim::new_1d(HIDDEN_ROW as u32),
            buffer(&x),
            buffer(&y),
            buffer(&gamma),
            buffer(&normed),
            buffer(&sum),
            d as u32,
            gx,
            n as u32,
            eps,
        );
        (sum, normed)
    }

    fn swiglu_kernel(gate: CubeTensor, up: CubeTensor) -> CubeTensor {
        let (gate, up) = (into_contiguous(gate), into_contiguous(up));
        let n = gate.meta.num_elements();
        let out = empty_like(&gate, gate.meta.shape().clone());
        let (count, gx) = elementwise_grid(n);
        swiglu_kernel::launch(
            &gate.client,
            count,
            CubeDim::new_1d(ELEMENTWISE as u32),
            buffer(&gate),
            buffer(&up),
            buffer(&out),
            n as u32,
            gx,
        );
        out
    }

    /// x is read through its strides when its last
    /// dimension is contiguous (attention's [B, T, H, Dh] buffer seen as
    /// [B, H, T, Dh] needs no copy).
    fn rope_kernel(
        x: CubeTensor,
        cos: CubeTensor,
        sin: CubeTensor,
        start: usize,
        scale: f32,
    ) -> CubeTensor {
        let plain = !x.meta.is_tiled() && x.meta.strides()[3] == 1;
        let x = if plain { x } else { into_contiguous(x) };
        let (cos, sin) = (into_contiguous(cos), into_contiguous(sin));
        let dims = x.meta.shape().clone();
        let st = x.meta.strides().clone();
        let n = dims.num_elements();
        let out = empty_like(&x, dims.clone());
        let (count, gx) = elementwise_grid(n);
        // The whole buffer behind x, whatever its strides cover.
        let span = 1 + (0..4).map(|i| (dims[i] - 1) * st[i]).sum::<usize>();
        rope_kernel::launch(
            &x.client,
            count,
            CubeDim::new_1d(ELEMENTWISE as u32),
            unsafe { BufferArg::from_raw_parts(x.handle.clone(), span) },
            buffer(&cos),
            buffer(&sin),
            buffer(&out),
            dims[1] as u32,
            dims[2] as u32,
            dims[3] as u32,
            st[0] as u32,
            st[1] as u32,
            st[2] as u32,
            start as u32,
            gx,
            n as u32,
            scale,
        );
        out
    }
}

/// The quantised projection of `model::quant` on wgpu.
impl QuantOps for CubeBackend {
    fn quant_matmul(
        x: CubeTensor,
        values: CubeTensor,
        scales: CubeTensor,
        kind: u32,
    ) -> CubeTensor {
        let (x, values, scales) = (
            into_contiguous(x),
            into_contiguous(values),
            into_contiguous(scales),
        );
        let (m, k) = (x.meta.shape()[0], x.meta.shape()[1]);
        let n = scales.meta.shape()[0];
        let out = empty_like(&x, Shape::new([m, n]));
        let (count, gx) = elementwise_grid(m * n);
        quant_matmul_kernel::launch(
            &x.client,
            count,
            CubeDim::new_1d(ELEMENTWISE as u32),
            buffer(&x),
            buffer(&values),
            buffer(&scales),
            buffer(&out),
            m as u32,
            n as u32,
            k as u32,
            gx,
            kind_of(kind) == QuantKind::Q4_0,
        );
        out
    }

    fn quant_matmul_grad(
        dy: CubeTensor,
        values: CubeTensor,
        scales: CubeTensor,
        kind: u32,
    ) -> CubeTensor {
        let (dy, values, scales) = (
            into_contiguous(dy),
            into_contiguous(values),
            into_contiguous(scales),
        );
        let (m, n) = (dy.meta.shape()[0], dy.meta.shape()[1]);
        let k = scales.meta.shape()[1] * 32;
        let out = empty_like(&dy, Shape::new([m, k]));
        let (count, gx) = elementwise_grid(m * k);
        quant_matmul_grad_kernel::launch(
            &dy.client,
            count,
            CubeDim::new_1d(ELEMENTWISE as u32),
            buffer(&dy),
            buffer(&values),
            buffer(&scales),
            buffer(&out),
            m as u32,
            n as u32,
            k as u32,
            gx,
            kind_of(kind) == QuantKind::Q4_0,
        );
        out
    }
}
