#pragma once
// Off-box copies of the signed ledger checkpoints besides the witness file (SECURITY.md §2.6, ASVS 16.4.3):
// syslog (LOG_AUTHPRIV, one line per checkpoint) and a webhook (HTTP POST of the same JSON). A sink never
// fails the checkpoint: the database copy is written first, and a sink logs its own failures.
//
// Thread-safety: Ship and Pump may be called from any thread (the ledger thread, and its owner at Stop).

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

#include "core/result.h"

namespace panorama::audit {

class CheckpointSink {
 public:
  virtual ~CheckpointSink() = default;
  // One checkpoint as the witness file's JSON line (without the newline).
  virtual void Ship(const std::string& json) = 0;
  // Called at every tick of the ledger thread: retries what is due. Must not block for long.
  virtual void Pump() {}
};

// syslog(3) with facility LOG_AUTHPRIV, priority LOG_INFO, ident "panorama-audit". The writer is injectable
// for tests; the default calls openlog/syslog.
class SyslogSink final : public CheckpointSink {
 public:
  using Writer = std::function<void(int priority, const std::string& line)>;
  explicit SyslogSink(Writer writer = {});
  // CheckpointSink
  void Ship(const std::string& json) override;

 private:
  Writer writer_;
};

// POSTs each checkpoint to a URL through `post` (which applies its own short timeout). A failed POST stays
// queued, in order, and is retried from Pump with exponential backoff (first_backoff doubling up to
// max_backoff), so an unreachable receiver costs the ledger thread one timed-out attempt per backoff step.
class WebhookSink final : public CheckpointSink {
 public:
  using Poster = std::function<Result<void>(const std::string& body)>;
  struct Options {
    std::chrono::milliseconds first_backoff{1000};
    std::chrono::milliseconds max_backoff{300'000};
    size_t max_pending = 10'000;  // beyond this the oldest queued line is dropped (and logged)
  };
  WebhookSink(std::string url_for_logs, Poster post, Options options);
  // CheckpointSink
  void Ship(const std::string& json) override;
  void Pump() override;

  size_t pending() const;
  int64_t delivered() const;

 private:
  std::string url_;
  Poster post_;
  mutable std::mutex mu_;  // guards what follows; held across a POST so deliveries stay in order
  Options options_;
  std::deque<std::string> pending_;
  int failures_ = 0;  // consecutive
  int64_t delivered_ = 0;
  std::chrono::steady_clock::time_point next_attempt_{};
};

}  // namespace panorama::audit
