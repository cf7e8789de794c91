// Memory-bound kernel benchmark: RMSNorm, softmax, cross-entropy (forward + backward) and the
// AdamW step, each timed on 2 OpenMP threads and compared with the bandwidth floor, i.e. the
// time a plain copy (same binary, same threads) needs to move the kernel's minimal bytes: the copy
// moves exactly those bytes (half read, half written), from a cold cache as the kernel does. The
// memory bandwidth of a shared host moves by up to 2x within seconds (its neighbours), so every
// repeat of a kernel is paired with the copies timed right before it and the ratio is taken per
// pair: the median of those ratios is what a drift cannot skew. Then runs bench/rowops_bench.py
// for PyTorch's figures.
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
#include "kernels/simd.h"
#include "kernels/softmax.h"
#include "source_path.h"

namespace sk = seekforge::kernels;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
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

// A 64-byte aligned, first-touched float buffer (n zeros, or a copy of v) that frees itself,
// aligned as the engine's tensor storage is: with std::vector's 16-byte alignment every 64-byte
// vector load of a row splits two cache lines, which cost the RMSNorm backward ~25% here and is
// not what the kernels see in training.
struct Aligned {
  float* p;
  explicit Aligned(const std::vector<float>& v) : p(alloc_touched<float>(v.size())) {
    std::copy(v.begin(), v.end(), p);
  }
  explicit Aligned(size_t n) : p(alloc_touched<float>(n)) {}
  Aligned(const Aligned&) = delete;
  Aligned& operator=(const Aligned&) = delete;
  ~Aligned() { std::free(p); }
};

// The floor's two copies, memcpy (whose stores may stream around the cache) and the plain loop
// `dst[i] = src[i]` (stores through the cache, as a kernel's are when its output is read next),
// and a read-only sweep, each over the first `count` floats of 512 MiB buffers.
struct CopyFloor {
  static constexpr size_t n = size_t(128) << 20;  // floats
  Aligned src{n}, dst{n};
  // A clean buffer read before each timed part, so that it starts on a cold cache holding no
  // dirty lines of the copy's destination (their write-backs would be charged to it): 64 MiB,
  // twice the last-level cache.
  static constexpr size_t sweep_n = size_t(16) << 20;
  Aligned sweep{sweep_n};
  double memcpy_s(size_t count) const;
  double loop_s(size_t count) const;
  double read_s(size_t count) const;
  void clean_cache() const;
};

struct Paired {
  double median_ms;    // the kernel alone
  double ratio;        // median over repeats of time / (bytes / faster copy's bandwidth)
  double ratio_plain;  // the same against the plain loop copy only
  double copy_gbs;     // median bandwidth of the faster copy beside this kernel
  double read_gbs;     // median bandwidth of a read-only sweep of the kernel's bytes
};

// Warm-up, then `repeats` x (memcpy, loop copy, read sweep, kernel), each on a clean cache and
// each ratio from its own repeat: the kernel's inputs are in memory, not in cache, every time.
Paired time_paired(const CopyFloor& floor, int repeats, double bytes,
                   const std::function<void()>& fn) {
  fn();  // page faults, thread pool start
  std::vector<double> t, ratio, ratio_plain, bw, bw_read;
  const size_t count = std::min(floor.n, size_t(bytes / (2 * sizeof(float))));
  const size_t read_count = std::min(floor.n, 2 * count);
  for (int r = 0; r < repeats; ++r) {
    floor.clean_cache();
    const double tm = floor.memcpy_s(count);
    floor.clean_cache();
    const double tl = floor.loop_s(count);
    floor.clean_cache();
    const double tr = floor.read_s(read_count);
    floor.clean_cache();
    const double t0 = now_s();
    fn();
    const double tk = now_s() - t0;
    const double copied = 2.0 * double(count) * sizeof(float);
    const double fast = copied / std::min(tm, tl), plain = copied / tl;
    t.push_back(tk);
    ratio.push_back(tk / (bytes / fast));
    ratio_plain.push_back(tk / (bytes / plain));
    bw.push_back(fast);
    bw_read.push_back(double(read_count) * sizeof(float) / tr);
  }
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  return {median(t) * 1e3, median(ratio), median(ratio_plain), median(bw) / 1e9,
          median(bw_read) / 1e9};
}

struct Row {
  std::string name;
  double bytes;
  Paired p;
};

