#!/usr/bin/python3
"""Writes the PyTorch reference fixtures that the C++ op tests compare against.

Run:  /usr/bin/python3 tests/reference/make_fixtures.py      (Debian python3-torch 1.13, numpy)
Out:  tests/reference/fixtures/*.safetensors                  (committed; ~250 KB in all)

This script is for generating test data only; nothing in seekforge imports it or torch. The
files are written by the small safetensors writer in st_io.py (struct + json), not by the
safetensors package. Everything is seeded: numpy.random.default_rng(SEED + fixture index).

Precision (the same for every fixture):
  - Inputs, including the upstream gradient `dout` and the AdamW gradients, are drawn in
    float64, rounded to float32 and stored as F32. Integer inputs are I64, masks U8.
  - Expected outputs and gradients are computed in float64 from those float32 values (promoted
    exactly) and stored as F64. A float32 kernel compares with a float tolerance; the float64
    instantiation of a kernel, fed the promoted inputs, can be held to ~1e-12.
Every file's __metadata__ (all values strings) holds "fixture", "seed", "inputs_dtype" = "F32",
"expected_dtype" = "F64", plus the hyper-parameters listed per fixture. Floats are Python repr
(shortest round-trip decimal). Shapes below use the metadata letters.

1. attention_causal / attention_window / attention_gqa / attention_padmask .safetensors
   metadata: B, T, H, KV, hd, scale (= 1/sqrt(hd)), causal ("1"), window ("0" = full causal,
             W > 0: query t sees keys t-W+1..t), key_mask ("0"/"1")
   cases:    causal   B=2 T=16 H=4 KV=4 hd=8 window=0
             window   B=2 T=16 H=4 KV=4 hd=8 window=5
             gqa      B=2 T=16 H=4 KV=2 hd=8 window=0  (query head h reads kv head h // (H//KV))
             padmask  B=2 T=16 H=4 KV=2 hd=8 window=0, key_mask: batch 0 all keys valid,
                      batch 1 keys t >= 12 masked (right padding; every query still sees key 0)
   tensors:  q     F32 [B,T,H,hd]    k, v  F32 [B,T,KV,hd]    dout F32 [B,T,H,hd]
             key_mask U8 [B,T] (padmask only; 1 = key may be attended, 0 = masked out)
             out   F64 [B,T,H,hd]    out[b,t,h] = sum_s P[b,h,t,s] v[b,s,h//(H/KV)],
                   P = softmax_s(scale * q[b,t,h] . k[b,s,h//(H/KV)] over allowed s)
             lse   F64 [B,H,T]       natural-log logsumexp of the scaled, masked scores (what a
                                     flash-style backward keeps)
             dq    F64 [B,T,H,hd]    dk, dv F64 [B,T,KV,hd]   gradients of sum(out * dout)
   No RoPE is applied here (q and k are used as given).

2. rmsnorm.safetensors
   metadata: N, C, eps ("1e-06")
   tensors:  x F32 [N,C] (row 0 is scaled by 1e-4 so that eps matters), w F32 [C],
             dout F32 [N,C]
             y    F64 [N,C]   y = x / sqrt(mean(x^2, -1) + eps) * w
             rstd F64 [N]     1 / sqrt(mean(x^2, -1) + eps)
             dx   F64 [N,C]   dw F64 [C]   gradients of sum(y * dout)

3. rope.safetensors
   metadata: B, T, H, hd, theta ("10000.0"), start_pos ("5"); positions start_pos..start_pos+T-1
   tensors:  x F32 [B,T,H,hd], dout F32 [B,T,H,hd]
             cos, sin F64 [T, hd/2]   cos/sin(pos_t * theta^(-2j/hd)), j < hd/2
             out F64 [B,T,H,hd]  rotate-half: out[j]      = x[j] cos - x[j+hd/2] sin,
                                              out[j+hd/2] = x[j+hd/2] cos + x[j] sin
             dx  F64 [B,T,H,hd]  gradient of sum(out * dout)

4. cross_entropy.safetensors
   metadata: N, V (50), ignore_index ("-100"), label_smoothing ("0.1"), n_valid
   tensors:  logits F32 [N,V]; targets I64 [N] (rows 2, 7, 11 are -100)
             loss    F64 []   mean over valid rows of (1-eps)(-log p_t) + eps * mean_v(-log p_v)
             losses  F64 [N]  that per-row term (0 on ignored rows)
             dlogits F64 [N,V] gradient of loss (dloss = 1; ignored rows are 0)
             loss_plain F64 [], dlogits_plain F64 [N,V]   the same without smoothing (eps = 0)
   The script asserts loss == torch.nn.functional.cross_entropy(logits, targets,
   ignore_index=-100, label_smoothing=0.1) (and the plain one with label_smoothing=0).

5. adamw.safetensors
   metadata: steps ("10"), lr ("0.01"), beta1 ("0.9"), beta2 ("0.95"), eps ("1e-08"),
             n_params ("3"), p0_weight_decay ("0.1"), p1_weight_decay ("0.0"),
             p2_weight_decay ("0.1")  (two torch param groups: {p0, p2} and {p1})
   tensors, for i in 0, 1, 2 with shapes p0 [8,6], p1 [6], p2 [10,4]:
             p{i}_init       F32 [shape]      initial parameter
             p{i}_grads      F32 [10, shape]  gradient fed at step s (row s-1), s = 1..10
             p{i}_after      F64 [10, shape]  parameter after step s (row s-1)
             p{i}_exp_avg    F64 [shape]      first moment after step 10
             p{i}_exp_avg_sq F64 [shape]      second moment after step 10
   Computed by torch.optim.AdamW on float64 copies (foreach=False), cross-checked against this
   update (torch 1.13), step s = 1..10:
             p <- p * (1 - lr * wd)
             m <- beta1 m + (1 - beta1) g          v <- beta2 v + (1 - beta2) g^2
             p <- p - (lr / (1 - beta1^s)) * m / (sqrt(v) / sqrt(1 - beta2^s) + eps)
"""

