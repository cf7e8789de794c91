"""PyTorch reference of the seekforge model (docs/model.md), used only to write test fixtures.

Nothing in seekforge imports this file or torch. Everything here is functional: parameters are a
dict {DESIGN name: tensor}, correction biases a dict {layer index: tensor} (buffers), the config
a plain dict shaped like the TOML (keys exactly as in DESIGN.md "Config keys"):

    cfg = {"model": {...,  "moe": {...} | absent, "mla": {...} | absent, "mtp": {...} | absent},
           "train": {"label_smoothing": ..., ...}}

Every formula follows docs/model.md line by line; the places where that page leaves a choice
are marked "CHOICE:" and listed in make_model_fixtures.py's docstring.
"""

import math

import torch

NEG_INF = float("-inf")


# ---------------------------------------------------------------------------------------------
# Building blocks


def linear(x, w):
    """x [..., in], w [out, in] -> x w^T."""
    return x @ w.t()


def rmsnorm(x, w, eps):
    return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, pos, theta):
    """Rotate-half RoPE on the last dim r of x [B, T, heads, r]; pos [T] (float64 positions).

    Pair (j, j + r/2) turns by pos * theta^(-2j/r).
    """
    r = x.shape[-1]
    half = r // 2
    inv = theta ** (-2.0 * torch.arange(half, dtype=torch.float64) / r)
    ang = pos.to(torch.float64).view(-1, 1) * inv.view(1, half)  # [T, half]
    cos = torch.cos(ang).to(x.dtype).view(1, -1, 1, half)
    sin = torch.sin(ang).to(x.dtype).view(1, -1, 1, half)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def allowed_mask(T, window):
    """[T, T] bool: query t may see key s (causal; window W > 0 keeps s in t-W+1 .. t)."""
    t = torch.arange(T).view(T, 1)
    s = torch.arange(T).view(1, T)
    ok = s <= t
    if window > 0:
        ok = ok & (s > t - window)
    return ok


def attention(q, k, v, scale, window):
    """q, k [B, T, H, d], v [B, T, H, dv] (heads already matched) -> [B, T, H, dv]."""
    T = q.shape[1]
    scores = torch.einsum("bthd,bshd->bhts", q, k) * scale
    scores = scores.masked_fill(~allowed_mask(T, window).view(1, 1, T, T), NEG_INF)
    p = torch.softmax(scores, dim=-1)
    return torch.einsum("bhts,bshd->bthd", p, v)


def swiglu(x, gate_w, up_w, down_w):
    return linear(torch.nn.functional.silu(linear(x, gate_w)) * linear(x, up_w), down_w)


def smoothed_ce(logits, labels, eps):
    """Mean over labels != -100 of (1-eps)(-log p_label) + eps * mean_v(-log p_v)."""
    V = logits.shape[-1]
    logits = logits.reshape(-1, V)
    labels = labels.reshape(-1)
    logp = torch.log_softmax(logits, dim=-1)
    valid = labels != -100
    safe = torch.where(valid, labels, torch.zeros_like(labels))
    nll = -logp.gather(1, safe.view(-1, 1)).view(-1)
    smooth = -logp.mean(dim=-1)
    rows = ((1 - eps) * nll + eps * smooth) * valid.to(logits.dtype)
    return rows.sum() / valid.sum()


# ---------------------------------------------------------------------------------------------
# Attention


def mha(x, P, pre, m, pos):
    B, T, _ = x.shape
    H, KV, hd = m["n_heads"], m["n_kv_heads"], m["head_dim"]
    q = linear(x, P[pre + "q_proj.weight"]).view(B, T, H, hd)
    k = linear(x, P[pre + "k_proj.weight"]).view(B, T, KV, hd)
    v = linear(x, P[pre + "v_proj.weight"]).view(B, T, KV, hd)
    q = rope(q, pos, m["rope_theta"])
    k = rope(k, pos, m["rope_theta"])
    group = H // KV
    # repeat_interleave: query head h reads kv head h // group.
    k = k.repeat_interleave(group, dim=2)
    v = v.repeat_interleave(group, dim=2)
    out = attention(q, k, v, 1.0 / math.sqrt(hd), m["window"])
    return linear(out.reshape(B, T, H * hd), P[pre + "o_proj.weight"])


