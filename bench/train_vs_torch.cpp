// Benchmark of one whole training step, seekforge against PyTorch, on the same machine, threads
// and model: random tokens, fp32, batch x seq_len tokens per step. One step = forward with labels
// (the next tokens), backward, global-norm clipping at 1.0, AdamW (weight decay 0.1 on 2-D
// parameters), the MoE correction-bias update. PyTorch runs bench/train_vs_torch.py (an
// efficient eager torch.nn model of docs/model.md) in fresh processes started by this binary.
//
// Per case it prints: median and best step time, tokens/s, the ratio ours/theirs, MFU (model
// FLOPs per token from nn::Transformer::flops_per_token for both sides, over the best fp32 GEMM
// rate measured here on a 2048^3 kernels::gemm), peak memory (ours: the caching allocator's peak
// live bytes, and what the steps added over the weights; RSS too; PyTorch: ru_maxrss growth over
// the steps in a fresh process). Before timing, it checks once that both sides compute the same
// step-0 loss from the same weights and tokens (our initial weights go to PyTorch through a
// safetensors file).
//
// Cases are described by small JSON objects ({"name", "batch_size", "seq_len", "model": {keys of
// the TOML [model] table, "moe": {...}}}); the built-in ones are below. --case FILE adds one.
// With SEEKFORGE_PROFILE=1 it also breaks our step into phases (step-level and, for one
// attention block and one MoE layer run alone, their parts): the place to look when a step is
// slow. Not a test: it asserts nothing except the loss agreement, which sets the exit code.
//
// --checkpoint none,attention,block times our step in each activation-checkpointing mode
// (nn::Recompute, train.checkpoint_activations), the steps taking the modes in turn, and prints
// a table of the activation bytes (the allocator's live bytes after the forward minus before,
// as the trainer's memory report measures them) and the median and best step time, with their
// ratios to "none". The side-by-side table and the PyTorch side use the first mode listed.
//
// Usage: train_vs_torch [--cases dense,moe,small-dense,small-moe] [--steps 5] [--warmup 2]
//                       [--threads 2] [--case FILE.json] [--no-torch] [--foreach true|false]
//                       [--checkpoint none,attention,block]
//                       [--precision fp32|bf16]   (bf16: ours under train.precision = "bf16"
//                       semantics, PyTorch under torch.autocast("cpu", torch.bfloat16); MFU over the
//                       bf16 GEMM rate)
#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/node.h"
#include "core/allocator.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "core/threads.h"
#include "io/config.h"
#include "io/tensor_file.h"
#include "kernels/gemm.h"
#include "nn/transformer.h"
#include "ops/activation.h"
#include "ops/attention.h"
#include "ops/autocast.h"
#include "ops/elementwise.h"
#include "ops/experts.h"
#include "ops/index.h"
#include "ops/matmul.h"
#include "ops/loss.h"
#include "ops/norm.h"
#include "ops/rope.h"
#include "ops/reduce.h"
#include "ops/shape.h"
#include "ops/softmax.h"
#include "optim/optimizer.h"
#include "train/memory_report.h"
#include "source_path.h"

using namespace seekforge;  // NOLINT: a benchmark program, not a library
using json = nlohmann::json;

namespace {

// The four cases: the issue's shapes ("dense", "moe") and the demo configs
// configs/small-{dense,moe}.toml (their [model] tables; random tokens, batch 8 x 256).
const char* kBuiltinCases = R"([
 {"name": "dense", "batch_size": 8, "seq_len": 256,
  "model": {"vocab_size": 8192, "d_model": 384, "n_layers": 6, "n_heads": 6, "n_kv_heads": 6,
            "head_dim": 64, "d_ff": 1024, "attention": "mha", "max_seq_len": 256}},
 {"name": "moe", "batch_size": 8, "seq_len": 256,
  "model": {"vocab_size": 8192, "d_model": 384, "n_layers": 6, "n_heads": 6, "n_kv_heads": 6,
            "head_dim": 64, "d_ff": 1024, "attention": "mha", "max_seq_len": 256,
            "first_dense_layers": 1,
            "moe": {"n_routed_experts": 8, "n_shared_experts": 1, "top_k": 2, "d_expert": 256,
                    "gate": "softmax", "norm_topk": true}}},
 {"name": "small-dense", "batch_size": 8, "seq_len": 256, "config": "configs/small-dense.toml"},
 {"name": "small-moe", "batch_size": 8, "seq_len": 256, "config": "configs/small-moe.toml"}
])";

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five;
  in >> one >> five;
  return one + " (1 min), " + five + " (5 min)";
}

// VmRSS / VmHWM of this process in MiB; reset_hwm() asks the kernel to restart the high-water
// mark (write "5" to clear_refs), so that a case's peak does not include the previous case's.
double proc_status_mb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::atof(line.c_str() + key.size() + 1) / 1024.0;
  }
  return -1;
}
bool reset_hwm() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return out.good();
}

