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

// The start of a self-contained HTML page up to and including <body>: the shared fonts and
// heading styles, the token chips (.t), then `css`.
inline std::string html_head(const std::string& title, const std::string& css) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + title +
         "</title>\n<style>\n"
         "body{font-family:\"DejaVu Sans\",Verdana,sans-serif;margin:24px;color:#1a1a1f;"
         "max-width:1100px}\n"
         "h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:20px 0 6px}\n"
         ".sub{color:#666;font-size:13px} .text{line-height:2.1;font-size:16px}\n"
         ".t{padding:2px 3px;margin:0 1px;border-radius:3px;white-space:pre;cursor:default}\n"
         ".t:hover{outline:2px solid #333}\n" +
         css + "\n</style></head><body>\n";
}

}  // namespace seekforge::viz::inspect_draw
