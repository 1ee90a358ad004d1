#!/usr/bin/python3
"""Independent GPT-NeoX reference (Hugging Face modeling_gpt_neox.py semantics) on plain PyTorch (Debian's 1.13).

No transformers, no safetensors package: the safetensors format is read and written here by hand.

  make-fixtures OUT_DIR        create small random checkpoints (several configs) with inputs and expected logits
  logits MODEL_DIR INPUTS OUT  run a checkpoint folder on the inputs file (safetensors with input_ids, attention_mask)

The math follows GPTNeoXForCausalLM: fused query_key_value viewed as [B, T, heads, 3*head_size] and split per head,
rotary (rotate-half, base rotary_emb_base) on the first int(head_size*rotary_pct) dims of q and k, scores / sqrt(head_size),
causal + padding mask, softmax in float32, parallel or sequential residual, exact GELU, final layer norm, untied embed_out.
Positions follow transformers' generate for padded batches: cumsum(mask) - 1, padded slots set to 1.
"""
import json
import math
import os
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64, "F64": torch.float64}
NAMES = {v: k for k, v in DTYPES.items()}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = DTYPES[info["dtype"]]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if end > begin else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(info["shape"]).clone()
    return out


def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.contiguous()
        raw = t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def gelu(x, act):
    if act == "gelu":
        return torch.nn.functional.gelu(x)
    if act in ("gelu_new", "gelu_fast", "gelu_pytorch_tanh"):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
    if act == "relu":
        return torch.relu(x)
    raise ValueError(act)


def forward(cfg, w, input_ids, attention_mask=None):
    """Logits [B, T, V] in float32 from a state dict `w` (tensors already float32)."""
    B, T = input_ids.shape
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    hs = H // nh
    rot = int(hs * cfg.get("rotary_pct", 0.25))
    base = cfg.get("rotary_emb_base", 10000)
    eps = cfg.get("layer_norm_eps", 1e-5)
    if attention_mask is None:
        position_ids = torch.arange(T).unsqueeze(0).expand(B, T)
        allowed = torch.ones(B, T, T, dtype=torch.bool).tril()
    else:
        m = attention_mask.long()
        position_ids = (m.cumsum(-1) - 1).masked_fill(m == 0, 1)
        allowed = torch.ones(T, T, dtype=torch.bool).tril().unsqueeze(0) & (m[:, None, :] != 0)
    inv_freq = 1.0 / (base ** (torch.arange(0, rot, 2, dtype=torch.int64).float() / rot)) if rot > 0 else None

    x = w["gpt_neox.embed_in.weight"][input_ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"gpt_neox.layers.{i}."
        ln1 = torch.nn.functional.layer_norm(x, (H,), w[p + "input_layernorm.weight"], w[p + "input_layernorm.bias"], eps)
        qkv = torch.nn.functional.linear(ln1, w[p + "attention.query_key_value.weight"], w.get(p + "attention.query_key_value.bias"))
        qkv = qkv.view(B, T, nh, 3 * hs)
        q = qkv[..., :hs].permute(0, 2, 1, 3)
        k = qkv[..., hs:2 * hs].permute(0, 2, 1, 3)
        v = qkv[..., 2 * hs:].permute(0, 2, 1, 3)
        if rot > 0:
            freqs = position_ids.float()[:, :, None] * inv_freq[None, None, :]
            emb = torch.cat((freqs, freqs), dim=-1)
            cos, sin = emb.cos()[:, None], emb.sin()[:, None]
            q_rot = q[..., :rot] * cos + rotate_half(q[..., :rot]) * sin
            k_rot = k[..., :rot] * cos + rotate_half(k[..., :rot]) * sin
            q = torch.cat((q_rot, q[..., rot:]), dim=-1)
            k = torch.cat((k_rot, k[..., rot:]), dim=-1)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hs)
        scores = torch.where(allowed[:, None], scores, torch.tensor(torch.finfo(scores.dtype).min))
        probs = torch.softmax(scores.float(), dim=-1).to(v.dtype)
        attn = torch.matmul(probs, v).permute(0, 2, 1, 3).reshape(B, T, H)
        attn = torch.nn.functional.linear(attn, w[p + "attention.dense.weight"], w.get(p + "attention.dense.bias"))

        def mlp(h):
            up = torch.nn.functional.linear(h, w[p + "mlp.dense_h_to_4h.weight"], w[p + "mlp.dense_h_to_4h.bias"])
            return torch.nn.functional.linear(gelu(up, cfg.get("hidden_act", "gelu")), w[p + "mlp.dense_4h_to_h.weight"], w[p + "mlp.dense_4h_to_h.bias"])

        def ln2(h):
            return torch.nn.functional.layer_norm(h, (H,), w[p + "post_attention_layernorm.weight"], w[p + "post_attention_layernorm.bias"], eps)

        if cfg.get("use_parallel_residual", True):
            x = mlp(ln2(x)) + attn + x
        else:
            a = attn + x
            x = mlp(ln2(a)) + a
    x = torch.nn.functional.layer_norm(x, (H,), w["gpt_neox.final_layer_norm.weight"], w["gpt_neox.final_layer_norm.bias"], eps)
    out_w = w["gpt_neox.embed_in.weight"] if cfg.get("tie_word_embeddings", False) else w["embed_out.weight"]
    return torch.nn.functional.linear(x, out_w).float()


