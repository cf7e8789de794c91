#include "nn/transformer.h"

#include "autograd/checkpoint.h"
#include "autograd/node.h"
#include "ops/elementwise.h"
#include "ops/index.h"
#include "ops/loss.h"
#include "ops/matmul.h"
#include "ops/shape.h"

namespace seekforge::nn {

Block::Block(const ModelConfig& c, bool use_moe, Generator& gen) {
  input_norm_ = register_module("input_layernorm", std::make_unique<RMSNorm>(c.d_model, c.norm_eps));
  attn_ = register_module("self_attn", std::make_unique<Attention>(c, gen));
  post_norm_ =
      register_module("post_attention_layernorm", std::make_unique<RMSNorm>(c.d_model, c.norm_eps));
  if (use_moe)
    moe_ = register_module("mlp", std::make_unique<MoE>(c, gen));
  else
    dense_ = register_module("mlp", std::make_unique<SwiGLU>(c.d_model, c.d_ff, c.init_std, gen));
}

Recompute parse_recompute(const std::string& name) {
  if (name == "none") return Recompute::none;
  if (name == "attention") return Recompute::attention;
  if (name == "block") return Recompute::block;
  SF_FAIL() << "unknown activation checkpointing mode '" << name
            << "' (train.checkpoint_activations: expected none, attention or block)";
}

Tensor Block::forward(const Tensor& h, int64_t start_pos, LayerCache* cache, Tensor* aux_loss,
                      AttentionCapture* attention_capture, MoeCapture* moe_capture,
                      bool recompute_attention) {
  Tensor a;
  if (recompute_attention) {
    SF_CHECK(cache == nullptr && attention_capture == nullptr)
        << "Block: the attention sublayer is recomputed only in training (no cache, no capture)";
    a = autograd::checkpoint(
        [this, start_pos](const std::vector<Tensor>& in) {
          return std::vector<Tensor>{attn_->forward(input_norm_->forward(in[0]), start_pos)};
        },
        {h})[0];
  } else {
    a = attn_->forward(input_norm_->forward(h), start_pos, cache, attention_capture);
  }
  Tensor h1 = ops::add(h, a);
  Tensor x = post_norm_->forward(h1);
  Tensor f = moe_ ? moe_->forward(x, aux_loss, moe_capture) : dense_->forward(x);
  return ops::add(h1, f);
}

MtpLayer::MtpLayer(const ModelConfig& c, bool use_moe, Generator& gen) : Block(c, use_moe, gen) {
  enorm = register_module("enorm", std::make_unique<RMSNorm>(c.d_model, c.norm_eps));
  hnorm = register_module("hnorm", std::make_unique<RMSNorm>(c.d_model, c.norm_eps));
  eh_proj = register_module("eh_proj", std::make_unique<Linear>(2 * c.d_model, c.d_model, c.init_std, gen));
  auto shared_head = std::make_unique<Container>();
  head_norm = shared_head->add("norm", std::make_unique<RMSNorm>(c.d_model, c.norm_eps));
  register_module("shared_head", std::move(shared_head));
}

Transformer::Transformer(const ModelConfig& c, Generator& gen) : config_(c) {
  Container* body = register_module("model", std::make_unique<Container>());
  embed_ = body->add("embed_tokens",
                                std::make_unique<Embedding>(c.vocab_size, c.d_model, c.init_std, gen));
  auto layers = std::make_unique<ModuleList>();
  for (int64_t i = 0; i < c.n_layers; ++i)
    layers_.push_back(layers->add(
        std::make_unique<Block>(c, c.moe.has_value() && i >= c.first_dense_layers, gen)));
  const bool mtp_moe = c.moe.has_value();
  if (c.mtp)
    for (int64_t k = 0; k < c.mtp->depth; ++k)
      mtp_.push_back(layers->add(std::make_unique<MtpLayer>(c, mtp_moe, gen)));
  body->add("layers", std::move(layers));
  norm_ = body->add("norm", std::make_unique<RMSNorm>(c.d_model, c.norm_eps));
  if (!c.tie_embeddings)
    lm_head_ = register_module("lm_head",
                               std::make_unique<Linear>(c.d_model, c.vocab_size, c.init_std, gen));
}

std::vector<LayerCache> Transformer::make_cache(int64_t batch, int64_t capacity) const {
  std::vector<LayerCache> caches;
  for (Block* b : layers_) caches.push_back(b->attention().make_cache(batch, capacity));
  return caches;
}

std::vector<MoE*> Transformer::moe_layers() const {
  std::vector<MoE*> out;
  for (Block* b : layers_)
    if (b->moe()) out.push_back(b->moe());
  for (MtpLayer* m : mtp_)
    if (m->moe()) out.push_back(m->moe());
  return out;
}

void Transformer::update_expert_biases(const std::vector<std::vector<int64_t>>& loads) {
  auto layers = moe_layers();
  SF_CHECK(loads.size() == layers.size())
      << "update_expert_biases: " << loads.size() << " load vectors for " << layers.size()
      << " MoE layers";
  for (size_t i = 0; i < layers.size(); ++i) layers[i]->update_bias(loads[i]);
}

std::vector<Tensor> Transformer::decay_parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters())
    if (t.dim() >= 2) out.push_back(t);
  return out;
}

