#include "viz/saliency.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "autograd/node.h"
#include "ops/loss.h"
#include "ops/shape.h"
#include "viz/canvas.h"
#include "viz/inspect_draw.h"
#include "viz/tokens.h"

namespace seekforge::viz {

namespace {
// -log p(target) at the last position: cross-entropy of the last logits row.
Tensor last_nll(nn::Transformer& model, const Tensor& ids, const Tensor& embeds,
                int64_t target_token, Tensor* last_logits) {
  nn::ForwardOptions fo;
  fo.inputs_embeds = embeds;
  Tensor logits = model.forward(ids, Tensor(), fo).logits;  // [1, N, V]
  const int64_t N = logits.size(1), V = logits.size(2);
  Tensor last = ops::reshape(ops::narrow(logits, 1, N - 1, 1), {1, V});
  if (last_logits) *last_logits = last.detach().contiguous();
  return ops::cross_entropy(last, from_vector_i64({target_token}, {1}));
}

int64_t argmax(const Tensor& row) {
  const std::vector<float> v = row.to_vector_f32();
  return static_cast<int64_t>(std::max_element(v.begin(), v.end()) - v.begin());
}
}  // namespace

double target_log_prob(nn::Transformer& model, const std::vector<int64_t>& inputs,
                       const Tensor& embeds, int64_t target_token) {
  autograd::NoGradGuard no_grad;
  Tensor ids = from_vector_i64(inputs, {1, static_cast<int64_t>(inputs.size())});
  return -last_nll(model, ids, embeds, target_token, nullptr).item_double();
}

Saliency compute_saliency(nn::Transformer& model, const std::vector<int64_t>& prompt,
                          int64_t target) {
  const ModelConfig& c = model.config();
  const int64_t P = static_cast<int64_t>(prompt.size());
  SF_CHECK(P > 0) << "saliency: the prompt is empty";
  SF_CHECK(target >= 1 && target <= P)
      << "saliency: --target " << target << " is out of range: the prompt has " << P
      << " tokens, so the target must be in [1, " << P << "] (" << P
      << " = the most likely token after the prompt)";
  SF_CHECK(target <= c.max_seq_len)
      << "saliency: --target " << target << " reads more tokens than max_seq_len " << c.max_seq_len;
  for (int64_t t : prompt)
    SF_CHECK(t >= 0 && t < c.vocab_size)
        << "saliency: token " << t << " is outside the vocabulary [0, " << c.vocab_size << ")";
  autograd::EnableGradGuard grad_on;

  Saliency s;
  s.target_position = target;
  s.inputs.assign(prompt.begin(), prompt.begin() + target);
  const int64_t N = target;
  Tensor ids = from_vector_i64(s.inputs, {1, N});

  // The target: the prompt's own token N, or (N = P) what the model ranks first. Finding the
  // argmax needs a forward first when the target is not given.
  Tensor embeds = model.embedding().forward(ids);
  embeds.retain_grad();
  for (auto& [n, p] : model.named_parameters()) p.set_grad(Tensor());
  Tensor last;
  if (target < P) {
    s.target_token = prompt[target];
  } else {
    autograd::NoGradGuard no_grad;
    nn::ForwardOptions fo;
    Tensor logits = model.forward(ids, Tensor(), fo).logits;
    s.target_token = argmax(logits.select(1, N - 1));
  }
  Tensor nll = last_nll(model, ids, embeds, s.target_token, &last);
  s.argmax_token = argmax(last);
  s.predicted = s.argmax_token == s.target_token;
  s.log_prob = -nll.item_double();
  // d log p = -d nll.
  nll.backward(scalar_tensor(-1.0, nll.dtype()));

  Tensor g = embeds.grad();
  SF_CHECK(g.defined()) << "saliency: no gradient reached the embeddings";
  autograd::NoGradGuard no_grad;
  const int64_t D = c.d_model;
  s.embedding_grad = g.contiguous().view({N, D});
  const std::vector<float> gv = s.embedding_grad.to_vector_f32();
  const Tensor e = embeds.detach().contiguous();
  const bool f64 = e.dtype() == DType::f64;
  const std::vector<float> ev = f64 ? std::vector<float>() : e.to_vector_f32();
  for (int64_t t = 0; t < N; ++t) {
    double dot = 0, sq = 0;
    for (int64_t d = 0; d < D; ++d) {
      // In f64 (the gradient checks) read both at full precision.
      const double gi = f64 ? s.embedding_grad.data<double>()[t * D + d] : gv[t * D + d];
      const double ei = f64 ? e.data<double>()[t * D + d] : ev[t * D + d];
      dot += gi * ei;
      sq += gi * gi;
    }
    s.saliency.push_back(dot);
    s.grad_norm.push_back(std::sqrt(sq));
  }
  for (auto& [name, p] : model.named_parameters()) {
    ParamGrad pg{name, 0.0, p.numel()};
    if (p.grad().defined()) {
      Tensor pgd = p.grad().to(DType::f64).contiguous();
      double sq = 0;
      for (int64_t i = 0; i < pgd.numel(); ++i) sq += pgd.data<double>()[i] * pgd.data<double>()[i];
      pg.norm = std::sqrt(sq);
    }
    s.params.push_back(pg);
  }
  std::stable_sort(s.params.begin(), s.params.end(),
                   [](const ParamGrad& a, const ParamGrad& b) { return a.norm > b.norm; });
  return s;
}

}  // namespace seekforge::viz

