//! The same checks on burn's wgpu backend. On machines without a GPU this
//! is Mesa's lavapipe (a software Vulkan driver, which the test command
//! installs). Set RESTLM_SKIP_WGPU=1 to skip where no Vulkan driver can be had.

mod common;

use common::{checks, kernels};
use restlm::burn::prelude::Device;
use restlm::rest::run::RunOptions;

fn wgpu() -> Option<(Device, String)> {
    if std::env::var_os("RESTLM_SKIP_WGPU").is_some() {
        eprintln!("RESTLM_SKIP_WGPU set: skipping");
        return None;
    }
    let s = restlm::device::select("wgpu")
        .expect("a wgpu adapter (install mesa-vulkan-drivers for lavapipe)");
    eprintln!("{}", s.description);
    Some((s.device, s.description))
}

// GPU kernels sum in other orders (tiled matmul, parallel reductions) than
// the one-token-at-a-time path: f32 rounding differences grow to ~1e-5 on
// logits of magnitude ~1, so 1e-3 has a wide margin yet catches any real
// masking or position error (those move logits by ≥ 1e-2).
const TOL: f32 = 1e-3;

/// One test so that kernels compile once for all checks (one process, one
/// runtime) — lavapipe compiles slowly.
#[test]
fn model_training_sampling_and_the_loop_on_wgpu() {
    let Some((device, adapter)) = wgpu() else {
        return;
    };
    // Every check runs, and the test fails at the end naming each that
    // failed: on a GPU lent for minutes, one run must show them all.
    let mut failed = Vec::new();
    let mut check = |name: &str, f: &dyn Fn()| {
        let t0 = std::time::Instant::now();
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
            failed.push(name.to_string());
        }
        eprintln!("check: {name} ({:.1} s)", t0.elapsed().as_secs_f64());
    };
    check("gpu memory", &|| {
        // A 16 MiB tensor alive: the device holds at least its bytes, and
        // cubecl's pools reserve at least what is in use; the CPU backend
        // reports nothing.
        let data = restlm::burn::tensor::TensorData::new(vec![1.0f32; 4 << 20], [4 << 20]);
        let t = restlm::burn::tensor::Tensor::<1>::from_data(data, &device);
        let m = restlm::device::gpu_memory(&device).expect("a wgpu device reports");
        assert!(m.in_use >= 16 << 20 && m.reserved >= m.in_use, "{m:?}");
        drop(t);
        assert!(restlm::device::gpu_memory(&Device::flex()).is_none());
    });
    check("weights read back to the host", &|| {
        // What the browser page's downloads do on WebGPU: every weight of
        // a LoRA model on a Q8_0 base read back without blocking; the copy
        // runs on the CPU and gives the GPU's logits.
        use restlm::burn::prelude::*;
        let lora = restlm::model::LoraConfig {
            rank: 4,
            alpha: 8.0,
            base: None,
            base_dtype: restlm::model::BaseDtype::Q8_0,
        };
        let cfg = common::tiny_model(96);
        let model = common::seeded_model(&cfg, &device, 5)
            .quantized(restlm::cpu::quant::QuantKind::Q8_0)
            .with_lora(&lora);
        let host = pollster::block_on(model.to_device_async(&Device::flex())).unwrap();
        let ids: Vec<i64> = (0..10).map(|i| (i * 11 % 96) as i64).collect();
        let run = |m: &restlm::model::Transformer, d: &Device| -> Vec<f32> {
            let t = Tensor::<2, Int>::from_data(TensorData::new(ids.clone(), [1, 10]), d);
            m.forward_causal(t)
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap()
        };
        let (gpu, cpu) = (run(&model, &device), run(&host, &Device::flex()));
        let d = common::max_abs_diff(&gpu, &cpu);
        assert!(d < TOL, "the host copy's logits differ by {d}");
    });
    check("causality", &|| checks::causality(&device, TOL));
    check("kv cache", &|| {
        checks::kv_cache_matches_full_forward(&device, TOL)
    });
    check("training matches cpu", &|| {
        checks::training_matches_cpu(&device, 20)
    });
    check("cached generation", &|| {
        checks::cached_generation_equals_naive(&device)
    });
    check("training memorises", &|| {
        checks::trained_model_memorises(&device, 0.3)
    });
    check("kernels run", &|| {
        let path = restlm::ops::OpPath::of(&device);
        assert!(
            path.sampler() && path.decode_kernels(),
            "{device:?}: {path:?}"
        );
    });
    check("checked-in WGSL is current", &|| {
        kernels::wgsl_is_current(&device, &adapter)
    });
    check("logprob", &|| kernels::logprob_matches_reference(&device));
    check("logprob gradient", &|| {
        kernels::logprob_gradient_matches_reference(&device)
    });
    check("chunked head log-probs", &|| {
        kernels::head_logprobs_match_reference(&device)
    });
    check("sampler statistics", &|| {
        kernels::sampler_statistics(&device)
    });
    check("sampler cuts", &|| kernels::sampler_respects_cuts(&device));
    check("sampler reference", &|| {
        kernels::sampler_matches_reference(&device)
    });
    check("quantised projection", &|| {
        kernels::quant_linear_matches_reference(&device)
    });
    check("decode kernels", &|| {
        kernels::decode_kernels_match_cpu(&device)
    });
    check("reward model", &|| {
        checks::reward_model_matches_cpu(&device)
    });
    check("device sampling", &|| {
        checks::device_sampling_equals_host(&device, false)
    });
    for name in common::hf::FIXTURES {
        check(name, &|| {
            common::hf::matches_transformers(name, &device, TOL);
        });
    }
    check("rest loop", &|| rest_loop_improves(&device));
    assert!(failed.is_empty(), "failed: {failed:?}");
    auto_probes_and_caches();
}

