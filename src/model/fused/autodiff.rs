//! The fused ops under autodiff: each op records one backward node that
//! calls its fused gradient.

use super::FusedOps;
use burn::backend::Autodiff;
use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::tensor::FloatTensor;

/// An op's gradients, each to its input where that input is tracked.
fn register_each<B: FusedOps, const N: usize>(
    inputs: [Option<NodeId>; N],
    outputs: [FloatTensor<B>; N],
    grads: &mut Gradients,
) {
    for (id, grad) in inputs.into_iter().zip(outputs) {
        if let Some(id) = id {
            grads.register::<B>(id, grad);
        }
    }
}

#[derive(Debug)]
struct SwiGlu;

impl<B: FusedOps> Backward<B, 2> for SwiGlu {
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (gate, up) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let (dg, du) = B::swiglu_grad(gate, up, grad);
        register_each::<B, 2>(ops.parents.map(|p| p.map(|n| n.id)), [dg, du], grads);
    }
}

#[derive(Debug)]
struct RmsNorm;

impl<B: FusedOps> Backward<B, 2> for RmsNorm {
    type State = (FloatTensor<B>, FloatTensor<B>, f32);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (x, gamma, eps) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let (dx, dgamma) = B::rms_norm_grad(x, gamma, grad, eps);
        register_each::<B, 2>(ops.parents.map(|p| p.map(|n| n.id)), [dx, dgamma], grads);
    }
}

#[derive(Debug)]
struct Rope;

impl<B: FusedOps> Backward<B, 1> for Rope {
    /// The tables and the direction of the forward rotation.
    type State = (FloatTensor<B>, FloatTensor<B>, bool);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (cos, sin, inverse) = ops.state;
        // A rotation's transpose is the opposite rotation.
        unary::<B, _>(ops.parents, ops.node, grads, |grad| {
            B::rope(grad, cos, sin, !inverse)
        });
    }
}

#[derive(Debug)]
struct Attention;

impl<B: FusedOps> Backward<B, 3> for Attention {
    /// q, k, v, the softmax and the scale.
    type State = (
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        f32,
    );

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (q, k, v, probs, scale) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let (dq, dk, dv) = B::attention_core_grad(q, k, v, probs, grad, scale);
        register_each::<B, 3>(ops.parents.map(|p| p.map(|n| n.id)), [dq, dk, dv], grads);
    }
}

impl<B: FusedOps, C: CheckpointStrategy> FusedOps for Autodiff<B, C> {
    fn swiglu(gate: FloatTensor<Self>, up: FloatTensor<Self>) -> FloatTensor<Self> {
        let nodes = [gate.node(), up.node()];
        let (g, u) = (gate.into_primitive(), up.into_primitive());
        match SwiGlu.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let out = B::swiglu(g.clone(), u.clone());
                prep.finish((g, u), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::swiglu(g, u)),
        }
    }

    fn swiglu_grad(
        gate: FloatTensor<Self>,
        up: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let (dg, du) = B::swiglu_grad(
            gate.into_primitive(),
            up.into_primitive(),
            grad.into_primitive(),
        );
        (<FloatTensor<Self>>::new(dg), <FloatTensor<Self>>::new(du))
    }

    fn rms_norm(x: FloatTensor<Self>, gamma: FloatTensor<Self>, eps: f32) -> FloatTensor<Self> {
        let nodes = [x.node(), gamma.node()];
        let (x, gamma) = (x.into_primitive(), gamma.into_primitive());
        match RmsNorm.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let out = B::rms_norm(x.clone(), gamma.clone(), eps);
                prep.finish((x, gamma, eps), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::rms_norm(x, gamma, eps)),
        }
    }

    fn rms_norm_grad(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        eps: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let (dx, dg) = B::rms_norm_grad(
            x.into_primitive(),
            gamma.into_primitive(),
            grad.into_primitive(),
            eps,
        );
        (<FloatTensor<Self>>::new(dx), <FloatTensor<Self>>::new(dg))
    }

    fn rope(
        x: FloatTensor<Self>,
        cos: FloatTensor<Self>,
        sin: FloatTensor<Self>,
        inverse: bool,
    ) -> FloatTensor<Self> {
        // The tables are constants: no gradient flows into them.
        let nodes = [x.node()];
        let (x, cos, sin) = (
            x.into_primitive(),
            cos.into_primitive(),
            sin.into_primitive(),
        );
        match Rope.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let y = B::rope(x, cos.clone(), sin.clone(), inverse);
                prep.finish((cos, sin, inverse), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::rope(x, cos, sin, inverse)),
        }
    }

    fn attention_core(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        // The bias is a constant: no gradient flows into it.
        let nodes = [q.node(), k.node(), v.node()];
        let (q, k, v) = (q.into_primitive(), k.into_primitive(), v.into_primitive());
        let bias = bias.into_primitive();
        match Attention.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (out, probs) = B::attention_core(q.clone(), k.clone(), v.clone(), bias, scale);
                let p = <FloatTensor<Self>>::new(probs.clone());
                (prep.finish((q, k, v, probs, scale), out), p)
            }
            OpsKind::UnTracked(prep) => {
                let (out, probs) = B::attention_core(q, k, v, bias, scale);
                (prep.finish(out), <FloatTensor<Self>>::new(probs))
            }
        }
    }

    fn attention_core_grad(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        probs: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (dq, dk, dv) = B::attention_core_grad(
            q.into_primitive(),
            k.into_primitive(),
            v.into_primitive(),
            probs.into_primitive(),
            grad.into_primitive(),
            scale,
        );
        let wrap = <FloatTensor<Self>>::new;
        (wrap(dq), wrap(dk), wrap(dv))
    }
}
