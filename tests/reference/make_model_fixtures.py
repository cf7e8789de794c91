#!/usr/bin/python3
"""Writes the whole-model fixtures: loss, logits, every gradient and 5 training steps of tiny
models computed by the PyTorch reference in model_ref.py (the definition is docs/model.md).

Run:  /usr/bin/python3 tests/reference/make_model_fixtures.py   (Debian python3-torch 1.13, numpy)
Out:  tests/reference/fixtures/model_*.safetensors               (committed; ~1.6 MB in all)

Test data only: nothing in seekforge imports this or torch. Seeded: numpy default_rng(seed), seed =
SEED + fixture index + a per-fixture offset (stored in the metadata), chosen so that every
routing choice has a margin >= 1e-4 (asserted).

Precision: weights, correction biases and inputs are drawn in float64 and rounded to float32
(stored F32 / I64); every expected value is computed in float64 from those float32 values
(promoted exactly) and stored F64.

Fixtures (all: vocab 64, d_model 32, 2 layers, 4 heads, head_dim 8, d_ff 48, B = 2, T = 12,
rope_theta 10000, norm_eps 1e-6; MoE: 4 routed experts, top-2, d_expert 16):
  0 model_mha_dense               mha, dense SwiGLU, untied head
  1 model_mha_moe_softmax         mha; MoE softmax gate, first_dense_layers 1, no shared
                                  expert, norm_topk false, aux_loss_coef 0.01
  2 model_gqa_window_moe_sigmoid  n_kv_heads 2, window 5; MoE sigmoid gate, norm_topk true,
                                  routed_scaling_factor 2.5, 1 shared expert,
                                  first_dense_layers 0, capacity_factor 1.0 (the script asserts
                                  that the first forward drops at least one assignment),
                                  aux_loss_coef 0.01
  3 model_mla_moe                 mla (q_lora_rank 16, kv_lora_rank 16, qk_nope 8, qk_rope 4,
                                  v_head_dim 8); MoE softmax, first_dense_layers 1,
                                  norm_topk true, aux_loss_coef 0.01; MTP depth 1, loss_weight
                                  0.3 (module index 2, its FFN is MoE)
  4 model_tied                    mha dense, tie_embeddings true, label_smoothing 0.1
Every MoE fixture has a nonzero correction bias (normal * 0.2 with the softmax gate, normal *
0.05 with the sigmoid gate; the script asserts the choice
differs from plain top-k of s for at least one token, and that at least 3 experts get load).
bias_update_speed is 0.01 in every MoE fixture.

The fixture weights are NOT the init distribution (so that every path carries signal): 2-D
weights normal(0, 0.15) except model.embed_tokens normal(0, 0.5) and mlp.gate.weight
normal(0, 0.3); norm weights 1 + normal(0, 0.1).

Tensors in every file:
  <param name>            F32  every parameter under its DESIGN / docs/model.md name
                               (no lm_head.weight when tied)
  model.layers.<i>.mlp.gate.e_score_correction_bias  F32 [E]  the buffer, per MoE layer
                               (MTP module included); it has no .grad
  input_ids               I64 [B,T]  random tokens
  labels                  I64 [B,T]  the next token (input_ids shifted, the last from the same
                               random stream); labels[0,3], labels[1,7], labels[1,11] = -100
  loss                    F64 []     the full loss (CE + balance terms + MTP), docs/model.md
  logits                  F64 [B,T,V]
  ce                      F64 []     the main cross-entropy term alone
  balance                 F64 [n_moe_layers]  each MoE layer's balance term (aux > 0 only),
                               in layer order
  mtp_loss                F64 [depth] L_k (MTP only)
  <param name>.grad       F64 [shape] d loss / d param, every parameter
  moe.<i>.load            F64 [E]    assignments per expert of the first forward (before
                               capacity), for each MoE layer index i (MTP module: i = n_layers)
  moe.<i>.dropped         I64 []     assignments dropped by capacity in the first forward
  moe.<i>.idx             I64 [N,k]  chosen experts per token (token = b*T' + t, slot order =
                               descending s + b) in the first forward
  train_losses            F64 [5]    loss of each of 5 training steps on the same batch,
                               recorded before that step's update (train_losses[0] == loss)
  moe.<i>.bias_after      F64 [E]    the correction bias after the 5 steps
A training step: zero grads; forward + backward; AdamW (lr 0.01, betas (0.9, 0.95), eps 1e-8,
weight_decay 0.1 on 2-D parameters, 0 on 1-D parameters; torch semantics: decoupled decay
p *= 1 - lr*wd, bias-corrected moments; no clipping, constant lr); then per MoE layer
b += bias_update_speed * sign(mean(load) - load) with that step's load.

__metadata__ (all strings): "fixture", "seed", "inputs_dtype" = "F32", "expected_dtype" =
"F64", "config" (a TOML document with [model], [model.moe], [model.mla], [model.mtp], [train],
[data] using exactly the DESIGN key names; absent table = feature off), "train_steps" = "5",
"moe_layers" (comma-separated MoE layer indices, "" if none), "min_route_margin" (the smallest
gap, over tokens, MoE layers and the 5 training forwards, between the k-th and (k+1)-th largest
s + b: a float32 implementation makes the same choices when its error stays below it),
"weight_decay_2d_only" = "1".

Choices where docs/model.md leaves room (the C++ side follows these):
  - Token order for dispatch, capacity and the balance mean: row-major [B, T] (token b*T + t).
    The MTP module's MoE sees N = B*(T-k) tokens, [B, T-k] row-major; its capacity, f_e and
    P_e use that N.
  - Capacity = ceil(c * N * k / E) in double. Normalisation (norm_topk) and scaling happen
    before dropping; a dropped assignment contributes nothing and gets no gradient.
  - P_e = mean over the N tokens of s_te / sum_e' s_te' (gradient flows through s); f_e uses
    load before capacity and is a constant.
  - The MTP cross-entropy uses the same label smoothing as the main one.
  - q_a_layernorm and kv_a_layernorm use model.norm_eps.
  - The MTP module's balance term and load count like any MoE layer; its bias is updated too.
  - The correction bias is stored F32; the update is done in float64 on its promoted value.

Cross-checks asserted here: MoE grouped dispatch == a per-token, per-chosen-expert loop
(outputs and gradients, every MoE layer, first forward); MLA == a per-head, per-query loop (every
MLA layer, window 0 and 5); main CE == torch.nn.functional.cross_entropy (label smoothing,
ignore_index); autograd gradients == central finite differences for a few entries of several
parameters (float64); torch.optim.AdamW == a hand-written AdamW at every step. Then each written
file is replayed in float32 from its own tensors and TOML config (parsed with tomllib): the same
expert choices, and logits, gradients (max error / max |grad| per parameter) and the 5 training
losses within 1e-5 relative (seen: <= 1.3e-6).
"""

