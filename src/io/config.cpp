// Reading, checking and writing run configurations (TOML through toml++).
//
// One schema drives everything: the *_fields() visitors below list every key of a section in the
// order config_to_toml writes them, and the reader, the unknown-key check, the --set overrides and
// the writer all walk the same lists, so a key cannot be readable but not writable. The rules
// (ranges and contradictions) live in check_config() only; docs/config.md mirrors them.
// Not here: what the keys mean to the model or the trainer (docs/model.md, docs/config.md).
//
// Errors are seekforge::Error with a message meant for the person who wrote the file:
// "<file>:<line>:<column>: <key> = <value>: <what is wrong>"; they do not carry the C++
// file:line that SF_CHECK adds, which would only be noise to that reader.
#include "io/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <type_traits>

#include "core/error.h"
#include "io/toml_text.h"

namespace seekforge {
namespace {

// ---- the schema -------------------------------------------------------------------------------
// Each visitor calls f(key, field) for every scalar key of its section, in file order. M is the
// struct, const or not.

template <class M, class F>
void model_fields(M& m, F&& f) {
  f("vocab_size", m.vocab_size);
  f("d_model", m.d_model);
  f("n_layers", m.n_layers);
  f("n_heads", m.n_heads);
  f("n_kv_heads", m.n_kv_heads);
  f("head_dim", m.head_dim);
  f("max_seq_len", m.max_seq_len);
  f("rope_theta", m.rope_theta);
  f("norm_eps", m.norm_eps);
  f("attention", m.attention);
  f("window", m.window);
  f("d_ff", m.d_ff);
  f("first_dense_layers", m.first_dense_layers);
  f("tie_embeddings", m.tie_embeddings);
  f("init_std", m.init_std);
}

template <class M, class F>
void moe_fields(M& m, F&& f) {
  f("n_routed_experts", m.n_routed_experts);
  f("n_shared_experts", m.n_shared_experts);
  f("top_k", m.top_k);
  f("d_expert", m.d_expert);
  f("gate", m.gate);
  f("norm_topk", m.norm_topk);
  f("routed_scaling_factor", m.routed_scaling_factor);
  f("aux_loss_coef", m.aux_loss_coef);
  f("bias_update_speed", m.bias_update_speed);
  f("capacity_factor", m.capacity_factor);
}

template <class M, class F>
void mla_fields(M& m, F&& f) {
  f("q_lora_rank", m.q_lora_rank);
  f("kv_lora_rank", m.kv_lora_rank);
  f("qk_nope_head_dim", m.qk_nope_head_dim);
  f("qk_rope_head_dim", m.qk_rope_head_dim);
  f("v_head_dim", m.v_head_dim);
}

template <class M, class F>
void mtp_fields(M& m, F&& f) {
  f("depth", m.depth);
  f("loss_weight", m.loss_weight);
}

template <class M, class F>
void train_fields(M& m, F&& f) {
  f("seed", m.seed);
  f("batch_size", m.batch_size);
  f("seq_len", m.seq_len);
  f("grad_accum", m.grad_accum);
  f("max_steps", m.max_steps);
  f("lr", m.lr);
  f("min_lr", m.min_lr);
  f("warmup_steps", m.warmup_steps);
  f("schedule", m.schedule);
  f("weight_decay", m.weight_decay);
  f("beta1", m.beta1);
  f("beta2", m.beta2);
  f("eps", m.eps);
  f("clip_grad_norm", m.clip_grad_norm);
  f("label_smoothing", m.label_smoothing);
  f("eval_every", m.eval_every);
  f("eval_steps", m.eval_steps);
  f("checkpoint_every", m.checkpoint_every);
  f("keep_checkpoints", m.keep_checkpoints);
  f("out_dir", m.out_dir);
  f("init_from", m.init_from);
  f("log_every", m.log_every);
  f("early_stop_patience", m.early_stop_patience);
  f("grad_norm_alarm", m.grad_norm_alarm);
  f("max_bad_steps", m.max_bad_steps);
  f("checkpoint_activations", m.checkpoint_activations);
  f("precision", m.precision);
  f("loss_scale", m.loss_scale);
  f("loss_scale_window", m.loss_scale_window);
}

template <class M, class F>
void data_fields(M& m, F&& f) {
  f("path", m.path);
  f("synthetic", m.synthetic);
  f("text_file", m.text_file);
  f("sft", m.sft);
  f("tokenizer", m.tokenizer);
  f("val_fraction", m.val_fraction);
  f("loader", m.loader);
  f("buckets", m.buckets);
  f("domain_weights", m.domain_weights);
  f("prefetch", m.prefetch);
}

// Every section by its dotted name; the optional ones are the [model.*] tables.
constexpr std::array<const char*, 6> kSections = {"model",     "model.moe", "model.mla",
                                                  "model.mtp", "train",     "data"};
constexpr std::array<const char*, 3> kModelSubtables = {"moe", "mla", "mtp"};

// weights: a table of names to numbers (data.domain_weights = {prose = 0.7, code = 0.3}).
using Weights = std::map<std::string, double>;
enum class Kind { integer, unsigned_integer, number, boolean, string, weights };

template <class T>
constexpr Kind kind_of() {
  if constexpr (std::is_same_v<T, bool>) return Kind::boolean;
  if constexpr (std::is_same_v<T, int64_t>) return Kind::integer;
  if constexpr (std::is_same_v<T, uint64_t>) return Kind::unsigned_integer;
  if constexpr (std::is_same_v<T, double>) return Kind::number;
  if constexpr (std::is_same_v<T, std::string>) return Kind::string;
  if constexpr (std::is_same_v<T, Weights>) return Kind::weights;
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::integer:
      return "an integer";
    case Kind::unsigned_integer:
      return "a non-negative integer";
    case Kind::number:
      return "a number";
    case Kind::boolean:
      return "a boolean (true or false)";
    case Kind::string:
      return "a string";
    case Kind::weights:
      return "a table of numbers ({name = weight, ...})";
  }
  return "?";
}

struct KeyInfo {
  std::string name;
  Kind kind;
};

// Keys of older files that are still read but never written, each folded into the key that
// replaced it (Reader::read_deprecated). train.activation_checkpointing = true is
// train.checkpoint_activations = "block"; false, the old default that every config.toml of an
// older run spells out, changes nothing.
struct DeprecatedKey {
  const char* section;
  const char* name;
  Kind kind;
};
constexpr std::array<DeprecatedKey, 1> kDeprecatedKeys = {
    {{"train", "activation_checkpointing", Kind::boolean}}};

const DeprecatedKey* find_deprecated_key(const std::string& section, const std::string& key) {
  for (const DeprecatedKey& d : kDeprecatedKeys)
    if (section == d.section && key == d.name) return &d;
  return nullptr;
}

// Calls f on the default-constructed struct of `section` with its visitor.
template <class F>
void with_section_defaults(const std::string& section, F&& f) {
  if (section == "model") {
    const ModelConfig m;
    model_fields(m, f);
  } else if (section == "model.moe") {
    const MoeConfig m;
    moe_fields(m, f);
  } else if (section == "model.mla") {
    const MlaConfig m;
    mla_fields(m, f);
  } else if (section == "model.mtp") {
    const MtpConfig m;
    mtp_fields(m, f);
  } else if (section == "train") {
    const TrainConfig m;
    train_fields(m, f);
  } else if (section == "data") {
    const DataConfig m;
    data_fields(m, f);
  }
}

std::vector<KeyInfo> section_keys(const std::string& section) {
  std::vector<KeyInfo> keys;
  with_section_defaults(section, [&](const char* name, const auto& value) {
    keys.push_back({name, kind_of<std::decay_t<decltype(value)>>()});
  });
  return keys;
}

// ---- formatting ---------------------------------------------------------------------------------

// The scalars are written by io/toml_text.h; the inline table of weights is this file's own.
using seekforge::format_value;

// An inline table; a key is written bare when TOML allows it, else quoted.
std::string format_value(const Weights& v) {
  std::string out = "{";
  for (const auto& [k, w] : v) {
    const bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
    out += (out.size() > 1 ? ", " : " ") + (bare ? k : quote(k)) + " = " + format_double(w);
  }
  return out + (v.empty() ? "}" : " }");
}

// How a TOML node looked in the file, for error messages.
std::string describe(const toml::node& node) {
  if (auto* v = node.as_string()) return quote(v->get());
  if (auto* v = node.as_integer()) return std::to_string(v->get());
  if (auto* v = node.as_floating_point()) return format_double(v->get());
  if (auto* v = node.as_boolean()) return v->get() ? "true" : "false";
  if (node.is_table()) return "{...}";
  if (node.is_array()) return "[...]";
  std::ostringstream os;
  if (auto* v = node.as_date()) os << *v;
  if (auto* v = node.as_time()) os << *v;
  if (auto* v = node.as_date_time()) os << *v;
  return os.str();
}

// ---- suggestions ------------------------------------------------------------------------------

// " (it belongs in [train])" when the key exists in another section.
std::string other_section_hint(const std::string& name, const std::string& section) {
  for (const char* s : kSections) {
    if (s == section) continue;
    for (const auto& k : section_keys(s)) {
      if (k.name == name) return std::string(" (it belongs in [") + s + "])";
    }
  }
  return "";
}

std::vector<std::string> section_key_names(const std::string& section) {
  std::vector<std::string> names;
  for (const auto& k : section_keys(section)) names.push_back(k.name);
  return names;
}

[[noreturn]] void fail(const std::string& where, const std::string& message) {
  throw Error(where.empty() ? message : where + ": " + message);
}

// ---- reading a parsed TOML tree into the structs ------------------------------------------------

class Reader {
 public:
  Reader(std::string source, std::vector<std::pair<std::string, std::string>> overridden)
      : source_(std::move(source)), overridden_(std::move(overridden)) {}

