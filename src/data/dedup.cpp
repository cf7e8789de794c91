// Exact and near-duplicate detection: see dedup.h.
//
// Why banding works: SimHash with k differing bits out of b bands leaves at least b - k bands
// identical, so bands = k + 1 finds every pair (pigeonhole); fewer, wider bands trade a little
// recall for far fewer random candidates. MinHash with b bands of r rows makes a pair a candidate
// with probability 1 - (1 - J^r)^b, an S-curve whose midpoint (1/b)^(1/r) sits below the
// threshold. Candidates are then verified on the full signature, so banding only costs recall.
#include "data/dedup.h"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <unordered_map>

#include "core/error.h"
#include "core/rng.h"
#include "core/threads.h"
#include "data/text_hash.h"
#include "data/words.h"

namespace seekforge::data {
namespace {

// The shingle hashes of a text: one per run of `shingle` words (one for a shorter text).
void shingle_hashes(std::string_view text, int shingle, std::vector<uint64_t>& words,
                    std::vector<uint64_t>& out) {
  words.clear();
  out.clear();
  for_each_word(text, [&](std::string_view w) { words.push_back(hash_text(w)); });
  if (words.empty()) return;
  const size_t k = std::min(words.size(), static_cast<size_t>(shingle));
  out.reserve(words.size() - k + 1);
  for (size_t i = 0; i + k <= words.size(); ++i) {
    uint64_t h = k;
    for (size_t j = 0; j < k; ++j) h = hash_combine(h, words[i + j]);
    out.push_back(mix64(h));
  }
}

// The per-thread scratch vectors of shingle_hashes.
struct Scratch {
  std::vector<uint64_t> words, shingles;
};

uint64_t simhash_of(const std::vector<uint64_t>& features) {
  // Counting bits in 8-bit lanes over blocks of at most 255 features keeps the inner loop a
  // handful of vector instructions; the block sums go to 32-bit counters.
  int32_t count[64] = {};
  size_t f = 0;
  while (f < features.size()) {
    const size_t end = std::min(features.size(), f + 255);
    uint8_t lane[64] = {};
    for (; f < end; ++f) {
      const uint64_t h = features[f];
      for (int b = 0; b < 64; ++b) lane[b] += static_cast<uint8_t>((h >> b) & 1u);
    }
    for (int b = 0; b < 64; ++b) count[b] += lane[b];
  }
  const auto total = static_cast<int64_t>(features.size());
  uint64_t out = 0;
  for (int b = 0; b < 64; ++b)
    if (2 * static_cast<int64_t>(count[b]) > total) out |= uint64_t{1} << b;
  return out;
}

inline uint32_t permute32(uint32_t x, uint32_t a, uint32_t b) {
  uint32_t v = a * x + b;
  v ^= v >> 15;
  v *= 0x2c1b3c6du;
  v ^= v >> 12;
  return v;
}

// Bits [lo, hi) of a 64-bit value.
uint64_t bit_range(uint64_t v, int lo, int hi) {
  const int w = hi - lo;
  return w == 64 ? v : (v >> lo) & ((uint64_t{1} << w) - 1);
}

// Buckets of kept texts by band key. Keys mix the band index, so bands never collide with
// each other's values.
using Buckets = std::unordered_map<uint64_t, std::vector<int32_t>>;

}  // namespace

uint64_t exact_key(std::string_view text) { return hash_text(text, 0x65786163746b6579ull); }

std::vector<int64_t> find_exact_duplicates(const std::vector<std::string_view>& texts) {
  const auto n = static_cast<int64_t>(texts.size());
  std::vector<uint64_t> keys(texts.size());
#pragma omp parallel for schedule(dynamic, 256) num_threads(num_threads())
  for (int64_t i = 0; i < n; ++i) keys[i] = exact_key(texts[i]);
  std::vector<int64_t> dup(texts.size(), -1);
  std::unordered_map<uint64_t, int64_t> first;
  first.reserve(texts.size());
  for (int64_t i = 0; i < n; ++i) {
    auto [it, inserted] = first.try_emplace(keys[i], i);
    // A 64-bit key collision between different texts is astronomically rare; the byte compare
    // makes it impossible to drop a text that is not an exact copy.
    if (!inserted && texts[it->second] == texts[i]) dup[i] = it->second;
  }
  return dup;
}

uint64_t simhash64(std::string_view text, int shingle) {
  Scratch s;
  shingle_hashes(text, shingle, s.words, s.shingles);
  return s.shingles.empty() ? 0 : simhash_of(s.shingles);
}

MinHasher::MinHasher(int num_perm, uint64_t seed) {
  SF_CHECK(num_perm > 0) << "MinHasher: num_perm must be positive, got " << num_perm;
  a_.resize(num_perm);
  b_.resize(num_perm);
  for (int i = 0; i < num_perm; ++i) {
    const auto r = philox4x32(static_cast<uint64_t>(i), 0, seed);
    a_[i] = r[0] | 1u;  // odd: multiplication is then a bijection mod 2^32
    b_[i] = r[1];
  }
}

int64_t MinHasher::signature(std::string_view text, int shingle, uint32_t* out) const {
  Scratch s;
  shingle_hashes(text, shingle, s.words, s.shingles);
  const int n = num_perm();
  std::fill(out, out + n, 0xFFFFFFFFu);
  const uint32_t* __restrict a = a_.data();
  const uint32_t* __restrict b = b_.data();
  uint32_t* __restrict o = out;
  // The inner loop runs over the permutations so that it vectorises (8 lanes with AVX2).
  for (const uint64_t h : s.shingles) {
    const auto x = static_cast<uint32_t>(h ^ (h >> 32));
    for (int i = 0; i < n; ++i) o[i] = std::min(o[i], permute32(x, a[i], b[i]));
  }
  return static_cast<int64_t>(s.shingles.size());
}

void validate_near_options(const NearDedupOptions& o, const std::string& prefix) {
  if (o.method == NearMethod::simhash) {
    const SimHashOptions& s = o.simhash;
    SF_CHECK(s.shingle >= 1 && s.shingle <= 8)
        << prefix << "shingle = " << s.shingle << ": must be in [1, 8]";
    SF_CHECK(s.max_distance >= 0 && s.max_distance <= 32)
        << prefix << "max_distance = " << s.max_distance << ": must be in [0, 32]";
    SF_CHECK(s.bands >= 1 && s.bands <= 64)
        << prefix << "bands = " << s.bands << ": must be in [1, 64] for SimHash";
  } else {
    const MinHashOptions& m = o.minhash;
    SF_CHECK(m.shingle >= 1 && m.shingle <= 8)
        << prefix << "shingle = " << m.shingle << ": must be in [1, 8]";
    SF_CHECK(m.num_perm >= 8 && m.num_perm <= 1024)
        << prefix << "num_perm = " << m.num_perm << ": must be in [8, 1024]";
    SF_CHECK(m.bands >= 1 && m.bands <= m.num_perm && m.num_perm % m.bands == 0)
        << prefix << "bands = " << m.bands << ": must divide num_perm (" << m.num_perm << ")";
    SF_CHECK(m.threshold >= 0 && m.threshold <= 1)
        << prefix << "threshold = " << m.threshold << ": must be in [0, 1]";
  }
}

NearDedupResult find_near_duplicates(const std::vector<std::string_view>& texts,
                                     const NearDedupOptions& o) {
  validate_near_options(o, "");
  const auto n = static_cast<int64_t>(texts.size());
  SF_CHECK(n < INT32_MAX) << "near dedup: at most " << INT32_MAX << " texts at once, got " << n;
  NearDedupResult r;
  r.duplicate_of.assign(texts.size(), -1);
  r.similarity.assign(texts.size(), 0.0);
  std::vector<uint8_t> has_words(texts.size(), 0);
  const bool sim = o.method == NearMethod::simhash;
  const int width = sim ? 1 : o.minhash.num_perm;
  std::vector<uint64_t> simhashes(sim ? texts.size() : 0);
  std::vector<uint32_t> sigs(sim ? 0 : texts.size() * width);
  const MinHasher hasher(sim ? 8 : o.minhash.num_perm);

#pragma omp parallel num_threads(num_threads())
  {
    Scratch s;
#pragma omp for schedule(dynamic, 64)
    for (int64_t i = 0; i < n; ++i) {
      if (sim) {
        shingle_hashes(texts[i], o.simhash.shingle, s.words, s.shingles);
        has_words[i] = !s.shingles.empty();
        if (has_words[i]) simhashes[i] = simhash_of(s.shingles);
      } else {
        has_words[i] = hasher.signature(texts[i], o.minhash.shingle, &sigs[i * width]) > 0;
      }
    }
  }

  const int bands = sim ? o.simhash.bands : o.minhash.bands;
  const int rows = sim ? 0 : o.minhash.num_perm / bands;
  Buckets buckets;
  std::vector<int64_t> stamp(texts.size(), -1);  // last text that looked at a candidate
  std::vector<uint64_t> keys(bands);
  for (int64_t i = 0; i < n; ++i) {
    if (!has_words[i]) {
      ++r.no_words;
      continue;
    }
    for (int j = 0; j < bands; ++j) {
      uint64_t key = mix64(static_cast<uint64_t>(j) + 1);
      if (sim) {
        key = hash_combine(key, bit_range(simhashes[i], 64 * j / bands, 64 * (j + 1) / bands));
      } else {
        const uint32_t* row = &sigs[i * width + static_cast<int64_t>(j) * rows];
        for (int q = 0; q < rows; ++q) key = hash_combine(key, row[q]);
      }
      keys[j] = key;
    }
    int64_t best = -1;
    double best_sim = -1;
    for (int j = 0; j < bands; ++j) {
      auto it = buckets.find(keys[j]);
      if (it == buckets.end()) continue;
      for (const int32_t c : it->second) {
        if (stamp[c] == i) continue;
        stamp[c] = i;
        ++r.candidates;
        double s;
        bool match;
        if (sim) {
          const int d = std::popcount(simhashes[i] ^ simhashes[c]);
          match = d <= o.simhash.max_distance;
          s = 1.0 - d / 64.0;
        } else {
          const uint32_t* x = &sigs[i * width];
          const uint32_t* y = &sigs[static_cast<int64_t>(c) * width];
          int eq = 0;
          for (int q = 0; q < width; ++q) eq += x[q] == y[q];
          s = static_cast<double>(eq) / width;
          match = s >= o.minhash.threshold;
        }
        if (match && (s > best_sim || (s == best_sim && c < best))) {
          best = c;
          best_sim = s;
        }
      }
    }
    if (best >= 0) {
      r.duplicate_of[i] = best;
      r.similarity[i] = best_sim;
    } else {
      for (int j = 0; j < bands; ++j) buckets[keys[j]].push_back(static_cast<int32_t>(i));
    }
  }
  return r;
}

}  // namespace seekforge::data
