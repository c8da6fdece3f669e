//! The host decoder's projections: a base (quantised blocks or f32),
//! bias and LoRA adapter borrowed from a `Proj`, multiplied as the burn
//! path multiplies them; and the model's buffers borrowed from burn's CPU
//! tensors.

use super::super::{Proj, quant::QuantWeight};
use crate::cpu::quant::{QuantKind, QuantRef};
use burn::backend::flex::FlexTensor;
use burn::backend::{BackendTensor, DispatchTensorKind};
use burn::prelude::*;
use burn::tensor::DType;

/// A tensor's buffer on the CPU backend, shared (not copied), made
/// contiguous; None on another backend.
pub(super) fn flex<const D: usize, K: burn::tensor::kind::Basic>(
    t: Tensor<D, K>,
) -> Option<FlexTensor> {
    match t.into_dispatch().kind {
        DispatchTensorKind::Flex(BackendTensor::Float(x) | BackendTensor::Int(x)) => {
            Some(x.to_contiguous())
        }
        _ => None,
    }
}

/// An f32 buffer's values (its dtype checked by [`f32_flex`]).
pub(super) fn f32s(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("a contiguous f32 buffer")
}

pub(super) fn f32_flex<const D: usize>(t: Tensor<D>) -> Option<FlexTensor> {
    flex(t).filter(|x| x.dtype() == DType::F32)
}

/// A projection's frozen or trained base weight.
pub(super) enum Base {
    /// Blocks of a quantised base.
    Quant {
        kind: QuantKind,
        values: FlexTensor,
        scales: FlexTensor,
    },
    /// W [in, out] in f32, row-major (burn's `Linear` layout).
    Dense(FlexTensor),
}

impl Base {
    /// A quantised weight's blocks, borrowed.
    pub(super) fn quant(q: &QuantWeight) -> Option<Self> {
        let (values, scales) = q.parts();
        Some(Base::Quant {
            kind: q.kind,
            values: flex(values)?,
            scales: f32_flex(scales)?,
        })
    }
}

/// A projection: its base, optional bias, optional LoRA adapter.
pub(super) struct HostProj {
    pub(super) out: usize,
    pub(super) inp: usize,
    pub(super) base: Base,
    pub(super) bias: Option<FlexTensor>,
    /// A [in, r], B [r, out] and α / r.
    pub(super) lora: Option<(FlexTensor, FlexTensor, f32, usize)>,
}

impl HostProj {
    pub(super) fn of(p: &Proj) -> Option<Self> {
        let [inp, out] = p.weight.dims();
        let base = match &p.quant {
            Some(q) => Base::quant(q)?,
            None => Base::Dense(f32_flex(match p.weight.adapter() {
                Some(_) => p.weight.base(),
                None => p.weight.val(),
            })?),
        };
        let lora = match p.weight.adapter() {
            None => None,
            Some(ad) => {
                let a = f32_flex(ad.a.val())?;
                let rank = a.layout().shape()[1];
                Some((a, f32_flex(ad.b.val())?, ad.scale as f32, rank))
            }
        };
        Some(Self {
            out,
            inp,
            base,
            bias: match &p.bias {
                Some(b) => Some(f32_flex(b.val())?),
                None => None,
            },
            lora,
        })
    }

    /// The quantised base's blocks; None for an f32 base.
    fn blocks(&self) -> Option<QuantRef<'_>> {
        match &self.base {
            Base::Quant {
                kind,
                values,
                scales,
            } => Some(
                QuantRef::new(*kind, self.out, self.inp, values.bytes(), f32s(scales))
                    .expect("blocks of one matrix (QuantWeight made them)"),
            ),
            Base::Dense(_) => None,
        }
    }

    /// x · W for the base alone: the blocks' product as the burn path
    /// takes it (`QuantRef::forward_rounded`), or the f32 product.
    fn base_forward(&self, x: &[f32], m: usize) -> Vec<f32> {
        match (&self.base, self.blocks()) {
            (_, Some(w)) => w.forward_rounded(x, m),
            (Base::Dense(w), None) => {
                let mut y = vec![0f32; m * self.out];
                let b = Strided::rows(f32s(w), self.out);
                gemm_into(
                    (&mut y, self.out),
                    (x, self.inp),
                    b,
                    (m, self.out, self.inp),
                    0.0,
                    1.0,
                );
                y
            }
            (Base::Quant { .. }, None) => unreachable!("a quantised base has blocks"),
        }
    }

    /// y [m, out] = x [m, in] · Wᵀ + b + (α/r)·(x·A)·B.
    pub(super) fn forward(&self, x: &[f32], m: usize) -> Vec<f32> {
        let [y] = forward_all([self], x, m);
        y
    }

    /// `y` = x · Wᵀ [m, out] given: plus the bias and the adapter's term.
    fn finish(&self, mut y: Vec<f32>, x: &[f32], m: usize) -> Vec<f32> {
        if let Some(b) = &self.bias {
            let b = f32s(b);
            for row in y.chunks_exact_mut(self.out) {
                for (y, b) in row.iter_mut().zip(b) {
                    *y += b;
                }
            }
        }
        if let Some((a, bm, scale, r)) = &self.lora {
            let r = *r;
            let (a, bm) = (Strided::rows(f32s(a), r), Strided::rows(f32s(bm), self.out));
            let mut t = vec![0f32; m * r];
            // t = x·A [m, r], then y += (α/r)·t·B.
            gemm_into((&mut t, r), (x, self.inp), a, (m, r, self.inp), 0.0, 1.0);
            gemm_into(
                (&mut y, self.out),
                (&t, r),
                bm,
                (m, self.out, r),
                1.0,
                *scale,
            );
        }
        y
    }
}

