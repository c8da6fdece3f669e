//! A frozen base kept quantised on the device: a projection's weight as
//! Q8_0 or Q4_0 blocks ([`crate::cpu::quant`]'s layout) in two tensors,
//! multiplied as it is, forward and for the input gradient (QLoRA's
//! setting: the base gets no gradient; LoRA adapters, norms and
//! embeddings train as before).
//!
//! [`QuantWeight`] holds W [out, in] (a row per output feature, blocks
//! along the inputs, as GGUF stores it): the block values packed four
//! bytes to a `u32` in an Int tensor [out, in · bytes-per-value / 4], the
//! scales in a float tensor [out, in / 32]. [`QuantOps`] is the backend
//! extension: the CPU backend runs `cpu::quant`'s products on the tensors'
//! storage; under autodiff the op records a backward that multiplies the
//! upstream gradient by W, and nothing else (no input kept). Tests compare
//! both products with dequantise-then-f32 (tests/kernels.rs).

use crate::cpu::quant::{BLOCK, QuantKind, QuantMatrix, QuantRef};
use crate::cpu::rows;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn::tensor::DType;

/// A projection's weight W [out, in] as quantised blocks on a device. A
/// module of constants: it follows the model across devices and out of
/// autodiff (`valid`), and is no parameter (never trained, never in a
/// record).
#[derive(Module, Debug)]
pub struct QuantWeight {
    #[module(skip)]
    pub kind: QuantKind,
    /// Output features (W's rows).
    #[module(skip)]
    pub out: usize,
    /// Input features (W's columns), whole blocks.
    #[module(skip)]
    pub inp: usize,
    /// The blocks' values, four bytes to a u32 (little-endian): [out,
    /// inp · block_bytes / 32 / 4].
    values: Tensor<2, Int>,
    /// One scale per block: [out, inp / 32].
    scales: Tensor<2>,
}

/// The kinds as the op's argument carries them.
pub const QUANT_Q8_0: u32 = 0;
pub const QUANT_Q4_0: u32 = 1;

/// A bit of the op's kind argument: x's rows may be rounded to 8-bit
/// blocks and multiplied in integers (`cpu::qdot`; decoding, on CPUs with
/// AVX-512 VNNI). Set while a [`Decoding`] guard lives; an op that records
/// a backward clears it, so training's products stay exact.
pub const QUANT_ROUND_X: u32 = 1 << 8;

/// The kind's own bits of the op's argument.
const QUANT_KIND_MASK: u32 = 0xFF;