import math
import os
import sys
import tomllib

import numpy as np
import torch
import torch.nn.functional as F

import model_ref as R
from st_io import read_safetensors, write_safetensors

SEED = 20261123
HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "fixtures")
B, T = 2, 12
TRAIN_STEPS = 5
LR, BETAS, ADAM_EPS, WD = 1e-2, (0.9, 0.95), 1e-8, 0.1

torch.set_num_threads(2)


def base_model(**kw):
    m = {"vocab_size": 64, "d_model": 32, "n_layers": 2, "n_heads": 4, "n_kv_heads": 4,
         "head_dim": 8, "max_seq_len": 16, "rope_theta": 10000.0, "norm_eps": 1e-6,
         "attention": "mha", "window": 0, "d_ff": 48, "first_dense_layers": 0,
         "tie_embeddings": False}
    m.update(kw)
    return m


def moe_table(**kw):
    t = {"n_routed_experts": 4, "n_shared_experts": 0, "top_k": 2, "d_expert": 16,
         "gate": "softmax", "norm_topk": True, "routed_scaling_factor": 1.0,
         "aux_loss_coef": 0.0, "bias_update_speed": 0.01, "capacity_factor": 0.0}
    t.update(kw)
    return t


def train_table(seed, label_smoothing=0.0):
    return {"seed": seed, "batch_size": B, "seq_len": T, "grad_accum": 1,
            "max_steps": TRAIN_STEPS, "lr": LR, "min_lr": LR, "warmup_steps": 0,
            "schedule": "constant", "weight_decay": WD, "beta1": BETAS[0], "beta2": BETAS[1],
            "eps": ADAM_EPS, "clip_grad_norm": 0.0, "label_smoothing": label_smoothing}


