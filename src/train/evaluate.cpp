#include "train/evaluate.h"

#include <cmath>

#include "autograd/node.h"
#include "data/source.h"
#include "ops/autocast.h"
#include "train/checkpoint.h"

namespace seekforge::train {

TrainedModel load_trained_model(const std::string& dir) {
  Checkpoint c = load_checkpoint(dir);
  TrainedModel t;
  SF_CHECK(c.state.contains("config") && c.state["config"].is_string())
      << "checkpoint file '" << dir << "/state.json' has no config";
  t.config = parse_config(c.state["config"].get<std::string>(), dir + "/state.json");
  Generator gen(t.config.train.seed);
  t.model = std::make_unique<nn::Transformer>(t.config.model, gen);
  t.model->load_state(c.model);
  t.step = c.state["step"].get<int64_t>();
  return t;
}

EvalResult evaluate(nn::Transformer& model, const Config& config, int64_t batches) {
  autograd::NoGradGuard no_grad;
  // In the precision the model trains in (a trainer's scope passes its weight copies on).
  ops::AutocastScope autocast(ops::precision_dtype(config.train.precision));
  auto src = data::make_source(config.data, config.model.vocab_size, config.train.seed,
                               data::Split::val);
  double sum = 0;
  int64_t count = 0;
  for (int64_t i = 0; i < batches; ++i) {
    data::Batch b = src->next(config.train.batch_size, config.train.seq_len);
    const int64_t* p = b.labels.data<int64_t>();
    int64_t n = 0;
    for (int64_t j = 0; j < b.labels.numel(); ++j) n += p[j] != -100;
    if (n == 0) continue;
    sum += model.forward(b.input_ids, b.labels).ce_loss.item_double() * static_cast<double>(n);
    count += n;
  }
  EvalResult r;
  r.tokens = count;
  r.loss = count > 0 ? sum / static_cast<double>(count) : NAN;
  r.perplexity = std::exp(r.loss);
  return r;
}

}  // namespace seekforge::train
