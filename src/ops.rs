//! Which implementation of restlm's own ops a device runs, decided in one
//! place: [`OpPath::of`] reads the device's backend (and whether it
//! records gradients) and the process-wide [`use_burn_ops`] switch, and
//! every op asks the path it returns instead of inspecting the device.
//!
//! | backend | fused layer ops | decode kernels | sampler on the device | fused log-prob |
//! |---|---|---|---|---|
//! | CPU (Flex) | yes (training and inference) | - | without autodiff | yes |
//! | wgpu | - (burn's fusion compiles those chains) | without autodiff | without autodiff | yes |
//! | other | - | - | - | - |
//!
//! On the CPU without autodiff, KV-cache decoding of a Llama or Qwen2
//! model runs in the host decoder (`model::decoder`) unless [`BurnOps::decoder`] or
//! [`BurnOps::layers`] asks for burn's ops.
//!
//! "Fused layer ops" are RMSNorm, SiLU · up, the rotary embedding and the
//! attention core (`model::fused`); the decode kernels the first three as
//! `#[cube]` kernels (`model::fused::decode`); the sampler and the fused
//! log-prob live in `sample::kernels`. A bottom room: it imports nothing
//! of restlm's.

use burn::backend::DispatchDevice;
use burn::prelude::Device;
use std::sync::atomic::{AtomicU8, Ordering};

/// The backend behind a device, as far as our ops care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// burn's pure-Rust CPU backend: our CPU versions.
    Cpu,
    /// The wgpu runtime: our `#[cube]` kernels.
    Wgpu,
    /// Anything else: burn's ops.
    Other,
}

/// The ops path of one device: its backend, whether it records gradients,
/// and which of our implementations are switched on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpPath {
    pub backend: Backend,
    pub autodiff: bool,
    burn_ops: BurnOps,
}

/// Which of our ops give way to burn's, process-wide: the before of an A/B
/// (`restlm bench --unfused`) and the tests' reference.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BurnOps {
    /// RMSNorm, SiLU · up, rotary and attention (fused on the CPU, decode
    /// kernels on wgpu) through burn's ops.
    pub layers: bool,
    /// Training's log-probs through burn's log-softmax and gather.
    pub logprob: bool,
    /// CPU decoding through burn's ops instead of the host decoder
    /// (`model::decoder`).
    pub decoder: bool,
}

static BURN_OPS: AtomicU8 = AtomicU8::new(0);

/// Sets which of our ops give way to burn's, for every device from now on.
pub fn use_burn_ops(which: BurnOps) {
    BURN_OPS.store(
        which.layers as u8 | (which.logprob as u8) << 1 | (which.decoder as u8) << 2,
        Ordering::Relaxed,
    );
}

/// The switch [`use_burn_ops`] set last.
pub fn burn_ops() -> BurnOps {
    let bits = BURN_OPS.load(Ordering::Relaxed);
    BurnOps {
        layers: bits & 1 != 0,
        logprob: bits & 2 != 0,
        decoder: bits & 4 != 0,
    }
}

impl OpPath {
    pub fn of(device: &Device) -> Self {
        fn backend(device: &DispatchDevice) -> (Backend, bool) {
            match device {
                DispatchDevice::Flex(_) => (Backend::Cpu, false),
                #[cfg(feature = "wgpu")]
                DispatchDevice::Cube(burn_cubecl::CubeDevice::Wgpu(_)) => (Backend::Wgpu, false),
                DispatchDevice::Autodiff(inner) => (backend(inner).0, true),
                #[allow(unreachable_patterns)]
                _ => (Backend::Other, false),
            }
        }
        let (backend, autodiff) = backend(device.as_dispatch());
        Self {
            backend,
            autodiff,
            burn_ops: burn_ops(),
        }
    }

    /// The CPU backend without autodiff: where sampling's integer
    /// products run ([`crate::cpu::qdot`]).
    pub fn is_plain_cpu(self) -> bool {
        self.backend == Backend::Cpu && !self.autodiff
    }

    /// The CPU backend's fused RMSNorm, SiLU · up, rotary and attention
    /// core, forward and backward.
    pub fn fused_layers(self) -> bool {
        self.backend == Backend::Cpu && !self.burn_ops.layers
    }

    /// KV-cache decoding in the host decoder's plain loops
    /// (`model::decoder`) instead of burn's ops: the CPU without autodiff,
    /// with the fused layer ops on.
    pub fn host_decoder(self) -> bool {
        self.is_plain_cpu() && !self.burn_ops.layers && !self.burn_ops.decoder
    }

    /// The `#[cube]` RMSNorm, SiLU · up and rotary kernels, for inference on
    /// wgpu, where burn's fusion leaves those chains unfused in a decode
    /// step (training takes burn's differentiable ops).
    pub fn decode_kernels(self) -> bool {
        self.backend == Backend::Wgpu && !self.autodiff && !self.burn_ops.layers
    }

    /// The next token chosen on the device by the sampler (its kernel on
    /// wgpu, its plain-Rust version on the CPU); autodiff devices take
    /// burn's ops.
    pub fn sampler(self) -> bool {
        self.backend != Backend::Other && !self.autodiff
    }

    /// Training's log-probs through the fused log-prob and its fused
    /// gradient (no log-softmax written out).
    pub fn fused_logprob(self) -> bool {
        self.backend != Backend::Other && !self.burn_ops.logprob
    }
}
