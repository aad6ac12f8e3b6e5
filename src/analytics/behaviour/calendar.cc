#include "analytics/behaviour/calendar.h"

#include <charconv>
#include <cstdio>

namespace panorama::behaviour {

MonthIndex MonthOf(Timestamp t) {
  std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(t)};
  return static_cast<int64_t>(static_cast<int>(ymd.year())) * 12 +
         static_cast<unsigned>(ymd.month()) - 1;
}

std::string FormatMonth(MonthIndex month) {
  char text[48];
  std::snprintf(text, sizeof(text), "%04lld-%02lld", static_cast<long long>(month / 12),
                static_cast<long long>(month % 12 + 1));
  return text;
}

Timestamp MonthStart(MonthIndex month) {
  int64_t days = DaysFromCivil(month / 12, static_cast<unsigned>(month % 12 + 1), 1);
  return FromUnixMillis(days * 86'400'000);
}

Result<MonthIndex> ParseMonth(std::string_view text, const std::string& field) {
  auto bad = [&] { return Error::InvalidField(field, "must be a month YYYY-MM"); };
  if (text.size() != 7 || text[4] != '-')
    return bad();
  int year = 0;
  int month = 0;
  auto y = std::from_chars(text.data(), text.data() + 4, year);
  auto m = std::from_chars(text.data() + 5, text.data() + 7, month);
  if (y.ec != std::errc() || y.ptr != text.data() + 4 || m.ec != std::errc() ||
      m.ptr != text.data() + 7) {
    return bad();
  }
  if (year < 1970 || month < 1 || month > 12)
    return bad();
  return static_cast<MonthIndex>(year) * 12 + month - 1;
}

Result<std::chrono::milliseconds> ParseWindow(std::string_view text, const std::string& field) {
  auto bad = [&] {
    return Error::InvalidField(field, "must be a duration like 30m, 12h, 7d or 2w (1s..366d)");
  };
  if (text.size() < 2 || text.size() > 12)
    return bad();
  int64_t n = 0;
  auto parsed = std::from_chars(text.data(), text.data() + text.size() - 1, n);
  if (parsed.ec != std::errc() || parsed.ptr != text.data() + text.size() - 1 || n <= 0)
    return bad();
  int64_t unit_seconds = 0;
  switch (text.back()) {
    case 's':
      unit_seconds = 1;
      break;
    case 'm':
      unit_seconds = 60;
      break;
    case 'h':
      unit_seconds = 3600;
      break;
    case 'd':
      unit_seconds = 86400;
      break;
    case 'w':
      unit_seconds = 7 * 86400;
      break;
    default:
      return bad();
  }
  if (n > 366 * 86400 / unit_seconds)
    return bad();
  return std::chrono::milliseconds(n * unit_seconds * 1000);
}

}  // namespace panorama::behaviour
