// Interpolated modified Kneser-Ney n-gram model: see ngram_lm.h.
//
// With c the count of a gram at order k (raw counts at the highest order, continuation counts
// below), and h its context:
//   p_k(w | h) = max(c(h w) - D_k(c(h w)), 0) / c(h) + gamma_k(h) p_{k-1}(w | h'),
//   gamma_k(h) = (D_k1 N1(h .) + D_k2 N2(h .) + D_k3 N3+(h .)) / c(h),
//   p_0(w) = 1 / |V|,
// where h' drops the oldest word, c(h) = sum over w of c(h w), and Nr(h .) counts the words that
// follow h exactly r times (3+: three or more). A context never seen passes p_{k-1} through.
// The discounts come from the counts of counts n1..n4 of order k:
//   Y = n1 / (n1 + 2 n2), D1 = 1 - 2Y n2/n1, D2 = 2 - 3Y n3/n2, D3+ = 3 - 4Y n4/n3.
#include "data/ngram_lm.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "data/text_hash.h"
#include "data/text_normalize.h"
#include "data/words.h"

namespace seekforge::data {
namespace {

// The key of ids[0..n): the length is mixed in so that grams of different orders never share
// a key (they live in different tables anyway; this keeps prefixes of order 1 distinct).
uint64_t key_of(const uint32_t* ids, int n) {
  uint64_t h = 0x6e6772616d000000ull + static_cast<uint64_t>(n);
  for (int i = 0; i < n; ++i) h = hash_combine(h, ids[i]);
  return mix64(h);
}

}  // namespace

NgramModel::NgramModel(int order, NgramUnit unit) : order_(order), unit_(unit) {
  SF_CHECK(order >= 1 && order <= 6) << "n-gram order " << order << ": must be in [1, 6]";
  intern("<unk>");
  intern("<s>");
  intern("</s>");
  grams_.resize(order + 1);
  contexts_.resize(order + 1);
  discount_.assign(order + 1, {0.5, 1.0, 1.5});
}

uint32_t NgramModel::intern(std::string_view unit) {
  auto [it, fresh] = vocab_.try_emplace(hash_text(unit), static_cast<uint32_t>(vocab_.size()));
  return it->second;
}

uint32_t NgramModel::id(std::string_view unit) const {
  auto it = vocab_.find(hash_text(unit));
  return it == vocab_.end() ? kUnk : it->second;
}

template <class Fn>
void NgramModel::for_each_unit(std::string_view text, Fn&& fn) const {
  if (unit_ == NgramUnit::word) {
    for_each_word(text, fn);
    return;
  }
  for (size_t i = 0; i < text.size();) {
    const size_t start = i;
    const uint32_t cp = decode_utf8(text, i);
    if (cp == '\n' || cp == '\t' || cp == '\r') {
      fn(std::string_view(" "));
    } else {
      fn(text.substr(start, i - start));
    }
  }
}

void NgramModel::train(const std::vector<std::string_view>& texts) {
  SF_CHECK(!trained_) << "NgramModel::train: the model is already trained";
  trained_ = true;
  const int n = order_;
  std::vector<uint32_t> seq;
  for (const std::string_view raw : texts) {
    const std::string text = repair_utf8(raw);
    seq.assign(n - 1, kBegin);
    for_each_unit(text, [&](std::string_view u) { seq.push_back(intern(u)); });
    seq.push_back(kEnd);
    for (size_t i = n - 1; i < seq.size(); ++i) {
      // The suffix of the order-k gram ending at i is the order-(k-1) gram ending at i, the one
      // counted just before it: `lower` holds its key.
      uint64_t lower = 0;
      for (int k = 1; k <= n; ++k) {
        const uint32_t* g = &seq[i + 1 - k];
        const uint64_t key = key_of(g, k);
        auto [it, fresh] = grams_[k].try_emplace(key);
        ++it->second.count;
        if (fresh) {
          it->second.prefix = key_of(g, k - 1);
          // A new gram is one more distinct left extension of its suffix.
          if (k >= 2) ++grams_[k - 1][lower].cont;
        }
        lower = key;
      }
    }
  }
  for (int k = 1; k <= n; ++k) {
    int64_t nr[5] = {0, 0, 0, 0, 0};
    for (const auto& [key, g] : grams_[k]) {
      const int64_t c = k == n ? g.count : g.cont;
      if (c >= 1 && c <= 4) ++nr[c];
      Context& ctx = contexts_[k][g.prefix];
      ctx.total += static_cast<double>(c);
      if (c == 1) ++ctx.n1;
      if (c == 2) ++ctx.n2;
      if (c >= 3) ++ctx.n3;
    }
    std::array<double, 3> d = {0.5, 1.0, 1.5};  // fallback for tiny training sets
    if (nr[1] > 0 && nr[2] > 0 && nr[3] > 0 && nr[4] > 0) {
      const double y = static_cast<double>(nr[1]) / static_cast<double>(nr[1] + 2 * nr[2]);
      d[0] = 1.0 - 2.0 * y * static_cast<double>(nr[2]) / static_cast<double>(nr[1]);
      d[1] = 2.0 - 3.0 * y * static_cast<double>(nr[3]) / static_cast<double>(nr[2]);
      d[2] = 3.0 - 4.0 * y * static_cast<double>(nr[4]) / static_cast<double>(nr[3]);
      // Each discount must stay below the count it discounts and above 0.
      d[0] = std::clamp(d[0], 0.05, 0.95);
      d[1] = std::clamp(d[1], 0.05, 1.95);
      d[2] = std::clamp(d[2], 0.05, 2.95);
    }
    discount_[k] = d;
  }
}

double NgramModel::prob_ids(const uint32_t* history, uint32_t w) const {
  const int n = order_;
  double p = 1.0 / static_cast<double>(vocab_.size());
  uint32_t buf[8];
  for (int k = 1; k <= n; ++k) {
    // The gram is the last k-1 ids of the history followed by w.
    for (int j = 0; j < k - 1; ++j) buf[j] = history[n - k + j];
    buf[k - 1] = w;
    const uint64_t prefix = key_of(buf, k - 1);
    auto ct = contexts_[k].find(prefix);
    if (ct == contexts_[k].end() || ct->second.total <= 0) continue;
    const Context& c = ct->second;
    int64_t cnt = 0;
    auto g = grams_[k].find(key_of(buf, k));
    if (g != grams_[k].end()) cnt = k == n ? g->second.count : g->second.cont;
    const auto& d = discount_[k];
    const double dc = cnt == 0 ? 0.0 : d[std::min<int64_t>(cnt, 3) - 1];
    const double gamma = (d[0] * static_cast<double>(c.n1) + d[1] * static_cast<double>(c.n2) +
                          d[2] * static_cast<double>(c.n3)) /
                         c.total;
    p = std::max(static_cast<double>(cnt) - dc, 0.0) / c.total + gamma * p;
  }
  return p;
}

double NgramModel::prob(const std::vector<uint32_t>& context, uint32_t w) const {
  std::vector<uint32_t> h(order_ - 1, kBegin);
  const size_t take = std::min(context.size(), h.size());
  std::copy(context.end() - static_cast<long>(take), context.end(),
            h.end() - static_cast<long>(take));
  return prob_ids(h.data(), w);
}

std::vector<uint32_t> NgramModel::encode(std::string_view text) const {
  std::vector<uint32_t> ids;
  for_each_unit(text, [&](std::string_view u) { ids.push_back(id(u)); });
  ids.push_back(kEnd);
  return ids;
}

double NgramModel::log_prob(std::string_view raw, int64_t* n_predicted) const {
  const std::string text = repair_utf8(raw);
  std::vector<uint32_t> seq(order_ - 1, kBegin);
  for_each_unit(text, [&](std::string_view u) { seq.push_back(id(u)); });
  seq.push_back(kEnd);
  double lp = 0;
  for (size_t i = order_ - 1; i < seq.size(); ++i)
    lp += std::log(prob_ids(&seq[i + 1 - order_], seq[i]));
  if (n_predicted != nullptr) *n_predicted = static_cast<int64_t>(seq.size()) - (order_ - 1);
  return lp;
}

double NgramModel::perplexity(std::string_view text) const {
  int64_t n = 0;
  const double lp = log_prob(text, &n);
  return std::exp(-lp / static_cast<double>(n));
}

}  // namespace seekforge::data
