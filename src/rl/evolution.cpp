#include "rl/evolution.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "autograd/node.h"
#include "core/error.h"
#include "core/rng.h"

namespace seekforge::rl {

namespace {

// What a draw is for: the third field of the counter, so the streams never share numbers.
enum class Purpose : uint64_t { mutation = 0, crossover = 1, parents = 2 };

constexpr int64_t kMaxPopulation = int64_t{1} << 30;
// Below this many entries a parallel region costs more than the loop (tests, toy problems).
constexpr int64_t kParallelEntries = 1 << 14;

// The Philox block of (generation, member, purpose, entry): entry in the low 64 counter bits,
// generation (32 bits) | member (30 bits) | purpose (2 bits) in the high ones.
std::array<uint32_t, 4> draw(uint64_t seed, int64_t generation, int64_t member, Purpose purpose,
                             uint64_t entry) {
  const uint64_t hi = (static_cast<uint64_t>(generation) << 32) |
                      (static_cast<uint64_t>(member) << 2) | static_cast<uint64_t>(purpose);
  return philox4x32(entry, hi, seed);
}

inline double unit32(uint32_t a) { return static_cast<double>(a) * 0x1.0p-32; }
inline double unit53(uint32_t a, uint32_t b) {
  return static_cast<double>((uint64_t{a} << 21) ^ (uint64_t{b} >> 11)) * 0x1.0p-53;
}

void check_keys(int64_t generation, int64_t member) {
  SF_CHECK(generation >= 0 && generation < (int64_t{1} << 32))
      << "evolution: generation " << generation << " outside [0, 2^32)";
  SF_CHECK(member >= 0 && member < kMaxPopulation)
      << "evolution: member " << member << " outside [0, 2^30)";
}

}  // namespace

std::vector<float> uniform_crossover(const std::vector<float>& first,
                                     const std::vector<float>& second, double crossover_rate,
                                     uint64_t seed, int64_t generation, int64_t member) {
  SF_CHECK(first.size() == second.size())
      << "uniform_crossover: parents of " << first.size() << " and " << second.size() << " entries";
  check_keys(generation, member);
  std::vector<float> child(first.size());
  const auto n = static_cast<int64_t>(first.size());
#pragma omp parallel for schedule(static) if (n >= kParallelEntries)
  for (int64_t j = 0; j < n; ++j) {
    const auto r = draw(seed, generation, member, Purpose::crossover, static_cast<uint64_t>(j));
    child[j] = unit32(r[0]) < crossover_rate ? second[j] : first[j];
  }
  return child;
}

void mutate(std::vector<float>& x, double sigma, double mutation_rate, uint64_t seed,
            int64_t generation, int64_t member) {
  check_keys(generation, member);
  if (sigma == 0 || mutation_rate == 0) return;
  const auto n = static_cast<int64_t>(x.size());
#pragma omp parallel for schedule(static) if (n >= kParallelEntries)
  for (int64_t j = 0; j < n; ++j) {
    const auto r = draw(seed, generation, member, Purpose::mutation, static_cast<uint64_t>(j));
    if (unit32(r[0]) >= mutation_rate) continue;
    // Box-Muller on the block's other three words; 1 - u keeps the log finite.
    const double u1 = 1.0 - unit53(r[1], r[2]), u2 = unit32(r[3]);
    const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
    x[j] = static_cast<float>(x[j] + sigma * z);
  }
}

EvolutionStrategy::EvolutionStrategy(std::vector<float> initial, EvolutionOptions options)
    : options_(options), best_fitness_(-std::numeric_limits<double>::infinity()) {
  const auto& o = options_;
  SF_CHECK(o.population >= 2 && o.population <= kMaxPopulation)
      << "rl.es.population = " << o.population << ": must be in [2, 2^30]";
  SF_CHECK(o.elite >= 1 && o.elite < o.population)
      << "rl.es.elite = " << o.elite << ": must be in [1, rl.es.population - 1] = [1, "
      << o.population - 1 << "]";
  SF_CHECK(std::isfinite(o.sigma) && o.sigma >= 0)
      << "rl.es.sigma = " << o.sigma << ": must be >= 0";
  SF_CHECK(o.mutation_rate >= 0 && o.mutation_rate <= 1)
      << "rl.es.mutation_rate = " << o.mutation_rate << ": must be in [0, 1]";
  SF_CHECK(o.crossover_rate >= 0 && o.crossover_rate <= 1)
      << "rl.es.crossover_rate = " << o.crossover_rate << ": must be in [0, 1]";
  SF_CHECK(!initial.empty()) << "EvolutionStrategy: the initial parameter vector is empty";
  best_ = initial;
  members_.reserve(o.population);
  members_.push_back(std::move(initial));
  for (int64_t i = 1; i < o.population; ++i) {
    members_.push_back(members_.front());
    mutate(members_.back(), o.sigma, o.mutation_rate, o.seed, 0, i);
  }
}

void EvolutionStrategy::tell(const std::vector<double>& fitness) {
  const auto& o = options_;
  SF_CHECK(static_cast<int64_t>(fitness.size()) == o.population)
      << "EvolutionStrategy::tell: " << fitness.size() << " fitness values for a population of "
      << o.population;
  for (size_t i = 0; i < fitness.size(); ++i)
    SF_CHECK(std::isfinite(fitness[i]))
        << "EvolutionStrategy::tell: fitness of member " << i << " is " << fitness[i];
  std::vector<int64_t> order(o.population);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return fitness[a] > fitness[b]; });
  if (fitness[order[0]] > best_fitness_) {
    best_fitness_ = fitness[order[0]];
    best_ = members_[order[0]];
  }
  const int64_t next = generation_ + 1;
  std::vector<std::vector<float>> children(o.population);
  for (int64_t i = 0; i < o.elite; ++i) children[i] = std::move(members_[order[i]]);
  for (int64_t i = o.elite; i < o.population; ++i) {
    const auto r = draw(o.seed, next, i, Purpose::parents, 0);
    // Two distinct elite parents when there are two; with one elite, crossover is a copy.
    const int64_t a = static_cast<int64_t>(r[0] % static_cast<uint64_t>(o.elite));
    const int64_t b =
        o.elite == 1
            ? a
            : (a + 1 + static_cast<int64_t>(r[1] % static_cast<uint64_t>(o.elite - 1))) % o.elite;
    children[i] = uniform_crossover(children[a], children[b], o.crossover_rate, o.seed, next, i);
    mutate(children[i], o.sigma, o.mutation_rate, o.seed, next, i);
  }
  members_ = std::move(children);
  generation_ = next;
}

