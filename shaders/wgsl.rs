//! The WGSL our kernels compile to, for people to read: every kernel, and
//! every variant a launch can ask for (the sampler's passes), compiled by
//! cubecl's WGSL compiler as a launch on a wgpu device compiles it. Written
//! to `shaders/wgsl/` by `cargo run --release --example dump_wgsl`;
//! `tests/wgpu.rs` compares the checked-in files with what the kernels
//! compile to now.

use super::common::{ELEMENTWISE, HIDDEN_ROW, VOCAB_ROW};
use super::logprob::{logprob_grad_kernel, logprob_kernel};
use super::norm::{add_rms_norm_kernel, rms_norm_kernel};
use super::quant::{quant_matmul_grad_kernel, quant_matmul_kernel};
use super::rope::rope_kernel;
use super::sampler::sample_kernel;
use super::swiglu::swiglu_kernel;
use crate::error::{Error, Result};
use burn::backend::DispatchDevice;
use burn::prelude::Device;
use burn_cubecl::cubecl::wgpu::WgslCompiler;
use cubecl::Compiler;
use cubecl::prelude::*;
use std::path::{Path, PathBuf};

/// Where the WGSL is checked in.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders/wgsl")
}

/// Whether `adapter` (a device description) is the one the checked-in
/// files were compiled on: lavapipe, what CI runs. Another adapter may be
/// offered other features and compile other WGSL.
pub fn is_reference_adapter(adapter: &str) -> bool {
    adapter.contains("llvmpipe")
}

/// Whether two WGSL sources are the same kernel: equal but for the hash
/// cubecl appends to an entry point's name (`fn rope_kernel_051c4b29(`),
/// which comes from the kernel's Rust type id and so moves whenever the
/// crate's build metadata does (a dependency's feature turned on), while
/// the code stays the same.
pub fn same_kernel(a: &str, b: &str) -> bool {
    fn unhashed(src: &str) -> String {
        src.lines()
            .map(
                |line| match line.strip_prefix("fn ").and_then(|l| l.split_once('(')) {
                    Some((name, rest)) => match name.rsplit_once('_') {
                        Some((stem, hash))
                            if hash.len() == 8 && hash.bytes().all(|c| c.is_ascii_hexdigit()) =>
                        {
                            format!("fn {stem}_#({rest}\n")
                        }
                        _ => format!("{line}\n"),
                    },
                    None => format!("{line}\n"),
                },
            )
            .collect()
    }
    unhashed(a) == unhashed(b)
}

/// The `.wgsl` files in `dir` that no kernel in `compiled` (from
/// [`compile_all`]) compiles to any more; none when `dir` is absent.
pub fn orphans(dir: &Path, compiled: &[(String, String)]) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.ends_with(".wgsl") && !compiled.iter().any(|(n, _)| *n == name) {
            out.push(path);
        }
    }
    Ok(out)
}

/// (file name, WGSL source) of each kernel and variant, compiled for the
/// wgpu device `device` (burn's, already started).
pub fn compile_all(device: &Device) -> Result<Vec<(String, String)>> {
    let DispatchDevice::Cube(cube @ burn_cubecl::CubeDevice::Wgpu(_)) = device.as_dispatch() else {
        return Err(Error::Device(format!(
            "WGSL is compiled for a wgpu device, not {device:?}"
        )));
    };
    let client = cube.client();
    let (props, target) = (
        client.properties_shared(),
        client.target_properties_shared(),
    );
    // Buffers only give the launch its arguments' kinds; nothing runs.
    let buf = || unsafe { BufferArg::from_raw_parts(client.empty(16), 4) };
    let mut out = Vec::new();
    let mut add = |name: &str, def: KernelDefinition| -> Result<()> {
        let shader = WgslCompiler
            .compile(def, &Default::default())
            .map_err(|e| Error::Device(format!("{name}: WGSL compilation failed: {e}")))?;
        out.push((format!("{name}.wgsl"), shader.to_string()));
        Ok(())
    };
    // One kernel: its file name, its `#[cube]` function, its workgroup
    // size, then its arguments (buffers, then scalars and comptime flags).
    macro_rules! kernel {
        ($name:expr, $kernel:ident, $workgroup:expr; $($arg:expr),* $(,)?) => {
            add(
                $name,
                $kernel::create_dummy_kernel(
                    props.clone(),
                    target.clone(),
                    CubeCount::Static(1, 1, 1),
                    CubeDim::new_1d($workgroup as u32),
                    $($arg),*
                )
                .define(),
            )?
        };
    }
    // The passes a launch compiles in: greedy, or sampling with any of the
    // cuts (a launch never cuts without sampling: `sample::kernels::launch_cuts`).
    for (name, sampling, top_k, top_p) in [
        ("sample_greedy", false, false, false),
        ("sample", true, false, false),
        ("sample_top_k", true, true, false),
        ("sample_top_p", true, false, true),
        ("sample_top_k_top_p", true, true, true),
    ] {
        kernel!(name, sample_kernel, VOCAB_ROW; buf(), buf(), buf(), 4, sampling, top_k, top_p);
    }
    kernel!("logprob", logprob_kernel, VOCAB_ROW; buf(), buf(), buf(), 4, 1, 1);
    kernel!("logprob_grad", logprob_grad_kernel, VOCAB_ROW; buf(), buf(), buf(), buf(), 4, 1, 1);
    kernel!("rms_norm", rms_norm_kernel, HIDDEN_ROW; buf(), buf(), buf(), 4, 1, 1, 1e-5);
    kernel!(
        "add_rms_norm", add_rms_norm_kernel, HIDDEN_ROW;
        buf(), buf(), buf(), buf(), buf(), 4, 1, 1, 1e-5
    );
    kernel!("swiglu", swiglu_kernel, ELEMENTWISE; buf(), buf(), buf(), 4, 1);
    // quantised projection: x (or dy), values, scales, out; m, n, k, grid
    // width, Q4_0 or Q8_0.
    for (name, q4) in [("q8_0", false), ("q4_0", true)] {
        kernel!(
            &format!("quant_matmul_{name}"), quant_matmul_kernel, ELEMENTWISE;
            buf(), buf(), buf(), buf(), 1, 1, 32, 1, q4
        );
        kernel!(
            &format!("quant_matmul_grad_{name}"), quant_matmul_grad_kernel, ELEMENTWISE;
            buf(), buf(), buf(), buf(), 1, 1, 32, 1, q4
        );
    }
    // rope: x, cos, sin, out; heads, positions, head dim, three strides,
    // start, grid width, length, factor.
    kernel!(
        "rope", rope_kernel, ELEMENTWISE;
        buf(), buf(), buf(), buf(), 1, 1, 4, 4, 4, 4, 0, 1, 4, 1.0
    );
    Ok(out)
}