  Config read(const toml::table& root) {
    Config config;
    for (const auto& [k, node] : root) {
      const std::string key(k.str());
      if (key == "model" || key == "train" || key == "data") {
        if (!node.is_table()) {
          fail(where(node, key), key + " = " + describe(node) + ": expected a table ([" + key +
                                     "]), got " + toml_type_name(node));
        }
        continue;
      }
      fail(where_key(k, node, key),
           (node.is_table() ? "unknown table [" + key + "]" : "unknown key '" + key + "'") +
               suggestion(key, {"model", "train", "data"}) + other_section_hint(key, ""));
    }
    if (auto* t = root["model"].as_table()) {
      read_section(*t, "model", config.model, [](auto& m, auto&& f) { model_fields(m, f); });
      read_optional(*t, "moe", config.model.moe, [](auto& m, auto&& f) { moe_fields(m, f); });
      read_optional(*t, "mla", config.model.mla, [](auto& m, auto&& f) { mla_fields(m, f); });
      read_optional(*t, "mtp", config.model.mtp, [](auto& m, auto&& f) { mtp_fields(m, f); });
    }
    if (auto* t = root["train"].as_table()) {
      read_section(*t, "train", config.train, [](auto& m, auto&& f) { train_fields(m, f); });
      read_deprecated(*t, config.train);
    }
    if (auto* t = root["data"].as_table()) {
      read_section(*t, "data", config.data, [](auto& m, auto&& f) { data_fields(m, f); });
    }
    return config;
  }

