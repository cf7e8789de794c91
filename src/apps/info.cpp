#include "apps/info.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdio>

#include "core/threads.h"

namespace seekforge::apps {

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
  return 0;
}

}  // namespace seekforge::apps
