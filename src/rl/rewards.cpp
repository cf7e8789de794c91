// Rule-based rewards: see rewards.h; the formulas are in docs/rl_tasks.md.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "rl/rewards.h"

#include <pcre2.h>
#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include "core/error.h"

namespace seekforge::rl {
namespace {

constexpr std::array<const char*, 8> kKinds = {"accuracy", "format",     "length", "language",
                                               "fluency",  "efficiency", "regex",  "numeric"};
constexpr std::string_view kEos = "<|eos|>";
constexpr std::array<std::string_view, 4> kTags = {"<think>", "</think>", "<answer>", "</answer>"};
// Backtracking budget of one regex match: a pathological pattern scores 0 instead of hanging.
constexpr uint32_t kRegexMatchLimit = 1000000;
constexpr uint32_t kRegexDepthLimit = 10000;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool all_space(std::string_view s) { return std::all_of(s.begin(), s.end(), is_space); }

int64_t count_of(std::string_view text, std::string_view what) {
  int64_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// ---- scripts ----

enum Script { kLatin = 0, kCjk = 1, kOther = 2, kNeutral = 3 };

bool in(char32_t c, char32_t lo, char32_t hi) { return c >= lo && c <= hi; }

Script script_of(char32_t c) {
  if (c < 0x80) return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ? kLatin : kNeutral;
  if ((in(c, 0xC0, 0x24F) && c != 0xD7 && c != 0xF7) || in(c, 0x1E00, 0x1EFF) ||
      in(c, 0x2C60, 0x2C7F) || in(c, 0xA720, 0xA7FF) || in(c, 0xFF21, 0xFF3A) ||
      in(c, 0xFF41, 0xFF5A))
    return kLatin;
  // Han (unified, extensions, compatibility, radicals), kana, bopomofo and hangul.
  if (in(c, 0x1100, 0x11FF) || in(c, 0x2E80, 0x2FDF) || in(c, 0x3040, 0x318F) ||
      in(c, 0x31F0, 0x31FF) || in(c, 0x3400, 0x4DBF) || in(c, 0x4E00, 0x9FFF) ||
      in(c, 0xA960, 0xA97F) || in(c, 0xAC00, 0xD7FF) || in(c, 0xF900, 0xFAFF) ||
      in(c, 0xFF66, 0xFFDC) || in(c, 0x20000, 0x3134F))
    return kCjk;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      return kOther;  // letters of other scripts (Cyrillic, Greek, Arabic...)
    default:
      return kNeutral;
  }
}

// Script-bearing characters of `text` by script. Bytes that are not valid UTF-8 are neutral.
std::array<int64_t, 3> script_counts(std::string_view text) {
  std::array<int64_t, 3> n{};
  size_t i = 0;
  while (i < text.size()) {
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t len =
        utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + i),
                         static_cast<utf8proc_ssize_t>(text.size() - i), &cp);
    if (len <= 0) {
      ++i;
      continue;
    }
    i += static_cast<size_t>(len);
    const Script s = script_of(static_cast<char32_t>(cp));
    if (s != kNeutral) ++n[s];
  }
  return n;
}

int dominant(const std::array<int64_t, 3>& n) {
  return static_cast<int>(std::max_element(n.begin(), n.end()) - n.begin());  // ties: first
}

// The response up to its first <|eos|>, without the four tags: for a well-formed response the
// think and answer text.
std::string untagged(std::string_view response) {
  std::string s(response.substr(0, response.find(kEos)));
  for (std::string_view tag : kTags)
    for (size_t at = s.find(tag); at != std::string::npos; at = s.find(tag, at))
      s.erase(at, tag.size());
  return s;
}

// ---- numbers ----

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }

// The end of the longest number [+-]?(d+(.d*)?|.d+)([eE][+-]?d+)? starting at `i`, or npos.
size_t match_number(std::string_view s, size_t i) {
  size_t p = i;
  if (p < s.size() && (s[p] == '+' || s[p] == '-')) ++p;
  const size_t int_begin = p;
  while (p < s.size() && is_digit(s[p])) ++p;
  bool digits = p > int_begin;
  if (p < s.size() && s[p] == '.') {
    size_t q = p + 1;
    while (q < s.size() && is_digit(s[q])) ++q;
    if (q > p + 1 || digits) {
      digits = digits || q > p + 1;
      p = q;
    }
  }
  if (!digits) return std::string_view::npos;
  if (p < s.size() && (s[p] == 'e' || s[p] == 'E')) {
    size_t q = p + 1;
    if (q < s.size() && (s[q] == '+' || s[q] == '-')) ++q;
    const size_t exp_begin = q;
    while (q < s.size() && is_digit(s[q])) ++q;
    if (q > exp_begin) p = q;
  }
  return p;
}

bool to_double(std::string_view s, double* value) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  double v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(v)) return false;
  *value = negative ? -v : v;
  return true;
}

std::string kind_list() {
  std::string s;
  for (const char* k : kKinds) s += (s.empty() ? "" : ", ") + std::string(k);
  return s;
}

}  // namespace

