// Benchmark of the fused attention kernels (forward + backward, float) against PyTorch 1.13
// eager attention on the same shapes and thread count. Not a test: it prints figures only.
//
// Usage: attention_bench [--reps N] [--torch-reps N] [--no-torch]
// Shapes: (B=8, H=6, T=256, hd=64, causal) and (B=8, H=6, T=1024, hd=64, window 256).
//
// PyTorch runs first, in a fresh process per shape (bench/attention_torch.py), before this
// process starts any OpenMP thread, so the two never compete for the 2 cores.
//
// Memory, as measured here:
//   ours  = the buffers the op allocates beyond its inputs q, k, v, dout: out, lse, dq, dk, dv,
//           plus the per-thread stack tiles (2 threads); cross-checked by the ru_maxrss increase
//           of this process over the first forward + backward.
//   torch = ru_maxrss increase of a fresh python process over its first forward + backward
//           (everything allocated beyond q, k, v, dout and the mask).
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/attention.h"
#include "source_path.h"

namespace {

using seekforge::kernels::AttentionShape;

struct TorchResult {
  double fwd_ms = NAN, bwd_ms = NAN, total_ms = NAN, extra_mb = NAN, cpu_ms = NAN;
  bool ok = false;
};

TorchResult run_torch(const AttentionShape& s, int reps) {
  TorchResult r;
  const std::string cmd = "OMP_NUM_THREADS=2 /usr/bin/python3 " +
                          seekforge::bench::source_path("bench/attention_torch.py") + " --B " +
                          std::to_string(s.B) + " --T " + std::to_string(s.Tq) + " --H " +
                          std::to_string(s.H) + " --hd " + std::to_string(s.Dqk) + " --window " +
                          std::to_string(s.window) + " --reps " + std::to_string(reps) +
                          " --threads 2";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char line[512];
  while (std::fgets(line, sizeof line, p) != nullptr) {
    double f, b, t, e, in, c;
    if (std::sscanf(line,
                    "fwd_ms=%lf bwd_ms=%lf total_ms=%lf extra_mb=%lf inputs_mb=%lf cpu_ms=%lf", &f,
                    &b, &t, &e, &in, &c) == 6) {
      r = {f, b, t, e, c, true};
    }
  }
  if (pclose(p) != 0) r.ok = false;
  return r;
}

double median(std::vector<double> x) {
  std::sort(x.begin(), x.end());
  const size_t n = x.size();
  return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

double now_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// CPU time of the whole process (all threads); less sensitive than wall time to other work on
// the machine.
double cpu_ms() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-3;
}

double maxrss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;  // KiB on Linux
}

struct OursResult {
  double fwd_ms, bwd_ms, total_ms, cpu_ms, extra_mb, rss_extra_mb, gflop, inputs_mb;
};

// Useful FLOPs: 2 per multiply-add over the visible (query, key) pairs; forward has 2 GEMMs
// (QK^T, PV), backward 5 (QK^T again, dout V^T, P^T dout, dS^T Q, dS K): 4 over Dqk, 3 over Dv.
double visible_pairs(const AttentionShape& s) {
  double n = 0;
  for (int64_t i = 0; i < s.Tq; ++i) {
    const int64_t p = s.Tk - s.Tq + i;
    const int64_t lo = s.window > 0 ? std::max<int64_t>(0, p - s.window + 1) : 0;
    n += double(p - lo + 1);
  }
  return n * double(s.B * s.H);
}

