// Tokenizer encoding speed, ours against gpt-tokenizer's JavaScript encoder on node, on the same
// ~3 MB of mixed text (tests/data/mixed_corpus.h), for r50k_base and cl100k_base. Prints MB/s
// (medians of five runs, piece caches emptied before each run, as the node side empties its
// merge cache): ours on one thread, ours on all threads, node (one thread).
//
//   build/tokenizer_bench [PACKAGE_DIR]   (default: where scripts/fetch-tokenizers puts it)
//
// What this is not: a test; the ids are checked by tests/data/tokenizer_parity_test.cpp.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../tests/data/mixed_corpus.h"
#include "core/threads.h"
#include "data/bpe.h"
#include "data/tokenizer_io.h"
#include "source_path.h"

using namespace seekforge;
using namespace seekforge::data;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename Fn>
double rate(size_t bytes, Fn&& fn) {
  std::vector<double> r;
  for (int i = 0; i < 5; ++i) {
    clear_piece_caches();
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.push_back(double(bytes) / s / 1e6);
  }
  return median(r);
}

// Node's median MB/s, or a negative number when it cannot run.
double node_rate(const std::string& pkg, const std::string& encoding, const std::string& file) {
  const std::string script = seekforge::bench::source_path("tests/data/gpt_tokenizer_encode.js");
  const std::string cmd =
      "node '" + script + "' '" + pkg + "' " + encoding + " '" + file + "' --bench 5 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[512] = {};
  const size_t n = std::fread(buf, 1, sizeof buf - 1, p);
  if (pclose(p) != 0 || n == 0) return -1;
  const char* at = std::strstr(buf, "\"mb_per_s\":");
  return at ? std::atof(at + 11) : -1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string pkg;
  if (argc > 1) {
    pkg = argv[1];
  } else {
    const char* c = std::getenv("SEEKFORGE_CACHE");
    const char* h = std::getenv("HOME");
    pkg = (c ? std::string(c) : std::string(h ? h : ".") + "/.cache/seekforge") +
          "/npm/node_modules/gpt-tokenizer";
  }
  const std::string corpus = testing::mixed_corpus();
  const std::string file = std::filesystem::temp_directory_path() / "sf_tokenizer_bench.txt";
  {
    std::ofstream out(file, std::ios::binary);
    out << corpus;
  }
  const int all = num_threads();
  std::printf("corpus: %.2f MB of mixed text; %d threads\n", double(corpus.size()) / 1e6, all);
  std::printf("%-12s %12s %12s %12s %10s\n", "encoding", "ours 1 thr", "ours all", "node",
              "1 thr/node");
  for (const auto& [enc, pattern] : {std::pair{"r50k_base", "gpt2"}, {"cl100k_base", "cl100k"}}) {
    const std::string ranks = pkg + "/data/" + enc + ".tiktoken";
    if (!std::filesystem::exists(ranks)) {
      std::printf("%s missing: run scripts/fetch-tokenizers\n", ranks.c_str());
      return 1;
    }
    const Tokenizer t = import_tiktoken(ranks, pattern);
    size_t n_ids = 0;
    set_num_threads(1);
    const double one = rate(corpus.size(), [&] { n_ids = t.encode(corpus).size(); });
    set_num_threads(all);
    const double many = rate(corpus.size(), [&] { n_ids = t.encode(corpus).size(); });
    const double js = node_rate(pkg, enc, file);
    std::printf("%-12s %9.1f MB/s %7.1f MB/s %7.1f MB/s %9.1fx\n", enc, one, many, js,
                js > 0 ? one / js : 0.0);
    (void)n_ids;
  }
  std::filesystem::remove(file);
  return 0;
}