  // "file:line:col", or "file (--set ...)" for a value that came from an override.
  // Where a key (rather than its value) was written.
  std::string where_key(const toml::key& key, const toml::node& node,
                        const std::string& path) const {
    const auto& begin = key.source().begin;
    if (begin.line > 0 && !overridden_path(path)) {
      return source_ + ":" + std::to_string(begin.line) + ":" + std::to_string(begin.column);
    }
    return where(node, path);
  }

  bool overridden_path(const std::string& path) const {
    for (const auto& [p, text] : overridden_) {
      if (path == p || path.rfind(p + ".", 0) == 0) return true;
    }
    return false;
  }

  // Overrides are looked up first: they replaced whatever the file had at their path.
  std::string where(const toml::node& node, const std::string& path) const {
    for (const auto& [p, text] : overridden_) {
      if (path == p || path.rfind(p + ".", 0) == 0) return source_ + ": --set " + text;
    }
    const auto& begin = node.source().begin;
    if (begin.line > 0) {
      return source_ + ":" + std::to_string(begin.line) + ":" + std::to_string(begin.column);
    }
    return source_;
  }

  // Checks the TOML type of one value and stores it.
  template <class T>
  void read_value(const toml::node& node, const std::string& path, T& out) const {
    constexpr Kind kind = kind_of<T>();
    const auto wrong = [&] {
      fail(where(node, path), path + " = " + describe(node) + ": expected " + kind_name(kind) +
                                  ", got " + toml_type_name(node));
    };
    if constexpr (kind == Kind::integer) {
      if (!node.is_integer()) wrong();
      out = node.as_integer()->get();
    } else if constexpr (kind == Kind::unsigned_integer) {
      if (!node.is_integer()) wrong();
      const int64_t v = node.as_integer()->get();
      if (v < 0) fail(where(node, path), path + " = " + describe(node) + ": must be >= 0");
      out = static_cast<uint64_t>(v);
    } else if constexpr (kind == Kind::number) {
      if (node.is_floating_point()) {
        out = node.as_floating_point()->get();
      } else if (node.is_integer()) {
        out = static_cast<double>(node.as_integer()->get());
      } else {
        wrong();
      }
    } else if constexpr (kind == Kind::boolean) {
      if (!node.is_boolean()) wrong();
      out = node.as_boolean()->get();
    } else if constexpr (kind == Kind::weights) {
      if (!node.is_table()) wrong();
      out.clear();
      for (const auto& [k, v] : *node.as_table()) {
        const std::string name(k.str());
        if (v.is_floating_point()) {
          out[name] = v.as_floating_point()->get();
        } else if (v.is_integer()) {
          out[name] = static_cast<double>(v.as_integer()->get());
        } else {
          fail(where(v, path), path + "." + name + " = " + describe(v) +
                                   ": expected a number, got " + toml_type_name(v));
        }
      }
    } else {
      if (!node.is_string()) wrong();
      out = node.as_string()->get();
    }
  }