import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

from st_io import read_safetensors, write_safetensors

SEED = 20261122
HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "fixtures")

torch.set_num_threads(2)


def f32(rng, *shape, scale=1.0):
    """float64 normal draws rounded to float32."""
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def t64(a):
    """float32 numpy -> float64 torch tensor (exact promotion) that requires grad."""
    return torch.from_numpy(a.astype(np.float64)).requires_grad_(True)


def np64(t):
    return t.detach().numpy().astype(np.float64)


def base_meta(name, index):
    return {"fixture": name, "seed": str(SEED + index), "inputs_dtype": "F32",
            "expected_dtype": "F64"}


# ---------------------------------------------------------------------------------------------
# 1. attention


def attention_reference(q, k, v, scale, window, key_mask):
    """q [B,T,H,hd], k/v [B,T,KV,hd] float64 -> out [B,T,H,hd], lse [B,H,T]."""
    B, T, H, hd = q.shape
    KV = k.shape[2]
    group = H // KV
    # Query head h reads kv head h // group: repeat_interleave gives exactly that mapping.
    kh = k.repeat_interleave(group, dim=2)
    vh = v.repeat_interleave(group, dim=2)
    scores = torch.einsum("bthd,bshd->bhts", q, kh) * scale
    t = torch.arange(T).view(T, 1)
    s = torch.arange(T).view(1, T)
    allowed = s <= t
    if window > 0:
        allowed = allowed & (s > t - window)
    allowed = allowed.view(1, 1, T, T).expand(B, H, T, T)
    if key_mask is not None:
        allowed = allowed & key_mask.view(B, 1, 1, T).bool()
    scores = scores.masked_fill(~allowed, float("-inf"))
    lse = torch.logsumexp(scores, dim=-1)
    p = torch.softmax(scores, dim=-1)
    out = torch.einsum("bhts,bshd->bthd", p, vh)
    return out, lse


