// One rollout as RL training consumes it: the prompt and completion tokens, the per-token
// log-probabilities and advantages, and the reward that produced them.
//
// What this is not: no tensors. The trainer pads a batch of these into [B, T] tensors for
// ops::policy_loss; the replay buffer (rl/replay_buffer.h) stores them between steps.
#pragma once

#include <cstdint>
#include <vector>

namespace seekforge::rl {

struct Experience {
  std::vector<int64_t> prompt, completion;  // token ids (the completion includes eos when the
                                            // model stopped)
  std::vector<float> behaviour_logp;        // per completion token: log-prob under the policy
                                            // that sampled it
  std::vector<float> ref_logp;              // per completion token, frozen reference (may be
                                            // empty)
  std::vector<float> advantages;            // per completion token
  std::vector<float> returns, values;       // per completion token (PPO; may be empty)
  double reward = 0;
  int64_t step = 0;  // the RL step that produced it
};

}  // namespace seekforge::rl
