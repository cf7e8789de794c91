// `seekforge viz ...`: looking inside a checkpoint for one prompt.
//
//   viz attention --checkpoint DIR --prompt TEXT [--layer L] [--head H] [--block N] [--out DIR]
//   viz experts   --checkpoint DIR --prompt TEXT [--out DIR]
//   viz saliency  --checkpoint DIR --prompt TEXT --target N [--out DIR]
#include "apps/viz_cmd.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "autograd/node.h"
#include "core/error.h"
#include "train/evaluate.h"
#include "train/text_codec.h"
#include "viz/attention_map.h"
#include "viz/expert_map.h"
#include "viz/saliency.h"
#include "viz/tokens.h"

namespace seekforge::apps {

namespace {

struct VizArgs {
  std::string checkpoint, prompt, out = "viz";
  int64_t layer = -1, head = -1, block = 48, target = -1;
} viz_args;

CLI::App* g_attention = nullptr;
CLI::App* g_experts = nullptr;
CLI::App* g_saliency = nullptr;

void add_common(CLI::App* sub) {
  sub->add_option("--checkpoint", viz_args.checkpoint, "checkpoint directory (step-NNNNNN)")
      ->required();
  sub->add_option("--prompt", viz_args.prompt, "prompt text (the run's tokenizer encodes it)")
      ->required();
  sub->add_option("--out", viz_args.out, "output directory (default: viz)");
}

struct Loaded {
  train::TrainedModel model;
  std::shared_ptr<const train::TextCodec> codec;
  std::vector<int64_t> tokens;
  std::string title;
  viz::TokenLabeler label;  // the codec's bytes of a token, made visible
};

Loaded load() {
  SF_CHECK(std::filesystem::is_directory(viz_args.checkpoint))
      << "checkpoint directory '" << viz_args.checkpoint << "' does not exist";
  Loaded l;
  l.model = train::load_trained_model(viz_args.checkpoint);
  const ModelConfig& c = l.model.config.model;
  SF_CHECK(!viz_args.prompt.empty()) << "the prompt is empty: give --prompt some text";
  l.codec = std::make_shared<const train::TextCodec>(
      train::TextCodec::for_checkpoint(l.model.config, viz_args.checkpoint));
  SF_CHECK(l.codec->can_encode()) << "the model in '" << viz_args.checkpoint
                                  << "' has no text form (" << l.codec->describe()
                                  << ": vocab_size " << c.vocab_size
                                  << " and no tokenizer), so --prompt cannot be encoded";
  l.tokens = l.codec->encode(viz_args.prompt);
  SF_CHECK(!l.tokens.empty()) << "the prompt encodes to no tokens";
  l.label = [codec = l.codec](int64_t id) { return viz::visible_token(codec->token_bytes(id)); };
  SF_CHECK(static_cast<int64_t>(l.tokens.size()) <= c.max_seq_len)
      << "the prompt has " << l.tokens.size()
      << " tokens, the model reads at most max_seq_len = " << c.max_seq_len;
  std::string name =
      std::filesystem::path(viz_args.checkpoint).lexically_normal().filename().string();
  if (name.empty()) name = viz_args.checkpoint;
  l.title = name + " (step " + std::to_string(l.model.step) + ")";
  return l;
}

nn::Inspection inspect(Loaded& l, bool attention, bool moe) {
  autograd::NoGradGuard no_grad;
  nn::Inspection ins;
  ins.capture_attention = attention;
  ins.capture_moe = moe;
  nn::ForwardOptions fo;
  fo.inspect = &ins;
  l.model.model->forward(from_vector_i64(l.tokens, {1, static_cast<int64_t>(l.tokens.size())}),
                         Tensor(), fo);
  return ins;
}

void report(const std::vector<std::string>& files) {
  for (const std::string& f : files) std::printf("wrote %s\n", f.c_str());
}

int run_attention() {
  Loaded l = load();
  viz::check_attention_selection(l.model.config.model, viz_args.layer, viz_args.head);
  SF_CHECK(viz_args.block >= 4 && viz_args.block <= 512)
      << "--block " << viz_args.block << " must be in [4, 512]";
  nn::Inspection ins = inspect(l, true, false);
  viz::AttentionMapOptions opt;
  opt.layer = viz_args.layer;
  opt.head = viz_args.head;
  opt.block = viz_args.block;
  opt.out_dir = viz_args.out;
  opt.title = l.title;
  opt.label = l.label;
  report(viz::write_attention_maps(l.tokens, l.model.config.model, ins, opt));
  return 0;
}

int run_experts() {
  Loaded l = load();
  const ModelConfig& c = l.model.config.model;
  SF_CHECK(c.moe.has_value() && c.first_dense_layers < c.n_layers)
      << "viz experts: the model in '" << viz_args.checkpoint << "' has no MoE layers";
  nn::Inspection ins = inspect(l, false, true);
  viz::ExpertMapOptions opt;
  opt.out_dir = viz_args.out;
  opt.title = l.title;
  opt.label = l.label;
  report(viz::write_expert_maps(l.tokens, c, ins, opt));
  return 0;
}

int run_saliency() {
  Loaded l = load();
  viz::Saliency s = viz::compute_saliency(*l.model.model, l.tokens, viz_args.target);
  viz::SaliencyMapOptions opt;
  opt.out_dir = viz_args.out;
  opt.title = l.title;
  opt.label = l.label;
  report(viz::write_saliency_maps(s, l.model.config.model.vocab_size, opt));
  std::printf("target %lld \"%s\": log p %.4f; most salient input: ",
              static_cast<long long>(viz_args.target), l.label(s.target_token).c_str(), s.log_prob);
  size_t best = 0;
  for (size_t i = 1; i < s.saliency.size(); ++i)
    if (std::abs(s.saliency[i]) > std::abs(s.saliency[best])) best = i;
  std::printf("position %zu \"%s\" (%.4g)\n", best, l.label(s.inputs[best]).c_str(),
              s.saliency[best]);
  return 0;
}

}  // namespace

CLI::App* add_viz_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("viz", "pictures of what a model does with a prompt");
  sub->require_subcommand(1);
  g_attention = sub->add_subcommand(
      "attention", "attention heatmaps (PNG, SVG, interactive HTML) for every layer and head");
  add_common(g_attention);
  g_attention->add_option("--layer", viz_args.layer, "only this layer (default: every layer)");
  g_attention->add_option("--head", viz_args.head, "only this head (default: all heads as a grid)");
  g_attention->add_option("--block", viz_args.block,
                          "positions per tile for long prompts (default 48)");
  g_experts = sub->add_subcommand(
      "experts", "the expert each token is routed to in each MoE layer, and the loads");
  add_common(g_experts);
  g_saliency = sub->add_subcommand(
      "saliency", "gradient x input saliency of the prompt tokens for one target token");
  add_common(g_saliency);
  g_saliency
      ->add_option("--target", viz_args.target,
                   "position N of the target token: the model predicts token N from 0..N-1; "
                   "N = number of prompt tokens means its most likely next token")
      ->required();
  return sub;
}

int run_viz() {
  if (g_attention->parsed()) return run_attention();
  if (g_experts->parsed()) return run_experts();
  if (g_saliency->parsed()) return run_saliency();
  return 2;
}

}  // namespace seekforge::apps
