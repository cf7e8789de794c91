// Prefetching source wrapper: see prefetch.h.
#include "data/prefetch.h"

#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

namespace seekforge::data {
namespace {

using nlohmann::json;

class PrefetchSource final : public TokenSource {
 public:
  explicit PrefetchSource(std::unique_ptr<TokenSource> inner)
      : inner_(std::move(inner)), worker_([this] { loop(); }) {}

  ~PrefetchSource() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }

  Batch next(int64_t batch_size, int64_t seq_len) override {
    std::optional<Batch> ready;
    std::exception_ptr error;
    if (ahead_) {
      wait_idle();
      if (ahead_b_ == batch_size && ahead_t_ == seq_len) {
        ready = std::move(result_);
        error = error_;
      } else {
        inner_->set_state(ahead_state_);  // a different shape: the guess is thrown away
      }
      result_.reset();
      error_ = nullptr;
      ahead_ = false;
    }
    if (error) std::rethrow_exception(error);  // the caller sees the error it would have seen
    Batch batch = ready ? std::move(*ready) : inner_->next(batch_size, seq_len);
    // Make the next one of the same shape while the caller works.
    ahead_state_ = inner_->state();
    ahead_describe_ = inner_->describe();
    ahead_b_ = batch_size;
    ahead_t_ = seq_len;
    ahead_ = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      busy_ = true;
    }
    cv_.notify_all();
    return batch;
  }

  json state() const override { return ahead_ ? ahead_state_ : inner_->state(); }

  void set_state(const json& s) override {
    discard();
    inner_->set_state(s);
  }

  std::string describe() const override {
    return (ahead_ ? ahead_describe_ : inner_->describe()) + " (prefetching)";
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return busy_ || stop_; });
      if (stop_) return;
      lock.unlock();
      std::optional<Batch> made;
      std::exception_ptr error;
      try {
        made = inner_->next(ahead_b_, ahead_t_);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      result_ = std::move(made);
      error_ = error;
      busy_ = false;
      cv_.notify_all();
    }
  }
  void wait_idle() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !busy_; });
  }
  // Waits for the batch made ahead and rewinds the wrapped source to before it.
  void discard() {
    if (!ahead_) return;
    wait_idle();
    result_.reset();
    error_ = nullptr;
    ahead_ = false;
    inner_->set_state(ahead_state_);
  }

  std::unique_ptr<TokenSource> inner_;
  // Owned by the caller's thread; read by the worker only between busy_ = true and its reset.
  bool ahead_ = false;
  json ahead_state_;
  std::string ahead_describe_;
  int64_t ahead_b_ = 0, ahead_t_ = 0;
  // Guarded by mu_.
  std::mutex mu_;
  std::condition_variable cv_;
  bool busy_ = false, stop_ = false;
  std::optional<Batch> result_;
  std::exception_ptr error_;
  std::thread worker_;  // last: started after everything it reads exists
};

}  // namespace

std::unique_ptr<TokenSource> make_prefetching(std::unique_ptr<TokenSource> inner) {
  return std::make_unique<PrefetchSource>(std::move(inner));
}

}  // namespace seekforge::data
