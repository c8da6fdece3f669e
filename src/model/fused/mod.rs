//! Fused training ops for the CPU backend: SwiGLU's `silu(gate) · up`,
//! RMSNorm, rotary embeddings and the attention core (attention.rs), each
//! one pass forward and one pass backward with its own gradient (burn
//! composes them from 2–11 ops, each a pass over memory, an allocation and
//! an autodiff node).
//!
//! Only the CPU backend (Flex, with or without autodiff) runs them; on
//! wgpu burn's fusion compiles the same chains into few kernels, so
//! [`on`] sends those devices through burn's ops. Tests compare values and
//! gradients with the unfused ops (tests/fused.rs).

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, DispatchDevice, backend_extension};
use burn::prelude::*;
use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};

mod attention;
pub mod decode;

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

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Process-wide: false sends every device through burn's unfused ops
/// (what `restlm bench --unfused` measures against, and the tests'
/// reference).
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether the fused ops run on `device`: the CPU backend, with or without
/// autodiff, unless [`set_enabled`] turned them off.
pub fn on(device: &Device) -> bool {
    ENABLED.load(Ordering::Relaxed) && implemented_on(device)
}

/// Whether `device`'s backend has the fused ops (the CPU backend).
pub fn implemented_on(device: &Device) -> bool {
    fn flex(device: &DispatchDevice) -> bool {
        match device {
            DispatchDevice::Flex(_) => true,
            DispatchDevice::Autodiff(inner) => flex(inner),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }
    flex(device.as_dispatch())
}

/// silu(gate) · up: fused on the CPU backend, one kernel for
/// inference on wgpu ([`decode::runs_on`]), burn's ops elsewhere.
pub fn swiglu<const D: usize>(gate: Tensor<D>, up: Tensor<D>) -> Tensor<D> {
    if decode::runs_on(&gate.device()) {
        return decode::swiglu(gate, up);
    }
    if !on(&gate.device()) {
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
    if decode::runs_on(&x.device()) {
        return decode::rms_norm(x, norm.gamma.val(), norm.epsilon as f32);
    }
    if !on(&x.device()) {
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
/// wgpu ([`decode::runs_on`]), else the add and [`rms_norm`].
pub fn add_rms_norm<const D: usize>(
    norm: &burn::nn::RmsNorm,
    x: Tensor<D>,
    y: Tensor<D>,
) -> (Tensor<D>, Tensor<D>) {
    if decode::runs_on(&x.device()) {
        return decode::add_rms_norm(x, y, norm.gamma.val(), norm.epsilon as f32);
    }
    let sum = x + y;
    (sum.clone(), rms_norm(norm, sum))
}

/// Rotary embedding of x [B, H, T, Dh] with the tables' rows for its T
/// positions (cos, sin [T, Dh]), on a device where [`on`] holds
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
/// copy nothing), on a device where [`on`] holds (`Attention::forward`
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

// ---------------------------------------------------------------------------
// The CPU implementations.

/// Elements per parallel task of the elementwise ops.
const CHUNK: usize = 1 << 14;

/// A tensor's values in logical order, without a copy when it is
/// contiguous already (also the log-prob and sampling ops' input,
/// `sample::kernels`).
pub(crate) fn values(t: &FlexTensor) -> Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(xs) => xs.into(),
        None => t.to_contiguous().storage::<f32>().to_vec().into(),
    }
}

/// A [B, N, T, Dh] tensor whose buffer is laid out [B, T, N, Dh] (how
/// projections write heads).
fn heads_inner(data: Vec<f32>, [b, n, t, dh]: [usize; 4]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, [b, t, n, dh])).transpose(1, 2)
}

/// A [B, N, T, Dh] tensor's buffer (from its first element) and strides,
/// read where its rows lie: a copy first only when they are not
/// unit-stride (the rotary embedding and the attention core).
struct View {
    t: FlexTensor,
    st: [usize; 4],
}

impl View {
    fn new(t: FlexTensor) -> Self {
        let ok = |t: &FlexTensor| {
            let s = t.layout().strides();
            s.iter().all(|&s| s >= 0) && s[3] == 1
        };
        let t = if ok(&t) { t } else { t.to_contiguous() };
        let s = t.layout().strides();
        let st = [s[0] as usize, s[1] as usize, s[2] as usize, 1];
        Self { t, st }
    }