ParsedResponse parse_response(std::string_view text) {
  text = text.substr(0, text.find(kEos));
  ParsedResponse r;
  for (size_t pos = 0;;) {
    const size_t open = text.find("<answer>", pos);
    if (open == std::string_view::npos) break;
    const size_t close = text.find("</answer>", open + 8);
    if (close == std::string_view::npos) break;
    if (++r.answer_count == 1) r.answer = std::string(text.substr(open + 8, close - open - 8));
    pos = close + 9;
  }
  if (r.answer_count != 1) r.answer.clear();
  const size_t think_open = text.find("<think>"), think_close = text.find("</think>");
  const bool one_think =
      count_of(text, "<think>") == 1 && count_of(text, "</think>") == 1 && think_open < think_close;
  if (one_think) r.think = std::string(text.substr(think_open + 7, think_close - think_open - 7));
  if (one_think && think_open == 0 && count_of(text, "<answer>") == 1 &&
      count_of(text, "</answer>") == 1 && r.answer_count == 1) {
    const size_t answer_open = text.find("<answer>"), answer_close = text.find("</answer>");
    r.well_formed = answer_open > think_close &&
                    all_space(text.substr(think_close + 8, answer_open - think_close - 8)) &&
                    all_space(text.substr(answer_close + 9));
  }
  return r;
}

std::string reward_kinds() { return kind_list(); }

double length_score(int64_t response_tokens, int64_t max_tokens, int64_t target_tokens) {
  const int64_t allowed = target_tokens > 0 ? target_tokens : max_tokens / 2;
  if (response_tokens <= allowed) return 0.0;
  if (max_tokens <= allowed) return -1.0;
  return -std::min(1.0, double(response_tokens - allowed) / double(max_tokens - allowed));
}

double language_score(std::string_view prompt, std::string_view text, std::string_view script) {
  const std::array<int64_t, 3> n = script_counts(text);
  const int64_t total = n[0] + n[1] + n[2];
  if (total == 0) return 1.0;
  int target = kLatin;
  if (script == "cjk") {
    target = kCjk;
  } else if (script == "auto") {
    const std::array<int64_t, 3> p = script_counts(prompt);
    target = (p[0] + p[1] + p[2] > 0) ? dominant(p) : dominant(n);
  }
  return double(n[static_cast<size_t>(target)]) / double(total);
}

double fluency_score(double mean_nll) {
  if (std::isnan(mean_nll)) return 0.0;
  return std::exp(-std::max(0.0, mean_nll));
}

bool parse_number(std::string_view text, bool last_in_text, double* value) {
  if (!last_in_text) {
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    if (text.empty() || match_number(text, 0) != text.size()) return false;
    return to_double(text, value);
  }
  bool found = false;
  for (size_t i = 0; i < text.size();) {
    // A sign belongs to the number only where it cannot be a binary minus ("3-5" is 3 and 5).
    const bool sign_ok = i == 0 || !(is_alnum(text[i - 1]) || text[i - 1] == '.');
    const bool starts =
        is_digit(text[i]) || text[i] == '.' || (sign_ok && (text[i] == '+' || text[i] == '-'));
    const size_t end = starts ? match_number(text, i) : std::string_view::npos;
    if (end == std::string_view::npos) {
      ++i;
      continue;
    }
    double v = 0;
    if (to_double(text.substr(i, end - i), &v)) {
      *value = v;
      found = true;
    }
    i = end;
  }
  return found;
}

struct RewardMix::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

RewardMix::RewardMix(std::vector<RewardSpec> specs) : specs_(std::move(specs)) {
  SF_CHECK(!specs_.empty()) << "rl.reward: no reward terms (give at least one [[rl.reward]])";
  for (size_t i = 0; i < specs_.size(); ++i) {
    const RewardSpec& s = specs_[i];
    const std::string key = "rl.reward[" + std::to_string(i) + "].";
    SF_CHECK(std::find(kKinds.begin(), kKinds.end(), s.kind) != kKinds.end())
        << key << "kind = '" << s.kind << "': unknown kind (known: " << kind_list() << ")";
    SF_CHECK(std::isfinite(s.weight)) << key << "weight = " << s.weight << ": must be finite";
    SF_CHECK(s.target == "answer" || s.target == "response")
        << key << "target = '" << s.target << "': must be \"answer\" or \"response\"";
    SF_CHECK(std::isfinite(s.tolerance) && s.tolerance >= 0.0)
        << key << "tolerance = " << s.tolerance << ": must be a finite number >= 0";
    SF_CHECK(s.target_tokens >= 0)
        << key << "target_tokens = " << s.target_tokens << ": must be >= 0 (0: max_tokens/2)";
    SF_CHECK(s.script == "auto" || s.script == "latin" || s.script == "cjk")
        << key << "script = '" << s.script << "': must be \"auto\", \"latin\" or \"cjk\"";
    std::shared_ptr<Compiled> compiled;
    if (s.kind == "regex") {
      SF_CHECK(!s.pattern.empty()) << key << "pattern is empty: a regex term needs a pattern";
      compiled = std::make_shared<Compiled>();
      int err = 0;
      PCRE2_SIZE offset = 0;
      compiled->code =
          pcre2_compile(reinterpret_cast<PCRE2_SPTR>(s.pattern.data()), s.pattern.size(),
                        PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err, &offset, nullptr);
      if (compiled->code == nullptr) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        SF_FAIL() << key << "pattern = '" << s.pattern
                  << "': invalid regex: " << reinterpret_cast<char*>(msg) << " at offset "
                  << offset;
      }
    }
    compiled_.push_back(std::move(compiled));
  }
}

