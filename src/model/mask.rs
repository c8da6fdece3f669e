//! Additive attention biases: 0 where a query may attend, a large negative
//! number where it may not. Large-negative rather than -inf keeps fully
//! masked filler rows finite (uniform attention) instead of NaN.

use burn::prelude::*;

pub const MASKED: f32 = -1e9;

/// [1, 1, T, T] lower-triangular bias.
pub fn causal_bias(t: usize, device: &Device) -> Tensor<4> {
    let mut data = vec![0.0f32; t * t];
    for i in 0..t {
        for j in i + 1..t {
            data[i * t + j] = MASKED;
        }
    }
    Tensor::from_data(TensorData::new(data, [1, 1, t, t]), device)
}

/// [B, 1, T, capacity] for queries at positions start..start+T over a KV
/// cache of `capacity` slots, where row b's first `pad[b]` slots hold left
/// padding and must never be attended to.
pub fn decode_bias(
    pad: &[usize],
    start: usize,
    t: usize,
    capacity: usize,
    device: &Device,
) -> Tensor<4> {
    let b = pad.len();
    let mut data = vec![MASKED; b * t * capacity];
    for (row, &p) in pad.iter().enumerate() {
        for i in 0..t {
            let base = (row * t + i) * capacity;
            let last = start + i;
            for j in p.min(last)..=last {
                data[base + j] = 0.0;
            }
        }
    }
    Tensor::from_data(TensorData::new(data, [b, 1, t, capacity]), device)
}

/// [B, T] positions of the tokens at slots start..start+T of left-padded
/// rows: row b's first real token is position 0. Padding slots get 0; they
/// are never attended to.
pub fn position_ids(pad: &[usize], start: usize, t: usize, device: &Device) -> Tensor<2, Int> {
    let data: Vec<i64> = pad
        .iter()
        .flat_map(|&p| (start..start + t).map(move |slot| slot.saturating_sub(p) as i64))
        .collect();
    Tensor::from_data(TensorData::new(data, [pad.len(), t]), device)
}