def attention_loop(q, k, v, scale, window, key_mask):
    """Independent per-element version of the same contract (checks the vectorised one)."""
    B, T, H, hd = q.shape
    KV = k.shape[2]
    out = np.zeros((B, T, H, hd))
    for b in range(B):
        for h in range(H):
            g = h // (H // KV)
            for t in range(T):
                keys = [s for s in range(T) if s <= t and (window == 0 or s > t - window)
                        and (key_mask is None or key_mask[b, s])]
                sc = np.array([scale * np.dot(q[b, t, h], k[b, s, g]) for s in keys])
                w = np.exp(sc - sc.max())
                w /= w.sum()
                out[b, t, h] = sum(wi * v[b, s, g] for wi, s in zip(w, keys))
    return out


def make_attention(name, index, B, T, H, KV, hd, window, padmask):
    rng = np.random.default_rng(SEED + index)
    q = f32(rng, B, T, H, hd)
    k = f32(rng, B, T, KV, hd)
    v = f32(rng, B, T, KV, hd)
    dout = f32(rng, B, T, H, hd)
    key_mask = None
    if padmask:
        key_mask = np.ones((B, T), dtype=np.uint8)
        key_mask[1, 12:] = 0
    scale = 1.0 / math.sqrt(hd)
    qt, kt, vt = t64(q), t64(k), t64(v)
    mask_t = None if key_mask is None else torch.from_numpy(key_mask)
    out, lse = attention_reference(qt, kt, vt, scale, window, mask_t)
    out.backward(torch.from_numpy(dout.astype(np.float64)))
    loop = attention_loop(q.astype(np.float64), k.astype(np.float64), v.astype(np.float64),
                          scale, window, key_mask)
    assert np.allclose(loop, np64(out), rtol=0, atol=1e-12), name
    tensors = [("q", q), ("k", k), ("v", v), ("dout", dout)]
    if key_mask is not None:
        tensors.append(("key_mask", key_mask))
    tensors += [("out", np64(out)), ("lse", np64(lse)), ("dq", np64(qt.grad)),
                ("dk", np64(kt.grad)), ("dv", np64(vt.grad))]
    meta = base_meta(name, index)
    meta.update({"B": str(B), "T": str(T), "H": str(H), "KV": str(KV), "hd": str(hd),
                 "scale": repr(scale), "causal": "1", "window": str(window),
                 "key_mask": "1" if padmask else "0"})
    return tensors, meta


# ---------------------------------------------------------------------------------------------
# 2. rmsnorm


def make_rmsnorm(name, index, N=16, C=64, eps=1e-6):
    rng = np.random.default_rng(SEED + index)
    x = rng.standard_normal((N, C))
    x[0] *= 1e-4  # mean(x^2) ~ 1e-8 << eps: the eps term is visible in this row
    x = x.astype(np.float32)
    w = (1.0 + 0.1 * rng.standard_normal(C)).astype(np.float32)
    dout = f32(rng, N, C)
    xt, wt = t64(x), t64(w)
    rstd = torch.rsqrt(xt.pow(2).mean(-1, keepdim=True) + eps)
    y = xt * rstd * wt
    y.backward(torch.from_numpy(dout.astype(np.float64)))
    tensors = [("x", x), ("w", w), ("dout", dout), ("y", np64(y)),
               ("rstd", np64(rstd).reshape(N)), ("dx", np64(xt.grad)), ("dw", np64(wt.grad))]
    meta = base_meta(name, index)
    meta.update({"N": str(N), "C": str(C), "eps": repr(eps)})
    return tensors, meta


# ---------------------------------------------------------------------------------------------
# 3. rope


