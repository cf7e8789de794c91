// Self-attention layers: `mha` (multi-head with grouped-query heads, RoPE, optional sliding
// window) and `mla` (multi-head latent attention with low-rank q/kv projections and decoupled
// RoPE dims). docs/model.md gives the exact computation and parameter shapes.
#pragma once

#include "io/config.h"
#include "nn/inspect.h"
#include "nn/layers.h"

namespace seekforge::nn {

// One layer's key/value cache for incremental decoding. mha keeps post-RoPE keys and values;
// mla keeps only its normed latent and the shared RoPE key (the latent is what makes it small).
struct LayerCache {
  Tensor k, v;            // mha: [B, capacity, KV, hd]
  Tensor latent, k_rope;  // mla: [B, capacity, kv_lora_rank], [B, capacity, 1, qk_rope_head_dim]
  int64_t length = 0;     // positions filled
  int64_t capacity() const;
};

class Attention : public Module {
 public:
  Attention(const ModelConfig& config, Generator& gen);
  // x [B, T, D] at positions start_pos .. start_pos+T-1. With a cache, the new keys are appended
  // (start_pos must equal cache->length) and the queries attend to everything cached. With
  // `capture`, the layer's probabilities, values and pre-o_proj output are recorded there.
  Tensor forward(const Tensor& x, int64_t start_pos = 0, LayerCache* cache = nullptr,
                 AttentionCapture* capture = nullptr) const;
  // An empty cache for `batch` sequences of up to `capacity` positions.
  LayerCache make_cache(int64_t batch, int64_t capacity) const;

 private:
  Tensor forward_mha(const Tensor& x, int64_t start_pos, LayerCache* cache,
                     AttentionCapture* capture) const;
  Tensor forward_mla(const Tensor& x, int64_t start_pos, LayerCache* cache,
                     AttentionCapture* capture) const;

  ModelConfig config_;
  bool mla_ = false;
  // mha
  Linear *q_proj_ = nullptr, *k_proj_ = nullptr, *v_proj_ = nullptr;
  // mla
  Linear *q_a_proj_ = nullptr, *q_b_proj_ = nullptr, *kv_a_proj_ = nullptr, *kv_b_proj_ = nullptr;
  RMSNorm *q_a_norm_ = nullptr, *kv_a_norm_ = nullptr;
  Linear* o_proj_ = nullptr;
};

}  // namespace seekforge::nn
