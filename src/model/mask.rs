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
