#pragma once
// A Clock that tests move by hand instead of sleeping (STYLE.md §7).

#include <atomic>

#include "core/time.h"

namespace panorama::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(Timestamp start = FromUnixMillis(1'700'000'000'000)) : now_ms_(ToUnixMillis(start)) {}
  // Clock
  Timestamp Now() const override { return FromUnixMillis(now_ms_.load()); }
  void Advance(std::chrono::milliseconds by) { now_ms_ += by.count(); }
  void Set(Timestamp t) { now_ms_ = ToUnixMillis(t); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace panorama::testing