def make_rope(name, index, B=2, T=8, H=3, hd=16, theta=10000.0, start_pos=5):
    rng = np.random.default_rng(SEED + index)
    x = f32(rng, B, T, H, hd)
    dout = f32(rng, B, T, H, hd)
    half = hd // 2
    pos = torch.arange(start_pos, start_pos + T, dtype=torch.float64)
    inv_freq = theta ** (-2.0 * torch.arange(half, dtype=torch.float64) / hd)
    ang = pos.view(T, 1) * inv_freq.view(1, half)  # [T, half]
    cos, sin = torch.cos(ang), torch.sin(ang)
    xt = t64(x)
    x1, x2 = xt[..., :half], xt[..., half:]
    c = cos.view(1, T, 1, half)
    s = sin.view(1, T, 1, half)
    out = torch.cat([x1 * c - x2 * s, x2 * c + x1 * s], dim=-1)
    out.backward(torch.from_numpy(dout.astype(np.float64)))
    # Rotation is orthogonal: the gradient is the inverse rotation of dout.
    d = dout.astype(np.float64)
    cn, sn = cos.numpy().reshape(1, T, 1, half), sin.numpy().reshape(1, T, 1, half)
    dx = np.concatenate([d[..., :half] * cn + d[..., half:] * sn,
                         d[..., half:] * cn - d[..., :half] * sn], axis=-1)
    assert np.allclose(dx, np64(xt.grad), rtol=0, atol=1e-13)
    tensors = [("x", x), ("dout", dout), ("cos", cos.numpy()), ("sin", sin.numpy()),
               ("out", np64(out)), ("dx", np64(xt.grad))]
    meta = base_meta(name, index)
    meta.update({"B": str(B), "T": str(T), "H": str(H), "hd": str(hd), "theta": repr(theta),
                 "start_pos": str(start_pos)})
    return tensors, meta


# ---------------------------------------------------------------------------------------------
# 4. cross-entropy


def smoothed_ce(logits, targets, eps, ignore_index=-100):
    """Returns (mean loss, per-row losses) with the formula in the module docstring."""
    logp = torch.log_softmax(logits, dim=-1)
    valid = targets != ignore_index
    safe_t = torch.where(valid, targets, torch.zeros_like(targets))
    nll = -logp.gather(1, safe_t.view(-1, 1)).view(-1)
    smooth = -logp.mean(dim=-1)
    rows = ((1 - eps) * nll + eps * smooth) * valid.to(logits.dtype)
    return rows.sum() / valid.sum(), rows


def make_cross_entropy(name, index, N=12, V=50, eps=0.1):
    rng = np.random.default_rng(SEED + index)
    logits = f32(rng, N, V, scale=3.0)
    targets = rng.integers(0, V, size=N).astype(np.int64)
    targets[[2, 7, 11]] = -100
    tgt = torch.from_numpy(targets)
    results = {}
    for tag, e in (("", eps), ("_plain", 0.0)):
        lt = t64(logits)
        loss, rows = smoothed_ce(lt, tgt, e)
        ref = F.cross_entropy(lt.detach(), tgt, ignore_index=-100, label_smoothing=e)
        assert abs(loss.item() - ref.item()) <= 1e-12 * abs(ref.item()), (loss.item(), ref.item())
        loss.backward()
        # The gradient must match torch's own cross_entropy as well.
        lt2 = t64(logits)
        F.cross_entropy(lt2, tgt, ignore_index=-100, label_smoothing=e).backward()
        assert np.allclose(np64(lt.grad), np64(lt2.grad), rtol=0, atol=1e-14)
        results[tag] = (np64(loss).reshape(()), np64(rows), np64(lt.grad))
    tensors = [("logits", logits), ("targets", targets),
               ("loss", results[""][0]), ("losses", results[""][1]),
               ("dlogits", results[""][2]),
               ("loss_plain", results["_plain"][0]), ("dlogits_plain", results["_plain"][2])]
    meta = base_meta(name, index)
    meta.update({"N": str(N), "V": str(V), "ignore_index": "-100", "label_smoothing": repr(eps),
                 "n_valid": str(int((targets != -100).sum()))})
    return tensors, meta


