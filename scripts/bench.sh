#!/usr/bin/env bash
# restlm and PyTorch eager side by side, on the same model shapes and
# workloads (`restlm bench --workload …`; scripts/bench_torch.py reads the
# workload from restlm's JSON), then one table with the ratios.
#
#   scripts/bench.sh                       # CPU: burn's Flex backend vs PyTorch on CPU
#   DEVICES="wgpu" TORCH_DEVICE=cuda scripts/bench.sh    # a GPU (see bench_gpu.sh)
#
# Environment: PYTHON (a Python with torch; default python3), RESTLM (the
# binary; default: build it, in cargo's target directory), DEVICES (restlm devices,
# space-separated; default cpu), TORCH_DEVICE (cpu or cuda), WORKLOADS
# (default "reference smollm2"), OUT (default runs/bench), STEPS (timed
# training steps, default per workload). Manual benchmark; not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
DEVICES=${DEVICES:-cpu}
TORCH_DEVICE=${TORCH_DEVICE:-cpu}
WORKLOADS=${WORKLOADS:-reference smollm2}
OUT=${OUT:-runs/bench}
if [ -z "${RESTLM:-}" ]; then
    cargo build --release --quiet
    source scripts/target_dir.sh
    RESTLM=$TARGET_DIR/release/restlm
fi
mkdir -p "$OUT"
files=()
for w in $WORKLOADS; do
    for d in $DEVICES; do
        tag=$(echo "$d" | tr -c 'a-zA-Z0-9\n' '_')
        "$RESTLM" --device "$d" bench --workload "$w" --no-sampling-step \
            ${STEPS:+--steps "$STEPS"} --json "$OUT/restlm-$w-$tag.json"
        files+=("$OUT/restlm-$w-$tag.json")
    done
    "$PYTHON" scripts/bench_torch.py run --workload "${files[-1]}" \
        --device "$TORCH_DEVICE" --out "$OUT/torch-$w-$TORCH_DEVICE.json" > /dev/null
    files+=("$OUT/torch-$w-$TORCH_DEVICE.json")
done
echo "# $(date -u +%F), $(uname -m), $(nproc) cores"
"$PYTHON" scripts/bench_torch.py table "${files[@]}" | tee "$OUT/table.md"
