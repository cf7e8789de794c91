// Verifiable tasks: see tasks.h; the formats are in docs/rl_tasks.md.
#include "rl/tasks.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <initializer_list>
#include <optional>
#include <unordered_set>

#include "core/error.h"
#include "core/rng.h"
#include "data/text_hash.h"

namespace seekforge::rl {
namespace {

// Keeps the task generators' Philox inputs apart from the engine's fill helpers (counter_hi = 0)
// and the sampler's stream.
constexpr uint64_t kTaskStream = 0x5441534b53000000ull;
// Salt of the split hash: changing it reshuffles every train/test assignment, so it never changes.
constexpr uint64_t kSplitSalt = 0x53504c4954763100ull;
// Countdown never forms products above this, so targets stay small enough for a small model.
constexpr int64_t kCountdownMaxProduct = 10000;
// Consecutive draws without a new problem after which test_set() takes the space as exhausted.
constexpr int64_t kTestSetStall = 20000;
// Arithmetic operand spaces up to this many pairs are enumerated to complete a test set.
constexpr int64_t kEnumerableCap = int64_t{1} << 22;

constexpr std::array<const char*, 5> kTaskNames = {"addition", "subtraction", "multiplication",
                                                   "arithmetic", "countdown"};

enum class Op { add, sub, mul };

// The random words of one candidate: Philox(counter_lo = index, counter_hi = kTaskStream ^
// (draw << 16 | block), key = seed). A block is 4 words; a candidate uses a few dozen at most.
class Draws {
 public:
  Draws(uint64_t seed, uint64_t index, uint64_t draw) : seed_(seed), index_(index), draw_(draw) {}
  uint64_t next64() {
    if (used_ + 2 > 4) {
      words_ = philox4x32(index_, kTaskStream ^ ((draw_ << 16) | block_++), seed_);
      used_ = 0;
    }
    const uint64_t v = (uint64_t{words_[used_]} << 32) | words_[used_ + 1];
    used_ += 2;
    return v;
  }
  // Uniform in [lo, hi] (multiply-shift: the bias is below (hi - lo) / 2^64).
  int64_t uniform(int64_t lo, int64_t hi) {
    const unsigned __int128 span = static_cast<unsigned __int128>(hi - lo) + 1;
    return lo + static_cast<int64_t>((span * next64()) >> 64);
  }

