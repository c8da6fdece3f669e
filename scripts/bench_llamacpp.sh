#!/usr/bin/env bash
# Decoding speed of llama.cpp beside restlm's, on the same machine, threads
# and batch sizes (manual; not CI). Builds llama.cpp (CPU only) from the
# tree vendored in PyPI's llama-cpp-python sdist, with cmake from PyPI, into
# ~/.cache/restlm/llamacpp; then times `llama-batched-bench` on each GGUF
# given (default: SmolLM2-135M-Instruct Q4_1 as examples/smollm2-arith
# fetches it, and a Q8_0 and an F32 copy written by llama.cpp's quantizer)
# and `restlm bench --workload smollm2` at the same batch sizes, prompt and
# new-token counts.
#
#   scripts/bench_llamacpp.sh [FILE.gguf ...]
#   THREADS=2 BATCHES="1 32" PROMPT=32 NEW=32
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-$(nproc)}
BATCHES=${BATCHES:-"1 32"}
PROMPT=${PROMPT:-32}
NEW=${NEW:-32}
BIN=${RESTLM:-target/release/restlm}
CACHE=$HOME/.cache/restlm/llamacpp
URL=https://files.pythonhosted.org/packages/ec/e9/e7de2b0463ea3ffbf0ede6cb21b58c1258a8f6521aae45ca773a59fe7cf3/llama_cpp_python-0.3.36.tar.gz
SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
mkdir -p "$CACHE"

if [ ! -d "$CACHE/llama.cpp" ]; then
    echo "fetching llama.cpp's source (llama-cpp-python 0.3.36 sdist)"
    python3 - "$URL" "$SHA256" "$CACHE" <<'PY'
import hashlib, io, sys, tarfile, urllib.request
url, sha, out = sys.argv[1:4]
data = urllib.request.urlopen(url, timeout=600).read()
if hashlib.sha256(data).hexdigest() != sha:
    sys.exit("sha256 mismatch")
with tarfile.open(fileobj=io.BytesIO(data)) as t:
    root = t.getmembers()[0].name.split("/")[0]
    prefix = f"{root}/vendor/llama.cpp/"
    members = [m for m in t.getmembers() if m.name.startswith(prefix)]
    for m in members:
        m.name = "llama.cpp/" + m.name[len(prefix):]
    t.extractall(out, members=members, filter="data")
PY
fi
if ! command -v cmake > /dev/null; then
    [ -x "$CACHE/cmake/bin/cmake" ] || python3 -m pip install --quiet --target "$CACHE/cmake" cmake
    export PATH="$CACHE/cmake/bin:$PATH" PYTHONPATH="$CACHE/cmake${PYTHONPATH:+:$PYTHONPATH}"
fi
LLAMA=$CACHE/llama.cpp/build/bin
if [ ! -x "$LLAMA/llama-batched-bench" ] || [ ! -x "$LLAMA/llama-quantize" ]; then
    echo "building llama.cpp (CPU, native) in $CACHE/llama.cpp/build"
    # Without AMX even where the CPU lists it: a VM may not grant its tile
    # state (llama.cpp's AMX matmul then dies of SIGILL on `tilezero`).
    noamx=""
    [ "$(uname -m)" = x86_64 ] && noamx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
    cmake -S "$CACHE/llama.cpp" -B "$CACHE/llama.cpp/build" -DCMAKE_BUILD_TYPE=Release \
        -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF \
        -DCMAKE_C_FLAGS="$noamx" -DCMAKE_CXX_FLAGS="$noamx" > "$CACHE/build.log" 2>&1
    cmake --build "$CACHE/llama.cpp/build" --config Release -j "$(nproc)" \
        --target llama-batched-bench llama-quantize >> "$CACHE/build.log" 2>&1 \
        || { tail -20 "$CACHE/build.log"; exit 1; }
fi
[ -x "$BIN" ] || cargo build --release

models=("$@")
if [ ${#models[@]} = 0 ]; then
    q41=runs/smollm2-arith/SmolLM2-135M-Instruct.Q4_1.gguf
    [ -f "$q41" ] || { echo "no $q41: run examples/smollm2-arith/run.sh once, or name GGUF files"; exit 1; }
    for type in Q8_0 F32; do
        out=$CACHE/SmolLM2-135M-Instruct.$type.gguf
        # Requantized from Q4_1 (--allow-requantize): the same values in
        # another storage type, which is all a speed comparison needs.
        [ -f "$out" ] || "$LLAMA/llama-quantize" --allow-requantize "$q41" "$out" "$type" > /dev/null 2>&1
    done
    models=("$q41" "$CACHE/SmolLM2-135M-Instruct.Q8_0.gguf" "$CACHE/SmolLM2-135M-Instruct.F32.gguf")
fi

# restlm_decode BATCH [BENCH ARGS...]: restlm's decoding tokens/s (the
# prompt pass left out, as llama.cpp's S_TG) at that batch.
restlm_decode() {
    local b=$1
    shift
    "$BIN" --device cpu bench --workload smollm2 --steps 1 "$@" --sample-rows "$b" \
        --sample-prompt "$PROMPT" --sample-new "$NEW" --no-sampling-step --no-reforward \
        --json /tmp/restlm-decode.json > /dev/null 2>&1 \
        && python3 -c "import json; print(round(json.load(open('/tmp/restlm-decode.json'))['results'][0]['decode_tokens_per_s'], 1))"
}

echo
echo "decoding: $PROMPT-token prompts, $NEW new tokens per row, $THREADS threads"
printf '%-36s %6s %14s\n' "engine, weights" batch "new tok/s"
for b in $BATCHES; do
    for m in "${models[@]}"; do
        # S_TG: new tokens per second over all rows of the batch.
        tg=$("$LLAMA/llama-batched-bench" -m "$m" -c $((b * (PROMPT + NEW) + 64)) -b 2048 -ub 512 \
            -npp "$PROMPT" -ntg "$NEW" -npl "$b" -t "$THREADS" -tb "$THREADS" 2>/dev/null \
            | awk -F'|' '/^\|/ && $2 ~ /[0-9]/ { gsub(/ /, "", $9); print $9 }' | tail -1)
        printf '%-36s %6d %14s\n' "llama.cpp $(basename "$m" .gguf | sed 's/.*\.//')" "$b" "$tg"
    done
    rs=$(restlm_decode "$b")
    printf '%-36s %6d %14s\n' "restlm f32 (cpu)" "$b" "$rs"
    # The quantised base exists with LoRA (adapters of rank 8 add ~2% FLOPs).
    rq=$(restlm_decode "$b" --lora 8 --base-dtype q8_0)
    printf '%-36s %6d %14s\n' "restlm Q8_0 base + LoRA 8 (cpu)" "$b" "$rq"
    # The same through burn's ops instead of the host decoder (the before).
    rb=$(restlm_decode "$b" --lora 8 --base-dtype q8_0 --burn-decode)
    printf '%-36s %6d %14s\n' "  the same, burn's ops (--burn-decode)" "$b" "$rb"
done
