#include "security/rate_limiter.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"
#include "tests/support/result_matchers.h"

namespace panorama::security {
namespace {

// S9: one key sends at twice its limit for 10 s while another sends at half its limit.
TEST(RateLimiter, HoldsAKeyAtItsLimitAndLeavesAnotherKeyAlone) {
  testing::FakeClock clock(FromUnixMillis(1'700'000'000'000));
  RateLimiter limiter(clock, {.per_key = {100, 100}});
  int accepted_per_second[10] = {};
  int other_rejected = 0;
  int rejected_without_retry_after = 0;

  for (int ms = 0; ms < 10'000; ms += 5) {  // 200 requests/s from key A
    auto a = limiter.Acquire(RateLimiter::Kind::kKey, "key-a");
    if (a) {
      ++accepted_per_second[ms / 1000];
    } else if (a.error().code() != ErrorCode::kResourceExhausted || !a.error().retry_after_seconds()) {
      ++rejected_without_retry_after;
    }
    if (ms % 20 == 0 && !limiter.Acquire(RateLimiter::Kind::kKey, "key-b")) ++other_rejected;  // 50/s
    clock.Advance(std::chrono::milliseconds(5));
  }

  int total = 0;
  for (int s = 0; s < 10; ++s) total += accepted_per_second[s];
  for (int s = 1; s < 10; ++s) EXPECT_LE(accepted_per_second[s], 110) << "second " << s;
  EXPECT_LE(total, 100 * 10 + 100);  // the rate over the run plus one burst
  EXPECT_GE(total, 100 * 10);        // and the limit is not stricter than configured
  EXPECT_EQ(rejected_without_retry_after, 0);
  EXPECT_EQ(other_rejected, 0);
}

// Callers on many threads (the HTTP workers) share one bucket: with the clock still, exactly the burst gets
// through, whatever the interleaving. Part of the TSan suites (scripts/tsan.sh).
TEST(RateLimiter, ConcurrentCallersShareOneBucketExactly) {
  testing::FakeClock clock(FromUnixMillis(1'700'000'000'000));
  RateLimiter limiter(clock, {.per_key = {10, 50}});
  std::atomic<int> accepted{0};
  std::atomic<int> other_keys_accepted{0};
  std::vector<std::thread> threads;

  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        if (limiter.Acquire(RateLimiter::Kind::kKey, "shared")) ++accepted;
        if (limiter.Acquire(RateLimiter::Kind::kKey, "own-" + std::to_string(t) + "-" + std::to_string(i % 5))) {
          ++other_keys_accepted;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(accepted.load(), 50);
  EXPECT_EQ(other_keys_accepted.load(), 8 * 100);  // 5 keys per thread, 20 calls each: within their bursts
}

TEST(RateLimiter, RetryAfterSaysWhenATokenIsBack) {
  testing::FakeClock clock(FromUnixMillis(1'700'000'000'000));
  RateLimiter limiter(clock, {.per_ip = {0.5, 1}});
  ASSERT_OK(limiter.Acquire(RateLimiter::Kind::kIp, "10.0.0.1"));

  auto denied = limiter.Acquire(RateLimiter::Kind::kIp, "10.0.0.1");

  EXPECT_ERROR_CODE(denied, ErrorCode::kResourceExhausted);
  EXPECT_EQ(denied.error().retry_after_seconds(), 2);
  clock.Advance(std::chrono::seconds(2));
  EXPECT_OK(limiter.Acquire(RateLimiter::Kind::kIp, "10.0.0.1"));
}

TEST(RateLimiter, DisabledLetsEverythingThrough) {
  testing::FakeClock clock;
  RateLimiter limiter(clock, {.enabled = false, .per_key = {1, 1}});

  for (int i = 0; i < 100; ++i) ASSERT_OK(limiter.Acquire(RateLimiter::Kind::kKey, "k"));
}

TEST(RateLimiter, KindsAreSeparateBuckets) {
  testing::FakeClock clock;
  RateLimiter limiter(clock, {.per_key = {1, 1}, .per_user = {1, 1}});

  EXPECT_OK(limiter.Acquire(RateLimiter::Kind::kKey, "7"));
  EXPECT_OK(limiter.Acquire(RateLimiter::Kind::kUser, "7"));
  EXPECT_ERROR_CODE(limiter.Acquire(RateLimiter::Kind::kKey, "7"), ErrorCode::kResourceExhausted);
}

}  // namespace
}  // namespace panorama::security
