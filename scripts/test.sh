#!/usr/bin/env bash
# Runs every test. On a machine without a Vulkan driver it first installs
# Mesa's lavapipe (software Vulkan) so the wgpu backend is tested too.
set -euo pipefail
cd "$(dirname "$0")/.."

have_vulkan() {
    compgen -G "/usr/share/vulkan/icd.d/*.json" > /dev/null || compgen -G "/etc/vulkan/icd.d/*.json" > /dev/null
}
if ! have_vulkan; then
    echo "no Vulkan driver: installing mesa-vulkan-drivers (lavapipe)"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq mesa-vulkan-drivers > /dev/null
fi

cargo test --release