    fn buf(&self) -> &[f32] {
        &self.t.storage::<f32>()[self.t.layout().start_offset()..]
    }

    fn dims(&self) -> [usize; 4] {
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

/// `f(chunk index, output chunk)` over `out` in pieces of `chunk`, on every
/// core with the `cpu-threads` feature.
pub(crate) fn for_chunks(out: &mut [f32], chunk: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    for_chunk_sets([(out, chunk)], |i, [o]| f(i, o));
}

/// [`for_chunks`] over several outputs at once: task i gets the i-th piece
/// of each output, pieces of that output's own length (an empty piece
/// where an output has fewer).
fn for_chunk_sets<const N: usize>(
    outs: [(&mut [f32], usize); N],
    f: impl Fn(usize, [&mut [f32]; N]) + Sync,
) {
    let tasks = outs
        .iter()
        .map(|(o, c)| o.len().div_ceil((*c).max(1)))
        .max()
        .unwrap_or(0);
    let mut pieces = outs.map(|(o, c)| o.chunks_mut(c.max(1)));
    let sets: Vec<[&mut [f32]; N]> = (0..tasks)
        .map(|_| pieces.each_mut().map(|p| p.next().unwrap_or_default()))
        .collect();
    #[cfg(feature = "cpu-threads")]
    {
        use rayon::prelude::*;
        sets.into_par_iter().enumerate().for_each(|(i, s)| f(i, s));
    }
    #[cfg(not(feature = "cpu-threads"))]
    for (i, s) in sets.into_iter().enumerate() {
        f(i, s);
    }
}

/// Rows per parallel task for rows of `n`: about [`CHUNK`] elements.
fn rows_per_task(n: usize) -> usize {
    (CHUNK / n.max(1)).max(1)
}

/// e^x in f32 in a form the compiler vectorises (no libm call):
/// x = k·ln 2 + r with |r| ≤ ln 2 / 2, e^r by its Taylor polynomial to r⁷ (relative
/// error under 4e-7), 2^k through the exponent bits. Below −87.3 (where
/// e^x leaves f32's normal range) it returns 0; above 88.3 it saturates at
/// e^88.3 ≈ 2e38 (k = 127, the largest normal exponent) instead of
/// overflowing: softmax only takes x ≤ 0, sigmoid 1 / (1 + e^−x) stays
/// right to 1e-38.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2^23: adding it rounds to an integer
    let xc = x.clamp(-87.3, 88.3);
    let k = (xc * LOG2E + ROUND) - ROUND;
    let r = xc - k * LN2_HI - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    let scale = f32::from_bits(((k as i32 + 127) as u32) << 23);
    if x < -87.3 { 0.0 } else { p * scale }
}

/// Partial sums per reduction: a single running sum is a chain of
/// dependent adds the compiler must keep in order (no SIMD); sixteen
/// independent ones become two AVX registers.
const LANES: usize = 16;

/// Σ f(a_i, b_i, c_i) over equal-length rows, in [`LANES`] partial sums.
#[inline(always)]
pub(crate) fn sum_triples(
    a: &[f32],
    b: &[f32],
    c: &[f32],
    f: impl Fn(f32, f32, f32) -> f32,
) -> f32 {
    let n = a.len().min(b.len()).min(c.len());
    let (a, b, c) = (&a[..n], &b[..n], &c[..n]);
    let mut acc = [0f32; LANES];
    let chunks = a.chunks_exact(LANES).zip(b.chunks_exact(LANES));
    for ((ca, cb), cc) in chunks.zip(c.chunks_exact(LANES)) {
        for l in 0..LANES {
            acc[l] += f(ca[l], cb[l], cc[l]);
        }
    }
    let full = n / LANES * LANES;
    let tail: f32 = (full..n).map(|i| f(a[i], b[i], c[i])).sum();
    acc.iter().sum::<f32>() + tail
}

/// Σ f(a_i, b_i) over equal-length rows, in [`LANES`] partial sums.
#[inline(always)]
pub(crate) fn sum_pairs(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    sum_triples(a, b, b, |a, b, _| f(a, b))
}

/// Σ f(x_i) over a row, in [`LANES`] partial sums.
#[inline(always)]
pub(crate) fn sum_of(xs: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    sum_pairs(xs, xs, |x, _| f(x))
}

/// The largest value of a row (f32::MIN for an empty one), in [`LANES`]
/// partial maxima.
#[inline(always)]
pub(crate) fn max_of(xs: &[f32]) -> f32 {
    let mut acc = [f32::MIN; LANES];
    for c in xs.chunks_exact(LANES) {
        for l in 0..LANES {
            acc[l] = if c[l] > acc[l] { c[l] } else { acc[l] };
        }
    }
    let tail = xs.chunks_exact(LANES).remainder();
    acc.iter().chain(tail).copied().fold(f32::MIN, f32::max)
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// Runs `body` compiled for AVX2 + FMA where the CPU has them (burn's own
/// kernels do the same at run time), else for the baseline target.
macro_rules! with_avx2_impl {
    ($body:expr) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx2,fma")]
            unsafe fn fast<R>(f: impl FnOnce() -> R) -> R {
                f()
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: the features were detected on this CPU.
                unsafe { fast(|| $body) }
            } else {
                $body
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            $body
        }
    }};
}
pub(crate) use with_avx2_impl as with_avx2;

