#include "viz/attention_map.h"

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

std::vector<AttentionBlock> attention_blocks(int64_t T, int64_t block, int64_t window) {
  SF_CHECK(block > 0) << "attention blocks: the block size must be positive, got " << block;
  std::vector<AttentionBlock> out;
  for (int64_t q0 = 0; q0 < T; q0 += block) {
    const int64_t q1 = std::min(T, q0 + block);
    for (int64_t k0 = 0; k0 < q1; k0 += block) {
      const int64_t k1 = std::min(T, k0 + block);
      bool visible = false;
      for (int64_t q = q0; q < q1 && !visible; ++q) {
        const int64_t lo = std::max(k0, window > 0 ? q - window + 1 : int64_t{0});
        visible = lo <= std::min(k1 - 1, q);
      }
      if (visible) out.push_back({q0, q1, k0, k1});
    }
  }
  return out;
}

void check_attention_selection(const ModelConfig& c, int64_t layer, int64_t head) {
  SF_CHECK(layer >= -1 && layer < c.n_layers)
      << "--layer " << layer << " is out of range: the model has " << c.n_layers << " layers, 0 to "
      << c.n_layers - 1;
  SF_CHECK(head >= -1 && head < c.n_heads)
      << "--head " << head << " is out of range: the model has " << c.n_heads
      << " attention heads, 0 to " << c.n_heads - 1;
}

