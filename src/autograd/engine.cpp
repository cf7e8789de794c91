#include "autograd/engine.h"

#include <atomic>
#include <queue>
#include <unordered_map>

#include "autograd/node.h"

namespace seekforge::autograd {

namespace {
thread_local bool g_grad_enabled = true;
std::atomic<uint64_t> g_next_sequence_nr{0};
}  // namespace

// out = a + b for same-shape floating tensors; a fresh tensor (inputs may alias user data).
Tensor add_same_shape(const Tensor& a, const Tensor& b, const char* where) {
  SF_CHECK(a.shape() == b.shape() && a.dtype() == b.dtype())
      << where << ": gradients " << a.describe() << " and " << b.describe() << " do not match";
  Tensor ac = a.contiguous(), bc = b.contiguous();
  Tensor out = empty(a.shape(), a.dtype());
  const int64_t n = out.numel();
  dispatch_float(a.dtype(), where, [&](auto zero) {
    using T = decltype(zero);
    const T* pa = ac.data<T>();
    const T* pb = bc.data<T>();
    T* po = out.data<T>();
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) po[i] = pa[i] + pb[i];
  });
  return out;
}

static void accumulate(Tensor& buffer, const Tensor& g, const char* where) {
  if (!g.defined()) return;
  buffer = buffer.defined() ? add_same_shape(buffer, g, where) : g;
}

bool grad_enabled() { return g_grad_enabled; }
void set_grad_enabled(bool enabled) { g_grad_enabled = enabled; }

Node::Node() : sequence_nr(g_next_sequence_nr++) {}

std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor>& grads) {
  Tensor g = grads[0];
  if (!g.defined()) return {};
  Tensor leaf(leaf_);
  SF_CHECK(g.shape() == leaf.shape())
      << "gradient " << g.describe() << " does not match its leaf " << leaf.describe();
  for (auto& hook : leaf_->hooks) {
    Tensor r = hook(g);
    if (r.defined()) g = r;
  }
  if (g.dtype() != leaf.dtype()) g = g.to(leaf.dtype());
  if (leaf_->grad == nullptr) {
    // Own the buffer: the incoming gradient may be a view of, or share storage with, another
    // tensor, and .grad is later updated in place.
    const bool owned = g.is_contiguous() && g.offset() == 0 && g.storage().use_count() == 1;
    leaf_->grad = owned ? g.detach().impl_ptr() : g.clone().impl_ptr();
  } else {
    Tensor sum = add_same_shape(Tensor(leaf_->grad), g, "AccumulateGrad");
    Tensor(leaf_->grad).copy_(sum);
  }
  return {};
}

FunctionNode::FunctionNode(const char* name, std::vector<Tensor> saved, BackwardFn fn,
                           int n_outputs)
    : name_(name), saved_(std::move(saved)), fn_(std::move(fn)) {
  num_outputs = n_outputs;
}

std::vector<Tensor> FunctionNode::apply(std::vector<Tensor>& grads) {
  SF_CHECK(!released) << name_ << ": backward through this graph a second time, but its saved "
                      << "tensors were freed after the first; pass retain_graph = true";
  return fn_(saved_, grads);
}

void FunctionNode::release_saved() {
  saved_.clear();
  saved_.shrink_to_fit();
  released = true;
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return {};
  TensorImpl* impl = t.impl();
  if (impl->grad_fn) return {impl->grad_fn, impl->output_nr};
  std::shared_ptr<Node> acc = impl->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
    impl->grad_accumulator = acc;
  }
  return {acc, 0};
}

