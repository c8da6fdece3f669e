//! The WGSL our kernels compile to, for people to read: every kernel, and
//! every variant a launch can ask for (the sampler's passes), compiled by
//! cubecl's WGSL compiler as a launch on a wgpu device compiles it. Written
//! to `shaders/wgsl/` by `cargo run --release --example dump_wgsl`;
//! `tests/wgpu.rs` compares the checked-in files with what the kernels
//! compile to now.

use super::common::{ELEMENTWISE, HIDDEN_ROW, VOCAB_ROW};
use super::logprob::{logprob_grad_kernel, logprob_kernel};
use super::norm::{add_rms_norm_kernel, rms_norm_kernel};
use super::rope::rope_kernel;
use super::sampler::sample_kernel;
use super::swiglu::swiglu_kernel;
use crate::error::{Error, Result};
use burn::backend::DispatchDevice;
use burn::prelude::Device;
use burn_cubecl::cubecl::wgpu::WgslCompiler;
use cubecl::Compiler;
use cubecl::prelude::*;

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
    let one = || CubeCount::Static(1, 1, 1);
    let dim = |n: usize| CubeDim::new_1d(n as u32);
    let mut out = Vec::new();
    let mut add = |name: String, def: KernelDefinition| -> Result<()> {
        let shader = WgslCompiler
            .compile(def, &Default::default())
            .map_err(|e| Error::Device(format!("{name}: WGSL compilation failed: {e}")))?;
        out.push((format!("{name}.wgsl"), shader.to_string()));
        Ok(())
    };
    for bits in 0..8u32 {
        let (sampling, top_k, top_p) = (bits & 1 != 0, bits & 2 != 0, bits & 4 != 0);
        // A launch never cuts without sampling (`sample::kernels::launch_cuts`).
        if !sampling && bits != 0 {
            continue;
        }
        let name = match (sampling, top_k, top_p) {
            (false, ..) => "sample_greedy".to_string(),
            (true, false, false) => "sample".to_string(),
            (true, k, p) => format!(
                "sample_{}",
                [(k, "top_k"), (p, "top_p")]
                    .iter()
                    .filter(|(on, _)| *on)
                    .map(|(_, n)| *n)
                    .collect::<Vec<_>>()
                    .join("_")
            ),
        };
        let k = sample_kernel::create_dummy_kernel(
            props.clone(),
            target.clone(),
            one(),
            dim(VOCAB_ROW),
            buf(),
            buf(),
            buf(),
            4,
            sampling,
            top_k,
            top_p,
        );
        add(name, k.define())?;
    }
    let k = logprob_kernel::create_dummy_kernel(
        props.clone(),
        target.clone(),
        one(),
        dim(VOCAB_ROW),
        buf(),
        buf(),
        buf(),
        4,
        1,
        1,
    );
    add("logprob".into(), k.define())?;
    let k = logprob_grad_kernel::create_dummy_kernel(
        props.clone(),
        target.clone(),
        one(),
        dim(VOCAB_ROW),
        buf(),
        buf(),
        buf(),
        buf(),
        4,
        1,
        1,
    );
    add("logprob_grad".into(), k.define())?;
    let k = rms_norm_kernel::create_dummy_kernel(
        props.clone(),
        target.clone(),
        one(),
        dim(HIDDEN_ROW),
        buf(),
        buf(),
        buf(),
        4,
        1,
        1,
        1e-5,
    );
    add("rms_norm".into(), k.define())?;
    let k = add_rms_norm_kernel::create_dummy_kernel(
        props.clone(),
        target.clone(),
        one(),
        dim(HIDDEN_ROW),
        buf(),
        buf(),
        buf(),
        buf(),
        buf(),
        4,
        1,
        1,
        1e-5,
    );
    add("add_rms_norm".into(), k.define())?;
    let k = swiglu_kernel::create_dummy_kernel(
        props.clone(),
        target.clone(),
        one(),
        dim(ELEMENTWISE),
        buf(),
        buf(),
        buf(),
        4,
        1,
    );
    add("swiglu".into(), k.define())?;
    let k = rope_kernel::create_dummy_kernel(
        props,
        target,
        one(),
        dim(ELEMENTWISE),
        buf(),
        buf(),
        buf(),
        buf(),
        1,
        1,
        4,
        4,
        4,
        4,
        0,
        1,
        4,
        1.0,
    );
    add("rope".into(), k.define())?;
    Ok(out)
}
