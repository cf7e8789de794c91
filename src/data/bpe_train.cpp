// Byte-level BPE training: see bpe_train.h.
#include "data/bpe_train.h"

#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <queue>
#include <unordered_map>

#include "core/error.h"
#include "core/threads.h"
#include "data/tokenizer_io.h"

namespace seekforge::data {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

uint64_t key_of(uint32_t a, uint32_t b) { return uint64_t(a) << 32 | b; }

struct ViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using WordCounts = std::unordered_map<std::string_view, int64_t, ViewHash, std::equal_to<>>;

// Counts the pre-tokenised pieces of every text on all threads: one map per chunk of text, then
// merged. The views point into `texts`.
WordCounts count_words(const std::vector<std::string_view>& texts, const Pretokenizer& pre) {
  struct Job {
    std::string_view text;
  };
  std::vector<Job> jobs;
  constexpr size_t kChunk = 1 << 20;
  for (std::string_view t : texts) {
    std::vector<size_t> starts = pre.chunkable() ? chunk_starts(t, kChunk) : std::vector<size_t>{0};
    for (size_t i = 0; i < starts.size(); ++i) {
      const size_t end = i + 1 < starts.size() ? starts[i + 1] : t.size();
      jobs.push_back({t.substr(starts[i], end - starts[i])});
    }
  }
  const int threads = num_threads();
  std::vector<WordCounts> local(threads);
#pragma omp parallel num_threads(threads)
  {
    const int me = omp_get_thread_num();
    std::vector<std::string_view> pieces;
#pragma omp for schedule(dynamic, 1)
    for (int64_t j = 0; j < int64_t(jobs.size()); ++j) {
      pieces.clear();
      pre.split(jobs[j].text, pieces);
      for (std::string_view p : pieces) ++local[me][p];
    }
  }
  WordCounts all = std::move(local[0]);
  for (int i = 1; i < threads; ++i)
    for (const auto& [w, c] : local[i]) all[w] += c;
  return all;
}

class Progress {
 public:
  Progress(bool on, int64_t total) : on_(on), total_(total), tty_(::isatty(2) == 1) {}
  void update(int64_t done, bool last = false) {
    if (!on_) return;
    const double t = seconds_since(start_);
    if (!last && t - shown_ < (tty_ ? 0.5 : 5.0)) return;
    shown_ = t;
    const double rate = t > 0 ? double(done) / t : 0.0;
    const double left = rate > 0 ? double(total_ - done) / rate : 0.0;
    std::fprintf(stderr, "%stokenizer train: merges %lld/%lld, %.0f merges/s, %.1f s %s%s",
                 tty_ ? "\r" : "", static_cast<long long>(done), static_cast<long long>(total_),
                 rate, last ? t : left, last ? "total" : "left", tty_ && !last ? "   " : "\n");
    std::fflush(stderr);
  }

 private:
  bool on_;
  int64_t total_;
  bool tty_;
  Clock::time_point start_ = Clock::now();
  double shown_ = -1e9;
};

}  // namespace

