// The dynamic loss scaler of fp16 training. The loss is multiplied by scale() before backward so
// that small gradients survive the f16 products' 6e-8 floor; the gradients are divided by it
// again before clipping. A step whose gradients overflowed (an inf or NaN anywhere) is skipped
// and the scale is multiplied by backoff; after `growth_interval` clean steps in a row it is
// multiplied by growth. The same rules as torch.cuda.amp.GradScaler.
#pragma once

#include <cstdint>

namespace seekforge::train {

struct LossScalerOptions {
  double init_scale = 65536.0;
  double growth = 2.0;
  double backoff = 0.5;
  int64_t growth_interval = 1000;
};

class LossScaler {
 public:
  explicit LossScaler(const LossScalerOptions& options = {});

  double scale() const { return scale_; }
  // Records the outcome of one step's backward; returns true when the step may be applied
  // (no overflow), false when it must be skipped. Moves the scale by the rules above.
  bool update(bool overflowed);

  int64_t overflow_steps() const { return overflows_; }  // skipped so far
  int64_t clean_streak() const { return clean_; }        // clean steps since the last change

  // For exact resume: the scale, the streak and the overflow count.
  void restore(double scale, int64_t clean_streak, int64_t overflow_steps);

 private:
  LossScalerOptions opt_;
  double scale_;
  int64_t clean_ = 0, overflows_ = 0;
};

}  // namespace seekforge::train