// ---------------------------------------------------------------------------------------------
// Case descriptions: JSON keys exactly as in the TOML [model] table.

struct Case {
  std::string name;
  int64_t batch = 8, seq_len = 256;
  ModelConfig model;
};

template <typename T>
void take(const json& j, const char* key, T& out) {
  if (j.contains(key)) out = j.at(key).get<T>();
}

ModelConfig model_from_json(const json& j) {
  ModelConfig m;
  take(j, "vocab_size", m.vocab_size);
  take(j, "d_model", m.d_model);
  take(j, "n_layers", m.n_layers);
  take(j, "n_heads", m.n_heads);
  take(j, "n_kv_heads", m.n_kv_heads);
  take(j, "head_dim", m.head_dim);
  take(j, "max_seq_len", m.max_seq_len);
  take(j, "rope_theta", m.rope_theta);
  take(j, "norm_eps", m.norm_eps);
  take(j, "attention", m.attention);
  take(j, "window", m.window);
  take(j, "d_ff", m.d_ff);
  take(j, "first_dense_layers", m.first_dense_layers);
  take(j, "tie_embeddings", m.tie_embeddings);
  take(j, "init_std", m.init_std);
  if (j.contains("moe")) {
    MoeConfig e;
    const json& o = j.at("moe");
    take(o, "n_routed_experts", e.n_routed_experts);
    take(o, "n_shared_experts", e.n_shared_experts);
    take(o, "top_k", e.top_k);
    take(o, "d_expert", e.d_expert);
    take(o, "gate", e.gate);
    take(o, "norm_topk", e.norm_topk);
    take(o, "routed_scaling_factor", e.routed_scaling_factor);
    take(o, "aux_loss_coef", e.aux_loss_coef);
    take(o, "bias_update_speed", e.bias_update_speed);
    take(o, "capacity_factor", e.capacity_factor);
    m.moe = e;
  }
  SF_CHECK(m.attention == "mha" && !m.mla && !m.mtp && m.window == 0 && !m.tie_embeddings)
      << "train_vs_torch: the PyTorch side implements mha, full causal, untied, no MTP";
  return m;
}

// What the PyTorch side reads: the same keys, every value written out.
json model_to_json(const ModelConfig& m) {
  json j = {{"vocab_size", m.vocab_size}, {"d_model", m.d_model},
            {"n_layers", m.n_layers},     {"n_heads", m.n_heads},
            {"n_kv_heads", m.n_kv_heads}, {"head_dim", m.head_dim},
            {"max_seq_len", m.max_seq_len}, {"rope_theta", m.rope_theta},
            {"norm_eps", m.norm_eps},     {"attention", m.attention},
            {"window", m.window},         {"d_ff", m.d_ff},
            {"first_dense_layers", m.first_dense_layers},
            {"tie_embeddings", m.tie_embeddings}, {"init_std", m.init_std}};
  if (m.moe) {
    const MoeConfig& e = *m.moe;
    j["moe"] = {{"n_routed_experts", e.n_routed_experts},
                {"n_shared_experts", e.n_shared_experts},
                {"top_k", e.top_k},
                {"d_expert", e.d_expert},
                {"gate", e.gate},
                {"norm_topk", e.norm_topk},
                {"routed_scaling_factor", e.routed_scaling_factor},
                {"aux_loss_coef", e.aux_loss_coef},
                {"bias_update_speed", e.bias_update_speed},
                {"capacity_factor", e.capacity_factor}};
  }
  return j;
}

Case make_case(const json& all, const json& c) {
  Case out;
  out.name = c.at("name").get<std::string>();
  take(c, "batch_size", out.batch);
  take(c, "seq_len", out.seq_len);
  const json* model = c.contains("model") ? &c.at("model") : nullptr;
  if (c.contains("same_as")) {
    for (const json& o : all)
      if (o.at("name") == c.at("same_as")) model = &o.at("model");
  }
  if (c.contains("config")) {
    out.model = load_config(c.at("config").get<std::string>()).model;
  } else {
    SF_CHECK(model != nullptr) << "train_vs_torch: case " << out.name << " has no model";
    out.model = model_from_json(*model);
  }
  out.model.max_seq_len = std::max(out.model.max_seq_len, out.seq_len);
  return out;
}

// ---------------------------------------------------------------------------------------------
// PyTorch side


