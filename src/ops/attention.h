// Fused causal attention, flash-attention style: one op whose forward keeps only the output and
// the per-row log-sum-exp, and whose backward recomputes the probabilities tile by tile. No
// T x T matrix is ever stored.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace seekforge::ops {

struct AttentionOptions {
  int64_t window = 0;   // 0: full causal; W > 0: query at p sees keys p-W+1 .. p
  double scale = 0.0;   // 0: 1/sqrt(head dim of q)
  Tensor key_keep;      // optional [B, Tk] bool/u8: 0 masks a key out (padding)
};

// q [B, Tq, H, Dqk], k [B, Tk, KV, Dqk], v [B, Tk, KV, Dv] -> [B, Tq, H, Dv]. H % KV == 0
// (grouped-query: head h reads kv head h / (H / KV)). Queries are the last Tq positions of the
// Tk keys (Tq < Tk when decoding against a cache). A query that sees no key gives zeros.
Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v,
                 const AttentionOptions& options = {});

}  // namespace seekforge::ops
