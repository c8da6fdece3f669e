//! The fused ops on burn's CPU backend (Flex): one pass forward and one
//! backward each, rows in parallel (`crate::cpu::rows`).

use super::{FusedOps, attention};
use crate::cpu::rows::{
    CHUNK, exp, for_chunk_sets, for_chunks, per_rows, rows_per_task, softmax_in_place, sum_of,
    sum_pairs, sum_triples, values, with_avx2,
};
use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::prelude::*;

/// A [B, N, T, Dh] tensor whose buffer is laid out [B, T, N, Dh] (how
/// projections write heads).
pub(super) fn heads_inner(data: Vec<f32>, [b, n, t, dh]: [usize; 4]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, [b, t, n, dh])).transpose(1, 2)
}

/// A [B, N, T, Dh] tensor's buffer (from its first element) and strides,
/// read where its rows lie: a copy first only when they are not
/// unit-stride (the rotary embedding and the attention core).
pub(super) struct View {
    t: FlexTensor,
    pub(super) st: [usize; 4],
}

impl View {
    pub(super) fn new(t: FlexTensor) -> Self {
        let ok = |t: &FlexTensor| {
            let s = t.layout().strides();
            s.iter().all(|&s| s >= 0) && s[3] == 1
        };
        let t = if ok(&t) { t } else { t.to_contiguous() };
        let s = t.layout().strides();
        let st = [s[0] as usize, s[1] as usize, s[2] as usize, 1];
        Self { t, st }
    }

    pub(super) fn buf(&self) -> &[f32] {
        &self.t.storage::<f32>()[self.t.layout().start_offset()..]
    }

    pub(super) fn dims(&self) -> [usize; 4] {
        let s = self.t.layout().shape();
        [s[0], s[1], s[2], s[3]]
    }
}

fn tensor(data: Vec<f32>, shape: Shape) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, shape))
}