// Runs the script with `args`, returns the "key=value" fields of its line starting with `tag`.
std::map<std::string, std::string> run_torch(const std::string& script, int threads,
                                             const std::string& args, const std::string& tag) {
  const std::string out = "/tmp/seekforge_train_vs_torch.txt";
  const std::string cmd = "OMP_NUM_THREADS=" + std::to_string(threads) + " /usr/bin/python3 " +
                          script + " --threads " + std::to_string(threads) + " " + args + " > " +
                          out;
  std::map<std::string, std::string> fields;
  if (std::system(cmd.c_str()) != 0) return fields;
  std::ifstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(tag, 0) != 0) continue;
    std::istringstream ss(line.substr(tag.size()));
    std::string kv;
    while (ss >> kv) {
      const size_t eq = kv.find('=');
      if (eq == std::string::npos)
        fields["value"] = kv;
      else
        fields[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  return fields;
}

// ---------------------------------------------------------------------------------------------
// Our side

struct Tokens {
  Tensor ids, labels;  // [B, T] i64; labels[t] = the token after ids[t]
};

Tokens random_tokens(int64_t B, int64_t T, int64_t V, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> dist(0, V - 1);
  std::vector<int64_t> ids(B * T), labels(B * T);
  for (int64_t b = 0; b < B; ++b) {
    int64_t prev = dist(rng);
    for (int64_t t = 0; t < T; ++t) {
      const int64_t next = dist(rng);
      ids[b * T + t] = prev;
      labels[b * T + t] = next;
      prev = next;
    }
  }
  return {from_vector_i64(ids, {B, T}), from_vector_i64(labels, {B, T})};
}

struct PhaseTimes {
  std::vector<double> forward, backward, clip, adamw, bias, total;
  std::vector<int64_t> activations;  // bytes the forward left live for backward
};

double train_step(nn::Transformer& model, optim::AdamW& opt, const std::vector<Tensor>& params,
                  const Tokens& tok, const nn::ForwardOptions& fo, PhaseTimes* times,
                  ops::LowpWeights* lowp = nullptr) {
  const int64_t live0 = train::allocator_live_bytes();
  const double t0 = now_seconds();
  nn::ModelOutput out = model.forward(tok.ids, tok.labels, fo);
  const double t1 = now_seconds();
  const int64_t activations = train::allocator_live_bytes() - live0;
  out.loss.backward();
  const double t2 = now_seconds();
  optim::clip_grad_norm(params, 1.0);
  const double t3 = now_seconds();
  opt.step();
  opt.zero_grad();
  if (lowp) lowp->refresh();  // the 16-bit weight copies follow the step (bf16 runs)
  const double t4 = now_seconds();
  std::vector<std::vector<int64_t>> loads;
  for (nn::MoE* m : model.moe_layers()) loads.push_back(m->last_stats().load);
  if (!loads.empty()) model.update_expert_biases(loads);
  const double t5 = now_seconds();
  if (times) {
    times->forward.push_back(t1 - t0);
    times->backward.push_back(t2 - t1);
    times->clip.push_back(t3 - t2);
    times->adamw.push_back(t4 - t3);
    times->bias.push_back(t5 - t4);
    times->total.push_back(t5 - t0);
    times->activations.push_back(activations);
  }
  return out.loss.item_double();
}

std::vector<optim::ParamGroup> param_groups(const nn::Transformer& model) {
  optim::ParamGroup decay{model.decay_parameters(), 3e-4, 0.1, 1.0, "decay"};
  optim::ParamGroup no_decay{model.no_decay_parameters(), 3e-4, 0.0, 1.0, "no_decay"};
  return {decay, no_decay};
}

// The best and median rate of a 2048^3 kernels::gemm on `dtype` operands (f32 accumulation):
// the peak MFU divides by.
std::pair<double, double> measure_gemm_peak(DType dtype = DType::f32) {
  const int64_t n = 2048;
  std::vector<float> a(n * n), b(n * n), c(n * n);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  for (auto& v : a) v = u(rng);
  for (auto& v : b) v = u(rng);
  // The operands the step's products get: 16-bit, or f32 where the CPU has no 16-bit GEMM.
  const DType ab = ops::lowp_storage_dtype(dtype);
  const Tensor a16 = from_vector(a, {n, n}).to(ab), b16 = from_vector(b, {n, n}).to(ab);
  const kernels::GemmShape s = kernels::gemm_shape(1, n, n, n);
  std::vector<double> rates;
  for (int r = 0; r < 7; ++r) {
    const double t0 = now_seconds();
    kernels::gemm(ab, s, a16.raw_data(), b16.raw_data(), c.data(), 1.0f, 0.0f);
    const double dt = now_seconds() - t0;
    if (r > 0) rates.push_back(2.0 * n * n * n / dt / 1e9);
  }
  return {*std::max_element(rates.begin(), rates.end()), median(rates)};
}

// ---------------------------------------------------------------------------------------------
// SEEKFORGE_PROFILE: where our step's time goes. One block's attention and one MoE layer are
// rebuilt from ops on the same shapes as the model's (same op sequence as nn/attention.cpp and
// nn/moe.cpp) and each part is timed forward and backward alone (backward of a part = backward
// of sum(out * g) with a fixed random g, less the forward).

struct PartTime {
  std::string name;
  double fwd = 0, bwd = 0;  // best seconds of the repeats
  int count = 1;            // occurrences per step
};

Tensor randn(const Shape& shape, double std, Generator& gen) {
  return nn::init_normal(shape, std, gen);
}

// Times fn() forward-only and forward+backward; fn returns the part's output.
PartTime time_part(const std::string& name, int count, const std::function<Tensor()>& fn,
                   int reps) {
  std::vector<double> f, fb;
  Generator gen(7);
  Tensor g;
  for (int r = 0; r < reps + 1; ++r) {
    double t0 = now_seconds();
    {
      autograd::NoGradGuard ng;
      Tensor y = fn();
    }
    double t1 = now_seconds();
    Tensor y = fn();
    if (!g.defined()) g = randn(y.shape(), 1.0, gen);
    double t2 = now_seconds();
    ops::sum(ops::mul(y, g)).backward();
    double t3 = now_seconds();
    if (r > 0) {
      f.push_back(t1 - t0);
      fb.push_back(t3 - t2);  // backward (the mul+sum is ~B*T*D, negligible)
    }
  }
  // Best, not median: on a shared machine the fastest repeat is the part's own cost.
  return {name, *std::min_element(f.begin(), f.end()), *std::min_element(fb.begin(), fb.end()),
          count};
}

void profile_case(const Case& c, const nn::Transformer& model) {
  const ModelConfig& m = c.model;
  const int64_t B = c.batch, T = c.seq_len, D = m.d_model, N = B * T;
  const int reps = 5;
  Generator gen(11);
  auto param = [&](const Shape& s, double std) {
    Tensor t = randn(s, std, gen);
    t.set_requires_grad(true);
    return t;
  };
  std::vector<PartTime> parts;
  const int64_t L = m.n_layers;
  const int64_t n_moe = static_cast<int64_t>(model.moe_layers().size());
  const int64_t n_dense = L - n_moe;
  Tensor x = param({B, T, D}, 1.0);
  Tensor nw = full({D}, 1.0);
  nw.set_requires_grad(true);
  // The harness alone (sum(y * g) and its backward on [B, T, D]): what every part below carries.
  parts.push_back(time_part("(harness: x * 1 on [B,T,D], sum(y*g) backward)", 1,
                            [&] { return ops::mul(x, 1.0); }, reps));
  // Norms: 2 per layer + the final one.
  parts.push_back(time_part("rmsnorm", static_cast<int>(2 * L + 1),
                            [&] { return ops::rms_norm(x, nw, m.norm_eps); }, reps));
  // Attention: the whole module (as the model runs it), then its parts.
  {
    Generator g2(3);
    nn::Attention attn(m, g2);
    const int64_t H = m.n_heads, KV = m.n_kv_heads, hd = m.head_dim;
    parts.push_back(time_part("attention layer (all)", static_cast<int>(L),
                              [&] { return attn.forward(x); }, reps));
    Tensor wq = param({H * hd, D}, 0.02), wk = param({KV * hd, D}, 0.02);
    Tensor wv = param({KV * hd, D}, 0.02), wo = param({D, H * hd}, 0.02);
    parts.push_back(time_part("  q,k,v,o projections", static_cast<int>(L), [&] {
      Tensor q = ops::linear(x, wq), k = ops::linear(x, wk), v = ops::linear(x, wv);
      return ops::linear(ops::add(ops::add(q, k), v), wo);
    }, reps));
    Tensor q4 = param({B, T, H, hd}, 1.0), k4 = param({B, T, KV, hd}, 1.0);
    Tensor v4 = param({B, T, KV, hd}, 1.0);
    parts.push_back(time_part("  rope (q and k)", static_cast<int>(L), [&] {
      return ops::add(ops::rope(q4, 0, m.rope_theta), ops::rope(k4, 0, m.rope_theta));
    }, reps));
    parts.push_back(time_part("  attention kernel", static_cast<int>(L),
                              [&] { return ops::attention(q4, k4, v4); }, reps));
  }
  // Dense FFN.
  if (n_dense > 0) {
    Generator g3(5);
    nn::SwiGLU ffn(D, m.d_ff, m.init_std, g3);
    parts.push_back(time_part("dense swiglu d_ff=" + std::to_string(m.d_ff),
                              static_cast<int>(n_dense), [&] { return ffn.forward(x); }, reps));
  }
  // MoE: the whole module, then its parts on the same shapes.
  if (m.moe) {
    const MoeConfig& e = *m.moe;
    const int64_t E = e.n_routed_experts, k = e.top_k, A = N * k;
    Generator g4(9);
    nn::MoE moe(m, g4);
    parts.push_back(time_part("moe layer (all)", static_cast<int>(n_moe),
                              [&] { return moe.forward(x, nullptr); }, reps));
    Tensor x2 = param({N, D}, 1.0);
    Tensor wg = param({E, D}, 0.02);
    parts.push_back(time_part("  router (linear, softmax, topk, gather, norm)",
                              static_cast<int>(n_moe), [&] {
      Tensor s = ops::softmax(ops::linear(x2, wg), -1);
      Tensor idx;
      {
        autograd::NoGradGuard ng;
        idx = ops::topk(s.detach(), k, -1).indices.contiguous();
      }
      Tensor w = ops::gather(s, 1, idx);
      return ops::div(w, ops::add(ops::sum(w, {1}, true), 1e-20));
    }, reps));
    // A balanced assignment (what the bias update aims at): expert of slot p is p % E.
    std::vector<int64_t> tokens, flat;
    for (int64_t ex = 0; ex < E; ++ex)
      for (int64_t p = 0; p < A; ++p)
        if (p % E == ex) {
          flat.push_back(p);
          tokens.push_back(p / k);
        }
    Tensor tok = from_vector_i64(tokens, {A}), flat_t = from_vector_i64(flat, {A});
    Tensor wflat = param({N, k}, 0.5);
    parts.push_back(time_part("  dispatch (index_select x, w)", static_cast<int>(n_moe), [&] {
      Tensor xs = ops::index_select(x2, 0, tok);
      Tensor ws = ops::index_select(ops::reshape(wflat, {-1}), 0, flat_t);
      return ops::mul(xs, ops::unsqueeze(ws, 1));
    }, reps));
    Tensor xs = param({A, D}, 1.0);
    std::vector<std::unique_ptr<nn::SwiGLU>> experts;
    for (int64_t ex = 0; ex < E; ++ex)
      experts.push_back(std::make_unique<nn::SwiGLU>(D, e.d_expert, m.init_std, g4));
    std::vector<Tensor> ewg(E), ewu(E), ewd(E);
    for (int64_t ex = 0; ex < E; ++ex) {
      ewg[ex] = experts[ex]->gate_proj().weight();
      ewu[ex] = experts[ex]->up_proj().weight();
      ewd[ex] = experts[ex]->down_proj().weight();
    }
    const std::vector<int64_t> counts(E, A / E);
    parts.push_back(time_part("  routed expert swiglus (one op, " + std::to_string(E) + " x [" +
                                  std::to_string(A / E) + " rows])",
                              static_cast<int>(n_moe),
                              [&] { return ops::expert_swiglu(xs, counts, ewg, ewu, ewd); }, reps));
    parts.push_back(time_part("    the same composed (narrow, linear, swiglu, concat)",
                              static_cast<int>(n_moe), [&] {
      std::vector<Tensor> outs;
      const int64_t rows = A / E;
      for (int64_t ex = 0; ex < E; ++ex)
        outs.push_back(experts[ex]->forward(ops::narrow(xs, 0, ex * rows, rows)));
      return ops::concat(outs, 0);
    }, reps));
    Tensor wgate = param({e.d_expert, D}, 0.02), wup = param({e.d_expert, D}, 0.02);
    Tensor wdown = param({D, e.d_expert}, 0.02);
    parts.push_back(time_part("    the same GEMMs as one expert on all rows (no split)",
                              static_cast<int>(n_moe), [&] {
      return ops::linear(ops::swiglu(ops::linear(xs, wgate), ops::linear(xs, wup)), wdown);
    }, reps));
    Tensor ys = param({A, D}, 1.0), ws = param({A}, 0.5);
    parts.push_back(time_part("  combine (mul w, index_add)", static_cast<int>(n_moe), [&] {
      Tensor yw = ops::mul(ys, ops::unsqueeze(ws, 1));
      return ops::index_add(zeros({N, D}), 0, tok, yw);
    }, reps));
    if (e.n_shared_experts > 0) {
      nn::SwiGLU shared(D, e.n_shared_experts * e.d_expert, m.init_std, g4);
      parts.push_back(time_part("  shared expert swiglu", static_cast<int>(n_moe),
                                [&] { return shared.forward(x2); }, reps));
    }
  }
  // LM head + cross-entropy.
  {
    Tensor h = param({N, D}, 1.0), head = param({m.vocab_size, D}, 0.02);
    Tokens t = random_tokens(1, N, m.vocab_size, 3);
    Tensor labels = ops::reshape(t.labels, {N});
    parts.push_back(time_part("lm_head + cross-entropy", 1, [&] {
      return ops::cross_entropy(ops::linear(h, head), labels);
    }, reps));
  }

  std::printf("\n  profile of our step, %s (parts run alone, best of %d; ms per step = "
              "count x (fwd + bwd)):\n", c.name.c_str(), reps);
  std::printf("  %-58s %5s %9s %9s %10s\n", "part", "count", "fwd ms", "bwd ms", "ms/step");
  for (const PartTime& p : parts) {
    std::printf("  %-58s %5d %9.2f %9.2f %10.1f\n", p.name.c_str(), p.count, p.fwd * 1e3,
                p.bwd * 1e3, p.count * (p.fwd + p.bwd) * 1e3);
  }
}

void print_phases(const PhaseTimes& t) {
  std::printf("  our step phases (median ms): forward %.1f, backward %.1f, clip %.1f, "
              "adamw+zero_grad %.1f, bias update %.2f, total %.1f\n",
              median(t.forward) * 1e3, median(t.backward) * 1e3, median(t.clip) * 1e3,
              median(t.adamw) * 1e3, median(t.bias) * 1e3, median(t.total) * 1e3);
}

struct Result {
  std::string name;
  int64_t tokens = 0;
  double flops_per_token = 0;
  int64_t params = 0, active = 0;
  double ours_med = 0, ours_best = 0;
  double ours_peak_mb = 0, ours_growth_mb = 0, ours_rss_peak_mb = 0, ours_rss_growth_mb = 0;
  double torch_med = 0, torch_best = 0, torch_rss_growth_mb = 0, torch_rss_peak_mb = 0;
  bool torch_ok = false;
  double loss_ours = 0, loss_torch = 0;
  bool loss_checked = false;
  int foreach = 0;
};

// One case under one activation-checkpointing mode.
struct ModeResult {
  std::string name, mode;
  double activations_mb = 0, step_med = 0, step_best = 0, peak_mb = 0;
};

constexpr double kMiB = 1024.0 * 1024.0;

}  // namespace

