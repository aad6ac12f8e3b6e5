#include "security/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace panorama::security {

RateLimiter::RateLimiter(const Clock& clock, RateLimitOptions options) : clock_(clock), options_(options) {}

Result<void> RateLimiter::Acquire(Kind kind, std::string_view id) {
  if (!options_.enabled) return Ok();
  const BucketLimit& limit =
      kind == Kind::kKey ? options_.per_key : kind == Kind::kUser ? options_.per_user : options_.per_ip;
  if (limit.per_second <= 0) return Ok();
  std::string key;
  key.reserve(id.size() + 2);
  key.push_back(static_cast<char>('0' + static_cast<int>(kind)));
  key.push_back(':');
  key.append(id);
  Shard& shard = shards_[std::hash<std::string>{}(key) % shards_.size()];
  Timestamp now = clock_.Now();
  std::lock_guard lock(shard.mu);
  if (shard.buckets.size() > options_.max_buckets_per_shard) {
    std::erase_if(shard.buckets, [&](const auto& entry) {
      return std::chrono::duration<double>(now - entry.second.refilled_at).count() * limit.per_second >= limit.burst;
    });
  }
  auto [it, inserted] = shard.buckets.try_emplace(std::move(key), Bucket{limit.burst, now});
  Bucket& b = it->second;
  if (!inserted) {
    double elapsed = std::chrono::duration<double>(now - b.refilled_at).count();
    b.tokens = std::min(limit.burst, b.tokens + std::max(0.0, elapsed) * limit.per_second);
    b.refilled_at = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return Ok();
  }
  Error error = Error::ResourceExhausted("rate limit exceeded; slow down");
  error.WithRetryAfter(static_cast<int>(std::ceil((1.0 - b.tokens) / limit.per_second)));
  return error;
}

}  // namespace panorama::security
