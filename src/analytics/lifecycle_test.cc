#include "analytics/lifecycle.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "features/feature_store.h"
#include "storage/store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/result_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_crypto.h"

namespace panorama::analytics {
namespace {

using std::chrono::days;

const Timestamp kNow = FromUnixMillis(DaysFromCivil(2024, 6, 15) * 86'400'000);
constexpr int64_t kDay = 86'400'000;

TEST(ClassifyStage, FollowsTheDocumentedOrder) {
  const LifecycleThresholds t;  // new 30, active 90, loyal 3, churned 365
  const int64_t now = ToUnixMillis(kNow);
  struct Case {
    int64_t orders, first_days_ago, last_days_ago;
    Stage expected;
  };
  std::vector<Case> cases = {
      {0, 0, 0, Stage::kProspect},  {1, 10, 10, Stage::kNew},     {5, 30, 1, Stage::kNew},
      {1, 31, 31, Stage::kActive},  {3, 200, 90, Stage::kLoyal},  {2, 200, 90, Stage::kActive},
      {9, 400, 91, Stage::kAtRisk}, {1, 365, 365, Stage::kAtRisk}, {1, 366, 366, Stage::kChurned},
  };

  for (const Case& c : cases) {
    EXPECT_EQ(ClassifyStage(c.orders, now - c.first_days_ago * kDay, now - c.last_days_ago * kDay, now, t),
              c.expected)
        << c.orders << " orders, first " << c.first_days_ago << ", last " << c.last_days_ago;
  }
}

TEST(ValidateThresholds, NamesEachBadField) {
  struct Case {
    LifecycleThresholds t;
    std::string field;
  };
  std::vector<Case> cases = {
      {{.new_days = 0}, "new_days"},
      {{.new_days = 100, .active_days = 90}, "active_days"},
      {{.active_days = 90, .churned_days = 90}, "churned_days"},
      {{.churned_days = 4000}, "churned_days"},
      {{.loyal_min_orders = 1}, "loyal_min_orders"},
  };

  for (const Case& c : cases) EXPECT_FIELD_ERROR(ValidateThresholds(c.t), c.field);
}

TEST(ThresholdsCodec, RoundTrips) {
  LifecycleThresholds t{.new_days = 14, .active_days = 60, .loyal_min_orders = 4, .churned_days = 200};

  auto decoded = DecodeThresholds(EncodeThresholds(t));

  ASSERT_OK(decoded);
  EXPECT_EQ(*decoded, t);
}

TEST(YearMonth, ParsesAndRejects) {
  EXPECT_EQ(YearMonth::Parse("2011-01", "from")->Index(), 2011 * 12);
  for (const char* bad : {"2011-13", "2011-1", "11-01", "2011/01", "2011-00", "abcd-ef", ""}) {
    EXPECT_FIELD_ERROR(YearMonth::Parse(bad, "from"), "from");
  }
}

class LifecycleServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto_ = testing::MakeTestCrypto(dir_.File("keystore.db"));
    auto store = storage::OpenSqliteStore({.path = dir_.File("store.db"), .crypto = crypto_.get()});
    ASSERT_OK(store);
    store_ = std::move(store).value();
  }

  // `created_at` defaults to the epoch (a customer that has always existed).
  CustomerId AddCustomerWithOrders(const std::string& name, const std::vector<Timestamp>& orders,
                                   Timestamp created_at = FromUnixMillis(0)) {
    CustomerId id;
    auto written = store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
      storage::CustomerRecord c;
      c.name = name;
      c.created_at = c.updated_at = created_at;
      ASSIGN_OR_RETURN(id, txn.InsertCustomer(c));
      int n = 0;
      for (Timestamp at : orders) {
        storage::OrderRecord o;
        o.customer = id;
        o.external_id = name + "-" + std::to_string(n++);
        o.total = Money{1000, "CNY"};
        o.total_base_minor = 1000;
        o.placed_at = at;
        RETURN_IF_ERROR(txn.InsertOrder(o));
      }
      return Ok();
    });
    EXPECT_OK(written);
    return id;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_{kNow};
  std::unique_ptr<security::FieldEncryptor> crypto_;
  std::unique_ptr<storage::Store> store_;
  features::FeatureStore features_{clock_};
};