double CopyFloor::memcpy_s(size_t count) const {
  const double t0 = now_s();
#pragma omp parallel
  {
    const int nt = omp_get_num_threads(), t = omp_get_thread_num();
    const size_t b = count * t / nt, e = count * (t + 1) / nt;
    std::memcpy(dst.p + b, src.p + b, (e - b) * sizeof(float));
  }
  return now_s() - t0;
}

void CopyFloor::clean_cache() const {
  float sum = 0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
  for (size_t i = 0; i < sweep_n; i += 16) sum += sweep.p[i];
  if (sum == 1.5f) std::printf(" ");  // keeps the reads
}

// A sum over the first `count` floats of src, four vector accumulators per thread: how fast
// this host reads when nothing is written (the bound of a read-only kernel such as the
// cross-entropy forward, which a copy's read-plus-write figure can overstate).
double CopyFloor::read_s(size_t count) const {
  const float* x = src.p;
  const double t0 = now_s();
  float total = 0;
#pragma omp parallel reduction(+ : total)
  {
    const int nt = omp_get_num_threads(), t = omp_get_thread_num();
    const size_t b = count * t / nt / 64 * 64,
                 e = t + 1 == nt ? count : count * (t + 1) / nt / 64 * 64;
#if defined(SEEKFORGE_SIMD)
    namespace simd = seekforge::kernels::simd;
    simd::vf a0 = simd::zero(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = b;
    for (; i + 64 <= e; i += 64) {
      a0 = simd::add(a0, simd::loadu(x + i));
      a1 = simd::add(a1, simd::loadu(x + i + 16));
      a2 = simd::add(a2, simd::loadu(x + i + 32));
      a3 = simd::add(a3, simd::loadu(x + i + 48));
    }
    total += simd::reduce_add(simd::add(simd::add(a0, a1), simd::add(a2, a3)));
    for (; i < e; ++i) total += x[i];
#else
    for (size_t i = b; i < e; ++i) total += x[i];
#endif
  }
  if (total == 1.5f) std::printf(" ");  // keeps the reads
  return now_s() - t0;
}

double CopyFloor::loop_s(size_t count) const {
  const double t0 = now_s();
  float* d = dst.p;
  const float* s = src.p;
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < count; ++i) d[i] = s[i];
  return now_s() - t0;
}

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

  const CopyFloor floor;
  for (size_t i = 0; i < floor.n; i += 1024) floor.src.p[i] = float(i);

  std::vector<Row> rows;

  // ---- RMSNorm fwd + bwd ----
  for (int64_t C : {384, 1024}) {
    const int64_t N = 2048;
    const Aligned x(filled(N * C, 1)), w(filled(C, 2)), dy(filled(N * C, 3));
    const Aligned y(N * C), rstd(N), dx(N * C), dw(C);
    // fwd: read x, write y; bwd: read x, dy, read+write dx (accumulate). w, rstd, dw: O(N + C).
    const double bytes = 6.0 * N * C * 4;
    rows.push_back(
        {"rmsnorm fwd+bwd N=2048 C=" + std::to_string(C), bytes, time_paired(floor, 25, bytes, [&] {
           sk::rmsnorm_forward(y.p, rstd.p, x.p, w.p, N, C, 1e-6f);
           sk::rmsnorm_backward(dx.p, dw.p, dy.p, x.p, w.p, rstd.p, N, C);
         })});
  }

  // ---- softmax fwd + bwd ----
  {
    const int64_t N = 2048, C = 1024;
    const Aligned x(filled(N * C, 4, 3.f)), dy(filled(N * C, 5));
    const Aligned y(N * C), dx(N * C);
    // fwd: read x, write y; bwd: read y, dy, read+write dx.
    const double bytes = 6.0 * N * C * 4;
    rows.push_back({"softmax fwd+bwd N=2048 C=1024", bytes, time_paired(floor, 25, bytes, [&] {
                      sk::softmax_forward(y.p, x.p, N, C);
                      sk::softmax_backward(dx.p, y.p, dy.p, N, C);
                    })});
  }

  // ---- cross-entropy fwd + bwd ----
  {
    const int64_t N = 2048, V = 32768;
    const Aligned logits_buf(N * V), dlogits_buf(N * V);
    float* logits = logits_buf.p;
    float* dlogits = dlogits_buf.p;
    {
      auto rowv = filled(V, 6, 2.f);  // same random row everywhere: content does not matter
#pragma omp parallel for schedule(static)
      for (int64_t n = 0; n < N; ++n) std::memcpy(logits + n * V, rowv.data(), V * sizeof(float));
    }
    std::vector<int64_t> targets(N);
    for (int64_t n = 0; n < N; ++n) targets[n] = (n * 7919) % V;
    std::vector<float> loss(N), lse(N), dloss(N, 1.0f / N);
    const auto forward = [&] {
      sk::cross_entropy_forward(loss.data(), lse.data(), logits, targets.data(), N, V, 0.1f);
    };
    const auto backward = [&](bool accumulate) {
      sk::cross_entropy_backward(dlogits, dloss.data(), logits, lse.data(), targets.data(), N, V,
                                 0.1f, sk::kIgnoreIndex, accumulate);
    };
    const double nv4 = double(N) * V * 4;
    const int reps = 11;
    rows.push_back(
        {"cross-entropy fwd N=2048 V=32768", nv4, time_paired(floor, reps, nv4, forward)});
    // Backward (+=): read logits, read + write dlogits.
    rows.push_back({"cross-entropy bwd (+=) N=2048 V=32768", 3 * nv4,
                    time_paired(floor, reps, 3 * nv4, [&] { backward(true); })});
    rows.push_back({"cross-entropy fwd+bwd (+=)", 4 * nv4, time_paired(floor, reps, 4 * nv4, [&] {
                      forward();
                      backward(true);
                    })});
    rows.push_back({"cross-entropy fwd+bwd (overwrite dlogits)", 3 * nv4,
                    time_paired(floor, reps, 3 * nv4, [&] {
                      forward();
                      backward(false);
                    })});
    // What training runs: one read of the logits, one write of dlogits.
    rows.push_back({"cross-entropy fwd+bwd, one pass (training)", 2 * nv4,
                    time_paired(floor, reps, 2 * nv4, [&] {
                      sk::cross_entropy_forward_backward(loss.data(), lse.data(), dlogits,
                                                         dloss.data(), logits, targets.data(), N, V,
                                                         0.1f);
                    })});
  }

  // ---- AdamW step over 10M parameters, as 3 segments ----
  {
    const int64_t n = 10'000'000;
    const Aligned pb(n), gb(n), mb(n), vb(n);
    float *p = pb.p, *g = gb.p, *m = mb.p, *v = vb.p;
    for (int64_t i = 0; i < n; ++i) p[i] = 0.01f * float(i % 97), g[i] = 1e-3f * float(i % 13);
    const int64_t a = 3'000'000, b = 6'500'000;
    const sk::AdamWSegment<float> segs[] = {{p, g, m, v, a, 1e-3, 0.1},
                                            {p + a, g + a, m + a, v + a, b - a, 1e-3, 0.0},
                                            {p + b, g + b, m + b, v + b, n - b, 1e-3, 0.1}};
    sk::AdamWHyper h;
    int64_t step = 0;
    // read p, g, m, v; write p, m, v.
    const double bytes = 7.0 * n * 4;
    rows.push_back({"adamw step 10M params", bytes, time_paired(floor, 15, bytes, [&] {
                      h.step = ++step;
                      sk::adamw_step(segs, 3, h);
                    })});
  }

  std::printf("%-42s %8s %9s %8s %10s %10s %7s %7s\n", "kernel", "MB", "median ms", "GB/s",
              "copy GB/s", "read GB/s", "ratio", "plain");
  for (const Row& r : rows) {
    std::printf("%-42s %8.1f %9.3f %8.2f %10.2f %10.2f %7.2f %7.2f\n", r.name.c_str(),
                r.bytes / 1e6, r.p.median_ms, r.bytes / (r.p.median_ms * 1e-3) / 1e9, r.p.copy_gbs,
                r.p.read_gbs, r.p.ratio, r.p.ratio_plain);
  }
  std::printf(
      "(ratio = median over repeats of time / (bytes / bandwidth of the faster copy of the same\n"
      " bytes timed just before it), target <= 1.5; plain = the same against the plain loop copy;\n"
      " kernel and copies start on a clean cache; copy GB/s = the faster copy's median;\n"
      " read GB/s = a read-only sweep of the kernel's bytes, the ceiling of a kernel that only\n"
      " reads)\n");

  if (run_torch) {
    const std::string script = seekforge::bench::source_path("bench/rowops_bench.py");
    const std::string cmd = "OMP_NUM_THREADS=2 /usr/bin/python3 " + script;
    std::printf("\n$ %s\n", cmd.c_str());
    std::fflush(stdout);
    if (std::system(cmd.c_str()) != 0) std::printf("(PyTorch comparison failed or unavailable)\n");
  }
  return 0;
}
