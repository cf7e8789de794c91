#include "optim/schedule.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace seekforge::optim {

double LrSchedule::lr_at(int64_t step) const {
  if (warmup_steps > 0 && step < warmup_steps)
    return peak * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  if (kind == ScheduleKind::constant) return peak;
  const double span = static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps));
  const double progress = std::clamp(static_cast<double>(step - warmup_steps) / span, 0.0, 1.0);
  if (kind == ScheduleKind::linear) return peak + (floor - peak) * progress;
  return floor + 0.5 * (peak - floor) * (1.0 + std::cos(M_PI * progress));
}

ScheduleKind parse_schedule_kind(const std::string& name) {
  if (name == "cosine") return ScheduleKind::cosine;
  if (name == "linear") return ScheduleKind::linear;
  if (name == "constant") return ScheduleKind::constant;
  SF_FAIL() << "unknown learning-rate schedule '" << name
            << "' (expected cosine, linear or constant)";
}

}  // namespace seekforge::optim
