#pragma once
// UTC timestamps in milliseconds (STYLE.md §3) and the Clock seam.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace panorama {

using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

inline int64_t ToUnixMillis(Timestamp t) { return t.time_since_epoch().count(); }
inline Timestamp FromUnixMillis(int64_t ms) { return Timestamp{std::chrono::milliseconds{ms}}; }

// Parses ISO 8601 / RFC 3339: "2024-05-01", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00.123+08:00",
// "2024-05-01 10:00:00" (taken as UTC). Rejects out-of-range fields with kInvalidArgument.
Result<Timestamp> ParseIso8601(std::string_view text);

// "2024-05-01T02:00:00.123Z": always UTC, always milliseconds.
std::string FormatIso8601(Timestamp t);

// Days since 1970-01-01 for a civil date (Howard Hinnant's algorithm, exact for the proleptic Gregorian calendar).
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);

// Thread-safe source of the current time; tests use a fake they advance.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  // Clock
  Timestamp Now() const override;
};

}  // namespace panorama
