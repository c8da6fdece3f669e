//! Weight matrices kept quantised in memory and multiplied as they are:
//! llama.cpp's Q8_0 (blocks of 32 signed bytes with one scale) and Q4_0
//! (blocks of 32 four-bit values, offset 8, with one scale), the storage a
//! frozen base needs under LoRA (QLoRA's idea) at a quarter or an eighth of
//! f32's bytes. A bottom room: it imports nothing of restlm's but
//! [`super::rows`].
//!
//! A [`QuantMatrix`] is W [rows, cols] as GGUF stores a projection: one row
//! per output feature, blocks along the inputs. Its two products are a
//! layer's forward pass and its input gradient:
//!
//! - [`QuantMatrix::forward`]: y = x·Wᵀ for x [m, cols];
//! - [`QuantMatrix::backward`]: dx = dy·W for dy [m, rows].
//!
//! Neither dequantises the whole matrix: each thread expands a band of
//! W (rows for the forward, whole blocks of columns for the backward) to
//! f32 in a buffer of its own, at most `BAND_BYTES` and as few bands as
//! spread the work over the threads (each band repacks x for `gemm`, so
//! wider is faster; a 64-row tile per task made the SmolLM2 LoRA step
//! 1.3× the f32 base's), and multiplies it with `gemm` straight into its
//! columns of the output. With one or a few rows of x (decoding one token
//! per row) a band would be expanded to be used once:
//! [`QuantMatrix::forward`] then takes dot products straight from the
//! blocks, reading each weight byte once.
//! Scales are f32 (GGUF's are f16: converted exactly on import).

/// Values per block, both types.
pub const BLOCK: usize = 32;
/// The narrowest band, and the rows of W per task of the dot-product path.
pub const TILE: usize = 64;
/// Rows of x up to which [`QuantMatrix::forward`] takes dot products.
const DOT_ROWS: usize = 4;

/// A block type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantKind {
    /// 32 × i8, x = d·q: 34 bytes per 32 weights in GGUF (36 here, f32 d).
    Q8_0,
    /// 32 × 4 bits, x = d·(q − 8): 18 bytes per 32 weights in GGUF.
    Q4_0,
}

impl QuantKind {
    /// Bytes of one block's values (its scale aside).
    pub const fn block_bytes(self) -> usize {
        match self {
            Self::Q8_0 => BLOCK,
            Self::Q4_0 => BLOCK / 2,
        }
    }
}

/// W [rows, cols] in blocks of [`BLOCK`] along each row.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantMatrix {
    pub kind: QuantKind,
    pub rows: usize,
    pub cols: usize,
    /// Each row's blocks' values, `kind.block_bytes()` per block.
    data: Vec<u8>,
    /// One scale per block, row-major.
    scales: Vec<f32>,
}

/// A [`QuantMatrix`]'s blocks borrowed from elsewhere (a tensor's
/// storage): the same products without owning the values.
#[derive(Clone, Copy, Debug)]
pub struct QuantRef<'a> {
    pub kind: QuantKind,
    pub rows: usize,
    pub cols: usize,
    data: &'a [u8],
    scales: &'a [f32],
}

/// Why a matrix cannot be stored quantised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    pub cols: usize,
}

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rows of {} values do not split into blocks of {BLOCK}",
            self.cols
        )
    }
}

impl QuantMatrix {
    /// W [rows, cols] (row-major f32) quantised as llama.cpp's reference
    /// quantisers do: Q8_0 with d = max|x| / 127 and q = round(x / d); Q4_0
    /// with d = m / −8 for the value m of largest magnitude and
    /// q = min(15, ⌊x / d + 8.5⌋).
    pub fn quantize(
        kind: QuantKind,
        w: &[f32],
        rows: usize,
        cols: usize,
    ) -> Result<Self, ShapeError> {
        if !cols.is_multiple_of(BLOCK) {
            return Err(ShapeError { cols });
        }
        assert_eq!(w.len(), rows * cols, "quantize: {rows} × {cols} values");
        let blocks = rows * cols / BLOCK;
        let mut data = vec![0u8; blocks * kind.block_bytes()];
        let mut scales = vec![0f32; blocks];
        let values = data.chunks_exact_mut(kind.block_bytes());
        for ((x, q), d) in w.chunks_exact(BLOCK).zip(values).zip(&mut scales) {
            *d = quantize_block(kind, x, q);
        }
        Ok(Self {
            kind,
            rows,
            cols,
            data,
            scales,
        })
    }

