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
    /// A hardware GPU (not a software adapter such as lavapipe).
    pub is_gpu: bool,
    pub runtime: Runtime,
    /// Why `auto` fell back to the CPU backend, in full (the adapter's
    /// error), for logs; the description says it in a few words.
    pub fallback: Option<String>,
    /// A wgpu device's limits on one buffer (None on the CPU backend).
    pub limits: Option<BufferLimits>,
    /// The adapter offers 16-bit floats in shaders (WebGPU's
    /// `shader-f16`; cubecl asks for every feature an adapter has).
    pub shader_f16: bool,
}

/// What one buffer may hold on a wgpu device: cubecl requests the
/// adapter's own limits, and a tensor is one buffer bound as storage, so
/// the smaller of the two bounds a tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BufferLimits {
    /// `maxStorageBufferBindingSize`.
    pub max_storage_binding: u64,
    /// `maxBufferSize`.
    pub max_buffer: u64,
}

impl BufferLimits {
    /// An error naming `tensor` and the limit it breaks when `bytes` do
    /// not fit one buffer (a WebGPU tab's is often 128 MiB).
    pub fn check(&self, tensor: &str, bytes: u64) -> Result<()> {
        let mb = |b: u64| b as f64 / (1 << 20) as f64;
        let broken = [
            ("maxStorageBufferBindingSize", self.max_storage_binding),
            ("maxBufferSize", self.max_buffer),
        ]
        .into_iter()
        .find(|&(_, limit)| bytes > limit);
        match broken {
            None => Ok(()),
            Some((name, limit)) => Err(Error::Device(format!(
                "{tensor} needs {:.1} MiB in one buffer; this adapter's {name} is {:.1} MiB: \
                 use the CPU backend, a quantised base, or a smaller model",
                mb(bytes),
                mb(limit)
            ))),
        }
    }

    /// [`BufferLimits::check`] on a model's biggest tensors
    /// ([`crate::model::ModelConfig::biggest_tensors`]), before any is made: a model that
    /// cannot fit is a named error, not a failed allocation mid-load.
    pub fn check_model(
        &self,
        cfg: &crate::model::ModelConfig,
        quant: Option<crate::cpu::quant::QuantKind>,
    ) -> Result<()> {
        cfg.biggest_tensors(quant)
            .into_iter()
            .try_for_each(|(name, bytes)| self.check(name, bytes))
    }
}

/// Which of burn's backends runs the work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// burn's pure-Rust CPU backend.
    Flex,
    /// A wgpu adapter: Vulkan, Metal, DX12 or a browser's WebGPU.
    Wgpu,
}

pub const NAMES: &[&str] = &["auto", "wgpu", "vulkan", "metal", "webgpu", "cpu"];

/// What `--device` and the config's `device` name: `auto`, `cpu`, or a GPU
/// API (`wgpu` lets burn choose one) with an optional adapter pick
/// (`wgpu:1`, `vulkan:radeon`).
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceSpec {
    /// A hardware GPU when there is one (weighed against the CPU for the
    /// work at hand by `bench::auto::select_for`), else the CPU backend.
    Auto,
    /// burn's Flex CPU backend.
    Cpu,
    Gpu(Api, Option<AdapterPick>),
}

/// The graphics API a GPU device goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Whichever the platform's wgpu prefers.
    Wgpu,
    Vulkan,
    Metal,
    WebGpu,
}

impl Api {
    pub fn name(self) -> &'static str {
        match self {
            Api::Wgpu => "wgpu",
            Api::Vulkan => "vulkan",
            Api::Metal => "metal",
            Api::WebGpu => "webgpu",
        }
    }
}

impl std::str::FromStr for DeviceSpec {
    type Err = Error;
    fn from_str(name: &str) -> Result<Self> {
        let (api, pick) = match name.split_once(':') {
            Some((api, spec)) => (api, Some(AdapterPick::parse(spec))),
            None => (name, None),
        };
        let api = match api {
            "auto" | "cpu" if pick.is_some() => {
                return Err(Error::Device(format!(
                    "`{name}`: only GPU APIs (wgpu, vulkan, metal, webgpu) take an adapter after `:`"
                )));
            }
            "auto" => return Ok(DeviceSpec::Auto),
            "cpu" => return Ok(DeviceSpec::Cpu),
            "wgpu" => Api::Wgpu,
            "vulkan" => Api::Vulkan,
            "metal" => Api::Metal,
            "webgpu" => Api::WebGpu,
            other => {
                return Err(Error::Device(format!(
                    "unknown device `{other}`; expected one of {} (a GPU API may name an adapter: wgpu:1, vulkan:radeon)",
                    NAMES.join(", ")
                )));
            }
        };
        Ok(DeviceSpec::Gpu(api, pick))
    }
}

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
    let selected = match name.parse::<DeviceSpec>()? {
        DeviceSpec::Cpu => cpu(),
        DeviceSpec::Auto => auto()?,
        #[cfg(target_family = "wasm")]
        DeviceSpec::Gpu(..) => {
            return Err(Error::Device(
                "in a browser, start GPU devices with device::select_async".into(),
            ));
        }
        #[cfg(not(target_family = "wasm"))]
        DeviceSpec::Gpu(api, None) => gpu(api.name())?,
        #[cfg(not(target_family = "wasm"))]
        DeviceSpec::Gpu(api, Some(pick)) => picked(api, &pick)?,
    };
    cache()
        .lock()
        .expect("device cache")
        .insert(name.to_string(), selected.clone());
    Ok(selected)
}

