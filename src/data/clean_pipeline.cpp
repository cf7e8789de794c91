// The cleaning pipeline runner: see clean_pipeline.h. Each stage below computes a keep flag and a
// reason per document (in parallel where the work is per document), then one shared step
// compacts the list and fills the report, so the counting rule kept + dropped = in lives in one
// place.
#include "data/clean_pipeline.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <set>

#include "core/error.h"
#include "core/threads.h"
#include "data/dedup.h"
#include "data/domain_filter.h"
#include "data/file_io.h"
#include "data/ngram_lm.h"
#include "data/text_hash.h"
#include "data/text_normalize.h"

namespace seekforge::data {
namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

// The first n bytes of valid UTF-8, not splitting a character.
std::string utf8_prefix(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

std::string id_text(const nlohmann::json& id) {
  return id.is_string() ? id.get<std::string>() : id.dump();
}

struct Verdicts {
  std::vector<uint8_t> keep;
  std::vector<std::string> reason;  // for dropped documents
  explicit Verdicts(size_t n) : keep(n, 1), reason(n) {}
  void drop(size_t i, std::string why) {
    keep[i] = 0;
    reason[i] = std::move(why);
  }
};

void apply(std::vector<Document>& docs, Verdicts& v, StageReport& r, int64_t examples,
           int64_t example_chars) {
  r.in = static_cast<int64_t>(docs.size());
  size_t w = 0;
  for (size_t i = 0; i < docs.size(); ++i) {
    if (v.keep[i]) {
      if (w != i) docs[w] = std::move(docs[i]);
      ++w;
      continue;
    }
    ++r.dropped;
    if (static_cast<int64_t>(r.examples.size()) < examples) {
      r.examples.push_back(
          {{"id", docs[i].id},
           {"reason", v.reason[i]},
           {"text", utf8_prefix(docs[i].text, static_cast<size_t>(example_chars))}});
    }
  }
  docs.resize(w);
  r.kept = static_cast<int64_t>(w);
}

int64_t n_of(const std::vector<Document>& d) { return static_cast<int64_t>(d.size()); }

void run_normalize(const NormalizeStage& s, std::vector<Document>& docs, Verdicts& v,
                   StageReport& r) {
  const int64_t n = n_of(docs);
  std::vector<uint8_t> changed(docs.size(), 0);
  int64_t bytes_in = 0;
  for (const auto& d : docs) bytes_in += static_cast<int64_t>(d.text.size());
#pragma omp parallel for schedule(dynamic, 32) num_threads(num_threads())
  for (int64_t i = 0; i < n; ++i) {
    Document& d = docs[i];
    if (d.invalid_utf8 > 0 && s.drop_invalid_utf8) {
      v.drop(i, "invalid UTF-8 (" + std::to_string(d.invalid_utf8) + " bytes)");
      continue;
    }
    std::string t = normalize_text(d.text, s.options);
    changed[i] = t != d.text;
    d.text = std::move(t);
    if (s.drop_empty && d.text.empty()) v.drop(i, "empty after clean-up");
  }
  int64_t invalid_docs = 0, invalid_bytes = 0, n_changed = 0, bytes_out = 0;
  for (int64_t i = 0; i < n; ++i) {
    invalid_docs += docs[i].invalid_utf8 > 0;
    invalid_bytes += static_cast<int64_t>(docs[i].invalid_utf8);
    n_changed += changed[i];
    if (v.keep[i]) bytes_out += static_cast<int64_t>(docs[i].text.size());
  }
  r.counters = {{"invalid_utf8_docs", invalid_docs},
                {"invalid_utf8_bytes", invalid_bytes},
                {"invalid_utf8", s.drop_invalid_utf8 ? "drop" : "replace"},
                {"changed_docs", n_changed},
                {"bytes_in", bytes_in},
                {"bytes_out", bytes_out}};
}

void run_script(const ScriptStage& s, std::vector<Document>& docs, Verdicts& v, StageReport& r) {
  const int64_t n = n_of(docs);
  std::vector<ScriptMix> mix(docs.size());
#pragma omp parallel for schedule(dynamic, 32) num_threads(num_threads())
  for (int64_t i = 0; i < n; ++i) {
    const ScriptMix m = script_mix(docs[i].text);
    mix[i] = m;
    const auto out = [&](const char* name, double x, double lo, double hi) {
      if (x >= lo && x <= hi) return false;
      v.drop(i, std::string(name) + " " + fmt("%.3f", x) + " outside [" + fmt("%g", lo) + ", " +
                    fmt("%g", hi) + "]");
      return true;
    };
    if (out("latin", m.latin, s.min_latin, s.max_latin)) continue;
    if (out("cjk", m.cjk, s.min_cjk, s.max_cjk)) continue;
    out("code", m.code, s.min_code, s.max_code);
  }
  double latin = 0, cjk = 0, code = 0;
  for (const auto& m : mix) {
    latin += m.latin;
    cjk += m.cjk;
    code += m.code;
  }
  const double dn = std::max<double>(1, static_cast<double>(n));
  r.counters = {{"mean_latin", latin / dn}, {"mean_cjk", cjk / dn}, {"mean_code", code / dn}};
}

void run_length(const LengthStage& s, const PipelineOptions& o, std::vector<Document>& docs,
                Verdicts& v, StageReport& r) {
  const int64_t n = n_of(docs);
  std::vector<int64_t> len(docs.size());
#pragma omp parallel for schedule(dynamic, 32) num_threads(num_threads())
  for (int64_t i = 0; i < n; ++i) {
    len[i] = o.token_counter(docs[i].text);
    if (len[i] < s.min_tokens) {
      v.drop(i, std::to_string(len[i]) + " tokens < min_tokens " + std::to_string(s.min_tokens));
    } else if (s.max_tokens > 0 && len[i] > s.max_tokens) {
      v.drop(i, std::to_string(len[i]) + " tokens > max_tokens " + std::to_string(s.max_tokens));
    }
  }
  int64_t in = 0, kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    in += len[i];
    if (v.keep[i]) kept += len[i];
  }
  r.counters = {{"token_counter", o.token_counter_name}, {"tokens_in", in}, {"tokens_kept", kept}};
}

std::vector<std::string_view> texts_of(const std::vector<Document>& docs) {
  std::vector<std::string_view> t;
  t.reserve(docs.size());
  for (const auto& d : docs) t.push_back(d.text);
  return t;
}

void run_exact(std::vector<Document>& docs, Verdicts& v) {
  const std::vector<int64_t> dup = find_exact_duplicates(texts_of(docs));
  for (size_t i = 0; i < docs.size(); ++i)
    if (dup[i] >= 0) v.drop(i, "exact duplicate of " + id_text(docs[dup[i]].id));
}

void run_near(const NearDedupStage& s, std::vector<Document>& docs, Verdicts& v, StageReport& r) {
  const NearDedupResult res = find_near_duplicates(texts_of(docs), s.options);
  for (size_t i = 0; i < docs.size(); ++i) {
    if (res.duplicate_of[i] < 0) continue;
    v.drop(i, "near duplicate of " + id_text(docs[res.duplicate_of[i]].id) + " (similarity " +
                  fmt("%.3f", res.similarity[i]) + ")");
  }
  const bool sim = s.options.method == NearMethod::simhash;
  r.counters = {{"method", sim ? "simhash" : "minhash"},
                {"candidates", res.candidates},
                {"no_words", res.no_words}};
}

// The value at a percentile (nearest rank) of the scores.
double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

void run_perplexity(const PerplexityStage& s, TextUnit unit, std::vector<Document>& docs,
                    Verdicts& v, StageReport& r) {
  const std::vector<std::string> ref = load_reference_texts(s.reference, unit);
  SF_CHECK(!ref.empty()) << "perplexity stage: the reference set holds no texts";
  NgramModel lm(s.order, s.unit);
  lm.train({ref.begin(), ref.end()});
  const int64_t n = n_of(docs);
  std::vector<double> ppl(docs.size());
#pragma omp parallel for schedule(dynamic, 32) num_threads(num_threads())
  for (int64_t i = 0; i < n; ++i) ppl[i] = lm.perplexity(docs[i].text);
  const double threshold =
      s.max_perplexity > 0 ? s.max_perplexity : percentile(ppl, s.keep_percentile);
  for (int64_t i = 0; i < n; ++i)
    if (!(ppl[i] <= threshold))
      v.drop(i, "perplexity " + fmt("%.1f", ppl[i]) + " > " + fmt("%.1f", threshold));
  r.counters = {{"threshold", threshold},
                {"median_perplexity", percentile(ppl, 50)},
                {"reference_texts", static_cast<int64_t>(ref.size())},
                {"vocab_size", lm.vocab_size()},
                {"discounts", lm.discounts(s.order)}};
}

void run_domain(const DomainStage& s, TextUnit unit, std::vector<Document>& docs, Verdicts& v,
                StageReport& r) {
  const std::vector<std::string> ref = load_reference_texts(s.reference, unit);
  SF_CHECK(!ref.empty()) << "domain stage: the reference set holds no texts";
  const std::vector<std::string_view> refs(ref.begin(), ref.end());
  const int64_t n = n_of(docs);
  std::vector<double> score(docs.size());
  if (s.kl) {
    const KlDomain d(refs, s.alpha);
#pragma omp parallel for schedule(dynamic, 32) num_threads(num_threads())
    for (int64_t i = 0; i < n; ++i) score[i] = -d.divergence(docs[i].text);
  } else {
    const TfidfDomain d(refs);
#pragma omp parallel for schedule(dynamic, 32) num_threads(num_threads())
    for (int64_t i = 0; i < n; ++i) score[i] = d.similarity(docs[i].text);
  }
  // score is "higher is closer" for both methods (KL negated).
  double cut;
  if (s.top_share > 0) {
    std::vector<int64_t> order(docs.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return score[a] > score[b]; });
    const auto keep_n = static_cast<int64_t>(std::ceil(s.top_share * static_cast<double>(n)));
    cut = keep_n > 0 && n > 0 ? score[order[std::min(keep_n, n) - 1]] : 0;
    for (int64_t k = keep_n; k < n; ++k) v.drop(order[k], "");
  } else {
    cut = s.kl ? -s.max_kl : s.min_similarity;
    for (int64_t i = 0; i < n; ++i)
      if (!(score[i] >= cut)) v.drop(i, "");
  }
  const char* what = s.kl ? "KL divergence " : "TF-IDF similarity ";
  for (int64_t i = 0; i < n; ++i) {
    if (v.keep[i]) continue;
    const double shown = s.kl ? -score[i] : score[i];
    const double bound = s.kl ? -cut : cut;
    v.reason[i] = what + fmt("%.4f", shown) + (s.kl ? " > " : " < ") + fmt("%.4f", bound) +
                  (s.top_share > 0 ? " (outside top_share)" : "");
  }
  r.counters = {{"method", s.kl ? "kl" : "tfidf"},
                {s.kl ? "max_kl" : "min_similarity", s.kl ? -cut : cut},
                {"reference_texts", static_cast<int64_t>(ref.size())}};
}