    /// From blocks as stored elsewhere (a GGUF tensor's values and scales).
    pub fn from_blocks(
        kind: QuantKind,
        rows: usize,
        cols: usize,
        data: Vec<u8>,
        scales: Vec<f32>,
    ) -> Result<Self, ShapeError> {
        QuantRef::new(kind, rows, cols, &data, &scales)?;
        Ok(Self {
            kind,
            rows,
            cols,
            data,
            scales,
        })
    }

    /// The blocks' values (`kind.block_bytes()` per block, row-major) and
    /// scales (one per block), given up.
    pub fn into_parts(self) -> (Vec<u8>, Vec<f32>) {
        (self.data, self.scales)
    }

    /// The matrix borrowed: what the products run on.
    pub fn view(&self) -> QuantRef<'_> {
        QuantRef {
            kind: self.kind,
            rows: self.rows,
            cols: self.cols,
            data: &self.data,
            scales: &self.scales,
        }
    }

    /// Bytes held: values and scales.
    pub fn bytes(&self) -> usize {
        self.data.len() + 4 * self.scales.len()
    }

    /// The whole matrix as f32 [rows, cols]: the reference the products
    /// are tested against.
    pub fn dequantize(&self) -> Vec<f32> {
        self.view().dequantize()
    }

    /// y [m, rows] = x [m, cols] · Wᵀ ([`QuantRef::forward`]).
    pub fn forward(&self, x: &[f32], m: usize) -> Vec<f32> {
        self.view().forward(x, m)
    }

    /// Decoding's product ([`QuantRef::forward_rounded`]).
    pub fn forward_rounded(&self, x: &[f32], m: usize) -> Vec<f32> {
        self.view().forward_rounded(x, m)
    }

    /// dx [m, cols] = dy [m, rows] · W ([`QuantRef::backward`]).
    pub fn backward(&self, dy: &[f32], m: usize) -> Vec<f32> {
        self.view().backward(dy, m)
    }
}

impl<'a> QuantRef<'a> {
    /// Blocks borrowed from `data` (`kind.block_bytes()` per block,
    /// row-major) and `scales` (one per block); an error when `cols` is not
    /// whole blocks or the lengths do not fit `rows` × `cols`.
    pub fn new(
        kind: QuantKind,
        rows: usize,
        cols: usize,
        data: &'a [u8],
        scales: &'a [f32],
    ) -> Result<Self, ShapeError> {
        let blocks = rows * cols / BLOCK;
        if !cols.is_multiple_of(BLOCK)
            || data.len() != blocks * kind.block_bytes()
            || scales.len() != blocks
        {
            return Err(ShapeError { cols });
        }
        Ok(Self {
            kind,
            rows,
            cols,
            data,
            scales,
        })
    }

    fn blocks_per_row(&self) -> usize {
        self.cols / BLOCK
    }

    /// Columns `from..from + out.len()` of row `r` as f32 (block-aligned).
    fn expand(&self, r: usize, from: usize, out: &mut [f32]) {
        let per_row = self.blocks_per_row();
        let bb = self.kind.block_bytes();
        let first = r * per_row + from / BLOCK;
        for (i, o) in out.chunks_exact_mut(BLOCK).enumerate() {
            let b = first + i;
            expand_block(
                self.kind,
                &self.data[b * bb..(b + 1) * bb],
                self.scales[b],
                o,
            );
        }
    }

    /// The whole matrix as f32 [rows, cols]: the reference the products
    /// are tested against, and what a merge or an export writes.
    pub fn dequantize(&self) -> Vec<f32> {
        self.expand_rect(0..self.rows, 0, self.cols)
    }

    /// Rows `rows` of W, columns `from..from + width` (block-aligned), as
    /// f32 [rows.len(), width]: the whole matrix, a tile of rows
    /// (forward) or a slab of columns (backward).
    fn expand_rect(&self, rows: std::ops::Range<usize>, from: usize, width: usize) -> Vec<f32> {
        let mut out = vec![0f32; rows.len() * width];
        for (row, r) in out.chunks_exact_mut(width.max(1)).zip(rows) {
            self.expand(r, from, row);
        }
        out
    }