std::vector<Tensor> Transformer::no_decay_parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters())
    if (t.dim() < 2) out.push_back(t);
  return out;
}

int64_t Transformer::active_parameters() const {
  // Every parameter less the routed experts a token does not use.
  int64_t active = num_parameters();
  const int64_t moe_layers_count = static_cast<int64_t>(moe_layers().size());
  if (moe_layers_count > 0) {
    const int64_t per_expert = 3 * config_.d_model * config_.moe->d_expert;
    active -= moe_layers_count * per_expert * (config_.moe->n_routed_experts - config_.moe->top_k);
  }
  return active;
}

double Transformer::flops_per_token(int64_t seq_len) const {
  // 6 per active matmul weight (forward 2, backward 4), plus attention scores and values:
  // 6 * 2 * layers * heads * head dims * (visible keys, on average T/2 or the window).
  double visible = config_.window > 0 ? std::min<double>(config_.window, seq_len) : seq_len / 2.0;
  double qk = config_.head_dim, vd = config_.head_dim;
  if (config_.attention == "mla") {
    qk = static_cast<double>(config_.mla->qk_nope_head_dim + config_.mla->qk_rope_head_dim);
    vd = static_cast<double>(config_.mla->v_head_dim);
  }
  const double layers = static_cast<double>(config_.n_layers + (config_.mtp ? config_.mtp->depth : 0));
  const double attn = 6.0 * layers * static_cast<double>(config_.n_heads) * (qk + vd) * visible;
  // The embedding is a lookup, not a matmul (unless it doubles as the tied head).
  double matmul_params = static_cast<double>(active_parameters());
  if (lm_head_ != nullptr) matmul_params -= static_cast<double>(embed_->weight().numel());
  return 6.0 * matmul_params + attn;
}

