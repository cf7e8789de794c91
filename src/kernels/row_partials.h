// Deterministic column sums over rows, for kernels whose backward produces a per-row result
// (dx) and a per-column sum over all rows (dw, db). Internal to src/kernels; not a public API.
//
// Each OpenMP thread takes a fixed contiguous block of rows and accumulates its column sums into
// partial arrays on its own stack; after a barrier the columns are split among the threads and
// each column adds the partials in thread order. No heap allocation, no atomics, bitwise
// repeatable for a fixed thread count. Rows wider than the stack tile fall back to a second,
// column-parallel pass that reads the inputs again (deterministic too, just one more pass).
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "kernels/vec_math.h"

namespace seekforge::kernels::detail {

inline constexpr int kMaxThreads = 256;
inline constexpr int64_t kPartialBytes = 32 * 1024;

// row_fn(n, T* const* partials): handles row n; when partials is non-null it adds row n's
//   contribution to partials[k][0..C) for k < K. When it is null it must only do the row work.
// col_fn(c0, c1): adds the contributions of all rows to outs[k][c0..c1) (used only for wide rows).
template <typename T, int K, typename RowFn, typename ColFn>
void rows_with_column_sums(T* const* outs, int64_t N, int64_t C, RowFn row_fn, ColFn col_fn) {
  constexpr int64_t kCap = kPartialBytes / static_cast<int64_t>(sizeof(T));
  const int threads = std::min(omp_get_max_threads(), kMaxThreads);
  if (C > kCap) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t n = 0; n < N; ++n) row_fn(n, static_cast<T* const*>(nullptr));
#pragma omp parallel num_threads(threads)
    {
      const Range cr = split_range(C, omp_get_num_threads(), omp_get_thread_num());
      // Column tiles keep the per-column accumulators in cache while rows stream past.
      for (int64_t c0 = cr.begin; c0 < cr.end; c0 += 1024) col_fn(c0, std::min(cr.end, c0 + 1024));
    }
    return;
  }
  T* published[kMaxThreads][K];
#pragma omp parallel num_threads(threads)
  {
    const int nt = omp_get_num_threads(), tid = omp_get_thread_num();
    alignas(64) T part[K][kCap];
    T* ptrs[K];
    for (int k = 0; k < K; ++k) {
      std::fill(part[k], part[k] + C, T(0));
      ptrs[k] = part[k];
      published[tid][k] = part[k];
    }
    const Range rr = split_range(N, nt, tid);
    for (int64_t n = rr.begin; n < rr.end; ++n) row_fn(n, static_cast<T* const*>(ptrs));
#pragma omp barrier
    const Range cr = split_range(C, nt, tid);
    for (int k = 0; k < K; ++k) {
      for (int64_t c = cr.begin; c < cr.end; ++c) {
        T s = 0;
        for (int t = 0; t < nt; ++t) s += published[t][k][c];
        outs[k][c] += s;
      }
    }
    // The partials live on each thread's stack: nobody leaves until every reader is done.
#pragma omp barrier
  }
}

}  // namespace seekforge::kernels::detail
