#!/usr/bin/python3
"""PyTorch-eager side of `fedtune bench train`: the same GPT-NeoX + LoRA training step the C# trainer runs.

GPT-NeoX as Hugging Face's modeling_gpt_neox.py computes it in eager mode (fused query_key_value with per-head
[q,k,v] layout, rotary on the first rotary_pct of each head, causal softmax attention, parallel residual, exact GELU,
untied embed_out), PEFT-style LoRA on query_key_value (A kaiming-uniform, B zeros, scaling alpha/r, dropout on the
LoRA input), and the HF Trainer step: loss = summed token NLL / scored tokens, backward, clip_grad_norm_(1.0),
AdamW(weight_decay=0.0) with a cosine schedule. Random weights and random token ids: speed, not quality.

With --checkpointing each block is recomputed in backward (torch.utils.checkpoint, reentrant, as HF's
gradient_checkpointing); with --nf4 the frozen base Linear weights are stored as NF4 codes (blocks of 64, absmax,
bitsandbytes' code table, two codes per byte) and dequantized on every use, as QLoRA does without a GPU kernel.

Run with Debian's torch: /usr/bin/python3 scripts/bench_train.py --threads 2 --json
Prints one JSON object: tokens_per_second, peak_rss_mib, seconds_per_step (mean), step_seconds (each timed step),
torch_version, blas (the BLAS library this process loaded), ...
"""
import argparse
import json
import math
import os
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint


NF4_CODES = [
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
]


class Nf4Linear(nn.Module):
    """A frozen Linear whose weight lives as NF4 codes and is dequantized (one gather + one multiply) on every use."""

    def __init__(self, linear):
        super().__init__()
        w = linear.weight.detach().reshape(-1, 64)
        absmax = w.abs().amax(1).clamp_min(1e-12)
        table = torch.tensor(NF4_CODES)
        codes = torch.bucketize(w / absmax[:, None], (table[:-1] + table[1:]) / 2).reshape(-1, 2)
        self.register_buffer("packed", (codes[:, 0] * 16 + codes[:, 1]).to(torch.uint8))
        self.register_buffer("absmax", absmax)
        pairs = torch.stack([table.repeat_interleave(16), table.repeat(16)], 1)
        self.register_buffer("pairs", pairs)
        self.shape = linear.weight.shape
        self.bias = linear.bias

    def forward(self, x):
        weight = (self.pairs[self.packed.long()].reshape(-1, 64) * self.absmax[:, None]).reshape(self.shape)
        return F.linear(x, weight, self.bias)


class LoraLinear(nn.Module):
    def __init__(self, in_features, out_features, r, alpha, dropout):
        super().__init__()
        self.base = nn.Linear(in_features, out_features)
        self.base.weight.requires_grad_(False)
        self.base.bias.requires_grad_(False)
        self.lora_A = nn.Parameter(torch.empty(r, in_features))
        self.lora_B = nn.Parameter(torch.zeros(out_features, r))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scaling = alpha / r
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.base(x) + (self.dropout(x) @ self.lora_A.t() @ self.lora_B.t()) * self.scaling


class Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h = cfg.hidden
        self.heads = cfg.heads
        self.head_size = h // cfg.heads
        self.rot = int(self.head_size * cfg.rotary_pct)
        self.input_layernorm = nn.LayerNorm(h, eps=1e-5)
        self.post_attention_layernorm = nn.LayerNorm(h, eps=1e-5)
        self.query_key_value = LoraLinear(h, 3 * h, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout)
        self.dense = nn.Linear(h, h)
        self.dense_h_to_4h = nn.Linear(h, cfg.intermediate)
        self.dense_4h_to_h = nn.Linear(cfg.intermediate, h)

    @staticmethod
    def rotate_half(x):
        half = x.shape[-1] // 2
        return torch.cat((-x[..., half:], x[..., :half]), dim=-1)

    def attention(self, x, cos, sin, causal):
        b, t, _ = x.shape
        qkv = self.query_key_value(x).view(b, t, self.heads, 3 * self.head_size).permute(0, 2, 1, 3)
        q, k, v = qkv.split(self.head_size, dim=-1)
        q_rot, q_pass = q[..., : self.rot], q[..., self.rot:]
        k_rot, k_pass = k[..., : self.rot], k[..., self.rot:]
        q = torch.cat((q_rot * cos + self.rotate_half(q_rot) * sin, q_pass), dim=-1)
        k = torch.cat((k_rot * cos + self.rotate_half(k_rot) * sin, k_pass), dim=-1)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_size)
        scores = scores.masked_fill(~causal, torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=-1)
        out = torch.matmul(weights, v).permute(0, 2, 1, 3).reshape(b, t, -1)
        return self.dense(out)

    def forward(self, x, cos, sin, causal):
        attn = self.attention(self.input_layernorm(x), cos, sin, causal)
        mlp = self.dense_4h_to_h(F.gelu(self.dense_h_to_4h(self.post_attention_layernorm(x))))
        return x + attn + mlp


