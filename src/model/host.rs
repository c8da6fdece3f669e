//! A model's weights read back from its device without blocking: how the
//! browser page gets weights out of WebGPU (where `into_data` cannot wait)
//! to write a GGUF or an adapter file.

use super::Transformer;
use burn::prelude::*;

impl Transformer {
    /// A copy of the model on `device` (the CPU), its weights read back
    /// without blocking: how the browser page gets weights out of WebGPU,
    /// where `into_data` cannot wait, to write a GGUF or an adapter file.
    /// Every parameter (LoRA's factors included), a quantised base's
    /// blocks and the rotary tables move.
    pub async fn to_device_async(&self, device: &Device) -> crate::error::Result<Self> {
        use burn::module::{ModuleMapper, ModuleVisitor, Param, ParamId};
        use std::collections::HashMap;
        #[derive(Default)]
        struct Collect {
            float: Vec<(ParamId, Tensor<1>)>,
            int: Vec<(ParamId, Tensor<1, Int>)>,
        }
        impl ModuleVisitor for Collect {
            fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
                self.float.push((p.id, p.val().flatten(0, D - 1)));
            }
            fn visit_int<const D: usize>(&mut self, p: &Param<Tensor<D, Int>>) {
                self.int.push((p.id, p.val().flatten(0, D - 1)));
            }
        }
        let read = |e| crate::error::Error::Device(format!("reading weights back: {e:?}"));
        let mut c = Collect::default();
        self.visit(&mut c);
        let mut float = HashMap::new();
        for (id, t) in c.float {
            float.insert(id, t.into_data_async().await.map_err(read)?);
        }
        let mut int = HashMap::new();
        for (id, t) in c.int {
            int.insert(id, t.into_data_async().await.map_err(read)?);
        }
        struct Place {
            float: HashMap<ParamId, TensorData>,
            int: HashMap<ParamId, TensorData>,
            device: Device,
        }
        impl ModuleMapper for Place {
            fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
                let Some(data) = self.float.remove(&p.id) else {
                    return p;
                };
                let device = self.device.clone();
                p.map(|t| {
                    let shape = t.shape();
                    let dtype = data.dtype();
                    Tensor::<1>::from_data(data, (&device, dtype)).reshape(shape)
                })
            }
            fn map_int<const D: usize>(
                &mut self,
                p: Param<Tensor<D, Int>>,
            ) -> Param<Tensor<D, Int>> {
                let Some(data) = self.int.remove(&p.id) else {
                    return p;
                };
                let device = self.device.clone();
                p.map(|t| {
                    let shape = t.shape();
                    let dtype = data.dtype();
                    Tensor::<1, Int>::from_data(data, (&device, dtype)).reshape(shape)
                })
            }
        }
        let mut model = self.clone().map(&mut Place {
            float,
            int,
            device: device.clone(),
        });
        for (_, p) in model.projections_mut() {
            if let Some(q) = &p.quant {
                p.quant = Some(q.to_device_async(device).await?);
            }
        }
        if let Some(q) = &model.head_quant {
            model.head_quant = Some(q.to_device_async(device).await?);
        }
        model.rope = model.rope.to_device_async(device).await?;
        Ok(model)
    }
}
