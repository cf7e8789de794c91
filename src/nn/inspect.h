// Looking inside a forward pass: an opt-in record of what the fused kernels never materialise
// (each trunk layer's attention probabilities) and of each MoE layer's routing decisions. The
// pictures in viz/ (attention heatmaps, expert maps) read it.
//
// What this is not: no part of training. The capture is off unless ForwardOptions::inspect is
// set; with it off the forward runs exactly as before (one null-pointer test per layer). With it
// on, the probabilities are recomputed naively (O(B H Tq Tk D) in double) from the same post-RoPE
// q and k the kernel sees, with the same scale, causal mask and window: meant for one prompt,
// not for batches of training data.
//
// Everything captured is detached (no autograd history) and contiguous.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace seekforge::nn {

struct AttentionCapture {
  Tensor probs;    // [B, H, Tq, Tk] f32: row (b, h, i) is query i's softmax over keys (0 hidden)
  Tensor values;   // [B, Tk, KV, Dv]: the values the probabilities weight (post-cache)
  Tensor context;  // [B, Tq, H, Dv]: the attention op's output, before o_proj
};

struct MoeCapture {
  int64_t layer = 0;  // trunk layer index
  Tensor experts;     // [N, k] i64: chosen experts per token (N = B*T, row-major), by rank
  Tensor weights;     // [N, k] f32: their combine weights (after norm_topk and scaling)
  Tensor scores;      // [N, E] f32: router scores s (softmax or sigmoid, before the bias)
};

// Filled by Transformer::forward when ForwardOptions::inspect points here. Any previous content
// is replaced; `attention` has one entry per trunk layer, `moe` one per trunk MoE layer (MTP
// modules are not recorded).
struct Inspection {
  bool capture_attention = true;
  bool capture_moe = true;
  std::vector<AttentionCapture> attention;
  std::vector<MoeCapture> moe;
};

// Attention probabilities [B, H, Tq, Tk] (f32) from post-RoPE q [B, Tq, H, Dqk] and
// k [B, Tk, KV, Dqk] with the kernel's rules (ops/attention.h): queries aligned to the end of
// the keys, causal, window W > 0 keeps keys p-W+1 .. p, scores times `scale`. A row that sees no
// key is all zeros.
Tensor attention_probabilities(const Tensor& q, const Tensor& k, double scale, int64_t window);

}  // namespace seekforge::nn