def mla_qkv(x, P, pre, m, pos):
    """The MLA projections: q [B,T,H,n+r], k [B,T,H,n+r], v [B,T,H,dv] (RoPE applied)."""
    B, T, _ = x.shape
    a = m["mla"]
    H = m["n_heads"]
    n, r, dv = a["qk_nope_head_dim"], a["qk_rope_head_dim"], a["v_head_dim"]
    c, cq = a["kv_lora_rank"], a["q_lora_rank"]
    eps, theta = m["norm_eps"], m["rope_theta"]
    if cq == 0:
        q = linear(x, P[pre + "q_proj.weight"])
    else:
        # CHOICE: q_a_layernorm and kv_a_layernorm use model.norm_eps.
        q = linear(rmsnorm(linear(x, P[pre + "q_a_proj.weight"]),
                           P[pre + "q_a_layernorm.weight"], eps), P[pre + "q_b_proj.weight"])
    q = q.view(B, T, H, n + r)
    q = torch.cat([q[..., :n], rope(q[..., n:], pos, theta)], dim=-1)
    kv_a = linear(x, P[pre + "kv_a_proj_with_mqa.weight"])
    latent = kv_a[..., :c]
    k_rope = rope(kv_a[..., c:].reshape(B, T, 1, r), pos, theta)
    kv = linear(rmsnorm(latent, P[pre + "kv_a_layernorm.weight"], eps),
                P[pre + "kv_b_proj.weight"]).view(B, T, H, n + dv)
    k = torch.cat([kv[..., :n], k_rope.expand(B, T, H, r)], dim=-1)
    v = kv[..., n:]
    return q, k, v


def mla(x, P, pre, m, pos):
    B, T, _ = x.shape
    a = m["mla"]
    H = m["n_heads"]
    q, k, v = mla_qkv(x, P, pre, m, pos)
    scale = 1.0 / math.sqrt(a["qk_nope_head_dim"] + a["qk_rope_head_dim"])
    out = attention(q, k, v, scale, m["window"])
    return linear(out.reshape(B, T, H * a["v_head_dim"]), P[pre + "o_proj.weight"])


def mla_naive(x, P, pre, m, pos):
    """MLA again, head by head and query by query with per-head weight slices (a cross-check)."""
    B, T, D = x.shape
    a = m["mla"]
    H = m["n_heads"]
    n, r, dv = a["qk_nope_head_dim"], a["qk_rope_head_dim"], a["v_head_dim"]
    c, cq = a["kv_lora_rank"], a["q_lora_rank"]
    eps, theta, W = m["norm_eps"], m["rope_theta"], m["window"]
    scale = 1.0 / math.sqrt(n + r)
    if cq == 0:
        qin, wq = x, P[pre + "q_proj.weight"]
    else:
        qin = rmsnorm(x @ P[pre + "q_a_proj.weight"].t(), P[pre + "q_a_layernorm.weight"], eps)
        wq = P[pre + "q_b_proj.weight"]
    wkv_a = P[pre + "kv_a_proj_with_mqa.weight"]
    latent_n = rmsnorm(x @ wkv_a[:c].t(), P[pre + "kv_a_layernorm.weight"], eps)  # [B,T,c]
    k_rope = rope((x @ wkv_a[c:].t()).view(B, T, 1, r), pos, theta)[:, :, 0]  # [B,T,r]
    wkv_b = P[pre + "kv_b_proj.weight"]
    wo = P[pre + "o_proj.weight"]
    out = torch.zeros(B, T, D, dtype=x.dtype)
    for h in range(H):
        wq_h = wq[h * (n + r):(h + 1) * (n + r)]
        wk_h = wkv_b[h * (n + dv):h * (n + dv) + n]
        wv_h = wkv_b[h * (n + dv) + n:(h + 1) * (n + dv)]
        q_h = qin @ wq_h.t()  # [B,T,n+r]
        q_h = torch.cat([q_h[..., :n], rope(q_h[..., n:].reshape(B, T, 1, r), pos, theta)[:, :, 0]],
                        dim=-1)
        k_h = torch.cat([latent_n @ wk_h.t(), k_rope], dim=-1)
        v_h = latent_n @ wv_h.t()
        for b in range(B):
            for t in range(T):
                keys = [s for s in range(T) if s <= t and (W == 0 or s > t - W)]
                sc = torch.stack([scale * torch.dot(q_h[b, t], k_h[b, s]) for s in keys])
                p = torch.softmax(sc, dim=0)
                o = sum(p[i] * v_h[b, s] for i, s in enumerate(keys))
                out[b, t] += o @ wo[:, h * dv:(h + 1) * dv].t()
    return out


