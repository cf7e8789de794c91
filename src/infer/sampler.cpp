// Next-token sampling: see sampler.h.
#include "infer/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/rng.h"

namespace seekforge::infer {
namespace {

// Keeps the sampler's Philox inputs apart from the engine's fill helpers (counter_hi = 0).
constexpr uint64_t kSamplerStream = 0x53414d504c455221ull;

void check_logits(const float* logits, int64_t V) {
  SF_CHECK(V >= 1) << "Sampler: vocabulary size " << V << " must be >= 1";
  SF_CHECK(logits != nullptr) << "Sampler: null logits";
  bool any_finite = false;
  for (int64_t i = 0; i < V; ++i) {
    const float l = logits[i];
    SF_CHECK(!std::isnan(l) && l != INFINITY)
        << "Sampler: logit " << i << " is " << l << " (NaN and +inf are refused)";
    any_finite |= std::isfinite(l);
  }
  SF_CHECK(any_finite) << "Sampler: all " << V << " logits are -inf";
}

int64_t argmax(const float* logits, int64_t V) {
  int64_t best = 0;
  for (int64_t i = 1; i < V; ++i) {
    if (logits[i] > logits[best]) best = i;  // strict: the lowest index wins ties
  }
  return best;
}

}  // namespace

void validate(const SamplingOptions& o) {
  SF_CHECK(o.temperature >= 0.0 && std::isfinite(o.temperature))
      << "sampling option temperature = " << o.temperature << ": must be >= 0 (0 = greedy)";
  SF_CHECK(o.top_k >= 0) << "sampling option top_k = " << o.top_k
                         << ": must be >= 0 (0 = no limit)";
  SF_CHECK(o.top_p > 0.0 && o.top_p <= 1.0)
      << "sampling option top_p = " << o.top_p << ": must be in (0, 1]";
}

Sampler::Sampler(SamplingOptions options) : options_(options) { validate(options_); }

void Sampler::candidates(const float* logits, int64_t V, std::vector<int64_t>* ids,
                         std::vector<double>* weights) const {
  const bool filter = (options_.top_k > 0 && options_.top_k < V) || options_.top_p < 1.0;
  ids->resize(static_cast<size_t>(V));
  std::iota(ids->begin(), ids->end(), int64_t{0});
  size_t keep = static_cast<size_t>(V);
  if (filter) {
    // Descending logit = descending probability; ties by lower index.
    auto before = [logits](int64_t a, int64_t b) {
      return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    };
    if (options_.top_k > 0 && options_.top_k < V) {
      keep = static_cast<size_t>(options_.top_k);
      std::partial_sort(ids->begin(), ids->begin() + static_cast<std::ptrdiff_t>(keep), ids->end(),
                        before);
    } else {
      std::sort(ids->begin(), ids->end(), before);
    }
    ids->resize(keep);
  }
  float max_logit = -INFINITY;
  for (int64_t id : *ids) max_logit = std::max(max_logit, logits[id]);
  weights->resize(keep);
  double total = 0.0;
  for (size_t i = 0; i < keep; ++i) {
    const double w = std::exp((double(logits[(*ids)[i]]) - max_logit) / options_.temperature);
    (*weights)[i] = w;
    total += w;
  }
  if (options_.top_p < 1.0) {
    // Smallest prefix (in descending probability) whose probability reaches top_p.
    const double target = options_.top_p * total;
    double cum = 0.0;
    size_t n = 0;
    while (n < keep) {
      cum += (*weights)[n++];
      if (cum >= target) break;
    }
    ids->resize(n);
    weights->resize(n);
  }
}

int64_t Sampler::sample(const float* logits, int64_t V) {
  check_logits(logits, V);
  const uint64_t counter = counter_++;
  if (options_.temperature == 0.0) return argmax(logits, V);
  std::vector<int64_t> ids;
  std::vector<double> weights;
  candidates(logits, V, &ids, &weights);
  double total = 0.0;
  for (double w : weights) total += w;
  const auto r = philox4x32(counter, kSamplerStream, options_.seed);
  const uint64_t bits = ((uint64_t{r[0]} << 32) | r[1]) >> 11;  // 53 bits
  const double u = static_cast<double>(bits) * 0x1.0p-53 * total;
  double cum = 0.0;
  int64_t last = ids.front();
  for (size_t i = 0; i < ids.size(); ++i) {
    if (weights[i] <= 0.0) continue;
    cum += weights[i];
    last = ids[i];
    if (u < cum) return ids[i];
  }
  return last;  // u rounded up to the total: the last token of non-zero weight
}

std::vector<double> Sampler::distribution(const float* logits, int64_t V) const {
  check_logits(logits, V);
  std::vector<double> p(static_cast<size_t>(V), 0.0);
  if (options_.temperature == 0.0) {
    p[static_cast<size_t>(argmax(logits, V))] = 1.0;
    return p;
  }
  std::vector<int64_t> ids;
  std::vector<double> weights;
  candidates(logits, V, &ids, &weights);
  double total = 0.0;
  for (double w : weights) total += w;
  for (size_t i = 0; i < ids.size(); ++i) p[static_cast<size_t>(ids[i])] = weights[i] / total;
  return p;
}

}  // namespace seekforge::infer
