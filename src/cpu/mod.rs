//! The CPU backend's shared pieces: what the fused training ops
//! (`model::fused`) and the sampler and log-prob's CPU versions
//! (`sample::kernels`) both build on. A bottom room: it imports nothing of
//! restlm's.

pub mod qdot;
pub mod quant;
pub mod rows;