 private:
  // Folds kDeprecatedKeys into the keys that replaced them; a file that gives both and
  // disagrees is refused (it is not clear which one the writer meant).
  void read_deprecated(const toml::table& train, TrainConfig& out) const {
    const std::string old_path = "train.activation_checkpointing";
    const toml::node* old_node = train.get("activation_checkpointing");
    if (old_node == nullptr) return;
    bool on = false;
    read_value(*old_node, old_path, on);
    if (!on) return;
    if (const toml::node* new_node = train.get("checkpoint_activations");
        new_node != nullptr && out.checkpoint_activations != "block") {
      std::string message = old_path;
      message += " = true (deprecated, the same as train.checkpoint_activations = \"block\") ";
      message += "disagrees with train.checkpoint_activations = ";
      message += quote(out.checkpoint_activations);
      message += " (";
      message += where(*new_node, "train.checkpoint_activations");
      message += "): keep only train.checkpoint_activations";
      fail(where(*old_node, old_path), message);
    }
    out.checkpoint_activations = "block";
  }

  template <class S, class Visit>
  void read_section(const toml::table& table, const std::string& section, S& out,
                    Visit visit) const {
    const std::vector<std::string> names = section_key_names(section);
    std::vector<std::string> candidates = names;
    const bool is_model = section == "model";
    if (is_model)
      candidates.insert(candidates.end(), kModelSubtables.begin(), kModelSubtables.end());
    for (const auto& [k, node] : table) {
      const std::string key(k.str());
      const std::string path = section + "." + key;
      if (std::find(names.begin(), names.end(), key) != names.end()) continue;
      if (find_deprecated_key(section, key) != nullptr) continue;
      if (is_model &&
          std::find(kModelSubtables.begin(), kModelSubtables.end(), key) != kModelSubtables.end()) {
        if (!node.is_table()) {
          fail(where(node, path), path + " = " + describe(node) + ": expected a table ([" + path +
                                      "]), got " + toml_type_name(node));
        }
        continue;
      }
      if (node.is_table()) {
        fail(where_key(k, node, path), "unknown table [" + path + "]" +
                                           suggestion(key, candidates, section + ".") +
                                           other_section_hint(key, section));
      }
      fail(where_key(k, node, path), "unknown key '" + path + "'" +
                                         suggestion(key, candidates, section + ".") +
                                         other_section_hint(key, section));
    }
    visit(out, [&](const char* name, auto& field) {
      if (const toml::node* node = table.get(name)) read_value(*node, section + "." + name, field);
    });
  }

  template <class S, class Visit>
  void read_optional(const toml::table& model, const char* name, std::optional<S>& out,
                     Visit visit) const {
    if (const toml::table* t = model[name].as_table()) {
      out.emplace();
      read_section(*t, std::string("model.") + name, *out, visit);
    }
  }

  std::string source_;
  std::vector<std::pair<std::string, std::string>> overridden_;  // (dotted path, --set text)
};

// ---- --set overrides ----------------------------------------------------------------------------

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// Parses `text` as exactly one TOML value; nullopt when it is not one.
std::optional<toml::table> parse_toml_value(const std::string& text) {
  try {
    const std::string doc = "v = " + text + "\n";
    toml::table t = toml::parse(std::string_view(doc), std::string_view("--set"));
    if (t.size() != 1 || !t.contains("v")) return std::nullopt;
    return t;
  } catch (const toml::parse_error&) {
    return std::nullopt;
  }
}

// Applies "section.key=value" to the parsed tree, creating [model.*] tables on the way.
// Returns the dotted path it set.
std::string apply_override(toml::table& root, const std::string& text, const std::string& source) {
  const std::string where = source + ": --set " + text;
  const size_t eq = text.find('=');
  if (eq == std::string::npos) fail(where, "expected section.key=value (e.g. train.lr=1e-3)");
  const std::string path = trim(text.substr(0, eq));
  const std::string value = trim(text.substr(eq + 1));
  const size_t dot = path.rfind('.');
  std::vector<std::string> sections(kSections.begin(), kSections.end());

  // A whole optional table given as an inline table: "model.mtp={}" or "model.moe={top_k=1}".
  if (path == "model.moe" || path == "model.mla" || path == "model.mtp") {
    auto parsed = parse_toml_value(value);
    if (!parsed || !parsed->get("v")->is_table()) {
      fail(where, path + " is a table: give an inline table such as " + path + "={}");
    }
    toml::table* model = root["model"].as_table();
    if (model == nullptr) {
      if (root.contains("model")) fail(where, "model is not a table");
      model = root.insert_or_assign("model", toml::table{}).first->second.as_table();
    }
    model->insert_or_assign(path.substr(6), std::move(*parsed->get("v")->as_table()));
    return path;
  }

  if (dot == std::string::npos) {
    fail(where, "'" + path + "' names no key: expected section.key" + suggestion(path, sections) +
                    other_section_hint(path, ""));
  }
  const std::string section = path.substr(0, dot);
  const std::string key = path.substr(dot + 1);
  if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
    fail(where, "unknown section '" + section + "'" + suggestion(section, sections));
  }
  auto keys = section_keys(section);
  if (const DeprecatedKey* d = find_deprecated_key(section, key)) keys.push_back({key, d->kind});
  const auto it =
      std::find_if(keys.begin(), keys.end(), [&](const KeyInfo& k) { return k.name == key; });
  if (it == keys.end()) {
    fail(where, "unknown key '" + path + "'" +
                    suggestion(key, section_key_names(section), section + ".") +
                    other_section_hint(key, section));
  }

