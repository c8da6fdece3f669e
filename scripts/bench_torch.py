#!/usr/bin/env python3
"""The PyTorch side of `restlm bench`: the same model and workload, in eager
PyTorch, so that scripts/bench.sh can print the two side by side.

    bench_torch.py run --workload restlm.json --out torch.json [--device cpu|cuda]
    bench_torch.py table restlm.json torch.json [...]

`run` reads the workload (model shape, batch sizes, timed steps) from the
JSON that `restlm bench --json` wrote, so neither side states the shapes
twice. The model is Llama's layout as restlm builds it: tied embeddings,
RMSNorm, rotary positions (half-split), SwiGLU, grouped-query attention.
Training is restlm's step: token NLL on target positions, AdamW (weight
decay 0.01), gradient norm clipped per parameter at 1.0. Sampling is T = 1
through a KV cache, every step's tokens brought to the host (as restlm
does, to stop rows at <eos>). Manual benchmark: install PyTorch in a venv
(`pip install torch numpy`); nothing here runs in CI.
"""

import argparse
import json
import math
import os
import sys
import time

# Peak resident set handling, as restlm does it (Linux).


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def run(args):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    spec = json.load(open(args.workload))
    work, m = spec["workload"], spec["workload"]["model"]
    if m["arch"] != "llama":
        sys.exit(f"bench_torch.py builds Llama's layout, not {m['arch']}")
    dev = torch.device(args.device)
    if dev.type == "cpu":
        torch.set_num_threads(args.threads or os.cpu_count())
    # Plain f32 on both sides: no TF32 on the GPU's matrix units.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)

    d, layers, heads, kv = m["d_model"], m["n_layers"], m["n_heads"], m["n_kv_heads"]
    hd, vocab, ff = d // heads, m["vocab_size"], m["d_ff"]

    def rope_tables(n):
        inv = 1.0 / (m["rope_theta"] ** (torch.arange(0, hd, 2, device=dev).float() / hd))
        ang = torch.outer(torch.arange(n, device=dev).float(), inv)
        return torch.cat([ang, ang], -1).cos(), torch.cat([ang, ang], -1).sin()

    cos_all, sin_all = rope_tables(m["max_seq_len"])

    def rotate(x, pos):
        t = x.shape[2]
        cos, sin = cos_all[pos : pos + t], sin_all[pos : pos + t]
        x1, x2 = x[..., : hd // 2], x[..., hd // 2 :]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.n1 = nn.RMSNorm(d, eps=m["norm_eps"])
            self.q = nn.Linear(d, heads * hd, bias=False)
            self.k = nn.Linear(d, kv * hd, bias=False)
            self.v = nn.Linear(d, kv * hd, bias=False)
            self.o = nn.Linear(heads * hd, d, bias=False)
            self.n2 = nn.RMSNorm(d, eps=m["norm_eps"])
            self.gate = nn.Linear(d, ff, bias=False)
            self.up = nn.Linear(d, ff, bias=False)
            self.down = nn.Linear(ff, d, bias=False)

        def forward(self, x, pos, cache):
            b, t, _ = x.shape
            h = self.n1(x)
            q = rotate(self.q(h).view(b, t, heads, hd).transpose(1, 2), pos)
            k = rotate(self.k(h).view(b, t, kv, hd).transpose(1, 2), pos)
            v = self.v(h).view(b, t, kv, hd).transpose(1, 2)
            if cache is not None:
                ck, cv = cache
                ck[:, :, pos : pos + t] = k
                cv[:, :, pos : pos + t] = v
                k, v = ck[:, :, : pos + t], cv[:, :, : pos + t]
            a = F.scaled_dot_product_attention(
                q, k, v, is_causal=(t > 1), enable_gqa=(kv != heads)
            )
            x = x + self.o(a.transpose(1, 2).reshape(b, t, heads * hd))
            h = self.n2(x)
            return x + self.down(F.silu(self.gate(h)) * self.up(h))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, d)
            self.layers = nn.ModuleList(Block() for _ in range(layers))
            self.norm = nn.RMSNorm(d, eps=m["norm_eps"])
            for p in self.parameters():
                if p.dim() == 2:
                    nn.init.normal_(p, std=0.02)

        def forward(self, tokens, pos=0, caches=None):
            x = self.embed(tokens)
            for i, layer in enumerate(self.layers):
                x = layer(x, pos, None if caches is None else caches[i])
            return self.norm(x) @ self.embed.weight.T

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    model = Model().to(dev)
    name = (
        torch.cuda.get_device_name(dev)
        if dev.type == "cuda"
        else f"cpu, {torch.get_num_threads()} threads"
    )
    description = f"pytorch {torch.__version__} eager: {name}"

    # Training: rows of prompt + target, loss on target positions.
    p_len, t_len, b = work["train_prompt"], work["train_target"], work["train_batch"]
    seq = [4 + i % 50 for i in range(p_len)] + [4 + (i * 7) % 60 for i in range(t_len)]
    t = spec["train_seq"]
    inputs = torch.zeros(b, t, dtype=torch.long)
    targets = torch.zeros(b, t, dtype=torch.long)
    weights = torch.zeros(b, t)
    n = min(len(seq) - 1, t)
    inputs[:, :n] = torch.tensor(seq[:n])
    targets[:, :n] = torch.tensor(seq[1 : n + 1])
    weights[:, p_len - 1 : n] = 1.0
    inputs, targets, weights = inputs.to(dev), targets.to(dev), weights.to(dev)
    tokens_per_step = int(weights.sum().item())
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01, foreach=True)

    def step():
        logits = model(inputs)
        nll = F.cross_entropy(logits.view(-1, vocab), targets.view(-1), reduction="none")
        loss = (nll * weights.view(-1)).sum() / tokens_per_step
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grads = [p.grad for p in model.parameters()]
        norms = torch._foreach_norm(grads)
        torch._foreach_mul_(grads, [torch.clamp(1.0 / (nm + 1e-6), max=1.0) for nm in norms])
        opt.step()
        return loss

    reset_peak_rss()
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    t0 = time.perf_counter()
    step().item()
    sync()
    first_step_ms = (time.perf_counter() - t0) * 1e3
    steps = work["train_steps"]
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    loss.item()
    sync()
    train_s = time.perf_counter() - t0
    train_rss = peak_rss_mb()
    train_gpu = torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else None

    # Sampling.
    rows, prompt, new = work["sample_rows"], work["sample_prompt"], work["sample_new"]
    # A Grow's batch: rows // n prompts, each n times (every row runs in
    # full, as a straightforward sampler does).
    n_per = work.get("sample_n", 1)
    prompts = torch.tensor(
        [[4 + (i + j) % 50 for j in range(prompt)] for i in range(rows // n_per)], device=dev
    ).repeat_interleave(n_per, 0)

    def pick(logits, gen):
        probs = torch.softmax(logits.float(), -1)
        tok = torch.multinomial(probs, 1, generator=gen)
        lp = torch.log_softmax(logits.float(), -1).gather(-1, tok)
        return tok, lp

    @torch.inference_mode()
    def sample(use_cache, new=new):
        gen = torch.Generator(device=dev).manual_seed(0)
        cap = prompt + new
        caches = (
            [
                (
                    torch.zeros(rows, kv, cap, hd, device=dev),
                    torch.zeros(rows, kv, cap, hd, device=dev),
                )
                for _ in range(layers)
            ]
            if use_cache
            else None
        )
        seqs, x, pos, produced = prompts, prompts, 0, 0
        for _ in range(new):
            if use_cache:
                logits = model(x, pos, caches)[:, -1]
                pos += x.shape[1]
            else:
                logits = model(seqs)[:, -1]
            tok, _ = pick(logits, gen)
            tok_host = tok.cpu()  # restlm reads every step's tokens on the host
            produced += tok_host.numel()
            x = tok
            if not use_cache:
                seqs = torch.cat([seqs, tok], 1)
        return produced

    def timed(use_cache, new=new):
        sample(use_cache, new)
        sync()
        t0 = time.perf_counter()
        n = sample(use_cache, new)
        sync()
        return n, time.perf_counter() - t0

    model.eval()
    reset_peak_rss()
    n_new, cached_s = timed(True)
    sample_rss = peak_rss_mb()
    _, prefill_s = timed(True, 1)
    reforward = None
    if work["reforward"]:
        n2, s2 = timed(False)
        reforward = n2 / s2

    a = torch.randn(2048, 2048, device=dev)
    c = torch.randn(2048, 2048, device=dev)
    a @ c
    sync()
    best = math.inf
    for _ in range(5):
        t0 = time.perf_counter()
        a @ c
        sync()
        best = min(best, time.perf_counter() - t0)
    sgemm = 2 * 2048**3 / best / 1e9

    figures = {
        "device": description,
        "kind": "gpu" if dev.type == "cuda" else "cpu",
        "train_tokens_per_s": tokens_per_step * steps / train_s,
        "train_ms_per_step": train_s * 1e3 / steps,
        "first_step_ms": first_step_ms,
        "sample_tokens_per_s": n_new / cached_s,
        "sample_ms_per_token_step": cached_s * 1e3 / new,
        "sample_prefill_ms": prefill_s * 1e3,
        "reforward_tokens_per_s": reforward,
        "train_peak_rss_mb": train_rss,
        "sample_peak_rss_mb": sample_rss,
        "train_peak_gpu_mb": train_gpu,
        "train_gflops": spec["train_flops_per_step"] * steps / train_s / 1e9,
        "sample_gflops": spec["sample_flops"] / cached_s / 1e9,
        "sgemm_gflops": sgemm,
    }
    out = {"tool": "pytorch", "workload": work, "results": [figures]}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=2)
    print(json.dumps(figures, indent=2))


def table(args):
    """One table: restlm's rows, PyTorch's rows, and restlm ÷ PyTorch for
    each workload and each pair of devices of the same kind."""
    runs = [json.load(open(p)) for p in args.files]
    by_work = {}
    for r in runs:
        for f in r["results"]:
            by_work.setdefault(r["workload"]["name"], []).append((r["tool"], f))
    # The machine's peak: the faster of the two tools' own sgemm.
    for name, rows in by_work.items():
        peak = {}
        for _, f in rows:
            peak[f["kind"]] = max(peak.get(f["kind"], 0.0), f["sgemm_gflops"])
        print(f"\n### {name}\n")
        print(
            "| device | train tok/s | ms/step | first step ms | train RSS MB | MFU | sample tok/s (KV) | ms/token | prompt pass ms | re-forward tok/s | sample RSS MB |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        fmt = lambda v, p=0: "-" if v is None else f"{v:,.{p}f}"
        for tool, f in rows:
            mfu = 100.0 * f["train_gflops"] / peak[f["kind"]]
            print(
                f"| {f['device']} | {fmt(f['train_tokens_per_s'])} | {fmt(f['train_ms_per_step'], 1)} | {fmt(f.get('first_step_ms'))} "
                f"| {fmt(f['train_peak_rss_mb'])} | {mfu:.1f}% | {fmt(f['sample_tokens_per_s'])} "
                f"| {fmt(f['sample_ms_per_token_step'], 2)} | {fmt(f.get('sample_prefill_ms'))} | {fmt(f['reforward_tokens_per_s'])} "
                f"| {fmt(f['sample_peak_rss_mb'])} |"
            )
        torch_rows = {f["kind"]: f for tool, f in rows if tool == "pytorch"}
        for tool, f in rows:
            ref = torch_rows.get(f["kind"])
            if tool != "restlm" or ref is None:
                continue
            ratio = lambda k: (
                "-" if f.get(k) is None or not ref.get(k) else f"{f[k] / ref[k]:.2f}×"
            )
            print(
                f"| **ratio** {f['device']} ÷ PyTorch | {ratio('train_tokens_per_s')} | | | "
                f"| | {ratio('sample_tokens_per_s')} | | {ratio('sample_prefill_ms')} | {ratio('reforward_tokens_per_s')} | |"
            )
        print(f"\nMFU against the measured f32 sgemm peak: {', '.join(f'{k} {v:.0f} GFLOP/s' for k, v in peak.items())}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--workload", required=True, help="JSON written by `restlm bench --json`")
    r.add_argument("--out", required=True)
    r.add_argument("--device", default="cpu")
    r.add_argument("--threads", type=int, default=0)
    t = sub.add_parser("table")
    t.add_argument("files", nargs="+")
    args = ap.parse_args()
    run(args) if args.cmd == "run" else table(args)


if __name__ == "__main__":
    main()
