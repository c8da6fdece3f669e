//! A decoder layer's projection: burn's `Linear` layout (weight [in, out],
//! optional bias, the same parameter names, so checkpoints and imports
//! read it as before) whose frozen base may instead be held quantised
//! ([`QuantWeight`]).

use super::quant::QuantWeight;
use crate::cpu::quant::QuantKind;
use burn::module::Param;
use burn::nn::{Initializer, LinearConfig};
use burn::prelude::*;

#[derive(Module, Debug)]
pub struct Proj {
    /// W [in, out]. While `quant` holds the base, a stand-in of W's shape
    /// that owns no storage (one zero, broadcast): LoRA's adapters still
    /// hang on it, and nothing reads its values.
    pub weight: Param<Tensor<2>>,
    pub bias: Option<Param<Tensor<1>>>,
    /// The base weight, quantised; None when `weight` holds it.
    pub quant: Option<QuantWeight>,
}

impl Proj {
    pub fn new(d_in: usize, d_out: usize, bias: bool, init: Initializer, device: &Device) -> Self {
        let l = LinearConfig::new(d_in, d_out)
            .with_bias(bias)
            .with_initializer(init)
            .init(device);
        Self {
            weight: l.weight,
            bias: l.bias,
            quant: None,
        }
    }

    /// x [B, T, in] → [B, T, out]. With a LoRA adapter, x·W + b +
    /// (α/r)·(x·A)·B: the dense W + (α/r)·A·B that `Linear::forward`
    /// would build (and keep for the backward pass, with a weight-sized
    /// gradient) is never formed. With a quantised base, x·W multiplies
    /// the blocks as they are.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        use burn::tensor::module::linear as affine;
        over_rows(x, |x| {
            let bias = self.bias.as_ref().map(|b| b.val());
            let base = match &self.quant {
                Some(q) => {
                    let y = q.forward(x.clone());
                    match bias {
                        Some(b) => y + b.unsqueeze(),
                        None => y,
                    }
                }
                None => match self.weight.adapter() {
                    None => affine(x.clone(), self.weight.val(), bias),
                    Some(_) => affine(x.clone(), self.weight.base(), bias),
                },
            };
            match self.weight.adapter() {
                None => base,
                Some(ad) => {
                    let low = affine(affine(x, ad.a.val(), None), ad.b.val(), None);
                    base + low.mul_scalar(ad.scale)
                }
            }
        })
    }

    /// This projection with its base held as `kind` blocks, its f32
    /// weight dropped (a stand-in of its shape left for the adapters to
    /// attach to); unchanged when already quantised, or when W's inputs do
    /// not fill whole blocks of 32.
    pub fn quantized(self, kind: QuantKind) -> Self {
        if self.quant.is_some() {
            return self;
        }
        let w = self.weight.val();
        let device = w.device();
        let [inp, out] = w.dims();
        // [out, in]: a row per output feature, blocks along the inputs.
        let rows = w.transpose().into_data().convert::<f32>();
        let rows = rows.as_slice::<f32>().expect("f32 weights");
        match QuantWeight::quantize(kind, rows, out, inp, &device) {
            Some(q) => Self::with_quant(q, self.bias),
            None => self,
        }
    }

    /// A projection whose base is `q`, with `bias`.
    pub fn with_quant(q: QuantWeight, bias: Option<Param<Tensor<1>>>) -> Self {
        let device = q.device();
        Self {
            weight: stand_in([q.inp, q.out], &device),
            bias,
            quant: Some(q),
        }
    }

    /// Whether the base is held quantised.
    pub fn is_quantized(&self) -> bool {
        self.quant.is_some()
    }

    /// This projection with an f32 base again: the quantised one expanded
    /// and added to `weight` (which, after a merge, holds the adapters'
    /// (α/r)·A·B over the stand-in's zeros).
    pub fn dequantized(self) -> Self {
        match self.quant {
            None => self,
            Some(q) => {
                let w = self.weight.val() + q.dequantize();
                Self {
                    weight: Param::from_tensor(w),
                    bias: self.bias,
                    quant: None,
                }
            }
        }
    }
}

/// A frozen tensor of `shape` that owns one zero: every element reads it
/// (a broadcast view).
pub fn stand_in(shape: [usize; 2], device: &Device) -> Param<Tensor<2>> {
    let zero = Tensor::<2>::zeros([1, 1], device).expand(shape);
    Param::from_tensor(zero).set_require_grad(false)
}

/// `f` applied to x [B, T, D] as one [B·T, D] matrix, back as [B, T, out]:
/// one 2-D product per projection. burn keeps [B, T, D] × [D, out] as B
/// batched products when T is a multiple of 32; on the CPU backend that
/// made a reference training step 172 ms against 116 ms this way.
pub(super) fn over_rows(x: Tensor<3>, f: impl FnOnce(Tensor<2>) -> Tensor<2>) -> Tensor<3> {
    let [b, t, d] = x.dims();
    let y = f(x.reshape([b * t, d]));
    let out = y.dims()[1];
    y.reshape([b, t, out])
}