# ---------------------------------------------------------------------------------------------
# Feed-forward


def router(x, P, pre, moe, bias):
    """Returns s [N,E], idx [N,k] (chosen experts, by s + b), w [N,k] (combine weights)."""
    logits = linear(x, P[pre + "gate.weight"])
    if moe["gate"] == "softmax":
        s = torch.softmax(logits, dim=-1)
    else:
        s = torch.sigmoid(logits)
    sel = (s + bias).detach()
    # Stable descending sort: equal values keep index order, so ties go to the lower index.
    idx = torch.sort(sel, dim=-1, descending=True, stable=True).indices[:, :moe["top_k"]]
    w = s.gather(1, idx)
    if moe["norm_topk"]:
        w = w / (w.sum(-1, keepdim=True) + 1e-20)
    w = w * moe["routed_scaling_factor"]
    return s, idx, w, sel


def capacity(moe, N):
    c = moe["capacity_factor"]
    E, k = moe["n_routed_experts"], moe["top_k"]
    return math.ceil(c * N * k / E) if c > 0 else N * k


def moe_ffn(x, P, pre, moe, bias, stats):
    """x [N, D] (normed tokens in token order) -> (y [N, D], balance loss or None).

    Grouped dispatch: per expert, its assignments in dispatch order (token ascending, then slot
    j), the first `capacity` kept, one SwiGLU on the gathered rows, scattered back weighted.
    """
    N, D = x.shape
    E, k = moe["n_routed_experts"], moe["top_k"]
    s, idx, w, sel = router(x, P, pre, moe, bias)
    flat = idx.reshape(-1)  # position p = token * k + slot: already in dispatch order
    load = torch.bincount(flat, minlength=E).to(torch.float64)
    cap = capacity(moe, N)
    y = torch.zeros(N, D, dtype=x.dtype)
    dropped = 0
    kept = torch.zeros(N, k, dtype=torch.bool)
    for e in range(E):
        p = torch.nonzero(flat == e).view(-1)
        dropped += max(0, p.numel() - cap)
        p = p[:cap]
        if p.numel() == 0:
            continue
        tok, slot = p // k, p % k
        kept[tok, slot] = True
        ep = pre + f"experts.{e}."
        out = swiglu(x[tok], P[ep + "gate_proj.weight"], P[ep + "up_proj.weight"],
                     P[ep + "down_proj.weight"])
        y = y.index_add(0, tok, out * w[tok, slot].unsqueeze(-1))
    if moe["n_shared_experts"] > 0:
        sp = pre + "shared_experts."
        y = y + swiglu(x, P[sp + "gate_proj.weight"], P[sp + "up_proj.weight"],
                       P[sp + "down_proj.weight"])
    bal = None
    if moe["aux_loss_coef"] > 0:
        f = load / (N * k)  # a constant: load carries no gradient
        Pe = (s / s.sum(-1, keepdim=True)).mean(0)
        bal = moe["aux_loss_coef"] * E * (f * Pe).sum()
    top = torch.sort(sel, dim=-1, descending=True).values
    margin = (top[:, k - 1] - top[:, k]).min().item() if k < E else float("inf")
    stats.append({"load": load, "dropped": dropped, "idx": idx, "kept": kept, "s": s,
                  "margin": margin, "N": N, "x": x.detach(), "y": y.detach()})
    return y, bal