def configs():
    out = []
    out.append(("model_mha_dense", {"model": base_model()}, {}))
    m = base_model(first_dense_layers=1)
    m["moe"] = moe_table(gate="softmax", norm_topk=False, aux_loss_coef=0.01)
    out.append(("model_mha_moe_softmax", {"model": m}, {"seed_offset": 200}))
    m = base_model(n_kv_heads=2, window=5)
    m["moe"] = moe_table(gate="sigmoid", norm_topk=True, routed_scaling_factor=2.5,
                         n_shared_experts=1, capacity_factor=1.0, aux_loss_coef=0.01)
    out.append(("model_gqa_window_moe_sigmoid", {"model": m}, {"need_drop": True}))
    m = base_model(attention="mla", first_dense_layers=1)
    m["moe"] = moe_table(gate="softmax", norm_topk=True, aux_loss_coef=0.01)
    m["mla"] = {"q_lora_rank": 16, "kv_lora_rank": 16, "qk_nope_head_dim": 8,
                "qk_rope_head_dim": 4, "v_head_dim": 8}
    m["mtp"] = {"depth": 1, "loss_weight": 0.3}
    out.append(("model_mla_moe", {"model": m}, {"seed_offset": 100}))
    out.append(("model_tied", {"model": base_model(tie_embeddings=True)},
                {"label_smoothing": 0.1}))
    return out


# ---------------------------------------------------------------------------------------------
# TOML


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        r = repr(v)
        assert math.isfinite(v)
        return r if any(ch in r for ch in ".eE") else r + ".0"
    if isinstance(v, str):
        assert '"' not in v and "\\" not in v
        return '"' + v + '"'
    raise TypeError(v)


def to_toml(cfg):
    lines = []

    def table(name, d):
        lines.append(f"[{name}]")
        for k, v in d.items():
            if not isinstance(v, dict):
                lines.append(f"{k} = {toml_value(v)}")
        lines.append("")
        for k, v in d.items():
            if isinstance(v, dict):
                table(f"{name}.{k}", v)

    for name in ("model", "train", "data"):
        table(name, cfg[name])
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------


