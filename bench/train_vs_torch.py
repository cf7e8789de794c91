"""PyTorch side of bench/train_vs_torch.cpp: the seekforge model (docs/model.md) as an efficient
eager fp32 torch.nn model, and one training step timed the way the C++ side times its own.

This is a benchmark baseline, not a reference: tests/reference/model_ref.py is the float64
reference written for fixtures (correctness first, slow MoE loop). Here everything is the fast
standard eager way: nn.Linear without bias, RMSNorm as x * rsqrt(mean(x^2) + eps) * w,
rotate-half RoPE with cos/sin tables built once, attention as softmax(q k^T * scale + causal)
@ v (PyTorch 1.13 has no scaled_dot_product_attention), SwiGLU, MoE routed by top-k with one
index_select per layer (tokens grouped by expert) -> one MLP per expert on its rows -> one
index_add_, no per-token Python loop; torch.optim.AdamW; F.cross_entropy. Parameter names are
the DESIGN names, so the C++ side's weights load with load_state_dict.

Modes (the C++ binary runs each in a fresh process):
  --mode verify --weights W.safetensors: loads seekforge's initial weights, input_ids and labels
      from W and prints "torch_loss <loss>" (the C++ side prints its own and compares).
  --mode bench: random weights and tokens; warmup, then timed steps; prints one line
      "torch_result step_median=.. step_best=.. steps=.. rss_base_mb=.. rss_peak_mb=..
       rss_growth_mb=.. foreach=.. loss=.."
      RSS: ru_maxrss (peak resident set) of this fresh process read after the model, optimiser
      and inputs exist and before the first step (base), then after the last step (peak); the
      growth is what the steps added (gradients, AdamW state made at the first step,
      activations, allocator slack).

The model is described by --config, a JSON file shaped like the TOML [model] table (keys as in
DESIGN.md "Config keys", "moe" a sub-object or absent) plus "batch_size" and "seq_len" at the
top level; the C++ side writes it from its ModelConfig.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "reference"))
from st_io import read_safetensors  # noqa: E402


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class MLP(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.gate_proj = nn.Linear(d, hidden, bias=False)
        self.up_proj = nn.Linear(d, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class Attention(nn.Module):
    def __init__(self, m):
        super().__init__()
        D, H, KV, hd = m["d_model"], m["n_heads"], m["n_kv_heads"], m["head_dim"]
        self.H, self.KV, self.hd = H, KV, hd
        self.q_proj = nn.Linear(D, H * hd, bias=False)
        self.k_proj = nn.Linear(D, KV * hd, bias=False)
        self.v_proj = nn.Linear(D, KV * hd, bias=False)
        self.o_proj = nn.Linear(H * hd, D, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        H, KV, hd = self.H, self.KV, self.hd
        q = self.q_proj(x).view(B, T, H, hd).transpose(1, 2)  # [B, H, T, hd]
        k = self.k_proj(x).view(B, T, KV, hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, KV, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if KV != H:
            k = k.repeat_interleave(H // KV, dim=1)
            v = v.repeat_interleave(H // KV, dim=1)
        scores = (q * (1.0 / math.sqrt(hd))) @ k.transpose(-1, -2)  # [B, H, T, T]
        scores = scores.masked_fill_(mask, float("-inf"))  # matmul saves inputs, not output
        p = torch.softmax(scores, dim=-1)
        out = (p @ v).transpose(1, 2).reshape(B, T, H * hd)
        return self.o_proj(out)


class Gate(nn.Module):
    def __init__(self, d, E):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(E, d))
        self.register_buffer("e_score_correction_bias", torch.zeros(E))


class MoE(nn.Module):
    def __init__(self, m):
        super().__init__()
        c = m["moe"]
        self.c = c
        D, E = m["d_model"], c["n_routed_experts"]
        self.gate = Gate(D, E)
        self.experts = nn.ModuleList([MLP(D, c["d_expert"]) for _ in range(E)])
        self.shared_experts = (MLP(D, c["n_shared_experts"] * c["d_expert"])
                               if c["n_shared_experts"] > 0 else None)
        self.last_load = None

    def forward(self, x_in):
        c = self.c
        D = x_in.shape[-1]
        x = x_in.reshape(-1, D)
        N, E, k = x.shape[0], c["n_routed_experts"], c["top_k"]
        logits = F.linear(x, self.gate.weight)
        s = torch.softmax(logits, dim=-1) if c["gate"] == "softmax" else torch.sigmoid(logits)
        with torch.no_grad():
            idx = torch.topk(s + self.gate.e_score_correction_bias, k, dim=-1).indices  # [N, k]
        w = s.gather(1, idx)
        if c["norm_topk"]:
            w = w / (w.sum(-1, keepdim=True) + 1e-20)
        if c["routed_scaling_factor"] != 1.0:
            w = w * c["routed_scaling_factor"]
        flat = idx.reshape(-1)  # position p = token * k + slot
        order = torch.argsort(flat, stable=True)  # by expert, then token, then slot
        counts = torch.bincount(flat, minlength=E)
        self.last_load = counts
        tok = order // k
        xs = x.index_select(0, tok)  # [N*k, D]
        outs = []
        for e, rows in enumerate(xs.split(counts.tolist(), dim=0)):
            if rows.shape[0] > 0:
                outs.append(self.experts[e](rows))
        ys = torch.cat(outs, dim=0) * w.reshape(-1).index_select(0, order).unsqueeze(1)
        # ys is bf16 under autocast: the sum is made in its dtype (fp32 runs: the same as x).
        y = torch.zeros(x.shape, dtype=ys.dtype).index_add_(0, tok, ys)
        if self.shared_experts is not None:
            y = y + self.shared_experts(x)
        return y.view_as(x_in)

    @torch.no_grad()
    def update_bias(self):
        load = self.last_load.to(torch.float64)
        self.gate.e_score_correction_bias += (
            self.c["bias_update_speed"] * torch.sign(load.mean() - load)).to(torch.float32)


class Block(nn.Module):
    def __init__(self, m, use_moe):
        super().__init__()
        eps = m["norm_eps"]
        self.input_layernorm = RMSNorm(m["d_model"], eps)
        self.self_attn = Attention(m)
        self.post_attention_layernorm = RMSNorm(m["d_model"], eps)
        self.mlp = MoE(m) if use_moe else MLP(m["d_model"], m["d_ff"])

    def forward(self, h, cos, sin, mask):
        h = h + self.self_attn(self.input_layernorm(h), cos, sin, mask)
        return h + self.mlp(self.post_attention_layernorm(h))


class Inner(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.embed_tokens = nn.Embedding(m["vocab_size"], m["d_model"])
        self.layers = nn.ModuleList([
            Block(m, "moe" in m and i >= m["first_dense_layers"]) for i in range(m["n_layers"])
        ])
        self.norm = RMSNorm(m["d_model"], m["norm_eps"])


class Transformer(nn.Module):
    def __init__(self, m, T):
        super().__init__()
        assert m.get("attention", "mha") == "mha" and m.get("window", 0) == 0, "mha, full causal"
        assert "mtp" not in m and not m.get("tie_embeddings", False)
        self.model = Inner(m)
        self.lm_head = nn.Linear(m["d_model"], m["vocab_size"], bias=False)
        hd = m["head_dim"]
        # Angles in float64 as docs/model.md computes them, then fp32 tables [1, 1, T, hd].
        inv = m["rope_theta"] ** (-2.0 * torch.arange(hd // 2, dtype=torch.float64) / hd)
        ang = torch.arange(T, dtype=torch.float64).view(-1, 1) * inv.view(1, -1)
        ang = torch.cat([ang, ang], dim=-1)
        self.register_buffer("cos", torch.cos(ang).float().view(1, 1, T, hd), persistent=False)
        self.register_buffer("sin", torch.sin(ang).float().view(1, 1, T, hd), persistent=False)
        self.register_buffer("mask", torch.ones(T, T, dtype=torch.bool).triu(1),
                             persistent=False)
        std = m.get("init_std", 0.02)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, 0.0, std)

    def forward(self, ids, labels):
        h = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            h = layer(h, self.cos, self.sin, self.mask)
        logits = self.lm_head(self.model.norm(h))
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1))

    def moe_layers(self):
        return [l.mlp for l in self.model.layers if isinstance(l.mlp, MoE)]


def make_optimizer(model, foreach):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                              {"params": no_decay, "weight_decay": 0.0}],
                             lr=3e-4, betas=(0.9, 0.95), eps=1e-8, foreach=foreach)


def train_step(model, opt, ids, labels, bf16):
    # bf16: the usual CPU mixed precision, torch.autocast over the forward and the loss.
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss = model(ids, labels)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    for moe in model.moe_layers():
        moe.update_bias()
    return loss.item()


def maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--mode", choices=["verify", "bench"], required=True)
    ap.add_argument("--weights")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--foreach", choices=["true", "false"], default="false")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with open(args.config) as f:
        cfg = json.load(f)
    m, B, T = cfg["model"], cfg["batch_size"], cfg["seq_len"]
    model = Transformer(m, T)

    if args.mode == "verify":
        tensors, _ = read_safetensors(args.weights)
        ids = torch.from_numpy(np.array(tensors.pop("input_ids")))
        labels = torch.from_numpy(np.array(tensors.pop("labels")))
        state = {n: torch.from_numpy(np.array(a)) for n, a in tensors.items()}
        model.load_state_dict(state, strict=True)
        with torch.no_grad():
            loss = model(ids, labels)
        print(f"torch_loss {loss.item():.8f}")
        return

    V = m["vocab_size"]
    tokens = torch.randint(0, V, (B, T + 1))
    ids, labels = tokens[:, :T].contiguous(), tokens[:, 1:].contiguous()
    foreach = args.foreach == "true"
    opt = make_optimizer(model, foreach)
    base = maxrss_mb()
    times, loss = [], 0.0
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        loss = train_step(model, opt, ids, labels, args.precision == "bf16")
        dt = time.perf_counter() - t0
        if i >= args.warmup:
            times.append(dt)
    peak = maxrss_mb()
    print(f"torch_result step_median={statistics.median(times):.6f} step_best={min(times):.6f} "
          f"steps={len(times)} rss_base_mb={base:.1f} rss_peak_mb={peak:.1f} "
          f"rss_growth_mb={peak - base:.1f} foreach={int(foreach)} loss={loss:.6f} "
          f"times={','.join(f'{t:.4f}' for t in times)}")


if __name__ == "__main__":
    main()
