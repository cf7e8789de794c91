#include "ops/policy_loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/node.h"
#include "ops/common.h"
#include "ops/elementwise.h"

namespace seekforge::ops {

using autograd::record;
using Saved = std::vector<Tensor>;
using Grads = std::vector<Tensor>;

namespace {

// The values of a small tensor in row-major order, as doubles (the losses compute in double).
std::vector<double> host_values(const Tensor& t) {
  Tensor c = t.to(DType::f64).contiguous();
  const double* p = c.data<double>();
  return std::vector<double>(p, p + c.numel());
}

void check_like(const Tensor& t, const Tensor& like, const char* op, const char* what,
                const char* like_what) {
  detail::check_float(t, op, what);
  SF_CHECK(t.shape() == like.shape()) << op << ": " << what << " " << t.describe()
                                      << " does not match " << like_what << " " << like.describe();
}

// mask entries must be 0 or 1: a fractional mask would weight tokens in the loss but not in the
// stats, which nobody means.
std::vector<double> mask_values(const Tensor& mask, const char* op) {
  std::vector<double> m = host_values(mask);
  for (size_t i = 0; i < m.size(); ++i)
    SF_CHECK(m[i] == 0.0 || m[i] == 1.0) << op << ": mask " << mask.describe() << " has " << m[i]
                                         << " at element " << i << " (entries must be 0 or 1)";
  return m;
}

// The scalar output with a saved gradient: the gradient of a scalar loss is known up to the
// upstream scalar, so the forward computes it and the backward only scales it.
Tensor scalar_with_saved_grad(const char* node_name, double value, const Tensor& input,
                              const std::vector<double>& dinput) {
  Tensor out = full({}, value, input.dtype());
  if (!autograd::should_record({&input})) return out;
  Tensor grad = from_vector_f64(dinput, input.shape(), input.dtype());
  record(node_name, {&out}, {input}, {grad}, [](const Saved& s, Grads& g) {
    const double scale = g[0].item_double();
    return Grads{scale == 1.0 ? s[0] : mul(s[0], scale)};
  });
  return out;
}

}  // namespace

Tensor policy_loss(const Tensor& logp, const Tensor& old_logp, const Tensor& ref_logp,
                   const Tensor& advantages, const Tensor& mask, const PolicyLossOptions& options,
                   PolicyLossStats* stats, const Tensor& sample_weights) {
  const char* op = "policy_loss";
  detail::check_float(logp, op, "logp");
  SF_CHECK(logp.dim() == 2) << op << ": logp must be [B, T], got " << logp.describe();
  const int64_t B = logp.size(0), T = logp.size(1);
  check_like(old_logp, logp, op, "old_logp", "logp");
  check_like(mask, logp, op, "mask", "logp");
  const bool use_kl = options.kl_coef != 0.0;
  SF_CHECK(!use_kl || ref_logp.defined())
      << op << ": kl_coef " << options.kl_coef << " needs ref_logp, which is undefined";
  if (ref_logp.defined()) check_like(ref_logp, logp, op, "ref_logp", "logp");
  detail::check_float(advantages, op, "advantages");
  const bool per_token = advantages.dim() == 2;
  SF_CHECK((advantages.dim() == 1 && advantages.size(0) == B) || advantages.shape() == logp.shape())
      << op << ": advantages " << advantages.describe() << " must be [B] or [B, T] for logp "
      << logp.describe();
  if (sample_weights.defined()) {
    detail::check_float(sample_weights, op, "sample_weights");
    SF_CHECK(sample_weights.dim() == 1 && sample_weights.size(0) == B)
        << op << ": sample_weights " << sample_weights.describe() << " must be [B] for logp "
        << logp.describe();
  }
  const double eps_low = options.clip_eps;
  const double eps_high = options.clip_eps_high < 0 ? options.clip_eps : options.clip_eps_high;
  SF_CHECK(std::isfinite(eps_low) && eps_low >= 0 && eps_low < 1)
      << op << ": clip_eps " << eps_low << " outside [0, 1)";
  SF_CHECK(std::isfinite(eps_high)) << op << ": clip_eps_high " << eps_high << " is not finite";
  SF_CHECK(std::isfinite(options.kl_coef) && options.kl_coef >= 0)
      << op << ": kl_coef " << options.kl_coef << " must be >= 0";

  const std::vector<double> lp = host_values(logp), old = host_values(old_logp);
  const std::vector<double> ref =
      ref_logp.defined() ? host_values(ref_logp) : std::vector<double>();
  const std::vector<double> adv = host_values(advantages), m = mask_values(mask, op);
  const std::vector<double> w =
      sample_weights.defined() ? host_values(sample_weights) : std::vector<double>(B, 1.0);
  for (int64_t b = 0; b < B; ++b)
    SF_CHECK(std::isfinite(w[b]) && w[b] >= 0)
        << op << ": sample_weights " << sample_weights.describe() << " has " << w[b]
        << " at sequence " << b << " (weights must be finite and >= 0)";

  // Per-token terms and their derivatives in logp, before the reduction's weights.
  std::vector<double> surr(B * T, 0.0), dsurr(B * T, 0.0), kl(B * T, 0.0), dkl(B * T, 0.0);
  int64_t counted = 0, clipped = 0;
  double ratio_sum = 0, ratio_sq = 0, ratio_max = 0, kl_sum = 0;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      const int64_t i = b * T + t;
      if (m[i] == 0.0) continue;
      const double a = per_token ? adv[i] : adv[b];
      const double r = std::exp(lp[i] - old[i]);
      const double rc = std::clamp(r, 1.0 - eps_low, 1.0 + eps_high);
      const double unclipped = r * a, clipped_term = rc * a;
      // min(r*A, clip(r)*A): the clipped branch wins only when strictly smaller, and there the
      // ratio is outside the range, so the term is constant in logp.
      if (clipped_term < unclipped) {
        surr[i] = clipped_term;
        ++clipped;
      } else {
        surr[i] = unclipped;
        dsurr[i] = unclipped;  // d(r*A)/dlogp = r*A
      }
      if (ref_logp.defined()) {
        const double d = ref[i] - lp[i];
        kl[i] = std::exp(d) - d - 1.0;
        dkl[i] = 1.0 - std::exp(d);  // d/dlogp of exp(ref - logp) - (ref - logp) - 1
        kl_sum += kl[i];
      }
      ++counted;
      ratio_sum += r;
      ratio_sq += r * r;
      ratio_max = counted == 1 ? r : std::max(ratio_max, r);
    }
  }

  // Reduction weight of each token: w_b / sum m (token mean), or w_b / (n_b * sum_t m) with n_b
  // the sequences that have a counted token (sequence mean).
  std::vector<double> token_weight(B * T, 0.0);
  if (options.sequence_mean) {
    std::vector<double> seq_tokens(B, 0.0);
    int64_t seqs = 0;
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t t = 0; t < T; ++t) seq_tokens[b] += m[b * T + t];
      seqs += seq_tokens[b] > 0;
    }
    for (int64_t b = 0; b < B; ++b) {
      if (seq_tokens[b] == 0) continue;
      const double scale = w[b] / (seq_tokens[b] * static_cast<double>(seqs));
      for (int64_t t = 0; t < T; ++t) token_weight[b * T + t] = m[b * T + t] * scale;
    }
  } else if (counted > 0) {
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t)
        token_weight[b * T + t] = m[b * T + t] * w[b] / static_cast<double>(counted);
  }

  double surrogate = 0, kl_term = 0;
  std::vector<double> dlogp(B * T, 0.0);
  for (int64_t i = 0; i < B * T; ++i) {
    surrogate += token_weight[i] * surr[i];
    kl_term += token_weight[i] * kl[i];
    dlogp[i] = token_weight[i] * (-dsurr[i] + options.kl_coef * dkl[i]);
  }
  const double loss = -surrogate + options.kl_coef * kl_term;

  if (stats != nullptr) {
    const double n = static_cast<double>(std::max<int64_t>(counted, 1));
    const double mean = ratio_sum / n;
    stats->clip_fraction = static_cast<double>(clipped) / n;
    stats->kl_mean = kl_sum / n;
    stats->ratio_mean = mean;
    stats->ratio_std = std::sqrt(std::max(0.0, ratio_sq / n - mean * mean));
    stats->ratio_max = ratio_max;
    stats->surrogate = surrogate;
  }
  return scalar_with_saved_grad("PolicyLossBackward", loss, logp, dlogp);
}

