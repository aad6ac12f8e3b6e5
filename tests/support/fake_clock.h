#pragma once
// A Clock that tests set and advance instead of sleeping (STYLE.md §7).

#include <atomic>
#include <chrono>

#include "core/time.h"

namespace panorama::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(Timestamp now = FromUnixMillis(0)) : now_ms_(ToUnixMillis(now)) {}

  // Clock
  Timestamp Now() const override { return FromUnixMillis(now_ms_.load()); }

  void Set(Timestamp now) { now_ms_.store(ToUnixMillis(now)); }
  void Advance(std::chrono::milliseconds by) { now_ms_.fetch_add(by.count()); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace panorama::testing