TEST_F(LifecycleServiceTest, CountsStagesAndTellsSince) {
  AddCustomerWithOrders("p", {});
  CustomerId fresh = AddCustomerWithOrders("n", {kNow - days(3)});
  AddCustomerWithOrders("l", {kNow - days(100), kNow - days(50), kNow - days(5)});
  CustomerId lapsed = AddCustomerWithOrders("c", {kNow - days(400)});
  ASSERT_OK(features_.Rebuild(*store_));
  LifecycleService lifecycle(*store_, features_, clock_);
  ASSERT_OK(lifecycle.Load());

  StageCounts counts = lifecycle.Counts();

  EXPECT_EQ(counts.counts, (std::array<int64_t, 6>{1, 1, 0, 1, 0, 1}));
  EXPECT_EQ(lifecycle.Get(fresh)->since, kNow - days(3));
  EXPECT_EQ(lifecycle.Get(lapsed)->stage, Stage::kChurned);
  EXPECT_EQ(lifecycle.Get(lapsed)->since, kNow - days(400) + days(366));
  EXPECT_FALSE(lifecycle.Get(CustomerId(999)).has_value());
}

TEST_F(LifecycleServiceTest, StoresThresholdsAndRejectsBadOnes) {
  LifecycleService lifecycle(*store_, features_, clock_);
  ASSERT_OK(lifecycle.Load());
  LifecycleThresholds t{.new_days = 7, .active_days = 30, .loyal_min_orders = 2, .churned_days = 60};

  ASSERT_OK(lifecycle.PutThresholds(t, "user:1"));
  EXPECT_FIELD_ERROR(lifecycle.PutThresholds({.new_days = -1}, "user:1"), "new_days");
  LifecycleService reloaded(*store_, features_, clock_);
  ASSERT_OK(reloaded.Load());

  EXPECT_EQ(reloaded.thresholds(), t);
}

TEST_F(LifecycleServiceTest, HistoryCountsStagesAtEachMonthEnd) {
  const auto at = [](int y, unsigned m, unsigned d) { return FromUnixMillis(DaysFromCivil(y, m, d) * kDay); };
  AddCustomerWithOrders("a", {at(2024, 1, 10), at(2024, 2, 5), at(2024, 3, 20)});
  AddCustomerWithOrders("b", {at(2024, 2, 25)});
  AddCustomerWithOrders("c", {});
  LifecycleService lifecycle(*store_, features_, clock_);
  ASSERT_OK(lifecycle.Load());

  auto history = lifecycle.History({2024, 1}, {2024, 3});

  ASSERT_OK(history);
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].month, "2024-01");
  EXPECT_EQ(FormatIso8601((*history)[0].at), "2024-01-31T23:59:59.999Z");
  // Jan: a new; b, c prospects. Feb: a active (first order 50 days ago), b new. Mar: a loyal, b new.
  EXPECT_EQ((*history)[0].counts.counts, (std::array<int64_t, 6>{2, 1, 0, 0, 0, 0}));
  EXPECT_EQ((*history)[1].counts.counts, (std::array<int64_t, 6>{1, 1, 1, 0, 0, 0}));
  EXPECT_EQ((*history)[2].counts.counts, (std::array<int64_t, 6>{1, 0, 1, 1, 0, 0}));
}

