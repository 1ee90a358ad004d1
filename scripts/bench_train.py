#!/usr/bin/python3
"""PyTorch-eager side of `fedtune bench train`: the same GPT-NeoX + LoRA training step the C# trainer runs.

GPT-NeoX as Hugging Face's modeling_gpt_neox.py computes it in eager mode (fused query_key_value with per-head
[q,k,v] layout, rotary on the first rotary_pct of each head, causal softmax attention, parallel residual, exact GELU,
untied embed_out), PEFT-style LoRA on query_key_value (A kaiming-uniform, B zeros, scaling alpha/r, dropout on the
LoRA input), and the HF Trainer step: loss = summed token NLL / scored tokens, backward, clip_grad_norm_(1.0),
AdamW(weight_decay=0.0) with a cosine schedule. Random weights and random token ids: speed, not quality.

Run with Debian's torch: /usr/bin/python3 scripts/bench_train.py --threads 2 --json
Prints one JSON object: tokens_per_second, peak_rss_mib, seconds_per_step, torch_version, ...
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


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

    def forward(self, ids):
        t = ids.shape[1]
        causal = torch.tril(torch.ones(t, t, dtype=torch.bool))[None, None]
        x = self.embed_in(ids)
        cos, sin = self.cos[..., :t, :], self.sin[..., :t, :]
        for layer in self.layers:
            x = layer(x, cos, sin, causal)
        return self.embed_out(self.final_layer_norm(x))


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
    p.add_argument("--json", action="store_true")
    cfg = p.parse_args()

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    model = GptNeoX(cfg)
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
        logits = model(ids)
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
        "seconds_per_step": sum(measured) / len(measured),
        "tokens_per_second": tokens / sum(measured),
        "peak_rss_mib": peak_rss_mib(),
        "trainable_parameters": sum(q.numel() for q in params),
    }
    print(json.dumps(result) if cfg.json else result)


if __name__ == "__main__":
    main()
