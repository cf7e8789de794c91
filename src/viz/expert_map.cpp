#include "viz/expert_map.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "viz/canvas.h"
#include "viz/inspect_draw.h"
#include "viz/tokens.h"

namespace seekforge::viz {

namespace {
using inspect_draw::fmt;
using inspect_draw::kGrey;
using inspect_draw::kInk;

// A pale version of an expert's colour for a text background.
Color tint(Color c, double amount) { return inspect_draw::toward_white(c, amount); }

// The load bar charts, one panel per MoE layer, stacked.
void draw_loads(Canvas& cv, const std::vector<std::vector<int64_t>>& loads,
                const std::vector<int64_t>& layer_ids, int64_t tokens, int64_t top_k,
                const std::string& subtitle, double panel_h, double width) {
  cv.text(24, 28, "Expert load per MoE layer", 16, kInk, Align::left, 0, true);
  cv.text(24, 47,
          subtitle + (subtitle.empty() ? "" : "  \u00b7  ") + std::to_string(tokens) +
              " tokens \u00d7 top-" + std::to_string(top_k) + " = " +
              std::to_string(tokens * top_k) + " assignments per layer",
          11, kGrey);
  const double left = 84, right = 24, top0 = 64;
  for (size_t li = 0; li < loads.size(); ++li) {
    const auto& load = loads[li];
    const int64_t E = static_cast<int64_t>(load.size());
    const double top = top0 + static_cast<double>(li) * panel_h;
    const double ph = panel_h - 64;  // plot height
    const double pw = width - left - right;
    int64_t mx = 1;
    for (int64_t v : load) mx = std::max(mx, v);
    const double even = static_cast<double>(tokens * top_k) / static_cast<double>(E);
    const double step = inspect_draw::nice_step(std::max<double>(static_cast<double>(mx), even), 4);
    const int ticks =
        static_cast<int>(std::ceil(std::max<double>(static_cast<double>(mx), even) * 1.08 / step));
    const double ymax = step * ticks;
    cv.text(left, top + 14, "layer " + std::to_string(layer_ids[li]), 13, kInk, Align::left, 0,
            true);
    const double py = top + 24;
    // y axis with ticks.
    cv.line(left, py, left, py + ph, kGrey);
    cv.line(left, py + ph, left + pw, py + ph, kGrey);
    for (int i = 0; i <= ticks; ++i) {
      const double v = step * i;
      const double y = py + ph - ph * i / ticks;
      cv.line(left - 4, y, left, y, kGrey);
      if (i > 0) cv.line(left, y, left + pw, y, Color{0.9, 0.9, 0.92}, 0.5);
      cv.text(left - 7, y + 4, fmt("%.0f", v), 11, kInk, Align::right);
    }
    cv.text(left - 48, py + ph / 2, "assignments", 12, kInk, Align::center, -90);
    const double slot = pw / static_cast<double>(E);
    for (int64_t e = 0; e < E; ++e) {
      const double h = ph * static_cast<double>(load[e]) / ymax;
      const double x = left + slot * (static_cast<double>(e) + 0.15);
      cv.fill_rect(x, py + ph - h, slot * 0.7, h, palette(static_cast<int>(e)));
      cv.text(x + slot * 0.35, py + ph - h - 4, std::to_string(load[e]), 11, kInk, Align::center);
      cv.text(x + slot * 0.35, py + ph + 15, std::to_string(e), 11, kInk, Align::center);
    }
    const double ye = py + ph - ph * even / ymax;
    cv.line(left, ye, left + pw, ye, Color{0.2, 0.2, 0.2}, 1.2, true);
    // Its legend sits in the title row, where no bar can hide it.
    const std::string even_label = "even share (" + fmt("%.1f", even) + ")";
    const double lw = cv.text_width(even_label, 11);
    cv.line(left + pw - lw - 34, top + 10, left + pw - lw - 8, top + 10, Color{0.2, 0.2, 0.2}, 1.2,
            true);
    cv.text(left + pw, top + 14, even_label, 11, kInk, Align::right);
    cv.text(left + pw / 2, py + ph + 32, "routed expert", 12, kInk, Align::center);
  }
}

// The prompt as wrapped coloured text, one block per layer.
void draw_tokens(const std::string& path, const std::vector<std::string>& labels,
                 const std::vector<const nn::MoeCapture*>& caps, int64_t E,
                 const std::string& subtitle) {
  const double width = 960, font = 15, line_h = 26, left = 24, right = 24;
  // Lay out the lines once (the same for every layer).
  std::vector<std::pair<double, int>> pos;  // x, line
  Canvas probe(10, 10);
  double x = left;
  int line = 0;
  for (const std::string& l : labels) {
    const double w = probe.text_width(l, font) + 6;
    if (x + w > width - right && x > left) {
      x = left;
      ++line;
    }
    pos.push_back({x, line});
    x += w + 2;
  }
  const double block_h = (line + 1) * line_h + 34;
  const double legend_h = 40;
  Canvas cv(width, 64 + legend_h + block_h * static_cast<double>(caps.size()));
  cv.text(left, 28, "Top-1 expert of each token", 16, kInk, Align::left, 0, true);
  cv.text(left, 47, subtitle, 11, kGrey);
  double lx = left;
  cv.text(lx, 78, "expert:", 12, kInk);
  lx += 56;
  for (int64_t e = 0; e < E; ++e) {
    cv.fill_rect(lx, 66, 16, 16, tint(palette(static_cast<int>(e)), 0.55));
    cv.stroke_rect(lx, 66, 16, 16, palette(static_cast<int>(e)), 1.5);
    cv.text(lx + 21, 78, std::to_string(e), 12, kInk);
    lx += 21 + probe.text_width(std::to_string(e), 12) + 14;
  }
  for (size_t li = 0; li < caps.size(); ++li) {
    const double top = 64 + legend_h + block_h * static_cast<double>(li);
    cv.text(left, top + 16, "layer " + std::to_string(caps[li]->layer), 13, kInk, Align::left, 0,
            true);
    const int64_t k = caps[li]->experts.size(1);
    for (size_t i = 0; i < labels.size(); ++i) {
      const int64_t e = caps[li]->experts.data<int64_t>()[static_cast<int64_t>(i) * k];
      const double bx = pos[i].first, by = top + 26 + pos[i].second * line_h;
      const double w = probe.text_width(labels[i], font) + 6;
      cv.fill_rect(bx, by, w, line_h - 4, tint(palette(static_cast<int>(e)), 0.55));
      cv.line(bx, by + line_h - 5, bx + w, by + line_h - 5, palette(static_cast<int>(e)), 2);
      cv.text(bx + 3, by + line_h - 10, labels[i], font, kInk);
    }
  }
  cv.save(path);
}

}  // namespace

std::vector<int64_t> expert_loads(const nn::MoeCapture& m, int64_t E) {
  std::vector<int64_t> load(static_cast<size_t>(E), 0);
  const int64_t* p = m.experts.data<int64_t>();
  for (int64_t i = 0; i < m.experts.numel(); ++i) ++load[static_cast<size_t>(p[i])];
  return load;
}

std::vector<std::string> write_expert_maps(const std::vector<int64_t>& tokens, const ModelConfig& c,
                                           const nn::Inspection& ins, const ExpertMapOptions& opt) {
  SF_CHECK(c.moe.has_value() && c.first_dense_layers < c.n_layers)
      << "viz experts: this model has no MoE layers (" << c.n_layers
      << " dense layers; a [model.moe] table and first_dense_layers < n_layers make some)";
  SF_CHECK(!ins.moe.empty()) << "viz experts: no MoE layer was captured";
  const int64_t E = c.moe->n_routed_experts, k = c.moe->top_k;
  const int64_t T = static_cast<int64_t>(tokens.size());
  std::vector<std::string> labels;
  for (int64_t t : tokens) labels.push_back(label_token(opt.label, t, c.vocab_size));
  std::vector<std::vector<int64_t>> loads;
  std::vector<int64_t> layer_ids;
  std::vector<const nn::MoeCapture*> caps;
  for (const nn::MoeCapture& m : ins.moe) {
    SF_CHECK(m.experts.defined() && m.experts.size(0) == T)
        << "viz experts: layer " << m.layer << " was not captured for this prompt";
    loads.push_back(expert_loads(m, E));
    layer_ids.push_back(m.layer);
    caps.push_back(&m);
  }
  std::filesystem::create_directories(opt.out_dir);
  std::vector<std::string> written;

  const double panel_h = 230, width = std::max(480.0, 160.0 + 48.0 * static_cast<double>(E));
  Canvas chart(width, 70 + panel_h * static_cast<double>(loads.size()));
  draw_loads(chart, loads, layer_ids, T, k, opt.title, panel_h, width);
  for (const char* ext : {".png", ".svg"}) {
    chart.save(opt.out_dir + "/experts-load" + ext);
    written.push_back(opt.out_dir + "/experts-load" + ext);
  }
  draw_tokens(opt.out_dir + "/experts-tokens.png", labels, caps, E, opt.title);
  written.push_back(opt.out_dir + "/experts-tokens.png");

  // The HTML page: per layer the coloured text, then the load chart inline.
  const std::string html = opt.out_dir + "/experts.html";
  std::ofstream f(html);
  SF_CHECK(f.good()) << "cannot write '" << html << "'";
  f << inspect_draw::html_head("Experts",
                               ".t{border-bottom:3px solid}\n"
                               ".key span{display:inline-block;padding:1px 8px;margin-right:6px;"
                               "border-bottom:3px solid;border-radius:3px}")
    << R"(<h1>Which expert each token went to</h1>
<div class="sub">)"
    << html_escape(opt.title)
    << " &middot; colour: the token's top-1 expert; hover a token for all top-" << k
    << R"( experts and their gate weights</div>
<p class="key">expert: )";
  for (int64_t e = 0; e < E; ++e) {
    const Color col = palette(static_cast<int>(e));
    f << "<span style=\"background:" << css(tint(col, 0.55)) << ";border-color:" << css(col)
      << "\">" << e << "</span>";
  }
  f << "</p>\n";
  for (const nn::MoeCapture* m : caps) {
    f << "<h2>layer " << m->layer << "</h2>\n<div class=\"text\">";
    const int64_t* ex = m->experts.data<int64_t>();
    const float* w = m->weights.data<float>();
    const float* s = m->scores.data<float>();
    for (int64_t t = 0; t < T; ++t) {
      const Color col = palette(static_cast<int>(ex[t * k]));
      std::string tip = "position " + std::to_string(t) + " \u201c" + labels[t] + "\u201d";
      for (int64_t j = 0; j < k; ++j) {
        const int64_t e = ex[t * k + j];
        tip += "\nexpert " + std::to_string(e) + ": gate weight " + fmt("%.3f", w[t * k + j]) +
               " (score " + fmt("%.3f", s[t * E + e]) + ")";
      }
      f << "<span class=\"t\" style=\"background:" << css(tint(col, 0.55))
        << ";border-color:" << css(col) << "\" title=\"" << html_escape(tip) << "\">"
        << html_escape(labels[t]) << "</span>";
    }
    f << "</div>\n";
  }
  const std::string svg = chart.svg();
  const size_t at = svg.find("<svg");
  f << "<h2>load</h2>\n"
    << (at == std::string::npos ? svg : svg.substr(at)) << "\n</body></html>\n";
  SF_CHECK(f.good()) << "cannot write '" << html << "'";
  written.push_back(html);
  return written;
}

}  // namespace seekforge::viz
