// Live monitoring of a training run: a store of the metrics lines the trainer emits, and an HTTP
// server that shows them as a dashboard page (`/`), as Prometheus text (`/metrics`) and as JSON
// (`/api/metrics?since=STEP`). It is not a metrics database: the store keeps one run's lines in
// memory and the page and scrapers read them while the run lasts.
//
// Threads: the trainer calls the MetricsStore setters on the training thread; the server's
// worker threads read it. Every member of MetricsStore takes its mutex, and a writer does no
// more than append (formatting happens in the readers), so serving never slows a step.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace seekforge::viz {

class MetricsStore {
 public:
  using Clock = std::chrono::steady_clock;

  MetricsStore();

  // What the run is: at least "grad_norm_alarm" (the alarm threshold); the trainer's config
  // ("config", TOML text), "out_dir", "max_steps", model facts ("parameters",
  // "active_parameters", "moe_layers": the block index of each MoE layer), "sample_every".
  // Merged into what was set before.
  void set_run_info(const nlohmann::json& info);
  // One metrics.jsonl line (a training step or an evaluation), as the trainer wrote it.
  void add_line(const nlohmann::json& line);
  void mark_checkpoint(const std::string& dir, int64_t step);
  void set_sample(int64_t step, const std::string& prompt, const std::string& text);

  // {"run": info, "lines": [lines with step > since, in order], "last_step": N, "sample":
  // {step, prompt, text} or null, "checkpoint": {dir, step, age_s} or null}.
  std::string api_json(int64_t since) const;
  // The Prometheus text exposition (format 0.0.4) of the latest values.
  std::string prometheus_text() const;

 private:
  struct Line {
    int64_t step;
    std::string json;
  };
  mutable std::mutex mu_;
  nlohmann::json run_info_ = nlohmann::json::object();
  std::vector<Line> lines_;
  nlohmann::json last_train_;  // the latest training-step line; null before the first
  std::optional<double> val_loss_;
  int64_t alarms_ = 0, skipped_ = 0;
  Clock::time_point start_;
  std::optional<Clock::time_point> checkpoint_time_;
  std::string checkpoint_dir_;
  int64_t checkpoint_step_ = 0;
  nlohmann::json sample_;
};

// A label value as the exposition format wants it: backslash, double quote and newline escaped.
std::string escape_label_value(const std::string& v);

// The process's resident set size in bytes (from /proc/self/statm); 0 where that is missing.
int64_t resident_memory_bytes();

// The dashboard page: one HTML document with its script and styles inline (works offline).
const std::string& dashboard_html();

// Serves a MetricsStore over HTTP on a background thread. The store must outlive the server.
// GET only: `/` (dashboard_html), `/metrics`, `/api/metrics[?since=STEP]`; a bad `since` is
// answered 400 naming the parameter, any other path 404.
class MetricsServer {
 public:
  // Binds host:port before returning (port 0: a free port the system picks), so a taken port
  // fails here with an Error naming host:port, not later on the serving thread.
  MetricsServer(const MetricsStore& store, const std::string& host, int port);
  // Stops listening, finishes the requests in flight and joins the thread.
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }
  std::string url() const;

 private:
  const MetricsStore& store_;
  std::string host_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> listen_returned_{false};
};

}  // namespace seekforge::viz