def random_checkpoint(cfg, gen, std=0.3):
    H, V, I, L = cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    bias = cfg.get("attention_bias", True)
    w = {"gpt_neox.embed_in.weight": torch.randn(V, H, generator=gen)}
    for i in range(L):
        p = f"gpt_neox.layers.{i}."
        for ln in ("input_layernorm", "post_attention_layernorm"):
            w[p + ln + ".weight"] = 1 + 0.2 * torch.randn(H, generator=gen)
            w[p + ln + ".bias"] = 0.1 * torch.randn(H, generator=gen)
        w[p + "attention.query_key_value.weight"] = std * torch.randn(3 * H, H, generator=gen)
        if bias:
            w[p + "attention.query_key_value.bias"] = 0.1 * torch.randn(3 * H, generator=gen)
        w[p + "attention.dense.weight"] = std * torch.randn(H, H, generator=gen)
        if bias:
            w[p + "attention.dense.bias"] = 0.1 * torch.randn(H, generator=gen)
        w[p + "mlp.dense_h_to_4h.weight"] = std * torch.randn(I, H, generator=gen)
        w[p + "mlp.dense_h_to_4h.bias"] = 0.1 * torch.randn(I, generator=gen)
        w[p + "mlp.dense_4h_to_h.weight"] = std * torch.randn(H, I, generator=gen)
        w[p + "mlp.dense_4h_to_h.bias"] = 0.1 * torch.randn(H, generator=gen)
    w["gpt_neox.final_layer_norm.weight"] = 1 + 0.2 * torch.randn(H, generator=gen)
    w["gpt_neox.final_layer_norm.bias"] = 0.1 * torch.randn(H, generator=gen)
    if not cfg.get("tie_word_embeddings", False):
        w["embed_out.weight"] = std * torch.randn(V, H, generator=gen)
    return w


FIXTURES = {
    # name: (config overrides, file dtype, add HF buffers to the file)
    "rotary025-parallel": ({"rotary_pct": 0.25, "use_parallel_residual": True}, torch.float32, True),
    "rotary100-sequential": ({"rotary_pct": 1.0, "use_parallel_residual": False}, torch.float32, False),
    "rotary050-parallel-f16": ({"rotary_pct": 0.5, "use_parallel_residual": True, "rotary_emb_base": 500}, torch.float16, False),
    "rotary025-nobias-gelunew": ({"rotary_pct": 0.25, "attention_bias": False, "hidden_act": "gelu_new"}, torch.float32, False),
}


