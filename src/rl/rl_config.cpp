// Reading the RL config. One visitor per table lists its keys in file order; the reader, the
// unknown-key check, the overrides and the writer all walk those lists (the run config in
// io/config.cpp works the same way).
#include "rl/rl_config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <type_traits>

#include "core/error.h"
#include "io/toml_text.h"

namespace seekforge::rl {
namespace {

template <class M, class F>
void rl_fields(M& m, F&& f) {
  f("algo", m.algo);
  f("seed", m.seed);
  f("steps", m.steps);
  f("prompts_per_step", m.prompts_per_step);
  f("group_size", m.group_size);
  f("max_tokens", m.max_tokens);
  f("temperature", m.temperature);
  f("top_p", m.top_p);
  f("top_k", m.top_k);
  f("lr", m.lr);
  f("min_lr", m.min_lr);
  f("warmup_steps", m.warmup_steps);
  f("weight_decay", m.weight_decay);
  f("beta1", m.beta1);
  f("beta2", m.beta2);
  f("clip_grad_norm", m.clip_grad_norm);
  f("epochs", m.epochs);
  f("minibatches", m.minibatches);
  f("clip_eps", m.clip_eps);
  f("clip_eps_high", m.clip_eps_high);
  f("kl_coef", m.kl_coef);
  f("loss_mean", m.loss_mean);
  f("scale_by_std", m.scale_by_std);
  f("adv_eps", m.adv_eps);
  f("eval_every", m.eval_every);
  f("eval_problems", m.eval_problems);
  f("checkpoint_every", m.checkpoint_every);
  f("keep_checkpoints", m.keep_checkpoints);
  f("log_every", m.log_every);
  f("out_dir", m.out_dir);
}

template <class M, class F>
void ppo_fields(M& m, F&& f) {
  f("gamma", m.gamma);
  f("lambda", m.lambda);
  f("vf_coef", m.vf_coef);
  f("value_clip", m.value_clip);
  f("adaptive_clip", m.adaptive_clip);
  f("clip_min", m.clip_min);
  f("clip_max", m.clip_max);
  f("target_spread", m.target_spread);
  f("clip_rate", m.clip_rate);
  f("replay_fraction", m.replay_fraction);
  f("replay_capacity", m.replay_capacity);
  f("replay_max_age", m.replay_max_age);
  f("importance_clip", m.importance_clip);
}

template <class M, class F>
void es_fields(M& m, F&& f) {
  f("population", m.population);
  f("elite", m.elite);
  f("sigma", m.sigma);
  f("mutation_rate", m.mutation_rate);
  f("crossover_rate", m.crossover_rate);
  f("problems", m.problems);
}

template <class M, class F>
void task_fields(M& m, F&& f) {
  f("name", m.name);
  f("min_digits", m.min_digits);
  f("max_digits", m.max_digits);
  f("countdown_numbers", m.countdown_numbers);
  f("countdown_max", m.countdown_max);
  f("test_fraction", m.test_fraction);
}

template <class M, class F>
void reward_fields(M& m, F&& f) {
  f("kind", m.kind);
  f("weight", m.weight);
  f("pattern", m.pattern);
  f("target", m.target);
  f("tolerance", m.tolerance);
  f("target_tokens", m.target_tokens);
  f("script", m.script);
}

// Calls visit(f) with the visitor of a table name, on a default struct: the key list.
template <class F>
bool with_defaults(const std::string& table, F&& f) {
  if (table == "rl") {
    const RlConfig m;
    rl_fields(m, f);
  } else if (table == "rl.ppo") {
    const PpoConfig m;
    ppo_fields(m, f);
  } else if (table == "rl.es") {
    const EsConfig m;
    es_fields(m, f);
  } else if (table == "task") {
    const TaskConfig m;
    task_fields(m, f);
  } else if (table == "rl.reward") {
    const RewardSpec m;
    reward_fields(m, f);
  } else {
    return false;
  }
  return true;
}

std::vector<std::string> key_names(const std::string& table) {
  std::vector<std::string> names;
  with_defaults(table, [&](const char* n, const auto&) { names.emplace_back(n); });
  return names;
}

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  RlConfig read(const toml::table& root) {
    RlConfig c;
    for (const auto& [k, node] : root) {
      const std::string key(k.str());
      if ((key == "rl" || key == "task") && node.is_table()) continue;
      const std::string hint = suggestion(key, {"rl", "task"});
      fail(k.source(), node.is_table()
                           ? "unknown table [" + key + "]" + hint
                           : "unknown key '" + key + "' (keys live in [rl] or [task])" + hint);
    }
    if (const toml::table* rl = root["rl"].as_table()) {
      section(*rl, "rl", c, [](auto& m, auto&& f) { rl_fields(m, f); }, {"ppo", "es", "reward"});
      if (const toml::node* n = rl->get("ppo"))
        section(table_of(*n, "rl.ppo"), "rl.ppo", c.ppo, [](auto& m, auto&& f) { ppo_fields(m, f); });
      if (const toml::node* n = rl->get("es"))
        section(table_of(*n, "rl.es"), "rl.es", c.es, [](auto& m, auto&& f) { es_fields(m, f); });
      if (const toml::node* n = rl->get("reward")) {
        const toml::array* arr = n->as_array();
        if (arr == nullptr) fail(*n, "rl.reward: expected an array of tables ([[rl.reward]])");
        for (size_t i = 0; i < arr->size(); ++i) {
          const std::string name = "rl.reward[" + std::to_string(i) + "]";
          RewardSpec spec;
          section(table_of(*arr->get(i), name), name, spec,
                  [](auto& m, auto&& f) { reward_fields(m, f); }, {}, "rl.reward");
          c.rewards.push_back(spec);
        }
      }
    }
    if (const toml::table* t = root["task"].as_table())
      section(*t, "task", c.task, [](auto& m, auto&& f) { task_fields(m, f); });
    return c;
  }