  // Strings may be given bare (data.synthetic=copy, train.out_dir=runs/x, data.path= to clear);
  // a quoted value is read as a TOML string. Everything else is a TOML value.
  toml::table parsed;
  if (it->kind == Kind::string && (value.empty() || (value[0] != '"' && value[0] != '\''))) {
    parsed.insert("v", value);
  } else {
    auto p = parse_toml_value(value);
    if (!p) {
      fail(where, path + ": cannot read '" + value + "' as " + kind_name(it->kind));
    }
    parsed = std::move(*p);
  }

  toml::table* table = &root;
  std::string walked;
  size_t start = 0;
  while (true) {
    const size_t next = section.find('.', start);
    const std::string part = section.substr(start, next == std::string::npos ? next : next - start);
    walked += (walked.empty() ? "" : ".") + part;
    toml::node* child = table->get(part);
    if (child == nullptr) {
      child = &table->insert_or_assign(part, toml::table{}).first->second;
    }
    if (!child->is_table()) fail(where, walked + " is not a table in " + source);
    table = child->as_table();
    if (next == std::string::npos) break;
    start = next + 1;
  }
  table->insert_or_assign(key, std::move(*parsed.get("v")));
  return path;
}

// ---- the rules ----------------------------------------------------------------------------------

class Checker {
 public:
  Checker(std::string where, const std::vector<std::pair<std::string, std::string>>& overridden)
      : where_(std::move(where)), overridden_(overridden) {}

  // Refuses `key = value` with "must be <rule>" unless ok; names the --set that gave the value.
  template <class T>
  void require(bool ok, const std::string& key, const T& value, const std::string& rule) const {
    if (ok) return;
    std::string where = where_;
    for (const auto& [path, text] : overridden_) {
      if (key == path || key.rfind(path + ".", 0) == 0) {
        where += (where.empty() ? "--set " : ": --set ") + text;
      }
    }
    fail(where, key + " = " + format_value(value) + ": must be " + rule);
  }

  // Every float key must be finite (TOML allows inf and nan).
  void finite(const std::string& section, const auto& s, auto visit) const {
    visit(s, [&](const char* name, const auto& v) {
      if constexpr (std::is_same_v<std::decay_t<decltype(v)>, double>) {
        require(std::isfinite(v), section + "." + name, v, "a finite number");
      }
    });
  }

 private:
  std::string where_;
  const std::vector<std::pair<std::string, std::string>>& overridden_;
};

std::string str(int64_t v) { return std::to_string(v); }
std::string str(double v) { return format_double(v); }

