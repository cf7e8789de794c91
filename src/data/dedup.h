// Deduplication: exact duplicates by a hash of the normalised text, and near duplicates by
// 64-bit SimHash with LSH banding (Hamming distance <= k) or MinHash over word shingles with
// LSH bands (estimated Jaccard >= t).
//
// The order of the input decides who stays: a document is dropped as a duplicate of the earliest
// kept document it matches, so results depend only on the input and the options, never on the
// thread count. Signatures are computed in parallel (OpenMP); the index is built in order.
//
// Shingles are runs of `shingle` consecutive words (words.h); a text with fewer words has its
// whole word list as one shingle, and a text with no words is never a near duplicate (exact
// deduplication handles empty texts).
//
// What this is not: a text normaliser (callers pass normalised text: text_normalize.h) nor a
// file reader (clean_pipeline.h, apps/data_cmd.cpp).
//
// Thread safety: functions are pure; MinHasher is immutable after construction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace seekforge::data {

// ---- exact ----------------------------------------------------------------------------------

// 64-bit hash of the text's bytes (the caller normalised it).
uint64_t exact_key(std::string_view text);

// For each text, -1 when it is the first with its key, else the index of that first text.
std::vector<int64_t> find_exact_duplicates(const std::vector<std::string_view>& texts);

// ---- SimHash --------------------------------------------------------------------------------

struct SimHashOptions {
  int shingle = 3;        // words per feature, [1, 8]
  int max_distance = 15;  // k: duplicates differ in at most k of the 64 bits, [0, 32]
  int bands = 16;         // LSH bands, [1, 64]: band j holds bits [64j/bands, 64(j+1)/bands)
};

// Charikar's SimHash of the text's shingles: bit b is set when more than half of the shingle
// hashes have bit b set. Each distinct shingle counts once per occurrence (term frequency).
uint64_t simhash64(std::string_view text, int shingle);

// ---- MinHash --------------------------------------------------------------------------------

struct MinHashOptions {
  int shingle = 3;         // words per shingle, [1, 8]
  int num_perm = 128;      // signature length, [8, 1024], = bands * rows
  int bands = 32;          // LSH bands, [1, num_perm], must divide num_perm
  double threshold = 0.5;  // t: duplicates have estimated Jaccard >= t, [0, 1]
};

// The num_perm hash functions of a MinHash signature: h_i(x) = f(a_i * x + b_i) on 32-bit
// values, with a_i odd and f an invertible xor-shift-multiply mix, so each h_i is a permutation
// of the 32-bit shingle hashes. a_i, b_i come from a fixed seed: signatures are comparable across
// runs and machines.
class MinHasher {
 public:
  explicit MinHasher(int num_perm, uint64_t seed = 0x5eedf0e9e0000001ull);
  int num_perm() const { return static_cast<int>(a_.size()); }
  // Writes num_perm() minima of the text's shingles to out (all 0xFFFFFFFF for no words).
  // Returns the number of shingles.
  int64_t signature(std::string_view text, int shingle, uint32_t* out) const;

 private:
  std::vector<uint32_t> a_, b_;
};

// ---- near-duplicate search ---------------------------------------------------------------------

enum class NearMethod { simhash, minhash };

struct NearDedupOptions {
  NearMethod method = NearMethod::minhash;
  SimHashOptions simhash;
  MinHashOptions minhash;
};

// Checks ranges and divisibility; throws naming the option (`prefix` + name, e.g.
// "stage[3].bands").
void validate_near_options(const NearDedupOptions& options, const std::string& prefix);

struct NearDedupResult {
  std::vector<int64_t> duplicate_of;  // per text: -1 kept, else index of the kept text it matches
  std::vector<double> similarity;     // per dropped text: Jaccard estimate or 1 - distance/64
  int64_t candidates = 0;             // candidate pairs checked
  int64_t no_words = 0;               // texts without words (kept, never compared)
};

NearDedupResult find_near_duplicates(const std::vector<std::string_view>& texts,
                                     const NearDedupOptions& options);

}  // namespace seekforge::data
