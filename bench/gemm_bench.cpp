// Benchmark of the GEMM layer on the transformer's shapes: seekforge's gemm() against oneDNN
// called directly (primitive and memory objects built once, outside the timing) and against
// PyTorch's torch.matmul (bench/gemm_torch.py, run by this binary after its own timings).
//
// Shapes: a Linear layer's forward, y[M, N] = x[M, K] @ W[N, K]^T (W stored as PyTorch stores
// it, so trans_b), M = 2048 tokens, K and N in {384, 1024, 1536, 8192}; f32 and bf16 operands
// (bf16 accumulates and writes f32 here; PyTorch's bf16 matmul writes bf16). Reports the median
// GFLOP/s of the repeats, the wrapper / direct ratio (target >= 0.95), and the best GFLOP/s seen
// per dtype: the peak that MFU figures divide by. Not a test: it asserts nothing.
//
// Usage: gemm_bench [--no-torch] [--dtypes f32,bf16] [--threads 2]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "core/dtype.h"
#include "kernels/gemm.h"
#include "source_path.h"

using seekforge::DType;
namespace k = seekforge::kernels;

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// oneDNN called the way a careful user would: everything built once, execute + wait timed.
struct Direct {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::matmul prim;
  dnnl::memory src, wei, dst;
  std::string impl;

  Direct(DType t, int64_t m, int64_t n, int64_t kk, void* a, void* w, float* c) {
    using tag = dnnl::memory::format_tag;
    const auto dt = t == DType::f32 ? dnnl::memory::data_type::f32 : dnnl::memory::data_type::bf16;
    dnnl::memory::desc a_md({m, kk}, dt, tag::ab);
    dnnl::memory::desc w_md({kk, n}, dt, tag::ba);  // W is [N, K] row-major = [K, N] transposed
    dnnl::memory::desc c_md({m, n}, dnnl::memory::data_type::f32, tag::ab);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, w_md, c_md), engine);
    impl = pd.impl_info_str();
    prim = dnnl::matmul(pd);
    src = dnnl::memory(a_md, engine, a);
    wei = dnnl::memory(w_md, engine, w);
    dst = dnnl::memory(c_md, engine, c);
  }
  void run() {
    prim.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}});
    stream.wait();
  }
};

// Other processes on a 2-core machine skew every figure; the load average says how much.
std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five;
  in >> one >> five;
  return one + " (1 min), " + five + " (5 min)";
}

}  // namespace

