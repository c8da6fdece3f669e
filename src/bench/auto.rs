//! `--device auto` with a hardware GPU present: a few training and
//! decoding steps of the policy's shape timed on the GPU and on the CPU
//! backend, and the device the command's work finishes sooner on. It sits
//! above `bench` (whose workloads it times), so `device` itself only picks
//! and describes devices.

use crate::device::{self, Selected};
use crate::error::Result;
use crate::model::ModelConfig;

/// How much of each kind of work a command will do, for `auto` to weigh
/// the devices by: optimizer steps at `train_batch` rows, and decoding
/// steps at `sample_rows` rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub train_steps: usize,
    pub train_batch: usize,
    pub decode_steps: usize,
    pub sample_rows: usize,
}

/// One device's probe: milliseconds per training step and per decoding step.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProbeTimes {
    pub train_ms: f64,
    pub decode_ms: f64,
}

impl ProbeTimes {
    /// The plan's estimated wall time on this device, in seconds.
    pub fn estimate_s(&self, plan: &Plan) -> f64 {
        (self.train_ms * plan.train_steps as f64 + self.decode_ms * plan.decode_steps as f64) / 1e3
    }
}

/// `auto`'s verdict between a GPU and the CPU backend for a plan: whether
/// the GPU wins, and a sentence saying why.
pub fn weigh(gpu: &ProbeTimes, cpu: &ProbeTimes, plan: &Plan) -> (bool, String) {
    let (g, c) = (gpu.estimate_s(plan), cpu.estimate_s(plan));
    let gpu_wins = g <= c;
    let why = format!(
        "auto: the GPU {} for this work, about {g:.0} s against {c:.0} s on the CPU backend \
         (probe: training step {:.1} vs {:.1} ms, decoding step {:.1} vs {:.1} ms; \
         {} training and {} decoding steps planned)",
        if gpu_wins { "is faster" } else { "is slower" },
        gpu.train_ms,
        cpu.train_ms,
        gpu.decode_ms,
        cpu.decode_ms,
        plan.train_steps,
        plan.decode_steps
    );
    (gpu_wins, why)
}

/// Part of the key of `auto`'s cached probes: raised by a change that moves
/// either backend's speed (2: the CPU backend's fused training ops, 2-D
/// projections and allocator settings made CPU training 2–3× faster; 3: the
/// CPU attention core and the wgpu decode kernels; 4: CPU sampling rows in
/// parallel, residual adds and the query scale folded into the wgpu decode
/// kernels), so figures measured by an older restlm are not reused.
#[cfg(all(feature = "wgpu", not(target_family = "wasm")))]
const SPEED_REVISION: u32 = 4;

/// `device::select`, except that `auto` with a hardware GPU present times a few
/// training and decoding steps of `model` on the GPU and on the CPU backend
/// and takes the device the plan finishes sooner on. Probes are cached per
/// adapter, driver and shape in the user's cache directory
/// (`restlm/auto-device.json`). `RESTLM_PROBE_SOFTWARE_GPU=1` lets a
/// software adapter (lavapipe) compete too, for testing.
#[cfg(all(feature = "wgpu", not(target_family = "wasm")))]
pub fn select_for(name: &str, model: &ModelConfig, plan: &Plan) -> Result<Selected> {
    use burn::tensor::wgpu::wgpu;
    if name != "auto" {
        return device::select(name);
    }
    let software_too = std::env::var_os("RESTLM_PROBE_SOFTWARE_GPU").is_some();
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    let info = adapters
        .iter()
        .map(|a| a.get_info())
        .find(|i| software_too || i.device_type != wgpu::DeviceType::Cpu);
    drop(adapters);
    let Some(info) = info else {
        return device::select("auto");
    };
    let Ok(gpu) = device::select("wgpu") else {
        return device::select("auto");
    };
    let cpu = device::select("cpu")?;
    let key = format!(
        "restlm {} speed {SPEED_REVISION} | {} | {} | {:?} | {} | train batch {} | sample rows {}",
        env!("CARGO_PKG_VERSION"),
        info.name,
        info.driver,
        info.backend,
        serde_json::to_string(model).unwrap_or_default(),
        plan.train_batch,
        plan.sample_rows
    );
    let mut cache = probe_cache::load();
    let (gpu_t, cpu_t, fresh) = match cache.get(&key) {
        Some(&(g, c)) => (g, c, false),
        None => {
            eprintln!(
                "auto: timing a few steps of this model on {} and on the CPU backend",
                info.name
            );
            let work = super::probe_workload(model, plan.train_batch, plan.sample_rows);
            let time = |s: &Selected| {
                let f = super::measure(&s.device, &s.description, &work);
                ProbeTimes {
                    train_ms: f.train_ms_per_step,
                    decode_ms: f.sample_ms_per_token_step,
                }
            };
            (time(&gpu), time(&cpu), true)
        }
    };
    if fresh {
        cache.insert(key, (gpu_t, cpu_t));
        probe_cache::store(&cache);
    }
    let (gpu_wins, why) = weigh(&gpu_t, &cpu_t, plan);
    let mut chosen = if gpu_wins { gpu } else { cpu };
    chosen.description += &format!(" ({why}{})", if fresh { "" } else { "; cached probe" });
    Ok(chosen)
}

#[cfg(any(not(feature = "wgpu"), target_family = "wasm"))]
pub fn select_for(name: &str, _model: &ModelConfig, _plan: &Plan) -> Result<Selected> {
    device::select(name)
}

/// `auto`'s probe results on disk: a JSON map from adapter and shape to
/// (GPU, CPU) times. Unreadable or unwritable caches cost a new probe, no
/// more.
#[cfg(all(feature = "wgpu", not(target_family = "wasm")))]
mod probe_cache {
    use super::ProbeTimes;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    pub type Cache = BTreeMap<String, (ProbeTimes, ProbeTimes)>;

    fn path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .or_else(|| std::env::var_os("LOCALAPPDATA").map(PathBuf::from))?;
        Some(base.join("restlm").join("auto-device.json"))
    }

    pub fn load() -> Cache {
        path()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub fn store(cache: &Cache) {
        if let Some(p) = path()
            && let Some(dir) = p.parent()
            && std::fs::create_dir_all(dir).is_ok()
        {
            let _ = crate::io::write_json_atomic(&p, cache);
        }
    }
}