Tensor value_loss(const Tensor& values, const Tensor& old_values, const Tensor& returns,
                  const Tensor& mask, double clip) {
  const char* op = "value_loss";
  detail::check_float(values, op, "values");
  SF_CHECK(values.dim() == 2) << op << ": values must be [B, T], got " << values.describe();
  check_like(old_values, values, op, "old_values", "values");
  check_like(returns, values, op, "returns", "values");
  check_like(mask, values, op, "mask", "values");
  SF_CHECK(!std::isnan(clip)) << op << ": clip is nan";
  const std::vector<double> v = host_values(values), old = host_values(old_values);
  const std::vector<double> ret = host_values(returns), m = mask_values(mask, op);
  double counted = 0;
  for (double x : m) counted += x;
  const double scale = counted > 0 ? 0.5 / counted : 0.0;
  double loss = 0;
  std::vector<double> dvalues(v.size(), 0.0);
  for (size_t i = 0; i < v.size(); ++i) {
    if (m[i] == 0.0) continue;
    const double err = v[i] - ret[i];
    double term = err * err, dterm = 2.0 * err;
    if (clip > 0) {
      const double v_clipped = old[i] + std::clamp(v[i] - old[i], -clip, clip);
      const double err_clipped = v_clipped - ret[i];
      // The clipped error wins only when strictly larger, which needs |v - old_v| > clip: there
      // v_clipped does not move with v, so the gradient is zero.
      if (err_clipped * err_clipped > term) {
        term = err_clipped * err_clipped;
        dterm = 0.0;
      }
    }
    loss += scale * term;
    dvalues[i] = scale * dterm;
  }
  return scalar_with_saved_grad("ValueLossBackward", loss, values, dvalues);
}

}  // namespace seekforge::ops