std::vector<float> flatten_parameters(const std::vector<Tensor>& params) {
  std::vector<float> flat;
  for (size_t k = 0; k < params.size(); ++k) {
    SF_CHECK(params[k].defined()) << "flatten_parameters: parameter " << k << " is undefined";
    const std::vector<float> values = params[k].to_vector_f32();
    flat.insert(flat.end(), values.begin(), values.end());
  }
  return flat;
}

void load_flat_parameters(const std::vector<float>& flat, const std::vector<Tensor>& params) {
  const char* op = "load_flat_parameters";
  int64_t total = 0;
  for (size_t k = 0; k < params.size(); ++k) {
    const Tensor& p = params[k];
    SF_CHECK(p.defined()) << op << ": parameter " << k << " is undefined";
    SF_CHECK(p.dtype() == DType::f32 && p.is_contiguous() && p.is_leaf())
        << op << ": parameter " << k << " " << p.describe()
        << " must be an f32 contiguous leaf tensor";
    total += p.numel();
  }
  SF_CHECK(static_cast<int64_t>(flat.size()) == total)
      << op << ": " << flat.size() << " values for parameters of " << total << " elements";
  autograd::NoGradGuard no_grad;
  size_t at = 0;
  for (const Tensor& p : params) {
    std::memcpy(p.data<float>(), flat.data() + at, static_cast<size_t>(p.numel()) * sizeof(float));
    at += static_cast<size_t>(p.numel());
  }
}

}  // namespace seekforge::rl
