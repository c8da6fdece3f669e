#!/usr/bin/env bash
# restlm on a GPU through wgpu, both shader compilers, against PyTorch on
# the same GPU (CUDA, f32 without TF32), same workloads; one table.
#
#   scripts/bench_gpu.sh [WGSL_BINARY [SPIRV_BINARY]]
#
# WGSL_BINARY is a default build (`cargo build --release`: WGSL through
# wgpu, with fusion and autotune); SPIRV_BINARY a `--features vulkan`
# build (burn's SPIR-V compiler). Either defaults to the build under
# cargo's target directory when present. PYTHON must have torch with CUDA; WORKLOADS, OUT
# and STEPS as in scripts/bench.sh; RUN_TIMEOUT (seconds) bounds each
# restlm or PyTorch run (a hung run is skipped). UNFUSED=1 adds a row of
# the WGSL build with `--unfused` (burn's ops instead of our kernels).
# NVIDIA's Vulkan driver file names libGLX_nvidia.so.0, which needs
# libglvnd (libglvnd0, libglx0) beside libvulkan1: without it wgpu finds
# no adapter.
# Each restlm build first runs the workload untimed: on a fresh machine
# (cold autotune and pipeline caches) an H100's timed training steps took
# twice as long as on the next run. Manual benchmark; not part of CI. Sampling without the KV cache is skipped: its sequence grows a
# token per step, and each new shape compiles kernels on a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
WORKLOADS=${WORKLOADS:-reference smollm2}
OUT=${OUT:-runs/bench-gpu}
if [ -z "${1:-}" ]; then source scripts/target_dir.sh; fi
WGSL=${1:-$TARGET_DIR/release/restlm}
SPIRV=${2:-}
limit=(timeout "${RUN_TIMEOUT:-0}")
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
files=()
for w in $WORKLOADS; do
    ran=()
    runs=("wgsl:$WGSL:wgpu:" "spirv:$SPIRV:vulkan:")
    [ -z "${UNFUSED:-}" ] || runs+=("wgsl-unfused:$WGSL:wgpu:--unfused")
    for run in "${runs[@]}"; do
        IFS=: read -r tag bin dev flag <<< "$run"
        [ -n "$bin" ] && [ -x "$bin" ] || { echo "no $tag binary: skipped"; continue; }
        bench=("$bin" --device "$dev" bench --workload "$w" --no-sampling-step --no-reforward $flag)
        "${limit[@]}" "${bench[@]}" --steps 2 > /dev/null 2>&1 || true
        if "${limit[@]}" "${bench[@]}" ${STEPS:+--steps "$STEPS"} --json "$OUT/restlm-$w-$tag.json"; then
            ran+=("$OUT/restlm-$w-$tag.json")
        fi
    done
    [ ${#ran[@]} -gt 0 ] || { echo "$w: restlm ran on no GPU device"; continue; }
    files+=("${ran[@]}")
    if "${limit[@]}" "$PYTHON" scripts/bench_torch.py run --workload "${ran[0]}" \
        --device cuda --out "$OUT/torch-$w-cuda.json" > /dev/null; then
        files+=("$OUT/torch-$w-cuda.json")
    fi
done
[ ${#files[@]} -gt 0 ] || { echo "restlm ran on no GPU device"; exit 1; }
echo "# $(date -u +%F)"
"$PYTHON" scripts/bench_torch.py table "${files[@]}" | tee "$OUT/table.md"
