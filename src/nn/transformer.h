// The DeepSeek-style transformer: embedding, n_layers blocks (attention + dense or MoE FFN),
// final RMSNorm and the LM head, plus the optional multi-token-prediction modules. Parameter
// names follow the Hugging Face DeepSeek-V3 layout (docs/model.md).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "io/config.h"
#include "nn/attention.h"
#include "nn/moe.h"

namespace seekforge::nn {

class Block : public Module {
 public:
  // use_moe: this layer's FFN is the MoE (else the dense SwiGLU).
  Block(const ModelConfig& config, bool use_moe, Generator& gen);
  // h [B, T, D] -> [B, T, D]; the MoE balance loss is added to *aux_loss. The captures, when
  // given, record the attention (and, for an MoE layer, the routing) of this call.
  // recompute_attention: the attention sublayer (input_layernorm + attention) keeps no
  // activations and is run again in backward; needs grad mode, no cache and no capture.
  Tensor forward(const Tensor& h, int64_t start_pos, LayerCache* cache, Tensor* aux_loss,
                 AttentionCapture* attention_capture = nullptr, MoeCapture* moe_capture = nullptr,
                 bool recompute_attention = false);
  Attention& attention() { return *attn_; }
  MoE* moe() { return moe_; }  // null for a dense layer

 private:
  RMSNorm* input_norm_;
  Attention* attn_;
  RMSNorm* post_norm_;
  SwiGLU* dense_ = nullptr;
  MoE* moe_ = nullptr;
};

// A multi-token-prediction module: a Block plus the projections that feed it (names enorm,
// hnorm, eh_proj, shared_head.norm beside the block's own).
class MtpLayer : public Block {
 public:
  MtpLayer(const ModelConfig& config, bool use_moe, Generator& gen);
  RMSNorm *enorm, *hnorm, *head_norm;
  Linear* eh_proj;
};

// Activation checkpointing: what a training forward does not keep for backward and recomputes
// there instead. attention: each trunk block's attention sublayer (input_layernorm, the
// projections, RoPE, the kernel); the FFN / MoE keeps its activations. block: each whole trunk
// block. The MTP modules are never recomputed. Gradients are the same bits in every mode.
enum class Recompute { none, attention, block };
// The value of train.checkpoint_activations ("none", "attention", "block"); throws on others.
Recompute parse_recompute(const std::string& name);

struct ForwardOptions {
  double label_smoothing = 0.0;
  int64_t start_pos = 0;
  std::vector<LayerCache>* cache = nullptr;  // one per trunk layer; decoding only
  Recompute checkpoint_activations = Recompute::none;  // training only: no cache, no inspect
  // Opt-in record of attention probabilities and MoE routing (nn/inspect.h); blocks are then
  // not checkpointed.
  Inspection* inspect = nullptr;
  // [B, T, D]: used instead of the embedding lookup of input_ids (which still give the shape
  // and the MTP inputs), e.g. a tensor whose gradient the caller wants (saliency).
  Tensor inputs_embeds;
};

struct ModelOutput {
  Tensor logits;    // [B, T, V]
  Tensor hidden;    // [B, T, D]: the final normed hidden states the LM head reads (value heads read them too)
  Tensor loss;      // ce + aux + mtp weight * mtp (defined when labels are given)
  Tensor ce_loss;   // next-token cross-entropy
  Tensor aux_loss;  // sum of the MoE balance losses (undefined when off)
  Tensor mtp_loss;  // mean over MTP depths (undefined when off)
};

class Transformer : public Module {
 public:
  Transformer(const ModelConfig& config, Generator& gen);
  // input_ids [B, T] i64; labels [B, T] i64 (-100 ignored) or undefined.
  ModelOutput forward(const Tensor& input_ids, const Tensor& labels,
                      const ForwardOptions& options = {});
  const ModelConfig& config() const { return config_; }
  const Embedding& embedding() const { return *embed_; }
  std::vector<LayerCache> make_cache(int64_t batch, int64_t capacity) const;
  // Every MoE layer (trunk first, then MTP), in order.
  std::vector<MoE*> moe_layers() const;
  // Applies the auxiliary-loss-free bias update with per-layer loads (as moe_layers()).
  void update_expert_biases(const std::vector<std::vector<int64_t>>& loads);
  // Parameters that get weight decay (matrices) and those that do not (norms, 1-d).
  std::vector<Tensor> decay_parameters() const;
  std::vector<Tensor> no_decay_parameters() const;
  // Model FLOPs per token of one training step (forward + backward: 6 per active matmul weight,
  // plus attention), for MFU.
  double flops_per_token(int64_t seq_len) const;
  // Parameters a token uses: all of them less the routed experts it is not sent to.
  int64_t active_parameters() const;

 private:
  ModelConfig config_;
  Embedding* embed_;
  std::vector<Block*> layers_;
  std::vector<MtpLayer*> mtp_;
  RMSNorm* norm_;
  Linear* lm_head_ = nullptr;  // null when tied
};

}  // namespace seekforge::nn
