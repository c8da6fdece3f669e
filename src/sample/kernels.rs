//! The bindings of our sampling and log-prob kernels: a backend extension
//! with one implementation per backend. On wgpu it launches the `#[cube]`
//! kernel of `crate::shaders` (compiled to WGSL, SPIR-V or MSL by the
//! runtime); on the CPU backend (Flex) it runs the plain-Rust reference.
//! Model and sampling code call [`sample_rows`] and
//! [`target_logprobs`] on ordinary tensors.

use super::reference::{self, RowParams};
use crate::cpu::rows::{self, with_avx2};
use crate::error::{Error, Result};
use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, backend_extension};
use burn::prelude::*;

/// With the `fusion` feature, `Cube` is burn's fusion backend over
/// `CubeBackend`: the `Fusion` lines below register each kernel as one
/// opaque operation in the fused stream (its output's shape and dtype known
/// up front) that runs the `CubeBackend` implementation when the stream is
/// executed. `Autodiff` routes training through `autodiff`'s backward:
/// the fused log-prob and its fused gradient, no log-softmax written out.
#[backend_extension(Cube: cfg(feature = "wgpu"), Flex, Fusion: cfg(feature = "fusion"), Autodiff)]
pub trait KernelOps: Backend {
    /// logits [B, V], params [B, 4] (see [`RowParams::packed`]) → [B, 2]:
    /// token id (as f32) and its log-probability. `cuts`: which settings
    /// some row uses ([`launch_cuts`]), for kernels that specialise on it.
    #[fusion(dtype = logits, shape = Shape::new([logits[0], 2]))]
    fn sample_rows(
        logits: FloatTensor<Self>,
        params: FloatTensor<Self>,
        cuts: u32,
    ) -> FloatTensor<Self>;
    /// logits `[N, V]`, target ids `[N]` (as f32) → log π(target) `[N]`.
    #[fusion(dtype = logits, shape = Shape::new([logits[0]]))]
    fn target_logprobs(logits: FloatTensor<Self>, targets: FloatTensor<Self>) -> FloatTensor<Self>;
    /// The backward of [`KernelOps::target_logprobs`]: logits `[N, V]`,
    /// target ids `[N]`, upstream gradient `[N]` → gradient `[N, V]` with respect
    /// to the logits, g · (one-hot(target) − softmax(logits)).
    #[fusion(dtype = logits, shape = logits)]
    fn target_logprobs_grad(
        logits: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
    /// hidden states `[N, D]`, the output projection's weight `[D, V]`,
    /// target ids `[N]` (as f32) → log π(target) `[N]`, computed `chunk`
    /// rows at a time ([`super::head`]): no `[N, V]` logits held whole,
    /// forward or backward.
    #[fusion(dtype = hidden, shape = Shape::new([hidden[0]]))]
    fn head_logprobs(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        chunk: u32,
    ) -> FloatTensor<Self>;
}

/// The next token of every row of `logits` [B, V], chosen on the device:
/// only B × 2 numbers come back to the host.
/// A failed read-back (a lost device) is an error, not a panic.
pub fn sample_rows(logits: Tensor<2>, rows: &[RowParams]) -> Result<Vec<(u32, f32)>> {
    pollster::block_on(sample_rows_async(logits, rows))
}

/// [`sample_rows`] for callers that must not block (WebGPU in a browser).
pub async fn sample_rows_async(logits: Tensor<2>, rows: &[RowParams]) -> Result<Vec<(u32, f32)>> {
    let device = logits.device();
    let b = rows.len();
    let cuts = launch_cuts(rows, logits.dims()[1]);
    let params = Tensor::<2>::from_data(TensorData::new(RowParams::packed(rows), [b, 4]), &device);
    let out =
        <Dispatch as KernelOps>::sample_rows(logits.into_dispatch(), params.into_dispatch(), cuts);
    let host: Vec<f32> = read_back(Tensor::<2>::from_dispatch(out)).await?;
    Ok(host.chunks_exact(2).map(|c| (c[0] as u32, c[1])).collect())
}

/// Which settings some row of `rows` uses, over a vocabulary of `v`: bit 0
/// a row samples, bit 1 a sampling row cuts to its top k, bit 2 to its top
/// p. The `#[cube]` sampling kernel compiles only the passes these need.
pub fn launch_cuts(rows: &[RowParams], v: usize) -> u32 {
    rows.iter().filter(|r| !r.is_greedy()).fold(0, |cuts, r| {
        let top_k = r.top_k > 0 && (r.top_k as usize) < v;
        cuts | 1 | if top_k { 2 } else { 0 } | if r.top_p < 1.0 { 4 } else { 0 }
    })
}

/// A tensor's values on the host; a device that fails to hand them back
/// (lost, out of memory) is an error naming what was being read.
pub async fn read_back<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.into_data_async()
        .await
        .map_err(|e| {
            Error::Device(format!(
                "reading results back from the device failed: {e:?}"
            ))
        })?
        .try_to_vec::<f32>()
        .map_err(|e| Error::Device(format!("results of an unexpected type: {e:?}")))
}

