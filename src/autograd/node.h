// The autograd tape: a Node is the backward of one op call. It holds what its backward needs
// (saved tensors, detached so the tape has no cycles) and the edges to the nodes that produced
// its inputs. The engine (engine.h) walks these edges in reverse.
//
// Gradients are computed without building a tape (backward runs under no_grad): seekforge gives
// first derivatives only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/tensor.h"

namespace seekforge::autograd {

class Node;

// Where the gradient of one op input goes: input `input_nr` of node `fn` (null: nowhere).
struct Edge {
  std::shared_ptr<Node> fn;
  int input_nr = 0;
};

// Whether ops record the tape. Thread-local, like torch.is_grad_enabled().
bool grad_enabled();
void set_grad_enabled(bool enabled);

// RAII: ops inside do not record (inference, optimiser updates, backward itself).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

class EnableGradGuard {
 public:
  EnableGradGuard() : prev_(grad_enabled()) { set_grad_enabled(true); }
  ~EnableGradGuard() { set_grad_enabled(prev_); }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool prev_;
};

class Node {
 public:
  Node();
  virtual ~Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // The op's name, for errors ("MatmulBackward").
  virtual const char* name() const = 0;
  // grads[i] is the gradient w.r.t. output i (undefined when nothing flowed there). Returns one
  // gradient per next_edges entry (undefined for inputs that need none).
  virtual std::vector<Tensor> apply(std::vector<Tensor>& grads) = 0;
  // Drops saved tensors; called after apply() unless the graph is retained.
  virtual void release_saved() {}

  std::vector<Edge> next_edges;
  uint64_t sequence_nr;  // creation order: later nodes run first among ready ones
  int num_outputs = 1;
  // Hooks on the gradient of output i (registered through Tensor::register_hook).
  std::vector<std::pair<int, GradHook>> pre_hooks;
  bool released = false;  // saved tensors were freed; a second backward must fail loudly
};

// Accumulates the incoming gradient into a leaf's .grad (after the leaf's hooks).
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : leaf_(std::move(leaf)) {}
  const char* name() const override { return "AccumulateGrad"; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override;

 private:
  std::shared_ptr<TensorImpl> leaf_;
};

// A node whose backward is a function of its saved tensors: how every op in ops/ records
// itself. Tensors the backward needs go in `saved` (freed after use), never in the closure.
using BackwardFn = std::function<std::vector<Tensor>(const std::vector<Tensor>& saved,
                                                     std::vector<Tensor>& grads)>;
class FunctionNode final : public Node {
 public:
  FunctionNode(const char* name, std::vector<Tensor> saved, BackwardFn fn, int num_outputs = 1);
  const char* name() const override { return name_; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override;
  void release_saved() override;

 private:
  const char* name_;
  std::vector<Tensor> saved_;
  BackwardFn fn_;
};

// Records `fn` as the backward of `outputs` computed from `inputs`, when any input requires
// grad and grad mode is on; otherwise does nothing. Saved tensors are stored detached.
void record(const char* name, std::vector<Tensor*> outputs, const std::vector<Tensor>& inputs,
            std::vector<Tensor> saved, BackwardFn fn);

// The edge that the gradient w.r.t. `t` should flow along; {null} when t needs no gradient.
Edge gradient_edge(const Tensor& t);
bool any_requires_grad(std::initializer_list<const Tensor*> ts);
// True when an op on these inputs must record a node.
bool should_record(std::initializer_list<const Tensor*> ts);
// Links a freshly computed output to the node that produced it.
void set_history(Tensor& output, const std::shared_ptr<Node>& node, int output_nr = 0);
// Builds `node`'s edges from the op inputs (undefined tensors give empty edges).
void collect_next_edges(Node& node, std::initializer_list<const Tensor*> inputs);
void collect_next_edges(Node& node, const std::vector<Tensor>& inputs);

}  // namespace seekforge::autograd
