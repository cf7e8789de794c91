// Memory-bound kernel benchmark: RMSNorm, softmax, cross-entropy (forward + backward) and the
// AdamW step, each timed as the median of repeats on 2 OpenMP threads and compared with the
// bandwidth floor, i.e. the time a plain large copy (same binary, same threads) would need to
// move the kernel's minimal bytes. Then runs bench/rowops_bench.py for PyTorch's figures.
//
// Not a correctness test (tests/kernels does that) and not a GEMM or attention benchmark.
// Usage: rowops_bench [--no-torch] [--threads N]   (default 2 threads)
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/adamw.h"
#include "kernels/cross_entropy.h"
#include "kernels/norm.h"
#include "kernels/softmax.h"
#include "source_path.h"

namespace sk = seekforge::kernels;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Timing {
  double median;
  double best;  // on a shared machine the minimum is the least disturbed run
};

Timing time_it(int repeats, const std::function<void()>& fn) {
  fn();  // warm-up: page faults, thread pool start
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    const double t0 = now_s();
    fn();
    t.push_back(now_s() - t0);
  }
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t[0]};
}

std::vector<float> filled(size_t n, uint64_t seed, float scale = 1.0f) {
  std::vector<float> v(n);
  std::mt19937 rng{static_cast<uint32_t>(seed)};
  std::normal_distribution<float> d(0.f, scale);
  for (auto& x : v) x = d(rng);
  return v;
}

// First-touch in parallel so pages are spread the way the kernels' static split reads them.
template <typename T>
T* alloc_touched(size_t n) {
  T* p = static_cast<T*>(std::aligned_alloc(64, ((n * sizeof(T) + 63) / 64) * 64));
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) p[i] = T(0);
  return p;
}

struct Row {
  std::string name;
  double bytes;
  Timing t;
};

}  // namespace

