//! The attention core on the CPU, forward and backward: for each query head
//! h of KV head g = h / rep,
//!
//! ```text
//! S = scale · Q_h · K_gᵀ + bias      (1)
//! P = softmax(S) by rows             (2)
//! O_h = P · V_g                      (3)
//! ```
//!
//! and from dO_h, with the saved P,
//!
//! ```text
//! dV_g += Pᵀ · dO_h                  (4)
//! dP = dO_h · V_gᵀ                   (5)
//! dS = P ⊙ (dP − Σ_row dP ⊙ P)       (6)
//! dQ_h = scale · dS · K_g            (7)
//! dK_g += scale · dSᵀ · Q_h          (8)
//! ```
//!
//! burn's ops do the same in eleven ops over [B, H, T, ·] tensors, copying
//! q, k, v and the output between [B, T, H, Dh] and [B, H, T, Dh] and the
//! gradients back. Here every matrix is a strided view of the buffer the
//! projections wrote, multiplied by the `gemm` crate (which burn's CPU
//! backend also uses) one head at a time, batch rows in parallel.

use super::cpu::{View, heads_inner, softmax_grad_row_in_place, softmax_row_biased};
use crate::cpu::rows::{for_chunk_sets, values, with_avx2};
use burn::backend::flex::FlexTensor;
use burn::prelude::*;