// ---- pictures ----

namespace seekforge::viz {

namespace {
using inspect_draw::fmt;
using inspect_draw::kGrey;
using inspect_draw::kInk;
const Color kPos{0.84, 0.15, 0.16};  // raises log p
const Color kNeg{0.12, 0.47, 0.71};  // lowers log p
const Color kNorm{0.35, 0.35, 0.45};

Color mix_white(Color c, double amount) { return inspect_draw::toward_white(c, amount); }

// One bar panel: values per token, bars from zero (signed when `signed_values`), the tokens
// written under the bars; returns the height used below the plot by the labels.
double bar_panel(Canvas& cv, double left, double top, double pw, double ph,
                 const std::vector<double>& v, const std::vector<std::string>& labels,
                 bool signed_values, const std::string& title, const std::string& ylabel) {
  double mx = 0;
  for (double x : v) mx = std::max(mx, std::abs(x));
  if (mx <= 0) mx = 1;
  const double step = inspect_draw::nice_step(mx, signed_values ? 2 : 4);
  const double hi = step * std::ceil(mx * 1.05 / step), lo = signed_values ? -hi : 0.0;
  const auto ymap = [&](double x) { return top + ph - ph * (x - lo) / (hi - lo); };
  cv.text(left, top - 12, title, 13, kInk, Align::left, 0, true);
  cv.line(left, top, left, top + ph, kGrey);
  for (double x = lo; x <= hi + step * 0.01; x += step) {
    const double y = ymap(x);
    cv.line(left - 4, y, left, y, kGrey);
    cv.line(left, y, left + pw, y, Color{0.9, 0.9, 0.92}, 0.5);
    cv.text(left - 7, y + 4, fmt("%.3g", std::abs(x) < step * 1e-6 ? 0.0 : x), 11, kInk,
            Align::right);
  }
  cv.line(left, ymap(0), left + pw, ymap(0), kGrey);
  cv.text(left - 58, top + ph / 2, ylabel, 12, kInk, Align::center, -90);
  const double slot = pw / static_cast<double>(v.size());
  const double font = std::min(12.0, std::max(8.0, slot * 0.8));
  double label_h = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const double x = left + slot * (static_cast<double>(i) + 0.12);
    const double y0 = ymap(0), y1 = ymap(v[i]);
    cv.fill_rect(x, std::min(y0, y1), slot * 0.76, std::abs(y1 - y0),
                 !signed_values ? kNorm : (v[i] >= 0 ? kPos : kNeg));
    const std::string l = std::to_string(i) + " " + labels[i];
    cv.text(left + slot * (static_cast<double>(i) + 0.5) + font * 0.35, top + ph + 6, l, font, kInk,
            Align::right, -90);
    label_h = std::max(label_h, cv.text_width(l, font));
  }
  cv.text(left + pw / 2, top + ph + label_h + 26, "input token (position, token)", 12, kInk,
          Align::center);
  return label_h + 34;
}
}  // namespace

