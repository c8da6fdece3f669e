"""Tiny random-weight Hugging Face models and their reference outputs.

Run once by hand (not in CI):  pip install torch transformers safetensors
                               python3 scripts/make_hf_fixtures.py

For each supported architecture it writes tests/fixtures/hf/<name>/ with the
model directory exactly as `save_pretrained` lays it out (config.json,
model.safetensors or shards + index, tokenizer.json) and `reference.json`:
the logits transformers computes for fixed token ids, and its greedy
continuation of two prompts. The Rust tests (tests/hf.rs) load the same
directories with restlm and compare.

`python3 scripts/make_hf_fixtures.py --check DIR [--reference R] [--prompt P]`
instead loads a directory written by `restlm export` in transformers,
compares its logits with a fixture's reference.json (an export of a fixture
must reproduce it) and prints its greedy continuation of a prompt, to set
beside `restlm sample --temperature 0`.
"""

import argparse
import copy
import json
import os
import sys

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel,
                          LlamaConfig, LlamaForCausalLM, Qwen2Config,
                          Qwen2ForCausalLM)

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "hf")
VOCAB = 320
TEXT = [
    "la hundo manĝas panon", "the dog eats bread", "mi vidas la katon",
    "I see the cat", "Ĉu vi parolas Esperanton?", "do you speak Esperanto?",
] * 20


def tokenizer(bos, eos):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB - 8, special_tokens=sorted({bos, eos}),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(TEXT, trainer)
    return tok


def llama():
    cfg = LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=96,
                      num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, max_position_embeddings=128,
                      rope_theta=500000.0, rms_norm_eps=1e-6,
                      tie_word_embeddings=False, initializer_range=0.2,
                      bos_token_id=0, eos_token_id=1)
    return LlamaForCausalLM(cfg), ("<s>", "</s>")


def qwen2():
    cfg = Qwen2Config(vocab_size=VOCAB, hidden_size=64, intermediate_size=96,
                      num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=1, max_position_embeddings=128,
                      rope_theta=1000000.0, rms_norm_eps=1e-6,
                      tie_word_embeddings=True, initializer_range=0.2,
                      bos_token_id=0, eos_token_id=0)
    return Qwen2ForCausalLM(cfg), ("<|endoftext|>", "<|endoftext|>")


def gpt2():
    cfg = GPT2Config(vocab_size=VOCAB, n_embd=64, n_layer=2, n_head=4,
                     n_positions=128, initializer_range=0.2,
                     bos_token_id=0, eos_token_id=0)
    return GPT2LMHeadModel(cfg), ("<|endoftext|>", "<|endoftext|>")


# name: (builder, save dtype, max shard size)
MODELS = {
    "llama": (llama, torch.float32, "200KB"),   # sharded, with an index
    "qwen2": (qwen2, torch.bfloat16, None),     # bf16 weights
    "gpt2": (gpt2, torch.float16, None),        # f16 weights
}

IDS = [[5, 17, 42, 99, 250, 3, 77, 128, 64, 31, 200, 11],
       [300, 2, 9, 150, 151, 152, 8, 60, 61, 62, 290, 4]]
PROMPTS = [[12, 40, 7], [90, 91, 92, 93, 94, 95, 96]]
NEW_TOKENS = 12


def greedy(model, prompt):
    out = model.generate(torch.tensor([prompt]), max_new_tokens=NEW_TOKENS,
                         do_sample=False, eos_token_id=None, pad_token_id=0,
                         min_new_tokens=NEW_TOKENS, output_scores=True,
                         return_dict_in_generate=True)
    top2 = torch.topk(torch.cat(out.scores), 2, dim=-1).values
    gap = (top2[:, 0] - top2[:, 1]).min().item()
    return out.sequences[0, len(prompt):].tolist(), gap


def make(name):
    build, dtype, shard = MODELS[name]
    torch.manual_seed(1)
    model, (bos, eos) = build()
    # Round the weights (not buffers such as RoPE's inv_freq, which loading
    # recomputes in f32) to the saved dtype, then compute in f32 as restlm does.
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(dtype).to(torch.float32))
    model.eval()
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    kwargs = {"max_shard_size": shard} if shard else {}
    copy.deepcopy(model).to(dtype).save_pretrained(d, safe_serialization=True, **kwargs)
    tokenizer(bos, eos).save(os.path.join(d, "tokenizer.json"))
    with torch.no_grad():
        logits = model(torch.tensor(IDS)).logits
        runs = [greedy(model, p) for p in PROMPTS]
        # Greedy tokens can only be compared where the winner is clear.
        gap = min(g for _, g in runs)
        ref = {
            "ids": IDS,
            "logits": logits.flatten().tolist(),
            "shape": list(logits.shape),
            "prompts": PROMPTS,
            "greedy": [t for t, _ in runs],
            "min_top2_gap": gap,
            "transformers": __import__("transformers").__version__,
            "torch": torch.__version__,
        }
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump(ref, f)
    print(f"{name}: {sorted(os.listdir(d))}, min top-2 logit gap along the greedy paths {gap:.4f}")


def check(d, reference, prompt):
    """Loads a restlm export in transformers; compares logits with a
    fixture's reference (an export of that fixture must reproduce it) and
    prints the greedy continuation of `prompt` in restlm's plain format."""
    from transformers import AutoTokenizer
    model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(d)
    diff = 0.0
    if reference:
        with open(reference) as f:
            want = json.load(f)
        with torch.no_grad():
            got = model(torch.tensor(want["ids"])).logits.flatten()
        diff = (got - torch.tensor(want["logits"])).abs().max().item()
        print(f"{d}: {type(model).__name__}, max |Δlogit| vs {reference} = {diff:.2e}")
    if prompt:
        with open(os.path.join(d, "tokens.json")) as f:
            layout = json.load(f)
        ids = ([layout["bos"]] if layout["bos"] is not None else []) + \
            tok.encode(prompt, add_special_tokens=False) + layout["sep"]
        out = model.generate(torch.tensor([ids]), max_new_tokens=40, do_sample=False,
                             eos_token_id=layout["eos"], pad_token_id=layout["pad"])
        text = tok.decode(out[0, len(ids):], skip_special_tokens=True)
        print(f"{d}: {type(model).__name__} greedy: {prompt!r} -> {text!r}")
    return diff


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", help="a model directory restlm exported")
    ap.add_argument("--reference", help="reference.json of the fixture it came from")
    ap.add_argument("--prompt", help="print the greedy continuation of this prompt")
    args = ap.parse_args()
    if args.check:
        sys.exit(1 if check(args.check, args.reference, args.prompt) > 1e-4 else 0)
    for name in MODELS:
        make(name)
