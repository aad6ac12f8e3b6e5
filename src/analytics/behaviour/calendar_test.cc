#include "analytics/behaviour/calendar.h"

#include <gtest/gtest.h>

#include "tests/support/result_matchers.h"

namespace panorama::behaviour {
namespace {

TEST(Calendar, MonthOfIsTheUtcCalendarMonth) {
  auto last_ms_of_january = ParseIso8601("2011-01-31T23:59:59.999Z");
  auto first_of_february = ParseIso8601("2011-02-01T00:00:00Z");

  EXPECT_EQ(FormatMonth(MonthOf(*last_ms_of_january)), "2011-01");
  EXPECT_EQ(FormatMonth(MonthOf(*first_of_february)), "2011-02");
  EXPECT_EQ(MonthStart(MonthOf(*last_ms_of_january) + 1), *first_of_february);
}

TEST(Calendar, ParsesMonthsAndRejectsMalformedOnesNamingTheField) {
  auto ok = ParseMonth("2011-12", "from");

  ASSERT_OK(ok);
  EXPECT_EQ(FormatMonth(*ok), "2011-12");
  for (const char* bad :
       {"2011-13", "2011-00", "2011-1", "201112", "2011/12", "abcd-ef", "1969-12", ""}) {
    EXPECT_FIELD_ERROR(ParseMonth(bad, "from"), "from");
  }
}

TEST(Calendar, ParsesWindowsAndRejectsUnknownUnits) {
  EXPECT_EQ(*ParseWindow("7d", "window"), std::chrono::hours(7 * 24));
  EXPECT_EQ(*ParseWindow("90m", "window"), std::chrono::minutes(90));
  EXPECT_EQ(*ParseWindow("2w", "window"), std::chrono::hours(14 * 24));
  for (const char* bad : {"7x", "d", "0d", "-1d", "7", "7 d", "367d", "1.5h", ""}) {
    EXPECT_FIELD_ERROR(ParseWindow(bad, "window"), "window");
  }
}

}  // namespace
}  // namespace panorama::behaviour
