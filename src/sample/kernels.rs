//! The bindings of our WGSL kernels (shaders/): a backend extension with
//! one implementation per backend. On wgpu it launches the kernel; on the
//! CPU backend (Flex) it runs the plain-Rust reference. Model and sampling
//! code call [`sample_rows`] and [`target_logprobs`] on ordinary tensors.

use super::reference::{self, RowParams};
use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, DispatchDevice, backend_extension};
use burn::prelude::*;

/// With the `wgpu` feature, `Cube` is burn's fusion backend over
/// `CubeBackend`: the `Fusion` lines below register each kernel as one
/// opaque operation in the fused stream (its output's shape and dtype known
/// up front) that runs the `CubeBackend` implementation when the stream is
/// executed.
#[backend_extension(Cube: cfg(feature = "wgpu"), Flex, Fusion: cfg(feature = "wgpu"))]
pub trait KernelOps: Backend {
    /// logits [B, V], params [B, 4] (see [`RowParams::packed`]) → [B, 2]:
    /// token id (as f32) and its log-probability.
    #[fusion(dtype = logits, shape = Shape::new([logits[0], 2]))]
    fn sample_rows(logits: FloatTensor<Self>, params: FloatTensor<Self>) -> FloatTensor<Self>;
    /// logits [N, V], target ids [N] (as f32) → log π(target) [N].
    #[fusion(dtype = logits, shape = Shape::new([logits[0]]))]
    fn target_logprobs(logits: FloatTensor<Self>, targets: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// Whether `device` runs these ops: the wgpu runtime compiling WGSL (a
/// `vulkan` build compiles SPIR-V, which takes no WGSL template), or the CPU
/// backend. Autodiff devices and anything else take the host path (or
/// burn's differentiable ops).
pub fn supported(device: &Device) -> bool {
    if device.is_autodiff() {
        return false;
    }
    match device.as_dispatch() {
        DispatchDevice::Flex(_) => true,
        #[cfg(feature = "wgpu")]
        DispatchDevice::Cube(cube) => {
            !cfg!(feature = "vulkan") && matches!(cube, burn_cubecl::CubeDevice::Wgpu(_))
        }
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// The next token of every row of `logits` [B, V], chosen on the device:
/// only B × 2 numbers come back to the host.
pub fn sample_rows(logits: Tensor<2>, rows: &[RowParams]) -> Vec<(u32, f32)> {
    pollster::block_on(sample_rows_async(logits, rows))
}

/// [`sample_rows`] for callers that must not block (WebGPU in a browser).
pub async fn sample_rows_async(logits: Tensor<2>, rows: &[RowParams]) -> Vec<(u32, f32)> {
    let device = logits.device();
    let b = rows.len();
    let params = Tensor::<2>::from_data(TensorData::new(RowParams::packed(rows), [b, 4]), &device);
    let out = <Dispatch as KernelOps>::sample_rows(logits.into_dispatch(), params.into_dispatch());
    let host: Vec<f32> = Tensor::<2>::from_dispatch(out)
        .into_data_async()
        .await
        .expect("sampling kernel output")
        .try_to_vec()
        .expect("f32 output");
    host.chunks_exact(2).map(|c| (c[0] as u32, c[1])).collect()
}

/// log π(target) for logits [B, T, V] and targets [B, T], fused (the
/// log-softmax is never written out).
pub fn target_logprobs(logits: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<2> {
    let [b, t, v] = logits.dims();
    let flat = logits.reshape([b * t, v]);
    let ids = targets.float().reshape([b * t]);
    let out = <Dispatch as KernelOps>::target_logprobs(flat.into_dispatch(), ids.into_dispatch());
    Tensor::<1>::from_dispatch(out).reshape([b, t])
}

fn host(t: FlexTensor) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 tensor")
}

impl KernelOps for Flex {
    fn sample_rows(logits: FlexTensor, params: FlexTensor) -> FlexTensor {
        let (xs, ps) = (host(logits), host(params));
        let rows: Vec<RowParams> = ps.chunks_exact(4).map(RowParams::unpack).collect();
        let out: Vec<f32> = reference::sample_rows(&xs, &rows)
            .into_iter()
            .flat_map(|(tok, lp)| [tok as f32, lp])
            .collect();
        let b = out.len() / 2;
        FlexTensor::from_data(TensorData::new(out, [b, 2]))
    }

    fn target_logprobs(logits: FlexTensor, targets: FlexTensor) -> FlexTensor {
        let v = logits.layout().shape()[1];
        let (xs, ts) = (host(logits), host(targets));
        let out: Vec<f32> = xs
            .chunks_exact(v)
            .zip(&ts)
            .map(|(row, &t)| {
                if t >= 0.0 {
                    reference::target_logprob(row, t as usize)
                } else {
                    f32::NAN
                }
            })
            .collect();
        let n = out.len();
        FlexTensor::from_data(TensorData::new(out, [n]))
    }
}

#[cfg(feature = "wgpu")]
mod wgsl {
    use super::KernelOps;
    use burn::tensor::{DType, Shape};
    use burn_cubecl::CubeBackend;
    use burn_cubecl::cubecl::prelude::{CubeCount, CubeDim, KernelId};
    use burn_cubecl::cubecl::server::KernelArguments;
    use burn_cubecl::kernel::into_contiguous;
    use burn_cubecl::template::{KernelSource, SourceKernel, SourceTemplate};
    use burn_cubecl::tensor::CubeTensor;

    /// Invocations per workgroup, as `@workgroup_size` in both shaders.
    const WORKGROUP: u32 = 256;
    /// WebGPU's default limit on workgroups along one grid dimension.
    const MAX_GRID: usize = 65_535;

    /// A kernel type whose source is one file of shaders/.
    macro_rules! wgsl_kernel {
        ($name:ident, $file:literal) => {
            struct $name;
            impl KernelSource for $name {
                fn source(&self) -> SourceTemplate {
                    SourceTemplate::new(include_str!($file))
                }
                fn id(&self) -> KernelId {
                    KernelId::new::<Self>()
                }
                fn lang(&self) -> &'static str {
                    "wgsl"
                }
            }
        };
    }

    wgsl_kernel!(Sample, "../../shaders/sample.wgsl");
    wgsl_kernel!(Logprob, "../../shaders/logprob.wgsl");

    fn info(t: &CubeTensor, values: &[u32]) -> burn_cubecl::cubecl::server::Handle {
        t.client.create_from_slice(bytemuck::cast_slice(values))
    }

    impl KernelOps for CubeBackend {
        fn sample_rows(logits: CubeTensor, params: CubeTensor) -> CubeTensor {
            let (logits, params) = (into_contiguous(logits), into_contiguous(params));
            let (b, v) = (logits.meta.shape()[0], logits.meta.shape()[1]);
            assert!(b <= MAX_GRID, "sample_rows: {b} rows exceed one dispatch");
            let client = logits.client.clone();
            let out = client.empty(b * 2 * 4);
            let args = KernelArguments::new().with_buffers(vec![
                logits.handle.clone().binding(),
                params.handle.clone().binding(),
                out.clone().binding(),
                info(&logits, &[v as u32]).binding(),
            ]);
            client.launch(
                Box::new(SourceKernel::new(Sample, CubeDim::new_1d(WORKGROUP))),
                CubeCount::Static(b as u32, 1, 1),
                args,
            );
            CubeTensor::new_contiguous(
                client,
                logits.device.clone(),
                Shape::new([b, 2]),
                out,
                DType::F32,
            )
        }

        fn target_logprobs(logits: CubeTensor, targets: CubeTensor) -> CubeTensor {
            let (logits, targets) = (into_contiguous(logits), into_contiguous(targets));
            let (n, v) = (logits.meta.shape()[0], logits.meta.shape()[1]);
            let client = logits.client.clone();
            let out = client.empty(n * 4);
            let gx = n.clamp(1, MAX_GRID);
            let gy = n.div_ceil(gx);
            let args = KernelArguments::new().with_buffers(vec![
                logits.handle.clone().binding(),
                targets.handle.clone().binding(),
                out.clone().binding(),
                info(&logits, &[v as u32, gx as u32, n as u32]).binding(),
            ]);
            client.launch(
                Box::new(SourceKernel::new(Logprob, CubeDim::new_1d(WORKGROUP))),
                CubeCount::Static(gx as u32, gy as u32, 1),
                args,
            );
            CubeTensor::new_contiguous(
                client,
                logits.device.clone(),
                Shape::new([n]),
                out,
                DType::F32,
            )
        }
    }
}