bool any_requires_grad(std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

bool should_record(std::initializer_list<const Tensor*> ts) {
  return grad_enabled() && any_requires_grad(ts);
}

void set_history(Tensor& output, const std::shared_ptr<Node>& node, int output_nr) {
  TensorImpl* impl = output.impl();
  impl->requires_grad = true;
  impl->grad_fn = node;
  impl->output_nr = output_nr;
}

void collect_next_edges(Node& node, std::initializer_list<const Tensor*> inputs) {
  node.next_edges.clear();
  for (const Tensor* t : inputs) node.next_edges.push_back(gradient_edge(*t));
}

void collect_next_edges(Node& node, const std::vector<Tensor>& inputs) {
  node.next_edges.clear();
  for (const Tensor& t : inputs) node.next_edges.push_back(gradient_edge(t));
}

void record(const char* name, std::vector<Tensor*> outputs, const std::vector<Tensor>& inputs,
            std::vector<Tensor> saved, BackwardFn fn) {
  if (!grad_enabled()) return;
  bool any = false;
  for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
  if (!any) return;
  for (Tensor& s : saved)
    if (s.defined()) s = s.detach();
  auto node = std::make_shared<FunctionNode>(name, std::move(saved), std::move(fn),
                                             static_cast<int>(outputs.size()));
  collect_next_edges(*node, inputs);
  for (size_t i = 0; i < outputs.size(); ++i)
    if (outputs[i] != nullptr && outputs[i]->defined())
      set_history(*outputs[i], node, static_cast<int>(i));
}

void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
              bool retain_graph) {
  SF_CHECK(roots.size() == grads.size()) << "backward: " << roots.size() << " roots, "
                                          << grads.size() << " gradients";
  struct Compare {
    bool operator()(const Node* a, const Node* b) const { return a->sequence_nr < b->sequence_nr; }
  };
  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  std::unordered_map<Node*, int> dependencies;
  std::vector<std::shared_ptr<Node>> keep_alive;  // roots' nodes while the walk runs

  std::vector<std::pair<Edge, Tensor>> root_edges;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& r = roots[i];
    SF_CHECK(r.defined() && r.requires_grad())
        << "backward: " << r.describe() << " does not require grad and has no grad_fn";
    Tensor g = grads[i];
    if (!g.defined()) {
      SF_CHECK(r.numel() == 1) << "backward: the gradient can be implied only for a scalar, "
                               << "got " << r.describe() << "; pass one";
      g = full(r.shape(), 1.0, r.dtype());
    }
    SF_CHECK(g.shape() == r.shape()) << "backward: gradient " << g.describe() << " for "
                                     << r.describe();
    Edge e = gradient_edge(r);
    keep_alive.push_back(e.fn);
    root_edges.emplace_back(e, g);
  }

  // Count, for every reachable node, the edges that point at it.
  {
    std::vector<Node*> stack;
    std::unordered_map<Node*, bool> seen;
    for (auto& [e, g] : root_edges)
      if (!seen[e.fn.get()]) {
        seen[e.fn.get()] = true;
        stack.push_back(e.fn.get());
      }
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      for (const Edge& e : n->next_edges) {
        if (!e.fn) continue;
        dependencies[e.fn.get()]++;
        if (!seen[e.fn.get()]) {
          seen[e.fn.get()] = true;
          stack.push_back(e.fn.get());
        }
      }
    }
  }

  std::priority_queue<Node*, std::vector<Node*>, Compare> ready;
  for (auto& [e, g] : root_edges) {
    auto& buf = buffers[e.fn.get()];
    buf.resize(e.fn->num_outputs);
    accumulate(buf[e.input_nr], g, e.fn->name());
  }
  for (auto& [e, g] : root_edges) {
    Node* n = e.fn.get();
    if (dependencies[n] == 0) {
      dependencies[n] = -1;  // queued
      ready.push(n);
    }
  }

  NoGradGuard no_grad;
  while (!ready.empty()) {
    Node* node = ready.top();
    ready.pop();
    std::vector<Tensor> in = std::move(buffers[node]);
    buffers.erase(node);
    in.resize(node->num_outputs);
    for (auto& [idx, hook] : node->pre_hooks) {
      if (!in[idx].defined()) continue;
      Tensor r = hook(in[idx]);
      if (r.defined()) in[idx] = r;
    }
    std::vector<Tensor> out = node->apply(in);
    in.clear();
    if (!retain_graph) node->release_saved();
    SF_CHECK(out.empty() || out.size() == node->next_edges.size())
        << node->name() << " returned " << out.size() << " gradients for "
        << node->next_edges.size() << " inputs";
    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.fn) continue;
      Node* next = e.fn.get();
      if (i < out.size() && out[i].defined()) {
        auto& buf = buffers[next];
        buf.resize(next->num_outputs);
        accumulate(buf[e.input_nr], out[i], next->name());
      }
      if (--dependencies[next] == 0) ready.push(next);
    }
  }
}

}  // namespace seekforge::autograd

namespace seekforge {

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  autograd::backward({*this}, {grad}, retain_graph);
}

void Tensor::register_hook(GradHook hook) const {
  SF_CHECK(requires_grad()) << "register_hook on " << describe()
                            << ", which does not require grad";
  if (is_leaf()) {
    impl_->hooks.push_back(std::move(hook));
  } else {
    impl_->grad_fn->pre_hooks.emplace_back(impl_->output_nr, std::move(hook));
  }
}

void Tensor::retain_grad() const {
  if (is_leaf()) return;
  std::weak_ptr<TensorImpl> self = impl_;
  register_hook([self](const Tensor& g) {
    if (auto t = self.lock()) {
      t->grad = t->grad ? autograd::add_same_shape(Tensor(t->grad), g, "retain_grad").impl_ptr()
                        : g.clone().impl_ptr();
    }
    return Tensor();
  });
}

}  // namespace seekforge
