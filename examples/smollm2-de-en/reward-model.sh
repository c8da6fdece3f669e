#!/usr/bin/env bash
# ReST with a learned reward on real data (manual; about an hour on 2 CPU
# cores, one seed), from compare.sh's seed-1 SFT start, whose equal-step
# SFT arm is the comparison: the data split (100 targets, 100 references,
# 100 prompts alone), the SFT policy's 4 samples at temperature 1 of the
# 200 referenced prompts scored by chrF, a reward model trained on them,
# then ReST with chrF on the referenced prompts and the model on the rest.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${RESTLM:-target/release/restlm}
D=runs/smollm2-de-en/rm
S=runs/smollm2-de-en/compare/seed-1/sft-start/ckpt/sft
CFG=examples/smollm2-de-en/reward-model.toml
[ -x "$BIN" ] || cargo build --release
[ -d "$S" ] || { echo "no $S: run examples/smollm2-de-en/compare.sh first"; exit 1; }
mkdir -p "$D"
python3 - "$D" <<'PY'
import json, sys
out = sys.argv[1]
rows = [json.loads(l) for l in open("runs/smollm2-de-en/data/train.jsonl")]
# prepare.py's order: 100 with a target, then 200 with references only.
rows = [r if i < 200 else {"prompt": r["prompt"]} for i, r in enumerate(rows)]
for name, part in [("train.jsonl", rows), ("referenced.jsonl", rows[:200])]:
    with open(f"{out}/{name}", "w") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in part)
PY
# The reward model's data: gold (chrF) scores, hotter samples.
sed -e 's/^kind = "model"/kind = "chrf"/' -e '/^path = /d' -e '/^gold = /d' \
    -e 's/^temperature = 0.8/temperature = 1.0/' "$CFG" > "$D/grow.toml"
"$BIN" --device cpu --config "$D/grow.toml" grow --policy "$S" \
    --data "$D/referenced.jsonl" --n 4 --out "$D/rm-data.jsonl"
"$BIN" --device cpu --config "$CFG" rm train --from-grown "$D/rm-data.jsonl" --out "$D/rm"
"$BIN" --device cpu --config "$CFG" run --init "$S"