class GptNeoX(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_in = nn.Embedding(cfg.vocab, cfg.hidden)
        self.layers = nn.ModuleList([Layer(cfg) for _ in range(cfg.layers)])
        self.final_layer_norm = nn.LayerNorm(cfg.hidden, eps=1e-5)
        self.embed_out = nn.Linear(cfg.hidden, cfg.vocab, bias=False)
        rot = self.layers[0].rot
        inv_freq = 1.0 / (10000 ** (torch.arange(0, rot, 2).float() / rot))
        positions = torch.arange(cfg.seq_length).float()
        freqs = torch.einsum("i,j->ij", positions, inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos", emb.cos()[None, None], persistent=False)
        self.register_buffer("sin", emb.sin()[None, None], persistent=False)

    def forward(self, ids, checkpointing=False):
        t = ids.shape[1]
        causal = torch.tril(torch.ones(t, t, dtype=torch.bool))[None, None]
        x = self.embed_in(ids)
        cos, sin = self.cos[..., :t, :], self.sin[..., :t, :]
        if checkpointing:
            x.requires_grad_(True)  # transformers' enable_input_require_grads
        for layer in self.layers:
            if checkpointing:
                x = torch.utils.checkpoint.checkpoint(layer, x, cos, sin, causal)
            else:
                x = layer(x, cos, sin, causal)
        return self.embed_out(self.final_layer_norm(x))


def quantize_nf4(model):
    """Replaces every frozen base Linear of the blocks (not the LoRA branch, not embed_out) by its NF4 form."""
    for layer in model.layers:
        layer.query_key_value.base = Nf4Linear(layer.query_key_value.base)
        for name in ("dense", "dense_h_to_4h", "dense_4h_to_h"):
            setattr(layer, name, Nf4Linear(getattr(layer, name)))


def loaded_blas():
    """The BLAS shared library this process has mapped (Debian's torch links libblas.so.3, an alternatives link)."""
    names = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "blas" in path.lower() or "mkl" in path.lower():
                names.add(os.path.realpath(path))
    return ", ".join(sorted(names)) or "none found"


def peak_rss_mib():
    """This process's own peak RSS (VmHWM). ru_maxrss is not used: Linux carries it over from the parent across
    fork+exec, so a child of a large process would report the parent's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--name", default="pythia-70m-shape")
    p.add_argument("--vocab", type=int, default=50304)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--intermediate", type=int, default=2048)
    p.add_argument("--rotary-pct", type=float, default=0.25)
    p.add_argument("--seq-length", type=int, default=512)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--lora-alpha", type=float, default=64)
    p.add_argument("--lora-dropout", type=float, default=0.075)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--checkpointing", action="store_true")
    p.add_argument("--nf4", action="store_true")
    p.add_argument("--json", action="store_true")
    cfg = p.parse_args()

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    model = GptNeoX(cfg)
    if cfg.nf4:
        quantize_nf4(model)
    for name, param in model.named_parameters():
        if "lora_" not in name:
            param.requires_grad_(False)
    params = [q for q in model.parameters() if q.requires_grad]
    total = cfg.warmup + cfg.steps
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)

    def cosine(step):
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * step / max(1, total))))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, cosine)
    ids = torch.randint(0, cfg.vocab, (cfg.batch, cfg.seq_length))
    model.train()
    times = []
    for step in range(total):
        start = time.perf_counter()
        optimizer.zero_grad()
        logits = model(ids, cfg.checkpointing)
        labels = ids[:, 1:].reshape(-1)
        nll = F.cross_entropy(logits[:, :-1].reshape(-1, cfg.vocab).float(), labels, reduction="sum")
        (nll / labels.numel()).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        times.append(time.perf_counter() - start)

    measured = times[cfg.warmup:]
    tokens = cfg.batch * cfg.seq_length * len(measured)
    result = {
        "framework": "pytorch-eager",
        "torch_version": torch.__version__,
        "model": cfg.name,
        "threads": torch.get_num_threads(),
        "batch": cfg.batch,
        "seq_length": cfg.seq_length,
        "steps": len(measured),
        "checkpointing": cfg.checkpointing,
        "nf4": cfg.nf4,
        "blas": loaded_blas(),
        "step_seconds": measured,
        "seconds_per_step": sum(measured) / len(measured),
        "tokens_per_second": tokens / sum(measured),
        "peak_rss_mib": peak_rss_mib(),
        "trainable_parameters": sum(q.numel() for q in params),
    }
    print(json.dumps(result) if cfg.json else result)


if __name__ == "__main__":
    main()