Tokenizer train_bpe(const std::vector<std::string_view>& texts, const TrainOptions& opt,
                    TrainStats* stats, const std::vector<std::string>& labels) {
  Pretokenizer pre = named_pattern_regex(opt.pattern).empty()
                         ? Pretokenizer::from_regex(opt.pattern)
                         : Pretokenizer::named(opt.pattern);
  const size_t n_special = default_special_tokens(0).size();
  SF_CHECK(opt.vocab_size >= int64_t(256 + n_special))
      << "tokenizer train: vocabulary size " << opt.vocab_size << " is smaller than the 256 byte "
      << "tokens plus the " << n_special << " special tokens (" << 256 + n_special << ")";
  SF_CHECK(opt.vocab_size < (int64_t(1) << 31))
      << "tokenizer train: vocabulary size " << opt.vocab_size << " is too large";
  SF_CHECK(opt.min_frequency >= 1)
      << "tokenizer train: minimum frequency must be at least 1, got " << opt.min_frequency;
  SF_CHECK(!texts.empty()) << "tokenizer train: no input";
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string name = i < labels.size() ? labels[i] : "text " + std::to_string(i);
    SF_CHECK(!texts[i].empty()) << "tokenizer train: input '" << name << "' is empty";
    const void* nul = std::memchr(texts[i].data(), 0, texts[i].size());
    SF_CHECK(nul == nullptr) << "tokenizer train: input '" << name
                             << "' holds a NUL byte at offset "
                             << (static_cast<const char*>(nul) - texts[i].data())
                             << "; it looks binary, and training takes text only";
  }

  TrainStats st;
  const auto t0 = Clock::now();
  for (std::string_view t : texts) st.bytes += int64_t(t.size());
  WordCounts counts = count_words(texts, pre);
  st.unique_words = int64_t(counts.size());

  std::vector<std::string> tokens(256);
  for (int b = 0; b < 256; ++b) tokens[b] = std::string(1, char(b));
  std::vector<std::vector<uint32_t>> words;
  std::vector<int64_t> freq;
  words.reserve(counts.size());
  freq.reserve(counts.size());
  for (const auto& [w, c] : counts) {
    if (w.size() < 2) continue;  // a single byte never takes part in a merge
    words.emplace_back(w.begin(), w.end());
    for (uint32_t& s : words.back()) s &= 0xFF;  // chars to byte ids
    freq.push_back(c);
  }
  counts = {};

  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<uint32_t>> where;
  for (uint32_t w = 0; w < words.size(); ++w) {
    const auto& s = words[w];
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      const uint64_t k = key_of(s[i], s[i + 1]);
      pair_count[k] += freq[w];
      auto& ws = where[k];
      if (ws.empty() || ws.back() != w) ws.push_back(w);
    }
  }
  // Max count first; among equal counts the smallest key (left id, then right id).
  struct Entry {
    int64_t count;
    uint64_t key;
    bool operator<(const Entry& o) const {
      return count != o.count ? count < o.count : key > o.key;
    }
  };
  std::priority_queue<Entry> heap;
  for (const auto& [k, c] : pair_count) heap.push({c, k});
  st.count_seconds = seconds_since(t0);

  const auto t1 = Clock::now();
  const int64_t target = opt.vocab_size - int64_t(n_special) - 256;
  Progress progress(opt.progress, target);
  std::vector<MergePair> merges;
  std::vector<uint32_t> seen(words.size(), 0);
  std::unordered_map<uint64_t, int64_t> delta;
  std::vector<uint32_t> merged_word;
  std::vector<uint8_t> touched;
  while (int64_t(merges.size()) < target && !heap.empty()) {
    const Entry top = heap.top();
    heap.pop();
    auto pc = pair_count.find(top.key);
    if (pc == pair_count.end() || pc->second != top.count) continue;  // stale
    if (top.count < opt.min_frequency) break;
    const uint32_t a = uint32_t(top.key >> 32), b = uint32_t(top.key & 0xFFFFFFFFu);
    const uint32_t c = uint32_t(tokens.size());
    tokens.push_back(tokens[a] + tokens[b]);
    merges.push_back({a, b});
    const uint32_t stamp = uint32_t(merges.size());

    std::vector<uint32_t> ws = std::move(where[top.key]);
    where.erase(top.key);
    delta.clear();
    for (uint32_t w : ws) {
      if (seen[w] == stamp) continue;
      seen[w] = stamp;
      std::vector<uint32_t>& s = words[w];
      // Only the pairs touching a merged occurrence change: out go the old pairs with an element
      // in an occurrence, in come the new pairs holding c. The rest of the word is untouched,
      // which matters for long pieces (a sentence of Chinese is one gpt2 piece).
      merged_word.clear();
      touched.assign(s.size(), 0);
      bool changed = false;
      for (size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          merged_word.push_back(c);
          touched[i] = touched[i + 1] = 1;
          ++i;
          changed = true;
        } else {
          merged_word.push_back(s[i]);
        }
      }
      if (!changed) continue;
      const int64_t f = freq[w];
      for (size_t i = 0; i + 1 < s.size(); ++i)
        if (touched[i] || touched[i + 1]) delta[key_of(s[i], s[i + 1])] -= f;
      for (size_t i = 0; i + 1 < merged_word.size(); ++i) {
        if (merged_word[i] != c && merged_word[i + 1] != c) continue;
        const uint64_t k = key_of(merged_word[i], merged_word[i + 1]);
        delta[k] += f;
        auto& list = where[k];
        if (list.empty() || list.back() != w) list.push_back(w);
      }
      s.swap(merged_word);
    }
    for (const auto& [k, d] : delta) {
      if (d == 0) continue;
      int64_t& v = pair_count[k];
      v += d;
      if (v > 0)
        heap.push({v, k});
      else
        pair_count.erase(k);
    }
    if ((merges.size() & 63) == 0) progress.update(int64_t(merges.size()));
  }
  progress.update(int64_t(merges.size()), true);
  st.merges = int64_t(merges.size());
  st.merge_seconds = seconds_since(t1);
  if (stats != nullptr) *stats = st;

  std::vector<SpecialToken> specials = default_special_tokens(uint32_t(tokens.size()));
  return Tokenizer(std::move(tokens), std::move(merges), MergeMode::merges, std::move(pre),
                   std::move(specials), "trained tokenizer");
}

Tokenizer train_bpe_files(const std::vector<std::string>& paths, const TrainOptions& opt,
                          TrainStats* stats) {
  SF_CHECK(!paths.empty()) << "tokenizer train: no input files";
  std::vector<std::string> contents;
  contents.reserve(paths.size());
  for (const std::string& p : paths) contents.push_back(read_file(p));
  std::vector<std::string_view> views(contents.begin(), contents.end());
  return train_bpe(views, opt, stats, paths);
}

}  // namespace seekforge::data