int main(int argc, char** argv) {
  std::string cases_arg = "dense,moe,small-dense,small-moe", extra_case, foreach_arg = "false";
  std::string precision = "fp32";
  std::string checkpoint_arg = "none";
  int steps = 5, warmup = 2, threads = 2;
  bool use_torch = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      SF_CHECK(i + 1 < argc) << a << " needs a value";
      return argv[++i];
    };
    if (a == "--cases") cases_arg = next();
    else if (a == "--steps") steps = std::stoi(next());
    else if (a == "--warmup") warmup = std::stoi(next());
    else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--case") extra_case = next();
    else if (a == "--foreach") foreach_arg = next();
    else if (a == "--no-torch") use_torch = false;
    else if (a == "--precision") precision = next();
    else if (a == "--checkpoint") checkpoint_arg = next();
    else {
      std::fprintf(stderr, "usage: %s [--cases a,b] [--steps N] [--warmup N] [--threads N] "
                   "[--case FILE.json] [--foreach true|false] [--no-torch] "
                   "[--precision fp32|bf16] [--checkpoint none,attention,block]\n", argv[0]);
      return 2;
    }
  }
  const bool profile = std::getenv("SEEKFORGE_PROFILE") && std::getenv("SEEKFORGE_PROFILE")[0] == '1';
  set_num_threads(threads);
  std::vector<nn::Recompute> modes;
  std::vector<std::string> mode_names;
  {
    std::stringstream ss(checkpoint_arg);
    std::string name;
    while (std::getline(ss, name, ',')) {
      modes.push_back(nn::parse_recompute(name));
      mode_names.push_back(name);
    }
    SF_CHECK(!modes.empty()) << "train_vs_torch: --checkpoint needs at least one mode";
  }
  const std::string script = seekforge::bench::source_path("bench/train_vs_torch.py");
  if (script.empty()) use_torch = false;

  json all = json::parse(kBuiltinCases);
  if (!extra_case.empty()) {
    std::ifstream in(extra_case);
    SF_CHECK(in.good()) << "train_vs_torch: cannot read " << extra_case;
    json c = json::parse(in);
    all.push_back(c);
    cases_arg += "," + c.at("name").get<std::string>();
  }
  std::vector<Case> cases;
  {
    std::stringstream ss(cases_arg);
    std::string name;
    while (std::getline(ss, name, ',')) {
      bool found = false;
      for (const json& c : all)
        if (c.at("name") == name) {
          cases.push_back(make_case(all, c));
          found = true;
        }
      SF_CHECK(found) << "train_vs_torch: unknown case " << name;
    }
  }

  const DType lowp_dtype = ops::precision_dtype(precision);
  SF_CHECK(lowp_dtype != DType::f16) << "train_vs_torch: --precision fp32 or bf16";
  const double t_start = now_seconds();
  std::printf("train_vs_torch: %d threads, %s, warmup %d, timed steps %d, load average %s\n",
              threads, precision.c_str(), warmup, steps, load_average().c_str());
  const auto [peak_best, peak_med] = measure_gemm_peak(lowp_dtype);
  std::printf("%s GEMM peak (kernels::gemm 2048^3): best %.1f GFLOP/s, median %.1f\n",
              precision.c_str(), peak_best, peak_med);

  std::vector<Result> results;
  std::vector<ModeResult> mode_results;
  bool all_agree = true;
  for (const Case& c : cases) {
    Result r;
    r.name = c.name;
    const int64_t B = c.batch, T = c.seq_len;
    r.tokens = B * T;
    std::printf("\n[%s] B=%lld T=%lld %s\n", c.name.c_str(), static_cast<long long>(B),
                static_cast<long long>(T), model_to_json(c.model).dump().c_str());
    std::fflush(stdout);
    empty_cache();
    Generator gen(1234);
    nn::Transformer model(c.model, gen);
    r.params = model.num_parameters();
    r.active = model.active_parameters();
    r.flops_per_token = model.flops_per_token(T);
    const Tokens tok = random_tokens(B, T, c.model.vocab_size, 42);
    json cfg = {{"name", c.name}, {"batch_size", B}, {"seq_len", T},
                {"model", model_to_json(c.model)}};
    // Per process: two benchmark runs at once must not delete each other's files.
    const std::string tmp_base =
        "/tmp/seekforge_train_vs_torch_" + std::to_string(::getpid()) + "_" + c.name;
    const std::string cfg_path = tmp_base + ".json";
    std::ofstream(cfg_path) << cfg.dump(1);

    // Step-0 loss agreement, not timed.
    {
      autograd::NoGradGuard ng;
      r.loss_ours = model.forward(tok.ids, tok.labels).loss.item_double();
    }
    if (use_torch) {
      const std::string w_path = tmp_base + ".safetensors";
      NamedTensors tensors = model.named_parameters();
      for (auto& b : model.named_buffers()) tensors.push_back(b);
      tensors.emplace_back("input_ids", tok.ids);
      tensors.emplace_back("labels", tok.labels);
      save_tensors(w_path, tensors);
      auto f = run_torch(script, threads, "--mode verify --config " + cfg_path + " --weights " +
                                              w_path, "torch_loss ");
      std::remove(w_path.c_str());
      if (f.count("value")) {
        r.loss_torch = std::atof(f["value"].c_str());
        r.loss_checked = true;
        const double diff = std::fabs(r.loss_ours - r.loss_torch);
        std::printf("  step-0 loss: ours %.6f, torch %.6f, |diff| %.2e %s\n", r.loss_ours,
                    r.loss_torch, diff, diff <= 1e-4 ? "(agree)" : "(DISAGREE)");
        if (!(diff <= 1e-4)) all_agree = false;
      } else {
        std::printf("  step-0 loss: ours %.6f, torch side failed\n", r.loss_ours);
        all_agree = false;
      }
    }

    // Timed steps. Memory: what the steps add over the weights (optimiser state made here,
    // gradients, activations), and the absolute peak. With several checkpointing modes the steps
    // cycle through them: the gradients are the same bits in every mode, so the run is the one
    // a single mode would make, and a change of load on the machine reaches every mode alike.
    const size_t live_before = allocator_stats().live_bytes;
    const double rss_before = proc_status_mb("VmRSS");
    const bool hwm_reset = reset_hwm();
    {
      optim::AdamW opt(param_groups(model), optim::AdamWOptions{0.9, 0.95, 1e-8});
      const std::vector<Tensor> params = model.parameters();
      const int n_modes = static_cast<int>(modes.size());
      std::vector<PhaseTimes> times(modes.size());
      std::vector<size_t> peaks(modes.size(), 0);
      size_t peak = 0;
      nn::ForwardOptions fo;
      ops::LowpWeights lowp;
      ops::AutocastScope autocast(lowp_dtype, &lowp);
      for (int s = 0; s < (warmup + steps) * n_modes; ++s) {
        const int mi = s % n_modes;
        fo.checkpoint_activations = modes[mi];
        reset_peak_bytes();
        train_step(model, opt, params, tok, fo, s >= warmup * n_modes ? &times[mi] : nullptr,
                   &lowp);
        peaks[mi] = std::max(peaks[mi], allocator_stats().peak_bytes);
        peak = std::max(peak, peaks[mi]);
      }
      for (int mi = 0; mi < n_modes; ++mi) {
        const std::vector<int64_t>& a = times[mi].activations;
        ModeResult mr{c.name, mode_names[mi],
                      static_cast<double>(*std::max_element(a.begin(), a.end())) / kMiB,
                      median(times[mi].total),
                      *std::min_element(times[mi].total.begin(), times[mi].total.end()),
                      static_cast<double>(peaks[mi]) / kMiB};
        mode_results.push_back(mr);
        if (n_modes > 1)
          std::printf("  checkpoint_activations = %s: activations %.1f MiB, median %.3f s\n",
                      mr.mode.c_str(), mr.activations_mb, mr.step_med);
      }
      r.ours_med = median(times[0].total);
      r.ours_best = *std::min_element(times[0].total.begin(), times[0].total.end());
      r.ours_peak_mb = static_cast<double>(peak) / kMiB;
      r.ours_growth_mb = static_cast<double>(peak - live_before) / kMiB;
      r.ours_rss_peak_mb = hwm_reset ? proc_status_mb("VmHWM") : -1;
      r.ours_rss_growth_mb = hwm_reset ? r.ours_rss_peak_mb - rss_before : -1;
      print_phases(times[0]);
    }
    std::printf("  ours: median %.3f s, best %.3f s, peak live %.0f MiB (+%.0f over weights)\n",
                r.ours_med, r.ours_best, r.ours_peak_mb, r.ours_growth_mb);
    std::fflush(stdout);
    if (profile) profile_case(c, model);

    if (use_torch) {
      auto f = run_torch(script, threads,
                         "--mode bench --config " + cfg_path + " --warmup " +
                             std::to_string(warmup) + " --steps " + std::to_string(steps) +
                             " --foreach " + foreach_arg + " --precision " + precision,
                         "torch_result ");
      if (f.count("step_median")) {
        r.torch_ok = true;
        r.torch_med = std::atof(f["step_median"].c_str());
        r.torch_best = std::atof(f["step_best"].c_str());
        r.torch_rss_growth_mb = std::atof(f["rss_growth_mb"].c_str());
        r.torch_rss_peak_mb = std::atof(f["rss_peak_mb"].c_str());
        r.foreach = std::atoi(f["foreach"].c_str());
        std::printf("  torch: median %.3f s, best %.3f s, RSS growth %.0f MiB (times %s)\n",
                    r.torch_med, r.torch_best, r.torch_rss_growth_mb, f["times"].c_str());
      } else {
        std::printf("  torch side failed\n");
      }
    }
    std::remove(cfg_path.c_str());
    results.push_back(r);
  }

  // The side-by-side table (markdown, pasted into docs/performance.md).
  std::printf("\n%s GEMM peak for MFU: %.1f GFLOP/s (best of 6, 2048^3 kernels::gemm)\n",
              precision.c_str(), peak_best);
  std::printf("\n| case | params (active) | GFLOP/step | step ours med (best) s | step torch "
              "med (best) s | tok/s ours | tok/s torch | ours/torch | MFU ours | MFU torch | "
              "peak mem ours: live (+steps) / RSS+ MiB | torch RSS+ MiB | loss ours / torch |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const Result& r : results) {
    const double flops = r.flops_per_token * static_cast<double>(r.tokens);
    const double tps_ours = static_cast<double>(r.tokens) / r.ours_med;
    const double tps_torch = r.torch_ok ? static_cast<double>(r.tokens) / r.torch_med : 0;
    const double mfu_ours = flops / r.ours_med / (peak_best * 1e9);
    const double mfu_torch = r.torch_ok ? flops / r.torch_med / (peak_best * 1e9) : 0;
    std::printf("| %s | %.1fM (%.1fM) | %.0f | %.2f (%.2f) | %.2f (%.2f) | %.0f | %.0f | %.2fx | "
                "%.1f%% | %.1f%% | %.0f (+%.0f) / +%.0f | +%.0f | %.5f / %.5f |\n",
                r.name.c_str(), r.params / 1e6, r.active / 1e6, flops / 1e9, r.ours_med,
                r.ours_best, r.torch_med, r.torch_best, tps_ours, tps_torch,
                r.torch_ok ? r.torch_med / r.ours_med : 0.0, 100 * mfu_ours, 100 * mfu_torch,
                r.ours_peak_mb, r.ours_growth_mb, r.ours_rss_growth_mb, r.torch_rss_growth_mb,
                r.loss_ours, r.loss_torch);
  }
  if (modes.size() > 1 || modes[0] != nn::Recompute::none) {
    std::printf("\nactivation checkpointing (ours; ratios against \"none\" of the same case and "
                "run):\n\n| case | checkpoint_activations | activations MiB | vs none | step "
                "median s | vs none | step best s | vs none | peak live MiB |\n"
                "|---|---|---|---|---|---|---|---|---|\n");
    for (const ModeResult& m : mode_results) {
      const ModeResult* none = nullptr;
      for (const ModeResult& o : mode_results)
        if (o.name == m.name && o.mode == "none") none = &o;
      char act_ratio[32] = "-", med_ratio[32] = "-", best_ratio[32] = "-";
      if (none) {
        std::snprintf(act_ratio, sizeof act_ratio, "%.2f", m.activations_mb / none->activations_mb);
        std::snprintf(med_ratio, sizeof med_ratio, "%.2f", m.step_med / none->step_med);
        std::snprintf(best_ratio, sizeof best_ratio, "%.2f", m.step_best / none->step_best);
      }
      std::printf("| %s | %s | %.1f | %s | %.3f | %s | %.3f | %s | %.0f |\n", m.name.c_str(),
                  m.mode.c_str(), m.activations_mb, act_ratio, m.step_med, med_ratio, m.step_best,
                  best_ratio, m.peak_mb);
    }
  }
  std::printf("\nPyTorch AdamW foreach=%s; total time %.0f s; load average now %s\n",
              foreach_arg.c_str(), now_seconds() - t_start, load_average().c_str());
  if (!all_agree) std::printf("LOSS CHECK FAILED: the two sides disagree at step 0\n");
  return all_agree ? 0 : 1;
}