// `overridden` lists (dotted path, --set text) so that a refused value names the override it
// came from.
void check_config(const Config& c, const std::string& where,
                  const std::vector<std::pair<std::string, std::string>>& overridden) {
  const Checker ck(where, overridden);
  const ModelConfig& m = c.model;
  const TrainConfig& t = c.train;
  const DataConfig& d = c.data;

  ck.finite("model", m, [](auto& s, auto&& f) { model_fields(s, f); });
  if (m.moe) ck.finite("model.moe", *m.moe, [](auto& s, auto&& f) { moe_fields(s, f); });
  if (m.mla) ck.finite("model.mla", *m.mla, [](auto& s, auto&& f) { mla_fields(s, f); });
  if (m.mtp) ck.finite("model.mtp", *m.mtp, [](auto& s, auto&& f) { mtp_fields(s, f); });
  ck.finite("train", t, [](auto& s, auto&& f) { train_fields(s, f); });
  ck.finite("data", d, [](auto& s, auto&& f) { data_fields(s, f); });

  // [model]
  ck.require(m.vocab_size >= 2 && m.vocab_size < (int64_t{1} << 31), "model.vocab_size",
             m.vocab_size, "in [2, 2^31)");
  ck.require(m.d_model >= 1, "model.d_model", m.d_model, ">= 1");
  ck.require(m.n_layers >= 1, "model.n_layers", m.n_layers, ">= 1");
  ck.require(m.n_heads >= 1, "model.n_heads", m.n_heads, ">= 1");
  ck.require(m.attention == "mha" || m.attention == "mla", "model.attention", m.attention,
             "one of \"mha\", \"mla\"");
  if (m.attention == "mha") {
    ck.require(m.n_kv_heads >= 1 && m.n_kv_heads <= m.n_heads, "model.n_kv_heads", m.n_kv_heads,
               "in [1, " + str(m.n_heads) + "] (n_heads)");
    ck.require(m.n_heads % m.n_kv_heads == 0, "model.n_kv_heads", m.n_kv_heads,
               "a divisor of model.n_heads = " + str(m.n_heads));
    ck.require(m.head_dim >= 2 && m.head_dim % 2 == 0, "model.head_dim", m.head_dim,
               "even and >= 2 (RoPE rotates pairs)");
    ck.require(!m.mla, "model.attention", m.attention,
               "\"mla\" when a [model.mla] table is present (remove the table or set "
               "model.attention = \"mla\")");
  } else if (m.attention == "mla") {
    ck.require(m.mla.has_value(), "model.attention", m.attention,
               "accompanied by a [model.mla] table");
  }
  ck.require(m.max_seq_len >= 1, "model.max_seq_len", m.max_seq_len, ">= 1");
  ck.require(m.rope_theta > 0, "model.rope_theta", m.rope_theta, "> 0");
  ck.require(m.norm_eps > 0, "model.norm_eps", m.norm_eps, "> 0");
  ck.require(m.window >= 0, "model.window", m.window, ">= 0 (0: full causal attention)");
  ck.require(m.d_ff >= 1, "model.d_ff", m.d_ff, ">= 1");
  ck.require(m.first_dense_layers >= 0 && m.first_dense_layers <= m.n_layers,
             "model.first_dense_layers", m.first_dense_layers,
             "in [0, " + str(m.n_layers) + "] (n_layers)");
  ck.require(m.init_std >= 0, "model.init_std", m.init_std, ">= 0");

  if (m.moe) {
    const MoeConfig& e = *m.moe;
    ck.require(e.n_routed_experts >= 1, "model.moe.n_routed_experts", e.n_routed_experts, ">= 1");
    ck.require(e.n_shared_experts >= 0, "model.moe.n_shared_experts", e.n_shared_experts, ">= 0");
    ck.require(e.top_k >= 1 && e.top_k <= e.n_routed_experts, "model.moe.top_k", e.top_k,
               "in [1, " + str(e.n_routed_experts) + "] (n_routed_experts)");
    ck.require(e.d_expert >= 1, "model.moe.d_expert", e.d_expert, ">= 1");
    ck.require(e.gate == "softmax" || e.gate == "sigmoid", "model.moe.gate", e.gate,
               "one of \"softmax\", \"sigmoid\"");
    ck.require(e.routed_scaling_factor > 0, "model.moe.routed_scaling_factor",
               e.routed_scaling_factor, "> 0");
    ck.require(e.aux_loss_coef >= 0, "model.moe.aux_loss_coef", e.aux_loss_coef, ">= 0");
    ck.require(e.bias_update_speed >= 0, "model.moe.bias_update_speed", e.bias_update_speed,
               ">= 0 (0: no bias balancing)");
    ck.require(e.capacity_factor >= 0, "model.moe.capacity_factor", e.capacity_factor,
               ">= 0 (0: no token dropping)");
  }
  if (m.mla) {
    const MlaConfig& a = *m.mla;
    ck.require(a.q_lora_rank >= 0, "model.mla.q_lora_rank", a.q_lora_rank,
               ">= 0 (0: plain q_proj)");
    ck.require(a.kv_lora_rank >= 1, "model.mla.kv_lora_rank", a.kv_lora_rank, ">= 1");
    ck.require(a.qk_nope_head_dim >= 0, "model.mla.qk_nope_head_dim", a.qk_nope_head_dim, ">= 0");
    ck.require(a.qk_rope_head_dim >= 2 && a.qk_rope_head_dim % 2 == 0, "model.mla.qk_rope_head_dim",
               a.qk_rope_head_dim, "even and >= 2 (RoPE rotates pairs)");
    ck.require(a.v_head_dim >= 1, "model.mla.v_head_dim", a.v_head_dim, ">= 1");
  }
  if (m.mtp) {
    ck.require(m.mtp->depth >= 1, "model.mtp.depth", m.mtp->depth, ">= 1");
    ck.require(m.mtp->loss_weight >= 0, "model.mtp.loss_weight", m.mtp->loss_weight, ">= 0");
  }

  // [train]
  ck.require(t.seed <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), "train.seed",
             t.seed, "in [0, 2^63) (a TOML integer)");
  ck.require(t.batch_size >= 1, "train.batch_size", t.batch_size, ">= 1");
  ck.require(t.seq_len >= 1 && t.seq_len <= m.max_seq_len, "train.seq_len", t.seq_len,
             "in [1, " + str(m.max_seq_len) + "] (model.max_seq_len)");
  ck.require(t.grad_accum >= 1, "train.grad_accum", t.grad_accum, ">= 1");
  ck.require(t.max_steps >= 1, "train.max_steps", t.max_steps, ">= 1");
  ck.require(t.lr > 0, "train.lr", t.lr, "> 0");
  ck.require(t.min_lr >= 0 && t.min_lr <= t.lr, "train.min_lr", t.min_lr,
             "in [0, " + str(t.lr) + "] (train.lr)");
  ck.require(t.warmup_steps >= 0, "train.warmup_steps", t.warmup_steps, ">= 0");
  ck.require(t.schedule == "cosine" || t.schedule == "linear" || t.schedule == "constant",
             "train.schedule", t.schedule, "one of \"cosine\", \"linear\", \"constant\"");
  ck.require(t.weight_decay >= 0, "train.weight_decay", t.weight_decay, ">= 0");
  ck.require(t.beta1 >= 0 && t.beta1 < 1, "train.beta1", t.beta1, "in [0, 1)");
  ck.require(t.beta2 >= 0 && t.beta2 < 1, "train.beta2", t.beta2, "in [0, 1)");
  ck.require(t.eps > 0, "train.eps", t.eps, "> 0");
  ck.require(t.clip_grad_norm >= 0, "train.clip_grad_norm", t.clip_grad_norm,
             ">= 0 (0: no clipping)");
  ck.require(t.label_smoothing >= 0 && t.label_smoothing < 1, "train.label_smoothing",
             t.label_smoothing, "in [0, 1)");
  ck.require(t.eval_every >= 0, "train.eval_every", t.eval_every, ">= 0 (0: no evaluation)");
  ck.require(t.eval_steps >= 1, "train.eval_steps", t.eval_steps, ">= 1");
  ck.require(t.checkpoint_every >= 0, "train.checkpoint_every", t.checkpoint_every,
             ">= 0 (0: only at the end)");
  ck.require(t.keep_checkpoints >= 1, "train.keep_checkpoints", t.keep_checkpoints, ">= 1");
  ck.require(!t.out_dir.empty(), "train.out_dir", t.out_dir, "a non-empty path");
  ck.require(t.log_every >= 1, "train.log_every", t.log_every, ">= 1");
  ck.require(t.early_stop_patience >= 0, "train.early_stop_patience", t.early_stop_patience,
             ">= 0 (0: off)");
  ck.require(t.early_stop_patience == 0 || t.eval_every > 0, "train.early_stop_patience",
             t.early_stop_patience, "0 when train.eval_every = 0 (it counts evaluations)");
  ck.require(t.grad_norm_alarm > 0, "train.grad_norm_alarm", t.grad_norm_alarm, "> 0");
  ck.require(t.max_bad_steps >= 1, "train.max_bad_steps", t.max_bad_steps, ">= 1");
  ck.require(t.precision == "fp32" || t.precision == "bf16" || t.precision == "fp16",
             "train.precision", t.precision, "one of \"fp32\", \"bf16\", \"fp16\"");
  ck.require(std::isfinite(t.loss_scale) && t.loss_scale > 0, "train.loss_scale", t.loss_scale,
             "> 0 and finite");
  ck.require(t.loss_scale_window >= 1, "train.loss_scale_window", t.loss_scale_window, ">= 1");
  ck.require(t.checkpoint_activations == "none" || t.checkpoint_activations == "attention" ||
                 t.checkpoint_activations == "block",
             "train.checkpoint_activations", t.checkpoint_activations,
             "one of \"none\", \"attention\", \"block\"");

  // [data]
  const int sources =
      !d.path.empty() + !d.synthetic.empty() + !d.text_file.empty() + !d.sft.empty();
  if (sources != 1) {
    fail(where,
         "[data]: exactly one of data.path, data.synthetic, data.text_file, data.sft must "
         "be set, got " +
             std::to_string(sources) + " (path = " + quote(d.path) +
             ", synthetic = " + quote(d.synthetic) + ", text_file = " + quote(d.text_file) +
             ", sft = " + quote(d.sft) + ")");
  }
  ck.require(!d.tokenizer.empty(), "data.tokenizer", d.tokenizer,
             "\"byte-chat\" or the path of a tokenizer.json");
  ck.require(d.tokenizer == DataConfig{}.tokenizer || !d.sft.empty(), "data.tokenizer", d.tokenizer,
             "\"byte-chat\" (the default) unless data.sft is set (only SFT reads it)");
  if (!d.synthetic.empty()) {
    ck.require(d.synthetic == "random" || d.synthetic == "copy" || d.synthetic == "reverse",
               "data.synthetic", d.synthetic, "one of \"random\", \"copy\", \"reverse\"");
  }
  if (!d.text_file.empty()) {
    ck.require(m.vocab_size >= 256, "model.vocab_size", m.vocab_size,
               ">= 256 with data.text_file (text is tokenized as bytes)");
  }
  ck.require(d.val_fraction >= 0 && d.val_fraction <= 0.5, "data.val_fraction", d.val_fraction,
             "in [0, 0.5]");
  ck.require(d.loader == "packed" || d.loader == "bucketed", "data.loader", d.loader,
             "one of \"packed\", \"bucketed\"");
  ck.require(d.loader == "packed" || !d.path.empty(), "data.loader", d.loader,
             "\"packed\" unless data.path is set (buckets group a dataset's documents)");
  ck.require(d.buckets >= 1 && d.buckets <= 4096, "data.buckets", d.buckets, "in [1, 4096]");
  double weight_sum = 0;
  for (const auto& [name, w] : d.domain_weights) {
    ck.require(std::isfinite(w) && w >= 0, "data.domain_weights." + name, w,
               "a finite number >= 0");
    weight_sum += w;
  }
  if (!d.domain_weights.empty()) {
    ck.require(weight_sum > 0, "data.domain_weights", d.domain_weights,
               "a table with at least one weight > 0");
    ck.require(!d.path.empty(), "data.domain_weights", d.domain_weights,
               "empty unless data.path is set (domains are a dataset's)");
    ck.require(d.loader == "packed", "data.domain_weights", d.domain_weights,
               "empty with data.loader = \"bucketed\" (mixing draws packed windows)");
  }
}