/// Which adapter of a machine with several GPUs: `wgpu:1` (the second
/// hardware GPU, in the graphics API's enumeration order) or `wgpu:radeon`
/// (the first whose name contains the text, case-insensitively).
#[derive(Debug, Clone, PartialEq)]
pub enum AdapterPick {
    Index(usize),
    Name(String),
}

impl AdapterPick {
    pub fn parse(spec: &str) -> AdapterPick {
        let spec = spec.trim().trim_matches('"');
        match spec.parse() {
            Ok(i) => AdapterPick::Index(i),
            Err(_) => AdapterPick::Name(spec.to_lowercase()),
        }
    }
}

/// The adapter `pick` names among `adapters` (name and type, in the
/// graphics API's enumeration order), as burn addresses it: the n-th
/// adapter of its type. Software adapters are never picked by index.
#[cfg(feature = "wgpu")]
pub fn pick_adapter(
    adapters: &[(String, burn::tensor::wgpu::wgpu::DeviceType)],
    pick: &AdapterPick,
) -> Result<burn::tensor::DeviceKind> {
    use burn::tensor::DeviceKind;
    use burn::tensor::wgpu::wgpu::DeviceType;
    let hardware: Vec<usize> = (0..adapters.len())
        .filter(|&i| adapters[i].1 != DeviceType::Cpu)
        .collect();
    let listed = || {
        adapters
            .iter()
            .map(|(n, t)| format!("{n} ({t:?})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let at = match pick {
        AdapterPick::Index(i) => *hardware.get(*i).ok_or_else(|| {
            Error::Device(format!(
                "no GPU {i}: {} hardware adapter(s) here [{}]",
                hardware.len(),
                listed()
            ))
        })?,
        AdapterPick::Name(name) => adapters
            .iter()
            .position(|(n, _)| n.to_lowercase().contains(name.as_str()))
            .ok_or_else(|| {
                Error::Device(format!(
                    "no adapter's name contains `{name}` [{}]",
                    listed()
                ))
            })?,
    };
    let kind = adapters[at].1;
    let nth = adapters[..at].iter().filter(|(_, t)| *t == kind).count();
    Ok(match kind {
        DeviceType::DiscreteGpu => DeviceKind::DiscreteGpu(nth),
        DeviceType::IntegratedGpu => DeviceKind::IntegratedGpu(nth),
        DeviceType::VirtualGpu => DeviceKind::VirtualGpu(nth),
        DeviceType::Cpu => DeviceKind::Cpu,
        DeviceType::Other => {
            return Err(Error::Device(format!(
                "adapter {} is of an unknown type; burn cannot address it",
                adapters[at].0
            )));
        }
    })
}

/// `api:spec` (see [`AdapterPick`]): enumerates the API's adapters and
/// starts the one picked.
#[cfg(all(feature = "wgpu", not(target_family = "wasm")))]
fn picked(api: Api, pick: &AdapterPick) -> Result<Selected> {
    use burn::tensor::wgpu::wgpu;
    let backends = match api {
        Api::Wgpu => wgpu::Backends::PRIMARY,
        Api::Vulkan => wgpu::Backends::VULKAN,
        Api::Metal => wgpu::Backends::METAL,
        Api::WebGpu => wgpu::Backends::BROWSER_WEBGPU,
    };
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let infos: Vec<wgpu::AdapterInfo> = pollster::block_on(instance.enumerate_adapters(backends))
        .iter()
        .map(|a| a.get_info())
        .collect();
    // `wgpu` lets burn choose the API: index within the API of the first
    // hardware adapter (the one burn's automatic choice starts).
    let backend = infos
        .iter()
        .find(|i| i.device_type != wgpu::DeviceType::Cpu)
        .or(infos.first())
        .map(|i| i.backend);
    let adapters: Vec<(String, wgpu::DeviceType)> = infos
        .iter()
        .filter(|i| Some(i.backend) == backend)
        .map(|i| (i.name.clone(), i.device_type))
        .collect();
    let kind = pick_adapter(&adapters, pick)?;
    pollster::block_on(gpu_async(api.name(), Some(kind)))
}

#[cfg(all(not(feature = "wgpu"), not(target_family = "wasm")))]
fn picked(api: Api, _pick: &AdapterPick) -> Result<Selected> {
    Err(Error::Device(format!(
        "`{}:…` needs a native build with the `wgpu` feature",
        api.name()
    )))
}

fn cpu() -> Selected {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    Selected {
        device: Device::flex(),
        description: format!(
            "cpu: burn Flex backend, {threads} threads{}",
            if cfg!(feature = "x86-v4") {
                ", x86-v4 gemm"
            } else {
                ""
            }
        ),
        is_gpu: false,
        runtime: Runtime::Flex,
        fallback: None,
        limits: None,
        shader_f16: false,
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
    pollster::block_on(gpu_async(name, None))
}

/// In a browser, where nothing may block: `webgpu` (or `wgpu`) starts
/// burn's WebGPU device when `navigator.gpu` gives an adapter; `auto`
/// falls back to the CPU backend when it does not; `cpu` is Flex.
#[cfg(feature = "wgpu")]
pub async fn select_async(name: &str) -> Result<Selected> {
    match name.parse::<DeviceSpec>()? {
        DeviceSpec::Cpu => Ok(cpu()),
        DeviceSpec::Auto => match gpu_async("webgpu", None).await {
            Ok(s) => Ok(s),
            Err(e) => {
                let mut s = cpu();
                s.description += " (WebGPU unavailable)";
                s.fallback = Some(e.to_string());
                Ok(s)
            }
        },
        DeviceSpec::Gpu(api, None) => gpu_async(api.name(), None).await,
        DeviceSpec::Gpu(api, Some(_)) => Err(Error::Device(format!(
            "`{name}`: in a browser the adapter is the browser's; use `{}`",
            api.name()
        ))),
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
async fn gpu_async(name: &str, kind: Option<burn::tensor::DeviceKind>) -> Result<Selected> {
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
    let mut options = Device::wgpu_options().graphics_api(api);
    if let Some(kind) = kind {
        options = options.device_kind(kind);
    }
    let (device, setup) = options
        .init_with_setup_async()
        .await
        .map_err(|e| Error::Device(format!("no usable `{name}` adapter: {e}")))?;
    let info = setup.adapter.get_info();
    let limits = setup.device.limits();
    let limits = BufferLimits {
        max_storage_binding: limits.max_storage_buffer_binding_size,
        max_buffer: limits.max_buffer_size,
    };
    let shader_f16 = setup.device.features().contains(wgpu::Features::SHADER_F16);
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
        runtime: Runtime::Wgpu,
        fallback: None,
        limits: Some(limits),
        shader_f16,
    })
}

#[cfg(not(feature = "wgpu"))]
fn gpu(name: &str) -> Result<Selected> {
    Err(Error::Device(format!(
        "device `{name}` needs restlm built with the `wgpu` feature"
    )))
}

/// What a wgpu device's memory holds now: the bytes in live tensors, and
/// the bytes cubecl has reserved from the device (its pools keep pages, so
/// this is the high-water mark of what the work so far needed).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GpuMemory {
    pub in_use: u64,
    pub reserved: u64,
}

/// [`GpuMemory`] of `device`; None for a device that is not wgpu's.
pub fn gpu_memory(device: &Device) -> Option<GpuMemory> {
    #[cfg(feature = "wgpu")]
    {
        use burn::backend::DispatchDevice;
        use burn_cubecl::cubecl::MemoryScope;
        fn of(device: &DispatchDevice) -> Option<GpuMemory> {
            match device {
                DispatchDevice::Cube(d @ burn_cubecl::CubeDevice::Wgpu(_)) => {
                    let usage = d.client().memory_report(MemoryScope::Device).usage();
                    Some(GpuMemory {
                        in_use: usage.bytes_in_use,
                        reserved: usage.bytes_reserved,
                    })
                }
                DispatchDevice::Autodiff(inner) => of(inner),
                _ => None,
            }
        }
        of(device.as_dispatch())
    }
    #[cfg(not(feature = "wgpu"))]
    {
        let _ = device;
        None
    }
}
