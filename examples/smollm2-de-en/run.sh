#!/usr/bin/env bash
# ReST on SmolLM2-135M-Instruct end to end (manual; ~30 min on 2 CPU cores):
# data and model, the base model's held-out chrF, LoRA SFT on the 100
# demonstrations, then one Grow over all 300 prompts and two Improve steps.
# Then the equal-step SFT control. Peak memory of each stage from /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${RESTLM:-target/release/restlm}
DEV=${DEVICE:-cpu}
OUT=runs/smollm2-de-en
[ -x "$BIN" ] || cargo build --release
python3 examples/smollm2-de-en/prepare.py "$OUT/data"
GGUF=$OUT/data/SmolLM2-135M-Instruct.Q4_1.gguf
timed() { /usr/bin/time -f "  [$1: %e s, peak RSS %M KB]" "${@:2}"; }
timed base "$BIN" --device "$DEV" --config examples/smollm2-de-en/base.toml run --init "$GGUF"
timed sft "$BIN" --device "$DEV" --config examples/smollm2-de-en/rest.toml sft --init "$GGUF" --out "$OUT/sft"
timed rest "$BIN" --device "$DEV" --config examples/smollm2-de-en/rest.toml run --init "$OUT/sft"
# The equal-step SFT control, evaluated as the base model was.
timed control "$BIN" --device "$DEV" --config examples/smollm2-de-en/sft-control.toml sft --init "$OUT/sft" --out "$OUT/sft-control"
timed control-eval "$BIN" --device "$DEV" --config examples/smollm2-de-en/base.toml run --init "$OUT/sft-control" --run-dir "$OUT/control-eval"
