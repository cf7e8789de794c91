// Memory bandwidth of this machine as seekforge's kernels see it: a plain copy and a read-only
// sum over large buffers (256 MiB, far past the last-level cache) with the benchmark thread
// count (2). Other benchmarks quote their kernels' bandwidth as a ratio to these figures.
// PyTorch's copy_ and sum on the same buffers run beside it (bench/membw_torch.py).
//
// Copy GB/s counts the bytes read plus the bytes written (2 x size per pass); the hardware moves
// a third share too (write-allocate reads of the destination), which is not counted. Sum GB/s
// counts the bytes read. Medians over repeats. Not a test: it asserts nothing.
//
// Usage: membw_bench [--mib 256] [--threads 2] [--no-torch]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>
#include "source_path.h"

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

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

// Each thread owns one contiguous slice of the buffer, the same slice in every loop (static
// schedule), so pages are first touched by the thread that later reads them.
template <typename F>
void per_thread_slice(size_t n, F f) {
#pragma omp parallel
  {
    const size_t nt = static_cast<size_t>(omp_get_num_threads());
    const size_t t = static_cast<size_t>(omp_get_thread_num());
    const size_t chunk = (n / nt + 15) / 16 * 16;
    const size_t begin = std::min(n, t * chunk), end = std::min(n, begin + chunk);
    f(begin, end);
  }
}

// Sixteen independent partial sums: the compiler keeps them in vector registers at whatever
// width the target has (AVX-512 or AVX2), so the loop is bound by loads, not by one add chain.
float sum_slice(const float* x, size_t begin, size_t end) {
  float acc[16] = {};
  size_t i = begin;
  for (; i + 16 <= end; i += 16)
    for (int l = 0; l < 16; ++l) acc[l] += x[i + l];
  float s = 0.0f;
  for (float v : acc) s += v;
  for (; i < end; ++i) s += x[i];
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  size_t mib = 256;
  int threads = 2;
  bool torch = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--mib" && i + 1 < argc) mib = std::strtoull(argv[++i], nullptr, 10);
    if (arg == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    if (arg == "--no-torch") torch = false;
  }
  omp_set_num_threads(threads);
  const size_t bytes = mib << 20, n = bytes / sizeof(float);
  std::unique_ptr<float, FreeDeleter> src(static_cast<float*>(std::aligned_alloc(64, bytes)));
  std::unique_ptr<float, FreeDeleter> dst(static_cast<float*>(std::aligned_alloc(64, bytes)));
  float* s = src.get();
  float* d = dst.get();
  per_thread_slice(n, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) s[i] = static_cast<float>(i % 1024) * 1e-3f;
    std::memset(d + b, 0, (e - b) * sizeof(float));
  });

  const int reps = 15;
  std::vector<double> t_copy, t_sum;
  volatile float sink = 0.0f;
  for (int r = 0; r < reps + 1; ++r) {  // the first pass is a warm-up
    double t0 = now_seconds();
    per_thread_slice(n, [&](size_t b, size_t e) { std::memcpy(d + b, s + b, (e - b) * 4); });
    const double tc = now_seconds() - t0;
    std::vector<float> partial(static_cast<size_t>(threads), 0.0f);
    t0 = now_seconds();
    per_thread_slice(n, [&](size_t b, size_t e) {
      partial[static_cast<size_t>(omp_get_thread_num())] = sum_slice(s, b, e);
    });
    const double ts = now_seconds() - t0;
    for (float p : partial) sink = sink + p;
    if (r > 0) {
      t_copy.push_back(tc);
      t_sum.push_back(ts);
    }
  }
  const double copy_gbs = 2.0 * bytes / median(t_copy) * 1e-9;
  const double sum_gbs = 1.0 * bytes / median(t_sum) * 1e-9;
  std::string load1, load5;
  std::ifstream("/proc/loadavg") >> load1 >> load5;
  std::printf("membw_bench: %zu MiB buffers, %d threads, median of %d (load average %s, %s)\n",
              mib, threads, reps, load1.c_str(), load5.c_str());
  std::printf("%-22s %10s\n", "", "GB/s");
  std::printf("%-22s %10.1f   (read + write counted)\n", "copy (memcpy)", copy_gbs);
  std::printf("%-22s %10.1f   (read)\n", "sum (AVX-512, read)", sum_gbs);

  if (torch) {
    const std::string script = seekforge::bench::source_path("bench/membw_torch.py");
    if (!script.empty()) {
      std::fflush(stdout);
      const std::string cmd = "OMP_NUM_THREADS=" + std::to_string(threads) + " /usr/bin/python3 " +
                              script + " --mib " + std::to_string(mib) + " --threads " +
                              std::to_string(threads);
      if (std::system(cmd.c_str()) != 0) std::printf("torch: failed: %s\n", cmd.c_str());
    } else {
      std::printf("torch: skipped, bench/membw_torch.py not found (run from the source tree)\n");
    }
  }
  return 0;
}