def f32(rng, shape, scale):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def init_params(rng, m):
    out = {}
    for name, shape in R.param_shapes(m):
        if len(shape) == 1:
            out[name] = (1.0 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
        elif name == "model.embed_tokens.weight":
            out[name] = f32(rng, shape, 0.5)
        elif name.endswith("mlp.gate.weight"):
            out[name] = f32(rng, shape, 0.3)
        else:
            out[name] = f32(rng, shape, 0.15)
    biases = {}
    for i in R.moe_layers(m):
        # Softmax scores are small and spread: a larger bias is needed to change some choices.
        scale = 0.2 if m["moe"]["gate"] == "softmax" else 0.05
        biases[i] = f32(rng, (m["moe"]["n_routed_experts"],), scale)
    return out, biases


def grad_of(p):
    """The gradient, zeros when nothing reached the parameter (an expert no token chose)."""
    return torch.zeros_like(p).detach() if p.grad is None else p.grad.detach()


def to64(params):
    return {n: torch.from_numpy(a.astype(np.float64)).requires_grad_(True)
            for n, a in params.items()}


def check_moe_naive(P, bufs, m, details):
    """Grouped dispatch vs per-token loop: outputs and gradients (w.r.t. x and the router)."""
    for i, st in details["stats"].items():
        if not st:
            continue
        pre = f"model.layers.{i}.mlp."
        x = st[0]["x"].clone().requires_grad_(True)
        Pd = {n: p.detach().clone().requires_grad_(True) for n, p in P.items()
              if n.startswith(pre)}
        y, _ = R.moe_ffn(x, Pd, pre, m["moe"], bufs[i], [])
        assert torch.allclose(y, st[0]["y"], rtol=0, atol=1e-13)
        r = torch.from_numpy(np.random.default_rng(i).standard_normal(tuple(y.shape)))
        names = sorted(Pd)
        g1 = torch.autograd.grad((y * r).sum(), [x] + [Pd[n] for n in names], allow_unused=True)
        y2 = R.moe_ffn_naive(x, Pd, pre, m["moe"], bufs[i])
        assert torch.allclose(y, y2, rtol=0, atol=1e-12), (y - y2).abs().max()
        g2 = torch.autograd.grad((y2 * r).sum(), [x] + [Pd[n] for n in names], allow_unused=True)
        for a, b_ in zip(g1, g2):
            if a is None or b_ is None:
                assert a is None and b_ is None or (a if a is not None else b_).abs().max() == 0
                continue
            assert torch.allclose(a, b_, rtol=0, atol=1e-12), (a - b_).abs().max()


def check_mla_naive(P, m):
    rng = np.random.default_rng(7)
    n_mod = m["n_layers"] + (m["mtp"]["depth"] if "mtp" in m else 0)
    for i in range(n_mod):
        x = torch.from_numpy(rng.standard_normal((B, T, m["d_model"])))
        pos = torch.arange(T, dtype=torch.float64)
        for W in (0, 5):
            mm = dict(m, window=W)
            with torch.no_grad():
                a = R.mla(x, P, f"model.layers.{i}.self_attn.", mm, pos)
                b_ = R.mla_naive(x, P, f"model.layers.{i}.self_attn.", mm, pos)
            assert torch.allclose(a, b_, rtol=0, atol=1e-12), (i, W, (a - b_).abs().max())


def check_finite_differences(P, bufs, cfg, ids, labels, rng):
    names = list(P)
    picks = ["model.embed_tokens.weight", "model.norm.weight"]
    picks += [n for n in names if n.endswith("mlp.gate.weight")]
    picks += [n for n in names if "experts.1.down_proj" in n or "q_a_layernorm" in n
              or "eh_proj" in n or "kv_b_proj" in n or "shared_experts.up_proj" in n]
    picks += [names[j] for j in rng.choice(len(names), 3, replace=False)]
    picks = list(dict.fromkeys(picks))
    h = 1e-5
    worst = 0.0
    for n in picks:
        p = P[n]
        g = grad_of(p).numpy()
        flat = p.detach().view(-1)
        for j in rng.choice(flat.numel(), 2, replace=False):
            j = int(j)
            old = flat[j].item()
            with torch.no_grad():
                p.view(-1)[j] = old + h
                lp = R.forward(P, bufs, cfg, ids, labels)[0].item()
                p.view(-1)[j] = old - h
                lm = R.forward(P, bufs, cfg, ids, labels)[0].item()
                p.view(-1)[j] = old
            fd = (lp - lm) / (2 * h)
            an = g.reshape(-1)[j]
            err = abs(fd - an)
            worst = max(worst, err / max(1e-3, abs(an)))
            assert err <= 1e-8 + 1e-6 * abs(an), (n, j, fd, an)
    return len(picks), worst


def make(name, index, cfg, opts):
    seed = SEED + index + opts.get("seed_offset", 0)
    rng = np.random.default_rng(seed)
    m = cfg["model"]
    cfg["train"] = train_table(seed, opts.get("label_smoothing", 0.0))
    cfg["data"] = {"synthetic": "random"}
    params, biases = init_params(rng, m)
    V = m["vocab_size"]
    seq = rng.integers(0, V, size=(B, T + 1)).astype(np.int64)
    ids_np, labels_np = seq[:, :T].copy(), seq[:, 1:].copy()
    labels_np[0, 3] = labels_np[1, 7] = labels_np[1, 11] = -100
    ids, labels = torch.from_numpy(ids_np), torch.from_numpy(labels_np)

    P = to64(params)
    bufs = {i: torch.from_numpy(b.astype(np.float64)) for i, b in biases.items()}
    moe_idx = R.moe_layers(m)

    # First forward/backward: the expected values.
    loss, logits, det = R.forward(P, bufs, cfg, ids, labels)
    loss.backward()
    ref_ce = F.cross_entropy(logits.detach().reshape(-1, V), labels.reshape(-1),
                             ignore_index=-100, label_smoothing=cfg["train"]["label_smoothing"])
    assert abs(det["ce"].item() - ref_ce.item()) <= 1e-13 * abs(ref_ce.item())
    first = {"loss": loss.item(), "logits": logits.detach().numpy().copy(),
             "grads": {n: grad_of(p).numpy().copy() for n, p in P.items()},
             "ce": det["ce"].item(), "balance": [b.item() for b in det["balance"]],
             "mtp": [x.item() for x in det["mtp"]], "stats": det["stats"]}
    for n, g in first["grads"].items():
        assert np.all(np.isfinite(g)), n
        assert np.abs(g).max() > 0 or ".experts." in n, n  # an unused expert has no gradient
    total_dropped = 0
    for i in moe_idx:
        st = det["stats"][i][0]
        total_dropped += st["dropped"]
        plain = torch.sort(st["s"].detach(), dim=-1, descending=True,
                           stable=True).indices[:, :m["moe"]["top_k"]]
        assert not torch.equal(plain.sort(-1).values, st["idx"].sort(-1).values), (name, i)
        assert int((st["load"] > 0).sum()) >= 3, (name, i, st["load"])
    if opts.get("need_drop"):
        assert total_dropped >= 1, name
    if moe_idx:
        check_moe_naive(P, bufs, m, det)
    if m["attention"] == "mla":
        check_mla_naive(P, m)
    n_fd, fd_worst = check_finite_differences(P, bufs, cfg, ids, labels, rng)

    # Training: torch AdamW and a hand-written one side by side.
    decay = [p for p in P.values() if p.dim() == 2]
    no_decay = [p for p in P.values() if p.dim() == 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=LR, betas=BETAS, eps=ADAM_EPS, foreach=False)
    mine = {n: p.detach().clone() for n, p in P.items()}
    mom = {n: torch.zeros_like(p) for n, p in mine.items()}
    vel = {n: torch.zeros_like(p) for n, p in mine.items()}
    margin = math.inf
    train_losses = []
    for step in range(1, TRAIN_STEPS + 1):
        for p in P.values():
            p.grad = None
        loss, _, det = R.forward(P, bufs, cfg, ids, labels)
        loss.backward()
        train_losses.append(loss.item())
        for i in moe_idx:
            margin = min(margin, det["stats"][i][0]["margin"])
        opt.step()
        b1, b2 = BETAS
        for n, p in P.items():
            g = grad_of(p)
            wd = WD if p.dim() == 2 else 0.0
            mine[n] = mine[n] * (1 - LR * wd)
            mom[n] = b1 * mom[n] + (1 - b1) * g
            vel[n] = b2 * vel[n] + (1 - b2) * g * g
            denom = vel[n].sqrt() / math.sqrt(1 - b2 ** step) + ADAM_EPS
            mine[n] = mine[n] - (LR / (1 - b1 ** step)) * mom[n] / denom
            assert torch.allclose(mine[n], p.detach(), rtol=0, atol=1e-13), (n, step)
        for i in moe_idx:
            load = det["stats"][i][0]["load"]
            bufs[i] = bufs[i] + m["moe"]["bias_update_speed"] * torch.sign(load.mean() - load)
    # Seeds are picked so that float32 rounding cannot flip a routing choice.
    assert margin >= 1e-4, (name, margin)
    assert train_losses[0] == first["loss"]
    assert train_losses[-1] < train_losses[0], train_losses

    tensors = [(n, a) for n, a in params.items()]
    tensors += [(R.bias_name(i), biases[i]) for i in moe_idx]
    tensors += [("input_ids", ids_np), ("labels", labels_np),
                ("loss", np.array(first["loss"], dtype=np.float64)),
                ("logits", first["logits"]),
                ("ce", np.array(first["ce"], dtype=np.float64))]
    if first["balance"]:
        tensors.append(("balance", np.array(first["balance"], dtype=np.float64)))
    if first["mtp"]:
        tensors.append(("mtp_loss", np.array(first["mtp"], dtype=np.float64)))
    tensors += [(n + ".grad", g) for n, g in first["grads"].items()]
    for i in moe_idx:
        st = first["stats"][i][0]
        tensors += [(f"moe.{i}.load", st["load"].numpy().copy()),
                    (f"moe.{i}.dropped", np.array(st["dropped"], dtype=np.int64)),
                    (f"moe.{i}.idx", st["idx"].numpy().astype(np.int64))]
    tensors.append(("train_losses", np.array(train_losses, dtype=np.float64)))
    tensors += [(f"moe.{i}.bias_after", bufs[i].numpy().copy()) for i in moe_idx]
    meta = {"fixture": name, "seed": str(seed), "inputs_dtype": "F32",
            "expected_dtype": "F64", "config": to_toml(cfg), "train_steps": str(TRAIN_STEPS),
            "moe_layers": ",".join(str(i) for i in moe_idx),
            "min_route_margin": repr(margin) if moe_idx else "inf",
            "weight_decay_2d_only": "1"}
    info = (f"loss {first['loss']:.6f} train_losses[-1] {train_losses[-1]:.6f} "
            f"fd params {n_fd} worst rel {fd_worst:.1e}")
    if moe_idx:
        info += f" margin {margin:.2e} dropped {total_dropped} loads " + " ".join(
            str(first["stats"][i][0]["load"].int().tolist()) for i in moe_idx)
    return tensors, meta, info


def check_float32(path):
    """Replays a written fixture in float32 (config parsed back from its TOML): the routing must
    not flip and the numbers must stay within what a float32 implementation is held to."""
    t, meta = read_safetensors(path)
    cfg = tomllib.loads(meta["config"])
    m = cfg["model"]
    P = {n: torch.from_numpy(t[n].copy()).requires_grad_(True) for n, _ in R.param_shapes(m)}
    bufs = {i: torch.from_numpy(t[R.bias_name(i)].copy()) for i in R.moe_layers(m)}
    ids, labels = torch.from_numpy(t["input_ids"].copy()), torch.from_numpy(t["labels"].copy())
    tr = cfg["train"]
    opt = torch.optim.AdamW([{"params": [p for p in P.values() if p.dim() == 2],
                              "weight_decay": tr["weight_decay"]},
                             {"params": [p for p in P.values() if p.dim() == 1],
                              "weight_decay": 0.0}],
                            lr=tr["lr"], betas=(tr["beta1"], tr["beta2"]), eps=tr["eps"],
                            foreach=False)
    losses, grad_err, logit_err = [], 0.0, 0.0
    for step in range(TRAIN_STEPS):
        for p in P.values():
            p.grad = None
        loss, logits, det = R.forward(P, bufs, cfg, ids, labels)
        loss.backward()
        losses.append(loss.item())
        if step == 0:
            for n, p in P.items():
                ref = t[n + ".grad"]
                err = np.abs(grad_of(p).double().numpy() - ref).max()
                grad_err = max(grad_err, err / max(1e-30, np.abs(ref).max()))
            logit_err = np.abs(logits.detach().double().numpy() - t["logits"]).max() / np.abs(
                t["logits"]).max()
            for i in bufs:
                assert np.array_equal(det["stats"][i][0]["idx"].numpy(), t[f"moe.{i}.idx"])
        opt.step()
        for i in bufs:
            load = det["stats"][i][0]["load"].float()
            bufs[i] = bufs[i] + m["moe"]["bias_update_speed"] * torch.sign(load.mean() - load)
    loss_err = (np.abs(np.array(losses) - t["train_losses"]) / t["train_losses"]).max()
    assert logit_err < 1e-5 and grad_err < 1e-5 and loss_err < 1e-5, (logit_err, grad_err,
                                                                       loss_err)
    return f"float32 replay: logits {logit_err:.1e} grads {grad_err:.1e} losses {loss_err:.1e}"


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    total = 0
    for index, (name, cfg, opts) in enumerate(configs()):
        tensors, meta, info = make(name, index, cfg, opts)
        path = os.path.join(OUT_DIR, name + ".safetensors")
        write_safetensors(path, tensors, meta)
        back, back_meta = read_safetensors(path)
        assert back_meta == meta
        for tname, a in tensors:
            assert np.array_equal(back[tname], a), (name, tname)
            assert np.all(np.isfinite(back[tname])), (name, tname)
        size = os.path.getsize(path)
        total += size
        print(f"{name}.safetensors: {len(tensors)} tensors, {size} bytes; {info}")
        print("    " + check_float32(path))
    print(f"total {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