void run_augment(const AugmentStage& s, std::vector<Document>& docs, Verdicts& v, StageReport& r,
                 std::vector<Document>& added) {
  std::vector<std::string> vocab;
  if (s.options.p_replace > 0) {
    std::set<std::string> words;
    for (const auto& d : docs) for_each_word(d.text, [&](std::string_view w) { words.emplace(w); });
    vocab.assign(words.begin(), words.end());
  }
  SynonymTable syn = s.synonyms.empty() ? SynonymTable{} : read_synonyms(s.synonyms);
  const Augmenter aug(s.options, std::move(vocab), std::move(syn));
  const int64_t n = n_of(docs);
  added.resize(docs.size() * static_cast<size_t>(s.copies));
  std::vector<int64_t> changed(added.size(), 0);
#pragma omp parallel for schedule(dynamic, 32) num_threads(num_threads())
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t key = hash_text(docs[i].id.dump());
    for (int64_t c = 0; c < s.copies; ++c) {
      Document& a = added[i * s.copies + c];
      a.id = id_text(docs[i].id) + "#aug" + std::to_string(c + 1);
      a.domain = docs[i].domain;
      a.text = aug.augment(docs[i].text, key, static_cast<uint64_t>(c), &changed[i * s.copies + c]);
    }
    if (!s.keep_original) v.drop(i, "replaced by its augmented copies (keep_original = false)");
  }
  int64_t words = 0;
  for (int64_t x : changed) words += x;
  r.counters = {{"copies", s.copies}, {"words_replaced", words}};
}

}  // namespace