 private:
  uint64_t seed_, index_, draw_;
  uint64_t block_ = 0;
  std::array<uint32_t, 4> words_{};
  int used_ = 4;
};

int64_t pow10(int64_t d) {
  int64_t p = 1;
  for (int64_t i = 0; i < d; ++i) p *= 10;
  return p;
}
int64_t lowest_with_digits(int64_t d) { return d == 1 ? 0 : pow10(d - 1); }

std::string digits_of(int64_t v) { return std::to_string(v); }

// Digit i (from the least significant) of v >= 0, 0 past its length.
int64_t digit(int64_t v, size_t i) {
  for (size_t k = 0; k < i; ++k) v /= 10;
  return v % 10;
}

// Appends the step "t0<op>t1<op>...=result", a space apart from the step before. (Built by
// appends: GCC 12 reports a false -Wrestrict on chains of std::string operator+.)
void add_step(std::string* s, std::initializer_list<int64_t> terms, char op, int64_t result) {
  if (!s->empty()) s->push_back(' ');
  bool first = true;
  for (int64_t t : terms) {
    if (!first) s->push_back(op);
    s->append(std::to_string(t));
    first = false;
  }
  s->push_back('=');
  s->append(std::to_string(result));
}

// Column addition from the least significant digit: "7+8+0=15 4+3+1=8" for 47+38. Each step adds
// the two digits and the carry (the tens digit of the step before).
std::string addition_steps(int64_t a, int64_t b) {
  const size_t columns = std::max(digits_of(a).size(), digits_of(b).size());
  std::string s;
  int64_t carry = 0;
  for (size_t i = 0; i < columns; ++i) {
    const int64_t x = digit(a, i), y = digit(b, i), sum = x + y + carry;
    add_step(&s, {x, y, carry}, '+', sum);
    carry = sum / 10;
  }
  return s;
}

// Column subtraction (a >= b) from the least significant digit with borrows: "12-8-0=4 4-3-1=0"
// for 42-38. A step that must borrow writes its top digit with the borrowed ten ("12"); the next
// step subtracts the borrow.
std::string subtraction_steps(int64_t a, int64_t b) {
  const size_t columns = digits_of(a).size();
  std::string s;
  int64_t borrow = 0;
  for (size_t i = 0; i < columns; ++i) {
    int64_t x = digit(a, i);
    const int64_t y = digit(b, i);
    const int64_t next_borrow = x - y - borrow < 0 ? 1 : 0;
    x += 10 * next_borrow;
    add_step(&s, {x, y, borrow}, '-', x - y - borrow);
    borrow = next_borrow;
  }
  return s;
}

// Partial products, one per non-zero digit of b, then their running sum:
// "47*8=376 47*30=1410 376+1410=1786" for 47*38.
std::string multiplication_steps(int64_t a, int64_t b) {
  std::vector<int64_t> partials;
  std::string s;
  const std::string bd = digits_of(b);
  for (size_t i = 0; i < bd.size(); ++i) {
    const int64_t d = digit(b, i);
    if (d == 0 && b != 0) continue;
    const int64_t factor = d * pow10(static_cast<int64_t>(i));
    partials.push_back(a * factor);
    add_step(&s, {a, factor}, '*', a * factor);
  }
  int64_t sum = partials.front();
  for (size_t i = 1; i < partials.size(); ++i) {
    add_step(&s, {sum, partials[i]}, '+', sum + partials[i]);
    sum += partials[i];
  }
  return s;
}

std::string response(const std::string& think, const std::string& answer) {
  return "<think>" + think + "</think><answer>" + answer + "</answer>";
}

// The problem a op b without its worked solution (candidates are tested for their split first).
Problem arithmetic_candidate(Op op, int64_t a, int64_t b) {
  Problem p;
  const char sign = op == Op::add ? '+' : op == Op::sub ? '-' : '*';
  p.prompt = std::to_string(a) + sign + std::to_string(b);
  p.numbers = {a, b};
  p.target = op == Op::add ? a + b : op == Op::sub ? a - b : a * b;
  p.answer = std::to_string(p.target);
  return p;
}

void add_arithmetic_solution(Problem* p) {
  const int64_t a = p->numbers[0], b = p->numbers[1];
  const char sign = p->prompt[digits_of(a).size()];
  const std::string steps = sign == '+'   ? addition_steps(a, b)
                            : sign == '-' ? subtraction_steps(a, b)
                                          : multiplication_steps(a, b);
  p->solution = response(steps, p->answer);
}

// ---- Countdown generation ----

struct Node {
  int64_t value = 0;
  std::string expr;
  int precedence = 3;  // 3: a number or parenthesised; 2: * /; 1: + -
};

std::string operand(const Node& n, int parent, bool right, char op) {
  const bool wrap =
      n.precedence < parent || (right && n.precedence == parent && (op == '-' || op == '/'));
  return wrap ? "(" + n.expr + ")" : n.expr;
}

// Draws the numbers, then combines two of the pool at a time with a random valid operation
// until one value is left: that value is the target, so a solution always exists. Values stay
// positive integers (subtraction larger minus smaller and never to zero, exact division only).
Problem countdown_candidate(const TaskConfig& c, Draws& d, bool with_solution) {
  std::vector<Node> pool(static_cast<size_t>(c.countdown_numbers));
  Problem p;
  for (Node& n : pool) {
    n.value = d.uniform(1, c.countdown_max);
    n.expr = std::to_string(n.value);
    p.numbers.push_back(n.value);
  }
  std::string steps;
  while (pool.size() > 1) {
    const int64_t k = static_cast<int64_t>(pool.size());
    const size_t i = static_cast<size_t>(d.uniform(0, k - 1));
    size_t j = static_cast<size_t>(d.uniform(0, k - 2));
    if (j >= i) ++j;
    const int64_t start = d.uniform(0, 3);
    Node a = pool[i], b = pool[j];
    if (a.value < b.value) std::swap(a, b);  // larger first: - and / need it, + and * do not care
    auto valid = [&](char o) {
      switch (o) {
        case '-':
          return a.value != b.value;
        case '*':
          return a.value * b.value <= kCountdownMaxProduct;
        case '/':
          return b.value > 1 && a.value % b.value == 0;
        default:
          return true;
      }
    };
    char op = '+';
    for (int64_t t = 0; t < 4; ++t) {
      const char candidate = "+-*/"[(start + t) % 4];
      if (valid(candidate)) {
        op = candidate;
        break;
      }
    }
    Node r;
    r.value = op == '+'   ? a.value + b.value
              : op == '-' ? a.value - b.value
              : op == '*' ? a.value * b.value
                          : a.value / b.value;
    r.precedence = (op == '+' || op == '-') ? 1 : 2;
    if (with_solution) {
      r.expr = operand(a, r.precedence, false, op) + op + operand(b, r.precedence, true, op);
      add_step(&steps, {a.value, b.value}, op, r.value);
    }
    pool[i] = std::move(r);
    pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(j));
  }
  std::sort(p.numbers.begin(), p.numbers.end());
  p.target = pool[0].value;
  for (int64_t v : p.numbers) p.prompt += std::to_string(v) + " ";
  p.prompt += "-> " + std::to_string(p.target);
  if (with_solution) {
    p.answer = pool[0].expr;
    p.solution = response(steps, p.answer);
  }
  return p;
}

// ---- Checking answers (never throws) ----

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ascii_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ascii_space(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<int64_t> parse_integer(std::string_view s) {
  s = trim(s);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  while (s.size() > 1 && s[0] == '0') s.remove_prefix(1);
  if (s.size() > 18) return std::nullopt;  // beyond every result a task can have
  int64_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return negative ? -v : v;
}

using i128 = __int128;

i128 gcd128(i128 a, i128 b) {
  if (a < 0) a = -a;
  while (b != 0) {
    const i128 t = a % b;
    a = b;
    b = t;
  }
  return a < 0 ? -a : a;
}

// An exact rational num/den, den > 0, in lowest terms.
struct Rational {
  i128 num = 0, den = 1;
};

std::optional<Rational> make_rational(i128 num, i128 den) {
  if (den == 0) return std::nullopt;
  if (den < 0) {
    if (__builtin_mul_overflow(num, -1, &num) || __builtin_mul_overflow(den, -1, &den))
      return std::nullopt;
  }
  const i128 g = gcd128(num, den);
  if (g > 1) {
    num /= g;
    den /= g;
  }
  return Rational{num, den};
}

std::optional<Rational> apply(char op, const Rational& x, const Rational& y) {
  i128 a = 0, b = 0, n = 0, d = 0;
  switch (op) {
    case '+':
    case '-':
      if (__builtin_mul_overflow(x.num, y.den, &a) || __builtin_mul_overflow(y.num, x.den, &b) ||
          __builtin_mul_overflow(x.den, y.den, &d))
        return std::nullopt;
      if (op == '+' ? __builtin_add_overflow(a, b, &n) : __builtin_sub_overflow(a, b, &n))
        return std::nullopt;
      return make_rational(n, d);
    case '*':
      if (__builtin_mul_overflow(x.num, y.num, &n) || __builtin_mul_overflow(x.den, y.den, &d))
        return std::nullopt;
      return make_rational(n, d);
    default:  // '/'
      if (y.num == 0) return std::nullopt;
      if (__builtin_mul_overflow(x.num, y.den, &n) || __builtin_mul_overflow(x.den, y.num, &d))
        return std::nullopt;
      return make_rational(n, d);
  }
}

// Recursive descent over  expr := term (('+'|'-') term)*,  term := factor (mulop factor)*,
// factor := number | '(' expr ')'. Every number must take one of the unused given numbers.
class CountdownParser {
 public:
  CountdownParser(std::string_view text, std::vector<int64_t> available)
      : s_(text), available_(std::move(available)) {}

  std::optional<Rational> parse() {
    auto v = expr();
    skip_space();
    if (!v || pos_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  static constexpr int kMaxDepth = 64;

  void skip_space() {
    while (pos_ < s_.size() && is_ascii_space(s_[pos_])) ++pos_;
  }
  bool starts_with(std::string_view t) const { return s_.substr(pos_).starts_with(t); }

  // The additive or multiplicative operator at pos_ (consumed), or 0.
  char take_operator(bool additive) {
    skip_space();
    if (pos_ >= s_.size()) return 0;
    const char c = s_[pos_];
    if (additive) {
      if (c == '+' || c == '-') {
        ++pos_;
        return c;
      }
      return 0;
    }
    if (c == '*' || c == 'x' || c == 'X') {
      ++pos_;
      return '*';
    }
    if (c == '/') {
      ++pos_;
      return '/';
    }
    if (starts_with("\xc3\x97")) {  // ×
      pos_ += 2;
      return '*';
    }
    if (starts_with("\xc3\xb7")) {  // ÷
      pos_ += 2;
      return '/';
    }
    return 0;
  }

  std::optional<Rational> expr() {
    auto v = term();
    while (v) {
      const char op = take_operator(true);
      if (op == 0) break;
      auto rhs = term();
      if (!rhs) return std::nullopt;
      v = apply(op, *v, *rhs);
    }
    return v;
  }

  std::optional<Rational> term() {
    auto v = factor();
    while (v) {
      const char op = take_operator(false);
      if (op == 0) break;
      auto rhs = factor();
      if (!rhs) return std::nullopt;
      v = apply(op, *v, *rhs);
    }
    return v;
  }

  std::optional<Rational> factor() {
    skip_space();
    if (pos_ >= s_.size()) return std::nullopt;
    if (s_[pos_] == '(') {
      if (++depth_ > kMaxDepth) return std::nullopt;
      ++pos_;
      auto v = expr();
      skip_space();
      if (!v || pos_ >= s_.size() || s_[pos_] != ')') return std::nullopt;
      ++pos_;
      --depth_;
      return v;
    }
    const size_t begin = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    const auto value = parse_integer(s_.substr(begin, pos_ - begin));
    if (!value) return std::nullopt;
    const auto it = std::find(available_.begin(), available_.end(), *value);
    if (it == available_.end()) return std::nullopt;  // not given, or already used
    available_.erase(it);
    return Rational{*value, 1};
  }

  std::string_view s_;
  std::vector<int64_t> available_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

std::string task_names() {
  std::string s;
  for (const char* n : kTaskNames) s += (s.empty() ? "" : ", ") + std::string(n);
  return s;
}

const char* split_name(TaskSplit split) { return split == TaskSplit::train ? "train" : "test"; }

void validate(const TaskConfig& c) {
  SF_CHECK(std::find(kTaskNames.begin(), kTaskNames.end(), c.name) != kTaskNames.end())
      << "task.name = '" << c.name << "': unknown task (known: " << task_names() << ")";
  SF_CHECK(c.min_digits >= 1 && c.min_digits <= 9)
      << "task.min_digits = " << c.min_digits << ": must be in [1, 9]";
  SF_CHECK(c.max_digits >= c.min_digits && c.max_digits <= 9)
      << "task.max_digits = " << c.max_digits << ": must be in [task.min_digits = " << c.min_digits
      << ", 9]";
  SF_CHECK(c.countdown_numbers >= 2 && c.countdown_numbers <= 6)
      << "task.countdown_numbers = " << c.countdown_numbers << ": must be in [2, 6]";
  SF_CHECK(c.countdown_max >= 2 && c.countdown_max <= 1000)
      << "task.countdown_max = " << c.countdown_max << ": must be in [2, 1000]";
  SF_CHECK(c.test_fraction >= 0.0 && c.test_fraction < 1.0)
      << "task.test_fraction = " << c.test_fraction << ": must be in [0, 1)";
}

std::string canonical_prompt(std::string_view prompt) {
  for (char op : {'+', '*'}) {
    const size_t at = prompt.find(op);
    if (at == std::string_view::npos || at == 0 || at + 1 >= prompt.size()) continue;
    std::string_view a = prompt.substr(0, at), b = prompt.substr(at + 1);
    auto all_digits = [](std::string_view s) {
      return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (!all_digits(a) || !all_digits(b)) continue;
    // Numeric order of digit strings without leading zeros: shorter first, then by text.
    if (b.size() < a.size() || (b.size() == a.size() && b < a)) std::swap(a, b);
    return std::string(a) + op + std::string(b);
  }
  return std::string(prompt);
}

Problem arithmetic_problem(char op, int64_t a, int64_t b) {
  SF_CHECK(op == '+' || op == '-' || op == '*')
      << "arithmetic_problem: operator '" << op << "' is not one of + - *";
  SF_CHECK(a >= 0 && b >= 0 && a < pow10(9) && b < pow10(9))
      << "arithmetic_problem: operands " << a << " and " << b << " must be in [0, 999999999]";
  SF_CHECK(op != '-' || a >= b) << "arithmetic_problem: " << a << "-" << b
                                << " would be negative (subtraction keeps a >= b)";
  Problem p = arithmetic_candidate(op == '+' ? Op::add : op == '-' ? Op::sub : Op::mul, a, b);
  add_arithmetic_solution(&p);
  return p;
}

Task::Task(TaskConfig config) : config_(std::move(config)) {
  validate(config_);
  countdown_ = config_.name == "countdown";
}

TaskSplit Task::split_of(const Problem& p) const {
  const std::string key = canonical_prompt(p.prompt);
  const uint64_t h = data::hash_bytes(key.data(), key.size(), kSplitSalt);
  const double u = static_cast<double>(h >> 11) * 0x1.0p-53;
  return u < config_.test_fraction ? TaskSplit::test : TaskSplit::train;
}

uint64_t Task::max_draws(TaskSplit split) const {
  const double share =
      split == TaskSplit::test ? config_.test_fraction : 1.0 - config_.test_fraction;
  // Enough draws that a split holding `share` of the space is missed with probability e^-60.
  return share > 0.0 ? 1000 + static_cast<uint64_t>(std::ceil(60.0 / share)) : 0;
}

Problem Task::sample(TaskSplit split, uint64_t seed, uint64_t index) const {
  const uint64_t draws = max_draws(split);
  SF_CHECK(draws > 0) << "task.test_fraction = " << config_.test_fraction << ": the "
                      << split_name(split) << " split is empty";
  std::optional<Problem> p = try_sample(split, seed, index);
  if (!p) {
    SF_FAIL() << "task '" << config_.name << "': no " << split_name(split) << " problem in "
              << draws << " draws (seed " << seed << ", index " << index
              << "): the problem space is too small for task.test_fraction = "
              << config_.test_fraction;
  }
  return std::move(*p);
}

std::optional<Problem> Task::try_sample(TaskSplit split, uint64_t seed, uint64_t index) const {
  const uint64_t draws = max_draws(split);
  for (uint64_t draw = 0; draw < draws; ++draw) {
    Draws d(seed, index, draw);
    if (countdown_) {
      // Build the prompt first (cheap), the expressions only for the candidate that is kept.
      Problem p = countdown_candidate(config_, d, false);
      if (split_of(p) != split) continue;
      Draws again(seed, index, draw);
      return countdown_candidate(config_, again, true);
    }
    Op op = config_.name == "addition"         ? Op::add
            : config_.name == "subtraction"    ? Op::sub
            : config_.name == "multiplication" ? Op::mul
                                               : static_cast<Op>(d.uniform(0, 2));
    auto draw_operand = [&] {
      const int64_t digits = d.uniform(config_.min_digits, config_.max_digits);
      return d.uniform(lowest_with_digits(digits), pow10(digits) - 1);
    };
    int64_t a = draw_operand(), b = draw_operand();
    if (op == Op::sub && a < b) std::swap(a, b);  // results are never negative
    Problem p = arithmetic_candidate(op, a, b);
    if (split_of(p) != split) continue;
    add_arithmetic_solution(&p);
    return p;
  }
  return std::nullopt;
}

std::vector<Problem> Task::test_set(int64_t n, uint64_t seed) const {
  SF_CHECK(n >= 0) << "test_set: count " << n << " must be >= 0";
  std::vector<Problem> out;
  if (n == 0 || config_.test_fraction == 0.0) return out;
  std::unordered_set<std::string> seen;
  int64_t stall = 0;
  for (uint64_t i = 0; static_cast<int64_t>(out.size()) < n && stall < kTestSetStall; ++i) {
    std::optional<Problem> p = try_sample(TaskSplit::test, seed, i);
    if (!p) break;  // no test problem at all in many draws: the space is (nearly) all train
    if (seen.insert(p->prompt).second) {
      out.push_back(std::move(*p));
      stall = 0;
    } else {
      ++stall;
    }
  }
  if (static_cast<int64_t>(out.size()) >= n || countdown_) return out;
  // The draws stalled: enumerate the operand space (when small) so that the count is exact.
  const int64_t lo = lowest_with_digits(config_.min_digits), hi = pow10(config_.max_digits) - 1;
  const int64_t values = hi - lo + 1;
  std::vector<Op> ops;
  if (config_.name == "addition" || config_.name == "arithmetic") ops.push_back(Op::add);
  if (config_.name == "subtraction" || config_.name == "arithmetic") ops.push_back(Op::sub);
  if (config_.name == "multiplication" || config_.name == "arithmetic") ops.push_back(Op::mul);
  if (values * values * static_cast<int64_t>(ops.size()) > kEnumerableCap) return out;
  for (Op op : ops) {
    for (int64_t a = lo; a <= hi; ++a) {
      for (int64_t b = lo; b <= hi && static_cast<int64_t>(out.size()) < n; ++b) {
        if (op == Op::sub && a < b) continue;
        Problem p = arithmetic_candidate(op, a, b);
        if (split_of(p) != TaskSplit::test || !seen.insert(p.prompt).second) continue;
        add_arithmetic_solution(&p);
        out.push_back(std::move(p));
      }
    }
  }
  return out;
}

bool Task::is_correct(const Problem& p, std::string_view answer_text) const {
  if (!countdown_) {
    const auto v = parse_integer(answer_text);
    return v.has_value() && *v == p.target;
  }
  if (answer_text.size() > 4096) return false;
  CountdownParser parser(answer_text, p.numbers);
  const auto v = parser.parse();
  return v.has_value() && v->den == 1 && v->num == p.target;
}

}  // namespace seekforge::rl