/// log π(target) [B, T] for final hidden states [B, T, D], the output
/// projection's weight [D, V] and targets [B, T]: the projection and the
/// log-prob fused over chunks of `chunk` rows of the B·T positions (see
/// [`super::head`]); [`super::head::chunk_rows`] gives the default.
pub fn head_logprobs(
    hidden: Tensor<3>,
    weight: Tensor<2>,
    targets: Tensor<2, Int>,
    chunk: usize,
) -> Tensor<2> {
    let [b, t, d] = hidden.dims();
    let flat = hidden.reshape([b * t, d]);
    let ids = targets.float().reshape([b * t]);
    let out = <Dispatch as KernelOps>::head_logprobs(
        flat.into_dispatch(),
        weight.into_dispatch(),
        ids.into_dispatch(),
        chunk.min(u32::MAX as usize) as u32,
    );
    Tensor::<1>::from_dispatch(out).reshape([b, t])
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

/// (token, log-prob) of each row of `logits` [B, V] on the host, rows in
/// parallel (a sampled row is three passes of f64 exp over the
/// vocabulary); each row's result is the reference's own.
pub fn sample_host(logits: &[f32], params: &[RowParams]) -> Vec<(u32, f32)> {
    let v = logits.len() / params.len().max(1);
    let mut out = vec![0f32; params.len() * 2];
    rows::per_rows(logits, v, &mut out, |i, row, o| {
        let (token, logprob) = reference::sample_row(row, &params[i]);
        o.copy_from_slice(&[token as f32, logprob]);
    });
    out.chunks_exact(2).map(|o| (o[0] as u32, o[1])).collect()
}

fn host(t: FlexTensor) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 tensor")
}

/// The rows of an [N, V] tensor, without a copy when it is contiguous.
fn rows_of(t: &FlexTensor) -> (std::borrow::Cow<'_, [f32]>, usize) {
    let v = *t.layout().shape().last().expect("a [N, V] tensor");
    (rows::values(t), v)
}

/// A target id read back from its f32: None when negative or beyond the row.
fn target_id(t: f32, v: usize) -> Option<usize> {
    (t >= 0.0 && (t as usize) < v).then_some(t as usize)
}

impl KernelOps for Flex {
    fn sample_rows(logits: FlexTensor, params: FlexTensor, _cuts: u32) -> FlexTensor {
        let (xs, v) = rows_of(&logits);
        let ps = host(params);
        let rows: Vec<RowParams> = ps.chunks_exact(4).map(RowParams::unpack).collect();
        debug_assert_eq!(xs.len(), rows.len() * v);
        let out: Vec<f32> = sample_host(&xs, &rows)
            .into_iter()
            .flat_map(|(token, logprob)| [token as f32, logprob])
            .collect();
        FlexTensor::from_data(TensorData::new(out, [rows.len(), 2]))
    }

    fn target_logprobs(logits: FlexTensor, targets: FlexTensor) -> FlexTensor {
        let (xs, v) = rows_of(&logits);
        let ts = host(targets);
        let mut out = vec![0f32; ts.len()];
        rows::per_rows(&xs, v, &mut out, |i, row, o| {
            o[0] = match target_id(ts[i], v) {
                Some(t) => with_avx2!(reference::target_logprob_f32(row, t)),
                None => f32::NAN,
            };
        });
        let n = out.len();
        FlexTensor::from_data(TensorData::new(out, [n]))
    }

    fn target_logprobs_grad(
        logits: FlexTensor,
        targets: FlexTensor,
        grad: FlexTensor,
    ) -> FlexTensor {
        let (xs, v) = rows_of(&logits);
        let (ts, gs) = (host(targets), host(grad));
        let mut out = vec![0f32; xs.len()];
        rows::per_rows(&xs, v, &mut out, |i, row, o| {
            let t = target_id(ts[i], v).unwrap_or(usize::MAX);
            with_avx2!(reference::target_logprob_grad(row, t, gs[i], o));
        });
        let n = ts.len();
        FlexTensor::from_data(TensorData::new(out, [n, v]))
    }

    fn head_logprobs(
        hidden: FlexTensor,
        weight: FlexTensor,
        targets: FlexTensor,
        chunk: u32,
    ) -> FlexTensor {
        super::head::forward::<Self>(hidden, weight, targets, chunk as usize, false).0
    }
}

