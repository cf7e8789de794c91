#include "apps/info.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdio>

#include "core/threads.h"
#include "kernels/simd.h"

namespace seekforge::apps {

#if defined(SEEKFORGE_SIMD)
namespace simd = kernels::simd;
#endif

CLI::App* add_info_command(CLI::App& app) {
  return app.add_subcommand("info", "show the threads, CPU features and libraries in use");
}

int run_info() {
  const dnnl_version_t* v = dnnl_version();
  std::printf("seekforge engine\n");
  std::printf("  threads      %d\n", num_threads());
  std::printf("  oneDNN       %d.%d.%d (GEMM)\n", v->major, v->minor, v->patch);
  std::printf("  AVX-512      %s\n", __builtin_cpu_supports("avx512f") ? "yes" : "no");
  std::printf("  AVX512-BF16  %s\n", __builtin_cpu_supports("avx512bf16") ? "yes" : "no");
  std::printf("  AVX2 + FMA   %s\n",
              __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? "yes" : "no");
#if defined(SEEKFORGE_SIMD)
  const char* kernels = simd::kAvx512 ? "AVX-512" : "AVX2 + FMA";
#else
  const char* kernels = "plain loops (no AVX2 or AVX-512 at build time)";
#endif
  std::printf("  kernels      %s\n", kernels);
  return 0;
}

}  // namespace seekforge::apps
