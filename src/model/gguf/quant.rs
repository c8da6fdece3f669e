//! ggml tensor types: dequantization of the block formats llama.cpp writes
//! (as in its `ggml-quants.c`), and the F16 / Q8_0 encodings export uses.
//!
//! A block format stores `block` values in `block_bytes` bytes: f16 scales
//! (and minimums) followed by packed integers. K-quants group 256 values in
//! sub-blocks whose own 6-bit (Q4_K, Q5_K) or 8-bit (Q6_K) scales multiply
//! the block's f16 scale.

use half::f16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    F32,
    F16,
    BF16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q4K,
    Q5K,
    Q6K,
}

/// The ggml type ids restlm knows the names of but does not dequantize.
const OTHER: &[(u32, &str)] = &[
    (9, "Q8_1"),
    (10, "Q2_K"),
    (11, "Q3_K"),
    (15, "Q8_K"),
    (16, "IQ2_XXS"),
    (17, "IQ2_XS"),
    (18, "IQ3_XXS"),
    (19, "IQ1_S"),
    (20, "IQ4_NL"),
    (21, "IQ3_S"),
    (22, "IQ2_S"),
    (23, "IQ4_XS"),
    (24, "I8"),
    (25, "I16"),
    (26, "I32"),
    (27, "I64"),
    (28, "F64"),
    (29, "IQ1_M"),
    (34, "TQ1_0"),
    (35, "TQ2_0"),
    (39, "MXFP4"),
];

pub const SUPPORTED: &str = "F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K";

const QK_K: usize = 256;

impl GgmlType {
    pub fn from_id(id: u32) -> Result<Self, String> {
        use GgmlType::*;
        Ok(match id {
            0 => F32,
            1 => F16,
            30 => BF16,
            2 => Q4_0,
            3 => Q4_1,
            6 => Q5_0,
            7 => Q5_1,
            8 => Q8_0,
            12 => Q4K,
            13 => Q5K,
            14 => Q6K,
            _ => {
                return Err(match OTHER.iter().find(|(i, _)| *i == id) {
                    Some((_, name)) => {
                        format!(
                            "quantization type {name} is not supported (supported: {SUPPORTED})"
                        )
                    }
                    None => format!("unknown ggml type id {id}"),
                });
            }
        })
    }

    pub fn id(self) -> u32 {
        use GgmlType::*;
        match self {
            F32 => 0,
            F16 => 1,
            BF16 => 30,
            Q4_0 => 2,
            Q4_1 => 3,
            Q5_0 => 6,
            Q5_1 => 7,
            Q8_0 => 8,
            Q4K => 12,
            Q5K => 13,
            Q6K => 14,
        }
    }

    pub fn name(self) -> &'static str {
        use GgmlType::*;
        match self {
            F32 => "F32",
            F16 => "F16",
            BF16 => "BF16",
            Q4_0 => "Q4_0",
            Q4_1 => "Q4_1",
            Q5_0 => "Q5_0",
            Q5_1 => "Q5_1",
            Q8_0 => "Q8_0",
            Q4K => "Q4_K",
            Q5K => "Q5_K",
            Q6K => "Q6_K",
        }
    }

    /// (values per block, bytes per block).
    pub fn block(self) -> (usize, usize) {
        use GgmlType::*;
        match self {
            F32 => (1, 4),
            F16 | BF16 => (1, 2),
            Q4_0 => (32, 18),
            Q4_1 => (32, 20),
            Q5_0 => (32, 22),
            Q5_1 => (32, 24),
            Q8_0 => (32, 34),
            Q4K => (QK_K, 144),
            Q5K => (QK_K, 176),
            Q6K => (QK_K, 210),
        }
    }

    /// Bytes that `n` values take; None when `n` is not whole blocks (or
    /// the size overflows).
    pub fn bytes_for(self, n: u64) -> Option<u64> {
        let (b, bytes) = self.block();
        if !n.is_multiple_of(b as u64) {
            return None;
        }
        (n / b as u64).checked_mul(bytes as u64)
    }

    /// `n` values from `bytes` (exactly `bytes_for(n)` long).
    pub fn dequantize(self, bytes: &[u8], n: usize) -> Vec<f32> {
        use GgmlType::*;
        let mut out = Vec::with_capacity(n);
        let (_, size) = self.block();
        let blocks = bytes.chunks_exact(size);
        match self {
            F32 => out.extend(bytes.chunks_exact(4).map(|c| f32::from_le_bytes(arr(c)))),
            F16 => out.extend(
                bytes
                    .chunks_exact(2)
                    .map(|c| f16::from_le_bytes(arr(c)).to_f32()),
            ),
            BF16 => out.extend(
                bytes
                    .chunks_exact(2)
                    .map(|c| half::bf16::from_le_bytes(arr(c)).to_f32()),
            ),
            Q4_0 => blocks.for_each(|b| q4_0(b, &mut out)),
            Q4_1 => blocks.for_each(|b| q4_1(b, &mut out)),
            Q5_0 => blocks.for_each(|b| q5_0(b, &mut out)),
            Q5_1 => blocks.for_each(|b| q5_1(b, &mut out)),
            Q8_0 => blocks.for_each(|b| q8_0(b, &mut out)),
            Q4K => blocks.for_each(|b| q4_k(b, &mut out)),
            Q5K => blocks.for_each(|b| q5_k(b, &mut out)),
            Q6K => blocks.for_each(|b| q6_k(b, &mut out)),
        }
        debug_assert_eq!(out.len(), n);
        out
    }
}

