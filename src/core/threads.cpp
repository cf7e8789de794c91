#include "core/threads.h"

#include <omp.h>

#include <cstdlib>
#include <string>

#include "core/error.h"

namespace seekforge {
namespace {

int initial_threads() {
  const char* env = std::getenv("SEEKFORGE_THREADS");
  int n = omp_get_num_procs();
  if (env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    SF_CHECK(*end == '\0' && v >= 1 && v <= 4096)
        << "SEEKFORGE_THREADS must be a positive integer, got '" << env << "'";
    n = static_cast<int>(v);
  }
  omp_set_num_threads(n);
  return n;
}

int& thread_count() {
  static int n = initial_threads();
  return n;
}

}  // namespace

int num_threads() { return thread_count(); }

void set_num_threads(int n) {
  SF_CHECK(n >= 1) << "thread count must be at least 1, got " << n;
  thread_count() = n;
  omp_set_num_threads(n);
}

}  // namespace seekforge
