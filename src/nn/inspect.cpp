#include "nn/inspect.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/node.h"

namespace seekforge::nn {

Tensor attention_probabilities(const Tensor& q_in, const Tensor& k_in, double scale,
                               int64_t window) {
  SF_CHECK(q_in.dim() == 4 && k_in.dim() == 4 && q_in.size(0) == k_in.size(0) &&
           q_in.size(3) == k_in.size(3) && q_in.size(2) % k_in.size(2) == 0)
      << "attention_probabilities: q " << q_in.describe() << " and k " << k_in.describe()
      << " do not fit [B, Tq, H, D] and [B, Tk, KV, D]";
  autograd::NoGradGuard no_grad;
  Tensor q = q_in.detach().to(DType::f64).contiguous();
  Tensor k = k_in.detach().to(DType::f64).contiguous();
  const int64_t B = q.size(0), Tq = q.size(1), H = q.size(2), D = q.size(3), Tk = k.size(1),
                KV = k.size(2), group = H / KV;
  Tensor probs = zeros({B, H, Tq, Tk});
  const double* pq = q.data<double>();
  const double* pk = k.data<double>();
  float* pp = probs.data<float>();
  std::vector<double> s(static_cast<size_t>(Tk));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < Tq; ++i) {
        const int64_t p = Tk - Tq + i;  // absolute position of this query
        const int64_t lo = window > 0 ? std::max<int64_t>(0, p - window + 1) : 0;
        if (p < 0) continue;
        const double* qi = pq + ((b * Tq + i) * H + h) * D;
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t j = lo; j <= p; ++j) {
          const double* kj = pk + ((b * Tk + j) * KV + h / group) * D;
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) dot += qi[d] * kj[d];
          s[j] = dot * scale;
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (int64_t j = lo; j <= p; ++j) sum += (s[j] = std::exp(s[j] - mx));
        float* row = pp + ((b * H + h) * Tq + i) * Tk;
        for (int64_t j = lo; j <= p; ++j) row[j] = static_cast<float>(s[j] / sum);
      }
  return probs;
}

}  // namespace seekforge::nn
