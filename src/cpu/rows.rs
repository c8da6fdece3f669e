//! Row helpers of the CPU backend's own kernels (the fused training ops,
//! the sampler and the log-prob in plain Rust): reductions in partial sums
//! so they vectorise, a libm-free `exp`, an in-place softmax, and the loops
//! that spread rows or chunks over the cores.

use burn::backend::flex::FlexTensor;
use std::borrow::Cow;

/// Elements per parallel task of the elementwise ops.
pub const CHUNK: usize = 1 << 14;

/// A tensor's values in logical order, without a copy when it is
/// contiguous already (also the log-prob and sampling ops' input,
/// `sample::kernels`).
pub fn values(t: &FlexTensor) -> Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(xs) => xs.into(),
        None => t.to_contiguous().storage::<f32>().to_vec().into(),
    }
}

/// `f(chunk index, output chunk)` over `out` in pieces of `chunk`, on every
/// core with the `cpu-threads` feature.
pub fn for_chunks(out: &mut [f32], chunk: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    for_chunk_sets([(out, chunk)], |i, [o]| f(i, o));
}

/// [`for_chunks`] over several outputs at once: task i gets the i-th piece
/// of each output, pieces of that output's own length (an empty piece
/// where an output has fewer).
pub fn for_chunk_sets<const N: usize>(
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

/// `f()` run on one of the pool's threads (with the `cpu-threads`
/// feature), so that the parallel loops inside it start from a worker: a
/// loop called from another thread hands its job to the pool and sleeps
/// until it is done (rayon's cold path), a wake-up per loop that a
/// decoding step of ~150 loops pays in full.
pub fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    #[cfg(feature = "cpu-threads")]
    return rayon::scope(|_| f());
    #[cfg(not(feature = "cpu-threads"))]
    f()
}

/// `f(i)` for i in 0..tasks, on every core with the `cpu-threads` feature.
pub fn for_tasks(tasks: usize, f: impl Fn(usize) + Sync + Send) {
    #[cfg(feature = "cpu-threads")]
    {
        use rayon::prelude::*;
        (0..tasks).into_par_iter().for_each(f);
    }
    #[cfg(not(feature = "cpu-threads"))]
    (0..tasks).for_each(f);
}

/// The threads [`for_tasks`] and [`for_chunks`] spread work over.
pub fn threads() -> usize {
    #[cfg(feature = "cpu-threads")]
    return rayon::current_num_threads();
    #[cfg(not(feature = "cpu-threads"))]
    1
}

/// Rows per parallel task for rows of `n`: about [`CHUNK`] elements.
pub fn rows_per_task(n: usize) -> usize {
    (CHUNK / n.max(1)).max(1)
}

/// `f(i, row i, output row i)` over the rows of length `n` of `xs` and the
/// rows of `out`, as many, of whatever length (n for RMSNorm, 1 for the
/// log-prob): rows in groups of about [`CHUNK`] elements per task.
pub fn per_rows(
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
pub const LANES: usize = 16;

/// Σ f(a_i, b_i, c_i) over equal-length rows, in [`LANES`] partial sums.
#[inline(always)]
pub fn sum_triples(a: &[f32], b: &[f32], c: &[f32], f: impl Fn(f32, f32, f32) -> f32) -> f32 {
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
pub fn sum_pairs(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    sum_triples(a, b, b, |a, b, _| f(a, b))
}

/// Σ f(x_i) over a row, in [`LANES`] partial sums.
#[inline(always)]
pub fn sum_of(xs: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    sum_pairs(xs, xs, |x, _| f(x))
}

/// The largest value of a row (f32::MIN for an empty one), in [`LANES`]
/// partial maxima.
#[inline(always)]
pub fn max_of(xs: &[f32]) -> f32 {
    let mut acc = [f32::MIN; LANES];
    for c in xs.chunks_exact(LANES) {
        for l in 0..LANES {
            acc[l] = if c[l] > acc[l] { c[l] } else { acc[l] };
        }
    }
    let tail = xs.chunks_exact(LANES).remainder();
    acc.iter().chain(tail).copied().fold(f32::MIN, f32::max)
}

/// y ← c · softmax(y), in place: (1) the max, (2) Σ exp(y − max) in
/// partial sums, (3) the scaled write (also the fused log-prob's backward,
/// `sample::reference`).
#[inline(always)]
pub fn softmax_in_place(y: &mut [f32], c: f32) {
    let m = max_of(y);
    for y in y.iter_mut() {
        *y = exp(*y - m);
    }
    let scale = c / sum_of(y, |e| e);
    y.iter_mut().for_each(|y| *y *= scale);
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