# ---------------------------------------------------------------------------------------------
# 5. adamw


def make_adamw(name, index, steps=10, lr=1e-2, betas=(0.9, 0.95), eps=1e-8, wd=0.1):
    rng = np.random.default_rng(SEED + index)
    shapes = [(8, 6), (6,), (10, 4)]
    decay = [wd, 0.0, wd]
    init = [f32(rng, *s, scale=0.5) for s in shapes]
    grads = [np.stack([f32(rng, *s) for _ in range(steps)]) for s in shapes]
    params = [torch.from_numpy(p.astype(np.float64)).requires_grad_(True) for p in init]
    opt = torch.optim.AdamW(
        [{"params": [params[0], params[2]], "weight_decay": decay[0]},
         {"params": [params[1]], "weight_decay": decay[1]}],
        lr=lr, betas=betas, eps=eps, foreach=False)
    after = [np.zeros((steps,) + s) for s in shapes]
    # Independent float64 implementation of the documented update.
    mine = [p.astype(np.float64) for p in init]
    m = [np.zeros(s) for s in shapes]
    v = [np.zeros(s) for s in shapes]
    b1, b2 = betas
    for step in range(1, steps + 1):
        for i, p in enumerate(params):
            p.grad = torch.from_numpy(grads[i][step - 1].astype(np.float64))
        opt.step()
        for i in range(3):
            g = grads[i][step - 1].astype(np.float64)
            mine[i] = mine[i] * (1 - lr * decay[i])
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            denom = np.sqrt(v[i]) / math.sqrt(1 - b2 ** step) + eps
            mine[i] = mine[i] - (lr / (1 - b1 ** step)) * m[i] / denom
            after[i][step - 1] = np64(params[i])
            assert np.allclose(mine[i], after[i][step - 1], rtol=0, atol=1e-14), (i, step)
    tensors = []
    for i in range(3):
        st = opt.state[params[i]]
        tensors += [(f"p{i}_init", init[i]), (f"p{i}_grads", grads[i]), (f"p{i}_after", after[i]),
                    (f"p{i}_exp_avg", np64(st["exp_avg"])),
                    (f"p{i}_exp_avg_sq", np64(st["exp_avg_sq"]))]
    meta = base_meta(name, index)
    meta.update({"steps": str(steps), "lr": repr(lr), "beta1": repr(betas[0]),
                 "beta2": repr(betas[1]), "eps": repr(eps), "n_params": "3"})
    for i in range(3):
        meta[f"p{i}_weight_decay"] = repr(decay[i])
    return tensors, meta


FIXTURES = [
    ("attention_causal", lambda n, i: make_attention(n, i, 2, 16, 4, 4, 8, 0, False)),
    ("attention_window", lambda n, i: make_attention(n, i, 2, 16, 4, 4, 8, 5, False)),
    ("attention_gqa", lambda n, i: make_attention(n, i, 2, 16, 4, 2, 8, 0, False)),
    ("attention_padmask", lambda n, i: make_attention(n, i, 2, 16, 4, 2, 8, 0, True)),
    ("rmsnorm", make_rmsnorm),
    ("rope", make_rope),
    ("cross_entropy", make_cross_entropy),
    ("adamw", make_adamw),
]


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    total = 0
    for index, (name, make) in enumerate(FIXTURES):
        tensors, meta = make(name, index)
        path = os.path.join(OUT_DIR, name + ".safetensors")
        write_safetensors(path, tensors, meta)
        back, back_meta = read_safetensors(path)
        assert back_meta == meta
        for tname, a in tensors:
            assert np.array_equal(back[tname], a), (name, tname)
            assert np.all(np.isfinite(back[tname])), (name, tname)
        size = os.path.getsize(path)
        total += size
        print(f"{name}.safetensors: {len(tensors)} tensors, {size} bytes")
    print(f"total {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