def moe_ffn_naive(x, P, pre, moe, bias):
    """The same MoE one token and one chosen expert at a time (a cross-check of moe_ffn)."""
    N, D = x.shape
    E, k = moe["n_routed_experts"], moe["top_k"]
    _, idx, w, _ = router(x, P, pre, moe, bias)
    cap = capacity(moe, N)
    taken = [0] * E
    rows = []
    for t in range(N):
        yt = torch.zeros(D, dtype=x.dtype)
        for j in range(k):
            e = int(idx[t, j])
            taken[e] += 1
            if taken[e] > cap:
                continue
            ep = pre + f"experts.{e}."
            g = x[t] @ P[ep + "gate_proj.weight"].t()
            u = x[t] @ P[ep + "up_proj.weight"].t()
            yt = yt + w[t, j] * ((g * torch.sigmoid(g) * u) @ P[ep + "down_proj.weight"].t())
        if moe["n_shared_experts"] > 0:
            sp = pre + "shared_experts."
            g = x[t] @ P[sp + "gate_proj.weight"].t()
            u = x[t] @ P[sp + "up_proj.weight"].t()
            yt = yt + (g * torch.sigmoid(g) * u) @ P[sp + "down_proj.weight"].t()
        rows.append(yt)
    return torch.stack(rows)


# ---------------------------------------------------------------------------------------------
# The model


def is_moe_layer(m, i):
    """Trunk layer i (< n_layers) or MTP module (>= n_layers: MoE whenever the model has MoE)."""
    if "moe" not in m:
        return False
    return i >= m["n_layers"] or i >= m["first_dense_layers"]


def block(h, P, bufs, m, i, pos, stats, bal_terms):
    pre = f"model.layers.{i}."
    eps = m["norm_eps"]
    attn = mla if m["attention"] == "mla" else mha
    h = h + attn(rmsnorm(h, P[pre + "input_layernorm.weight"], eps), P, pre + "self_attn.", m,
                 pos)
    x = rmsnorm(h, P[pre + "post_attention_layernorm.weight"], eps)
    if is_moe_layer(m, i):
        Bsz, T, D = x.shape
        # Tokens in row-major [B, T] order: token index = b * T + t.
        y, bal = moe_ffn(x.reshape(Bsz * T, D), P, pre + "mlp.", m["moe"], bufs[i], stats[i])
        if bal is not None:
            bal_terms.append(bal)
        y = y.view(Bsz, T, D)
    else:
        y = swiglu(x, P[pre + "mlp.gate_proj.weight"], P[pre + "mlp.up_proj.weight"],
                   P[pre + "mlp.down_proj.weight"])
    return h + y


def head_weight(P, m):
    return P["model.embed_tokens.weight"] if m["tie_embeddings"] else P["lm_head.weight"]


def forward(P, bufs, cfg, input_ids, labels, label_smoothing=None):
    """Returns (loss, logits [B,T,V], details dict).

    details: "stats" {layer index: [moe stats dict]}, "ce", "balance" (list), "mtp" (list of
    L_k), "mtp_logits" (list).
    """
    m = cfg["model"]
    eps_ls = cfg["train"]["label_smoothing"] if label_smoothing is None else label_smoothing
    Bsz, T = input_ids.shape
    L = m["n_layers"]
    emb = P["model.embed_tokens.weight"]
    stats = {i: [] for i in range(L + (m["mtp"]["depth"] if "mtp" in m else 0))}
    bal_terms = []
    h = emb[input_ids]
    pos = torch.arange(T, dtype=torch.float64)
    for i in range(L):
        h = block(h, P, bufs, m, i, pos, stats, bal_terms)
    head = head_weight(P, m)
    logits = linear(rmsnorm(h, P["model.norm.weight"], m["norm_eps"]), head)
    ce = smoothed_ce(logits, labels, eps_ls)
    loss = ce
    mtp_losses, mtp_logits = [], []
    if "mtp" in m:
        Hk = h  # H^0: the trunk output before model.norm
        for k in range(1, m["mtp"]["depth"] + 1):
            i = L + k - 1
            pre = f"model.layers.{i}."
            e = rmsnorm(emb[input_ids[:, k:]], P[pre + "enorm.weight"], m["norm_eps"])
            hp = rmsnorm(Hk[:, :T - k], P[pre + "hnorm.weight"], m["norm_eps"])
            u = linear(torch.cat([e, hp], dim=-1), P[pre + "eh_proj.weight"])
            Hk = block(u, P, bufs, m, i, torch.arange(T - k, dtype=torch.float64), stats, bal_terms)
            lk = linear(rmsnorm(Hk, P[pre + "shared_head.norm.weight"], m["norm_eps"]), head)
            mtp_logits.append(lk)
            # CHOICE: the MTP cross-entropy uses the same label smoothing as the main one.
            mtp_losses.append(smoothed_ce(lk, labels[:, k:], eps_ls))
    for b in bal_terms:
        loss = loss + b
    if mtp_losses:
        loss = loss + m["mtp"]["loss_weight"] * (sum(mtp_losses) / len(mtp_losses))
    return loss, logits, {"stats": stats, "ce": ce, "balance": bal_terms, "mtp": mtp_losses,
                          "mtp_logits": mtp_logits}