thread_local! {
    static DECODING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// While it lives, this thread's quantised products may round x
/// ([`QUANT_ROUND_X`]): what sampling's forward passes hold.
pub struct Decoding(bool);

impl Decoding {
    pub fn start() -> Self {
        Self(DECODING.replace(true))
    }
}

impl Drop for Decoding {
    fn drop(&mut self) {
        DECODING.set(self.0);
    }
}

fn kind_code(kind: QuantKind) -> u32 {
    match kind {
        QuantKind::Q8_0 => QUANT_Q8_0,
        QuantKind::Q4_0 => QUANT_Q4_0,
    }
}

/// The kind an op's argument names ([`QUANT_ROUND_X`] aside).
pub fn kind_of(code: u32) -> QuantKind {
    match code & QUANT_KIND_MASK {
        QUANT_Q4_0 => QuantKind::Q4_0,
        _ => QuantKind::Q8_0,
    }
}

impl QuantWeight {
    /// These blocks on `device`, read back without blocking (a browser
    /// cannot block on WebGPU's memory).
    pub async fn to_device_async(&self, device: &Device) -> crate::error::Result<Self> {
        let read = |e| crate::error::Error::Device(format!("reading blocks back: {e:?}"));
        let values = self.values.clone().into_data_async().await.map_err(read)?;
        let scales = self.scales.clone().into_data_async().await.map_err(read)?;
        let (vt, st) = (values.dtype(), scales.dtype());
        Ok(Self {
            kind: self.kind,
            out: self.out,
            inp: self.inp,
            values: Tensor::from_data(values, (device, vt)),
            scales: Tensor::from_data(scales, (device, st)),
        })
    }

    /// `m`'s blocks moved onto `device`.
    pub fn new(m: QuantMatrix, device: &Device) -> Self {
        let (kind, out, inp) = (m.kind, m.rows, m.cols);
        let (data, scales) = m.into_parts();
        let words: Vec<u32> = data
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let per_row = words.len() / out.max(1);
        let values = Tensor::<2, Int>::from_data(
            TensorData::new(words, [out, per_row]),
            (device, DType::U32),
        );
        let scales = Tensor::<2>::from_data(
            TensorData::new(scales, [out, inp / BLOCK]),
            (device, DType::F32),
        );
        Self {
            kind,
            out,
            inp,
            values,
            scales,
        }
    }

    /// W [out, in] (row-major, as `QuantMatrix::quantize` takes it)
    /// quantised as `kind` onto `device`; None when `in` is not whole
    /// blocks of 32.
    pub fn quantize(
        kind: QuantKind,
        w: &[f32],
        out: usize,
        inp: usize,
        device: &Device,
    ) -> Option<Self> {
        QuantMatrix::quantize(kind, w, out, inp)
            .ok()
            .map(|m| Self::new(m, device))
    }

    /// The packed values and the scales (shared, not copied).
    pub fn parts(&self) -> (Tensor<2, Int>, Tensor<2>) {
        (self.values.clone(), self.scales.clone())
    }

    pub fn device(&self) -> Device {
        self.scales.device()
    }

    /// Bytes held on the device: values and scales.
    pub fn bytes(&self) -> usize {
        4 * (self.values.shape().num_elements() + self.scales.shape().num_elements())
    }

    /// W as f32 in burn's `Linear` orientation, [in, out]: what a merge or
    /// an export writes.
    pub fn dequantize(&self) -> Tensor<2> {
        let device = self.scales.device();
        let values = self.values.to_data().convert::<u32>();
        let scales = self.scales.to_data().convert::<f32>();
        let words = values.as_slice::<u32>().expect("u32 values");
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let scales = scales.as_slice::<f32>().expect("f32 scales");
        let m =
            QuantRef::new(self.kind, self.out, self.inp, &bytes, scales).expect("a whole matrix");
        Tensor::<2>::from_data(
            TensorData::new(m.dequantize(), [self.out, self.inp]),
            &device,
        )
        .transpose()
    }

    /// x [.., in] · Wᵀ → [.., out].
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        Tensor::from_dispatch(<Dispatch as QuantOps>::quant_matmul(
            x.into_dispatch(),
            self.values.clone().into_dispatch(),
            self.scales.clone().into_dispatch(),
            kind_code(self.kind) | if DECODING.get() { QUANT_ROUND_X } else { 0 },
        ))
    }
}

/// On wgpu the `#[cube]` kernels of `shaders/quant.rs`; with `fusion`,
/// each call one opaque operation of the fused stream.
#[backend_extension(Cube: cfg(feature = "wgpu"), Flex, Fusion: cfg(feature = "fusion"), Autodiff)]
pub trait QuantOps: Backend {
    /// x [M, in], W's packed values [out, ·] and scales [out, in / 32] of
    /// kind `kind` ([`QUANT_Q8_0`], [`QUANT_Q4_0`]) → x · Wᵀ [M, out].
    #[fusion(dtype = x, shape = Shape::new([x[0], scales[0]]))]
    fn quant_matmul(
        x: FloatTensor<Self>,
        values: IntTensor<Self>,
        scales: FloatTensor<Self>,
        kind: u32,
    ) -> FloatTensor<Self>;
    /// The input gradient of [`QuantOps::quant_matmul`]: dy [M, out] → dy · W
    /// [M, in].
    #[fusion(dtype = dy, shape = Shape::new([dy[0], scales[1] * 32]))]
    fn quant_matmul_grad(
        dy: FloatTensor<Self>,
        values: IntTensor<Self>,
        scales: FloatTensor<Self>,
        kind: u32,
    ) -> FloatTensor<Self>;
}

