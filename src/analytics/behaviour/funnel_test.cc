#include "analytics/behaviour/funnel.h"

#include <gtest/gtest.h>

namespace panorama::behaviour {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

// Events at whole minutes; ids follow the listing order; one optional property ("category").
std::vector<FunnelEvent> Seq(
    std::initializer_list<std::tuple<int, const char*, const char*>> events) {
  std::vector<FunnelEvent> out;
  int64_t id = 0;
  for (auto [minute, name, category] : events) {
    std::optional<std::string> value;
    if (category != nullptr)
      value = category;
    out.push_back({FromUnixMillis(int64_t{minute} * 60'000), ++id, name, {value}});
  }
  return out;
}

FunnelSpec Spec(std::vector<const char*> steps, std::chrono::milliseconds window = hours(1)) {
  FunnelSpec spec;
  for (const char* s : steps) spec.steps.push_back({s, {}});
  spec.window = window;
  return spec;
}

std::vector<int64_t> Counts(const std::vector<FunnelStepResult>& steps) {
  std::vector<int64_t> out;
  for (const auto& s : steps) out.push_back(s.customers);
  return out;
}

// A View → Buy funnel broken down by `key`.
FunnelSpec BreakdownSpec(BreakdownKind kind, const char* key) {
  FunnelSpec spec = Spec({"View", "Buy"});
  spec.breakdown = kind;
  spec.breakdown_key = key;
  return spec;
}

void AddCustomers(FunnelCalculator& f, int n, const std::vector<FunnelEvent>& events,
                  const std::string& attribute = "") {
  for (int i = 0; i < n; ++i) f.AddCustomer(events, attribute);
}

// The breakdown as (value, customers per step) rows, so a test compares all of it at once.
using BreakdownRows = std::vector<std::pair<std::string, std::vector<int64_t>>>;
BreakdownRows Groups(const FunnelResult& r) {
  BreakdownRows out;
  for (const auto& row : r.breakdown) out.emplace_back(row.value, Counts(row.steps));
  return out;
}

TEST(FunnelCalculator, CountsCustomersPerStepWithConversionsAndMedians) {
  FunnelCalculator f(Spec({"View", "Cart", "Buy"}));
  f.AddCustomer(Seq({{0, "View", nullptr}, {10, "Cart", nullptr}, {20, "Buy", nullptr}}));
  f.AddCustomer(Seq({{0, "View", nullptr}, {30, "Cart", nullptr}}));
  f.AddCustomer(Seq({{0, "View", nullptr}}));
  f.AddCustomer(Seq({{0, "Cart", nullptr}, {1, "Buy", nullptr}}));  // never entered

  FunnelResult r = f.Finish();

  EXPECT_EQ(Counts(r.steps), (std::vector<int64_t>{3, 2, 1}));
  EXPECT_DOUBLE_EQ(r.steps[1].conversion_from_start, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r.steps[2].conversion_from_previous, 0.5);
  EXPECT_DOUBLE_EQ(r.steps[2].conversion_from_start, 1.0 / 3.0);
  EXPECT_FALSE(r.steps[0].median_seconds_from_previous.has_value());
  EXPECT_DOUBLE_EQ(*r.steps[1].median_seconds_from_previous, 20 * 60.0);  // (10 + 30) / 2 minutes
  EXPECT_DOUBLE_EQ(*r.steps[2].median_seconds_from_previous, 10 * 60.0);
}

TEST(FunnelCalculator, KeepsTheStartThatGoesFurthestWithinTheWindow) {
  FunnelCalculator f(Spec({"View", "Cart", "Buy"}));
  // The first View reaches only Cart within the hour; the second reaches Buy.
  f.AddCustomer(Seq({{0, "View", nullptr},
                     {50, "Cart", nullptr},
                     {100, "View", nullptr},
                     {110, "Cart", nullptr},
                     {130, "Buy", nullptr}}));

  FunnelResult r = f.Finish();

  EXPECT_EQ(Counts(r.steps), (std::vector<int64_t>{1, 1, 1}));
  EXPECT_DOUBLE_EQ(*r.steps[1].median_seconds_from_previous, 10 * 60.0);
}

TEST(FunnelCalculator, StepsAtTheWindowEdgeCountAndLaterOnesDoNot) {
  FunnelCalculator f(Spec({"View", "Buy"}, minutes(60)));
  f.AddCustomer(Seq({{0, "View", nullptr}, {60, "Buy", nullptr}}));
  f.AddCustomer(Seq({{0, "View", nullptr}, {61, "Buy", nullptr}}));

  EXPECT_EQ(Counts(f.Finish().steps), (std::vector<int64_t>{2, 1}));
}

TEST(FunnelCalculator, SameTimestampEventsCountInStorageOrderAndOneEventFillsOneStep) {
  FunnelCalculator f(Spec({"View", "View", "Buy"}));
  f.AddCustomer(Seq({{5, "View", nullptr}, {5, "Buy", nullptr}}));  // one View: step 2 missing
  f.AddCustomer(Seq(
      {{5, "View", nullptr}, {5, "View", nullptr}, {5, "Buy", nullptr}}));  // all at one instant

  FunnelResult r = f.Finish();

  EXPECT_EQ(Counts(r.steps), (std::vector<int64_t>{2, 1, 1}));
  EXPECT_DOUBLE_EQ(*r.steps[2].median_seconds_from_previous, 0.0);
}

TEST(FunnelCalculator, StepFiltersMatchPropertyValues) {
  FunnelSpec spec = Spec({"View", "Buy"});
  spec.steps[0].where = {{"category", "shoes"}};
  FunnelCalculator f(spec);
  ASSERT_EQ(f.PropertyPaths(), (std::vector<std::string>{"category"}));
  f.AddCustomer(Seq({{0, "View", "hats"}, {1, "Buy", nullptr}}));
  f.AddCustomer(Seq({{0, "View", "shoes"}, {1, "Buy", nullptr}}));
  f.AddCustomer(Seq({{0, "View", nullptr}, {1, "Buy", nullptr}}));

  EXPECT_EQ(Counts(f.Finish().steps), (std::vector<int64_t>{1, 1}));
}

TEST(FunnelCalculator, DateRangeLimitsOnlyTheFirstStep) {
  FunnelSpec spec = Spec({"View", "Buy"});
  spec.from = FromUnixMillis(10 * 60'000);
  spec.to = FromUnixMillis(20 * 60'000);
  FunnelCalculator f(spec);
  f.AddCustomer(Seq({{5, "View", nullptr}, {12, "Buy", nullptr}}));   // starts before the range
  f.AddCustomer(Seq({{15, "View", nullptr}, {40, "Buy", nullptr}}));  // converts after `to`: counts
  f.AddCustomer(Seq({{20, "View", nullptr}, {21, "Buy", nullptr}}));  // `to` is exclusive

  EXPECT_EQ(Counts(f.Finish().steps), (std::vector<int64_t>{1, 1}));
}

TEST(FunnelCalculator, BreakdownKeepsTopValuesAndMergesTheRestIntoOther) {
  FunnelSpec spec = BreakdownSpec(BreakdownKind::kProperty, "category");
  spec.breakdown_top = 2;
  FunnelCalculator f(spec);
  AddCustomers(f, 3, Seq({{0, "View", "shoes"}, {1, "Buy", nullptr}}));
  AddCustomers(f, 2, Seq({{0, "View", "hats"}}));
  f.AddCustomer(Seq({{0, "View", "bags"}, {1, "Buy", nullptr}}));
  f.AddCustomer(Seq({{0, "View", nullptr}}));

  FunnelResult r = f.Finish();

  // "(other)": "(none)" and "bags".
  EXPECT_EQ(Groups(r), (BreakdownRows{{"shoes", {3, 3}}, {"hats", {2, 0}}, {"(other)", {2, 1}}}));
  EXPECT_EQ(Counts(r.steps), (std::vector<int64_t>{7, 4}));
}

TEST(FunnelCalculator, MergesValuesBelowTheMinimumGroupSizeIntoOther) {
  FunnelSpec spec = BreakdownSpec(BreakdownKind::kProperty, "category");
  spec.min_group_size = 3;
  FunnelCalculator f(spec);
  AddCustomers(f, 4, Seq({{0, "View", "shoes"}, {1, "Buy", nullptr}}));
  AddCustomers(f, 3, Seq({{0, "View", "hats"}}));
  AddCustomers(f, 2, Seq({{0, "View", "bags"}, {1, "Buy", nullptr}}));
  f.AddCustomer(Seq({{0, "View", "coupon-ZX81-ann"}, {1, "Buy", nullptr}}));

  FunnelResult r = f.Finish();

  // "hats" has exactly the minimum: listed. "(other)": "bags" (2) and the one-off value (1).
  EXPECT_EQ(Groups(r), (BreakdownRows{{"shoes", {4, 4}}, {"hats", {3, 0}}, {"(other)", {3, 3}}}));
  EXPECT_EQ(Counts(r.steps), (std::vector<int64_t>{10, 7}));
}

TEST(FunnelCalculator, AllValuesBelowTheMinimumLeaveOnlyOther) {
  FunnelSpec spec = BreakdownSpec(BreakdownKind::kProperty, "category");
  spec.min_group_size = 5;
  FunnelCalculator f(spec);
  f.AddCustomer(Seq({{0, "View", "a"}}));
  f.AddCustomer(Seq({{0, "View", "b"}, {1, "Buy", nullptr}}));

  EXPECT_EQ(Groups(f.Finish()), (BreakdownRows{{"(other)", {2, 1}}}));
}

TEST(FunnelCalculator, MergesCustomerAttributesBelowTheMinimumGroupSizeIntoOther) {
  FunnelSpec spec = BreakdownSpec(BreakdownKind::kCustomerAttribute, "city");
  spec.min_group_size = 2;
  FunnelCalculator f(spec);
  AddCustomers(f, 3, Seq({{0, "View", nullptr}, {1, "Buy", nullptr}}), "上海");
  f.AddCustomer(Seq({{0, "View", nullptr}}), "Leeds");
  f.AddCustomer(Seq({{0, "View", nullptr}, {1, "Buy", nullptr}}), "");

  // "(other)": the one customer in Leeds and the one without a city.
  EXPECT_EQ(Groups(f.Finish()), (BreakdownRows{{"上海", {3, 3}}, {"(other)", {2, 1}}}));
}

}  // namespace
}  // namespace panorama::behaviour