std::vector<std::string> write_saliency_maps(const Saliency& s, int64_t V,
                                             const SaliencyMapOptions& opt) {
  std::filesystem::create_directories(opt.out_dir);
  std::vector<std::string> written;
  std::vector<std::string> labels;
  for (int64_t t : s.inputs) labels.push_back(label_token(opt.label, t, V));
  const std::string target = label_token(opt.label, s.target_token, V);
  const std::string what = "target: token " + std::to_string(s.target_position) + " \u201c" +
                           target + "\u201d, log p = " + fmt("%.3f", s.log_prob) +
                           " (p = " + fmt("%.3f", std::exp(s.log_prob)) + ")" +
                           (s.predicted ? ", the model's top choice"
                                        : ", the model's top choice is \u201c" +
                                              label_token(opt.label, s.argmax_token, V) + "\u201d");

  // The chart: saliency (signed) above, gradient norm below.
  const double n = static_cast<double>(s.inputs.size());
  const double slot = std::clamp(640.0 / n, 10.0, 48.0);
  const double left = 96, pw = slot * n, ph = 200;
  double label_h = 0;
  {
    Canvas probe(10, 10);
    const double font = std::min(12.0, std::max(8.0, slot * 0.8));
    for (size_t i = 0; i < labels.size(); ++i)
      label_h = std::max(label_h, probe.text_width(std::to_string(i) + " " + labels[i], font));
  }
  label_h += 34;
  Canvas probe(10, 10);
  const std::string sub = (opt.title.empty() ? "" : opt.title + "  \u00b7  ") + what;
  const double width = std::max({640.0, left + pw + 40, probe.text_width(sub, 11) + 48});
  const double top1 = 118, top2 = top1 + ph + label_h + 44;
  Canvas cv(std::min(width, 8192.0), top2 + ph + label_h + 16);
  cv.text(24, 28, "Saliency: which input tokens the prediction depends on", 16, kInk, Align::left,
          0, true);
  cv.text(24, 47, sub, 11, kGrey);
  // Legend.
  double lx = 24;
  for (auto [c, t] : {std::pair{kPos, "raises log p"}, std::pair{kNeg, "lowers log p"},
                      std::pair{kNorm, "gradient norm"}}) {
    cv.fill_rect(lx, 62, 12, 12, c);
    cv.text(lx + 17, 73, t, 11, kInk);
    lx += 17 + probe.text_width(t, 11) + 22;
  }
  bar_panel(cv, left, top1, pw, ph, s.saliency, labels, true,
            "gradient \u00d7 input (sum over d_model)", "saliency");
  std::vector<double> gn(s.grad_norm.begin(), s.grad_norm.end());
  bar_panel(cv, left, top2, pw, ph, gn, labels, false, "\u2016d log p / d embedding\u2016\u2082",
            "gradient L2 norm");
  for (const char* ext : {".png", ".svg"}) {
    cv.save(opt.out_dir + "/saliency" + ext);
    written.push_back(opt.out_dir + "/saliency" + ext);
  }

  // The HTML page.
  const std::string html = opt.out_dir + "/saliency.html";
  std::ofstream f(html);
  SF_CHECK(f.good()) << "cannot write '" << html << "'";
  double mx = 0;
  for (double v : s.saliency) mx = std::max(mx, std::abs(v));
  if (mx <= 0) mx = 1;
  f << inspect_draw::html_head("Saliency",
                               ".target{outline:2px dashed #333}\n"
                               "table{border-collapse:collapse;font-size:13px} td,th{padding:2px "
                               "10px;text-align:left}\n"
                               "td.n{text-align:right;font-variant-numeric:tabular-nums} "
                               "tr:nth-child(even){background:#f6f6f8}\n"
                               ".bar{height:10px;background:#5a5a73;display:inline-block}")
    << R"(<h1>Saliency: which input tokens the prediction depends on</h1>
<div class="sub">)"
    << html_escape(opt.title) << (opt.title.empty() ? "" : " &middot; ") << html_escape(what)
    << R"(</div>
<p class="sub">Red raises log p of the target, blue lowers it (gradient &times; input, summed over
d_model); hover a token for its values.</p>
<div class="text">)";
  for (size_t i = 0; i < labels.size(); ++i) {
    const double a = std::abs(s.saliency[i]) / mx;
    const Color col = mix_white(s.saliency[i] >= 0 ? kPos : kNeg, 0.85 * a);
    std::string tip = "position " + std::to_string(i) + " \u201c" + labels[i] +
                      "\u201d\nsaliency " + fmt("%.4g", s.saliency[i]) + "\ngradient norm " +
                      fmt("%.4g", s.grad_norm[i]);
    f << "<span class=\"t\" style=\"background:" << css(col) << "\" title=\"" << html_escape(tip)
      << "\">" << html_escape(labels[i]) << "</span>";
  }
  f << "<span class=\"t target\" title=\"the target\">" << html_escape(target) << "</span></div>\n";
  f << "<h2>Parameters by gradient norm</h2>\n<p class=\"sub\">\u2016d log p / d W\u2016\u2082 of "
       "every parameter tensor: the weights the decision passed through.</p>\n<table>\n"
       "<tr><th>#</th><th>parameter</th><th>elements</th><th>gradient norm</th><th></th></tr>\n";
  const double top = s.params.empty() ? 1.0 : std::max(s.params[0].norm, 1e-30);
  const size_t rows =
      opt.max_params > 0 ? std::min(opt.max_params, s.params.size()) : s.params.size();
  for (size_t i = 0; i < rows; ++i) {
    const ParamGrad& p = s.params[i];
    f << "<tr><td class=\"n\">" << i + 1 << "</td><td>" << html_escape(p.name)
      << "</td><td class=\"n\">" << p.numel << "</td><td class=\"n\">" << fmt("%.4g", p.norm)
      << "</td><td><span class=\"bar\" style=\"width:" << fmt("%.1f", 300.0 * p.norm / top)
      << "px\"></span></td></tr>\n";
  }
  f << "</table>\n</body></html>\n";
  SF_CHECK(f.good()) << "cannot write '" << html << "'";
  written.push_back(html);
  return written;
}

}  // namespace seekforge::viz