/// The matrix a values and scales tensor pair on the CPU holds.
fn view<'a>(values: &'a FlexTensor, scales: &'a FlexTensor, kind: u32) -> QuantRef<'a> {
    let kind = kind_of(kind);
    let shape = scales.layout().shape();
    let (out, inp) = (shape[0], shape[1] * BLOCK);
    assert_eq!(values.dtype(), DType::U32, "packed block values");
    let (start, end) = values
        .layout()
        .contiguous_offsets()
        .expect("contiguous values (QuantWeight::new makes them)");
    let bytes = &values.bytes()[start * 4..end * 4];
    let scales = scales.as_slice::<f32>().expect("contiguous f32 scales");
    QuantRef::new(kind, out, inp, bytes, scales).expect("values and scales of one matrix")
}

impl QuantOps for Flex {
    fn quant_matmul(
        x: FlexTensor,
        values: FlexTensor,
        scales: FlexTensor,
        kind: u32,
    ) -> FlexTensor {
        let w = view(&values, &scales, kind);
        let xs = rows::values(&x);
        let m = xs.len() / w.cols;
        let y = if kind & QUANT_ROUND_X != 0 {
            w.forward_rounded(&xs, m)
        } else {
            w.forward(&xs, m)
        };
        FlexTensor::from_data(TensorData::new(y, [m, w.rows]))
    }

    fn quant_matmul_grad(
        dy: FlexTensor,
        values: FlexTensor,
        scales: FlexTensor,
        kind: u32,
    ) -> FlexTensor {
        let w = view(&values, &scales, kind);
        let g = rows::values(&dy);
        let m = g.len() / w.rows;
        FlexTensor::from_data(TensorData::new(w.backward(&g, m), [m, w.cols]))
    }
}

/// Under autodiff: only x is tracked (the base is frozen), and the
/// backward needs W alone, so the op keeps no activation.
mod autodiff {
    use super::QuantOps;
    use burn::backend::Autodiff;
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
    use burn::backend::tensor::{FloatTensor, IntTensor};

    #[derive(Debug)]
    struct QuantMatmul;

    impl<B: QuantOps> Backward<B, 1> for QuantMatmul {
        /// W's values and scales, and its kind.
        type State = (IntTensor<B>, FloatTensor<B>, u32);

        fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
            let (values, scales, kind) = ops.state;
            unary::<B, _>(ops.parents, ops.node, grads, |grad| {
                B::quant_matmul_grad(grad, values, scales, kind)
            });
        }
    }

    impl<B: QuantOps, C: CheckpointStrategy> QuantOps for Autodiff<B, C> {
        fn quant_matmul(
            x: FloatTensor<Self>,
            values: IntTensor<Self>,
            scales: FloatTensor<Self>,
            kind: u32,
        ) -> FloatTensor<Self> {
            let nodes = [x.node()];
            let (x, scales) = (x.into_primitive(), scales.into_primitive());
            match QuantMatmul.prepare::<C>(nodes).compute_bound().stateful() {
                OpsKind::Tracked(prep) => {
                    let kind = kind & !super::QUANT_ROUND_X;
                    let y = B::quant_matmul(x, values.clone(), scales.clone(), kind);
                    prep.finish((values, scales, kind), y)
                }
                OpsKind::UnTracked(prep) => prep.finish(B::quant_matmul(x, values, scales, kind)),
            }
        }

        fn quant_matmul_grad(
            dy: FloatTensor<Self>,
            values: IntTensor<Self>,
            scales: FloatTensor<Self>,
            kind: u32,
        ) -> FloatTensor<Self> {
            <FloatTensor<Self>>::new(B::quant_matmul_grad(
                dy.into_primitive(),
                values,
                scales.into_primitive(),
                kind,
            ))
        }
    }
}