def make_fixtures(out_dir):
    gen = torch.Generator().manual_seed(20261124)
    for name, (overrides, dtype, buffers) in FIXTURES.items():
        cfg = {
            "architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox", "vocab_size": 61, "hidden_size": 32,
            "num_attention_heads": 4, "num_hidden_layers": 2, "intermediate_size": 64, "hidden_act": "gelu",
            "rotary_pct": 0.25, "rotary_emb_base": 10000, "max_position_embeddings": 64, "layer_norm_eps": 1e-5,
            "use_parallel_residual": True, "tie_word_embeddings": False, "attention_bias": True, "rope_scaling": None,
            "bos_token_id": 0, "eos_token_id": 0, "initializer_range": 0.02,
        }
        cfg.update(overrides)
        folder = os.path.join(out_dir, name)
        os.makedirs(folder, exist_ok=True)
        w = {k: v.to(dtype) for k, v in random_checkpoint(cfg, gen).items()}
        stored = dict(w)
        if buffers:
            for i in range(cfg["num_hidden_layers"]):
                p = f"gpt_neox.layers.{i}.attention."
                stored[p + "bias"] = torch.ones(1, 1, 8, 8, dtype=dtype).tril()
                stored[p + "masked_bias"] = torch.tensor(-1e9, dtype=dtype)
                stored[p + "rotary_emb.inv_freq"] = torch.ones(4, dtype=dtype)
        write_safetensors(os.path.join(folder, "model.safetensors"), stored, {"format": "pt"})
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        V = cfg["vocab_size"]
        ids = torch.randint(0, V, (2, 7), generator=gen)
        mask = torch.ones(2, 7, dtype=torch.int64)
        mask[1, :3] = 0  # left padding
        ids[1, :3] = 0
        wf = {k: v.float() for k, v in w.items()}
        with torch.no_grad():
            padded = forward(cfg, wf, ids, mask)
            plain = forward(cfg, wf, ids, None)
            row = forward(cfg, wf, ids[1:, 3:], None)  # the padded row without its padding
        # Left padding must not change the real tokens' logits (positions from the mask).
        assert torch.allclose(padded[1, 3:], row[0], atol=1e-4), "padding changed real-token logits"
        write_safetensors(os.path.join(folder, "expected.safetensors"), {
            "input_ids": ids, "attention_mask": mask, "logits_masked": padded, "logits_unmasked": plain})
        print(name, "written", sum(t.numel() for t in w.values()), "weights")
        if name == "rotary025-parallel":
            # The same checkpoint as torch.save(state_dict) (zip format), with a non-contiguous tensor and an int buffer,
            # for the pytorch_model.bin fallback.
            bin_folder = os.path.join(out_dir, name + "-bin")
            os.makedirs(bin_folder, exist_ok=True)
            state = {k: v.clone() for k, v in stored.items()}
            state["embed_out.weight"] = state["embed_out.weight"].t().contiguous().t()
            assert not state["embed_out.weight"].is_contiguous()
            state["gpt_neox.layers.0.attention.bias"] = torch.ones(1, 1, 8, 8, dtype=torch.bool).tril()
            torch.save(state, os.path.join(bin_folder, "pytorch_model.bin"))
            for f in ("config.json", "expected.safetensors"):
                with open(os.path.join(folder, f), "rb") as src, open(os.path.join(bin_folder, f), "wb") as dst:
                    dst.write(src.read())


def logits_command(model_dir, inputs_path, out_path):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    w = {k: v.float() for k, v in read_safetensors(os.path.join(model_dir, "model.safetensors")).items()}
    inputs = read_safetensors(inputs_path)
    with torch.no_grad():
        logits = forward(cfg, w, inputs["input_ids"], inputs.get("attention_mask"))
    write_safetensors(out_path, {"logits": logits})


if __name__ == "__main__":
    torch.set_num_threads(1)
    if len(sys.argv) == 3 and sys.argv[1] == "make-fixtures":
        make_fixtures(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "logits":
        logits_command(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