 private:
  [[noreturn]] void fail(const toml::node& node, const std::string& message) const {
    fail(node.source(), message);
  }
  [[noreturn]] void fail(const toml::source_region& where_written, const std::string& message) const {
    const auto& b = where_written.begin;
    std::string where = source_;
    if (b.line > 0) where += ":" + std::to_string(b.line) + ":" + std::to_string(b.column);
    throw Error(where + ": " + message);
  }

  const toml::table& table_of(const toml::node& node, const std::string& name) const {
    if (!node.is_table()) fail(node, name + ": expected a table, got " + toml_type_name(node));
    return *node.as_table();
  }

  template <class S, class Visit>
  void section(const toml::table& table, const std::string& name, S& out, Visit visit,
               const std::vector<std::string>& subtables = {}, std::string schema = "") const {
    if (schema.empty()) schema = name;
    const std::vector<std::string> keys = key_names(schema);
    for (const auto& [k, node] : table) {
      const std::string key(k.str());
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
      if (std::find(subtables.begin(), subtables.end(), key) != subtables.end()) continue;
      std::vector<std::string> candidates = keys;
      candidates.insert(candidates.end(), subtables.begin(), subtables.end());
      (void)node;
      fail(k.source(), "unknown key '" + name + "." + key + "'" + suggestion(key, candidates));
    }
    visit(out, [&](const char* key, auto& field) {
      if (const toml::node* node = table.get(key)) value(*node, name + "." + key, field);
    });
  }

  template <class T>
  void value(const toml::node& node, const std::string& path, T& out) const {
    auto wrong = [&](const char* want) {
      fail(node, path + ": expected " + std::string(want) + ", got " + toml_type_name(node));
    };
    if constexpr (std::is_same_v<T, bool>) {
      if (!node.is_boolean()) wrong("a boolean (true or false)");
      out = node.as_boolean()->get();
    } else if constexpr (std::is_same_v<T, int64_t>) {
      if (!node.is_integer()) wrong("an integer");
      out = node.as_integer()->get();
    } else if constexpr (std::is_same_v<T, uint64_t>) {
      if (!node.is_integer() || node.as_integer()->get() < 0) wrong("a non-negative integer");
      out = static_cast<uint64_t>(node.as_integer()->get());
    } else if constexpr (std::is_same_v<T, double>) {
      if (node.is_floating_point())
        out = node.as_floating_point()->get();
      else if (node.is_integer())
        out = static_cast<double>(node.as_integer()->get());
      else
        wrong("a number");
    } else {
      if (!node.is_string()) wrong("a string");
      out = node.as_string()->get();
    }
  }

