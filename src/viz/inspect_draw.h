// Small drawing helpers shared by the pictures of a model's insides (attention_map, expert_map,
// saliency): number formatting, "nice" axis steps, and the ink colours they use.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>

#include "viz/canvas.h"

namespace seekforge::viz::inspect_draw {

inline const Color kInk{0.1, 0.1, 0.12};
inline const Color kGrey{0.45, 0.45, 0.5};

// printf-style formatting of one number.
inline std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// A step of 1, 2 or 5 times a power of ten giving about `ticks` steps over `range` (> 0).
inline double nice_step(double range, int ticks) {
  const double raw = range / ticks;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

// `c` mixed towards white: amount 1 keeps it, 0 gives white.
inline Color toward_white(Color c, double amount) {
  return {1 - (1 - c.r) * amount, 1 - (1 - c.g) * amount, 1 - (1 - c.b) * amount, 1};
}

}  // namespace seekforge::viz::inspect_draw