/// Training through the fused ops: `target_logprobs` records a backward
/// that calls `target_logprobs_grad` on the inner backend, so autodiff never
/// sees (nor stores) a log-softmax of the vocabulary.
mod autodiff {
    use super::KernelOps;
    use crate::sample::head;
    use burn::backend::Autodiff;
    use burn::backend::autodiff::NodeId;
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
    use burn::backend::tensor::FloatTensor;

    #[derive(Debug)]
    struct TargetLogprobs;

    #[derive(Debug)]
    struct HeadLogprobs;

    /// What the backward of [`KernelOps::head_logprobs`] keeps.
    #[derive(Debug, Clone)]
    struct HeadState<B: KernelOps> {
        /// d log π(target_i) / d h_i [N, D], when the hidden states are
        /// tracked.
        rows_grad: Option<FloatTensor<B>>,
        /// Hidden states and weight, when the weight is tracked (its
        /// gradient recomputes each chunk's logits).
        for_weight: Option<(FloatTensor<B>, FloatTensor<B>)>,
        targets: FloatTensor<B>,
        chunk: usize,
    }

    impl<B: KernelOps> Backward<B, 2> for HeadLogprobs {
        type State = HeadState<B>;

        fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
            let s = ops.state;
            let grad = grads.consume::<B>(&ops.node);
            let [hidden_node, weight_node] = ops.parents;
            if let (Some(node), Some((hidden, weight))) = (weight_node, s.for_weight) {
                let dw = head::weight_grad::<B>(hidden, weight, s.targets, grad.clone(), s.chunk);
                grads.register::<B>(node.id, dw);
            }
            if let (Some(node), Some(rows_grad)) = (hidden_node, s.rows_grad) {
                grads.register::<B>(node.id, head::input_grad::<B>(rows_grad, grad));
            }
        }
    }

    impl<B: KernelOps> Backward<B, 1> for TargetLogprobs {
        /// The logits (checkpointed) and the target ids.
        type State = (NodeId, FloatTensor<B>);

        fn backward(
            self,
            ops: Ops<Self::State, 1>,
            grads: &mut Gradients,
            checkpointer: &mut Checkpointer,
        ) {
            let (logits, targets) = ops.state;
            let logits = checkpointer.retrieve_node_output(logits);
            unary::<B, _>(ops.parents, ops.node, grads, |grad| {
                B::target_logprobs_grad(logits, targets, grad)
            });
        }
    }

    impl<B: KernelOps, C: CheckpointStrategy> KernelOps for Autodiff<B, C> {
        fn sample_rows(
            logits: FloatTensor<Self>,
            params: FloatTensor<Self>,
            cuts: u32,
        ) -> FloatTensor<Self> {
            <FloatTensor<Self>>::new(B::sample_rows(
                logits.into_primitive(),
                params.into_primitive(),
                cuts,
            ))
        }

        fn target_logprobs(
            logits: FloatTensor<Self>,
            targets: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            let targets = targets.into_primitive();
            match TargetLogprobs
                .prepare::<C>([logits.node()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(mut prep) => {
                    let state = (prep.checkpoint(&logits), targets.clone());
                    prep.finish(state, B::target_logprobs(logits.into_primitive(), targets))
                }
                OpsKind::UnTracked(prep) => {
                    prep.finish(B::target_logprobs(logits.into_primitive(), targets))
                }
            }
        }

        fn target_logprobs_grad(
            logits: FloatTensor<Self>,
            targets: FloatTensor<Self>,
            grad: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            <FloatTensor<Self>>::new(B::target_logprobs_grad(
                logits.into_primitive(),
                targets.into_primitive(),
                grad.into_primitive(),
            ))
        }

        fn head_logprobs(
            hidden: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            targets: FloatTensor<Self>,
            chunk: u32,
        ) -> FloatTensor<Self> {
            let chunk = chunk as usize;
            let (hidden_tracked, weight_tracked) = (hidden.is_tracked(), weight.is_tracked());
            let targets = targets.into_primitive();
            let (h, hidden_guard) = hidden.into_parts();
            let (w, weight_guard) = weight.into_parts();
            match HeadLogprobs
                .prepare::<C>([hidden_guard, weight_guard])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    let for_weight = weight_tracked.then(|| (h.clone(), w.clone()));
                    let (logprobs, rows_grad) =
                        head::forward::<B>(h, w, targets.clone(), chunk, hidden_tracked);
                    let state = HeadState {
                        rows_grad,
                        for_weight,
                        targets,
                        chunk,
                    };
                    prep.finish(state, logprobs)
                }
                OpsKind::UnTracked(prep) => {
                    prep.finish(head::forward::<B>(h, w, targets, chunk, false).0)
                }
            }
        }
    }
}
