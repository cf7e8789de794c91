// Elementwise loops on raw pointers: unary maps over contiguous buffers and binary maps with
// broadcasting over strided operands. The functor is inlined into the loop, so each op gets a
// vectorised loop of its own.
//
// Shapes: out is contiguous with `shape` (ndim dims); a and b are read through their own strides
// (0 on broadcast dims). Parallel over rows (all dims but the last): deterministic.
#pragma once

#include <cstdint>
#include <vector>

namespace seekforge::kernels {

template <typename TO, typename TI, typename F>
void unary_map(TO* out, const TI* in, int64_t n, F f) {
#pragma omp parallel for simd schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) out[i] = f(in[i]);
}

template <typename TO, typename TA, typename TB, typename F>
void binary_map_contiguous(TO* out, const TA* a, const TB* b, int64_t n, F f) {
#pragma omp parallel for simd schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
}

template <typename TO, typename TA, typename TB, typename F>
void binary_map_strided(TO* out, const TA* a, const TB* b, const std::vector<int64_t>& shape,
                        const std::vector<int64_t>& sa, const std::vector<int64_t>& sb, F f) {
  const int nd = static_cast<int>(shape.size());
  if (nd == 0) {
    out[0] = f(a[0], b[0]);
    return;
  }
  const int64_t inner = shape[nd - 1];
  const int64_t ia = sa[nd - 1], ib = sb[nd - 1];
  int64_t rows = 1;
  for (int d = 0; d < nd - 1; ++d) rows *= shape[d];
#pragma omp parallel for schedule(static) if (rows * inner > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t rem = r, oa = 0, ob = 0;
    for (int d = nd - 2; d >= 0; --d) {
      const int64_t idx = rem % shape[d];
      rem /= shape[d];
      oa += idx * sa[d];
      ob += idx * sb[d];
    }
    TO* o = out + r * inner;
    const TA* pa = a + oa;
    const TB* pb = b + ob;
    if (ia == 1 && ib == 1) {
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) o[i] = f(pa[i], pb[i]);
    } else if (ia == 1 && ib == 0) {
      const TB vb = pb[0];
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) o[i] = f(pa[i], vb);
    } else if (ia == 0 && ib == 1) {
      const TA va = pa[0];
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) o[i] = f(va, pb[i]);
    } else {
      for (int64_t i = 0; i < inner; ++i) o[i] = f(pa[i * ia], pb[i * ib]);
    }
  }
}

}  // namespace seekforge::kernels
