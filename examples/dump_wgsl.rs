//! Writes the WGSL each of our `#[cube]` kernels (`shaders/`) compiles to
//! into `shaders/wgsl/`, one file per kernel and variant, for reading:
//! what the GPU runs, without a debugger. `tests/wgpu.rs` fails when the
//! checked-in files differ from what the kernels compile to, so run this
//! after changing a kernel and commit the result.
//!
//! `cargo run --release --example dump_wgsl` (on lavapipe, as CI runs)

use restlm::shaders::wgsl;

fn main() -> restlm::Result<()> {
    let selected = restlm::device::select("wgpu")?;
    if !wgsl::is_reference_adapter(&selected.description) {
        return Err(restlm::Error::Device(format!(
            "{}: shaders/wgsl/ holds lavapipe's WGSL; run this where wgpu picks \
             lavapipe (Mesa's mesa-vulkan-drivers, no other GPU)",
            selected.description
        )));
    }
    let dir = wgsl::dir();
    std::fs::create_dir_all(&dir).map_err(|e| restlm::Error::io(&dir, e))?;
    let shaders = wgsl::compile_all(&selected.device)?;
    for (name, source) in &shaders {
        restlm::io::write_atomic(&dir.join(name), source.as_bytes())?;
    }
    // Files of kernels that no longer exist would read as current.
    for path in wgsl::orphans(&dir, &shaders)? {
        std::fs::remove_file(&path).map_err(|e| restlm::Error::io(&path, e))?;
    }
    println!(
        "{} WGSL files in {} (compiled on {})",
        shaders.len(),
        dir.display(),
        selected.description
    );
    Ok(())
}