    /// Row r's blocks and their scales.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(super) fn row(&self, r: usize) -> (&'a [u8], &'a [f32]) {
        let per_row = self.blocks_per_row();
        let bb = self.kind.block_bytes();
        (
            &self.data[r * per_row * bb..(r + 1) * per_row * bb],
            &self.scales[r * per_row..(r + 1) * per_row],
        )
    }

    /// [`QuantRef::forward`] for decoding: with at most
    /// [`super::qdot::ROUND_ROWS`] rows, on a CPU with AVX-512 VNNI, x's
    /// rows are rounded to 8-bit blocks (Q8_0's rounding) and multiplied in
    /// integers (`super::qdot`), as llama.cpp does; otherwise, and on other
    /// CPUs, exactly as `forward`.
    pub fn forward_rounded(&self, x: &[f32], m: usize) -> Vec<f32> {
        if (1..=super::qdot::ROUND_ROWS).contains(&m)
            && self.rows > 0
            && let Some(y) = super::qdot::forward(self, x, m)
        {
            return y;
        }
        self.forward(x, m)
    }

    /// y [m, rows] = x [m, cols] · Wᵀ.
    pub fn forward(&self, x: &[f32], m: usize) -> Vec<f32> {
        let (n, k) = (self.rows, self.cols);
        assert_eq!(x.len(), m * k, "forward: x is not [{m}, {k}]");
        if m == 0 || n == 0 {
            return vec![0f32; m * n];
        }
        if m <= DOT_ROWS {
            // yᵀ [rows, m]: each task owns whole rows of it.
            let mut yt = vec![0f32; n * m];
            super::rows::for_chunks(&mut yt, TILE * m, |c, out| {
                super::rows::with_avx2!(self.dots(c * TILE, x, m, out))
            });
            return transpose(&yt, n, m);
        }
        let mut y = vec![0f32; m * n];
        let band = band_width(n, k, 1);
        let dst = Dst(y.as_mut_ptr());
        super::rows::for_tasks(n.div_ceil(band), |c| {
            let first = c * band;
            let width = band.min(n - first);
            let w = self.expand_rect(first..first + width, 0, k);
            // y[:, first..first + width] [m, width] = x [m, k] · wᵀ [k, width]
            // SAFETY: task c writes only columns first..first + width of
            // y's m rows (row stride n), a band no other task touches,
            // inside y, which outlives the loop.
            unsafe { gemm_raw(dst.at(first), n, (m, width, k), (x, k, 1), (&w, 1, k)) };
        });
        y
    }

    /// dx [m, cols] = dy [m, rows] · W.
    pub fn backward(&self, dy: &[f32], m: usize) -> Vec<f32> {
        let (n, k) = (self.rows, self.cols);
        assert_eq!(dy.len(), m * n, "backward: dy is not [{m}, {n}]");
        let mut dx = vec![0f32; m * k];
        if m == 0 || k == 0 {
            return dx;
        }
        // Slabs of whole blocks of W's columns.
        let slab = band_width(k, n, BLOCK);
        let dst = Dst(dx.as_mut_ptr());
        super::rows::for_tasks(k.div_ceil(slab), |c| {
            let from = c * slab;
            let width = slab.min(k - from);
            // w [n, width]: the slab's columns of every row.
            let w = self.expand_rect(0..n, from, width);
            // dx[:, from..from + width] [m, width] = dy [m, n] · w [n, width]
            // SAFETY: as in `forward`: task c writes only its own columns.
            unsafe { gemm_raw(dst.at(from), k, (m, width, n), (dy, n, 1), (&w, width, 1)) };
        });
        dx
    }

    /// out [tile, m] = rows first.. of W · each of the m rows of x, from
    /// the blocks: each block expanded once into registers, then used by
    /// every row of x (16 lanes of partial sums per row).
    #[inline(always)]
    fn dots(&self, first: usize, x: &[f32], m: usize, out: &mut [f32]) {
        let k = self.cols;
        let per_row = self.blocks_per_row();
        let bb = self.kind.block_bytes();
        let mut w = [0f32; BLOCK];
        for (j, o) in out.chunks_exact_mut(m).enumerate() {
            let r = first + j;
            let mut acc = [[0f32; 16]; DOT_ROWS];
            for blk in 0..per_row {
                let b = r * per_row + blk;
                expand_block(
                    self.kind,
                    &self.data[b * bb..(b + 1) * bb],
                    self.scales[b],
                    &mut w,
                );
                for (i, a) in acc.iter_mut().enumerate().take(m) {
                    let xb = &x[i * k + blk * BLOCK..i * k + (blk + 1) * BLOCK];
                    for l in 0..16 {
                        a[l] += w[l] * xb[l] + w[l + 16] * xb[l + 16];
                    }
                }
            }
            for (y, a) in o.iter_mut().zip(&acc) {
                *y = a.iter().sum();
            }
        }
    }
}