// ---- writing ------------------------------------------------------------------------------------

template <class S, class Visit>
void write_section(std::ostringstream& os, const std::string& section, const S& s, Visit visit) {
  os << "\n[" << section << "]\n";
  visit(s,
        [&](const char* name, const auto& v) { os << name << " = " << format_value(v) << "\n"; });
}

}  // namespace

namespace {

Config parse_impl(const std::string& toml_text, const std::string& source,
                  const std::vector<std::string>& overrides, bool data_optional) {
  toml::table root;
  try {
    root = toml::parse(std::string_view(toml_text), std::string_view(source));
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    fail(source + ":" + std::to_string(b.line) + ":" + std::to_string(b.column),
         "TOML syntax: " + std::string(e.description()));
  }
  std::vector<std::pair<std::string, std::string>> overridden;
  for (const std::string& o : overrides)
    overridden.emplace_back(apply_override(root, o, source), o);

  Config config = Reader(source, overridden).read(root);
  // attention = "mla" without a [model.mla] table turns MLA on with its defaults, like an empty
  // table would; the reverse (a [model.mla] table under attention = "mha") is refused.
  if (config.model.attention == "mla" && !config.model.mla) config.model.mla.emplace();
  const DataConfig& d = config.data;
  if (data_optional && d.path.empty() && d.synthetic.empty() && d.text_file.empty() &&
      d.sft.empty())
    config.data.synthetic = "random";
  check_config(config, source, overridden);
  return config;
}

std::string read_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open config file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(path + ": cannot read config file");
  return text.str();
}

}  // namespace

