//! Fused training ops for the CPU backend: SwiGLU's `silu(gate) · up`,
//! RMSNorm, rotary embeddings and the attention core (attention.rs), each
//! one pass forward and one pass backward with its own gradient (burn
//! composes them from 2–11 ops, each a pass over memory, an allocation and
//! an autodiff node).
//!
//! Only the CPU backend (Flex, with or without autodiff) runs them
//! (`cpu.rs`, `attention.rs`; `autodiff.rs` records their backward); on
//! wgpu burn's fusion compiles the same chains into few kernels, and
//! inference takes our decode kernels (`decode.rs`). Which one a device
//! runs is its [`OpPath`]. Tests compare values and gradients with the
//! unfused ops (tests/fused.rs).

use crate::ops::OpPath;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, backend_extension};
use burn::prelude::*;

mod attention;
mod autodiff;
mod cpu;
pub mod decode;

/// The CPU ops' row kernels, which the host decoder (`model::decoder`)
/// runs too.
pub(crate) use cpu::{rms_norm_row, rope_row, swiglu_cpu};

#[backend_extension(Flex, Autodiff)]
pub trait FusedOps: Backend {
    /// silu(gate) · up, elementwise (same shapes).
    fn swiglu(gate: FloatTensor<Self>, up: FloatTensor<Self>) -> FloatTensor<Self>;
    /// The gradients of [`FusedOps::swiglu`] with respect to gate and up.
    fn swiglu_grad(
        gate: FloatTensor<Self>,
        up: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
    /// x / sqrt(mean(x², last dim) + eps) · gamma.
    fn rms_norm(x: FloatTensor<Self>, gamma: FloatTensor<Self>, eps: f32) -> FloatTensor<Self>;
    /// The gradients of [`FusedOps::rms_norm`] with respect to x and gamma.
    fn rms_norm_grad(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        eps: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
    /// Rotary embedding of x [B, H, T, Dh] with tables cos, sin [T, Dh]
    /// (Llama's rotate-half layout): x · cos + rotate_half(x) · sin. With
    /// `inverse` it rotates by −θ, which is its own backward.
    fn rope(
        x: FloatTensor<Self>,
        cos: FloatTensor<Self>,
        sin: FloatTensor<Self>,
        inverse: bool,
    ) -> FloatTensor<Self>;
    /// The attention core, softmax(scale · q·kᵀ + bias) · v, for each query
    /// head and its KV head (query head h reads KV head h / (H / Hkv)):
    /// q [B, H, T, Dh], k and v [B, Hkv, Tk, Dh], bias [1 or B, 1, T, Tk]
    /// → the output [B, H, T, Dh] and the softmax [B, H, T, Tk] that the
    /// backward reads.
    fn attention_core(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
    /// The gradients of [`FusedOps::attention_core`]'s output with respect to q,
    /// k and v, from its inputs and softmax.
    fn attention_core_grad(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        probs: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// silu(gate) · up: fused on the CPU backend, one kernel for
/// inference on wgpu ([`OpPath::decode_kernels`]), burn's ops elsewhere.
pub fn swiglu<const D: usize>(gate: Tensor<D>, up: Tensor<D>) -> Tensor<D> {
    let path = OpPath::of(&gate.device());
    if path.decode_kernels() {
        return decode::swiglu(gate, up);
    }
    if !path.fused_layers() {
        return burn::tensor::activation::silu(gate) * up;
    }
    Tensor::from_dispatch(<Dispatch as FusedOps>::swiglu(
        gate.into_dispatch(),
        up.into_dispatch(),
    ))
}

/// `norm` applied to `x` (RMSNorm over the last dimension): fused on the
/// CPU backend, one kernel for inference on wgpu, burn's ops elsewhere.
pub fn rms_norm<const D: usize>(norm: &burn::nn::RmsNorm, x: Tensor<D>) -> Tensor<D> {
    let path = OpPath::of(&x.device());
    if path.decode_kernels() {
        return decode::rms_norm(x, norm.gamma.val(), norm.epsilon as f32);
    }
    if !path.fused_layers() {
        return norm.forward(x);
    }
    Tensor::from_dispatch(<Dispatch as FusedOps>::rms_norm(
        x.into_dispatch(),
        norm.gamma.val().into_dispatch(),
        norm.epsilon as f32,
    ))
}

/// `x + y` and its RMSNorm by `norm`, (sum, normalised sum): a decoder
/// layer's residual add and the norm after it, one kernel for inference on
/// wgpu ([`OpPath::decode_kernels`]), else the add and [`rms_norm`].
pub fn add_rms_norm<const D: usize>(
    norm: &burn::nn::RmsNorm,
    x: Tensor<D>,
    y: Tensor<D>,
) -> (Tensor<D>, Tensor<D>) {
    if OpPath::of(&x.device()).decode_kernels() {
        return decode::add_rms_norm(x, y, norm.gamma.val(), norm.epsilon as f32);
    }
    let sum = x + y;
    (sum.clone(), rms_norm(norm, sum))
}

/// Rotary embedding of x [B, H, T, Dh] with the tables' rows for its T
/// positions (cos, sin [T, Dh]), on a device whose path has
/// [`OpPath::fused_layers`]
/// (`Rope::apply` takes burn's ops elsewhere).
pub fn rope(x: Tensor<4>, cos: Tensor<2>, sin: Tensor<2>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as FusedOps>::rope(
        x.into_dispatch(),
        cos.into_dispatch(),
        sin.into_dispatch(),
        false,
    ))
}

/// softmax(q·kᵀ / √Dh + bias) · v with grouped heads: q [B, H, T, Dh], k
/// and v [B, Hkv, Tk, Dh], bias [1 or B, 1, T, Tk] → [B, H, T, Dh], laid
/// out [B, T, H, Dh] (so `swap_dims(1, 2)` and a reshape to [B, T, H·Dh]
/// copy nothing), on a device whose path has [`OpPath::fused_layers`] (`Attention::forward`
/// takes burn's ops elsewhere).
pub fn attention_core(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, bias: Tensor<4>) -> Tensor<4> {
    let scale = 1.0 / (q.dims()[3] as f32).sqrt();
    let (out, _) = <Dispatch as FusedOps>::attention_core(
        q.into_dispatch(),
        k.into_dispatch(),
        v.into_dispatch(),
        bias.into_dispatch(),
        scale,
    );
    Tensor::from_dispatch(out)
}
