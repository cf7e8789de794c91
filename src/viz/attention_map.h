// Attention heatmaps: for one prompt, each trunk layer's attention probabilities (captured by
// nn/inspect.h) drawn as query x key grids with the tokens written on both axes, as PNG and SVG
// (one image per layer and block, all heads of the layer in a grid or the one head asked for),
// plus one self-contained interactive HTML page (pick layer and head; hover shows the query
// token, the key token and the weight).
//
// Long prompts are tiled, not cut: the visible (query, key) pairs are covered by blocks of at
// most `block` x `block` positions following the band the causal mask (and window) leaves, each
// block its own image labelled with its position ranges.
#pragma once

#include <string>
#include <vector>

#include "io/config.h"
#include "nn/inspect.h"
#include "viz/tokens.h"

namespace seekforge::viz {

// Half-open position ranges [q0, q1) x [k0, k1).
struct AttentionBlock {
  int64_t q0 = 0, q1 = 0, k0 = 0, k1 = 0;
  bool operator==(const AttentionBlock&) const = default;
};

// Blocks of at most `block` queries by `block` keys, in query-major order, covering every pair
// (q, k) with k <= q (and k > q - window when window > 0) over T positions; no block is
// entirely hidden. T = 0 gives none.
std::vector<AttentionBlock> attention_blocks(int64_t T, int64_t block, int64_t window);

struct AttentionMapOptions {
  int64_t layer = -1;   // -1: every layer
  int64_t head = -1;    // -1: every head, as a grid
  int64_t block = 48;   // tile size in positions
  std::string out_dir;  // created when missing
  std::string title;    // e.g. the checkpoint's name, shown under the chart title
  TokenLabeler label;   // token id -> label (viz/tokens.h); empty: bytes or <id>
};

// Checks layer and head against the model (errors say the allowed range).
void check_attention_selection(const ModelConfig& config, int64_t layer, int64_t head);

// Writes attention-L<l>[-H<h>]-q<a>-<b>-k<c>-<d>.{png,svg} per layer and block, and
// attention.html, from a batch-1 inspection of `tokens`; returns the paths written.
std::vector<std::string> write_attention_maps(const std::vector<int64_t>& tokens,
                                              const ModelConfig& config,
                                              const nn::Inspection& inspection,
                                              const AttentionMapOptions& options);

}  // namespace seekforge::viz
