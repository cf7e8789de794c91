// Where the tokens of one prompt went in each MoE layer (captured by nn/inspect.h): a
// self-contained HTML page with the text coloured by each token's top-1 expert (hover: every
// chosen expert with its gate weight), and a load bar chart per layer (assignments per expert
// against the even share) as PNG and SVG, plus the coloured text as PNG.
#pragma once

#include <string>
#include <vector>

#include "io/config.h"
#include "nn/inspect.h"
#include "viz/tokens.h"

namespace seekforge::viz {

struct ExpertMapOptions {
  std::string out_dir;  // created when missing
  std::string title;    // e.g. the checkpoint's name, shown under the chart title
  TokenLabeler label;   // token id -> label (viz/tokens.h); empty: bytes or <id>s
};

// Assignments per expert in one captured layer (all k ranks counted).
std::vector<int64_t> expert_loads(const nn::MoeCapture& capture, int64_t n_experts);

// Writes experts.html, experts-load.{png,svg} and experts-tokens.png from a batch-1 inspection
// of `tokens`; returns the paths written. Throws when the model has no MoE layer.
std::vector<std::string> write_expert_maps(const std::vector<int64_t>& tokens,
                                           const ModelConfig& config,
                                           const nn::Inspection& inspection,
                                           const ExpertMapOptions& options);

}  // namespace seekforge::viz