std::vector<std::string> RewardMix::names() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < specs_.size(); ++i) {
    const std::string& kind = specs_[i].kind;
    int64_t before = 0, total = 0;
    for (size_t j = 0; j < specs_.size(); ++j) {
      if (specs_[j].kind != kind) continue;
      ++total;
      if (j < i) ++before;
    }
    const bool numbered = kind == "regex" || kind == "numeric" || total > 1;
    out.push_back(numbered ? kind + "_" + std::to_string(before) : kind);
  }
  return out;
}

double RewardMix::score(const RewardContext& ctx, std::vector<double>* parts) const {
  SF_CHECK(ctx.max_tokens >= 1) << "reward: max_tokens = " << ctx.max_tokens << " must be >= 1";
  const ParsedResponse parsed = parse_response(ctx.response);
  // Accuracy is computed once: efficiency depends on it too.
  int correct = -1;  // -1: not computed yet
  auto is_correct = [&](size_t i) {
    if (correct < 0) {
      SF_CHECK(ctx.problem != nullptr && ctx.task != nullptr)
          << "rl.reward[" << i << "] (" << specs_[i].kind
          << ") needs the problem and the task in the reward context";
      correct = parsed.answer_count == 1 && ctx.task->is_correct(*ctx.problem, parsed.answer);
    }
    return correct == 1;
  };
  if (parts != nullptr) parts->clear();
  double total = 0.0;
  for (size_t i = 0; i < specs_.size(); ++i) {
    const RewardSpec& s = specs_[i];
    double v = 0.0;
    if (s.kind == "accuracy") {
      v = is_correct(i) ? 1.0 : 0.0;
    } else if (s.kind == "format") {
      v = parsed.well_formed ? 1.0 : 0.0;
    } else if (s.kind == "length") {
      v = length_score(ctx.response_tokens, ctx.max_tokens, s.target_tokens);
    } else if (s.kind == "language") {
      v = language_score(ctx.prompt, untagged(ctx.response), s.script);
    } else if (s.kind == "fluency") {
      v = fluency_score(ctx.mean_nll);
    } else if (s.kind == "efficiency") {
      v = is_correct(i)
              ? std::clamp(1.0 - double(ctx.response_tokens) / double(ctx.max_tokens), 0.0, 1.0)
              : 0.0;
    } else if (s.kind == "regex" && s.target == "answer" && parsed.answer_count != 1) {
      v = 0.0;  // no single answer to match: even a pattern that matches "" scores 0
    } else if (s.kind == "regex") {
      const std::string_view subject = s.target == "answer"
                                           ? std::string_view(parsed.answer)
                                           : ctx.response.substr(0, ctx.response.find(kEos));
      pcre2_match_data* md = pcre2_match_data_create_from_pattern(compiled_[i]->code, nullptr);
      pcre2_match_context* mc = pcre2_match_context_create(nullptr);
      SF_CHECK(md != nullptr && mc != nullptr) << "reward: out of memory for a regex match";
      pcre2_set_match_limit(mc, kRegexMatchLimit);
      pcre2_set_depth_limit(mc, kRegexDepthLimit);
      const int rc = pcre2_match(compiled_[i]->code, reinterpret_cast<PCRE2_SPTR>(subject.data()),
                                 subject.size(), 0, 0, md, mc);
      pcre2_match_context_free(mc);
      pcre2_match_data_free(md);
      v = rc >= 0 ? 1.0 : 0.0;  // no match, or a limit hit: 0
    } else {
      // numeric
      SF_CHECK(ctx.problem != nullptr)
          << "rl.reward[" << i << "] (numeric) needs the problem in the reward context";
      double x = 0.0;
      const bool parsed_number =
          s.target == "answer"
              ? parse_number(parsed.answer, false, &x)
              : parse_number(ctx.response.substr(0, ctx.response.find(kEos)), true, &x);
      v = parsed_number && std::fabs(x - double(ctx.problem->target)) <= s.tolerance ? 1.0 : 0.0;
    }
    if (parts != nullptr) parts->push_back(v);
    total += s.weight * v;
  }
  return total;
}

std::vector<RewardSpec> default_reward_specs() {
  RewardSpec accuracy;
  accuracy.kind = "accuracy";
  accuracy.weight = 1.0;
  RewardSpec format;
  format.kind = "format";
  format.weight = 0.1;
  return {accuracy, format};
}

}  // namespace seekforge::rl