// Regression: a customer created in May was counted as a prospect at every earlier month end. Customers are
// created as a FakeClock moves through 2024 (created_at = its now); the expected counts are worked out below
// from the same plan with the default thresholds, apart from the service's code.
TEST_F(LifecycleServiceTest, HistoryCountsACustomerOnlyFromWhenItExisted) {
  const auto at = [](int y, unsigned m, unsigned d) { return FromUnixMillis(DaysFromCivil(y, m, d) * kDay); };
  struct Plan {
    const char* name;
    Timestamp created;
    std::vector<Timestamp> orders;
  };
  const std::vector<Plan> plans = {
      {"jan-prospect", at(2024, 1, 5), {}},
      {"feb-buyer", at(2024, 2, 10), {at(2024, 2, 12), at(2024, 4, 2), at(2024, 4, 20)}},
      {"apr-prospect", at(2024, 4, 30), {}},
      {"may-buyer", at(2024, 5, 3), {at(2024, 5, 4)}},
      // Imported in June with an order history from January: it existed by its first order.
      {"imported", at(2024, 6, 2), {at(2024, 1, 20)}},
      {"jul-prospect", at(2024, 7, 1), {}},
  };
  testing::FakeClock clock(at(2024, 1, 1));
  std::vector<CustomerId> ids;
  for (const auto& p : plans) {
    clock.Set(p.created);
    ids.push_back(AddCustomerWithOrders(p.name, p.orders, clock.Now()));
  }
  // A record created in January merged into one created in March: the survivor existed in January.
  clock.Set(at(2024, 3, 9));
  CustomerId survivor = AddCustomerWithOrders("survivor", {}, clock.Now());
  CustomerId early = AddCustomerWithOrders("early-duplicate", {}, at(2024, 1, 8));
  ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) {
    return txn.MergeCustomers({early, survivor, "shared identifier", clock.Now()});
  }));
  LifecycleService lifecycle(*store_, features_, clock);
  ASSERT_OK(lifecycle.Load());

  auto history = lifecycle.History({2023, 12}, {2024, 6});

  // Expected, from the plan alone: a customer is in a stage at a month end once it was created or had
  // ordered; prospect without orders, new within 30 days of the first order, at risk after 90 days
  // without one, loyal from 3 orders, active otherwise.
  std::vector<std::pair<Timestamp, std::vector<Timestamp>>> people;
  for (const auto& p : plans) people.emplace_back(p.created, p.orders);
  people.emplace_back(at(2024, 1, 8), std::vector<Timestamp>{});  // the survivor, by the January record
  ASSERT_OK(history);
  ASSERT_EQ(history->size(), 7u);
  for (const MonthPoint& point : *history) {
    std::array<int64_t, kStageCount> expected{};
    for (const auto& [created, orders] : people) {
      std::vector<Timestamp> by_then;
      for (Timestamp o : orders) {
        if (o <= point.at) by_then.push_back(o);
      }
      if (created > point.at && by_then.empty()) continue;
      Stage stage = Stage::kProspect;
      if (!by_then.empty()) {
        auto days_since = [&](Timestamp t) { return (point.at - t) / std::chrono::days(1); };
        if (days_since(by_then.back()) > 90) {
          stage = Stage::kAtRisk;
        } else if (days_since(by_then.front()) <= 30) {
          stage = Stage::kNew;
        } else {
          stage = by_then.size() >= 3 ? Stage::kLoyal : Stage::kActive;
        }
      }
      ++expected[static_cast<size_t>(stage)];
    }
    EXPECT_EQ(point.counts.counts, expected) << point.month;
  }
  // Spot checks of the worked example: nobody before January; in February the January prospect, the
  // survivor (by its January duplicate), the imported buyer (its January order) and the new February buyer.
  EXPECT_EQ((*history)[0].counts.counts, (std::array<int64_t, 6>{0, 0, 0, 0, 0, 0}));
  EXPECT_EQ((*history)[2].counts.counts, (std::array<int64_t, 6>{2, 1, 1, 0, 0, 0}));
  EXPECT_EQ((*history)[6].counts.counts, (std::array<int64_t, 6>{3, 0, 1, 1, 1, 0}));
}

TEST_F(LifecycleServiceTest, HistoryRejectsMoreThan120MonthsAndReversedRanges) {
  LifecycleService lifecycle(*store_, features_, clock_);

  EXPECT_FIELD_ERROR(lifecycle.History({2000, 1}, {2010, 1}), "to");
  EXPECT_FIELD_ERROR(lifecycle.History({2010, 2}, {2010, 1}), "to");
  EXPECT_OK(lifecycle.History({2000, 1}, {2009, 12}));
}

}  // namespace
}  // namespace panorama::analytics
