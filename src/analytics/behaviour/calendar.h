#pragma once
// Month arithmetic and the duration syntax shared by the behaviour reports and their inputs.

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/time.h"

namespace panorama::behaviour {

// A UTC calendar month as a running index: year * 12 + (month - 1). Differences are month counts.
using MonthIndex = int64_t;

MonthIndex MonthOf(Timestamp t);
std::string FormatMonth(MonthIndex month);  // "2011-01"
Timestamp MonthStart(MonthIndex month);     // 00:00 UTC on the 1st
// "YYYY-MM" (years 1970..9999); kInvalidArgument naming `field` otherwise.
Result<MonthIndex> ParseMonth(std::string_view text, const std::string& field);

// "<n><unit>", unit s, m, h, d or w ("7d", "12h"); at least 1 s, at most 366 days. kInvalidArgument
// naming `field` otherwise.
Result<std::chrono::milliseconds> ParseWindow(std::string_view text, const std::string& field);

}  // namespace panorama::behaviour
