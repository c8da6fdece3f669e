//! Decoding's products with a quantised base, in integers: x's rows are
//! rounded to 8-bit blocks of 32 (one f32 scale each, Q8_0's rounding)
//! and every block of W meets every block of x in one AVX-512 VNNI
//! instruction (`vpdpbusd`: 64 byte products summed into 16 lanes), as
//! llama.cpp's CPU backend multiplies Q8_0/Q4_0 weights.
//!
//! Only for a few rows (a KV-cache decoding step: one per sequence) and
//! only where the caller asks ([`super::quant::QuantRef::forward_rounded`]):
//! rounding x costs up to half a step of its block's scale per value, which
//! sampling does not notice but a training step should not pay, so
//! training and scoring keep the exact f32 products.
//!
//! `vpdpbusd` multiplies unsigned bytes by signed ones. Q8_0: x is stored
//! offset by 128 (unsigned) and W's signed values are the other side; the
//! offset's share, 128 · Σ w of the block, is subtracted by starting each
//! W block's accumulator at −128 · Σ w (one more `vpdpbusd` per block,
//! shared by every row of x). Q4_0: W's nibbles 0..15 are the unsigned
//! side and x the signed one; W's offset of 8 costs 8 · Σ x per block,
//! which x's rounding stores in the lane the block's sum starts in.
//!
//! Two blocks fill a 512-bit register: lanes 0–7 sum the first, 8–15 the
//! second; a block's lanes are scaled by its two scales (W's and x's) and
//! accumulated in f32, and a row's lanes are summed once at its end.

use super::quant::{BLOCK, Dst, QuantKind, QuantRef, quantize_block};

/// Rows of x at most that [`QuantRef::forward_rounded`] multiplies this
/// way: decoding's batch (one row per sequence); more rows are a prompt or
/// a training batch, which the f32 products serve.
pub const ROUND_ROWS: usize = 64;

/// Rows of x each pass over a row of W serves (four accumulators).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const GROUP: usize = 4;

/// Whether this CPU has what the integer products need.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// x's rows rounded to 8-bit blocks, laid out for one kind of W.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub struct Rounded {
    /// Per row, `pairs` × 64 bytes (a last odd block padded with zeros):
    /// the values offset by 128 for Q8_0 W, as signed bytes for Q4_0.
    values: Vec<u8>,
    /// Per row and pair of blocks, 16 lanes: the first block's scale in
    /// lanes 0–7, the second's in 8–15 (0 past the last block).
    scales: Vec<f32>,
    /// Q4_0 only, laid out as `scales`: −8 · Σ x of each block in the
    /// first lane of its eight (the rest 0).
    offsets: Vec<i32>,
    pairs: usize,
}

impl Rounded {
    /// The m rows of x [m, k] (k whole blocks), Q8_0's rounding of each
    /// block: scale amax / 127, values round(v / scale).
    pub fn new(kind: QuantKind, x: &[f32], m: usize, k: usize) -> Self {
        assert!(k.is_multiple_of(BLOCK) && x.len() == m * k);
        let blocks = k / BLOCK;
        let pairs = blocks.div_ceil(2);
        let mut values = vec![0u8; m * pairs * 2 * BLOCK];
        let mut scales = vec![0f32; m * pairs * 16];
        let mut offsets = match kind {
            QuantKind::Q4_0 => vec![0i32; m * pairs * 16],
            QuantKind::Q8_0 => Vec::new(),
        };
        for i in 0..m {
            for b in 0..blocks {
                let xb = &x[i * k + b * BLOCK..][..BLOCK];
                let q = &mut values[(i * pairs * 2 + b) * BLOCK..][..BLOCK];
                let d = quantize_block(QuantKind::Q8_0, xb, q);
                let lanes = (i * pairs + b / 2) * 16 + (b % 2) * 8;
                scales[lanes..lanes + 8].fill(d);
                match kind {
                    QuantKind::Q8_0 => q.iter_mut().for_each(|v| *v ^= 0x80),
                    QuantKind::Q4_0 => {
                        offsets[lanes] = -8 * q.iter().map(|&v| v as i8 as i32).sum::<i32>()
                    }
                }
            }
        }
        Self {
            values,
            scales,
            offsets,
            pairs,
        }
    }
}

/// y [m, rows] = round(x) · Wᵀ, or None where this CPU lacks the
/// instructions (the caller then multiplies in f32).
pub fn forward(w: &QuantRef<'_>, x: &[f32], m: usize) -> Option<Vec<f32>> {
    forward_many(std::slice::from_ref(w), x, m).map(|mut ys| ys.remove(0))
}