/// The whole ReST loop on the device lifts the held-out reward.
fn rest_loop_improves(device: &Device) {
    let dir = std::env::temp_dir().join(format!("restlm-wgpu-loop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = common::small_run(&dir, "wgpu");
    let rows = restlm::rest::run(
        &cfg,
        &RunOptions {
            init: None,
            ..RunOptions::default()
        },
        device,
    )
    .unwrap();
    let (sft, last) = (rows[0].greedy_reward, rows.last().unwrap().greedy_reward);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(last > sft + 10.0, "held-out reward {sft:.2} → {last:.2}");
}

/// `auto`'s probe, with lavapipe allowed to compete: it times both devices,
/// says why it chose, writes its cache, and answers from the cache the
/// second time (same verdict).
fn auto_probes_and_caches() {
    let cache = std::env::temp_dir().join(format!("restlm-probe-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    // SAFETY: this test binary's only test runs this after its own threads
    // are done; nothing else reads the environment concurrently.
    unsafe {
        std::env::set_var("RESTLM_PROBE_SOFTWARE_GPU", "1");
        std::env::set_var("XDG_CACHE_HOME", &cache);
    }
    let cfg = common::tiny_model(64);
    let plan = restlm::bench::auto::Plan {
        train_steps: 100,
        train_batch: 4,
        decode_steps: 100,
        sample_rows: 4,
    };
    let first = restlm::bench::auto::select_for("auto", &cfg, &plan).unwrap();
    assert!(
        first.description.contains("auto: the GPU is"),
        "{}",
        first.description
    );
    assert!(
        !first.description.contains("cached"),
        "{}",
        first.description
    );
    let file = cache.join("restlm").join("auto-device.json");
    let text = std::fs::read_to_string(&file).expect("the probe cache");
    assert!(text.contains("train_ms"), "{text}");
    let second = restlm::bench::auto::select_for("auto", &cfg, &plan).unwrap();
    assert!(
        second.description.contains("cached probe"),
        "{}",
        second.description
    );
    assert_eq!(first.is_gpu, second.is_gpu);
    eprintln!("{}", second.description);
    let _ = std::fs::remove_dir_all(&cache);
}