std::vector<std::string> load_reference_texts(const std::vector<std::string>& paths,
                                              TextUnit unit) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    const bool jsonl = p.size() >= 6 && p.compare(p.size() - 6, 6, ".jsonl") == 0;
    std::vector<Document> docs = jsonl ? read_jsonl(p) : read_text_input(p, unit);
    for (auto& d : docs) {
      std::string t = normalize_text(repair_utf8(d.text));
      if (!t.empty()) out.push_back(std::move(t));
    }
  }
  return out;
}

std::vector<StageReport> run_stages(std::vector<Document>& docs,
                                    const std::vector<StageConfig>& stages,
                                    const PipelineOptions& options, int64_t examples,
                                    int64_t example_chars) {
  std::vector<StageReport> reports;
  for (const StageConfig& st : stages) {
    StageReport r;
    r.type = st.type;
    Verdicts v(docs.size());
    std::vector<Document> added;
    std::visit(
        [&](const auto& s) {
          using S = std::decay_t<decltype(s)>;
          if constexpr (std::is_same_v<S, NormalizeStage>) run_normalize(s, docs, v, r);
          if constexpr (std::is_same_v<S, ScriptStage>) run_script(s, docs, v, r);
          if constexpr (std::is_same_v<S, LengthStage>) run_length(s, options, docs, v, r);
          if constexpr (std::is_same_v<S, ExactDedupStage>) run_exact(docs, v);
          if constexpr (std::is_same_v<S, NearDedupStage>) run_near(s, docs, v, r);
          if constexpr (std::is_same_v<S, PerplexityStage>)
            run_perplexity(s, TextUnit::paragraph, docs, v, r);
          if constexpr (std::is_same_v<S, DomainStage>)
            run_domain(s, TextUnit::paragraph, docs, v, r);
          if constexpr (std::is_same_v<S, AugmentStage>) run_augment(s, docs, v, r, added);
        },
        st.settings);
    apply(docs, v, r, examples, example_chars);
    r.added = static_cast<int64_t>(added.size());
    for (auto& a : added) docs.push_back(std::move(a));
    reports.push_back(std::move(r));
  }
  return reports;
}

