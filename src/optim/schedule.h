// Learning-rate schedules: a pure function of the step, so resuming a run needs only the step.
#pragma once

#include <cstdint>
#include <string>

namespace seekforge::optim {

enum class ScheduleKind { cosine, linear, constant };

// Linear warm-up from peak/warmup_steps to peak over warmup_steps, then:
//   cosine: peak -> floor along half a cosine, reaching floor at total_steps;
//   linear: peak -> floor in a straight line;
//   constant: peak.
// Past total_steps the rate stays at floor (constant: peak).
struct LrSchedule {
  ScheduleKind kind = ScheduleKind::cosine;
  double peak = 1e-3;
  double floor = 0.0;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;

  double lr_at(int64_t step) const;  // step counts from 0
};

ScheduleKind parse_schedule_kind(const std::string& name);  // throws naming the value

}  // namespace seekforge::optim
