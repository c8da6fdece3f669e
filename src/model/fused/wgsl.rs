//! RMSNorm (alone, or with the residual add before it), SiLU · up and the
//! rotary embedding as one WGSL kernel each (shaders/rms_norm.wgsl,
//! add_rms_norm.wgsl, swiglu.wgsl, rope.wgsl), for inference on wgpu:
//! decoding, scoring and evaluation. burn's fusion leaves these chains
//! mostly unfused in a decode step (its search stops at five blocks and
//! falls back to the unfused order), so they took 7, 8 and 8–9 launches
//! each, most of a step's launches. Training keeps burn's ops, which fuse
//! there and carry their own backward.
//!
//! Their plain-Rust references are the CPU backend's fused ops in
//! `super` (`rms_norm_row`, `swiglu_cpu`, `rope_row`); tests/wgpu.rs
//! compares the two on lavapipe. Where the runtime compiles SPIR-V or MSL
//! the same ops launch the `#[cube]` twins in `crate::cube_kernels`.

// Without wgpu no backend implements the extension: its generated
// dispatch leaves the arguments unused.
#![cfg_attr(not(feature = "wgpu"), allow(unused_variables, unused_imports))]

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, backend_extension};
use burn::prelude::*;

#[backend_extension(Cube: cfg(feature = "wgpu"), Fusion: cfg(feature = "fusion"))]
pub trait DecodeOps: Backend {
    /// RMSNorm over the last dimension: x / sqrt(mean(x²) + eps) · gamma.
    #[fusion(dtype = x, shape = x)]
    fn rms_norm_wgsl(x: FloatTensor<Self>, gamma: FloatTensor<Self>, eps: f32)
    -> FloatTensor<Self>;
    /// x + y and its RMSNorm (as [`DecodeOps::rms_norm_wgsl`]) in one
    /// pass: (sum, normalised sum).
    #[fusion(meta = |x, _y, _gamma, _eps| (x.clone(), x.clone()))]
    fn add_rms_norm_wgsl(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        eps: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
    /// silu(gate) · up, elementwise.
    #[fusion(dtype = gate, shape = gate)]
    fn swiglu_wgsl(gate: FloatTensor<Self>, up: FloatTensor<Self>) -> FloatTensor<Self>;
    /// Rotary embedding of x [B, H, T, Dh] at positions start..start+T,
    /// from the whole tables cos, sin [max_len, Dh], times `scale`.
    #[fusion(dtype = x, shape = x)]
    fn rope_wgsl(
        x: FloatTensor<Self>,
        cos: FloatTensor<Self>,
        sin: FloatTensor<Self>,
        start: usize,
        scale: f32,
    ) -> FloatTensor<Self>;
}

/// Whether `device` runs these kernels: where our other kernels run for
/// inference (`sample::kernels::supported`: wgpu, without autodiff, since
/// training takes burn's differentiable ops) except the CPU backend, and
/// outside a browser (Chromium rejected one of our other shaders there;
/// the page keeps burn's ops until that is understood); never after
/// [`super::set_enabled`]`(false)`. A runtime that compiles SPIR-V or MSL
/// runs their `#[cube]` twins (`crate::cube_kernels`).
pub fn runs_on(device: &Device) -> bool {
    !cfg!(target_family = "wasm")
        && super::ENABLED.load(std::sync::atomic::Ordering::Relaxed)
        && crate::sample::kernels::supported(device)
        && !super::implemented_on(device)
}

/// `x` RMS-normalised over its last dimension and scaled by `gamma`.
pub fn rms_norm<const D: usize>(x: Tensor<D>, gamma: Tensor<1>, eps: f32) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as DecodeOps>::rms_norm_wgsl(
        x.into_dispatch(),
        gamma.into_dispatch(),
        eps,
    ))
}