#[inline(always)]
fn swiglu_cpu(g: &[f32], u: &[f32], o: &mut [f32]) {
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
fn rms_norm_row(x: &[f32], gamma: &[f32], eps: f32, y: &mut [f32]) {
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
fn rope_row(x: &[f32], cos: &[f32], sin: &[f32], sign: f32, y: &mut [f32]) {
    let h = x.len() / 2;
    let (x1, x2) = x.split_at(h);
    let (y1, y2) = y.split_at_mut(h);
    for i in 0..h {
        y1[i] = x1[i] * cos[i] - sign * x2[i] * sin[i];
        y2[i] = x2[i] * cos[h + i] + sign * x1[i] * sin[h + i];
    }
}

/// y ← c · softmax(y), in place: (1) the max, (2) Σ exp(y − max) in
/// partial sums, (3) the scaled write (also the fused log-prob's backward,
/// `sample::reference`).
#[inline(always)]
pub(crate) fn softmax_in_place(y: &mut [f32], c: f32) {
    let m = max_of(y);
    for y in y.iter_mut() {
        *y = exp(*y - m);
    }
    let scale = c / sum_of(y, |e| e);
    y.iter_mut().for_each(|y| *y *= scale);
}

/// softmax(s + bias), in place.
#[inline(always)]
fn softmax_row_biased(s: &mut [f32], bias: &[f32]) {
    for (s, &b) in s.iter_mut().zip(bias) {
        *s += b;
    }
    softmax_in_place(s, 1.0);
}

/// The softmax's backward from its output y: d ← y · (d − Σ d · y), the
/// incoming gradient `d` replaced by the outgoing one.
#[inline(always)]
fn softmax_grad_row_in_place(y: &[f32], d: &mut [f32]) {
    let dot = sum_pairs(y, d, |y, d| y * d);
    for (d, &y) in d.iter_mut().zip(y) {
        *d = y * (*d - dot);
    }
}

/// `f(i, row i, output row i)` over the rows of length `n` of `xs` and the
/// rows of `out`, as many, of whatever length (n for RMSNorm, 1 for the
/// log-prob): rows in groups of about [`CHUNK`] elements per task.
pub(crate) fn per_rows(
    xs: &[f32],
    n: usize,
    out: &mut [f32],
    f: impl Fn(usize, &[f32], &mut [f32]) + Sync,
) {
    let k = (out.len() / (xs.len() / n.max(1)).max(1)).max(1);
    let rows = rows_per_task(n);
    for_chunks(out, rows * k, |c, o| {
        for (j, o) in o.chunks_mut(k).enumerate() {
            let row = c * rows + j;
            f(row, &xs[row * n..(row + 1) * n], o);
        }
    });
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

// ---------------------------------------------------------------------------
// Autodiff: each op records one backward node that calls its fused gradient.

mod autodiff {
    use super::FusedOps;
    use burn::backend::Autodiff;
    use burn::backend::autodiff::NodeId;
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
    use burn::backend::tensor::FloatTensor;

    /// An op's gradients, each to its input where that input is tracked.
    fn register_each<B: FusedOps, const N: usize>(
        inputs: [Option<NodeId>; N],
        outputs: [FloatTensor<B>; N],
        grads: &mut Gradients,
    ) {
        for (id, grad) in inputs.into_iter().zip(outputs) {
            if let Some(id) = id {
                grads.register::<B>(id, grad);
            }
        }
    }

    #[derive(Debug)]
    struct SwiGlu;

    impl<B: FusedOps> Backward<B, 2> for SwiGlu {
        type State = (FloatTensor<B>, FloatTensor<B>);

        fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
            let (gate, up) = ops.state;
            let grad = grads.consume::<B>(&ops.node);
            let (dg, du) = B::swiglu_grad(gate, up, grad);
            register_each::<B, 2>(ops.parents.map(|p| p.map(|n| n.id)), [dg, du], grads);
        }
    }

    #[derive(Debug)]
    struct RmsNorm;

    impl<B: FusedOps> Backward<B, 2> for RmsNorm {
        type State = (FloatTensor<B>, FloatTensor<B>, f32);

        fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
            let (x, gamma, eps) = ops.state;
            let grad = grads.consume::<B>(&ops.node);
            let (dx, dgamma) = B::rms_norm_grad(x, gamma, grad, eps);
            register_each::<B, 2>(ops.parents.map(|p| p.map(|n| n.id)), [dx, dgamma], grads);
        }
    }

    #[derive(Debug)]
    struct Rope;

    impl<B: FusedOps> Backward<B, 1> for Rope {
        /// The tables and the direction of the forward rotation.
        type State = (FloatTensor<B>, FloatTensor<B>, bool);

        fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
            let (cos, sin, inverse) = ops.state;
            // A rotation's transpose is the opposite rotation.
            unary::<B, _>(ops.parents, ops.node, grads, |grad| {
                B::rope(grad, cos, sin, !inverse)
            });
        }
    }

    #[derive(Debug)]
    struct Attention;

    impl<B: FusedOps> Backward<B, 3> for Attention {
        /// q, k, v, the softmax and the scale.
        type State = (
            FloatTensor<B>,
            FloatTensor<B>,
            FloatTensor<B>,
            FloatTensor<B>,
            f32,
        );

        fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
            let (q, k, v, probs, scale) = ops.state;
            let grad = grads.consume::<B>(&ops.node);
            let (dq, dk, dv) = B::attention_core_grad(q, k, v, probs, grad, scale);
            register_each::<B, 3>(ops.parents.map(|p| p.map(|n| n.id)), [dq, dk, dv], grads);
        }
    }

    impl<B: FusedOps, C: CheckpointStrategy> FusedOps for Autodiff<B, C> {
        fn swiglu(gate: FloatTensor<Self>, up: FloatTensor<Self>) -> FloatTensor<Self> {
            let nodes = [gate.node(), up.node()];
            let (g, u) = (gate.into_primitive(), up.into_primitive());
            match SwiGlu.prepare::<C>(nodes).compute_bound().stateful() {
                OpsKind::Tracked(prep) => {
                    let out = B::swiglu(g.clone(), u.clone());
                    prep.finish((g, u), out)
                }
                OpsKind::UnTracked(prep) => prep.finish(B::swiglu(g, u)),
            }
        }

        fn swiglu_grad(
            gate: FloatTensor<Self>,
            up: FloatTensor<Self>,
            grad: FloatTensor<Self>,
        ) -> (FloatTensor<Self>, FloatTensor<Self>) {
            let (dg, du) = B::swiglu_grad(
                gate.into_primitive(),
                up.into_primitive(),
                grad.into_primitive(),
            );
            (<FloatTensor<Self>>::new(dg), <FloatTensor<Self>>::new(du))
        }

        fn rms_norm(x: FloatTensor<Self>, gamma: FloatTensor<Self>, eps: f32) -> FloatTensor<Self> {
            let nodes = [x.node(), gamma.node()];
            let (x, gamma) = (x.into_primitive(), gamma.into_primitive());
            match RmsNorm.prepare::<C>(nodes).compute_bound().stateful() {
                OpsKind::Tracked(prep) => {
                    let out = B::rms_norm(x.clone(), gamma.clone(), eps);
                    prep.finish((x, gamma, eps), out)
                }
                OpsKind::UnTracked(prep) => prep.finish(B::rms_norm(x, gamma, eps)),
            }
        }

        fn rms_norm_grad(
            x: FloatTensor<Self>,
            gamma: FloatTensor<Self>,
            grad: FloatTensor<Self>,
            eps: f32,
        ) -> (FloatTensor<Self>, FloatTensor<Self>) {
            let (dx, dg) = B::rms_norm_grad(
                x.into_primitive(),
                gamma.into_primitive(),
                grad.into_primitive(),
                eps,
            );
            (<FloatTensor<Self>>::new(dx), <FloatTensor<Self>>::new(dg))
        }

        fn rope(
            x: FloatTensor<Self>,
            cos: FloatTensor<Self>,
            sin: FloatTensor<Self>,
            inverse: bool,
        ) -> FloatTensor<Self> {
            // The tables are constants: no gradient flows into them.
            let nodes = [x.node()];
            let (x, cos, sin) = (
                x.into_primitive(),
                cos.into_primitive(),
                sin.into_primitive(),
            );
            match Rope.prepare::<C>(nodes).compute_bound().stateful() {
                OpsKind::Tracked(prep) => {
                    let y = B::rope(x, cos.clone(), sin.clone(), inverse);
                    prep.finish((cos, sin, inverse), y)
                }
                OpsKind::UnTracked(prep) => prep.finish(B::rope(x, cos, sin, inverse)),
            }
        }

        fn attention_core(
            q: FloatTensor<Self>,
            k: FloatTensor<Self>,
            v: FloatTensor<Self>,
            bias: FloatTensor<Self>,
            scale: f32,
        ) -> (FloatTensor<Self>, FloatTensor<Self>) {
            // The bias is a constant: no gradient flows into it.
            let nodes = [q.node(), k.node(), v.node()];
            let (q, k, v) = (q.into_primitive(), k.into_primitive(), v.into_primitive());
            let bias = bias.into_primitive();
            match Attention.prepare::<C>(nodes).compute_bound().stateful() {
                OpsKind::Tracked(prep) => {
                    let (out, probs) =
                        B::attention_core(q.clone(), k.clone(), v.clone(), bias, scale);
                    let p = <FloatTensor<Self>>::new(probs.clone());
                    (prep.finish((q, k, v, probs, scale), out), p)
                }
                OpsKind::UnTracked(prep) => {
                    let (out, probs) = B::attention_core(q, k, v, bias, scale);
                    (prep.finish(out), <FloatTensor<Self>>::new(probs))
                }
            }
        }

        fn attention_core_grad(
            q: FloatTensor<Self>,
            k: FloatTensor<Self>,
            v: FloatTensor<Self>,
            probs: FloatTensor<Self>,
            grad: FloatTensor<Self>,
            scale: f32,
        ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
            let (dq, dk, dv) = B::attention_core_grad(
                q.into_primitive(),
                k.into_primitive(),
                v.into_primitive(),
                probs.into_primitive(),
                grad.into_primitive(),
                scale,
            );
            let wrap = <FloatTensor<Self>>::new;
            (wrap(dq), wrap(dk), wrap(dv))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{LANES, max_of, sum_of, sum_pairs, sum_triples};

    /// The lane-wise reductions against plain sequential ones, for every
    /// length around the lane count (the tail loop and the empty row).
    #[test]
    fn lane_reductions_match_sequential_ones() {
        for n in 0..3 * LANES + 3 {
            let a: Vec<f32> = (0..n).map(|i| ((i * 7919) % 23) as f32 - 11.5).collect();
            let b: Vec<f32> = (0..n).map(|i| ((i * 104_729) % 17) as f32 * 0.25).collect();
            let c: Vec<f32> = (0..n).map(|i| 1.0 + i as f32 * 0.01).collect();
            let seq3: f64 = (0..n).map(|i| (a[i] * b[i] * c[i]) as f64).sum();
            let seq2: f64 = (0..n).map(|i| (a[i] - b[i]) as f64).sum();
            let seq1: f64 = a.iter().map(|&x| (x * x) as f64).sum();
            let close = |x: f32, y: f64| (x as f64 - y).abs() <= 1e-5 * (1.0 + y.abs());
            assert!(
                close(sum_triples(&a, &b, &c, |a, b, c| a * b * c), seq3),
                "n {n}"
            );
            assert!(close(sum_pairs(&a, &b, |a, b| a - b), seq2), "n {n}");
            assert!(close(sum_of(&a, |x| x * x), seq1), "n {n}");
            let max = a.iter().copied().fold(f32::MIN, f32::max);
            assert_eq!(max_of(&a), max, "n {n}");
        }
        assert_eq!(max_of(&[-3.0, f32::MIN, -1.0]), -1.0);
    }
}