CleanResult run_clean_pipeline(const CleanConfig& config, const PipelineOptions& options) {
  std::vector<Document> docs;
  nlohmann::json inputs = nlohmann::json::array();
  const auto take = [&](std::vector<Document> d, const std::string& path, const char* kind) {
    inputs.push_back({{"path", path}, {"kind", kind}, {"docs", static_cast<int64_t>(d.size())}});
    for (auto& x : d) docs.push_back(std::move(x));
  };
  for (const auto& p : config.jsonl) take(read_jsonl(p), p, "jsonl");
  for (const auto& p : config.text) take(read_text_input(p, config.text_unit), p, "text");
  SF_CHECK(!docs.empty()) << "the pipeline's inputs hold no documents (input.jsonl, input.text)";
  check_unique_ids(docs, "pipeline inputs");
  // Text files may hold ill-formed UTF-8; make every text valid now and count, as JSONL does.
  const int64_t n = n_of(docs);
#pragma omp parallel for schedule(dynamic, 64) num_threads(num_threads())
  for (int64_t i = 0; i < n; ++i) {
    size_t bad = 0;
    std::string t = repair_utf8(docs[i].text, &bad);
    if (bad > 0) {
      docs[i].text = std::move(t);
      docs[i].invalid_utf8 += bad;
    }
  }
  CleanResult res;
  res.input_docs = n;
  res.stages = run_stages(docs, config.stages, options, config.examples, config.example_chars);
  res.output_docs = n_of(docs);

  std::error_code ec;
  std::filesystem::create_directories(config.out_dir, ec);
  SF_CHECK(!ec) << "cannot create output directory '" << config.out_dir << "': " << ec.message();
  std::string out;
  for (const auto& d : docs) {
    out += document_json_line(d);
    out += '\n';
  }
  res.output_file = config.out_dir + "/cleaned.jsonl";
  res.manifest_file = config.out_dir + "/manifest.json";
  write_file_atomic(res.output_file, out);

  nlohmann::json stages = nlohmann::json::array();
  for (size_t i = 0; i < res.stages.size(); ++i) {
    const StageReport& r = res.stages[i];
    stages.push_back({{"stage", static_cast<int64_t>(i)},
                      {"type", r.type},
                      {"in", r.in},
                      {"kept", r.kept},
                      {"dropped", r.dropped},
                      {"added", r.added},
                      {"counters", r.counters},
                      {"dropped_examples", r.examples}});
  }
  const nlohmann::json manifest = {{"format", "seekforge-clean"},
                                   {"version", 1},
                                   {"inputs", inputs},
                                   {"input_docs", res.input_docs},
                                   {"output_docs", res.output_docs},
                                   {"output_bytes", static_cast<int64_t>(out.size())},
                                   {"output", "cleaned.jsonl"},
                                   {"token_counter", options.token_counter_name},
                                   {"stages", stages}};
  write_file_atomic(res.manifest_file,
                    manifest.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  return res;
}

}  // namespace seekforge::data
