#include "rl/advantage.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace seekforge::rl {

std::vector<double> group_advantages(const std::vector<double>& rewards, int64_t group_size,
                                     double eps, bool scale_by_std) {
  const char* op = "group_advantages";
  SF_CHECK(group_size > 0) << op << ": group_size " << group_size << " must be > 0";
  const auto n = static_cast<int64_t>(rewards.size());
  SF_CHECK(n % group_size == 0) << op << ": " << n
                                << " rewards are not a whole number of groups of " << group_size;
  SF_CHECK(std::isfinite(eps) && eps >= 0) << op << ": eps " << eps << " must be >= 0";
  for (int64_t i = 0; i < n; ++i)
    SF_CHECK(std::isfinite(rewards[i])) << op << ": reward " << i << " is " << rewards[i];
  std::vector<double> out(rewards.size(), 0.0);
  for (int64_t g = 0; g < n; g += group_size) {
    const auto first = rewards.begin() + g, last = first + group_size;
    // An all-equal group carries no signal: zeros, decided on the values themselves because the
    // rounded mean of equal values need not equal them (0.1 * 3 / 3 != 0.1), and with eps = 0
    // the rounding residue divided by its own std would give +-1.
    if (std::all_of(first, last, [&](double r) { return r == *first; })) continue;
    double mean = 0;
    for (int64_t i = g; i < g + group_size; ++i) mean += rewards[i];
    mean /= static_cast<double>(group_size);
    double var = 0;
    for (int64_t i = g; i < g + group_size; ++i) var += (rewards[i] - mean) * (rewards[i] - mean);
    const double denom =
        scale_by_std ? std::sqrt(var / static_cast<double>(group_size)) + eps : 1.0;
    for (int64_t i = g; i < g + group_size; ++i) out[i] = (rewards[i] - mean) / denom;
  }
  return out;
}

GaeResult gae(const std::vector<double>& rewards, const std::vector<double>& values, double gamma,
              double lambda, double last_value) {
  const char* op = "gae";
  SF_CHECK(rewards.size() == values.size())
      << op << ": " << rewards.size() << " rewards but " << values.size() << " values";
  SF_CHECK(gamma >= 0 && gamma <= 1) << op << ": gamma " << gamma << " outside [0, 1]";
  SF_CHECK(lambda >= 0 && lambda <= 1) << op << ": lambda " << lambda << " outside [0, 1]";
  const size_t T = rewards.size();
  GaeResult out{std::vector<double>(T), std::vector<double>(T)};
  double next_value = last_value, next_advantage = 0;
  for (size_t k = T; k-- > 0;) {
    const double delta = rewards[k] + gamma * next_value - values[k];
    next_advantage = delta + gamma * lambda * next_advantage;
    out.advantages[k] = next_advantage;
    out.returns[k] = next_advantage + values[k];
    next_value = values[k];
  }
  return out;
}

void whiten(std::vector<double>& values) {
  if (values.empty()) return;
  // All equal: exactly zeros, not the rounding residue of their mean scaled up.
  if (std::all_of(values.begin(), values.end(), [&](double x) { return x == values.front(); })) {
    std::fill(values.begin(), values.end(), 0.0);
    return;
  }
  const double n = static_cast<double>(values.size());
  double mean = 0;
  for (double x : values) mean += x;
  mean /= n;
  double var = 0;
  for (double x : values) var += (x - mean) * (x - mean);
  var /= n;
  const double inv_std = 1.0 / std::sqrt(var + 1e-8);
  for (double& x : values) x = (x - mean) * inv_std;
}

}  // namespace seekforge::rl
