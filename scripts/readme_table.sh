#!/usr/bin/env bash
# Runs the main job (`restlm run` on the default task, CPU) in a fresh run
# directory and writes the table it prints into README.md, between the
# run-table markers, so the README shows what the command prints today.
# About 2 minutes on 2 cores after the build.
#   bash scripts/readme_table.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d /tmp/restlm-readme.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cargo run --release --quiet -- --device cpu run --run-dir "$dir/run" > "$dir/out.txt"
# The table: from its header line to the first blank line after it.
awk '/^step +greedy reward/ { on = 1 } on && /^$/ { exit } on' "$dir/out.txt" > "$dir/table.txt"
[ -s "$dir/table.txt" ] || { echo "no table in the output:"; cat "$dir/out.txt"; exit 1; }
python3 - "$dir/table.txt" <<'PY'
import re, sys
table = open(sys.argv[1]).read().rstrip("\n")
readme = open("README.md").read()
pattern = re.compile(r"(<!-- run-table:[^\n]*-->\n```\n).*?(\n```\n<!-- /run-table -->)", re.S)
if not pattern.search(readme):
    sys.exit("README.md has no run-table markers")
readme = pattern.sub(lambda m: m.group(1) + table + m.group(2), readme)
open("README.md", "w").write(readme)
PY
cat "$dir/table.txt"
