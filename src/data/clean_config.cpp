// Reading and checking the cleaning pipeline file: see clean_config.h.
//
// Errors are seekforge::Error without the C++ file:line that SF_CHECK adds, as in io/config.cpp:
// the reader is the person who wrote the TOML, and "<file>:<line>:<col>: <key> ..." is what they
// can act on.
#include "data/clean_config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "io/toml_text.h"

// GCC 12 reports a false -Wrestrict inside std::string concatenation (GCC bug 105329); the
// messages below are built by concatenation, so the warning is silenced for this file only.
// Pushed and popped at the end: in a unity build the files after this one share its translation
// unit and keep the warning.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wrestrict"

namespace seekforge::data {
namespace {

std::string describe(const toml::node& n) {
  std::ostringstream os;
  if (auto* s = n.as_string()) {
    os << '"' << s->get() << '"';
  } else if (n.is_table()) {
    os << "{...}";
  } else if (n.is_array()) {
    os << "[...]";
  } else {
    n.visit([&](const auto& v) { os << v; });
  }
  return os.str();
}

// Reads the keys of one table, checking types and ranges; finish() refuses keys never asked for.
class TableReader {
 public:
  TableReader(const toml::table& t, std::string prefix, std::string source, std::string base)
      : t_(t), prefix_(std::move(prefix)), source_(std::move(source)), base_(std::move(base)) {}

  [[noreturn]] void fail_at(const toml::node* n, const std::string& key,
                            const std::string& msg) const {
    std::string where = source_;
    const toml::source_region& r = n != nullptr ? n->source() : t_.source();
    if (r.begin.line > 0) {
      where += ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
    }
    throw Error(where + ": " + prefix_ + key + (n ? " = " + describe(*n) : "") + ": " + msg);
  }

  const toml::node* get(const std::string& key) {
    used_.insert(key);
    return t_.get(key);
  }

  bool has(const std::string& key) const { return t_.contains(key); }

  int64_t integer(const std::string& key, int64_t def, int64_t lo, int64_t hi) {
    const toml::node* n = get(key);
    if (n == nullptr) return def;
    if (!n->is_integer())
      fail_at(n, key, std::string("expected an integer, got ") + toml_type_name(*n));
    const int64_t v = n->as_integer()->get();
    if (v < lo || v > hi)
      fail_at(n, key, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return v;
  }

  double number(const std::string& key, double def, double lo, double hi) {
    const toml::node* n = get(key);
    if (n == nullptr) return def;
    double v;
    if (n->is_floating_point()) {
      v = n->as_floating_point()->get();
    } else if (n->is_integer()) {
      v = static_cast<double>(n->as_integer()->get());
    } else {
      fail_at(n, key, std::string("expected a number, got ") + toml_type_name(*n));
    }
    if (!(v >= lo && v <= hi)) {
      std::ostringstream os;
      os << "must be in [" << lo << ", " << hi << "]";
      fail_at(n, key, os.str());
    }
    return v;
  }

  bool boolean(const std::string& key, bool def) {
    const toml::node* n = get(key);
    if (n == nullptr) return def;
    if (!n->is_boolean())
      fail_at(n, key, std::string("expected a boolean, got ") + toml_type_name(*n));
    return n->as_boolean()->get();
  }

  std::string string(const std::string& key, const std::string& def,
                     const std::vector<std::string>& allowed = {}) {
    const toml::node* n = get(key);
    if (n == nullptr) return def;
    if (!n->is_string())
      fail_at(n, key, std::string("expected a string, got ") + toml_type_name(*n));
    std::string v = n->as_string()->get();
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "\"" : ", \"") + a + "\"";
      fail_at(n, key, "must be one of " + list);
    }
    return v;
  }

  std::string path(const std::string& key, const std::string& def) {
    const std::string v = string(key, def);
    return v.empty() ? v : resolve(v);
  }

  // A string or an array of strings, as paths.
  std::vector<std::string> paths(const std::string& key) {
    const toml::node* n = get(key);
    std::vector<std::string> out;
    if (n == nullptr) return out;
    if (n->is_string()) {
      out.push_back(resolve(n->as_string()->get()));
      return out;
    }
    if (!n->is_array())
      fail_at(n, key, std::string("expected an array of paths, got ") + toml_type_name(*n));
    for (const auto& e : *n->as_array()) {
      if (!e.is_string()) fail_at(n, key, "every element must be a string (a path)");
      out.push_back(resolve(e.as_string()->get()));
    }
    return out;
  }

  // Keys of the table that no reader asked for; `known` lists other keys valid here (for the
  // message: keys of the other method, say).
  void finish(const std::string& context = "") const {
    for (const auto& [k, node] : t_) {
      const std::string key(k.str());
      if (used_.count(key) != 0) continue;
      std::string where = source_;
      if (k.source().begin.line > 0)
        where += ":" + std::to_string(k.source().begin.line) + ":" +
                 std::to_string(k.source().begin.column);
      throw Error(where + ": unknown key '" + prefix_ + key + "'" + context);
    }
  }