int main(int argc, char** argv) {
  bool run_torch = true;
  int threads = 2;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--no-torch") == 0) run_torch = false;
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = std::atoi(argv[++i]);
  }
  omp_set_num_threads(threads);
  std::printf("threads: %d\n", omp_get_max_threads());

  // ---- bandwidth floor: 512 MiB copy, split statically over the 2 threads ----
  const size_t copy_n = size_t(128) << 20;  // floats
  float* src = alloc_touched<float>(copy_n);
  float* dst = alloc_touched<float>(copy_n);
  for (size_t i = 0; i < copy_n; i += 1024) src[i] = float(i);
  const Timing t_memcpy = time_it(9, [&] {
#pragma omp parallel
    {
      const int nt = omp_get_num_threads(), t = omp_get_thread_num();
      const size_t b = copy_n * t / nt, e = copy_n * (t + 1) / nt;
      std::memcpy(dst + b, src + b, (e - b) * sizeof(float));
    }
  });
  const Timing t_loop = time_it(9, [&] {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < copy_n; ++i) dst[i] = src[i];
  });
  std::free(src);
  std::free(dst);
  const double copy_bytes = 2.0 * copy_n * sizeof(float);
  // The floor uses the faster copy (memcpy streams its stores), median and best separately.
  const double bw = copy_bytes / std::min(t_memcpy.median, t_loop.median);
  const double bw_best = copy_bytes / std::min(t_memcpy.best, t_loop.best);
  std::printf("copy 512 MiB (median/best): memcpy %.2f/%.2f GB/s, loop %.2f/%.2f GB/s\n",
              copy_bytes / t_memcpy.median / 1e9, copy_bytes / t_memcpy.best / 1e9,
              copy_bytes / t_loop.median / 1e9, copy_bytes / t_loop.best / 1e9);
  std::printf("floor bandwidth: median %.2f GB/s, best %.2f GB/s\n\n", bw / 1e9, bw_best / 1e9);

  std::vector<Row> rows;

  // ---- RMSNorm fwd + bwd ----
  for (int64_t C : {384, 1024}) {
    const int64_t N = 2048;
    auto x = filled(N * C, 1), w = filled(C, 2), dy = filled(N * C, 3);
    std::vector<float> y(N * C), rstd(N), dx(N * C, 0.f), dw(C, 0.f);
    const Timing t = time_it(50, [&] {
      sk::rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), N, C, 1e-6f);
      sk::rmsnorm_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), rstd.data(), N, C);
    });
    // fwd: read x, write y; bwd: read x, dy, read+write dx (accumulate). w, rstd, dw: O(N + C).
    rows.push_back({"rmsnorm fwd+bwd N=2048 C=" + std::to_string(C), 6.0 * N * C * 4, t});
  }

  // ---- softmax fwd + bwd ----
  {
    const int64_t N = 2048, C = 1024;
    auto x = filled(N * C, 4, 3.f), dy = filled(N * C, 5);
    std::vector<float> y(N * C), dx(N * C, 0.f);
    const Timing t = time_it(50, [&] {
      sk::softmax_forward(y.data(), x.data(), N, C);
      sk::softmax_backward(dx.data(), y.data(), dy.data(), N, C);
    });
    // fwd: read x, write y; bwd: read y, dy, read+write dx.
    rows.push_back({"softmax fwd+bwd N=2048 C=1024", 6.0 * N * C * 4, t});
  }

  // ---- cross-entropy fwd + bwd ----
  {
    const int64_t N = 2048, V = 32768;
    float* logits = alloc_touched<float>(N * V);
    float* dlogits = alloc_touched<float>(N * V);
    {
      auto rowv = filled(V, 6, 2.f);  // same random row everywhere: content does not matter
#pragma omp parallel for schedule(static)
      for (int64_t n = 0; n < N; ++n) std::memcpy(logits + n * V, rowv.data(), V * sizeof(float));
    }
    std::vector<int64_t> targets(N);
    for (int64_t n = 0; n < N; ++n) targets[n] = (n * 7919) % V;
    std::vector<float> loss(N), lse(N), dloss(N, 1.0f / N);
    const Timing tf = time_it(9, [&] {
      sk::cross_entropy_forward(loss.data(), lse.data(), logits, targets.data(), N, V, 0.1f);
    });
    const Timing tb = time_it(9, [&] {
      sk::cross_entropy_backward(dlogits, dloss.data(), logits, lse.data(), targets.data(), N, V,
                                 0.1f);
    });
    const Timing tbo = time_it(9, [&] {
      sk::cross_entropy_backward(dlogits, dloss.data(), logits, lse.data(), targets.data(), N, V,
                                 0.1f, sk::kIgnoreIndex, /*accumulate=*/false);
    });
    const Timing tfused = time_it(9, [&] {
      sk::cross_entropy_forward_backward(loss.data(), lse.data(), dlogits, dloss.data(), logits,
                                         targets.data(), N, V, 0.1f);
    });
    const double nv4 = double(N) * V * 4;
    rows.push_back({"cross-entropy fwd N=2048 V=32768", 1.0 * nv4, tf});
    rows.push_back({"cross-entropy bwd (+=) N=2048 V=32768", 3.0 * nv4, tb});
    rows.push_back(
        {"cross-entropy fwd+bwd (+=)", 4.0 * nv4, {tf.median + tb.median, tf.best + tb.best}});
    rows.push_back({"cross-entropy fwd+bwd (overwrite dlogits)",
                    3.0 * nv4,
                    {tf.median + tbo.median, tf.best + tbo.best}});
    // What training runs: one read of the logits, one write of dlogits.
    rows.push_back({"cross-entropy fwd+bwd, one pass (training)", 2.0 * nv4, tfused});
    std::free(logits);
    std::free(dlogits);
  }

  // ---- AdamW step over 10M parameters, as 3 segments ----
  {
    const int64_t n = 10'000'000;
    float* p = alloc_touched<float>(n);
    float* g = alloc_touched<float>(n);
    float* m = alloc_touched<float>(n);
    float* v = alloc_touched<float>(n);
    for (int64_t i = 0; i < n; ++i) p[i] = 0.01f * float(i % 97), g[i] = 1e-3f * float(i % 13);
    const int64_t a = 3'000'000, b = 6'500'000;
    const sk::AdamWSegment<float> segs[] = {{p, g, m, v, a, 1e-3, 0.1},
                                            {p + a, g + a, m + a, v + a, b - a, 1e-3, 0.0},
                                            {p + b, g + b, m + b, v + b, n - b, 1e-3, 0.1}};
    sk::AdamWHyper h;
    int64_t step = 0;
    const Timing t = time_it(15, [&] {
      h.step = ++step;
      sk::adamw_step(segs, 3, h);
    });
    // read p, g, m, v; write p, m, v.
    rows.push_back({"adamw step 10M params", 7.0 * n * 4, t});
    std::free(p);
    std::free(g);
    std::free(m);
    std::free(v);
  }

  // Second floor: the plain loop copy, whose stores go through the cache as a kernel's do when
  // its output is read next. Where the machine's memcpy streams its stores (non-temporal) and
  // that is worth much bandwidth, the two floors differ and both ratios are printed.
  const double bw_plain = copy_bytes / t_loop.median;
  std::printf("%-42s %8s %9s %8s %9s %7s | %9s %8s %7s | %7s\n", "kernel", "MB", "median ms",
              "GB/s", "floor ms", "ratio", "best ms", "GB/s", "ratio", "plain");
  for (const Row& r : rows) {
    const double floor = r.bytes / bw, floor_best = r.bytes / bw_best;
    std::printf("%-42s %8.1f %9.3f %8.2f %9.3f %7.2f | %9.3f %8.2f %7.2f | %7.2f\n", r.name.c_str(),
                r.bytes / 1e6, r.t.median * 1e3, r.bytes / r.t.median / 1e9, floor * 1e3,
                r.t.median / floor, r.t.best * 1e3, r.bytes / r.t.best / 1e9, r.t.best / floor_best,
                r.t.median / (r.bytes / bw_plain));
  }
  std::printf(
      "(ratio = time / (bytes / copy bandwidth), median with median, best with best;"
      " target <= 1.5;\n plain = median time / (bytes / plain loop copy bandwidth, median))\n");

  if (run_torch) {
    const std::string script = seekforge::bench::source_path("bench/rowops_bench.py");
    const std::string cmd = "OMP_NUM_THREADS=2 /usr/bin/python3 " + script;
    std::printf("\n$ %s\n", cmd.c_str());
    std::fflush(stdout);
    if (std::system(cmd.c_str()) != 0) std::printf("(PyTorch comparison failed or unavailable)\n");
  }
  return 0;
}
