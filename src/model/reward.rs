//! A reward model: the decoder as a trunk and a scalar head on the final
//! hidden state of a sequence's last token, `prompt <sep> output <eos>` in
//! the policy's own layout (the `<eos>` has read the whole output). Its raw
//! value r is unbounded; as a reward it reads 100·σ(r).

use super::{ModelConfig, Transformer};
use crate::data::bucket_len;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::prelude::*;

#[derive(Module, Debug)]
pub struct RewardModel {
    pub trunk: Transformer,
    /// d_model → 1, with a bias.
    pub head: Linear,
}

/// Right-padded token rows and, for each, the flat index (row · T + last
/// position) of its last token.
pub struct RewardBatch {
    pub tokens: Tensor<2, Int>,
    pub last: Tensor<1, Int>,
}

impl RewardBatch {
    /// `rows` (each non-empty, at most `max_seq` tokens) padded to
    /// `batch_size` rows of `bucket_len(longest)` positions: a handful of
    /// shapes for the GPU backends. Missing rows are one pad token.
    pub fn new(
        rows: &[Vec<u32>],
        batch_size: usize,
        max_seq: usize,
        pad: u32,
        device: &Device,
    ) -> Self {
        assert!(
            rows.len() <= batch_size,
            "{} rows for a batch of {batch_size}",
            rows.len()
        );
        let longest = rows.iter().map(Vec::len).max().unwrap_or(1);
        let t = bucket_len(longest, max_seq);
        let mut tokens = vec![pad as i64; batch_size * t];
        let mut last = vec![0i64; batch_size];
        for (b, row) in rows.iter().enumerate() {
            let n = row.len().clamp(1, t);
            for (i, &id) in row.iter().take(n).enumerate() {
                tokens[b * t + i] = id as i64;
            }
            last[b] = (b * t + n - 1) as i64;
        }
        for (b, l) in last.iter_mut().enumerate().skip(rows.len()) {
            *l = (b * t) as i64;
        }
        Self {
            tokens: Tensor::from_data(TensorData::new(tokens, [batch_size, t]), device),
            last: Tensor::from_data(TensorData::new(last, [batch_size]), device),
        }
    }
}

impl RewardModel {
    /// A fresh head (zero weights and bias: every output starts at
    /// r = 0, a reward of 50) on `trunk`.
    pub fn new(trunk: Transformer, cfg: &ModelConfig, device: &Device) -> Self {
        let head = LinearConfig::new(cfg.d_model, 1)
            .with_initializer(Initializer::Zeros)
            .init(device);
        Self { trunk, head }
    }

    /// Raw rewards r, one per row of `batch`.
    pub fn forward(&self, batch: &RewardBatch) -> Tensor<1> {
        let h = self.trunk.hidden_causal(batch.tokens.clone());
        let [b, t, d] = h.dims();
        let last = h.reshape([b * t, d]).select(0, batch.last.clone());
        self.head.forward(last).reshape([b])
    }

    /// Raw rewards of `rows`, `batch_size` rows per forward (no gradients).
    pub fn raw(&self, rows: &[Vec<u32>], batch_size: usize, max_seq: usize, pad: u32) -> Vec<f32> {
        let device = self.head.weight.device();
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(batch_size.max(1)) {
            let batch = RewardBatch::new(chunk, batch_size, max_seq, pad, &device);
            let r: Vec<f32> = self.forward(&batch).into_data().try_to_vec().expect("f32");
            out.extend(&r[..chunk.len()]);
        }
        out
    }
}
