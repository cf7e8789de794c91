#include "nn/attention.h"

#include <cmath>

#include "autograd/node.h"
#include "ops/attention.h"
#include "ops/index.h"
#include "ops/rope.h"
#include "ops/shape.h"

namespace seekforge::nn {

int64_t LayerCache::capacity() const {
  if (k.defined()) return k.size(1);
  if (latent.defined()) return latent.size(1);
  return 0;
}

Attention::Attention(const ModelConfig& c, Generator& gen) : config_(c) {
  const double s = c.init_std;
  const int64_t D = c.d_model, H = c.n_heads;
  mla_ = c.attention == "mla";
  if (!mla_) {
    const int64_t KV = c.n_kv_heads, hd = c.head_dim;
    q_proj_ = register_module("q_proj", std::make_unique<Linear>(D, H * hd, s, gen));
    k_proj_ = register_module("k_proj", std::make_unique<Linear>(D, KV * hd, s, gen));
    v_proj_ = register_module("v_proj", std::make_unique<Linear>(D, KV * hd, s, gen));
    o_proj_ = register_module("o_proj", std::make_unique<Linear>(H * hd, D, s, gen));
    return;
  }
  SF_CHECK(c.mla.has_value()) << "attention = \"mla\" needs a [model.mla] table";
  const MlaConfig& m = *c.mla;
  const int64_t qk = m.qk_nope_head_dim + m.qk_rope_head_dim;
  if (m.q_lora_rank == 0) {
    q_proj_ = register_module("q_proj", std::make_unique<Linear>(D, H * qk, s, gen));
  } else {
    q_a_proj_ = register_module("q_a_proj", std::make_unique<Linear>(D, m.q_lora_rank, s, gen));
    q_a_norm_ = register_module("q_a_layernorm", std::make_unique<RMSNorm>(m.q_lora_rank, c.norm_eps));
    q_b_proj_ = register_module("q_b_proj", std::make_unique<Linear>(m.q_lora_rank, H * qk, s, gen));
  }
  kv_a_proj_ = register_module(
      "kv_a_proj_with_mqa",
      std::make_unique<Linear>(D, m.kv_lora_rank + m.qk_rope_head_dim, s, gen));
  kv_a_norm_ = register_module("kv_a_layernorm", std::make_unique<RMSNorm>(m.kv_lora_rank, c.norm_eps));
  kv_b_proj_ = register_module(
      "kv_b_proj",
      std::make_unique<Linear>(m.kv_lora_rank, H * (m.qk_nope_head_dim + m.v_head_dim), s, gen));
  o_proj_ = register_module("o_proj", std::make_unique<Linear>(H * m.v_head_dim, D, s, gen));
}

LayerCache Attention::make_cache(int64_t batch, int64_t capacity) const {
  LayerCache c;
  if (!mla_) {
    c.k = zeros({batch, capacity, config_.n_kv_heads, config_.head_dim});
    c.v = zeros({batch, capacity, config_.n_kv_heads, config_.head_dim});
  } else {
    c.latent = zeros({batch, capacity, config_.mla->kv_lora_rank});
    c.k_rope = zeros({batch, capacity, 1, config_.mla->qk_rope_head_dim});
  }
  return c;
}

Tensor Attention::forward(const Tensor& x, int64_t start_pos, LayerCache* cache,
                          AttentionCapture* capture) const {
  SF_CHECK(x.dim() == 3 && x.size(2) == config_.d_model)
      << "attention: expected [B, T, " << config_.d_model << "], got " << x.describe();
  if (cache) {
    SF_CHECK(start_pos == cache->length)
        << "attention: start position " << start_pos << " but the cache holds " << cache->length;
    SF_CHECK(cache->length + x.size(1) <= cache->capacity())
        << "attention: cache of " << cache->capacity() << " positions is full ("
        << cache->length << " + " << x.size(1) << ")";
  }
  return mla_ ? forward_mla(x, start_pos, cache, capture)
              : forward_mha(x, start_pos, cache, capture);
}

namespace {
// Writes `fresh` [B, T, ...] into cache rows [at, at+T) and returns rows [0, at+T).
Tensor append(Tensor& store, const Tensor& fresh, int64_t at) {
  autograd::NoGradGuard no_grad;
  store.narrow(1, at, fresh.size(1)).copy_(fresh);
  return store.narrow(1, 0, at + fresh.size(1));
}

void record(AttentionCapture* capture, const Tensor& q, const Tensor& k, const Tensor& v,
            const Tensor& out, double scale, int64_t window) {
  autograd::NoGradGuard no_grad;
  capture->probs = attention_probabilities(q, k, scale, window);
  capture->values = v.detach().contiguous();
  capture->context = out.detach().contiguous();
}
}  // namespace

Tensor Attention::forward_mha(const Tensor& x, int64_t start_pos, LayerCache* cache,
                              AttentionCapture* capture) const {
  const int64_t B = x.size(0), T = x.size(1), H = config_.n_heads, KV = config_.n_kv_heads,
                hd = config_.head_dim;
  Tensor q = ops::view(q_proj_->forward(x), {B, T, H, hd});
  Tensor k = ops::view(k_proj_->forward(x), {B, T, KV, hd});
  Tensor v = ops::view(v_proj_->forward(x), {B, T, KV, hd});
  q = ops::rope(q, start_pos, config_.rope_theta);
  k = ops::rope(k, start_pos, config_.rope_theta);
  if (cache) {
    k = append(cache->k, k, cache->length);
    v = append(cache->v, v, cache->length);
    cache->length += T;
  }
  ops::AttentionOptions opt;
  opt.window = config_.window;
  Tensor out = ops::attention(q, k, v, opt);
  if (capture) record(capture, q, k, v, out, 1.0 / std::sqrt(static_cast<double>(hd)), opt.window);
  return o_proj_->forward(ops::view(out, {B, T, H * hd}));
}

Tensor Attention::forward_mla(const Tensor& x, int64_t start_pos, LayerCache* cache,
                              AttentionCapture* capture) const {
  const MlaConfig& m = *config_.mla;
  const int64_t B = x.size(0), T = x.size(1), H = config_.n_heads;
  const int64_t n = m.qk_nope_head_dim, r = m.qk_rope_head_dim, dv = m.v_head_dim,
                c = m.kv_lora_rank;
  Tensor q = q_proj_ ? q_proj_->forward(x)
                     : q_b_proj_->forward(q_a_norm_->forward(q_a_proj_->forward(x)));
  q = ops::rope(ops::view(q, {B, T, H, n + r}), start_pos, config_.rope_theta, r, n);
  Tensor kv_a = kv_a_proj_->forward(x);
  Tensor latent = kv_a_norm_->forward(ops::narrow(kv_a, 2, 0, c));
  Tensor k_rope = ops::rope(ops::reshape(ops::narrow(kv_a, 2, c, r), {B, T, 1, r}), start_pos,
                            config_.rope_theta);
  if (cache) {
    latent = append(cache->latent, latent, cache->length);
    k_rope = append(cache->k_rope, k_rope, cache->length);
    cache->length += T;
  }
  const int64_t L = latent.size(1);
  Tensor kv = ops::view(kv_b_proj_->forward(latent), {B, L, H, n + dv});
  Tensor k = ops::concat({ops::narrow(kv, 3, 0, n), ops::expand(k_rope, {B, L, H, r})}, 3);
  Tensor v = ops::narrow(kv, 3, n, dv);
  ops::AttentionOptions opt;
  opt.window = config_.window;
  opt.scale = 1.0 / std::sqrt(static_cast<double>(n + r));
  Tensor out = ops::attention(q, k, v, opt);
  if (capture) record(capture, q, k, v, out, opt.scale, opt.window);
  return o_proj_->forward(ops::view(out, {B, T, H * dv}));
}

}  // namespace seekforge::nn
