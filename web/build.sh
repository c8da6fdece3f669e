#!/usr/bin/env bash
# Builds the browser demo into web/dist/, which any static server can serve:
#   bash web/build.sh && python3 -m http.server -d web/dist 8000
# Installs what it needs: the wasm32 target and wasm-bindgen-cli at exactly
# the version in Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/target_dir.sh

rustup target add wasm32-unknown-unknown
wb=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $wb"; then
  cargo install wasm-bindgen-cli --version "$wb"
fi

# getrandom (0.3, 0.4) takes its browser backend from this cfg.
RUSTFLAGS='--cfg getrandom_backend="wasm_js"' \
  cargo build --profile wasm --target wasm32-unknown-unknown -p restlm-web

rm -rf web/dist
mkdir -p web/dist/policy
wasm-bindgen --target web --no-typescript --out-dir web/dist/pkg \
  "$TARGET_DIR/wasm32-unknown-unknown/wasm/restlm_web.wasm"
cp web/www/index.html web/www/main.js web/dist/

# The starting policy, exported by the CLI: the default run's SFT stage
# (SFT on the default task's demonstrations, as `restlm run` starts).
policy="$TARGET_DIR/web-policy"
if [ ! -f "$policy/model.bpk" ]; then
  cargo run --release -- --device cpu sft --out "$policy"
fi
cp "$policy"/{config.json,model.bpk,tokenizer.json,tokens.json} web/dist/policy/
du -sh web/dist/pkg/restlm_web_bg.wasm web/dist/policy