/// [`forward`] of several matrices of one kind and width on the same x
/// (a decoding step's q, k and v, or its gate and up): x rounded once, and
/// the rows of all of them spread over the threads in one parallel pass.
/// None where this CPU lacks the instructions.
pub fn forward_many(ws: &[QuantRef<'_>], x: &[f32], m: usize) -> Option<Vec<Vec<f32>>> {
    let first = ws.first()?;
    if !available() {
        return None;
    }
    let k = first.cols;
    assert!(
        ws.iter().all(|w| w.kind == first.kind && w.cols == k),
        "forward_many: matrices of one kind and width"
    );
    let xr = Rounded::new(first.kind, x, m, k);
    let mut ys: Vec<Vec<f32>> = ws.iter().map(|w| vec![0f32; m * w.rows]).collect();
    // Spread the rows over the threads, a few tasks each for balance; a
    // task never spans two matrices.
    let total: usize = ws.iter().map(|w| w.rows).sum();
    let per_task = total.div_ceil((super::rows::threads() * 4).max(1)).max(1);
    let tasks: Vec<(usize, std::ops::Range<usize>)> = ws
        .iter()
        .enumerate()
        .flat_map(|(i, w)| {
            (0..w.rows)
                .step_by(per_task)
                .map(move |r| (i, r..(r + per_task).min(w.rows)))
        })
        .collect();
    let dsts: Vec<Dst> = ys.iter_mut().map(|y| Dst(y.as_mut_ptr())).collect();
    super::rows::for_tasks(tasks.len(), |t| {
        let (i, rows) = tasks[t].clone();
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `available()` checked the instructions on this CPU; task
        // t writes only matrix i's output columns `rows` (row stride
        // ws[i].rows), which no other task touches, inside ys[i], which
        // outlives the loop.
        unsafe {
            avx512::rows_of_w(&ws[i], &xr, m, rows, dsts[i].at(0), ws[i].rows)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (rows, &xr, dsts[i].at(0));
    });
    Some(ys)
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{BLOCK, GROUP, QuantKind, QuantRef, Rounded};
    use std::arch::x86_64::*;

    /// How far ahead of the product [`rows_of_w`] prefetches W: whole
    /// rows, about this many bytes of them (16 rows of a 576-wide Q8_0
    /// matrix, 5 of a 1 536-wide one). Measured on 125 MB of 1 536 × 576
    /// Q8_0 matrices at one row of x: 6.5 → 9–11 GB/s on one thread,
    /// 10.5 → 16–18 GB/s on two (a plain read: 11 and 17–22).
    const PREFETCH_BYTES: usize = 8192;

    /// y[i, r] for every row i < m of x and every r in `rows`: two rows of
    /// W at a time against four rows of x (eight accumulators; each load
    /// of x serves two rows of W, each of W four of x).
    ///
    /// # Safety
    /// The CPU has AVX-512 F, BW, DQ, VL and VNNI; `y` is valid for writes
    /// of `i * n + r` for those i and r, and no other thread touches them.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
    pub(super) unsafe fn rows_of_w(
        w: &QuantRef<'_>,
        x: &Rounded,
        m: usize,
        rows: std::ops::Range<usize>,
        y: *mut f32,
        n: usize,
    ) {
        let q4 = w.kind == QuantKind::Q4_0;
        let ahead = (PREFETCH_BYTES / w.row(rows.start.min(w.rows - 1)).0.len().max(1)).max(2);
        let mut r = rows.start;
        while r < rows.end {
            let two = (rows.end - r).min(2);
            // The rows `ahead` of these are asked for now: at a few rows of
            // x the product waits on W's bytes.
            for a in r + ahead..(r + ahead + two).min(rows.end) {
                let (data, scales) = w.row(a);
                for line in data.chunks(64) {
                    _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast());
                }
                _mm_prefetch::<_MM_HINT_T0>(scales.as_ptr().cast());
            }
            let mut i = 0;
            while i < m {
                let take = (m - i).min(GROUP);
                let mut out = [[0f32; GROUP]; 2];
                macro_rules! call {
                    ($a:literal, $b:literal) => {
                        if q4 {
                            dots::<$a, $b, true>(w, r, x, i, &mut out)
                        } else {
                            dots::<$a, $b, false>(w, r, x, i, &mut out)
                        }
                    };
                }
                match (two, take) {
                    (2, 4) => call!(2, 4),
                    (2, 3) => call!(2, 3),
                    (2, 2) => call!(2, 2),
                    (2, _) => call!(2, 1),
                    (_, 4) => call!(1, 4),
                    (_, 3) => call!(1, 3),
                    (_, 2) => call!(1, 2),
                    _ => call!(1, 1),
                }
                for (a, row) in out.iter().take(two).enumerate() {
                    for (j, v) in row.iter().take(take).enumerate() {
                        // SAFETY: i + j < m and r + a < n; the caller
                        // vouches for y.
                        unsafe { *y.add((i + j) * n + r + a) = *v };
                    }
                }
                i += take;
            }
            r += two;
        }
    }

    /// out[a][j] = W's row r + a · rounded x's row i0 + j, for a < RW and
    /// j < RX.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
    fn dots<const RW: usize, const RX: usize, const Q4: bool>(
        w: &QuantRef<'_>,
        r: usize,
        x: &Rounded,
        i0: usize,
        out: &mut [[f32; GROUP]; 2],
    ) {
        let blocks = w.cols / BLOCK;
        let wrows: [_; RW] = std::array::from_fn(|a| w.row(r + a));
        let stride = x.pairs * 2 * BLOCK;
        let xv: [&[u8]; RX] =
            std::array::from_fn(|j| &x.values[(i0 + j) * stride..(i0 + j + 1) * stride]);
        let lanes = x.pairs * 16;
        let xs: [&[f32]; RX] =
            std::array::from_fn(|j| &x.scales[(i0 + j) * lanes..(i0 + j + 1) * lanes]);
        let xo: [&[i32]; RX] = std::array::from_fn(|j| {
            if Q4 {
                &x.offsets[(i0 + j) * lanes..(i0 + j + 1) * lanes]
            } else {
                &[][..]
            }
        });
        let mut acc = [[_mm512_setzero_ps(); RX]; RW];
        let wbytes = 2 * w.kind.block_bytes();
        for p in 0..x.pairs {
            let full = 2 * p + 1 < blocks;
            let mut wv = [_mm512_setzero_si512(); RW];
            let mut dw = [_mm512_setzero_ps(); RW];
            let mut start = [_mm512_setzero_si512(); RW];
            for a in 0..RW {
                let (data, scales) = wrows[a];
                let s1 = if full { scales[2 * p + 1] } else { 0.0 };
                dw[a] = _mm512_insertf32x8::<1>(_mm512_set1_ps(scales[2 * p]), _mm256_set1_ps(s1));
                let bytes = &data[p * wbytes..][..if full { wbytes } else { wbytes / 2 }];
                if Q4 {
                    wv[a] = nibbles(bytes);
                } else {
                    wv[a] = load_bytes(bytes);
                    // −128 · Σ w over each lane's four values.
                    let sum =
                        _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(-128), wv[a]);
                    start[a] = _mm512_sub_epi32(_mm512_setzero_si512(), sum);
                }
            }
            for j in 0..RX {
                let v = &xv[j][p * 2 * BLOCK..(p + 1) * 2 * BLOCK];
                let d = &xs[j][p * 16..(p + 1) * 16];
                // SAFETY: 64 bytes of a 64-byte slice, 16 f32 of 16.
                let (v, d) = unsafe {
                    (
                        _mm512_loadu_si512(v.as_ptr().cast()),
                        _mm512_loadu_ps(d.as_ptr()),
                    )
                };
                let off = if Q4 {
                    let o = &xo[j][p * 16..(p + 1) * 16];
                    // SAFETY: 16 i32 of a slice of 16.
                    unsafe { _mm512_loadu_si512(o.as_ptr().cast()) }
                } else {
                    _mm512_setzero_si512()
                };
                for a in 0..RW {
                    let sum = if Q4 {
                        _mm512_dpbusd_epi32(off, wv[a], v)
                    } else {
                        _mm512_dpbusd_epi32(start[a], v, wv[a])
                    };
                    acc[a][j] = _mm512_fmadd_ps(
                        _mm512_cvtepi32_ps(sum),
                        _mm512_mul_ps(dw[a], d),
                        acc[a][j],
                    );
                }
            }
        }
        for a in 0..RW {
            for j in 0..RX {
                out[a][j] = _mm512_reduce_add_ps(acc[a][j]);
            }
        }
    }

    /// 32 or 64 bytes into a register (zeros past a 32-byte slice).
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
    fn load_bytes(bytes: &[u8]) -> __m512i {
        if bytes.len() >= 64 {
            // SAFETY: 64 bytes of a slice of at least 64.
            return unsafe { _mm512_loadu_si512(bytes.as_ptr().cast()) };
        }
        let mask: u64 = (1 << bytes.len()) - 1;
        // SAFETY: the mask reads only the slice's bytes.
        unsafe { _mm512_maskz_loadu_epi8(mask, bytes.as_ptr().cast()) }
    }

    /// One or two Q4_0 blocks (16 bytes each: value j in the low nibble of
    /// byte j, value j + 16 in the high one) as 32 or 64 bytes 0..15 in
    /// value order (zeros past one block).
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
    fn nibbles(bytes: &[u8]) -> __m512i {
        let v = if bytes.len() >= 32 {
            // SAFETY: 32 bytes of a slice of at least 32.
            unsafe { _mm256_loadu_si256(bytes.as_ptr().cast()) }
        } else {
            let mask: u32 = (1 << bytes.len()) - 1;
            // SAFETY: the mask reads only the slice's bytes.
            unsafe { _mm256_maskz_loadu_epi8(mask, bytes.as_ptr().cast()) }
        };
        let low = _mm256_set1_epi8(0x0F);
        let lo = _mm256_and_si256(v, low);
        let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), low);
        // 128-bit lanes [lo 0, lo 1, hi 0, hi 1] → [lo 0, hi 0, lo 1, hi 1].
        let both = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo), hi);
        _mm512_shuffle_i64x2::<0b11_01_10_00>(both, both)
    }
}
