#!/usr/bin/env bash
# A learned reward model on the embedded `mt` task (manual; about 15
# minutes per seed on 2 CPU cores):
# 1. compare with the arm rest-rm (SEEDS=3 for an interval, default 1);
# 2. reward hacking caught: ReST on a reward model trained on few examples,
#    the learned reward rising while the verifier's falls (the run warns).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${RESTLM:-target/release/restlm}
OUT=runs/mt-reward-model
[ -x "$BIN" ] || cargo build --release
DEVICE=${DEVICE:-cpu}
"$BIN" --device "$DEVICE" --config examples/mt-reward-model/compare.toml \
    compare --seeds "${SEEDS:-1}" --out "$OUT/compare"
S=$OUT/compare/seed-1
head -n 200 "$S/rest/grow/g1.jsonl" > "$OUT/few.jsonl"
"$BIN" --device "$DEVICE" --config examples/mt-reward-model/hacking.toml \
    rm train --init "$S/sft-start/ckpt/sft" --from-grown "$OUT/few.jsonl" --out "$OUT/hacking-rm"
"$BIN" --device "$DEVICE" --config examples/mt-reward-model/hacking.toml run
