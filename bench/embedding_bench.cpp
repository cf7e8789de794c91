// Embedding forward + backward at the training size (V = 32768, D = 1024, 16384 ids), 2
// threads: median milliseconds, effective GB/s against the bytes the op must move, and the same
// run in PyTorch (bench/embedding_bench.py) for the ratio.
//
// Bytes per step (f32): forward reads n rows and writes n rows (2 n D 4); backward reads the
// n gradient rows and writes the whole dense [V, D] table once (zeroing fused into the grouped
// accumulation): (n + V) D 4. Rows hit by several ids are read once per id.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/threads.h"
#include "ops/index.h"
#include "source_path.h"

using namespace seekforge;

namespace {

double now_ms() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double, std::milli>(clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t V = 32768, D = 1024, N = 16384;
  const int reps = argc > 1 ? std::atoi(argv[1]) : 20;
  set_num_threads(2);

  Generator gen(0);
  Tensor w = randn({V, D}, DType::f32, &gen);
  w.set_requires_grad(true);
  std::mt19937_64 rng(1);
  std::vector<int64_t> idv(N);
  for (auto& i : idv) i = static_cast<int64_t>(rng() % V);
  Tensor ids = from_vector_i64(idv, {8, N / 8});
  Tensor g = randn({8, N / 8, D}, DType::f32, &gen);

  std::vector<double> fwd, bwd, tot;
  for (int r = 0; r < reps + 3; ++r) {
    w.set_grad(Tensor());
    const double t0 = now_ms();
    Tensor out = ops::embedding(w, ids);
    const double t1 = now_ms();
    out.backward(g);
    const double t2 = now_ms();
    if (r >= 3) {
      fwd.push_back(t1 - t0);
      bwd.push_back(t2 - t1);
      tot.push_back(t2 - t0);
    }
  }
  // The machine's attainable bandwidth right now: a 2-thread memcpy of the forward's bytes.
  std::vector<double> cp;
  {
    Tensor a = randn({N, D}, DType::f32, &gen), c = empty({N, D});
    for (int r = 0; r < reps + 3; ++r) {
      const double t0 = now_ms();
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < N; ++i)
        std::memcpy(c.data<float>() + i * D, a.data<float>() + i * D, D * sizeof(float));
      if (r >= 3) cp.push_back(now_ms() - t0);
    }
  }
  const double f = median(fwd), b = median(bwd), t = median(tot), m = median(cp);
  const double fwd_bytes = 2.0 * N * D * 4, bwd_bytes = (double(N) + V) * D * 4;
  std::printf("embedding V=%lld D=%lld ids=%lld threads=%d reps=%d (median)\n", (long long)V,
              (long long)D, (long long)N, num_threads(), reps);
  std::printf(
      "seekforge  fwd %8.3f ms (%5.1f GB/s)  bwd %8.3f ms (%5.1f GB/s)  total %8.3f ms "
      "(%5.1f GB/s)\n",
      f, fwd_bytes / f / 1e6, b, bwd_bytes / b / 1e6, t, (fwd_bytes + bwd_bytes) / t / 1e6);

  std::printf("memcpy     %8.3f ms for %.0f MB read + written (%5.1f GB/s): the roofline now\n", m,
              fwd_bytes / 1e6, fwd_bytes / m / 1e6);

  // The PyTorch side, same sizes and threads.
  const std::string cmd = "OMP_NUM_THREADS=2 /usr/bin/python3 " +
                          seekforge::bench::source_path("bench/embedding_bench.py") + " " +
                          std::to_string(V) + " " + std::to_string(D) + " " + std::to_string(N) +
                          " " + std::to_string(reps) + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  double tf = 0, tb = 0, tt = 0;
  if (p != nullptr && std::fscanf(p, "torch %lf %lf %lf", &tf, &tb, &tt) == 3) {
    std::printf(
        "pytorch    fwd %8.3f ms (%5.1f GB/s)  bwd %8.3f ms (%5.1f GB/s)  total %8.3f ms "
        "(%5.1f GB/s)\n",
        tf, fwd_bytes / tf / 1e6, tb, bwd_bytes / tb / 1e6, tt, (fwd_bytes + bwd_bytes) / tt / 1e6);
    std::printf("speedup vs pytorch: fwd %.2fx  bwd %.2fx  total %.2fx\n", tf / f, tb / b, tt / t);
  } else {
    std::printf("pytorch: not available\n");
  }
  if (p != nullptr) pclose(p);
  return 0;
}