int main(int argc, char** argv) {
  bool torch = true;
  int threads = 2;
  std::string dtypes = "f32,bf16";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--no-torch") torch = false;
    if (arg == "--dtypes" && i + 1 < argc) dtypes = argv[++i];
    if (arg == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
  }
  omp_set_num_threads(threads);

  const int64_t m = 2048;
  const std::vector<int64_t> dims = {384, 1024, 1536, 8192};
  const int64_t max_d = 8192;

  // Operands sized for the largest shape, filled once (values in [-1, 1], no denormals).
  std::vector<float> a32(m * max_d), w32(max_d * max_d), c(m * max_d);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (auto& x : a32) x = dist(rng);
  for (size_t i = 0; i < w32.size(); ++i) w32[i] = a32[i % a32.size()] * 0.5f;
  std::vector<uint16_t> a16(a32.size()), w16(w32.size());
  for (size_t i = 0; i < a32.size(); ++i) a16[i] = seekforge::float_to_bf16(a32[i]);
  for (size_t i = 0; i < w32.size(); ++i) w16[i] = seekforge::float_to_bf16(w32[i]);

  std::printf("gemm_bench: M = %lld, y = x @ W^T, %d threads, oneDNN %d.%d.%d\n",
              static_cast<long long>(m), threads, dnnl::version()->major,
              dnnl::version()->minor, dnnl::version()->patch);

  std::printf("load average at start: %s\n", load_average().c_str());

  // Per-call overhead on a tiny product, where the wrapper's lookup and memory objects show.
  {
    const int64_t t = 32;
    const k::GemmShape s = k::gemm_shape(1, t, t, t, false, true);
    Direct direct(DType::f32, t, t, t, a32.data(), w32.data(), c.data());
    std::vector<double> t_ours, t_direct;
    for (int r = 0; r < 21; ++r) {
      double t0 = now_seconds();
      for (int i = 0; i < 200; ++i) k::gemm(s, a32.data(), w32.data(), c.data(), 1.0f, 0.0f);
      t_ours.push_back((now_seconds() - t0) / 200);
      t0 = now_seconds();
      for (int i = 0; i < 200; ++i) direct.run();
      t_direct.push_back((now_seconds() - t0) / 200);
    }
    std::printf("32x32x32 f32 per call: ours %.2f us, oneDNN direct %.2f us\n",
                median(t_ours) * 1e6, median(t_direct) * 1e6);
  }

  struct Row {
    std::string dtype, impl;
    int64_t kk, n;
    int reps;
    double ours, direct;  // median GFLOP/s
    double best_ratio;     // fastest repeat against fastest repeat: less sensitive to other load
  };
  std::vector<Row> rows;
  const double t_start = now_seconds();
  for (DType t : {DType::f32, DType::bf16}) {
    const std::string name(seekforge::dtype_name(t));
    if (dtypes.find(name) == std::string::npos) continue;
    if (!k::gemm_native(t)) {
      // No oneDNN kernel to compare with: our GEMM widens such operands to f32 (the f32 rows).
      std::printf("%s: skipped, oneDNN has no %s matmul on this CPU\n", name.c_str(), name.c_str());
      continue;
    }
    void* a = t == DType::f32 ? static_cast<void*>(a32.data()) : a16.data();
    void* w = t == DType::f32 ? static_cast<void*>(w32.data()) : w16.data();
    for (int64_t kk : dims) {
      for (int64_t n : dims) {
        const double flops = 2.0 * m * n * kk;
        const k::GemmShape s = k::gemm_shape(1, m, n, kk, false, true);
        Direct direct(t, m, n, kk, a, w, c.data());
        auto ours = [&] { k::gemm(t, s, a, w, c.data(), 1.0f, 0.0f); };
        // Warm-up (page faults, primitive creation in our cache, JIT), and a time estimate.
        ours();
        double t0 = now_seconds();
        direct.run();
        const double est = now_seconds() - t0;
        // About 0.4 s per implementation and shape; at least 3 repeats, at most 25.
        const int reps = std::clamp(static_cast<int>(0.4 / est), 3, 25);
        std::vector<double> t_ours, t_direct;
        for (int r = 0; r < reps; ++r) {
          // Alternate the order so that neither side always runs on a warmer cache.
          for (int side = 0; side < 2; ++side) {
            const bool run_ours = (side == 0) == (r % 2 == 0);
            t0 = now_seconds();
            if (run_ours) {
              ours();
            } else {
              direct.run();
            }
            (run_ours ? t_ours : t_direct).push_back(now_seconds() - t0);
          }
        }
        rows.push_back({name, direct.impl, kk, n, reps, flops / median(t_ours) * 1e-9,
                        flops / median(t_direct) * 1e-9,
                        *std::min_element(t_direct.begin(), t_direct.end()) /
                            *std::min_element(t_ours.begin(), t_ours.end())});
        std::fprintf(stderr, "  %s K=%lld N=%lld done (%d reps)\n", name.c_str(),
                     static_cast<long long>(kk), static_cast<long long>(n), reps);
      }
    }
  }
  const double t_cpp = now_seconds() - t_start;

  // PyTorch on the same shapes, same thread count; its lines are "torch <dtype> <K> <N> <gflops>".
  std::map<std::tuple<std::string, int64_t, int64_t>, double> torch_gflops;
  std::string torch_note = "skipped (--no-torch)", torch_skips;
  if (torch) {
    const std::string script = seekforge::bench::source_path("bench/gemm_torch.py");
    if (script.empty()) {
      torch_note = "skipped: bench/gemm_torch.py not found (run from the source tree)";
    } else {
      const std::string out = "/tmp/seekforge_gemm_torch.txt";
      const std::string cmd = "OMP_NUM_THREADS=" + std::to_string(threads) +
                              " /usr/bin/python3 " + script + " --threads " +
                              std::to_string(threads) + " --dtypes " + dtypes + " > " + out;
      std::fprintf(stderr, "running %s\n", cmd.c_str());
      if (std::system(cmd.c_str()) != 0) {
        torch_note = "failed: " + cmd;
      } else {
        std::ifstream in(out);
        std::string line;
        while (std::getline(in, line)) {
          std::istringstream ls(line);
          std::string tag, dt;
          int64_t kk, n;
          double g;
          if (ls >> tag >> dt >> kk >> n >> g && tag == "torch") torch_gflops[{dt, kk, n}] = g;
          if (line.rfind("torch_info", 0) == 0) torch_note = line.substr(11);
          if (line.rfind("torch_skip", 0) == 0) torch_skips += "\n  " + line.substr(11);
        }
      }
    }
  }

  std::printf("\n%-5s %5s %5s %4s %10s %10s %7s %7s %10s %9s  %s\n", "dtype", "K", "N", "reps",
              "ours", "oneDNN", "ratio", "best", "torch", "ours/pt", "oneDNN impl");
  std::printf("%-5s %5s %5s %4s %10s %10s %7s %7s %10s %9s\n", "", "", "", "", "GFLOP/s",
              "GFLOP/s", "median", "ratio", "GFLOP/s", "");
  std::map<std::string, std::pair<double, std::string>> peak;
  double worst_ratio = 1e9, worst_best = 1e9;
  std::vector<double> ratios;
  for (const Row& r : rows) {
    const auto it = torch_gflops.find({r.dtype, r.kk, r.n});
    const double pt = it == torch_gflops.end() ? 0.0 : it->second;
    char pt_s[32] = "-", rel_s[32] = "-";
    if (pt > 0) {
      std::snprintf(pt_s, sizeof pt_s, "%.1f", pt);
      std::snprintf(rel_s, sizeof rel_s, "%.2f", r.ours / pt);
    }
    std::printf("%-5s %5lld %5lld %4d %10.1f %10.1f %7.3f %7.3f %10s %9s  %s\n", r.dtype.c_str(),
                static_cast<long long>(r.kk), static_cast<long long>(r.n), r.reps, r.ours,
                r.direct, r.ours / r.direct, r.best_ratio, pt_s, rel_s, r.impl.c_str());
    worst_ratio = std::min(worst_ratio, r.ours / r.direct);
    worst_best = std::min(worst_best, r.best_ratio);
    ratios.push_back(r.ours / r.direct);
    const double best = std::max(r.ours, r.direct);
    auto& p = peak[r.dtype];
    if (best > p.first) {
      p = {best, "K=" + std::to_string(r.kk) + " N=" + std::to_string(r.n)};
    }
  }
  std::printf("\nwrapper/direct: median of the per-shape ratios %.3f, worst %.3f; worst ratio of "
              "fastest repeats %.3f (target >= 0.95)\n",
              median(ratios), worst_ratio, worst_best);
  for (const auto& [dt, p] : peak) {
    std::printf("measured peak %s: %.1f GFLOP/s (%s, M=2048, %d threads)\n", dt.c_str(), p.first,
                p.second.c_str(), threads);
  }
  std::printf("torch: %s%s\n", torch_note.c_str(), torch_skips.c_str());
  std::printf("C++ part took %.1f s; load average at end: %s\n", t_cpp, load_average().c_str());
  const auto st = k::gemm_cache_stats();
  std::printf("gemm cache: %lld hits, %lld misses\n", static_cast<long long>(st.hits),
              static_cast<long long>(st.misses));
  return 0;
}
