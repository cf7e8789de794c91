// Times the safetensors writer and reader on a checkpoint-sized file: write (with fsync and
// rename), open (mmap + header validation, no data touched) and a first full read of the mapped
// data. Medians over repeats. Not a comparison with PyTorch: torch 1.13 has no safetensors.
//
// Usage: safetensors_bench [total MiB = 256] [tensors = 512] [repeats = 5] [dir = /tmp]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  using namespace seekforge;
  const size_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 256;
  const size_t count = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 512;
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 5;
  const std::string dir = argc > 4 ? argv[4] : "/tmp";
  const std::string path = dir + "/safetensors_bench.safetensors";

  const size_t per = (mib << 20) / count / sizeof(float);
  std::vector<float> data(per * count);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i % 1000) * 1e-3f;
  std::vector<SafetensorsEntryView> views;
  for (size_t i = 0; i < count; ++i) {
    views.push_back({"model.layers." + std::to_string(i) + ".weight",
                     DType::f32,
                     {static_cast<int64_t>(per)},
                     data.data() + i * per});
  }
  const double bytes = static_cast<double>(data.size() * sizeof(float));

  std::vector<double> t_write, t_open, t_read;
  double checksum = 0;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    write_safetensors(path, views, {{"format", "pt"}});
    t_write.push_back(seconds_since(t0));

    t0 = std::chrono::steady_clock::now();
    SafetensorsFile f(path);
    t_open.push_back(seconds_since(t0));

    t0 = std::chrono::steady_clock::now();
    double sum = 0;
    for (const SafetensorsEntry& e : f.entries()) {
      const float* p = reinterpret_cast<const float*>(e.data);
      for (size_t i = 0; i < e.nbytes / sizeof(float); ++i) sum += p[i];
    }
    t_read.push_back(seconds_since(t0));
    checksum += sum;
  }
  std::filesystem::remove(path);
  const double w = median(t_write), o = median(t_open), rd = median(t_read);
  std::printf("safetensors: %zu tensors, %.0f MiB, %d repeats (medians), checksum %.6g\n", count,
              bytes / (1 << 20), repeats, checksum);
  std::printf("  write+fsync+rename  %8.3f ms  %7.2f GB/s\n", w * 1e3, bytes / w / 1e9);
  std::printf("  open (mmap+verify)  %8.3f ms  (%.2f us per tensor)\n", o * 1e3, o * 1e6 / count);
  std::printf("  first full read     %8.3f ms  %7.2f GB/s (page faults on a cached file)\n",
              rd * 1e3, bytes / rd / 1e9);
  return 0;
}
