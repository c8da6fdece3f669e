//! RMSNorm (alone, or with the residual add before it), SiLU · up and the
//! rotary embedding as one kernel each (their `#[cube]` functions are in
//! `crate::shaders`), for inference on wgpu: decoding, scoring and
//! evaluation. burn's fusion leaves these chains mostly unfused in a
//! decode step (its search stops at five blocks and falls back to the
//! unfused order), so they took 7, 8 and 8–9 launches each, most of a
//! step's launches. Training keeps burn's ops, which fuse there and carry
//! their own backward.
//!
//! Their plain-Rust references are the CPU backend's fused ops in
//! `super` (`rms_norm_row`, `swiglu_cpu`, `rope_row`); tests/wgpu.rs
//! compares the two on lavapipe.

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
    fn rms_norm_kernel(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        eps: f32,
    ) -> FloatTensor<Self>;
    /// x + y and its RMSNorm (as [`DecodeOps::rms_norm_kernel`]) in one
    /// pass: (sum, normalised sum).
    #[fusion(meta = |x, _y, _gamma, _eps| (x.clone(), x.clone()))]
    fn add_rms_norm_kernel(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        eps: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
    /// silu(gate) · up, elementwise.
    #[fusion(dtype = gate, shape = gate)]
    fn swiglu_kernel(gate: FloatTensor<Self>, up: FloatTensor<Self>) -> FloatTensor<Self>;
    /// Rotary embedding of x [B, H, T, Dh] at positions start..start+T,
    /// from the whole tables cos, sin [max_len, Dh], times `scale`.
    #[fusion(dtype = x, shape = x)]
    fn rope_kernel(
        x: FloatTensor<Self>,
        cos: FloatTensor<Self>,
        sin: FloatTensor<Self>,
        start: usize,
        scale: f32,
    ) -> FloatTensor<Self>;
}

/// `x` RMS-normalised over its last dimension and scaled by `gamma`.
pub fn rms_norm<const D: usize>(x: Tensor<D>, gamma: Tensor<1>, eps: f32) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as DecodeOps>::rms_norm_kernel(
        x.into_dispatch(),
        gamma.into_dispatch(),
        eps,
    ))
}

/// `x + y` and its RMSNorm by `gamma`: (sum, normalised sum).
pub fn add_rms_norm<const D: usize>(
    x: Tensor<D>,
    y: Tensor<D>,
    gamma: Tensor<1>,
    eps: f32,
) -> (Tensor<D>, Tensor<D>) {
    let (sum, normed) = <Dispatch as DecodeOps>::add_rms_norm_kernel(
        x.into_dispatch(),
        y.into_dispatch(),
        gamma.into_dispatch(),
        eps,
    );
    (Tensor::from_dispatch(sum), Tensor::from_dispatch(normed))
}

/// silu(gate) · up.
pub fn swiglu<const D: usize>(gate: Tensor<D>, up: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as DecodeOps>::swiglu_kernel(
        gate.into_dispatch(),
        up.into_dispatch(),
    ))
}

/// Rotary embedding of x [B, H, T, Dh] at positions start..start+T.
pub fn rope(x: Tensor<4>, cos: Tensor<2>, sin: Tensor<2>, start: usize, scale: f32) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as DecodeOps>::rope_kernel(
        x.into_dispatch(),
        cos.into_dispatch(),
        sin.into_dispatch(),
        start,
        scale,
    ))
}