/// One block of 32 values quantised into `q`; returns its scale.
pub(super) fn quantize_block(kind: QuantKind, x: &[f32], q: &mut [u8]) -> f32 {
    match kind {
        QuantKind::Q8_0 => {
            let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
            let d = amax / 127.0;
            let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
            for (q, &v) in q.iter_mut().zip(x) {
                *q = (v * inv).round() as i8 as u8;
            }
            d
        }
        QuantKind::Q4_0 => {
            let max = x
                .iter()
                .fold(0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
            let d = max / -8.0;
            let inv = if d != 0.0 { 1.0 / d } else { 0.0 };
            let level = |v: f32| ((v * inv + 8.5) as i32).clamp(0, 15) as u8;
            for j in 0..BLOCK / 2 {
                q[j] = level(x[j]) | level(x[j + BLOCK / 2]) << 4;
            }
            d
        }
    }
}

/// One block's 32 values as f32.
#[inline(always)]
fn expand_block(kind: QuantKind, q: &[u8], d: f32, out: &mut [f32]) {
    match kind {
        QuantKind::Q8_0 => {
            for (o, &v) in out.iter_mut().zip(q) {
                *o = d * (v as i8) as f32;
            }
        }
        QuantKind::Q4_0 => {
            let (lo, hi) = out.split_at_mut(BLOCK / 2);
            for ((l, h), &v) in lo.iter_mut().zip(hi).zip(q) {
                *l = d * ((v & 0xF) as i32 - 8) as f32;
                *h = d * ((v >> 4) as i32 - 8) as f32;
            }
        }
    }
}

/// The output of a parallel product, which tasks write in disjoint bands.
#[derive(Clone, Copy)]
pub(super) struct Dst(pub(super) *mut f32);

// SAFETY: tasks write through it only into bands no other task touches
// (see `QuantRef::forward`, `qdot::forward`), while the buffer is borrowed
// by the caller.
unsafe impl Send for Dst {}
unsafe impl Sync for Dst {}

impl Dst {
    /// The element `offset` past the start.
    pub(super) fn at(self, offset: usize) -> *mut f32 {
        self.0.wrapping_add(offset)
    }
}

/// How many rows (forward) or columns (backward, in steps of `align`)
/// of W one task expands and multiplies: the outputs spread evenly over
/// the threads in as few bands as keep each band's f32 copy of `len` ×
/// band values under [`BAND_BYTES`] (each band repacks x, so fewer and
/// wider is faster), and at least [`TILE`] wide.
fn band_width(total: usize, len: usize, align: usize) -> usize {
    let threads = super::rows::threads().max(1);
    let cap = (BAND_BYTES / (4 * len.max(1))).max(TILE);
    let mut bands = threads;
    loop {
        let width = total.div_ceil(bands).div_ceil(align) * align;
        if width <= cap || width <= TILE {
            return width.max(align);
        }
        bands += threads;
    }
}

/// An f32 copy of this many bytes at most per band (per thread).
const BAND_BYTES: usize = 4 << 20;

/// dst [m, n] (row stride `dst_rs`, columns contiguous) = a · b with a
/// [m, k] and b [k, n] given by their (row, column) strides: one thread's
/// product, overwriting dst.
///
/// # Safety
/// dst must be valid for writes of every element `i * dst_rs + j` (i < m,
/// j < n), and no other thread may touch those elements meanwhile.
unsafe fn gemm_raw(
    dst: *mut f32,
    dst_rs: usize,
    (m, n, k): (usize, usize, usize),
    (a, a_rs, a_cs): (&[f32], usize, usize),
    (b, b_rs, b_cs): (&[f32], usize, usize),
) {
    assert!(m == 0 || k == 0 || (m - 1) * a_rs + (k - 1) * a_cs < a.len());
    assert!(k == 0 || n == 0 || (k - 1) * b_rs + (n - 1) * b_cs < b.len());
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the asserts keep every element the input views reach inside
    // their slices; the caller vouches for dst.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rs as isize,
            false,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// a [r, c] → aᵀ [c, r].
fn transpose(a: &[f32], r: usize, c: usize) -> Vec<f32> {
    let mut out = vec![0f32; a.len()];
    for i in 0..r {
        for j in 0..c {
            out[j * r + i] = a[i * c + j];
        }
    }
    out
}
