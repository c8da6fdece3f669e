//! Rotary position embeddings in the "rotate half" layout used by Llama
//! (pairs (i, i + d/2)), so imported checkpoints need no permutation.

use burn::prelude::*;

/// cos/sin tables [max_seq_len, head_dim]: constants of the model (moved
/// with it between devices, never trained, never saved).
#[derive(Module, Debug)]
pub struct Rope {
    cos: Tensor<2>,
    sin: Tensor<2>,
}

impl Rope {
    /// The table for a model of shape `cfg`, positions `0..max_len`.
    pub fn of(cfg: &super::ModelConfig, max_len: usize, device: &Device) -> Self {
        Self::new(cfg.head_dim(), max_len, cfg.rope_theta, device)
    }

    pub fn new(head_dim: usize, max_len: usize, theta: f32, device: &Device) -> Self {
        let half = head_dim / 2;
        let mut cos = Vec::with_capacity(max_len * head_dim);
        let mut sin = Vec::with_capacity(max_len * head_dim);
        for pos in 0..max_len {
            for i in 0..head_dim {
                let freq = 1.0 / (theta as f64).powf((2 * (i % half)) as f64 / head_dim as f64);
                let angle = pos as f64 * freq;
                cos.push(angle.cos() as f32);
                sin.push(angle.sin() as f32);
            }
        }
        let shape = [max_len, head_dim];
        Self {
            cos: Tensor::from_data(TensorData::new(cos, shape), device),
            sin: Tensor::from_data(TensorData::new(sin, shape), device),
        }
    }

    /// The tables on `device`, read back without blocking (the browser's
    /// WebGPU memory).
    pub async fn to_device_async(&self, device: &Device) -> crate::error::Result<Self> {
        let read = |e| crate::error::Error::Device(format!("reading rotary tables back: {e:?}"));
        let cos = self.cos.clone().into_data_async().await.map_err(read)?;
        let sin = self.sin.clone().into_data_async().await.map_err(read)?;
        Ok(Self {
            cos: Tensor::from_data(cos, device),
            sin: Tensor::from_data(sin, device),
        })
    }

    /// The tables passed through `f` (burn's per-tensor settings, such as
    /// a gradient-checkpointing strategy that every operand must share).
    pub fn map_tables(self, f: impl Fn(Tensor<2>) -> Tensor<2>) -> Self {
        Self {
            cos: f(self.cos),
            sin: f(self.sin),
        }
    }

    /// The cos and sin tables [max_len, Dh] (shared, not copied).
    pub fn tables(&self) -> (Tensor<2>, Tensor<2>) {
        (self.cos.clone(), self.sin.clone())
    }

    /// x: [B, H, T, Dh] at positions start..start+T.
    pub fn apply(&self, x: Tensor<4>, start: usize) -> Tensor<4> {
        self.apply_scaled(x, start, 1.0)
    }

    /// [`Rope::apply`] times `scale`: attention's 1/√Dh on its queries, in
    /// the same pass where the rotation is one kernel.
    pub fn apply_scaled(&self, x: Tensor<4>, start: usize, scale: f64) -> Tensor<4> {
        // One kernel for inference on wgpu, reading the whole tables (no
        // slice of them per call).
        if crate::ops::OpPath::of(&x.device()).decode_kernels() {
            let (cos, sin) = (self.cos.clone(), self.sin.clone());
            return super::fused::decode::rope(x, cos, sin, start, scale as f32);
        }
        let y = self.rotate(x, start);
        if scale == 1.0 { y } else { y.mul_scalar(scale) }
    }

    fn rotate(&self, x: Tensor<4>, start: usize) -> Tensor<4> {
        let [_, _, t, d] = x.dims();
        let cos = self.cos.clone().slice_dim(0, start..start + t);
        let sin = self.sin.clone().slice_dim(0, start..start + t);
        // One pass forward and back on the CPU backend; burn's ops elsewhere.
        if crate::ops::OpPath::of(&x.device()).fused_layers() {
            return super::fused::rope(x, cos, sin);
        }
        let half = d / 2;
        let x1 = x.clone().slice_dim(3, 0..half);
        let x2 = x.clone().slice_dim(3, half..d);
        let rotated = Tensor::cat(vec![x2.neg(), x1], 3);
        x * cos.unsqueeze::<4>() + rotated * sin.unsqueeze::<4>()
    }
}
