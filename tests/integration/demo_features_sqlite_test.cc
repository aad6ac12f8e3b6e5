// The demo company written into a real SQLite store, and the feature store rebuilt from it: the same
// aggregates as from the in-memory fake that recorded the same run, and the counts the generator reports.

#include <gtest/gtest.h>

#include "demo/demo_generator.h"
#include "features/feature_store.h"
#include "storage/store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/recording_store.h"
#include "tests/support/test_crypto.h"
#include "tests/support/temp_dir.h"

namespace panorama {
namespace {

const Timestamp kNow = FromUnixMillis(DaysFromCivil(2026, 1, 1) * 86'400'000);

demo::DemoOptions Options() {
  demo::DemoOptions options;
  options.customers = 300;
  options.now = kNow;
  options.batch = 128;
  return options;
}

TEST(DemoIntoSqlite, FeatureStoreRebuiltFromSqliteMatchesTheRecordedRun) {
  testing::TempDir dir;
  auto crypto = testing::MakeTestCrypto(dir.File("keystore.db"), /*durable=*/false);
  auto sqlite = storage::OpenSqliteStore({.path = dir.File("demo.db"), .crypto = crypto.get(), .synchronous_full = false});
  ASSERT_TRUE(sqlite.has_value());
  testing::RecordingStore recorded;
  testing::FakeClock clock(kNow);
  features::FeatureStore from_sqlite(clock);
  features::FeatureStore from_recorded(clock);

  auto summary = demo::GenerateDemo(**sqlite, Options());
  ASSERT_TRUE(summary.has_value()) << summary.error().message();
  ASSERT_TRUE(demo::GenerateDemo(recorded, Options()).has_value());
  ASSERT_TRUE(from_sqlite.Rebuild(**sqlite).has_value());
  ASSERT_TRUE(from_recorded.Rebuild(recorded).has_value());

  EXPECT_EQ((*sqlite)->CountCustomers().value(), 300);
  EXPECT_EQ(from_sqlite.size(), 300);
  int64_t orders = 0;
  for (int64_t id = 1; id <= 300; ++id) {
    auto f = from_sqlite.Get(CustomerId(id), kNow);
    ASSERT_TRUE(f.has_value()) << id;
    EXPECT_EQ(f, from_recorded.Get(CustomerId(id), kNow)) << id;
    orders += f->order_count;
  }
  int64_t completed = 0, all = 0, after = 0;
  while (true) {
    auto page = (*sqlite)->ListOrders({.after_id = after, .limit = 1000});
    ASSERT_TRUE(page.has_value());
    if (page->empty()) break;
    for (const auto& o : *page) completed += o.status == "completed";
    all += static_cast<int64_t>(page->size());
    after = page->back().id.value();
  }
  EXPECT_EQ(all, summary->orders);
  EXPECT_EQ(orders, completed);  // refunds are not purchases
  EXPECT_LT(completed, all);
}

}  // namespace
}  // namespace panorama
