#include "autograd/checkpoint.h"

#include "autograd/engine.h"
#include "autograd/node.h"

namespace seekforge::autograd {

namespace {

class CheckpointNode final : public Node {
 public:
  CheckpointNode(CheckpointFn fn, const std::vector<Tensor>& inputs, GeneratorState rng,
                 int n_outputs)
      : fn_(std::move(fn)), rng_(rng) {
    num_outputs = n_outputs;
    for (const Tensor& t : inputs) {
      inputs_.push_back(t.defined() ? t.detach() : Tensor());
      input_requires_grad_.push_back(t.defined() && t.requires_grad());
    }
  }
  const char* name() const override { return "CheckpointBackward"; }

  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    SF_CHECK(!released) << "CheckpointBackward: backward through this region a second time; "
                        << "pass retain_graph = true";
    // Fresh leaves standing for the inputs, so the recomputed graph ends at them.
    std::vector<Tensor> leaves;
    for (size_t i = 0; i < inputs_.size(); ++i) {
      Tensor leaf = inputs_[i].defined() ? inputs_[i].detach() : Tensor();
      if (input_requires_grad_[i]) leaf.set_requires_grad(true);
      leaves.push_back(leaf);
    }
    Generator& gen = default_generator();
    const GeneratorState saved = gen.state();
    gen.set_state(rng_);
    std::vector<Tensor> outs;
    {
      EnableGradGuard enable;
      outs = fn_(leaves);
    }
    gen.set_state(saved);
    SF_CHECK(static_cast<int>(outs.size()) == num_outputs)
        << "checkpoint: the recomputed region gave " << outs.size() << " outputs, the first run "
        << num_outputs;
    std::vector<Tensor> roots, root_grads;
    for (size_t i = 0; i < outs.size(); ++i) {
      if (i < grads.size() && grads[i].defined() && outs[i].requires_grad()) {
        roots.push_back(outs[i]);
        root_grads.push_back(grads[i]);
      }
    }
    if (!roots.empty()) backward(roots, root_grads, false);
    std::vector<Tensor> result;
    for (const Tensor& l : leaves) result.push_back(l.defined() ? l.grad() : Tensor());
    return result;
  }

  void release_saved() override {
    inputs_.clear();
    released = true;
  }

 private:
  CheckpointFn fn_;
  std::vector<Tensor> inputs_;  // detached: the recomputation starts from their values
  std::vector<bool> input_requires_grad_;
  GeneratorState rng_;
};

}  // namespace

std::vector<Tensor> checkpoint(const CheckpointFn& fn, const std::vector<Tensor>& inputs) {
  // Parameters inside fn may require grad even when no input does; recording is still needed
  // then, so only grad mode decides.
  if (!grad_enabled()) return fn(inputs);
  const GeneratorState rng = default_generator().state();
  std::vector<Tensor> outs;
  {
    NoGradGuard no_grad;
    std::vector<Tensor> detached;
    for (const Tensor& t : inputs) detached.push_back(t.defined() ? t.detach() : Tensor());
    outs = fn(detached);
  }
  auto node = std::make_shared<CheckpointNode>(fn, inputs, rng, static_cast<int>(outs.size()));
  collect_next_edges(*node, inputs);
  for (size_t i = 0; i < outs.size(); ++i) {
    if (!outs[i].defined() || !is_floating(outs[i].dtype())) continue;
    set_history(outs[i], node, static_cast<int>(i));
  }
  return outs;
}

}  // namespace seekforge::autograd