/// Several projections of the same x [m, in] (q, k and v; gate and up),
/// each as [`HostProj::forward`]: their integer products in one parallel
/// pass (`qdot::forward_many`) where x's rows are rounded, one by one
/// otherwise.
pub(super) fn forward_all<const N: usize>(
    ps: [&HostProj; N],
    x: &[f32],
    m: usize,
) -> [Vec<f32>; N] {
    let blocks: Option<Vec<QuantRef<'_>>> = ps.iter().map(|p| p.blocks()).collect();
    let together = blocks.filter(|ws| {
        (1..=crate::cpu::qdot::ROUND_ROWS).contains(&m)
            && ws.iter().all(|w| w.kind == ws[0].kind && w.rows > 0)
    });
    let mut bases = together
        .and_then(|ws| crate::cpu::qdot::forward_many(&ws, x, m))
        .unwrap_or_else(|| ps.iter().map(|p| p.base_forward(x, m)).collect())
        .into_iter();
    ps.map(|p| p.finish(bases.next().expect("one product each"), x, m))
}

/// A row-major matrix's values and its strides: element (i, j) at
/// `i · rs + j · cs`.
#[derive(Clone, Copy)]
pub(super) struct Strided<'a> {
    pub(super) values: &'a [f32],
    pub(super) rs: usize,
    pub(super) cs: usize,
}

impl<'a> Strided<'a> {
    /// Rows `rs` apart, unit-stride within each.
    pub(super) fn rows(values: &'a [f32], rs: usize) -> Self {
        Self { values, rs, cs: 1 }
    }
}

/// dst [m, n] = alpha · dst + beta · a [m, k] · b [k, n]: dst and a
/// row-major with the given row strides, b as strided (the `gemm` crate,
/// which burn's CPU backend also uses; on every core for a big enough
/// product).
pub(super) fn gemm_into(
    (dst, ds): (&mut [f32], usize),
    (a, as_): (&[f32], usize),
    b: Strided<'_>,
    (m, n, k): (usize, usize, usize),
    alpha: f32,
    beta: f32,
) {
    if m == 0 || n == 0 {
        return;
    }
    let b_end = (k.max(1) - 1) * b.rs + (n - 1) * b.cs + 1;
    assert!(dst.len() >= m * ds && a.len() >= m * as_ && b.values.len() >= b_end);
    assert!(n <= ds && k <= as_);
    if m == 1 && b.cs == 1 {
        return gemv_rows(&mut dst[..n], &a[..k], b, alpha, beta);
    }
    #[cfg(feature = "cpu-threads")]
    let parallelism = match crate::cpu::rows::threads() {
        t if t > 1 && m * n * k >= 1 << 18 => gemm::Parallelism::Rayon(t),
        _ => gemm::Parallelism::None,
    };
    #[cfg(not(feature = "cpu-threads"))]
    let parallelism = gemm::Parallelism::None;
    // SAFETY: the asserts above keep every element the three views reach
    // inside their slices; `dst` is borrowed mutably, so it overlaps
    // neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            ds as isize,
            alpha != 0.0,
            a.as_ptr(),
            1,
            as_ as isize,
            b.values.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            alpha,
            beta,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// [`gemm_into`] for one row of `a` and `b`'s rows unit-stride (batch-1
/// decoding of an f32 base): W streamed once, front to back, each core
/// summing x[i]·W[i, :] over its own block of rows i into a partial row,
/// the partial rows then added in order. `gemm` packs `b` for every
/// product, which for one row reads W twice; bands of columns instead
/// would read each row's piece from another page.
fn gemv_rows(dst: &mut [f32], a: &[f32], b: Strided<'_>, alpha: f32, beta: f32) {
    let (n, k) = (dst.len(), a.len());
    let tasks = (2 * crate::cpu::rows::threads()).min(k).max(1);
    let per = k.div_ceil(tasks);
    let mut partial = vec![0f32; tasks * n];
    crate::cpu::rows::for_chunks(&mut partial, n, |t, acc| {
        let rows = t * per..((t + 1) * per).min(k);
        crate::cpu::rows::with_avx2!({
            for i in rows {
                let x = a[i];
                let row = &b.values[i * b.rs..][..n];
                for (y, w) in acc.iter_mut().zip(row) {
                    *y += x * w;
                }
            }
        });
    });
    for (j, o) in dst.iter_mut().enumerate() {
        let s: f32 = (0..tasks).map(|t| partial[t * n + j]).sum();
        // As gemm: alpha 0 overwrites dst (whatever it held).
        *o = if alpha == 0.0 {
            beta * s
        } else {
            alpha * *o + beta * s
        };
    }
}
