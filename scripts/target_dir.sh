# Sourced by the scripts that use cargo's build outputs: sets TARGET_DIR to
# cargo's target directory (`target/` unless CARGO_TARGET_DIR or a cargo
# config says otherwise), as cargo itself reports it.
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
[ -n "$TARGET_DIR" ] || { echo "cargo metadata gave no target directory"; exit 1; }
