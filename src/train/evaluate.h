// Loading a trained model back from a checkpoint, and measuring it on held-out data.
#pragma once

#include <memory>
#include <string>

#include "io/config.h"
#include "nn/transformer.h"

namespace seekforge::train {

struct TrainedModel {
  Config config;  // as saved with the checkpoint
  std::unique_ptr<nn::Transformer> model;
  int64_t step = 0;
};

// Reads config and weights from a checkpoint directory (verified as load_checkpoint does).
TrainedModel load_trained_model(const std::string& checkpoint_dir);

struct EvalResult {
  double loss = 0;        // mean cross-entropy per predicted token, no label smoothing
  double perplexity = 0;  // exp(loss)
  int64_t tokens = 0;
};

// Mean validation loss over `batches` batches of the config's validation split.
EvalResult evaluate(nn::Transformer& model, const Config& config, int64_t batches);

}  // namespace seekforge::train
