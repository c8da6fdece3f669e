//! `auto`'s weighing of a GPU against the CPU backend.

mod common;

use restlm::bench::auto::{Plan, ProbeTimes, weigh};

fn plan(train_steps: usize, decode_steps: usize) -> Plan {
    Plan {
        train_steps,
        train_batch: 32,
        decode_steps,
        sample_rows: 64,
    }
}

#[test]
fn the_plan_decides_between_a_fast_trainer_and_a_fast_decoder() {
    // The GPU trains 10× faster but decodes 4× slower (launch-bound).
    let gpu = ProbeTimes {
        train_ms: 10.0,
        decode_ms: 8.0,
    };
    let cpu = ProbeTimes {
        train_ms: 100.0,
        decode_ms: 2.0,
    };
    let (wins, why) = weigh(&gpu, &cpu, &plan(300, 1000));
    // 3 + 8 s against 30 + 2 s.
    assert!(wins, "{why}");
    assert!(why.contains("about 11 s against 32 s"), "{why}");
    let (wins, why) = weigh(&gpu, &cpu, &plan(10, 20_000));
    // 0.1 + 160 s against 1 + 40 s.
    assert!(!wins, "{why}");
    assert!(why.contains("is slower"), "{why}");
}

#[test]
fn estimates_add_both_kinds_of_step() {
    let t = ProbeTimes {
        train_ms: 250.0,
        decode_ms: 4.0,
    };
    assert_eq!(t.estimate_s(&plan(4, 500)), 3.0);
    assert_eq!(t.estimate_s(&plan(0, 0)), 0.0);
}

#[test]
fn an_adapter_is_picked_by_index_among_hardware_gpus_or_by_name() {
    use restlm::burn::tensor::DeviceKind;
    use restlm::burn::tensor::wgpu::wgpu::DeviceType;
    use restlm::device::{AdapterPick, pick_adapter};
    let adapters: Vec<(String, DeviceType)> = [
        ("llvmpipe (LLVM 15.0.6, 256 bits)", DeviceType::Cpu),
        ("AMD Radeon 780M", DeviceType::IntegratedGpu),
        ("NVIDIA GeForce RTX 4090", DeviceType::DiscreteGpu),
        ("NVIDIA GeForce RTX 3060", DeviceType::DiscreteGpu),
    ]
    .iter()
    .map(|(n, t)| (n.to_string(), *t))
    .collect();
    let pick = |s: &str| pick_adapter(&adapters, &AdapterPick::parse(s));
    // Index among hardware GPUs, in enumeration order; burn's per-type index.
    assert_eq!(pick("0").unwrap(), DeviceKind::IntegratedGpu(0));
    assert_eq!(pick("1").unwrap(), DeviceKind::DiscreteGpu(0));
    assert_eq!(pick("2").unwrap(), DeviceKind::DiscreteGpu(1));
    assert_eq!(pick("\"rtx 3060\"").unwrap(), DeviceKind::DiscreteGpu(1));
    assert_eq!(pick("Radeon").unwrap(), DeviceKind::IntegratedGpu(0));
    assert_eq!(pick("llvmpipe").unwrap(), DeviceKind::Cpu);
    let e = pick("3").unwrap_err().to_string();
    assert!(e.contains("no GPU 3: 3 hardware adapter(s)"), "{e}");
    let e = pick("intel").unwrap_err().to_string();
    assert!(
        e.contains("no adapter's name contains `intel`") && e.contains("RTX 4090"),
        "{e}"
    );
}

#[test]
fn device_names_parse_to_their_kind_and_bad_ones_are_named_errors() {
    use restlm::device::{AdapterPick, Api, DeviceSpec};
    let parse = |s: &str| s.parse::<DeviceSpec>();
    assert_eq!(parse("auto").unwrap(), DeviceSpec::Auto);
    assert_eq!(parse("cpu").unwrap(), DeviceSpec::Cpu);
    assert_eq!(parse("metal").unwrap(), DeviceSpec::Gpu(Api::Metal, None));
    assert_eq!(
        parse("wgpu:1").unwrap(),
        DeviceSpec::Gpu(Api::Wgpu, Some(AdapterPick::Index(1)))
    );
    assert_eq!(
        parse("vulkan:Radeon").unwrap(),
        DeviceSpec::Gpu(Api::Vulkan, Some(AdapterPick::Name("radeon".into())))
    );
    let e = restlm::device::select("cuda:0").unwrap_err().to_string();
    assert!(e.contains("unknown device `cuda`"), "{e}");
    let e = parse("cpu:1").unwrap_err().to_string();
    assert!(e.contains("only GPU APIs"), "{e}");
    // In a config, the error names the file.
    let dir = common::Scratch::new("device");
    let path = dir.join("run.toml");
    std::fs::write(&path, "device = \"gpu\"\n").unwrap();
    let e = restlm::RunConfig::load(&path).unwrap_err().to_string();
    assert!(
        e.contains("unknown device `gpu`") && e.contains(".toml"),
        "{e}"
    );
}
