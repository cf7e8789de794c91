// The run configuration: model, training and data settings read from TOML, validated on load.
// Key names are fixed (../shared/DESIGN.md, "Config keys"); docs/config.md lists every key with
// its default and allowed range. An unknown key, a wrong type or an out-of-range value is
// refused with an error naming the key (e.g. "model.moe.top_k = 9: must be in [1, 8]
// (n_routed_experts)").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace seekforge {

struct MoeConfig {
  int64_t n_routed_experts = 8;
  int64_t n_shared_experts = 1;
  int64_t top_k = 2;
  int64_t d_expert = 256;
  std::string gate = "softmax";  // "softmax" | "sigmoid"
  bool norm_topk = true;
  double routed_scaling_factor = 1.0;
  double aux_loss_coef = 0.0;
  double bias_update_speed = 0.001;
  double capacity_factor = 0.0;  // 0: no token dropping

  bool operator==(const MoeConfig&) const = default;
};

struct MlaConfig {
  int64_t q_lora_rank = 0;  // 0: plain q_proj
  int64_t kv_lora_rank = 64;
  int64_t qk_nope_head_dim = 32;
  int64_t qk_rope_head_dim = 16;
  int64_t v_head_dim = 32;

  bool operator==(const MlaConfig&) const = default;
};

struct MtpConfig {
  int64_t depth = 1;
  double loss_weight = 0.3;

  bool operator==(const MtpConfig&) const = default;
};

struct ModelConfig {
  int64_t vocab_size = 8192;
  int64_t d_model = 384;
  int64_t n_layers = 6;
  int64_t n_heads = 6;
  int64_t n_kv_heads = 6;
  int64_t head_dim = 64;
  int64_t max_seq_len = 512;
  double rope_theta = 10000.0;
  double norm_eps = 1e-6;
  std::string attention = "mha";  // "mha" | "mla" ("mla" with no [model.mla]: MLA defaults)
  int64_t window = 0;
  int64_t d_ff = 1024;
  int64_t first_dense_layers = 1;
  bool tie_embeddings = false;
  double init_std = 0.02;
  std::optional<MoeConfig> moe;  // absent table: feature off
  std::optional<MlaConfig> mla;
  std::optional<MtpConfig> mtp;

  bool operator==(const ModelConfig&) const = default;
};

struct TrainConfig {
  uint64_t seed = 0;
  int64_t batch_size = 8;
  int64_t seq_len = 256;
  int64_t grad_accum = 1;
  int64_t max_steps = 1000;
  double lr = 3e-4;
  double min_lr = 3e-5;
  int64_t warmup_steps = 100;
  std::string schedule = "cosine";  // "cosine" | "linear" | "constant"
  double weight_decay = 0.1;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double clip_grad_norm = 1.0;  // 0: no clipping
  double label_smoothing = 0.0;
  int64_t eval_every = 100;  // 0: no evaluation
  int64_t eval_steps = 10;
  int64_t checkpoint_every = 500;  // 0: only at the end and on a signal
  int64_t keep_checkpoints = 3;
  std::string out_dir = "runs/default";
  // A checkpoint directory whose weights (parameters and buffers) start a fresh run; the
  // optimiser, schedule and step start from zero. Ignored when the run resumes. "": random init.
  std::string init_from;
  int64_t log_every = 10;
  int64_t early_stop_patience = 0;  // evaluations without improvement before stopping; 0: off
  double grad_norm_alarm = 100.0;   // a gradient norm above this is logged as an alarm
  int64_t max_bad_steps = 10;       // consecutive NaN/inf steps before the run stops
  // What backward recomputes instead of keeping: "none" | "attention" | "block" (nn::Recompute).
  // The old bool key activation_checkpointing is still read (true: "block"), never written.
  std::string checkpoint_activations = "none";
  // Mixed precision (ops/autocast.h): "fp32" | "bf16" | "fp16". bf16/fp16 keep f32 master
  // weights and optimiser state and run the matrix products and attention in 16 bits.
  std::string precision = "fp32";
  double loss_scale = 65536.0;       // fp16: the dynamic loss scaler's initial scale
  int64_t loss_scale_window = 1000;  // fp16: clean steps in a row before the scale doubles

  bool operator==(const TrainConfig&) const = default;
};

struct DataConfig {
  std::string path;       // a tokenized dataset directory
  std::string synthetic;  // "random" | "copy" | "reverse" (instead of path)
  std::string text_file;  // plain UTF-8 text, tokenized as bytes (vocab_size >= 256)
  std::string sft;        // prompt/response JSONL for supervised fine-tuning (data/sft_source.h)
  // sft: "byte-chat" (bytes + chat specials, data/chat.h; the name is data/sft_source.h
  // kByteChatTokenizerName) or the path of a tokenizer.json.
  std::string tokenizer = "byte-chat";
  double val_fraction = 0.05;
  // With data.path: "packed" (windows of seq_len + 1 tokens across documents) or "bucketed"
  // (whole documents grouped by length, padded to the longest of the batch).
  std::string loader = "packed";
  int64_t buckets = 8;  // bucketed: length groups (quantiles of the document lengths)
  // packed: each row's domain drawn with these weights (domain -> weight); empty: all documents.
  std::map<std::string, double> domain_weights;
  bool prefetch = true;  // the next batch is prepared on a background thread

  bool operator==(const DataConfig&) const = default;
};

struct Config {
  ModelConfig model;
  TrainConfig train;
  DataConfig data;

  bool operator==(const Config&) const = default;
};

// Parses TOML text; `source` names the file in errors. Each override is "section.key=value"
// (e.g. "train.lr=1e-3", "model.moe.top_k=4"), applied in order before validation; the value is
// parsed as a TOML value (strings may be given bare; "model.mtp={}" turns a table on). Setting a
// key of [model.moe], [model.mla] or [model.mtp] creates that table.
Config parse_config(const std::string& toml_text, const std::string& source,
                    const std::vector<std::string>& overrides = {});
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});
// The same for jobs that only build a model (fwdbwd): a config without a data source is
// accepted (data.synthetic is then "random").
Config load_model_config(const std::string& path, const std::vector<std::string>& overrides = {});
// Throws naming the key when a value is out of range or settings contradict each other.
void validate_config(const Config& config);
// The configuration as TOML (every key, defaults included): what a run directory stores.
std::string config_to_toml(const Config& config);

}  // namespace seekforge