ModelOutput Transformer::forward(const Tensor& ids, const Tensor& labels,
                                 const ForwardOptions& opt) {
  SF_CHECK(ids.defined() && ids.dim() == 2 && ids.dtype() == DType::i64)
      << "model: input_ids must be i64 [B, T], got " << ids.describe();
  const int64_t B = ids.size(0), T = ids.size(1), V = config_.vocab_size;
  SF_CHECK(opt.start_pos + T <= config_.max_seq_len)
      << "model: positions up to " << opt.start_pos + T << " exceed max_seq_len "
      << config_.max_seq_len;
  if (labels.defined()) {
    SF_CHECK(labels.shape() == ids.shape() && labels.dtype() == DType::i64)
        << "model: labels " << labels.describe() << " do not match input_ids " << ids.describe();
  }
  if (opt.cache) {
    SF_CHECK(opt.cache->size() == layers_.size())
        << "model: cache has " << opt.cache->size() << " layers, the model " << layers_.size();
  }

  if (opt.inputs_embeds.defined()) {
    SF_CHECK(opt.inputs_embeds.shape() == Shape({B, T, config_.d_model}))
        << "model: inputs_embeds " << opt.inputs_embeds.describe() << " do not match input_ids "
        << ids.describe() << " and d_model " << config_.d_model;
  }
  Inspection* inspect = opt.inspect;
  if (inspect) {
    inspect->attention.assign(inspect->capture_attention ? layers_.size() : 0, {});
    inspect->moe.clear();
    if (inspect->capture_moe)
      for (size_t i = 0; i < layers_.size(); ++i)
        if (layers_[i]->moe())
          inspect->moe.push_back(MoeCapture{static_cast<int64_t>(i), {}, {}, {}});
  }

  ModelOutput out;
  Tensor aux;
  Tensor h = opt.inputs_embeds.defined() ? opt.inputs_embeds : embed_->forward(ids);
  size_t moe_seen = 0;
  // Recomputation saves memory for backward only: nothing to save without grad or when decoding.
  const Recompute recompute = autograd::grad_enabled() && opt.cache == nullptr
                                  ? opt.checkpoint_activations
                                  : Recompute::none;
  for (size_t i = 0; i < layers_.size(); ++i) {
    Block* block = layers_[i];
    LayerCache* cache = opt.cache ? &(*opt.cache)[i] : nullptr;
    if (inspect) {
      AttentionCapture* ac = inspect->capture_attention ? &inspect->attention[i] : nullptr;
      MoeCapture* mc = nullptr;
      if (block->moe() && inspect->capture_moe) mc = &inspect->moe[moe_seen++];
      h = block->forward(h, opt.start_pos, cache, &aux, ac, mc);
    } else if (recompute == Recompute::block) {
      const bool has_moe = block->moe() != nullptr;
      auto outs = autograd::checkpoint(
          [block, has_moe, start = opt.start_pos](const std::vector<Tensor>& in) {
            Tensor a;
            Tensor y = block->forward(in[0], start, nullptr, &a);
            if (has_moe && a.defined()) return std::vector<Tensor>{y, a};
            return std::vector<Tensor>{y};
          },
          {h});
      h = outs[0];
      if (outs.size() > 1) aux = aux.defined() ? ops::add(aux, outs[1]) : outs[1];
    } else {
      h = block->forward(h, opt.start_pos, cache, &aux, nullptr, nullptr,
                         recompute == Recompute::attention);
    }
  }
  const Tensor& head = lm_head_ ? lm_head_->weight() : embed_->weight();
  out.hidden = norm_->forward(h);
  out.logits = ops::linear(out.hidden, head);
  if (!labels.defined()) return out;

  out.ce_loss = ops::cross_entropy(ops::reshape(out.logits, {B * T, V}),
                                   ops::reshape(labels, {B * T}), opt.label_smoothing);
  out.loss = out.ce_loss;
  Tensor prev = h;
  std::vector<Tensor> mtp_losses;
  for (size_t k = 1; k <= mtp_.size() && static_cast<int64_t>(k) < T; ++k) {
    MtpLayer* m = mtp_[k - 1];
    const int64_t L = T - static_cast<int64_t>(k);
    Tensor e = m->enorm->forward(embed_->forward(ops::narrow(ids, 1, k, L)));
    Tensor hp = m->hnorm->forward(ops::narrow(prev, 1, 0, L));
    Tensor u = m->eh_proj->forward(ops::concat({e, hp}, 2));
    Tensor hk = m->forward(u, 0, nullptr, &aux);
    Tensor lk = ops::linear(m->head_norm->forward(hk), head);
    mtp_losses.push_back(ops::cross_entropy(ops::reshape(lk, {B * L, V}),
                                            ops::reshape(ops::narrow(labels, 1, k, L), {B * L}),
                                            opt.label_smoothing));
    prev = hk;
  }
  if (aux.defined()) {
    out.aux_loss = aux;
    out.loss = ops::add(out.loss, aux);
  }
  if (!mtp_losses.empty()) {
    Tensor sum = mtp_losses[0];
    for (size_t i = 1; i < mtp_losses.size(); ++i) sum = ops::add(sum, mtp_losses[i]);
    out.mtp_loss = ops::mul(sum, 1.0 / static_cast<double>(mtp_losses.size()));
    out.loss = ops::add(out.loss, ops::mul(out.mtp_loss, config_.mtp->loss_weight));
  }
  return out;
}

}  // namespace seekforge::nn
