// Evolution strategies on the policy's parameters: a population of flat parameter vectors,
// elitism, uniform crossover between elite parents and Gaussian mutation. A gradient-free
// alternative (or complement) to GRPO/PPO when the reward is too sparse or too noisy for a
// policy gradient; docs/rl_algorithms.md gives the algorithm as implemented.
//
// What this is not: no evaluation. The caller loads each member into the model
// (load_flat_parameters), measures its fitness, and tells the strategy.
//
// Randomness: every draw is the counter-based Philox of core/rng.h, keyed by the seed with the
// generation, member, entry and purpose in the counter, so a run repeats bit for bit at any
// thread count. Thread safety: none; a strategy is used from one thread.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace seekforge::rl {

struct EvolutionOptions {
  int64_t population = 8;
  int64_t elite = 2;
  double sigma = 0.02;
  double mutation_rate = 1.0;
  double crossover_rate = 0.5;
  uint64_t seed = 0;
};

// Members are flat float vectors of the model's parameters (the caller flattens/unflattens in a
// fixed parameter order). Generation 0: the initial vector plus population - 1 mutated copies.
class EvolutionStrategy {
 public:
  // Validates (errors name "rl.es.<key>"): population >= 2, 1 <= elite < population,
  // sigma >= 0, mutation_rate and crossover_rate in [0, 1], initial not empty.
  EvolutionStrategy(std::vector<float> initial, EvolutionOptions options);
  int64_t generation() const { return generation_; }
  const std::vector<std::vector<float>>& members() const { return members_; }
  // fitness[i] of members()[i] (higher is better; finite). Keeps the `elite` best unchanged
  // (elitism; they become members 0..elite-1, best first, ties to the lower index), fills the
  // rest with children: two distinct parents drawn uniformly from the elite, uniform crossover,
  // then mutation. Advances the generation.
  void tell(const std::vector<double>& fitness);
  // The best member seen so far and its fitness (before the first tell: the initial vector and
  // -infinity).
  const std::vector<float>& best() const { return best_; }
  double best_fitness() const { return best_fitness_; }

 private:
  EvolutionOptions options_;
  int64_t generation_ = 0;
  std::vector<std::vector<float>> members_;
  std::vector<float> best_;
  double best_fitness_;
};

// The two operators tell() applies, public so that callers and tests can use them alone.
// Entry j of a child is second[j] with probability crossover_rate, else first[j].
std::vector<float> uniform_crossover(const std::vector<float>& first,
                                     const std::vector<float>& second, double crossover_rate,
                                     uint64_t seed, int64_t generation, int64_t member);
// Adds sigma * N(0, 1) to each entry with probability mutation_rate.
void mutate(std::vector<float>& x, double sigma, double mutation_rate, uint64_t seed,
            int64_t generation, int64_t member);

// The parameters' values one after another, in the given order (any float dtype and layout).
std::vector<float> flatten_parameters(const std::vector<Tensor>& params);
// Copies `flat` into the parameters' storage in the same order, under no_grad. params are f32
// contiguous leaf tensors; a size mismatch is an error naming both sizes.
void load_flat_parameters(const std::vector<float>& flat, const std::vector<Tensor>& params);

}  // namespace seekforge::rl