# ---------------------------------------------------------------------------------------------
# Parameters


def param_shapes(m):
    """[(name, shape)] of every parameter in a fixed order (buffers excluded)."""
    V, D, L = m["vocab_size"], m["d_model"], m["n_layers"]
    H, KV, hd = m["n_heads"], m["n_kv_heads"], m["head_dim"]
    out = [("model.embed_tokens.weight", (V, D))]
    n_mod = L + (m["mtp"]["depth"] if "mtp" in m else 0)
    for i in range(n_mod):
        pre = f"model.layers.{i}."
        if i >= L:
            out += [(pre + "enorm.weight", (D,)), (pre + "hnorm.weight", (D,)),
                    (pre + "eh_proj.weight", (D, 2 * D))]
        out += [(pre + "input_layernorm.weight", (D,))]
        a = pre + "self_attn."
        if m["attention"] == "mla":
            c = m["mla"]
            n, r, dv = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
            if c["q_lora_rank"] == 0:
                out += [(a + "q_proj.weight", (H * (n + r), D))]
            else:
                out += [(a + "q_a_proj.weight", (c["q_lora_rank"], D)),
                        (a + "q_a_layernorm.weight", (c["q_lora_rank"],)),
                        (a + "q_b_proj.weight", (H * (n + r), c["q_lora_rank"]))]
            out += [(a + "kv_a_proj_with_mqa.weight", (c["kv_lora_rank"] + r, D)),
                    (a + "kv_a_layernorm.weight", (c["kv_lora_rank"],)),
                    (a + "kv_b_proj.weight", (H * (n + dv), c["kv_lora_rank"])),
                    (a + "o_proj.weight", (D, H * dv))]
        else:
            out += [(a + "q_proj.weight", (H * hd, D)), (a + "k_proj.weight", (KV * hd, D)),
                    (a + "v_proj.weight", (KV * hd, D)), (a + "o_proj.weight", (D, H * hd))]
        out += [(pre + "post_attention_layernorm.weight", (D,))]
        f = pre + "mlp."
        if is_moe_layer(m, i):
            moe = m["moe"]
            E, de = moe["n_routed_experts"], moe["d_expert"]
            out += [(f + "gate.weight", (E, D))]
            for e in range(E):
                ep = f + f"experts.{e}."
                out += [(ep + "gate_proj.weight", (de, D)), (ep + "up_proj.weight", (de, D)),
                        (ep + "down_proj.weight", (D, de))]
            if moe["n_shared_experts"] > 0:
                S = moe["n_shared_experts"] * de
                sp = f + "shared_experts."
                out += [(sp + "gate_proj.weight", (S, D)), (sp + "up_proj.weight", (S, D)),
                        (sp + "down_proj.weight", (D, S))]
        else:
            F = m["d_ff"]
            out += [(f + "gate_proj.weight", (F, D)), (f + "up_proj.weight", (F, D)),
                    (f + "down_proj.weight", (D, F))]
        if i >= L:
            out += [(pre + "shared_head.norm.weight", (D,))]
    out += [("model.norm.weight", (D,))]
    if not m["tie_embeddings"]:
        out += [("lm_head.weight", (V, D))]
    return out


def moe_layers(m):
    n_mod = m["n_layers"] + (m["mtp"]["depth"] if "mtp" in m else 0)
    return [i for i in range(n_mod) if is_moe_layer(m, i)]


def bias_name(i):
    return f"model.layers.{i}.mlp.gate.e_score_correction_bias"