/// silu(gate) · up.
/// `x + y` and its RMSNorm by `gamma`: (sum, normalised sum).
pub fn add_rms_norm<const D: usize>(
    x: Tensor<D>,
    y: Tensor<D>,
    gamma: Tensor<1>,
    eps: f32,
) -> (Tensor<D>, Tensor<D>) {
    let (sum, normed) = <Dispatch as DecodeOps>::add_rms_norm_wgsl(
        x.into_dispatch(),
        y.into_dispatch(),
        gamma.into_dispatch(),
        eps,
    );
    (Tensor::from_dispatch(sum), Tensor::from_dispatch(normed))
}

pub fn swiglu<const D: usize>(gate: Tensor<D>, up: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as DecodeOps>::swiglu_wgsl(
        gate.into_dispatch(),
        up.into_dispatch(),
    ))
}

/// Rotary embedding of x [B, H, T, Dh] at positions start..start+T.
pub fn rope(x: Tensor<4>, cos: Tensor<2>, sin: Tensor<2>, start: usize, scale: f32) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as DecodeOps>::rope_wgsl(
        x.into_dispatch(),
        cos.into_dispatch(),
        sin.into_dispatch(),
        start,
        scale,
    ))
}

#[cfg(feature = "wgpu")]
mod cube {
    use super::DecodeOps;
    use crate::cube_kernels;
    use crate::sample::kernels::wgsl::{MAX_GRID, info, row_grid, wgsl_kernel};
    use burn::tensor::{DType, Shape};
    use burn_cubecl::CubeBackend;
    use burn_cubecl::cubecl::prelude::{CubeCount, CubeDim, KernelId};
    use burn_cubecl::cubecl::server::{Handle, KernelArguments};
    use burn_cubecl::kernel::into_contiguous;
    use burn_cubecl::template::{KernelSource, SourceKernel, SourceTemplate};
    use burn_cubecl::tensor::CubeTensor;

    wgsl_kernel!(RmsNorm, "../../../shaders/rms_norm.wgsl", reduce);
    wgsl_kernel!(AddRmsNorm, "../../../shaders/add_rms_norm.wgsl", reduce);
    wgsl_kernel!(SwiGlu, "../../../shaders/swiglu.wgsl");
    wgsl_kernel!(Rope, "../../../shaders/rope.wgsl");

    /// Invocations per workgroup of the elementwise kernels (swiglu.wgsl,
    /// rope.wgsl) and of the row kernels (rms_norm.wgsl,
    /// add_rms_norm.wgsl), as their `@workgroup_size`.
    const ELEMENTWISE: u32 = 256;
    const ROW: u32 = 64;

