// Throughput of the cleaning stages on real text (what tests/data/real_text.h gathers from
// /usr/share): normalisation, exact dedup, SimHash and MinHash near dedup, the n-gram perplexity
// scorer and the TF-IDF domain scorer, in MB/s of input text; median of repeats, single thread
// and all threads. The hashing stages must reach 20 MB/s per core.
//
// Usage: clean_bench [MB of text, default 4] [repeats, default 5]
// What this is not: a test; it asserts nothing and prints a table.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "../tests/data/real_text.h"
#include "core/threads.h"
#include "data/dedup.h"
#include "data/domain_filter.h"
#include "data/ngram_lm.h"
#include "data/text_normalize.h"

using namespace seekforge;
using namespace seekforge::data;

namespace {

// Median wall time and median process CPU time of the repeats. On a shared machine the wall
// time of a single thread includes time the core spent on other work; its CPU time does not,
// so the single-thread CPU column is the per-core figure.
std::pair<double, double> median_seconds(int repeats, const std::function<void()>& fn) {
  std::vector<double> wall, cpu;
  for (int r = 0; r < repeats; ++r) {
    const auto a = std::chrono::steady_clock::now();
    const std::clock_t c = std::clock();
    fn();
    cpu.push_back(static_cast<double>(std::clock() - c) / CLOCKS_PER_SEC);
    wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return {wall[wall.size() / 2], cpu[cpu.size() / 2]};
}

// Documents of about 2 KB cut at paragraph breaks, like web pages or README files.
std::vector<std::string> split_docs(const std::string& text) {
  std::vector<std::string> docs;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find("\n\n", pos + 2000);
    if (end == std::string::npos) end = text.size();
    docs.push_back(text.substr(pos, end - pos));
    pos = end + 2;
  }
  return docs;
}

}  // namespace

int main(int argc, char** argv) {
  const double mb = argc > 1 ? std::atof(argv[1]) : 4.0;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  const std::string raw = testing::real_text(static_cast<size_t>(mb * 1e6));
  const std::vector<std::string> raw_docs = split_docs(raw);
  std::vector<std::string> docs;
  for (const auto& d : raw_docs) docs.push_back(normalize_text(d));
  std::vector<std::string_view> views(docs.begin(), docs.end());
  double bytes = 0;
  for (const auto& d : docs) bytes += static_cast<double>(d.size());
  std::vector<std::string_view> ref(views.begin(), views.begin() + views.size() / 4);
  NgramModel lm(3, NgramUnit::word);
  lm.train(ref);
  const TfidfDomain domain(ref);

  NearDedupOptions sim;
  sim.method = NearMethod::simhash;
  const NearDedupOptions mh;
  struct Stage {
    const char* name;
    std::function<void()> run;
  };
  const std::vector<Stage> stages = {
      {"normalize (NFC, whitespace)",
       [&] {
         const auto n = static_cast<int64_t>(raw_docs.size());
         std::vector<std::string> out(raw_docs.size());
#pragma omp parallel for schedule(dynamic, 16) num_threads(num_threads())
         for (int64_t i = 0; i < n; ++i) out[i] = normalize_text(raw_docs[i]);
       }},
      {"exact dedup (hash + index)", [&] { find_exact_duplicates(views); }},
      {"simhash dedup (k 15, 16 bands)", [&] { find_near_duplicates(views, sim); }},
      {"minhash dedup (128 perm, 32 bands)", [&] { find_near_duplicates(views, mh); }},
      {"perplexity (word 3-gram, score)",
       [&] {
         const auto n = static_cast<int64_t>(views.size());
         std::vector<double> p(views.size());
#pragma omp parallel for schedule(dynamic, 16) num_threads(num_threads())
         for (int64_t i = 0; i < n; ++i) p[i] = lm.perplexity(views[i]);
       }},
      {"domain (TF-IDF cosine, score)",
       [&] {
         const auto n = static_cast<int64_t>(views.size());
         std::vector<double> p(views.size());
#pragma omp parallel for schedule(dynamic, 16) num_threads(num_threads())
         for (int64_t i = 0; i < n; ++i) p[i] = domain.similarity(views[i]);
       }},
  };
  const int all = num_threads();
  std::printf("%.2f MB of real text in %zu documents; median of %d runs; %d threads max\n",
              bytes / 1e6, docs.size(), repeats, all);
  std::printf("%-36s %12s %16s %12s\n", "stage", "1 thread", "1 thread (CPU)", "all threads");
  for (const Stage& s : stages) {
    set_num_threads(1);
    const auto [t1, c1] = median_seconds(repeats, s.run);
    set_num_threads(all);
    const double tn = median_seconds(repeats, s.run).first;
    std::printf("%-36s %7.1f MB/s %11.1f MB/s %7.1f MB/s\n", s.name, bytes / 1e6 / t1,
                bytes / 1e6 / c1, bytes / 1e6 / tn);
  }
  return 0;
}