  std::string source_;
};

// "rl.ppo.gamma=0.99" -> root[rl][ppo][gamma] = 0.99; a bare word is taken as a string.
void apply_override(toml::table& root, const std::string& text, const std::string& source) {
  const std::string where = source + ": --set " + text;
  const size_t eq = text.find('=');
  SF_CHECK(eq != std::string::npos) << where << ": expected section.key=value (e.g. rl.lr=1e-5)";
  const std::string path = text.substr(0, eq), raw = text.substr(eq + 1);
  std::vector<std::string> parts;
  for (size_t at = 0;;) {
    const size_t dot = path.find('.', at);
    parts.push_back(path.substr(at, dot == std::string::npos ? std::string::npos : dot - at));
    if (dot == std::string::npos) break;
    at = dot + 1;
  }
  SF_CHECK(parts.size() >= 2) << where << ": '" << path << "' names no key (expected section.key)";
  std::string table = parts[0];
  for (size_t i = 1; i + 1 < parts.size(); ++i) table += "." + parts[i];
  const std::vector<std::string> keys = key_names(table);
  SF_CHECK(!keys.empty() && table != "rl.reward")
      << where << ": no table [" << table << "] takes overrides (tables: rl, rl.ppo, rl.es, task)";
  SF_CHECK(std::find(keys.begin(), keys.end(), parts.back()) != keys.end())
      << where << ": unknown key '" << path << "'" << suggestion(parts.back(), keys);
  toml::table* t = &root;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    toml::node* n = t->get(parts[i]);
    if (n == nullptr) n = &t->insert_or_assign(parts[i], toml::table{}).first->second;
    SF_CHECK(n->is_table()) << where << ": " << parts[i] << " is not a table";
    t = n->as_table();
  }
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + raw + "\n", std::string_view("--set"));
  } catch (const toml::parse_error&) {
    parsed = toml::table{{"v", raw}};
  }
  t->insert_or_assign(parts.back(), *parsed.get("v"));
}

template <class S, class Visit>
void write_table(std::ostringstream& os, const std::string& header, const S& s, Visit visit) {
  os << "\n" << header << "\n";
  visit(s, [&](const char* key, const auto& v) { os << key << " = " << format_value(v) << "\n"; });
}

void check(bool ok, const std::string& key, const std::string& value, const std::string& rule) {
  if (!ok) throw Error(key + " = " + value + ": " + rule);
}

}  // namespace

RlConfig parse_rl_config(const std::string& toml_text, const std::string& source,
                         const std::vector<std::string>& overrides) {
  toml::table root;
  try {
    root = toml::parse(std::string_view(toml_text), std::string_view(source));
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw Error(source + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) + ": " +
                std::string(e.description()));
  }
  for (const std::string& o : overrides) apply_override(root, o, source);
  RlConfig c = Reader(source).read(root);
  if (c.rewards.empty()) c.rewards = default_reward_specs();
  try {
    validate(c);
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  }
  return c;
}

RlConfig load_rl_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream f(path);
  SF_CHECK(f.good()) << "cannot read the RL config '" << path << "'";
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_rl_config(ss.str(), path, overrides);
}