fn arr<const N: usize>(c: &[u8]) -> [u8; N] {
    c.try_into().expect("chunk of N bytes")
}

fn half_at(b: &[u8], i: usize) -> f32 {
    f16::from_le_bytes([b[i], b[i + 1]]).to_f32()
}

/// d f16, 16 bytes of 4-bit q: x = (q − 8)·d; low nibbles are values
/// 0..16, high nibbles 16..32.
fn q4_0(b: &[u8], out: &mut Vec<f32>) {
    let d = half_at(b, 0);
    let qs = &b[2..18];
    out.extend(qs.iter().map(|q| ((q & 0xF) as i32 - 8) as f32 * d));
    out.extend(qs.iter().map(|q| ((q >> 4) as i32 - 8) as f32 * d));
}

/// d, m f16, 4-bit q: x = q·d + m.
fn q4_1(b: &[u8], out: &mut Vec<f32>) {
    let (d, m) = (half_at(b, 0), half_at(b, 2));
    let qs = &b[4..20];
    out.extend(qs.iter().map(|q| (q & 0xF) as f32 * d + m));
    out.extend(qs.iter().map(|q| (q >> 4) as f32 * d + m));
}

/// The fifth bit of value j (0..32) from the 32-bit `qh`.
fn bit5(qh: u32, j: usize) -> u8 {
    (((qh >> j) & 1) << 4) as u8
}

/// d f16, qh u32 (fifth bits), 4-bit qs: x = (q − 16)·d.
fn q5_0(b: &[u8], out: &mut Vec<f32>) {
    let d = half_at(b, 0);
    let qh = u32::from_le_bytes(arr(&b[2..6]));
    let qs = &b[6..22];
    out.extend((0..16).map(|j| (((qs[j] & 0xF) | bit5(qh, j)) as i32 - 16) as f32 * d));
    out.extend((0..16).map(|j| (((qs[j] >> 4) | bit5(qh, j + 16)) as i32 - 16) as f32 * d));
}

/// d, m f16, qh u32, 4-bit qs: x = q·d + m.
fn q5_1(b: &[u8], out: &mut Vec<f32>) {
    let (d, m) = (half_at(b, 0), half_at(b, 2));
    let qh = u32::from_le_bytes(arr(&b[4..8]));
    let qs = &b[8..24];
    out.extend((0..16).map(|j| ((qs[j] & 0xF) | bit5(qh, j)) as f32 * d + m));
    out.extend((0..16).map(|j| ((qs[j] >> 4) | bit5(qh, j + 16)) as f32 * d + m));
}

/// d f16, 32 signed bytes: x = q·d.
fn q8_0(b: &[u8], out: &mut Vec<f32>) {
    let d = half_at(b, 0);
    out.extend(b[2..34].iter().map(|&q| q as i8 as f32 * d));
}

/// Scale and minimum of K-quant sub-block j from the 12 packed bytes:
/// sub-blocks 0..4 keep 6 bits in bytes j and j+4; 4..8 split theirs
/// between a nibble of byte j+4 and the top two bits of bytes j−4 and j.
fn scale_min_k4(j: usize, q: &[u8]) -> (f32, f32) {
    if j < 4 {
        ((q[j] & 63) as f32, (q[j + 4] & 63) as f32)
    } else {
        let sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        let m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        (sc as f32, m as f32)
    }
}

/// d, dmin f16, 12 scale bytes, 128 bytes of 4-bit q; 8 sub-blocks of 32:
/// x = d·sc·q − dmin·m.
fn q4_k(b: &[u8], out: &mut Vec<f32>) {
    let (d, dmin) = (half_at(b, 0), half_at(b, 2));
    let scales = &b[4..16];
    let qs = &b[16..144];
    for (chunk, q) in qs.chunks_exact(32).enumerate() {
        let (s1, m1) = scale_min_k4(2 * chunk, scales);
        let (s2, m2) = scale_min_k4(2 * chunk + 1, scales);
        out.extend(q.iter().map(|v| d * s1 * (v & 0xF) as f32 - dmin * m1));
        out.extend(q.iter().map(|v| d * s2 * (v >> 4) as f32 - dmin * m2));
    }
}