namespace {

using inspect_draw::fmt;
using inspect_draw::kGrey;
using inspect_draw::kInk;
const Color kHidden{0.93, 0.93, 0.95};

// Label text for a position: "12 h".
std::string axis_label(int64_t pos, const std::vector<std::string>& labels) {
  return std::to_string(pos) + " " + labels[static_cast<size_t>(pos)];
}

struct Layout {
  double cell = 14, font = 10, label_w = 0, panel_w = 0, panel_h = 0;
  int cols = 1, rows = 1;
};

// The probabilities of one head of one layer: row-major [T, T].
const float* head_probs(const nn::AttentionCapture& a, int64_t h) {
  const int64_t T = a.probs.size(2);
  return a.probs.data<float>() + h * T * T;
}

void draw_colour_bar(Canvas& cv, double x, double y, double h, double vmax) {
  const int steps = 64;
  for (int i = 0; i < steps; ++i) {
    const double t = 1.0 - (i + 0.5) / steps;
    cv.fill_rect(x, y + h * i / steps, 14, h / steps + 0.5, viridis(t));
  }
  cv.stroke_rect(x, y, 14, h, kGrey, 0.5);
  for (int i = 0; i <= 4; ++i) {
    const double v = vmax * (1.0 - i / 4.0);
    cv.line(x + 14, y + h * i / 4, x + 18, y + h * i / 4, kGrey);
    cv.text(x + 21, y + h * i / 4 + 4, fmt("%.2f", v), 11, kInk);
  }
  cv.text(x + 62, y + h / 2, "attention weight", 12, kInk, Align::center, -90);
}

// One image: the heads `heads` of one layer over one block.
void draw_block(const std::string& path_base, const nn::AttentionCapture& a,
                const std::vector<int64_t>& heads, int64_t layer, const AttentionBlock& b,
                const std::vector<std::string>& labels, int64_t n_layers, int64_t window,
                const std::string& subtitle, std::vector<std::string>& written) {
  const int64_t T = a.probs.size(2);
  const int64_t nq = b.q1 - b.q0, nk = b.k1 - b.k0;
  Layout L;
  const int64_t n = std::max(nq, nk);
  L.cell = std::clamp(560.0 / static_cast<double>(n), 12.0, 30.0);
  L.font = std::min(11.0, L.cell * 0.8);
  L.cols = heads.size() == 1
               ? 1
               : static_cast<int>(std::ceil(std::sqrt(static_cast<double>(heads.size()))));
  L.rows = static_cast<int>((heads.size() + L.cols - 1) / L.cols);

  {
    Canvas probe(10, 10);
    for (int64_t p = std::min(b.q0, b.k0); p < std::max(b.q1, b.k1); ++p)
      L.label_w = std::max(L.label_w, probe.text_width(axis_label(p, labels), L.font));
  }
  L.label_w += 8;
  const double head_title = 20;
  L.panel_w = L.label_w + L.cell * static_cast<double>(nk) + 24;
  L.panel_h = head_title + L.label_w + L.cell * static_cast<double>(nq) + 16;
  const double top = 64, left = 40, bar_w = 110;
  const double W = left + L.cols * L.panel_w + bar_w;
  const double Hh = top + L.rows * L.panel_h + 24;
  Canvas cv(std::min(W, 8192.0), std::min(Hh, 8192.0));

  float vmax = 0;
  for (int64_t h : heads) {
    const float* p = head_probs(a, h);
    for (int64_t q = b.q0; q < b.q1; ++q)
      for (int64_t k = b.k0; k < b.k1; ++k) vmax = std::max(vmax, p[q * T + k]);
  }
  if (vmax <= 0) vmax = 1;

  std::string title = "Attention, layer " + std::to_string(layer) + " (of 0\u2013" +
                      std::to_string(n_layers - 1) + ")" +
                      (heads.size() == 1 ? ", head " + std::to_string(heads[0]) : ", all heads") +
                      ": queries " + std::to_string(b.q0) + "\u2013" + std::to_string(b.q1 - 1) +
                      " \u00d7 keys " + std::to_string(b.k0) + "\u2013" + std::to_string(b.k1 - 1);
  cv.text(left, 26, title, 16, kInk, Align::left, 0, true);
  std::string sub = subtitle;
  sub += (sub.empty() ? "" : "  \u00b7  ");
  sub += "rows: query (position, token); columns: key; grey: hidden by the causal mask";
  if (window > 0) sub += " and the window of " + std::to_string(window);
  cv.text(left, 46, sub, 11, kGrey);

  for (size_t i = 0; i < heads.size(); ++i) {
    const int64_t h = heads[i];
    const double px = left + static_cast<double>(i % L.cols) * L.panel_w;
    const double py = top + static_cast<double>(i / L.cols) * L.panel_h;
    if (heads.size() > 1)
      cv.text(px + L.label_w, py + 14, "head " + std::to_string(h), 12, kInk, Align::left, 0, true);
    const double gx = px + L.label_w, gy = py + head_title + L.label_w;
    const float* p = head_probs(a, h);
    std::vector<Color> cells;
    cells.reserve(static_cast<size_t>(nq * nk));
    for (int64_t q = b.q0; q < b.q1; ++q)
      for (int64_t k = b.k0; k < b.k1; ++k) {
        const bool visible = k <= q && (window == 0 || k > q - window);
        cells.push_back(visible ? viridis(p[q * T + k] / vmax) : kHidden);
      }
    cv.image(gx, gy, L.cell * static_cast<double>(nk), L.cell * static_cast<double>(nq),
             static_cast<int>(nq), static_cast<int>(nk), cells);
    cv.stroke_rect(gx, gy, L.cell * static_cast<double>(nk), L.cell * static_cast<double>(nq),
                   kGrey, 0.5);
    for (int64_t q = b.q0; q < b.q1; ++q)
      cv.text(gx - 4, gy + L.cell * static_cast<double>(q - b.q0 + 0.5) + L.font * 0.35,
              axis_label(q, labels), L.font, kInk, Align::right);
    for (int64_t k = b.k0; k < b.k1; ++k)
      cv.text(gx + L.cell * static_cast<double>(k - b.k0 + 0.5) + L.font * 0.35, gy - 4,
              axis_label(k, labels), L.font, kInk, Align::left, -90);
    cv.text(gx + L.cell * static_cast<double>(nk), py + 14, "key \u2192", 11, kGrey, Align::right);
    // Rotated to read upwards, so the arrow before the word points down the query rows.
    cv.text(px - 4, gy + L.cell * static_cast<double>(nq) / 2, "\u2190 query", 11, kGrey,
            Align::center, -90);
  }
  draw_colour_bar(cv, cv.width() - bar_w + 20, top + 40, std::min(260.0, L.panel_h - 60), vmax);
  for (const char* ext : {".png", ".svg"}) {
    cv.save(path_base + ext);
    written.push_back(path_base + ext);
  }
}

void write_html(const std::string& path, const std::vector<std::string>& labels,
                const nn::Inspection& ins, const std::vector<int64_t>& layers,
                const std::vector<int64_t>& heads, int64_t window, const std::string& subtitle) {
  std::ostringstream js;
  js << "const TOKENS=[";
  for (size_t i = 0; i < labels.size(); ++i) js << (i ? "," : "") << js_string(labels[i]);
  js << "];\nconst WINDOW=" << window << ";\nconst DATA={";
  const int64_t T = static_cast<int64_t>(labels.size());
  bool first_layer = true;
  for (int64_t l : layers) {
    js << (first_layer ? "" : ",") << "\"" << l << "\":{";
    first_layer = false;
    const nn::AttentionCapture& a = ins.attention[static_cast<size_t>(l)];
    bool first_head = true;
    for (int64_t h : heads) {
      js << (first_head ? "" : ",") << "\"" << h << "\":[";
      first_head = false;
      const float* p = head_probs(a, h);
      // Rows of the lower triangle: row q holds keys 0..q.
      for (int64_t q = 0; q < T; ++q) {
        js << (q ? "," : "") << "[";
        for (int64_t k = 0; k <= q; ++k) {
          const float v = p[q * T + k];
          if (k) js << ",";
          if (v == 0)
            js << "0";
          else
            js << fmt("%.4g", v);
        }
        js << "]";
      }
      js << "]";
    }
    js << "}";
  }
  js << "};\n";

  std::ofstream f(path);
  SF_CHECK(f.good()) << "cannot write '" << path << "'";
  f << R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Attention</title>
<style>
body{font-family:"DejaVu Sans",Verdana,sans-serif;margin:24px;color:#1a1a1f}
h1{font-size:20px;margin:0 0 4px} .sub{color:#666;font-size:13px;margin-bottom:12px}
label{margin-right:16px;font-size:14px} select{font-size:14px}
#wrap{overflow:auto;max-width:100%;border:1px solid #ddd;margin-top:12px}
#tip{position:fixed;pointer-events:none;background:#fff;border:1px solid #888;padding:4px 8px;
font-size:13px;display:none;box-shadow:2px 2px 6px rgba(0,0,0,.2);white-space:pre}
.bar{display:inline-block;width:200px;height:12px;vertical-align:middle;
background:linear-gradient(to right,#440154,#3b528b,#21918c,#5ec962,#fde725)}
</style></head><body>
<h1>Attention weights</h1>
<div class="sub">)"
    << html_escape(subtitle)
    << R"( &middot; rows: query token, columns: key token; hover a cell for its weight</div>
<label>layer <select id="layer"></select></label>
<label>head <select id="head"></select></label>
<span style="font-size:13px">0 <span class="bar"></span> <span id="vmax"></span> (row-wise weight; grey: hidden)</span>
<div id="wrap"><canvas id="c"></canvas></div>
<div id="tip"></div>
<script>
)" << js.str()
    << R"(
const ls=document.getElementById('layer'),hs=document.getElementById('head');
for(const l of Object.keys(DATA))ls.add(new Option(l,l));
function fillHeads(){hs.innerHTML='';for(const h of Object.keys(DATA[ls.value]))hs.add(new Option(h,h));}
const VIR=[[68,1,84],[59,82,139],[33,145,140],[94,201,98],[253,231,37]];
function vir(t){t=Math.max(0,Math.min(1,t));const x=t*4,i=Math.min(3,Math.floor(x)),f=x-i;
const a=VIR[i],b=VIR[i+1];return 'rgb('+a.map((v,j)=>Math.round(v+(b[j]-v)*f)).join(',')+')';}
const cv=document.getElementById('c'),ctx=cv.getContext('2d'),tip=document.getElementById('tip');
const T=TOKENS.length,CELL=T>96?10:(T>48?14:20),FONT=Math.min(12,CELL-2);
let M=null,LAB=0,vmax=1;
function lab(i){return i+' '+TOKENS[i];}
function draw(){
M=DATA[ls.value][hs.value];vmax=0;for(const r of M)for(const v of r)vmax=Math.max(vmax,v);if(!vmax)vmax=1;
document.getElementById('vmax').textContent=vmax.toFixed(3);
ctx.font=FONT+'px "DejaVu Sans",sans-serif';LAB=0;for(let i=0;i<T;i++)LAB=Math.max(LAB,ctx.measureText(lab(i)).width);LAB+=10;
cv.width=LAB+T*CELL+10;cv.height=LAB+T*CELL+10;
ctx.font=FONT+'px "DejaVu Sans",sans-serif';ctx.fillStyle='#fff';ctx.fillRect(0,0,cv.width,cv.height);
for(let q=0;q<T;q++)for(let k=0;k<T;k++){const vis=k<=q&&(WINDOW==0||k>q-WINDOW);
ctx.fillStyle=vis?vir(M[q][k]/vmax):'#eeeef2';ctx.fillRect(LAB+k*CELL,LAB+q*CELL,CELL,CELL);}
ctx.fillStyle='#1a1a1f';ctx.textAlign='right';
for(let q=0;q<T;q++)ctx.fillText(lab(q),LAB-4,LAB+q*CELL+CELL/2+FONT*0.35);
for(let k=0;k<T;k++){ctx.save();ctx.translate(LAB+k*CELL+CELL/2+FONT*0.35,LAB-4);ctx.rotate(-Math.PI/2);
ctx.textAlign='left';ctx.fillText(lab(k),0,0);ctx.restore();}}
cv.addEventListener('mousemove',e=>{const r=cv.getBoundingClientRect();
const k=Math.floor((e.clientX-r.left-LAB)/CELL),q=Math.floor((e.clientY-r.top-LAB)/CELL);
if(q<0||k<0||q>=T||k>=T){tip.style.display='none';return;}
const vis=k<=q&&(WINDOW==0||k>q-WINDOW);
tip.textContent='query '+q+' \u201c'+TOKENS[q]+'\u201d\nkey   '+k+' \u201c'+TOKENS[k]+'\u201d\n'+
(vis?'weight '+M[q][k].toFixed(4):'hidden by the mask');
tip.style.display='block';tip.style.left=(e.clientX+14)+'px';tip.style.top=(e.clientY+14)+'px';});
cv.addEventListener('mouseleave',()=>tip.style.display='none');
ls.onchange=()=>{fillHeads();draw();};hs.onchange=draw;fillHeads();draw();
</script></body></html>
)";
  SF_CHECK(f.good()) << "cannot write '" << path << "'";
}

}  // namespace

