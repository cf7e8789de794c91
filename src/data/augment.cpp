// Seeded random-word and synonym replacement: see augment.h.
#include "data/augment.h"

#include <fstream>

#include "core/error.h"
#include "core/rng.h"
#include "data/text_hash.h"
#include "data/words.h"

namespace seekforge::data {
namespace {

// A uniform double in [0, 1) from 32 random bits.
double unit(uint32_t r) { return static_cast<double>(r) * (1.0 / 4294967296.0); }

}  // namespace

SynonymTable read_synonyms(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SF_CHECK(in.good()) << "cannot open synonym file '" << path << "'";
  SynonymTable t;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::vector<std::string> w;
    for_each_word(line, [&](std::string_view x) { w.emplace_back(x); });
    if (w.empty() || w[0][0] == '#') continue;
    SF_CHECK(w.size() >= 2) << path << ":" << line_no << ": '" << w[0] << "' has no synonym";
    auto& syn = t[w[0]];
    syn.insert(syn.end(), w.begin() + 1, w.end());
  }
  return t;
}

Augmenter::Augmenter(AugmentOptions options, std::vector<std::string> vocabulary,
                     SynonymTable synonyms)
    : options_(options), vocabulary_(std::move(vocabulary)), synonyms_(std::move(synonyms)) {
  SF_CHECK(options_.p_replace >= 0 && options_.p_replace <= 1)
      << "augment: p_replace = " << options_.p_replace << ": must be in [0, 1]";
  SF_CHECK(options_.p_synonym >= 0 && options_.p_synonym <= 1)
      << "augment: p_synonym = " << options_.p_synonym << ": must be in [0, 1]";
  SF_CHECK(options_.p_replace == 0 || !vocabulary_.empty())
      << "augment: p_replace > 0 needs a vocabulary to draw from";
}

std::string Augmenter::augment(std::string_view text, uint64_t doc_key, uint64_t copy,
                               int64_t* replaced) const {
  std::string out;
  out.reserve(text.size() + 16);
  size_t copied = 0;  // text[0, copied) is in out
  uint64_t index = 0;
  int64_t changed = 0;
  for_each_word(text, [&](std::string_view w) {
    const size_t at = static_cast<size_t>(w.data() - text.data());
    out.append(text.substr(copied, at - copied));
    copied = at + w.size();
    // One Philox block per word: lanes 0-1 for replacement, 2-3 for synonyms.
    const auto r = philox4x32(index++, mix64(hash_combine(doc_key, copy)), options_.seed);
    if (options_.p_synonym > 0) {
      auto it = synonyms_.find(std::string(w));
      if (it != synonyms_.end() && unit(r[2]) < options_.p_synonym) {
        out += it->second[r[3] % it->second.size()];
        ++changed;
        return;
      }
    }
    if (options_.p_replace > 0 && unit(r[0]) < options_.p_replace) {
      out += vocabulary_[r[1] % vocabulary_.size()];
      ++changed;
      return;
    }
    out.append(w);
  });
  out.append(text.substr(copied));
  if (replaced != nullptr) *replaced = changed;
  return out;
}

}  // namespace seekforge::data
