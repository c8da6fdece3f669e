//! Writes the WGSL each of our `#[cube]` kernels (`shaders/`) compiles to
//! into `shaders/wgsl/`, one file per kernel and variant, for reading:
//! what the GPU runs, without a debugger. `tests/wgpu.rs` fails when the
//! checked-in files differ from what the kernels compile to, so run this
//! after changing a kernel and commit the result.
//!
//! `cargo run --release --example dump_wgsl` (on lavapipe, as CI runs)

use std::path::Path;

fn main() -> restlm::Result<()> {
    let selected = restlm::device::select("wgpu")?;
    // The checked-in files are what CI's adapter compiles; another adapter
    // may be offered other features and compile other WGSL.
    if !selected.description.contains("llvmpipe") {
        return Err(restlm::Error::Device(format!(
            "{}: shaders/wgsl/ holds lavapipe's WGSL; run this where wgpu picks \
             lavapipe (Mesa's mesa-vulkan-drivers, no other GPU)",
            selected.description
        )));
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders/wgsl");
    std::fs::create_dir_all(&dir).map_err(|e| restlm::Error::io(&dir, e))?;
    let shaders = restlm::shaders::wgsl::compile_all(&selected.device)?;
    for (name, source) in &shaders {
        restlm::io::write_atomic(&dir.join(name), source.as_bytes())?;
    }
    // Files of kernels that no longer exist would read as current.
    for entry in std::fs::read_dir(&dir).map_err(|e| restlm::Error::io(&dir, e))? {
        let path = entry.map_err(|e| restlm::Error::io(&dir, e))?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.ends_with(".wgsl") && !shaders.iter().any(|(n, _)| *n == name) {
            std::fs::remove_file(&path).map_err(|e| restlm::Error::io(&path, e))?;
        }
    }
    println!(
        "{} WGSL files in {} (compiled on {})",
        shaders.len(),
        dir.display(),
        selected.description
    );
    Ok(())
}
