#include "train/memory_report.h"

#include <sys/resource.h>

#include <cstdio>

#include "core/allocator.h"
#include "optim/optimizer.h"

namespace seekforge::train {

namespace {

int64_t bytes_of(const Tensor& t) {
  return t.numel() * static_cast<int64_t>(t.element_size());
}

std::string mib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

}  // namespace

MemoryReport static_memory(const std::vector<Tensor>& params, const optim::Optimizer& optimizer) {
  MemoryReport r;
  for (const Tensor& p : params) {
    if (!p.requires_grad()) continue;
    r.params += bytes_of(p);
  }
  r.grads = r.params;
  for (const auto& [name, t] : optimizer.state()) r.optimizer += bytes_of(t);
  r.peak_rss = peak_rss_bytes();
  return r;
}

int64_t allocator_live_bytes() { return static_cast<int64_t>(allocator_stats().live_bytes); }
int64_t allocator_peak_bytes() { return static_cast<int64_t>(allocator_stats().peak_bytes); }

int64_t peak_rss_bytes() {
  struct rusage usage {};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

std::string format_memory(const MemoryReport& r) {
  std::string s = "parameters ";
  s += mib(r.params);
  s += ", gradients ";
  s += mib(r.grads);
  s += ", optimiser state ";
  s += mib(r.optimizer);
  if (r.activations < 0) {
    s += ", activations measured at step 1";
    return s;
  }
  s += ", activations ";
  s += mib(r.activations);
  s += " (one micro-batch), step peak ";
  s += mib(r.step_peak);
  s += ", peak RSS ";
  s += mib(r.peak_rss);
  return s;
}

nlohmann::json memory_json(const MemoryReport& r) {
  return {{"params", r.params},           {"grads", r.grads},
          {"optimizer", r.optimizer},     {"activations", r.activations},
          {"step_peak", r.step_peak},     {"peak_rss", r.peak_rss}};
}

}  // namespace seekforge::train