void validate(const RlConfig& c) {
  auto num = [](double v) { return format_double(v); };
  auto in = [&](const char* key, int64_t v, int64_t lo, int64_t hi) {
    check(v >= lo && v <= hi, key, std::to_string(v),
          "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  };
  auto inr = [&](const char* key, double v, double lo, double hi, bool open_lo = false) {
    check(std::isfinite(v) && (open_lo ? v > lo : v >= lo) && v <= hi, key, num(v),
          std::string("must be in ") + (open_lo ? "(" : "[") + num(lo) + ", " + num(hi) + "]");
  };
  check(c.algo == "grpo" || c.algo == "ppo" || c.algo == "es", "rl.algo", quote(c.algo),
        "must be \"grpo\", \"ppo\" or \"es\"");
  in("rl.steps", c.steps, 1, 1 << 24);
  in("rl.prompts_per_step", c.prompts_per_step, 1, 1 << 16);
  in("rl.group_size", c.group_size, c.algo == "grpo" ? 2 : 1, 1024);
  in("rl.max_tokens", c.max_tokens, 1, 1 << 16);
  inr("rl.temperature", c.temperature, 0.0, 100.0, true);
  inr("rl.top_p", c.top_p, 0.0, 1.0, true);
  in("rl.top_k", c.top_k, 0, 1 << 30);
  inr("rl.lr", c.lr, 0.0, 1.0, true);
  inr("rl.min_lr", c.min_lr, 0.0, c.lr);
  in("rl.warmup_steps", c.warmup_steps, 0, 1 << 24);
  inr("rl.weight_decay", c.weight_decay, 0.0, 1.0);
  inr("rl.beta1", c.beta1, 0.0, 0.999999);
  inr("rl.beta2", c.beta2, 0.0, 0.999999);
  inr("rl.clip_grad_norm", c.clip_grad_norm, 0.0, 1e9);
  in("rl.epochs", c.epochs, 1, 64);
  in("rl.minibatches", c.minibatches, 1, c.prompts_per_step * c.group_size);
  inr("rl.clip_eps", c.clip_eps, 0.0, 1.0, true);
  check(c.clip_eps_high < 0 || c.clip_eps_high >= c.clip_eps, "rl.clip_eps_high",
        num(c.clip_eps_high), "must be < 0 (same as rl.clip_eps) or >= rl.clip_eps");
  inr("rl.kl_coef", c.kl_coef, 0.0, 100.0);
  check(c.loss_mean == "token" || c.loss_mean == "sequence", "rl.loss_mean", quote(c.loss_mean),
        "must be \"token\" or \"sequence\"");
  inr("rl.adv_eps", c.adv_eps, 0.0, 1.0, true);
  in("rl.eval_every", c.eval_every, 0, 1 << 24);
  in("rl.eval_problems", c.eval_problems, 1, 1 << 20);
  in("rl.checkpoint_every", c.checkpoint_every, 0, 1 << 24);
  in("rl.keep_checkpoints", c.keep_checkpoints, 1, 1000);
  in("rl.log_every", c.log_every, 1, 1 << 24);
  check(!c.out_dir.empty(), "rl.out_dir", quote(c.out_dir), "must not be empty");
  inr("rl.ppo.gamma", c.ppo.gamma, 0.0, 1.0);
  inr("rl.ppo.lambda", c.ppo.lambda, 0.0, 1.0);
  inr("rl.ppo.vf_coef", c.ppo.vf_coef, 0.0, 100.0);
  inr("rl.ppo.value_clip", c.ppo.value_clip, -1.0, 100.0);
  inr("rl.ppo.clip_min", c.ppo.clip_min, 0.0, 1.0, true);
  inr("rl.ppo.clip_max", c.ppo.clip_max, c.ppo.clip_min, 1.0);
  if (c.algo == "ppo" && c.ppo.adaptive_clip)
    inr("rl.clip_eps", c.clip_eps, c.ppo.clip_min, c.ppo.clip_max);
  inr("rl.ppo.target_spread", c.ppo.target_spread, 0.0, 10.0, true);
  inr("rl.ppo.clip_rate", c.ppo.clip_rate, 1.0, 10.0, true);
  inr("rl.ppo.replay_fraction", c.ppo.replay_fraction, 0.0, 0.9);
  in("rl.ppo.replay_capacity", c.ppo.replay_capacity, 1, 1 << 24);
  in("rl.ppo.replay_max_age", c.ppo.replay_max_age, 1, 1 << 20);
  inr("rl.ppo.importance_clip", c.ppo.importance_clip, 0.0, 100.0, true);
  in("rl.es.population", c.es.population, 2, 4096);
  in("rl.es.elite", c.es.elite, 1, c.es.population - 1);
  inr("rl.es.sigma", c.es.sigma, 0.0, 10.0, true);
  inr("rl.es.mutation_rate", c.es.mutation_rate, 0.0, 1.0, true);
  inr("rl.es.crossover_rate", c.es.crossover_rate, 0.0, 1.0);
  in("rl.es.problems", c.es.problems, 1, 1 << 20);
  rl::validate(c.task);
  RewardMix check_rewards(c.rewards);  // its constructor names rl.reward[i].<key>
}

std::string rl_config_to_toml(const RlConfig& c) {
  std::ostringstream os;
  os << "# seekforge RL run configuration (every key, defaults included)\n";
  write_table(os, "[rl]", c, [](auto& m, auto&& f) { rl_fields(m, f); });
  write_table(os, "[rl.ppo]", c.ppo, [](auto& m, auto&& f) { ppo_fields(m, f); });
  write_table(os, "[rl.es]", c.es, [](auto& m, auto&& f) { es_fields(m, f); });
  for (const RewardSpec& r : c.rewards)
    write_table(os, "[[rl.reward]]", r, [](auto& m, auto&& f) { reward_fields(m, f); });
  write_table(os, "[task]", c.task, [](auto& m, auto&& f) { task_fields(m, f); });
  return os.str();
}

}  // namespace seekforge::rl
