#include "analytics/behaviour/paths.h"

#include <gtest/gtest.h>

namespace panorama::behaviour {
namespace {

std::vector<PathEvent> Seq(std::initializer_list<std::pair<int, const char*>> events) {
  std::vector<PathEvent> out;
  for (auto [minute, name] : events)
    out.push_back({FromUnixMillis(int64_t{minute} * 60'000), name});
  return out;
}

using Steps = std::vector<std::string>;

TEST(PathCounter, CountsEachDistinctPathOncePerCustomerAndCollapsesRepeats) {
  PathCounter c({.from_event = "Home", .to_event = "Buy", .max_steps = 5, .limit = 10});
  c.AddCustomer(Seq(
      {{0, "Home"}, {1, "List"}, {2, "List"}, {3, "Buy"}, {4, "Home"}, {5, "List"}, {6, "Buy"}}));
  c.AddCustomer(Seq({{0, "Home"}, {1, "List"}, {2, "Buy"}}));
  c.AddCustomer(Seq({{0, "Home"}, {1, "Cart"}, {2, "Buy"}}));
  c.AddCustomer(Seq({{0, "Home"}, {1, "Cart"}}));  // never reaches Buy: in the total, on no path
  c.AddCustomer(Seq({{0, "List"}, {1, "Buy"}}));   // no Home: not in the total

  PathsResult r = c.Finish();

  EXPECT_EQ(r.total, 4);
  ASSERT_EQ(r.paths.size(), 2u);
  EXPECT_EQ(r.paths[0].steps, (Steps{"Home", "List", "Buy"}));
  EXPECT_EQ(r.paths[0].customers, 2);
  EXPECT_DOUBLE_EQ(r.paths[0].share, 0.5);
  EXPECT_EQ(r.paths[1].steps, (Steps{"Home", "Cart", "Buy"}));
}

TEST(PathCounter, DropsPathsLongerThanMaxStepsOrOutsideTheWindow) {
  PathCounter c({.from_event = "A",
                 .to_event = "Z",
                 .max_steps = 2,
                 .limit = 10,
                 .window = std::chrono::minutes(10)});
  c.AddCustomer(Seq({{0, "A"}, {1, "B"}, {2, "C"}, {3, "Z"}}));  // 3 steps after A
  c.AddCustomer(Seq({{0, "A"}, {11, "Z"}}));                     // 11 minutes later
  c.AddCustomer(Seq({{0, "A"}, {10, "Z"}}));                     // at the window's edge: counts

  PathsResult r = c.Finish();

  EXPECT_EQ(r.total, 3);
  ASSERT_EQ(r.paths.size(), 1u);
  EXPECT_EQ(r.paths[0].steps, (Steps{"A", "Z"}));
  EXPECT_EQ(r.paths[0].customers, 1);
}

TEST(PathCounter, WithoutToEventTakesTheNextStepsAndHonoursTheLimit) {
  PathCounter c({.from_event = "A", .max_steps = 2, .limit = 1});
  c.AddCustomer(Seq({{0, "A"}, {1, "B"}, {2, "C"}, {3, "D"}}));
  c.AddCustomer(Seq({{0, "A"}, {1, "B"}, {2, "C"}}));
  c.AddCustomer(Seq({{0, "A"}, {1, "C"}}));

  PathsResult r = c.Finish();

  ASSERT_EQ(r.paths.size(), 1u);
  EXPECT_EQ(r.paths[0].steps, (Steps{"A", "B", "C"}));
  EXPECT_EQ(r.paths[0].customers, 2);
  EXPECT_EQ(r.total, 3);
}

}  // namespace
}  // namespace panorama::behaviour