std::vector<std::string> write_attention_maps(const std::vector<int64_t>& tokens,
                                              const ModelConfig& c, const nn::Inspection& ins,
                                              const AttentionMapOptions& opt) {
  check_attention_selection(c, opt.layer, opt.head);
  SF_CHECK(ins.attention.size() == static_cast<size_t>(c.n_layers))
      << "attention maps: the inspection holds " << ins.attention.size() << " layers, the model "
      << c.n_layers;
  const int64_t T = static_cast<int64_t>(tokens.size());
  std::vector<std::string> labels;
  for (int64_t t : tokens) labels.push_back(label_token(opt.label, t, c.vocab_size));
  std::vector<int64_t> layers, heads;
  for (int64_t l = 0; l < c.n_layers; ++l)
    if (opt.layer < 0 || l == opt.layer) layers.push_back(l);
  for (int64_t h = 0; h < c.n_heads; ++h)
    if (opt.head < 0 || h == opt.head) heads.push_back(h);
  std::filesystem::create_directories(opt.out_dir);
  std::vector<std::string> written;
  const auto blocks = attention_blocks(T, opt.block, c.window);
  for (int64_t l : layers) {
    const nn::AttentionCapture& a = ins.attention[static_cast<size_t>(l)];
    SF_CHECK(a.probs.defined() && a.probs.size(0) == 1 && a.probs.size(2) == T)
        << "attention maps: layer " << l << " was not captured for this prompt";
    for (const AttentionBlock& b : blocks) {
      std::string base = opt.out_dir + "/attention-L" + std::to_string(l) +
                         (opt.head >= 0 ? "-H" + std::to_string(opt.head) : "") + "-q" +
                         std::to_string(b.q0) + "-" + std::to_string(b.q1 - 1) + "-k" +
                         std::to_string(b.k0) + "-" + std::to_string(b.k1 - 1);
      draw_block(base, a, heads, l, b, labels, c.n_layers, c.window, opt.title, written);
    }
  }
  const std::string html = opt.out_dir + "/attention.html";
  write_html(html, labels, ins, layers, heads, c.window, opt.title);
  written.push_back(html);
  return written;
}

}  // namespace seekforge::viz