/// A matrix inside a buffer: element (i, j) at `at + i·rs + j·cs`.
#[derive(Clone, Copy, Debug)]
struct Mat {
    at: usize,
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl Mat {
    /// `rows` × `cols` with unit-stride rows `rs` apart, from `at`.
    fn rows(at: usize, rows: usize, cols: usize, rs: usize) -> Mat {
        Mat {
            at,
            rows,
            cols,
            rs,
            cs: 1,
        }
    }

    fn t(self) -> Mat {
        Mat {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    /// One past the last element it touches (`at` when empty).
    fn end(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            return self.at;
        }
        self.at + (self.rows - 1) * self.rs + (self.cols - 1) * self.cs + 1
    }
}

/// Whether a product overwrites its destination or adds to it.
#[derive(Clone, Copy, PartialEq)]
enum Out {
    Set,
    Add,
}

/// dst = beta · a · b ([`Out::Set`]) or dst += beta · a · b
/// ([`Out::Add`]), on this thread (callers run one per batch row). Panics
/// if a view leaves its buffer or the shapes disagree: those are bugs in
/// this file.
fn matmul(
    (dst, d): (&mut [f32], Mat),
    (a, am): (&[f32], Mat),
    (b, bm): (&[f32], Mat),
    beta: f32,
    into: Out,
) {
    assert!(am.rows == d.rows && bm.cols == d.cols && am.cols == bm.rows);
    assert!(d.end() <= dst.len() && am.end() <= a.len() && bm.end() <= b.len());
    if d.rows == 0 || d.cols == 0 {
        return;
    }
    // SAFETY: every element each view reaches lies inside its slice (the
    // asserts above); `dst` is borrowed mutably, so it overlaps neither
    // input. gemm reads and writes nothing else.
    unsafe {
        gemm::gemm(
            d.rows,
            d.cols,
            am.cols,
            dst.as_mut_ptr().add(d.at),
            d.cs as isize,
            d.rs as isize,
            into == Out::Add,
            a.as_ptr().add(am.at),
            am.cs as isize,
            am.rs as isize,
            b.as_ptr().add(bm.at),
            bm.cs as isize,
            bm.rs as isize,
            1.0,
            beta,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

impl View {
    /// Head `n` of batch row `b`: [T, Dh].
    fn head(&self, b: usize, n: usize) -> Mat {
        let [_, _, t, dh] = self.dims();
        Mat::rows(b * self.st[0] + n * self.st[1], t, dh, self.st[2])
    }
}

/// Rows of batch row `b` in a [B, T, N, Dh] buffer, seen as head `n`'s
/// [T, Dh] matrix (the buffer of one batch row starts at 0).
fn head_in_row_major(t: usize, n_heads: usize, dh: usize, n: usize) -> Mat {
    Mat::rows(n * dh, t, dh, n_heads * dh)
}

/// Forward, steps (1)–(3): q [B, H, T, Dh], k and v [B, Hkv, Tk, Dh] (any
/// unit-stride layout), bias [1 or B, 1, T, Tk] → the output [B, H, T, Dh]
/// (laid out [B, T, H, Dh], so that [B, T, H·Dh] is a free reshape) and P
/// [B, H, T, Tk].
pub(super) fn forward(
    q: FlexTensor,
    k: FlexTensor,
    v: FlexTensor,
    bias: FlexTensor,
    scale: f32,
) -> (FlexTensor, FlexTensor) {
    let (q, k, v) = (View::new(q), View::new(k), View::new(v));
    let [b, h, t, dh] = q.dims();
    let [_, hkv, tk, _] = k.dims();
    let rep = h / hkv;
    let bias_rows = bias.layout().shape()[0];
    let bias = values(&bias);
    let (qb, kb, vb) = (q.buf(), k.buf(), v.buf());
    let mut out = vec![0f32; b * t * h * dh];
    let mut probs = vec![0f32; b * h * t * tk];
    let per_row = h * t * tk;
    for_chunk_sets(
        [(&mut out, t * h * dh), (&mut probs, per_row)],
        |bi, [o, p]| {
            let bias = &bias[(bi % bias_rows) * t * tk..][..t * tk];
            for hd in 0..h {
                let g = hd / rep;
                let s = Mat::rows(hd * t * tk, t, tk, tk);
                let (qm, km, vm) = (q.head(bi, hd), k.head(bi, g), v.head(bi, g));
                matmul((p, s), (qb, qm), (kb, km.t()), scale, Out::Set); // (1)
                for (row, brow) in p[s.at..s.at + t * tk].chunks_mut(tk).zip(bias.chunks(tk)) {
                    with_avx2!(softmax_row_biased(row, brow)); // (1) + bias, (2)
                }
                let om = head_in_row_major(t, h, dh, hd);
                matmul((o, om), (p, s), (vb, vm), 1.0, Out::Set); // (3)
            }
        },
    );
    (
        heads_inner(out, [b, h, t, dh]),
        FlexTensor::from_data(TensorData::new(probs, [b, h, t, tk])),
    )
}

/// Backward, steps (4)–(8): the gradients with respect to q, k and v (laid
/// out [B, T, N, Dh] like the projections that made them) from the
/// forward's inputs, its P and the output's gradient.
pub(super) fn backward(
    [q, k, v]: [FlexTensor; 3],
    probs: FlexTensor,
    grad: FlexTensor,
    scale: f32,
) -> [FlexTensor; 3] {
    let (q, k, v, dout) = (View::new(q), View::new(k), View::new(v), View::new(grad));
    let [b, h, t, dh] = q.dims();
    let [_, hkv, tk, _] = k.dims();
    let rep = h / hkv;
    let probs = values(&probs);
    let (qb, kb, vb, gb) = (q.buf(), k.buf(), v.buf(), dout.buf());
    let mut dq = vec![0f32; b * t * h * dh];
    let mut dk = vec![0f32; b * tk * hkv * dh];
    let mut dv = vec![0f32; b * tk * hkv * dh];
    let (q_row, kv_row) = (t * h * dh, tk * hkv * dh);
    let outs = [
        (&mut dq[..], q_row),
        (&mut dk[..], kv_row),
        (&mut dv[..], kv_row),
    ];
    for_chunk_sets(outs, |bi, [dq, dk, dv]| {
        let p = &probs[bi * h * t * tk..][..h * t * tk];
        let mut ds = vec![0f32; t * tk];
        let sm = Mat::rows(0, t, tk, tk);
        for hd in 0..h {
            // The first query head of a KV head writes dK and dV, the
            // others add to them.
            let g = hd / rep;
            let into = if hd % rep == 0 { Out::Set } else { Out::Add };
            let pm = Mat::rows(hd * t * tk, t, tk, tk);
            let (qm, km, vm) = (q.head(bi, hd), k.head(bi, g), v.head(bi, g));
            let gm = dout.head(bi, hd);
            let kv_m = head_in_row_major(tk, hkv, dh, g);
            matmul((dv, kv_m), (p, pm.t()), (gb, gm), 1.0, into); // (4)
            matmul((&mut ds, sm), (gb, gm), (vb, vm.t()), 1.0, Out::Set); // (5)
            let rows = p[pm.at..pm.at + t * tk].chunks(tk);
            for (d, y) in ds.chunks_mut(tk).zip(rows) {
                with_avx2!(softmax_grad_row_in_place(y, d)); // (6)
            }
            let qm_out = head_in_row_major(t, h, dh, hd);
            matmul((dq, qm_out), (&ds, sm), (kb, km), scale, Out::Set); // (7)
            matmul((dk, kv_m), (&ds, sm.t()), (qb, qm), scale, into); // (8)
        }
    });
    [
        heads_inner(dq, [b, h, t, dh]),
        heads_inner(dk, [b, hkv, tk, dh]),
        heads_inner(dv, [b, hkv, tk, dh]),
    ]
}
