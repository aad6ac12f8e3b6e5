#include "features/feature_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <tuple>
#include <thread>
#include <vector>

#include "tests/support/fake_clock.h"
#include "tests/support/recording_store.h"

namespace panorama::features {
namespace {

using std::chrono::days;
using std::chrono::hours;

// 2024-06-15T12:00:00Z
const Timestamp kNow = FromUnixMillis(DaysFromCivil(2024, 6, 15) * 86'400'000 + 12 * 3'600'000);

class FeatureStoreTest : public ::testing::Test {
 protected:
  CustomerFeatures Features(int64_t id, Timestamp now = kNow) const {
    auto f = store_.Get(CustomerId(id), now);
    EXPECT_TRUE(f.has_value()) << "customer " << id;
    return f.value_or(CustomerFeatures{});
  }

  testing::FakeClock clock_{kNow};
  FeatureStore store_{clock_};
};

TEST_F(FeatureStoreTest, UnknownCustomerHasNoFeatures) {
  EXPECT_FALSE(store_.Get(CustomerId(7), kNow).has_value());
}

TEST_F(FeatureStoreTest, ReadColumnsShowsEverySlotWithItsCustomerAndState) {
  store_.OnOrder(CustomerId(5), kNow - days(3), 1200);
  store_.OnOrder(CustomerId(5), kNow - days(1), 800);
  store_.OnEvent(CustomerId(9), kNow - hours(2));
  store_.OnCustomer(CustomerId(11));
  store_.OnErase(CustomerId(11));

  std::map<int64_t, std::tuple<bool, int64_t, uint32_t, int64_t, int64_t>> seen;
  store_.ReadColumns([&](const FeatureColumns& c) {
    for (size_t i = 0; i < c.size(); ++i) {
      seen[c.customer_id[i]] = {c.live[i] == FeatureColumns::kLive, c.last_order_ms[i],
                                c.order_count[i], c.total_spend_base_minor[i], c.event_count[i]};
    }
  });

  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[5], std::make_tuple(true, ToUnixMillis(kNow - days(1)), 2u, int64_t{2000}, int64_t{0}));
  EXPECT_EQ(seen[9], std::make_tuple(true, FeatureColumns::kNoTime, 0u, int64_t{0}, int64_t{1}));
  EXPECT_FALSE(std::get<0>(seen[11]));
}

TEST_F(FeatureStoreTest, NewCustomerStartsEmpty) {
  store_.OnCustomer(CustomerId(7));

  EXPECT_EQ(Features(7), CustomerFeatures{});
  EXPECT_EQ(store_.size(), 1);
}

TEST_F(FeatureStoreTest, OrdersUpdateFirstLastCountSpendAndAverageGap) {
  store_.OnOrder(CustomerId(1), kNow - days(10), 500);
  store_.OnOrder(CustomerId(1), kNow - days(30), 1000);
  store_.OnOrder(CustomerId(1), kNow - days(20), 250);

  CustomerFeatures f = Features(1);
  EXPECT_EQ(f.first_order_at, kNow - days(30));
  EXPECT_EQ(f.last_order_at, kNow - days(10));
  EXPECT_EQ(f.order_count, 3);
  EXPECT_EQ(f.total_spend_base_minor, 1750);
  EXPECT_DOUBLE_EQ(f.avg_days_between_orders.value_or(-1), 10.0);
}

TEST_F(FeatureStoreTest, OneOrderHasNoAverageGap) {
  store_.OnOrder(CustomerId(1), kNow, 100);

  EXPECT_FALSE(Features(1).avg_days_between_orders.has_value());
}

TEST_F(FeatureStoreTest, EventsUpdateCountAndLastEvent) {
  store_.OnEvent(CustomerId(1), kNow - days(400));
  store_.OnEvent(CustomerId(1), kNow - hours(1));
  store_.OnEvent(CustomerId(1), kNow - days(2));

  CustomerFeatures f = Features(1);
  EXPECT_EQ(f.event_count, 3);
  EXPECT_EQ(f.last_event_at, kNow - hours(1));
  EXPECT_EQ(f.event_count_30d, 2);
}

TEST_F(FeatureStoreTest, WindowCoversThirtyCalendarDaysEndingToday) {
  const Timestamp midnight = FromUnixMillis(DaysFromCivil(2024, 6, 15) * 86'400'000);
  store_.OnEvent(CustomerId(1), midnight - days(29));             // first day of the window
  store_.OnEvent(CustomerId(1), midnight - days(29) - hours(1));  // the day before: outside
  store_.OnEvent(CustomerId(1), midnight + hours(23));            // later today: inside
  store_.OnEvent(CustomerId(1), midnight + days(1));              // tomorrow: outside

  EXPECT_EQ(Features(1).event_count_30d, 2);
}

TEST_F(FeatureStoreTest, ScanEventCount30dReportsTheNonZeroCountsGetGives) {
  store_.OnEvent(CustomerId(1), kNow - days(2));
  store_.OnEvent(CustomerId(1), kNow);
  store_.OnEvent(CustomerId(2), kNow - days(25));
  store_.OnEvent(CustomerId(3), kNow - days(60));  // outside: no count
  store_.OnEvent(CustomerId(4), kNow - days(1));
  store_.OnEvent(CustomerId(5), kNow - days(1));
  store_.OnErase(CustomerId(4));                    // gone
  store_.OnMerge(CustomerId(5), CustomerId(6));     // counted for the survivor 6

  for (Timestamp now : {kNow, kNow + days(10)}) {
    std::map<int64_t, int64_t> got;
    store_.ScanEventCount30d(now, [&](CustomerId id, int64_t count) { got[id.value()] += count; });
    std::map<int64_t, int64_t> want;
    for (int64_t id = 1; id <= 6; ++id) {
      auto f = store_.Get(CustomerId(id), now);
      if (f && f->event_count_30d != 0) want[id] = f->event_count_30d;
    }
    EXPECT_EQ(got, want);
  }
  std::map<int64_t, int64_t> today;
  store_.ScanEventCount30d(kNow, [&](CustomerId id, int64_t count) { today[id.value()] = count; });
  EXPECT_EQ(today, (std::map<int64_t, int64_t>{{1, 2}, {2, 1}, {6, 1}}));
}

// The scan reads each block's kept 30-day total for the clock's day; Get sums the ring. Random events (late,
// early, future), merges, erasures and midnights — with and without updates after them — must leave both equal,
// for the clock's day (kept totals) and for other days (summed rings).
TEST_F(FeatureStoreTest, KeptThirtyDayTotalsEqualGetThroughDaysMergesAndErasures) {
  std::mt19937_64 rng(7);
  constexpr int64_t kIds = 300;
  auto scan = [&](Timestamp now) {
    std::map<int64_t, int64_t> got;
    store_.ScanEventCount30d(now, [&](CustomerId id, int64_t count) { got[id.value()] += count; });
    return got;
  };
  auto get = [&](Timestamp now) {
    std::map<int64_t, int64_t> want;
    for (int64_t id = 1; id <= kIds; ++id) {
      auto f = store_.Get(CustomerId(id), now);
      if (f && f->event_count_30d != 0) want[id] = f->event_count_30d;
    }
    return want;
  };
  int64_t nonzero_seen = 0;
  for (int step = 0; step < 4000; ++step) {
    const Timestamp now = clock_.Now();
    const uint64_t pick = rng() % 100;
    const CustomerId id(1 + static_cast<int64_t>(rng() % kIds));
    if (pick < 80) {
      // From 40 days ago to 2 days ahead (a client's clock running fast).
      store_.OnEvent(id, now - hours(static_cast<int64_t>(rng() % (42 * 24))) + days(2));
    } else if (pick < 90) {
      store_.OnMerge(id, CustomerId(1 + static_cast<int64_t>(rng() % kIds)));
    } else if (pick < 92) {
      store_.OnErase(id);
    } else {
      clock_.Advance(hours(1 + static_cast<int64_t>(rng() % 30)));  // crosses midnight about every other time
    }
    if (step % 50 == 0) {
      const Timestamp at = clock_.Now();
      const auto want = get(at);
      nonzero_seen += static_cast<int64_t>(want.size());
      ASSERT_EQ(scan(at), want) << "step " << step;
      ASSERT_EQ(scan(at + days(3)), get(at + days(3))) << "step " << step;
    }
  }
  EXPECT_GT(nonzero_seen, 1000);  // the comparison was not between empty maps
}

TEST_F(FeatureStoreTest, FirstScanAfterMidnightWithoutUpdatesCountsTheNewDay) {
  store_.OnEvent(CustomerId(1), kNow - days(29));  // leaves the window at the next midnight
  store_.OnEvent(CustomerId(1), kNow);
  store_.OnEvent(CustomerId(2), kNow - days(29));
  clock_.Advance(days(1));

  std::map<int64_t, int64_t> got;
  store_.ScanEventCount30d(clock_.Now(), [&](CustomerId id, int64_t count) { got[id.value()] = count; });
  EXPECT_EQ(got, (std::map<int64_t, int64_t>{{1, 1}}));
}

TEST_F(FeatureStoreTest, WindowSlidesWithNow) {
  store_.OnEvent(CustomerId(1), kNow - days(5));
  store_.OnEvent(CustomerId(1), kNow - days(25));

  EXPECT_EQ(Features(1, kNow + days(10)).event_count_30d, 1);
  EXPECT_EQ(Features(1, kNow + days(40)).event_count_30d, 0);
}

TEST_F(FeatureStoreTest, RingDropsDaysOlderThanItHoldsWhenNewerEventsArrive) {
  clock_.Set(kNow - days(40));
  store_.OnEvent(CustomerId(1), kNow - days(40));
  clock_.Set(kNow);
  store_.OnEvent(CustomerId(1), kNow);
  store_.OnEvent(CustomerId(1), kNow - days(1));

  EXPECT_EQ(Features(1).event_count_30d, 2);
  EXPECT_EQ(Features(1).event_count, 3);
}

TEST_F(FeatureStoreTest, MergeCombinesAggregatesIntoSurvivor) {
  store_.OnOrder(CustomerId(1), kNow - days(100), 1000);
  store_.OnEvent(CustomerId(1), kNow - days(3));
  store_.OnEvent(CustomerId(1), kNow - days(50));
  store_.OnOrder(CustomerId(2), kNow - days(10), 300);
  store_.OnEvent(CustomerId(2), kNow - days(3));
  store_.OnEvent(CustomerId(2), kNow - days(1));

  store_.OnMerge(CustomerId(1), CustomerId(2));

  CustomerFeatures f = Features(2);
  EXPECT_EQ(f.first_order_at, kNow - days(100));
  EXPECT_EQ(f.last_order_at, kNow - days(10));
  EXPECT_EQ(f.order_count, 2);
  EXPECT_EQ(f.total_spend_base_minor, 1300);
  EXPECT_EQ(f.event_count, 4);
  EXPECT_EQ(f.event_count_30d, 3);
  EXPECT_EQ(f.last_event_at, kNow - days(1));
}

TEST_F(FeatureStoreTest, MergedAwayCustomerHasNoFeatures) {
  store_.OnOrder(CustomerId(1), kNow, 100);
  store_.OnCustomer(CustomerId(2));

  store_.OnMerge(CustomerId(1), CustomerId(2));

  EXPECT_FALSE(store_.Get(CustomerId(1), kNow).has_value());
  EXPECT_EQ(store_.size(), 1);
}

TEST_F(FeatureStoreTest, UpdatesForMergedAwayCustomerReachSurvivor) {
  store_.OnCustomer(CustomerId(1));
  store_.OnCustomer(CustomerId(2));
  store_.OnCustomer(CustomerId(3));
  store_.OnMerge(CustomerId(1), CustomerId(2));
  store_.OnMerge(CustomerId(2), CustomerId(3));

  store_.OnOrder(CustomerId(1), kNow, 100);
  store_.OnEvent(CustomerId(1), kNow);

  EXPECT_EQ(Features(3).order_count, 1);
  EXPECT_EQ(Features(3).event_count_30d, 1);
}

TEST_F(FeatureStoreTest, MergeMovesWindowToSurvivorWithoutOne) {
  store_.OnEvent(CustomerId(1), kNow - days(2));
  store_.OnCustomer(CustomerId(2));

  store_.OnMerge(CustomerId(1), CustomerId(2));

  EXPECT_EQ(Features(2).event_count_30d, 1);
}

TEST_F(FeatureStoreTest, SelfMergeChangesNothing) {
  store_.OnOrder(CustomerId(1), kNow, 100);

  store_.OnMerge(CustomerId(1), CustomerId(1));

  EXPECT_EQ(Features(1).order_count, 1);
}

TEST_F(FeatureStoreTest, EraseForgetsCustomer) {
  store_.OnOrder(CustomerId(1), kNow, 100);
  store_.OnEvent(CustomerId(1), kNow);
  store_.OnCustomer(CustomerId(2));

  store_.OnErase(CustomerId(1));

  EXPECT_FALSE(store_.Get(CustomerId(1), kNow).has_value());
  EXPECT_EQ(store_.size(), 1);
}

TEST_F(FeatureStoreTest, InvalidIdsAreIgnored) {
  store_.OnOrder(CustomerId(0), kNow, 100);
  store_.OnEvent(CustomerId(-5), kNow);

  EXPECT_EQ(store_.size(), 0);
}

TEST_F(FeatureStoreTest, SparseIdsAreIndexed) {
  store_.OnOrder(CustomerId(3), kNow, 1);
  store_.OnOrder(CustomerId(9'000'000'000'000), kNow, 2);
  store_.OnOrder(CustomerId(70'000), kNow, 3);

  EXPECT_EQ(Features(3).total_spend_base_minor, 1);
  EXPECT_EQ(Features(9'000'000'000'000).total_spend_base_minor, 2);
  EXPECT_EQ(Features(70'000).total_spend_base_minor, 3);
}

// Fills a store through Write and the feature store through the On* calls with the same history.
void FillBoth(testing::RecordingStore& store, FeatureStore& features) {
  auto result = store.Write([&](storage::WriteTxn& txn) -> Result<void> {
    std::vector<CustomerId> ids;
    for (int i = 0; i < 50; ++i) {
      storage::CustomerRecord c;
      c.name = "c" + std::to_string(i);
      ASSIGN_OR_RETURN(CustomerId id, txn.InsertCustomer(c));
      features.OnCustomer(id);
      ids.push_back(id);
    }
    for (int i = 0; i < 400; ++i) {
      CustomerId id = ids[static_cast<size_t>((i * 7) % 45)];  // the last five have no orders
      storage::OrderRecord o;
      o.customer = id;
      o.external_id = "o" + std::to_string(i);
      o.placed_at = kNow - hours(i * 13);
      o.total_base_minor = 100 + i;
      if (auto r = txn.InsertOrder(o); !r) {
        return r.error();
      }
      features.OnOrder(id, o.placed_at, o.total_base_minor);
    }
    for (int i = 0; i < 600; ++i) {
      CustomerId id = ids[static_cast<size_t>((i * 11) % 48)];
      storage::EventRecord e;
      e.customer = id;
      e.message_id = "m" + std::to_string(i);
      e.timestamp = kNow - hours(i * 3);
      if (auto r = txn.InsertEvent(e); !r) {
        return r.error();
      }
      features.OnEvent(id, e.timestamp);
    }
    RETURN_IF_ERROR(txn.MergeCustomers({ids[3], ids[4], "email shared", kNow}));
    features.OnMerge(ids[3], ids[4]);
    return Ok();
  });
  ASSERT_TRUE(result.has_value());
}

TEST_F(FeatureStoreTest, ShuffledIdsAreAllFoundAndMostlyDirect) {
  std::vector<int64_t> ids(200'000);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>(i) + 1;
  std::shuffle(ids.begin(), ids.end(), std::mt19937_64(11));
  for (int64_t id : ids) store_.OnOrder(CustomerId(id), kNow, id);

  for (int64_t id = 1; id <= 200'000; ++id) {
    ASSERT_EQ(Features(id).total_spend_base_minor, id) << id;
  }
  // A hash-map entry costs ~40 bytes more than a direct one: dense ids must not stay in the map.
  EXPECT_LE(store_.MemoryBytes() / store_.size(), 100);
}

TEST_F(FeatureStoreTest, RebuildFromStoreEqualsIncrementalUpdates) {
  testing::RecordingStore store;
  FillBoth(store, store_);
  FeatureStore rebuilt(clock_);

  ASSERT_TRUE(rebuilt.Rebuild(store).has_value());

  EXPECT_TRUE(rebuilt.loaded());
  EXPECT_EQ(rebuilt.size(), store_.size());
  for (int64_t id = 1; id <= 50; ++id) {
    EXPECT_EQ(rebuilt.Get(CustomerId(id), kNow), store_.Get(CustomerId(id), kNow))
        << "customer " << id;
  }
}

TEST_F(FeatureStoreTest, RebuildCountsFactsOfCustomersTheCustomerScanMissed) {
  testing::RecordingStore store;
  store.customer_facts().emplace_back(CustomerId(1), false);
  store.order_facts().push_back({CustomerId(1), kNow, 100});
  store.order_facts().push_back({CustomerId(2), kNow - days(1), 200});
  store.event_facts().push_back({CustomerId(3), kNow});

  ASSERT_TRUE(store_.Rebuild(store).has_value());

  EXPECT_EQ(store_.size(), 3);
  EXPECT_EQ(Features(2).total_spend_base_minor, 200);
  EXPECT_EQ(Features(3).event_count_30d, 1);
}

class FailingScanStore : public testing::RecordingStore {
 public:
  Result<void> ScanOrderFacts(const std::function<void(const OrderFact&)>&) override {
    return Error::Unavailable("database is busy");
  }
};

TEST_F(FeatureStoreTest, FailedRebuildKeepsPreviousContents) {
  store_.OnOrder(CustomerId(1), kNow, 100);
  FailingScanStore failing;

  Result<void> result = store_.Rebuild(failing);

  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(Features(1).order_count, 1);
  EXPECT_FALSE(store_.loaded());
}

TEST_F(FeatureStoreTest, StaysUnderTwoHundredBytesPerCustomerWhenAllAreActive) {
  testing::RecordingStore store;
  for (int64_t id = 1; id <= 100'000; ++id) {
    store.customer_facts().emplace_back(CustomerId(id), false);
    store.order_facts().push_back({CustomerId(id), kNow - days(id % 700), 100});
    store.event_facts().push_back({CustomerId(id), kNow - days(id % 20)});
  }

  ASSERT_TRUE(store_.Rebuild(store).has_value());

  EXPECT_EQ(store_.size(), 100'000);
  EXPECT_LE(store_.MemoryBytes() / store_.size(), 200);
}

TEST_F(FeatureStoreTest, ExpiredWindowBlocksAreReused) {
  for (int64_t id = 1; id <= 5000; ++id) {
    store_.OnEvent(CustomerId(id), kNow);
  }
  const int64_t bytes_after_first_wave = store_.MemoryBytes();
  clock_.Advance(days(60));

  for (int64_t id = 5001; id <= 10000; ++id) {
    store_.OnEvent(CustomerId(id), kNow + days(60));
  }

  EXPECT_EQ(Features(1, kNow + days(60)).event_count_30d, 0);
  EXPECT_EQ(Features(6000, kNow + days(60)).event_count_30d, 1);
  EXPECT_LT(store_.MemoryBytes() - bytes_after_first_wave, 5000 * 136);
}

TEST_F(FeatureStoreTest, ReadersAndWritersRunConcurrently) {
  std::thread writer([&] {
    for (int64_t i = 0; i < 20000; ++i) {
      store_.OnOrder(CustomerId(1 + i % 100), kNow, 1);
      store_.OnEvent(CustomerId(1 + i % 100), kNow);
    }
  });
  int64_t seen = 0;
  for (int i = 0; i < 20000; ++i) {
    auto f = store_.Get(CustomerId(1 + i % 100), kNow);
    seen += f ? f->order_count : 0;
  }
  writer.join();

  EXPECT_GE(seen, 0);
  EXPECT_EQ(Features(1).order_count, 200);
}

}  // namespace
}  // namespace panorama::features
