//! A fixed-capacity KV cache: every decode step has the same tensor shapes,
//! so GPU backends compile their kernels once per run, not once per token.

use super::ModelConfig;
use burn::prelude::*;

pub struct KvCache {
    layers: Vec<(Tensor<4>, Tensor<4>)>,
}

/// One layer's keys and values, [B, Hkv, capacity, Dh].
pub struct KvSlot<'a>(&'a mut (Tensor<4>, Tensor<4>));

impl KvCache {
    pub fn new(cfg: &ModelConfig, batch: usize, capacity: usize, device: &Device) -> Self {
        let shape = [batch, cfg.n_kv_heads, capacity, cfg.head_dim()];
        let layers = (0..cfg.n_layers)
            .map(|_| (Tensor::zeros(shape, device), Tensor::zeros(shape, device)))
            .collect();
        Self { layers }
    }

    /// A cache whose row r is row `rows[r]` of this one (every position):
    /// a prompt prefilled once, then copied to each of its samples' rows.
    pub fn select_rows(self, rows: Tensor<1, Int>) -> Self {
        let layers = self
            .layers
            .into_iter()
            .map(|(k, v)| (k.select(0, rows.clone()), v.select(0, rows.clone())))
            .collect();
        Self { layers }
    }

    pub(super) fn layer(&mut self, i: usize) -> KvSlot<'_> {
        KvSlot(&mut self.layers[i])
    }
}

impl KvSlot<'_> {
    /// Stores k, v [B, Hkv, T, Dh] at positions start..start+T and returns the
    /// whole cache for attention (positions not yet written are masked by
    /// the caller's bias).
    pub(super) fn write(self, k: Tensor<4>, v: Tensor<4>, start: usize) -> (Tensor<4>, Tensor<4>) {
        let [b, h, t, d] = k.dims();
        let range = [0..b, 0..h, start..start + t, 0..d];
        // Taken out of the cache (an empty placeholder in its place) so that
        // the write finds the only reference to each buffer and updates it in
        // place instead of copying the whole cache every token.
        let device = k.device();
        let empty = || Tensor::empty([0, 0, 0, 0], &device);
        let (ck, cv) = std::mem::replace(self.0, (empty(), empty()));
        let ck = ck.slice_assign(range.clone(), k);
        let cv = cv.slice_assign(range, v);
        *self.0 = (ck.clone(), cv.clone());
        (ck, cv)
    }
}