    /// Launches `kernel` over `grid` with these bindings and returns a
    /// new f32 tensor of `shape` for its output handle.
    fn launch<K: KernelSource + 'static>(
        kernel: K,
        workgroup: u32,
        grid: (usize, usize),
        like: &CubeTensor,
        buffers: Vec<Handle>,
        (out, shape): (Handle, Shape),
    ) -> CubeTensor {
        let client = like.client.clone();
        client.launch(
            Box::new(SourceKernel::new(kernel, CubeDim::new_1d(workgroup))),
            CubeCount::Static(grid.0 as u32, grid.1 as u32, 1),
            KernelArguments::new().with_buffers(buffers.into_iter().map(|h| h.binding()).collect()),
        );
        CubeTensor::new_contiguous(client, like.device.clone(), shape, out, DType::F32)
    }

    /// Workgroups for n elements, wrapping past 65 535 into the grid's y.
    fn elementwise_grid(n: usize) -> (usize, usize) {
        let groups = n.div_ceil(ELEMENTWISE as usize).max(1);
        let gx = groups.min(MAX_GRID);
        (gx, groups.div_ceil(gx))
    }

    fn output(t: &CubeTensor) -> (Handle, Shape) {
        let shape = t.meta.shape().clone();
        (t.client.empty(shape.num_elements() * 4), shape)
    }

    impl DecodeOps for CubeBackend {
        fn rms_norm_wgsl(x: CubeTensor, gamma: CubeTensor, eps: f32) -> CubeTensor {
            if !cube_kernels::wgsl_kernels(&x) {
                return cube_kernels::rms_norm(x, gamma, eps);
            }
            let (x, gamma) = (into_contiguous(x), into_contiguous(gamma));
            let d = gamma.meta.num_elements();
            let n = x.meta.num_elements() / d.max(1);
            let (gx, gy) = row_grid(n);
            let out = output(&x);
            let meta = info(&x, &[d as u32, gx as u32, n as u32, eps.to_bits()]);
            let buffers = vec![x.handle.clone(), gamma.handle.clone(), out.0.clone(), meta];
            launch(RmsNorm, ROW, (gx, gy), &x, buffers, out)
        }

        fn add_rms_norm_wgsl(
            x: CubeTensor,
            y: CubeTensor,
            gamma: CubeTensor,
            eps: f32,
        ) -> (CubeTensor, CubeTensor) {
            if !cube_kernels::wgsl_kernels(&x) {
                return cube_kernels::add_rms_norm(x, y, gamma, eps);
            }
            let (x, y, gamma) = (
                into_contiguous(x),
                into_contiguous(y),
                into_contiguous(gamma),
            );
            let d = gamma.meta.num_elements();
            let n = x.meta.num_elements() / d.max(1);
            let (gx, gy) = row_grid(n);
            let (out, sum) = (output(&x), output(&x));
            let meta = info(&x, &[d as u32, gx as u32, n as u32, eps.to_bits()]);
            let buffers = vec![
                x.handle.clone(),
                y.handle.clone(),
                gamma.handle.clone(),
                out.0.clone(),
                sum.0.clone(),
                meta,
            ];
            let normed = launch(AddRmsNorm, ROW, (gx, gy), &x, buffers, out);
            let sum = CubeTensor::new_contiguous(
                x.client.clone(),
                x.device.clone(),
                sum.1,
                sum.0,
                DType::F32,
            );
            (sum, normed)
        }

        fn swiglu_wgsl(gate: CubeTensor, up: CubeTensor) -> CubeTensor {
            if !cube_kernels::wgsl_kernels(&gate) {
                return cube_kernels::swiglu(gate, up);
            }
            let (gate, up) = (into_contiguous(gate), into_contiguous(up));
            let n = gate.meta.num_elements();
            let grid = elementwise_grid(n);
            let out = output(&gate);
            let meta = info(&gate, &[n as u32, grid.0 as u32]);
            let buffers = vec![gate.handle.clone(), up.handle.clone(), out.0.clone(), meta];
            launch(SwiGlu, ELEMENTWISE, grid, &gate, buffers, out)
        }

        fn rope_wgsl(
            x: CubeTensor,
            cos: CubeTensor,
            sin: CubeTensor,
            start: usize,
            scale: f32,
        ) -> CubeTensor {
            if !cube_kernels::wgsl_kernels(&x) {
                return cube_kernels::rope(x, cos, sin, start, scale);
            }
            // Rows are read through x's strides (a [B, T, H, Dh] buffer seen
            // as [B, H, T, Dh] needs no copy); anything else is made
            // contiguous first.
            let plain = !x.meta.is_tiled() && x.meta.strides()[3] == 1;
            let x = if plain { x } else { into_contiguous(x) };
            let (cos, sin) = (into_contiguous(cos), into_contiguous(sin));
            let dims = x.meta.shape().clone();
            let st = x.meta.strides().clone();
            let n = dims.num_elements();
            let grid = elementwise_grid(n);
            let out = output(&x);
            let values = [
                dims[1], dims[2], dims[3], st[0], st[1], st[2], start, grid.0, n,
            ];
            let mut values: Vec<u32> = values.iter().map(|&v| v as u32).collect();
            values.push(scale.to_bits());
            let meta = info(&x, &values);
            let buffers = vec![
                x.handle.clone(),
                cos.handle.clone(),
                sin.handle.clone(),
                out.0.clone(),
                meta,
            ];
            launch(Rope, ELEMENTWISE, grid, &x, buffers, out)
        }
    }
}