fn shape_of(t: &FlexTensor) -> Shape {
    t.layout().shape().clone()
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[inline(always)]
pub(crate) fn swiglu_cpu(g: &[f32], u: &[f32], o: &mut [f32]) {
    for ((o, &g), &u) in o.iter_mut().zip(g).zip(u) {
        *o = g * sigmoid(g) * u;
    }
}

/// d/dgate = dy · u · s · (1 + g · (1 − s)), d/dup = dy · g · s, s = σ(g).
#[inline(always)]
fn swiglu_grad_cpu(g: &[f32], u: &[f32], dy: &[f32], dg: &mut [f32], du: &mut [f32]) {
    for i in 0..dg.len() {
        let s = sigmoid(g[i]);
        dg[i] = dy[i] * u[i] * s * (1.0 + g[i] * (1.0 - s));
        du[i] = dy[i] * g[i] * s;
    }
}

#[inline(always)]
pub(crate) fn rms_norm_row(x: &[f32], gamma: &[f32], eps: f32, y: &mut [f32]) {
    let ms = sum_of(x, |v| v * v) / x.len() as f32;
    let r = 1.0 / (ms + eps).sqrt();
    for ((y, &x), &g) in y.iter_mut().zip(x).zip(gamma) {
        *y = x * r * g;
    }
}

/// With r = (mean(x²) + eps)^-½ and a = gamma · dy:
/// dx = r · a − x · r³ · Σ(a · x) / n; the row's share of dgamma is dy · x · r.
#[inline(always)]
fn rms_norm_grad_row(
    x: &[f32],
    gamma: &[f32],
    dy: &[f32],
    eps: f32,
    dx: &mut [f32],
    dgamma: &mut [f32],
) {
    let n = x.len() as f32;
    let ms = sum_of(x, |v| v * v) / n;
    let r = 1.0 / (ms + eps).sqrt();
    let dot = sum_triples(x, gamma, dy, |x, g, d| x * g * d);
    let c = r * r * r * dot / n;
    for i in 0..x.len() {
        dx[i] = r * gamma[i] * dy[i] - x[i] * c;
        dgamma[i] += dy[i] * x[i] * r;
    }
}

/// One row of Dh: y_i = x_i·cos_i − x_{i+h}·sin_i and
/// y_{i+h} = x_{i+h}·cos_{i+h} + x_i·sin_{i+h} (h = Dh / 2), with −sin for
/// the inverse rotation.
#[inline(always)]
pub(crate) fn rope_row(x: &[f32], cos: &[f32], sin: &[f32], sign: f32, y: &mut [f32]) {
    let h = x.len() / 2;
    let (x1, x2) = x.split_at(h);
    let (y1, y2) = y.split_at_mut(h);
    for i in 0..h {
        y1[i] = x1[i] * cos[i] - sign * x2[i] * sin[i];
        y2[i] = x2[i] * cos[h + i] + sign * x1[i] * sin[h + i];
    }
}

/// softmax(s + bias), in place.
#[inline(always)]
pub(super) fn softmax_row_biased(s: &mut [f32], bias: &[f32]) {
    for (s, &b) in s.iter_mut().zip(bias) {
        *s += b;
    }
    softmax_in_place(s, 1.0);
}

/// The softmax's backward from its output y: d ← y · (d − Σ d · y), the
/// incoming gradient `d` replaced by the outgoing one.
#[inline(always)]
pub(super) fn softmax_grad_row_in_place(y: &[f32], d: &mut [f32]) {
    let dot = sum_pairs(y, d, |y, d| y * d);
    for (d, &y) in d.iter_mut().zip(y) {
        *d = y * (*d - dot);
    }
}

impl FusedOps for Flex {
    fn swiglu(gate: FlexTensor, up: FlexTensor) -> FlexTensor {
        let shape = shape_of(&gate);
        let (g, u) = (values(&gate), values(&up));
        let mut out = vec![0f32; g.len()];
        for_chunks(&mut out, CHUNK, |c, o| {
            let at = c * CHUNK;
            let end = at + o.len();
            with_avx2!(swiglu_cpu(&g[at..end], &u[at..end], o));
        });
        tensor(out, shape)
    }

    fn swiglu_grad(gate: FlexTensor, up: FlexTensor, grad: FlexTensor) -> (FlexTensor, FlexTensor) {
        let shape = shape_of(&gate);
        let (g, u, dy) = (values(&gate), values(&up), values(&grad));
        let (mut dg, mut du) = (vec![0f32; g.len()], vec![0f32; g.len()]);
        // One pass computes σ once for both gradients.
        for_chunk_sets([(&mut dg, CHUNK), (&mut du, CHUNK)], |c, [dg, du]| {
            let (at, end) = (c * CHUNK, c * CHUNK + dg.len());
            with_avx2!(swiglu_grad_cpu(
                &g[at..end],
                &u[at..end],
                &dy[at..end],
                dg,
                du
            ));
        });
        (tensor(dg, shape.clone()), tensor(du, shape))
    }

    fn rms_norm(x: FlexTensor, gamma: FlexTensor, eps: f32) -> FlexTensor {
        let shape = shape_of(&x);
        let (xs, gamma) = (values(&x), values(&gamma));
        let n = gamma.len();
        let mut out = vec![0f32; xs.len()];
        per_rows(&xs, n, &mut out, |_, x, y| {
            with_avx2!(rms_norm_row(x, &gamma, eps, y))
        });
        tensor(out, shape)
    }

    fn rms_norm_grad(
        x: FlexTensor,
        gamma: FlexTensor,
        grad: FlexTensor,
        eps: f32,
    ) -> (FlexTensor, FlexTensor) {
        let shape = shape_of(&x);
        let (xs, gamma, dy) = (values(&x), values(&gamma), values(&grad));
        let n = gamma.len();
        let rows = rows_per_task(n);
        let tasks = (xs.len() / n).div_ceil(rows);
        let mut dx = vec![0f32; xs.len()];
        // One partial dgamma per task, summed in task order afterwards: the
        // same sum whatever the thread count.
        let mut partial = vec![0f32; tasks * n];
        for_chunk_sets([(&mut dx, rows * n), (&mut partial, n)], |c, [dxc, dgc]| {
            for (j, dxr) in dxc.chunks_mut(n).enumerate() {
                let at = (c * rows + j) * n;
                let (x, d) = (&xs[at..at + n], &dy[at..at + n]);
                with_avx2!(rms_norm_grad_row(x, &gamma, d, eps, dxr, dgc));
            }
        });
        let mut dgamma = vec![0f32; n];
        for p in partial.chunks(n) {
            dgamma.iter_mut().zip(p).for_each(|(d, p)| *d += p);
        }
        (tensor(dx, shape), tensor(dgamma, Shape::new([n])))
    }

    fn rope(x: FlexTensor, cos: FlexTensor, sin: FlexTensor, inverse: bool) -> FlexTensor {
        let shape = shape_of(&x);
        let (b, h, t, dh) = (shape[0], shape[1], shape[2], shape[3]);
        // Rows read where they lie, and written in the same order: a
        // [B, T, H, Dh] buffer seen as [B, H, T, Dh] (how attention hands
        // over heads) stays so, and a copy into the other order would be a
        // pass of its own, forward and back.
        let x = View::new(x);
        let (st, buf) = (x.st, x.buf());
        let heads_inner_order = st[1] < st[2];
        let (cos, sin) = (values(&cos), values(&sin));
        let sign = if inverse { -1.0 } else { 1.0 };
        let mut out = vec![0f32; shape.num_elements()];
        let rows = rows_per_task(dh);
        for_chunks(&mut out, rows * dh, |c, o| {
            for (j, y) in o.chunks_mut(dh).enumerate() {
                let row = c * rows + j;
                let (bi, ti, hi) = if heads_inner_order {
                    (row / (t * h), (row / h) % t, row % h)
                } else {
                    (row / (t * h), row % t, (row / t) % h)
                };
                let from = bi * st[0] + hi * st[1] + ti * st[2];
                let tab = ti * dh;
                let (c, s) = (&cos[tab..tab + dh], &sin[tab..tab + dh]);
                with_avx2!(rope_row(&buf[from..from + dh], c, s, sign, y))
            }
        });
        if heads_inner_order {
            heads_inner(out, [b, h, t, dh])
        } else {
            tensor(out, shape)
        }
    }

    fn attention_core(
        q: FlexTensor,
        k: FlexTensor,
        v: FlexTensor,
        bias: FlexTensor,
        scale: f32,
    ) -> (FlexTensor, FlexTensor) {
        attention::forward(q, k, v, bias, scale)
    }

    fn attention_core_grad(
        q: FlexTensor,
        k: FlexTensor,
        v: FlexTensor,
        probs: FlexTensor,
        grad: FlexTensor,
        scale: f32,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let [dq, dk, dv] = attention::backward([q, k, v], probs, grad, scale);
        (dq, dk, dv)
    }
}