 private:
  std::string resolve(const std::string& p) const {
    if (base_.empty() || p.empty() || p[0] == '/') return p;
    return (std::filesystem::path(base_) / p).lexically_normal().string();
  }

  const toml::table& t_;
  std::string prefix_, source_, base_;
  std::set<std::string> used_;
};

StageConfig read_stage(TableReader& r, const std::string& type) {
  StageConfig s;
  s.type = type;
  if (type == "normalize") {
    NormalizeStage n;
    n.drop_invalid_utf8 = r.string("invalid_utf8", "replace", {"replace", "drop"}) == "drop";
    n.options.nfc = r.boolean("nfc", true);
    n.options.strip_control = r.boolean("strip_control", true);
    n.options.clean_whitespace = r.boolean("clean_whitespace", true);
    n.drop_empty = r.boolean("drop_empty", true);
    s.settings = n;
  } else if (type == "script") {
    ScriptStage m;
    m.min_latin = r.number("min_latin", 0, 0, 1);
    m.max_latin = r.number("max_latin", 1, 0, 1);
    m.min_cjk = r.number("min_cjk", 0, 0, 1);
    m.max_cjk = r.number("max_cjk", 1, 0, 1);
    m.min_code = r.number("min_code", 0, 0, 1);
    m.max_code = r.number("max_code", 1, 0, 1);
    if (m.min_latin > m.max_latin) r.fail_at(r.get("min_latin"), "min_latin", "exceeds max_latin");
    if (m.min_cjk > m.max_cjk) r.fail_at(r.get("min_cjk"), "min_cjk", "exceeds max_cjk");
    if (m.min_code > m.max_code) r.fail_at(r.get("min_code"), "min_code", "exceeds max_code");
    s.settings = m;
  } else if (type == "length") {
    LengthStage l;
    l.min_tokens = r.integer("min_tokens", 1, 0, int64_t{1} << 40);
    l.max_tokens = r.integer("max_tokens", 0, 0, int64_t{1} << 40);
    if (l.max_tokens > 0 && l.max_tokens < l.min_tokens)
      r.fail_at(r.get("max_tokens"), "max_tokens", "is below min_tokens (0 means no limit)");
    s.settings = l;
  } else if (type == "exact_dedup") {
    s.settings = ExactDedupStage{};
  } else if (type == "near_dedup") {
    NearDedupStage d;
    const bool sim = r.string("method", "minhash", {"minhash", "simhash"}) == "simhash";
    if (sim) {
      d.options.method = NearMethod::simhash;
      SimHashOptions& o = d.options.simhash;
      o.shingle = static_cast<int>(r.integer("shingle", o.shingle, 1, 8));
      o.max_distance = static_cast<int>(r.integer("max_distance", o.max_distance, 0, 32));
      o.bands = static_cast<int>(r.integer("bands", o.bands, 1, 64));
      r.finish(" (method \"simhash\" takes shingle, max_distance, bands)");
    } else {
      MinHashOptions& o = d.options.minhash;
      o.shingle = static_cast<int>(r.integer("shingle", o.shingle, 1, 8));
      o.num_perm = static_cast<int>(r.integer("num_perm", o.num_perm, 8, 1024));
      o.bands = static_cast<int>(r.integer("bands", o.bands, 1, o.num_perm));
      o.threshold = r.number("threshold", o.threshold, 0, 1);
      if (o.num_perm % o.bands != 0)
        r.fail_at(r.get("bands"), "bands",
                  "must divide num_perm (" + std::to_string(o.num_perm) + ")");
      r.finish(" (method \"minhash\" takes shingle, num_perm, bands, threshold)");
    }
    s.settings = d;
  } else if (type == "perplexity") {
    PerplexityStage p;
    p.reference = r.paths("reference");
    if (p.reference.empty()) r.fail_at(nullptr, "reference", "is required (reference texts)");
    p.unit = r.string("unit", "word", {"word", "char"}) == "char" ? NgramUnit::character
                                                                  : NgramUnit::word;
    p.order = static_cast<int>(r.integer("order", 3, 1, 6));
    p.max_perplexity = r.number("max_perplexity", 0, 0, 1e300);
    p.keep_percentile = r.number("keep_percentile", 0, 0, 100);
    if ((p.max_perplexity > 0) == (p.keep_percentile > 0))
      r.fail_at(nullptr, "max_perplexity",
                "set exactly one of max_perplexity and keep_percentile (both > 0)");
    s.settings = p;
  } else if (type == "domain") {
    DomainStage d;
    d.reference = r.paths("reference");
    if (d.reference.empty()) r.fail_at(nullptr, "reference", "is required (in-domain texts)");
    d.kl = r.string("method", "tfidf", {"tfidf", "kl"}) == "kl";
    d.top_share = r.number("top_share", 0, 0, 1);
    if (d.kl) {
      d.max_kl = r.number("max_kl", 0, 0, 1e300);
      d.alpha = r.number("alpha", 0.01, 1e-12, 1e6);
      if ((d.max_kl > 0) == (d.top_share > 0))
        r.fail_at(nullptr, "max_kl", "set exactly one of max_kl and top_share (both > 0)");
      r.finish(" (method \"kl\" takes reference, max_kl, top_share, alpha)");
    } else {
      const bool has_min = r.has("min_similarity");
      d.min_similarity = r.number("min_similarity", 0, 0, 1);
      if (has_min == (d.top_share > 0))
        r.fail_at(nullptr, "min_similarity", "set exactly one of min_similarity and top_share");
      r.finish(" (method \"tfidf\" takes reference, min_similarity, top_share)");
    }
    s.settings = d;
  } else if (type == "augment") {
    AugmentStage a;
    a.options.seed = static_cast<uint64_t>(r.integer("seed", 0, 0, INT64_MAX));
    a.options.p_replace = r.number("p_replace", 0, 0, 1);
    a.options.p_synonym = r.number("p_synonym", 0, 0, 1);
    a.synonyms = r.path("synonyms", "");
    if (a.options.p_synonym > 0 && a.synonyms.empty())
      r.fail_at(r.get("p_synonym"), "p_synonym", "needs a synonyms file");
    a.copies = r.integer("copies", 1, 1, 100);
    a.keep_original = r.boolean("keep_original", true);
    s.settings = a;
  } else {
    r.fail_at(r.get("type"), "type",
              "unknown stage type; one of \"normalize\", \"script\", \"length\", \"exact_dedup\", "
              "\"near_dedup\", \"perplexity\", \"domain\", \"augment\"");
  }
  r.finish();
  return s;
}

}  // namespace

