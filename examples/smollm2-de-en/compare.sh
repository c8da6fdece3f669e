#!/usr/bin/env bash
# ReST against its baselines on SmolLM2-135M-Instruct translating German
# into English (manual; about an hour per seed on 2 CPU cores): `restlm
# compare --init` with LoRA, every arm from one shared SFT per seed.
# SEEDS=3 for an interval (default 1); DEVICE=wgpu for a GPU.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${RESTLM:-target/release/restlm}
OUT=runs/smollm2-de-en
[ -x "$BIN" ] || cargo build --release
[ -f "$OUT/data/eval.jsonl" ] && [ -f "$OUT/data/SmolLM2-135M-Instruct.Q4_1.gguf" ] \
    || python3 examples/smollm2-de-en/prepare.py "$OUT/data"
/usr/bin/time -f "[compare: %e s, peak RSS %M KB]" \
    "$BIN" --device "${DEVICE:-cpu}" --config examples/smollm2-de-en/compare.toml \
    compare --seeds "${SEEDS:-1}" --out "$OUT/compare"