Config parse_config(const std::string& toml_text, const std::string& source,
                    const std::vector<std::string>& overrides) {
  return parse_impl(toml_text, source, overrides, false);
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  return parse_impl(read_config_file(path), path, overrides, false);
}

Config load_model_config(const std::string& path, const std::vector<std::string>& overrides) {
  return parse_impl(read_config_file(path), path, overrides, true);
}

void validate_config(const Config& config) { check_config(config, "", {}); }

std::string config_to_toml(const Config& c) {
  std::ostringstream os;
  os << "# seekforge run configuration: every key, defaults included (docs/config.md).\n";
  write_section(os, "model", c.model, [](auto& s, auto&& f) { model_fields(s, f); });
  if (c.model.moe) {
    write_section(os, "model.moe", *c.model.moe, [](auto& s, auto&& f) { moe_fields(s, f); });
  }
  if (c.model.mla) {
    write_section(os, "model.mla", *c.model.mla, [](auto& s, auto&& f) { mla_fields(s, f); });
  }
  if (c.model.mtp) {
    write_section(os, "model.mtp", *c.model.mtp, [](auto& s, auto&& f) { mtp_fields(s, f); });
  }
  write_section(os, "train", c.train, [](auto& s, auto&& f) { train_fields(s, f); });
  write_section(os, "data", c.data, [](auto& s, auto&& f) { data_fields(s, f); });
  return os.str();
}

}  // namespace seekforge
