#pragma once
// Token-bucket rate limits for the API, per API key, per user and per client IP (SECURITY.md checklist, test
// S9). Each bucket holds up to `burst` tokens and refills at `per_second`; a request takes one token.
//
// Lock-light: buckets live in 16 shards chosen by hash, each with its own mutex held for a few instructions, so
// concurrent requests for different keys rarely contend. Idle buckets are dropped when a shard grows past
// `max_buckets_per_shard` (an idle bucket is full, so dropping it changes nothing).

#include <array>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.h"
#include "core/time.h"

namespace panorama::security {

struct BucketLimit {
  double per_second = 0;  // 0 disables this kind of limit
  double burst = 0;
};

struct RateLimitOptions {
  bool enabled = true;
  BucketLimit per_key{200, 400};
  BucketLimit per_user{200, 400};
  BucketLimit per_ip{1000, 2000};
  size_t max_buckets_per_shard = 4096;
};

class RateLimiter {
 public:
  enum class Kind { kKey, kUser, kIp };
  RateLimiter(const Clock& clock, RateLimitOptions options = {});

  // Ok and one token taken, or kResourceExhausted with retry-after (seconds until a token is back).
  Result<void> Acquire(Kind kind, std::string_view id);
  const RateLimitOptions& options() const { return options_; }

 private:
  struct Bucket {
    double tokens = 0;
    Timestamp refilled_at{};
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;  // guarded by mu
  };

  const Clock& clock_;
  RateLimitOptions options_;
  std::array<Shard, 16> shards_;
};

}  // namespace panorama::security
