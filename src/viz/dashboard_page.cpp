// The live dashboard: one HTML page whose script draws SVG charts by hand from
// /api/metrics and polls it for new lines. Nothing is loaded from elsewhere (no library, font
// or stylesheet), so it works on a machine without a network. Each chart element carries
// data-points="N", the number of data points it drew from, which tests read from the DOM.
//
// Polling, not server-sent events: a poll is one short request that returns only the lines
// after the newest step the page has, so it costs the server nothing between requests and
// holds no worker thread or connection open per viewer; stopping the server never waits on an
// endless stream. Once a second is live enough for steps that take tens of milliseconds or more.
#include "viz/metrics_server.h"

namespace seekforge::viz {

const std::string& dashboard_html() {
  static const std::string page = R"page(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>seekforge training</title>
<style>
body { font-family: sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
header { background: #1d2330; color: #fff; padding: 10px 18px; }
header h1 { font-size: 18px; margin: 0 0 4px 0; }
header .facts { font-size: 13px; color: #c8cdd8; }
#status { float: right; font-size: 13px; }
#status.live { color: #7bd88f; }
#status.down { color: #ff8a80; }
main { display: grid; grid-template-columns: repeat(auto-fill, minmax(640px, 1fr)); gap: 12px;
       padding: 12px; }
.card { background: #fff; border: 1px solid #d8dbe2; border-radius: 4px; padding: 8px 10px; }
.card h2 { font-size: 14px; margin: 0 0 4px 0; }
.card .note { font-size: 12px; color: #5a6275; }
.wide { grid-column: 1 / -1; }
button { font-size: 12px; margin-left: 8px; }
svg text { font-family: sans-serif; font-size: 11px; fill: #1d2330; }
svg .grid { stroke: #e6e8ee; }
svg .axis { stroke: #1d2330; }
pre#sample { white-space: pre-wrap; word-break: break-all; font-size: 13px; background: #f7f7fa;
             padding: 8px; margin: 4px 0; min-height: 3em; }
.moe-row { display: grid; grid-template-columns: 1fr 2fr; gap: 10px; }
</style>
</head>
<body>
<header>
<span id="status">connecting...</span>
<h1>seekforge training <span id="run-name"></span></h1>
<div class="facts" id="facts">waiting for the first step</div>
</header>
<main>
<div class="card"><h2>Loss <button id="loss-scale">log scale</button></h2>
  <div id="chart-loss" class="chart" data-points="0"></div></div>
<div class="card"><h2>Gradient norm <button id="gnorm-scale">linear scale</button></h2>
  <div id="chart-gnorm" class="chart" data-points="0"></div></div>
<div class="card"><h2>Learning rate</h2>
  <div id="chart-lr" class="chart" data-points="0"></div></div>
<div class="card"><h2>Throughput</h2>
  <div id="chart-tps" class="chart" data-points="0"></div></div>
<div class="card"><h2>Dropped tokens</h2>
  <div id="chart-dropped" class="chart" data-points="0"></div></div>
<div class="card"><h2>Sample generation</h2>
  <div class="note" id="sample-note">no sample yet</div><pre id="sample"></pre></div>
<div class="card wide" id="moe"><h2>Expert load per MoE layer</h2>
  <div class="note">Left: the share of the latest step's token-to-expert assignments per expert
  (dashed: an even share). Right: the same share over the steps, one row per expert.</div>
  <div id="moe-layers"></div></div>
</main>
<script>
"use strict";
const NS = "http://www.w3.org/2000/svg";
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const state = { run: {}, train: new Map(), val: new Map(), sample: null, checkpoint: null,
                lastStep: -1, lossLog: false, gnormLog: null };

function el(tag, attrs, parent, text) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

// Math.min(...a) overflows the argument limit on a long run's arrays.
function lo(a) { let m = Infinity; for (const v of a) if (v < m) m = v; return m; }
function hi(a) { let m = -Infinity; for (const v of a) if (v > m) m = v; return m; }

function fmt(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(1).replace(".0e", "e");
  if (a >= 100) return v.toFixed(0);
  return Number(v.toPrecision(3)).toString();
}

// About n round tick values between lo and hi.
function ticks(lo, hi, n) {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map(m => m * mag).find(s => s >= raw);
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(t);
  return out;
}

// A line chart: series [{name, color, points: [[x, y]...], dash}], axis labels with units.
function lineChart(id, opt) {
  const host = document.getElementById(id);
  const legend = opt.series.length > 1;
  const W = 620, H = 260, L = 64, R = 12, T = legend ? 28 : 10, B = 40;
  const svg = el("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img" });
  el("title", {}, svg, opt.title);
  let n = 0, xs = [], ys = [];
  for (const s of opt.series) {
    n += s.count !== undefined ? s.count : s.points.length;
    for (const [x, y] of s.points) {
      if (!Number.isFinite(y) || (opt.log && y <= 0)) continue;
      xs.push(x); ys.push(y);
    }
  }
  host.dataset.points = String(n);
  if (xs.length === 0) {
    el("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, svg, "no data yet");
    host.replaceChildren(svg);
    return;
  }
  const f = opt.log ? Math.log10 : (v => v);
  let x0 = lo(xs), x1 = hi(xs);
  if (x1 === x0) x1 = x0 + 1;
  const fy = ys.map(f);
  let y0 = lo(fy), y1 = hi(fy);
  if (!opt.log && opt.zero) y0 = Math.min(0, y0);
  if (y1 === y0) { if (opt.zero && y0 === 0) y1 = 1; else { y0 -= 0.5; y1 += 0.5; } }
  const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
  const px = x => L + (x - x0) / (x1 - x0) * (W - L - R);
  const py = y => T + (1 - (f(y) - y0) / (y1 - y0)) * (H - T - B);
  // grid and tick labels
  for (const t of ticks(x0, x1, 6)) {
    el("line", { x1: px(t), x2: px(t), y1: T, y2: H - B, class: "grid" }, svg);
    el("text", { x: px(t), y: H - B + 14, "text-anchor": "middle" }, svg, fmt(t));
  }
  const yt = opt.log ? ticks(Math.floor(y0), Math.ceil(y1), 5).filter(t => t >= y0 && t <= y1)
                     : ticks(y0, y1, 5);
  for (const t of yt) {
    const y = opt.log ? Math.pow(10, t) : t;
    el("line", { x1: L, x2: W - R, y1: py(y), y2: py(y), class: "grid" }, svg);
    el("text", { x: L - 4, y: py(y) + 4, "text-anchor": "end" }, svg, fmt(y));
  }
  el("line", { x1: L, x2: L, y1: T, y2: H - B, class: "axis" }, svg);
  el("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }, svg);
  el("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle" }, svg, opt.xLabel);
  el("text", { x: 12, y: (T + H - B) / 2, "text-anchor": "middle",
               transform: `rotate(-90 12 ${(T + H - B) / 2})` }, svg,
     opt.yLabel + (opt.log ? " (log scale)" : ""));
  // series: at most ~1500 drawn points each (every k-th), all of them counted in data-points
  for (const s of opt.series) {
    const pts = s.points.filter(([x, y]) => Number.isFinite(y) && !(opt.log && y <= 0));
    if (pts.length === 0) continue;
    const k = Math.max(1, Math.ceil(pts.length / 1500));
    let d = "";
    pts.forEach(([x, y], i) => {
      if (i % k === 0 || i === pts.length - 1)
        d += (d ? "L" : "M") + px(x).toFixed(1) + "," + py(y).toFixed(1);
    });
    el("path", { d, fill: "none", stroke: s.color, "stroke-width": s.width || 1.5,
                 "stroke-dasharray": s.dash || "none", "data-series": s.name }, svg);
    if (pts.length < 3 && s.count === undefined)
      for (const [x, y] of pts) el("circle", { cx: px(x), cy: py(y), r: 3, fill: s.color }, svg);
  }
  if (legend) {  // in a band above the plot, clear of the data
    let lx = L;
    for (const s of opt.series) {
      el("line", { x1: lx, x2: lx + 18, y1: 12, y2: 12, stroke: s.color,
                   "stroke-width": 2, "stroke-dasharray": s.dash || "none" }, svg);
      el("text", { x: lx + 22, y: 16 }, svg, s.name);
      lx += 30 + 6.2 * s.name.length;
    }
  }
  host.replaceChildren(svg);
}

// Colour of a share in [0, top]: white to dark blue.
function heat(v, top) {
  const t = top > 0 ? Math.min(1, v / top) : 0;
  const c = (a, b) => Math.round(a + (b - a) * t);
  return `rgb(${c(255, 8)},${c(255, 48)},${c(255, 107)})`;
}

function moeCharts(steps) {
  const host = document.getElementById("moe-layers");
  const withMoe = steps.filter(l => Array.isArray(l.moe));
  if (withMoe.length === 0) {
    host.textContent = "this model has no MoE layers";
    return;
  }
  const blocks = state.run.moe_layers || [];
  const nLayers = withMoe[withMoe.length - 1].moe.length;
  while (host.children.length < nLayers) {
    const i = host.children.length;
    const row = document.createElement("div");
    row.className = "moe-row";
    const name = blocks[i] !== undefined ? blocks[i] : i;
    row.innerHTML = `<div><h2>Layer ${name}: load now</h2>` +
      `<div id="chart-load-${i}" class="chart" data-points="0"></div></div>` +
      `<div><h2>Layer ${name}: load history</h2>` +
      `<div id="chart-heat-${i}" class="chart" data-points="0"></div></div>`;
    host.appendChild(row);
  }
  const share = l => { const s = l.load.reduce((a, b) => a + b, 0); return l.load.map(x => s ? x / s : 0); };
  for (let i = 0; i < nLayers; ++i) {
    const last = share(withMoe[withMoe.length - 1].moe[i]);
    const E = last.length;
    // histogram of the latest step
    {
      const hostH = document.getElementById(`chart-load-${i}`);
      const W = 300, H = 220, L = 48, R = 8, T = 10, B = 40;
      const svg = el("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}` });
      el("title", {}, svg, `Layer ${i} expert load at step ${withMoe[withMoe.length - 1].step}`);
      const top = Math.max(2 / E, ...last) * 1.1;
      const py = v => T + (1 - v / top) * (H - T - B);
      const bw = (W - L - R) / E;
      for (const t of ticks(0, top, 4)) {
        el("line", { x1: L, x2: W - R, y1: py(t), y2: py(t), class: "grid" }, svg);
        el("text", { x: L - 4, y: py(t) + 4, "text-anchor": "end" }, svg, (100 * t).toFixed(0) + "%");
      }
      last.forEach((v, e) => {
        el("rect", { x: L + e * bw + 2, y: py(v), width: Math.max(1, bw - 4),
                     height: py(0) - py(v), fill: COLORS[0] }, svg);
        if (E <= 32 || e % Math.ceil(E / 16) === 0)
          el("text", { x: L + (e + 0.5) * bw, y: H - B + 14, "text-anchor": "middle" }, svg, e);
      });
      el("line", { x1: L, x2: W - R, y1: py(1 / E), y2: py(1 / E), stroke: "#d62728",
                   "stroke-dasharray": "5,3" }, svg);
      el("line", { x1: L, x2: L, y1: T, y2: H - B, class: "axis" }, svg);
      el("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }, svg);
      el("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle" }, svg, "expert");
      el("text", { x: 12, y: (T + H - B) / 2, "text-anchor": "middle",
                   transform: `rotate(-90 12 ${(T + H - B) / 2})` }, svg, "share of assignments (%)");
      hostH.dataset.points = String(E);
      hostH.replaceChildren(svg);
    }
    // heatmap: experts x steps, at most 300 columns (each the mean of its steps)
    {
      const hostM = document.getElementById(`chart-heat-${i}`);
      const W = 640, H = 220, L = 48, R = 70, T = 10, B = 40;
      const svg = el("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}` });
      el("title", {}, svg, `Layer ${i} expert load history`);
      const S = withMoe.length, cols = Math.min(S, 300), per = S / cols;
      const grid = [];
      let top = 0;
      for (let c = 0; c < cols; ++c) {
        const a = Math.floor(c * per), b = Math.max(a + 1, Math.floor((c + 1) * per));
        const acc = new Array(E).fill(0);
        for (let s = a; s < b; ++s) share(withMoe[s].moe[i]).forEach((v, e) => acc[e] += v / (b - a));
        acc.forEach(v => top = Math.max(top, v));
        grid.push(acc);
      }
      const cw = (W - L - R) / cols, rh = (H - T - B) / E;
      grid.forEach((col, c) => col.forEach((v, e) =>
        el("rect", { x: L + c * cw, y: T + e * rh, width: cw + 0.5, height: rh + 0.5,
                     fill: heat(v, top) }, svg)));
      const s0 = withMoe[0].step, s1 = withMoe[S - 1].step;
      for (const t of ticks(s0, s1, 6)) {
        const x = L + (s1 > s0 ? (t - s0) / (s1 - s0) : 0) * (W - L - R);
        el("text", { x, y: H - B + 14, "text-anchor": "middle" }, svg, fmt(t));
      }
      for (let e = 0; e < E; ++e)
        if (E <= 16 || e % Math.ceil(E / 16) === 0)
          el("text", { x: L - 4, y: T + (e + 0.5) * rh + 4, "text-anchor": "end" }, svg, e);
      el("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle" }, svg, "step");
      el("text", { x: 12, y: (T + H - B) / 2, "text-anchor": "middle",
                   transform: `rotate(-90 12 ${(T + H - B) / 2})` }, svg, "expert");
      // colour bar
      for (let k = 0; k < 20; ++k)
        el("rect", { x: W - R + 14, y: T + (19 - k) * (H - T - B) / 20, width: 12,
                     height: (H - T - B) / 20 + 0.5, fill: heat((k + 0.5) / 20 * top, top) }, svg);
      el("text", { x: W - R + 30, y: T + 8 }, svg, (100 * top).toFixed(0) + "%");
      el("text", { x: W - R + 30, y: H - B }, svg, "0%");
      el("text", { x: W - R + 8, y: H - 6 }, svg, "share");
      hostM.dataset.points = String(S);
      hostM.replaceChildren(svg);
    }
  }
}

function render() {
  const steps = [...state.train.values()];
  const vals = [...state.val.values()];
  const run = state.run;
  const sx = l => l.step;
  lineChart("chart-loss", {
    title: "Training and validation loss", xLabel: "step", yLabel: "loss (nats per token)",
    log: state.lossLog,
    series: [{ name: "training loss", color: COLORS[0], points: steps.map(l => [sx(l), l.loss]) },
             { name: "validation loss", color: COLORS[1], width: 2,
               points: vals.map(l => [sx(l), l.val_loss]) }] });
  const thr = run.grad_norm_alarm;
  const gn = steps.map(l => [sx(l), l.grad_norm]);
  const gmax = Math.max(0, hi(gn.map(p => p[1]).filter(Number.isFinite)));
  if (state.gnormLog === null && gn.length > 0) state.gnormLog = thr > 10 * gmax;
  document.getElementById("gnorm-scale").textContent = state.gnormLog ? "linear scale" : "log scale";
  const gseries = [{ name: "gradient norm (before clipping)", color: COLORS[2], points: gn }];
  if (thr !== undefined && gn.length > 0)
    gseries.push({ name: `alarm threshold (train.grad_norm_alarm = ${fmt(thr)})`, color: "#d62728",
                   dash: "6,4", count: 0, points: [[gn[0][0], thr], [gn[gn.length - 1][0], thr]] });
  lineChart("chart-gnorm", { title: "Gradient norm", xLabel: "step", yLabel: "global L2 norm",
                             log: !!state.gnormLog, series: gseries });
  lineChart("chart-lr", { title: "Learning rate", xLabel: "step", yLabel: "learning rate",
                          zero: true,
                          series: [{ name: "lr", color: COLORS[3], points: steps.map(l => [sx(l), l.lr]) }] });
  lineChart("chart-tps", { title: "Throughput", xLabel: "step", yLabel: "tokens per second",
                           zero: true,
                           series: [{ name: "tokens/s", color: COLORS[4],
                                      points: steps.map(l => [sx(l), l.tokens_per_s]) }] });
  const withMoe = steps.filter(l => Array.isArray(l.moe));
  const nl = withMoe.length ? withMoe[withMoe.length - 1].moe.length : 0;
  const blocks = run.moe_layers || [];
  const dseries = [];
  for (let i = 0; i < nl; ++i)
    dseries.push({ name: `layer ${blocks[i] !== undefined ? blocks[i] : i}`,
                   color: COLORS[i % COLORS.length],
                   points: withMoe.map(l => [sx(l), l.moe[i].dropped || 0]) });
  lineChart("chart-dropped", { title: "Dropped tokens", xLabel: "step",
                               yLabel: "dropped assignments per step", zero: true, series: dseries });
  moeCharts(steps);
  if (state.sample) {
    document.getElementById("sample-note").textContent =
      `step ${state.sample.step}, every ${run.sample_every || "?"} steps; prompt shown in bold`;
    const pre = document.getElementById("sample");
    pre.replaceChildren();
    const b = document.createElement("b");
    b.textContent = state.sample.prompt;
    pre.appendChild(b);
    pre.appendChild(document.createTextNode(state.sample.text));
  }
  const last = steps[steps.length - 1];
  const facts = [];
  if (last) facts.push(`step ${last.step}${run.max_steps ? " / " + run.max_steps : ""}`,
                       `loss ${fmt(last.loss)}`, `${fmt(last.tokens_per_s)} tokens/s`,
                       `MFU ${(100 * last.mfu).toFixed(1)}%`);
  if (vals.length) facts.push(`validation loss ${fmt(vals[vals.length - 1].val_loss)}`);
  if (run.parameters) facts.push(`${run.parameters.toLocaleString("en")} parameters ` +
                                 `(${(run.active_parameters || 0).toLocaleString("en")} active)`);
  const alarms = steps.filter(l => l.grad_norm_alarm).length;
  const skipped = steps.filter(l => l.skipped).length;
  facts.push(`${alarms} alarms`, `${skipped} skipped steps`);
  if (state.checkpoint) facts.push(`last checkpoint step ${state.checkpoint.step}`);
  document.getElementById("facts").textContent = facts.join("  \u00b7  ");
  document.getElementById("run-name").textContent = run.out_dir ? "\u2014 " + run.out_dir : "";
}

async function poll() {
  const status = document.getElementById("status");
  try {
    const r = await fetch(`/api/metrics?since=${state.lastStep - 1}`, { cache: "no-store" });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const j = await r.json();
    state.run = j.run || {};
    state.sample = j.sample;
    state.checkpoint = j.checkpoint;
    let changed = state.lastStep < 0;
    // The lines of the newest step are asked for again: an evaluation line can follow the
    // step's line after a poll took it. Keyed by step, a repeat replaces itself.
    for (const l of j.lines) {
      if ("val_loss" in l) state.val.set(l.step, l); else state.train.set(l.step, l);
      state.lastStep = Math.max(state.lastStep, l.step);
      changed = true;
    }
    if (changed || state.sample) render();
    status.textContent = "live";
    status.className = "live";
  } catch (e) {
    status.textContent = "not connected (has the run ended?)";
    status.className = "down";
  }
  setTimeout(poll, 1000);
}

document.getElementById("loss-scale").onclick = ev => {
  state.lossLog = !state.lossLog;
  ev.target.textContent = state.lossLog ? "linear scale" : "log scale";
  render();
};
document.getElementById("gnorm-scale").onclick = () => { state.gnormLog = !state.gnormLog; render(); };
poll();
</script>
</body>
</html>
)page";
  return page;
}

}  // namespace seekforge::viz
