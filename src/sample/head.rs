//! log π(target) through the output projection, a chunk of rows at a time:
//! the [N, V] logits of a training batch are never held whole (Liger
//! Kernel's fused linear + cross-entropy, in burn's backend ops).
//!
//! For hidden states h [N, D], the projection's weight W [D, V] and targets
//! t `[N]`, row i's log-prob is (h_i·W)`[t_i]` − logsumexp(h_i·W). Its gradient
//! with respect to h_i is (one-hot(t_i) − softmax(h_i·W))·Wᵀ, which does not
//! depend on the loss above it: under autodiff the forward pass computes it
//! chunk by chunk beside the log-probs ([N, D], the size of h), and the
//! backward pass only scales its rows by the upstream gradient. The weight's
//! gradient, Σ_i g_i·h_iᵀ(one-hot(t_i) − softmax(h_i·W)), needs g, so it is
//! computed in the backward pass by recomputing each chunk's logits; with a
//! frozen weight (LoRA) it is never computed. So with LoRA the head costs
//! two [N, D]×[D, V] products, as the unchunked path does, and holds one
//! chunk's logits and their gradient instead of the batch's.
//!
//! Each chunk's log-probs and logit gradients go through the fused log-prob
//! kernels of [`super::kernels`]. `LOGITS_PER_CHUNK` sets the chunk: the rows
//! whose logits fill about 32 MB, so shapes stay static (every chunk but a
//! batch's last has the same rows).

use super::kernels::KernelOps;
use burn::backend::TensorMetadata;
use burn::backend::tensor::FloatTensor;
use burn::tensor::{Shape, Slice};

/// Logit elements per chunk: 8 M f32, 32 MB (170 rows at SmolLM2's
/// vocabulary of 49 152, 55 at Qwen2's 151 936).
const LOGITS_PER_CHUNK: usize = 1 << 23;

/// Rows per chunk for a vocabulary of `v`: at least 1.
pub fn chunk_rows(v: usize) -> usize {
    (LOGITS_PER_CHUNK / v.max(1)).max(1)
}

fn rows<B: KernelOps>(t: &FloatTensor<B>, from: usize, until: usize) -> FloatTensor<B> {
    let mut slices = vec![Slice::from(from..until)];
    slices.extend((1..t.shape().num_dims()).map(|_| Slice::from(..)));
    B::float_slice(t.clone(), &slices)
}

/// The row ranges of `n` rows in chunks of `chunk`.
fn chunks(n: usize, chunk: usize) -> impl Iterator<Item = (usize, usize)> {
    let chunk = chunk.max(1);
    (0..n.div_ceil(chunk)).map(move |c| (c * chunk, ((c + 1) * chunk).min(n)))
}

/// log π(target) `[N]` for hidden [N, D], weight [D, V], targets `[N]` (ids as
/// f32), and, when `input_grad`, d log π(target_i) / d h_i [N, D].
pub fn forward<B: KernelOps>(
    hidden: FloatTensor<B>,
    weight: FloatTensor<B>,
    targets: FloatTensor<B>,
    chunk: usize,
    input_grad: bool,
) -> (FloatTensor<B>, Option<FloatTensor<B>>) {
    let n = hidden.shape()[0];
    let weight_t = input_grad.then(|| B::float_transpose(weight.clone()));
    let (mut logprobs, mut grads) = (Vec::new(), Vec::new());
    for (from, until) in chunks(n, chunk) {
        let h = rows::<B>(&hidden, from, until);
        let t = rows::<B>(&targets, from, until);
        let logits = B::float_matmul(h, weight.clone());
        logprobs.push(B::target_logprobs(logits.clone(), t.clone()));
        if let Some(weight_t) = &weight_t {
            let ones = B::float_ones(
                Shape::new([until - from]),
                &logits.device(),
                logits.dtype().into(),
            );
            let dlogits = B::target_logprobs_grad(logits, t, ones);
            grads.push(B::float_matmul(dlogits, weight_t.clone()));
        }
    }
    let grad = input_grad.then(|| cat::<B>(grads));
    (cat::<B>(logprobs), grad)
}

/// Σ_i g_i · d log π(target_i) / dW [D, V]: the weight's gradient for an
/// upstream gradient `grad` `[N]`, each chunk's logits computed again.
pub fn weight_grad<B: KernelOps>(
    hidden: FloatTensor<B>,
    weight: FloatTensor<B>,
    targets: FloatTensor<B>,
    grad: FloatTensor<B>,
    chunk: usize,
) -> FloatTensor<B> {
    let n = hidden.shape()[0];
    let mut total: Option<FloatTensor<B>> = None;
    for (from, until) in chunks(n, chunk) {
        let h = rows::<B>(&hidden, from, until);
        let logits = B::float_matmul(h.clone(), weight.clone());
        let dlogits = B::target_logprobs_grad(
            logits,
            rows::<B>(&targets, from, until),
            rows::<B>(&grad, from, until),
        );
        let part = B::float_matmul(B::float_transpose(h), dlogits);
        total = Some(match total {
            Some(sum) => B::float_add(sum, part),
            None => part,
        });
    }
    total.unwrap_or_else(|| B::float_zeros(weight.shape(), &weight.device(), weight.dtype().into()))
}

/// The input's gradient from the per-row derivatives of [`forward`]: row i
/// scaled by g_i.
pub fn input_grad<B: KernelOps>(rows_grad: FloatTensor<B>, grad: FloatTensor<B>) -> FloatTensor<B> {
    let n = grad.shape()[0];
    B::float_mul(rows_grad, B::float_reshape(grad, Shape::new([n, 1])))
}

fn cat<B: KernelOps>(parts: Vec<FloatTensor<B>>) -> FloatTensor<B> {
    if parts.len() == 1 {
        return parts.into_iter().next().expect("one part");
    }
    B::float_cat(parts, 0)
}
