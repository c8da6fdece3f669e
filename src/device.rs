//! Picks the burn device: a wgpu adapter (Vulkan, Metal, DX12, WebGPU) or
//! burn's pure-Rust CPU backend (Flex), and says which one it picked.

use crate::error::{Error, Result};
use burn::prelude::Device;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// A device and a line naming the adapter and graphics API behind it.
#[derive(Clone, Debug)]
pub struct Selected {
    pub device: Device,
    pub description: String,
    pub is_gpu: bool,
}

pub const NAMES: &[&str] = &["auto", "wgpu", "vulkan", "metal", "webgpu", "cpu"];

/// Burn's wgpu runtime can be initialised once per adapter/API, so a
/// process asks for each name at most once and reuses the answer.
fn cache() -> &'static Mutex<HashMap<String, Selected>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Selected>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

pub fn select(name: &str) -> Result<Selected> {
    if let Some(s) = cache().lock().expect("device cache").get(name) {
        return Ok(s.clone());
    }
    let selected = match name {
        "cpu" => cpu(),
        "auto" => auto()?,
        #[cfg(not(target_family = "wasm"))]
        "wgpu" | "vulkan" | "metal" | "webgpu" => gpu(name)?,
        #[cfg(target_family = "wasm")]
        "wgpu" | "vulkan" | "metal" | "webgpu" => {
            return Err(Error::Device(
                "in a browser, start GPU devices with device::select_async".into(),
            ));
        }
        other => {
            return Err(Error::Device(format!(
                "unknown device `{other}`; expected one of {}",
                NAMES.join(", ")
            )));
        }
    };
    cache()
        .lock()
        .expect("device cache")
        .insert(name.to_string(), selected.clone());
    Ok(selected)
}

fn cpu() -> Selected {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    Selected {
        device: Device::flex(),
        description: format!("cpu: burn Flex backend, {threads} threads"),
        is_gpu: false,
    }
}

#[cfg(all(feature = "wgpu", not(target_family = "wasm")))]
fn auto() -> Result<Selected> {
    use burn::tensor::wgpu::wgpu;
    // Probe without initialising burn's runtime: a software adapter (Mesa's
    // lavapipe, SwiftShader) reports DeviceType::Cpu and is slower than the
    // Flex backend for this work, so only a real GPU wins over the CPU.
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    let has_gpu = adapters
        .iter()
        .any(|a| a.get_info().device_type != wgpu::DeviceType::Cpu);
    drop(adapters);
    if has_gpu && let Ok(s) = gpu("wgpu") {
        return Ok(s);
    }
    let mut s = cpu();
    s.description += if has_gpu {
        " (the GPU adapter failed to start)"
    } else {
        " (no hardware GPU adapter found)"
    };
    Ok(s)
}

#[cfg(any(not(feature = "wgpu"), target_family = "wasm"))]
fn auto() -> Result<Selected> {
    let mut s = cpu();
    s.description += if cfg!(target_family = "wasm") {
        " (in a browser, device::select_async probes WebGPU)"
    } else {
        " (built without the `wgpu` feature)"
    };
    Ok(s)
}

#[cfg(all(feature = "wgpu", not(target_family = "wasm")))]
fn gpu(name: &str) -> Result<Selected> {
    pollster::block_on(gpu_async(name))
}

/// In a browser, where nothing may block: `webgpu` (or `wgpu`) starts
/// burn's WebGPU device when `navigator.gpu` gives an adapter; `auto`
/// falls back to the CPU backend when it does not; `cpu` is Flex.
#[cfg(feature = "wgpu")]
pub async fn select_async(name: &str) -> Result<Selected> {
    match name {
        "cpu" => Ok(cpu()),
        "auto" => match gpu_async("webgpu").await {
            Ok(s) => Ok(s),
            Err(e) => {
                let mut s = cpu();
                s.description += &format!(" (WebGPU unavailable: {e})");
                Ok(s)
            }
        },
        other => gpu_async(other).await,
    }
}

/// Autotune results and compiled kernels persist (feature `gpu-cache`) in
/// the user's cache directory (`~/.cache/cubecl` on Linux) rather than in
/// the `target/` of whatever checkout the process runs from. A `cubecl.toml`
/// or a `[cubecl]` table in `burn.toml` that names another place wins.
#[cfg(all(feature = "gpu-cache", not(target_family = "wasm")))]
fn use_user_cache() {
    use burn_cubecl::cubecl::config::{CubeClRuntimeConfig, RuntimeConfig, cache::CacheConfig};
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let mut cfg = CubeClRuntimeConfig::from_current_dir().override_from_env();
        if matches!(cfg.environment.path, CacheConfig::Target) {
            cfg.environment.path = CacheConfig::Global;
        }
        // Declined when burn already read its configuration: then it keeps it.
        CubeClRuntimeConfig::try_set(cfg);
    });
}

#[cfg(feature = "wgpu")]
async fn gpu_async(name: &str) -> Result<Selected> {
    use burn::tensor::wgpu::{WgpuBackend, wgpu};
    #[cfg(all(feature = "gpu-cache", not(target_family = "wasm")))]
    use_user_cache();
    let api = match name {
        "wgpu" => WgpuBackend::Auto,
        #[cfg(feature = "vulkan")]
        "vulkan" => WgpuBackend::Vulkan,
        #[cfg(feature = "metal")]
        "metal" => WgpuBackend::Metal,
        #[cfg(feature = "webgpu")]
        "webgpu" => WgpuBackend::WebGpu,
        other => {
            return Err(Error::Device(format!(
                "device `{other}` needs restlm built with `--features {other}`"
            )));
        }
    };
    let (device, setup) = Device::wgpu_options()
        .graphics_api(api)
        .init_with_setup_async()
        .await
        .map_err(|e| Error::Device(format!("no usable `{name}` adapter: {e}")))?;
    let info = setup.adapter.get_info();
    // A browser's WebGPU adapter does not tell its name or driver.
    let adapter = if info.name.is_empty() {
        "adapter"
    } else {
        &info.name
    };
    let driver = if info.driver.is_empty() {
        "not reported"
    } else {
        &info.driver
    };
    Ok(Selected {
        device,
        description: format!(
            "{name}: {adapter} ({:?}, {:?}, driver {driver})",
            info.backend, info.device_type
        ),
        is_gpu: info.device_type != wgpu::DeviceType::Cpu,
    })
}

#[cfg(not(feature = "wgpu"))]
fn gpu(name: &str) -> Result<Selected> {
    Err(Error::Device(format!(
        "device `{name}` needs restlm built with the `wgpu` feature"
    )))
}
