//! restlm: Reinforced Self-Training (ReST, Gulcehre et al. 2023) for
//! language models on burn — wgpu (Vulkan, Metal, DX12, WebGPU) and CPU.
//!
//! prompt → tokens → policy → samples → rewards → filter → improved policy:
//! [`data`] and [`tokenizer`] make tokens, [`model`] is the policy,
//! [`sample`] generates, [`reward`] scores, [`rest`] grows, filters and
//! improves, [`train`] is the shared training loop, [`eval`] scores on
//! held-out prompts, [`report`] writes what a run leaves behind.

pub mod bench;
pub mod chat;
pub mod config;
pub mod cpu;
pub mod data;
pub mod device;
pub mod error;
pub mod eval;
pub mod io;
pub mod model;
pub mod ops;
pub mod policy;
pub mod report;
pub mod rest;
pub mod reward;
pub mod rm;
pub mod sample;
/// Our `#[cube]` GPU kernels; they live in the top-level `shaders/` folder.
#[cfg(feature = "wgpu")]
#[path = "../shaders/mod.rs"]
pub mod shaders;
pub mod tokenizer;
pub mod train;

pub use burn;
pub use config::RunConfig;
pub use error::{Error, Result};
pub use policy::Policy;