OursResult run_ours(const AttentionShape& s, int reps) {
  const size_t nq = s.B * s.Tq * s.H * s.Dqk, nk = s.B * s.Tk * s.KV * s.Dqk;
  const size_t nv = s.B * s.Tk * s.KV * s.Dv, no = s.B * s.Tq * s.H * s.Dv;
  const size_t nl = s.B * s.H * s.Tq;
  std::mt19937 rng(0);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> q(nq), k(nk), v(nv), dout(no);
  for (auto* x : {&q, &k, &v, &dout})
    for (auto& e : *x) e = nd(rng);
  const float scale = 1.0f / std::sqrt(float(s.Dqk));

  const double rss0 = maxrss_mb();
  std::vector<float> out(no), lse(nl), dq(nq), dk(nk), dv(nv);
  auto step = [&](double* f_ms, double* b_ms) {
    const double t0 = now_ms();
    seekforge::kernels::attention_forward(out.data(), lse.data(), q.data(), k.data(), v.data(),
                                          nullptr, scale, s);
    const double t1 = now_ms();
    std::fill(dq.begin(), dq.end(), 0.f);
    std::fill(dk.begin(), dk.end(), 0.f);
    std::fill(dv.begin(), dv.end(), 0.f);
    seekforge::kernels::attention_backward(dq.data(), dk.data(), dv.data(), dout.data(), q.data(),
                                           k.data(), v.data(), out.data(), lse.data(), nullptr,
                                           scale, s);
    const double t2 = now_ms();
    if (f_ms) *f_ms = t1 - t0;
    if (b_ms) *b_ms = t2 - t1;
  };
  step(nullptr, nullptr);  // first run: memory cross-check, and warm-up
  const double rss1 = maxrss_mb();
  std::vector<double> f(reps), b(reps), t(reps), c(reps);
  for (int r = 0; r < reps; ++r) {
    const double c0 = cpu_ms();
    step(&f[r], &b[r]);
    c[r] = cpu_ms() - c0;
    t[r] = f[r] + b[r];
  }
  // Stack tiles per thread (float, backward is the larger): Kt, Vt, dK, dV, P, dS, D.
  const double tiles_mb =
      2.0 * 4 * (4 * seekforge::kernels::kAttentionMaxHeadDim * 32 + 2 * 64 * 32 + 64) / 1048576.0;
  const double extra_mb = 4.0 * (no + nl + nq + nk + nv) / 1048576.0 + tiles_mb;
  const double gflop = visible_pairs(s) * 2.0 * (4 * s.Dqk + 3 * s.Dv) / 1e9;
  return {median(f), median(b),   median(t), median(c),
          extra_mb,  rss1 - rss0, gflop,     4.0 * (nq + nk + nv + no) / 1048576.0};
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 20, torch_reps = 5;
  bool torch = true;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--reps") && i + 1 < argc)
      reps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--torch-reps") && i + 1 < argc)
      torch_reps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--no-torch"))
      torch = false;
  }
  // B, Tq, Tk, H, KV, Dqk, Dv, window
  const std::vector<std::pair<const char*, AttentionShape>> shapes = {
      {"B8 H6 T256 hd64 causal", {8, 256, 256, 6, 6, 64, 64, 0}},
      {"B8 H6 T1024 hd64 W256", {8, 1024, 1024, 6, 6, 64, 64, 256}},
  };

  std::vector<TorchResult> tr(shapes.size());
  if (torch) {
    for (size_t i = 0; i < shapes.size(); ++i) {
      std::fprintf(stderr, "running PyTorch on %s ...\n", shapes[i].first);
      tr[i] = run_torch(shapes[i].second, torch_reps);
      if (!tr[i].ok) std::fprintf(stderr, "  PyTorch run failed\n");
    }
  }

  omp_set_num_threads(2);
  std::vector<OursResult> orr;
  for (const auto& sh : shapes) orr.push_back(run_ours(sh.second, reps));

  double load[3] = {0, 0, 0};
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1;
    std::fclose(f);
  }
  std::printf(
      "attention forward+backward, float32, 2 threads; medians of %d (ours) / %d (torch); "
      "load average %.2f (other work on the machine skews wall times)\n",
      reps, torch_reps, load[0]);
  std::printf("%-24s | %7s %7s %7s %7s %7s | %8s %8s %8s %8s | %7s %7s | %7s %8s %6s\n", "shape",
              "fwd ms", "bwd ms", "total", "cpu ms", "GFLOP/s", "torch f", "torch b", "torch t",
              "torch cpu", "speedup", "cpu x", "ours MB", "torch MB", "ratio");
  for (size_t i = 0; i < shapes.size(); ++i) {
    const OursResult& o = orr[i];
    const TorchResult& t = tr[i];
    std::printf(
        "%-24s | %7.2f %7.2f %7.2f %7.2f %7.1f | %8.1f %8.1f %8.1f %8.1f | %6.1fx %6.1fx | %7.1f "
        "%8.1f %5.1fx\n",
        shapes[i].first, o.fwd_ms, o.bwd_ms, o.total_ms, o.cpu_ms, o.gflop / (o.total_ms * 1e-3),
        t.fwd_ms, t.bwd_ms, t.total_ms, t.cpu_ms, t.total_ms / o.total_ms, t.cpu_ms / o.cpu_ms,
        o.extra_mb, t.extra_mb, t.extra_mb / o.extra_mb);
  }
  std::printf(
      "\nspeedup = torch wall / ours wall (medians); cpu x = the same for process CPU time\n");
  std::printf("memory = peak extra beyond the inputs q,k,v,dout (%s)\n",
              "ours: out+lse+dq+dk+dv+stack tiles; torch: ru_maxrss increase in a fresh process");
  for (size_t i = 0; i < shapes.size(); ++i) {
    std::printf("  %-24s inputs %.1f MB; ours measured ru_maxrss increase %.1f MB\n",
                shapes[i].first, orr[i].inputs_mb, orr[i].rss_extra_mb);
  }
  return 0;
}