CleanConfig parse_clean_config(const std::string& text, const std::string& source,
                               const std::string& base_dir) {
  toml::table root;
  try {
    root = toml::parse(std::string_view(text), std::string_view(source));
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw Error(source + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) +
                ": invalid TOML: " + std::string(e.description()));
  }
  CleanConfig c;
  TableReader top(root, "", source, base_dir);
  const auto table_of = [&](const std::string& key) -> const toml::table* {
    const toml::node* n = top.get(key);
    if (n == nullptr) return nullptr;
    if (!n->is_table())
      top.fail_at(n, key, std::string("expected a table, got ") + toml_type_name(*n));
    return n->as_table();
  };
  if (const toml::table* in = table_of("input")) {
    TableReader r(*in, "input.", source, base_dir);
    c.jsonl = r.paths("jsonl");
    c.text = r.paths("text");
    c.text_unit = r.string("text_unit", "file", {"file", "paragraph"}) == "paragraph"
                      ? TextUnit::paragraph
                      : TextUnit::file;
    r.finish();
  }
  if (c.jsonl.empty() && c.text.empty())
    top.fail_at(nullptr, "input", "name at least one input: input.jsonl or input.text");
  if (const toml::table* out = table_of("output")) {
    TableReader r(*out, "output.", source, base_dir);
    c.out_dir = r.path("dir", "");
    c.examples = r.integer("examples", 3, 0, 1000);
    c.example_chars = r.integer("example_chars", 200, 1, 1 << 20);
    r.finish();
  }
  if (c.out_dir.empty()) top.fail_at(nullptr, "output.dir", "is required (the output directory)");
  if (const toml::node* st = top.get("stage")) {
    if (!st->is_array_of_tables())
      top.fail_at(st, "stage", "expected an array of tables ([[stage]] sections)");
    int i = 0;
    for (const auto& e : *st->as_array()) {
      const std::string prefix = "stage[" + std::to_string(i++) + "].";
      TableReader r(*e.as_table(), prefix, source, base_dir);
      if (!r.has("type")) r.fail_at(nullptr, "type", "is required");
      const std::string type = r.string("type", "");
      c.stages.push_back(read_stage(r, type));
    }
  }
  if (c.stages.empty()) top.fail_at(nullptr, "stage", "the pipeline has no [[stage]]");
  top.finish();
  return c;
}

CleanConfig load_clean_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) throw Error("cannot open pipeline file '" + path + "'");
  const std::string text(std::istreambuf_iterator<char>(in), {});
  const std::string base = std::filesystem::path(path).parent_path().string();
  return parse_clean_config(text, path, base.empty() ? "." : base);
}

}  // namespace seekforge::data

#pragma GCC diagnostic pop
