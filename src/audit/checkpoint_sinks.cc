#include "audit/checkpoint_sinks.h"

#include <syslog.h>

#include <algorithm>

#include <spdlog/spdlog.h>

namespace panorama::audit {

SyslogSink::SyslogSink(Writer writer) : writer_(std::move(writer)) {
  if (!writer_) {
    writer_ = [](int priority, const std::string& line) {
      static const bool opened = [] {
        ::openlog("panorama-audit", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
        return true;
      }();
      (void)opened;
      ::syslog(priority, "%s", line.c_str());
    };
  }
}

void SyslogSink::Ship(const std::string& json) { writer_(LOG_AUTHPRIV | LOG_INFO, json); }

WebhookSink::WebhookSink(std::string url_for_logs, Poster post, Options options)
    : url_(std::move(url_for_logs)), post_(std::move(post)), options_(options) {}

size_t WebhookSink::pending() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

int64_t WebhookSink::delivered() const {
  std::lock_guard lock(mu_);
  return delivered_;
}

void WebhookSink::Ship(const std::string& json) {
  {
    std::lock_guard lock(mu_);
    pending_.push_back(json);
    if (pending_.size() > options_.max_pending) {
      pending_.pop_front();
      spdlog::error("audit webhook {}: more than {} checkpoints undelivered, the oldest was dropped (the database "
                  "and the witness file still hold it)", url_, options_.max_pending);
    }
  }
  Pump();
}

void WebhookSink::Pump() {
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (pending_.empty() || now < next_attempt_) return;
  while (!pending_.empty()) {
    auto posted = post_(pending_.front());
    if (!posted) {
      ++failures_;
      auto backoff = options_.first_backoff * (int64_t{1} << std::min(failures_ - 1, 20));
      backoff = std::min<std::chrono::milliseconds>(backoff, options_.max_backoff);
      next_attempt_ = std::chrono::steady_clock::now() + backoff;
      spdlog::warn("audit webhook {}: delivery failed ({}), {} checkpoint(s) queued, retry in {} ms", url_,
                   posted.error().message(), pending_.size(), backoff.count());
      return;
    }
    pending_.pop_front();
    ++delivered_;
    failures_ = 0;
  }
}

}  // namespace panorama::audit