/// Q4_K plus a fifth bit per value from 32 bytes of qh (bit 2·chunk for the
/// low nibbles, 2·chunk+1 for the high ones).
fn q5_k(b: &[u8], out: &mut Vec<f32>) {
    let (d, dmin) = (half_at(b, 0), half_at(b, 2));
    let scales = &b[4..16];
    let qh = &b[16..48];
    let qs = &b[48..176];
    for (chunk, q) in qs.chunks_exact(32).enumerate() {
        let (s1, m1) = scale_min_k4(2 * chunk, scales);
        let (s2, m2) = scale_min_k4(2 * chunk + 1, scales);
        let (u1, u2) = (1u8 << (2 * chunk), 2u8 << (2 * chunk));
        let hi = |l: usize, u: u8| if qh[l] & u != 0 { 16.0 } else { 0.0 };
        out.extend((0..32).map(|l| d * s1 * ((q[l] & 0xF) as f32 + hi(l, u1)) - dmin * m1));
        out.extend((0..32).map(|l| d * s2 * ((q[l] >> 4) as f32 + hi(l, u2)) - dmin * m2));
    }
}

/// 128 bytes of low nibbles, 64 of 2-bit highs, 16 signed sub-block scales,
/// d f16: x = d·sc·(q − 32), in two halves of 128 values.
fn q6_k(b: &[u8], out: &mut Vec<f32>) {
    let d = half_at(b, 208);
    let start = out.len();
    out.resize(start + QK_K, 0.0);
    let y = &mut out[start..];
    for half in 0..2 {
        let ql = &b[64 * half..64 * half + 64];
        let qh = &b[128 + 32 * half..128 + 32 * half + 32];
        let sc = &b[192 + 8 * half..192 + 8 * half + 8];
        let y = &mut y[128 * half..128 * half + 128];
        for l in 0..32 {
            let is = l / 16;
            let q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) as i32 - 32;
            let q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
            let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
            let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
            let s = |k: usize| d * (sc[is + k] as i8) as f32;
            y[l] = s(0) * q1 as f32;
            y[l + 32] = s(2) * q2 as f32;
            y[l + 64] = s(4) * q3 as f32;
            y[l + 96] = s(6) * q4 as f32;
        }
    }
}

/// f32 values as little-endian F16.
pub fn encode_f16(xs: &[f32]) -> Vec<u8> {
    xs.iter()
        .flat_map(|&x| f16::from_f32(x).to_le_bytes())
        .collect()
}

pub fn encode_f32(xs: &[f32]) -> Vec<u8> {
    xs.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Q8_0 as llama.cpp's reference quantizer makes it: d = max|x| / 127,
/// q = round(x / d). `xs.len()` must be a multiple of 32.
pub fn encode_q8_0(xs: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(xs.len() / 32 * 34);
    for block in xs.chunks_exact(32) {
        let amax = block.iter().fold(0f32, |a, x| a.max(x.abs()));
        let d = amax / 127.0;
        let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
        out.extend(f16::from_f32(d).to_le_bytes());
        out.extend(block.iter().map(|x| (x * inv).round() as i8 as u8));
    }
    out
}

/// A Q8_0 or Q4_0 matrix of `rows` × `cols` (row-major: GGUF's dims
/// reversed) as its blocks, kept quantised ([`crate::cpu::quant`]): the
/// values copied as they are, the f16 scales widened to f32 (exactly).
/// None for any other type, or when `cols` is not whole blocks.
pub fn quant_matrix(
    ty: GgmlType,
    rows: usize,
    cols: usize,
    bytes: &[u8],
) -> Option<crate::cpu::quant::QuantMatrix> {
    use crate::cpu::quant::{QuantKind, QuantMatrix};
    let kind = match ty {
        GgmlType::Q8_0 => QuantKind::Q8_0,
        GgmlType::Q4_0 => QuantKind::Q4_0,
        _ => return None,
    };
    let (_, block_bytes) = ty.block();
    let blocks = bytes.chunks_exact(block_bytes);
    if !cols.is_multiple_of(32) || blocks.len() != rows * cols / 32 {
        return None;
    }
    let mut values = Vec::with_capacity(blocks.len() * kind.block_bytes());
    let mut scales = Vec::with_capacity(blocks.len());
    for b in blocks {
        scales.push(f16::from_le_bytes([b[0], b[1]]).to_f32());
        values.extend_from_slice(&b[2..]);
    }
    QuantMatrix::from_blocks(kind, rows, cols, values, scales).ok()
}
