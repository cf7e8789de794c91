// Pre-tokenisation with PCRE2: see pretokenize.h.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "data/pretokenize.h"

#include <pcre2.h>

#include <array>
#include <cstdint>

#include "core/error.h"

namespace seekforge::data {
namespace {

// The patterns as the gpt-tokenizer and tiktoken encodings define them. cl100k spells the
// contractions with explicit case classes: a caseless group under UCP would also match the
// long s and the Kelvin sign, which the encodings do not.
constexpr const char* kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr const char* kCl100k =
    R"('(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s+$|\s*[\r\n]|\s+(?!\S)|\s)";
constexpr const char* kO200k =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?:'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE]))?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?:'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE]))?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

constexpr std::array<std::pair<const char*, const char*>, 3> kNamed = {
    {{"gpt2", kGpt2}, {"cl100k", kCl100k}, {"o200k", kO200k}}};

// Per-thread PCRE2 state. Match data with one pair is enough: only the whole match is used.
struct ThreadState {
  pcre2_match_data* md = nullptr;
  pcre2_match_context* mc = nullptr;
  pcre2_jit_stack* stack = nullptr;
  ThreadState() {
    md = pcre2_match_data_create(1, nullptr);
    mc = pcre2_match_context_create(nullptr);
    // Long runs of one class (whitespace, digits in gpt2) backtrack deeply under lookahead.
    stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
    if (stack != nullptr) pcre2_jit_stack_assign(mc, nullptr, stack);
  }
  ~ThreadState() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(mc);
    pcre2_match_data_free(md);
  }
  ThreadState(const ThreadState&) = delete;
  ThreadState& operator=(const ThreadState&) = delete;
};

ThreadState& thread_state() {
  thread_local ThreadState s;
  return s;
}

// Length of the UTF-8 character starting at s[0] (the caller knows the text is valid).
size_t char_len(unsigned char c) {
  if (c < 0x80) return 1;
  if (c < 0xE0) return 2;
  if (c < 0xF0) return 3;
  return 4;
}

bool is_ascii_graphic(char c) { return c > 0x20 && c < 0x7F; }
bool is_ascii_letter(char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

}  // namespace

struct Pretokenizer::Code {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Code() { pcre2_code_free(code); }
};

std::string named_pattern_regex(std::string_view name) {
  for (const auto& [n, r] : kNamed)
    if (name == n) return r;
  return "";
}

std::string pattern_name_of(std::string_view regex) {
  for (const auto& [n, r] : kNamed)
    if (regex == r) return n;
  return "";
}

std::string pattern_names() {
  std::string s;
  for (const auto& [n, r] : kNamed) s += (s.empty() ? "" : ", ") + std::string(n);
  return s;
}

Pretokenizer Pretokenizer::named(const std::string& name) {
  const std::string regex = named_pattern_regex(name);
  SF_CHECK(!regex.empty()) << "unknown pre-tokenisation pattern '" << name
                           << "' (known: " << pattern_names() << ")";
  return Pretokenizer(name, regex);
}

Pretokenizer Pretokenizer::from_regex(const std::string& regex) {
  return Pretokenizer(pattern_name_of(regex), regex);
}

Pretokenizer::Pretokenizer(std::string name, std::string regex)
    : name_(std::move(name)), regex_(std::move(regex)) {
  auto code = std::make_shared<Code>();
  int err = 0;
  PCRE2_SIZE offset = 0;
  // DOLLAR_ENDONLY: `$` means the end of the text, as in JavaScript and Rust, not also "before a
  // final newline".
  code->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(regex_.data()), regex_.size(),
                             PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &err, &offset, nullptr);
  if (code->code == nullptr) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    SF_FAIL() << "invalid pre-tokenisation regex '" << regex_
              << "': " << reinterpret_cast<char*>(msg) << " at offset " << offset;
  }
  code->jit = pcre2_jit_compile(code->code, PCRE2_JIT_COMPLETE) == 0;
  code_ = std::move(code);
}

std::vector<size_t> chunk_starts(std::string_view text, size_t chunk_bytes) {
  std::vector<size_t> starts{0};
  size_t target = chunk_bytes;
  while (target < text.size()) {
    size_t p = std::string_view::npos;
    for (size_t i = text.find('\n', target); i != std::string_view::npos;
         i = text.find('\n', i + 1)) {
      if (i >= 1 && i + 1 < text.size() && is_ascii_graphic(text[i - 1]) &&
          is_ascii_letter(text[i + 1])) {
        p = i + 1;
        break;
      }
    }
    if (p == std::string_view::npos) break;
    starts.push_back(p);
    target = p + chunk_bytes;
  }
  return starts;
}

size_t valid_utf8_prefix(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // Eight ASCII bytes at a time: the common case.
    while (i + 8 <= n) {
      uint64_t w;
      __builtin_memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    auto cont = [&](size_t k) { return i + k < n && (p[i + k] & 0xC0) == 0x80; };
    if (c >= 0xC2 && c <= 0xDF) {
      if (!cont(1)) return i;
      i += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      if (!cont(1) || !cont(2)) return i;
      const unsigned char c1 = p[i + 1];
      if (c == 0xE0 && c1 < 0xA0) return i;   // overlong
      if (c == 0xED && c1 >= 0xA0) return i;  // surrogate
      i += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      if (!cont(1) || !cont(2) || !cont(3)) return i;
      const unsigned char c1 = p[i + 1];
      if (c == 0xF0 && c1 < 0x90) return i;   // overlong
      if (c == 0xF4 && c1 >= 0x90) return i;  // above U+10FFFF
      i += 4;
    } else {
      return i;
    }
  }
  return n;
}

void Pretokenizer::split(std::string_view text, std::vector<std::string_view>& out) const {
  ThreadState& ts = thread_state();
  const Code& c = *code_;
  size_t run_start = 0;
  while (run_start < text.size()) {
    const std::string_view rest = text.substr(run_start);
    const size_t valid = valid_utf8_prefix(rest);
    // The regex sees one valid run at a time; it never reads past the run's end.
    const std::string_view run = rest.substr(0, valid);
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(run.data());
    size_t pos = 0;     // end of the last piece emitted
    size_t search = 0;  // where the next match attempt starts
    while (search < run.size()) {
      const int rc = c.jit ? pcre2_jit_match(c.code, subject, run.size(), search, 0, ts.md, ts.mc)
                           : pcre2_match(c.code, subject, run.size(), search, PCRE2_NO_UTF_CHECK,
                                         ts.md, ts.mc);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) {
        // A resource limit on a pathological run: give up on the regex for one character, so
        // that splitting still never fails.
        const size_t step = char_len(static_cast<unsigned char>(run[search]));
        if (search > pos) out.push_back(run.substr(pos, search - pos));
        out.push_back(run.substr(search, step));
        search += step;
        pos = search;
        continue;
      }
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(ts.md);
      const size_t ms = ov[0], me = ov[1];
      if (me == ms) {
        // An empty match cannot make a piece; step over one character (it joins the gap).
        search = ms + char_len(static_cast<unsigned char>(run[ms]));
        continue;
      }
      if (ms > pos) out.push_back(run.substr(pos, ms - pos));  // text the regex skipped
      out.push_back(run.substr(ms, me - ms));
      pos = search = me;
    }
    if (pos < run.size()) out.push_back(run.substr(pos));
    run_start += valid;
    if (run_start < text.size()) {
      out.push_back(text.substr(run_start, 1));  // an invalid byte is a piece of its own
      ++run_start;
    }
  }
}

}  // namespace seekforge::data
