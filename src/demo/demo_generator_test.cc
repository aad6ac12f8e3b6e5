#include "demo/demo_generator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <regex>
#include <vector>

#include "core/money.h"
#include "tests/support/recording_store.h"

namespace panorama::demo {
namespace {

// 2026-01-01T00:00:00Z
const Timestamp kNow = FromUnixMillis(DaysFromCivil(2026, 1, 1) * 86'400'000);

DemoOptions Options(int64_t customers, uint64_t seed = 42) {
  DemoOptions options;
  options.customers = customers;
  options.seed = seed;
  options.now = kNow;
  options.batch = 500;
  return options;
}

// One generated dataset shared by the distribution tests (generation is deterministic).
const testing::RecordingStore& Sample() {
  static testing::RecordingStore* store = [] {
    auto* s = new testing::RecordingStore();
    EXPECT_TRUE(GenerateDemo(*s, Options(4000)).has_value());
    return s;
  }();
  return *store;
}

bool HasNonAscii(const std::string& text) {
  for (unsigned char ch : text) {
    if (ch >= 0x80) {
      return true;
    }
  }
  return false;
}

TEST(GenerateDemo, SameSeedWritesSameRecords) {
  testing::RecordingStore first;
  testing::RecordingStore second;

  ASSERT_TRUE(GenerateDemo(first, Options(800)).has_value());
  ASSERT_TRUE(GenerateDemo(second, Options(800)).has_value());

  EXPECT_EQ(first.digest(), second.digest());
}

TEST(GenerateDemo, DifferentSeedWritesDifferentRecords) {
  testing::RecordingStore first;
  testing::RecordingStore second;

  ASSERT_TRUE(GenerateDemo(first, Options(800, 42)).has_value());
  ASSERT_TRUE(GenerateDemo(second, Options(800, 43)).has_value());

  EXPECT_NE(first.digest(), second.digest());
}

TEST(GenerateDemo, BatchSizeDoesNotChangeRecords) {
  testing::RecordingStore small_batches;
  testing::RecordingStore one_batch;
  DemoOptions small = Options(800);
  small.batch = 7;
  DemoOptions large = Options(800);
  large.batch = 100000;

  ASSERT_TRUE(GenerateDemo(small_batches, small).has_value());
  ASSERT_TRUE(GenerateDemo(one_batch, large).has_value());

  EXPECT_EQ(small_batches.digest(), one_batch.digest());
  EXPECT_EQ(small_batches.transactions(), 1 + 115);
  EXPECT_EQ(one_batch.transactions(), 2);
}

TEST(GenerateDemo, SummaryCountsWhatWasWritten) {
  testing::RecordingStore store;

  auto summary = GenerateDemo(store, Options(300));

  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ(summary->customers, 300);
  EXPECT_EQ(summary->customers, store.customer_count());
  EXPECT_EQ(summary->orders, store.order_count());
  EXPECT_EQ(summary->events, store.event_count());
  EXPECT_EQ(summary->interactions, store.interaction_count());
  EXPECT_EQ(summary->identities, store.identity_count());
  EXPECT_EQ(summary->products, 200);
  EXPECT_EQ(static_cast<int64_t>(store.products().size()), 200);
}

TEST(GenerateDemo, ReportsProgressAfterEachBatch) {
  testing::RecordingStore store;
  DemoOptions options = Options(1200);
  std::vector<int64_t> done;
  options.on_progress = [&](const DemoProgress& p) { done.push_back(p.customers_done); };

  ASSERT_TRUE(GenerateDemo(store, options).has_value());

  EXPECT_EQ(done, (std::vector<int64_t>{500, 1000, 1200}));
}

TEST(GenerateDemo, ChineseNamesAreAboutThreeQuarters) {
  const auto& customers = Sample().customers();
  int64_t chinese = 0;
  for (const auto& c : customers) {
    chinese += HasNonAscii(c.record.name) ? 1 : 0;
  }

  double share = static_cast<double>(chinese) / static_cast<double>(customers.size());
  EXPECT_GT(share, 0.70);
  EXPECT_LT(share, 0.80);
}

TEST(GenerateDemo, EveryPhoneIsE164AndValidForItsCountry) {
  const std::regex e164(R"(\+[1-9][0-9]{7,14})");
  const std::regex cn_mobile(R"(\+861[3-9][0-9]{9})");
  int64_t without_phone = 0;

  for (const auto& c : Sample().customers()) {
    const auto& r = c.record;
    if (r.phone.empty()) {
      ++without_phone;
      continue;
    }
    EXPECT_TRUE(std::regex_match(r.phone, e164)) << r.phone;
    if (r.country == "CN") {
      EXPECT_TRUE(std::regex_match(r.phone, cn_mobile)) << r.phone;
    }
  }
  EXPECT_GT(without_phone, 0);
}

TEST(GenerateDemo, EmailsAreLowerCaseAddressesAndSomeAreMissing) {
  const std::regex email(R"([a-z0-9._]+@[a-z0-9.]+\.[a-z]+)");
  int64_t without_email = 0;

  for (const auto& c : Sample().customers()) {
    if (c.record.email.empty()) {
      ++without_email;
      continue;
    }
    EXPECT_TRUE(std::regex_match(c.record.email, email)) << c.record.email;
  }
  EXPECT_GT(without_email, 0);
}

TEST(GenerateDemo, CountryMatchesCityAndCurrency) {
  std::map<std::string, std::string> currency_of_country;
  for (const auto& o : Sample().orders()) {
    const auto& c = Sample().customers()[static_cast<size_t>(o.customer.value() - 1)].record;
    auto [it, inserted] = currency_of_country.emplace(c.country, o.total.currency);
    EXPECT_EQ(it->second, o.total.currency) << c.country;
  }
  EXPECT_EQ(currency_of_country["CN"], "CNY");
  EXPECT_EQ(currency_of_country["US"], "USD");
  EXPECT_EQ(currency_of_country["JP"], "JPY");
}

TEST(GenerateDemo, AboutTenOrdersPerCustomer) {
  double mean = static_cast<double>(Sample().orders().size()) /
                static_cast<double>(Sample().customers().size());

  EXPECT_GT(mean, 8.0);
  EXPECT_LT(mean, 12.0);
}

TEST(GenerateDemo, EveryOrderHasItemsThatSumToItsTotal) {
  const ExchangeRates rates;
  for (const auto& o : Sample().orders()) {
    int64_t sum = 0;
    for (const auto& item : o.items) {
      EXPECT_GE(item.quantity, 1);
      EXPECT_GT(item.unit_price_minor, 0);
      EXPECT_TRUE(item.product.has_value());
      sum += item.quantity * item.unit_price_minor;
    }

    ASSERT_GE(o.items.size(), 1u);
    ASSERT_LE(o.items.size(), 4u);
    EXPECT_EQ(o.total.minor, sum);
    EXPECT_EQ(o.total_base_minor, rates.ToBase(o.total).value());
  }
}

TEST(GenerateDemo, SomeCustomersHaveChurned) {
  std::map<int64_t, Timestamp> last_order;
  for (const auto& o : Sample().orders()) {
    auto& last = last_order[o.customer.value()];
    last = std::max(last, o.placed_at);
  }
  int64_t churned = 0;
  for (const auto& [id, last] : last_order) {
    churned += last < kNow - std::chrono::days(180) ? 1 : 0;
  }

  double share = static_cast<double>(churned) / static_cast<double>(last_order.size());
  EXPECT_GT(share, 0.10);
  EXPECT_LT(share, 0.90);
}

TEST(GenerateDemo, NothingHappensAfterNow) {
  for (const auto& o : Sample().orders()) {
    EXPECT_LE(o.placed_at, kNow);
  }
  for (const auto& e : Sample().events()) {
    EXPECT_LE(e.timestamp, kNow);
  }
  for (const auto& i : Sample().interactions()) {
    EXPECT_LE(i.occurred_at, kNow);
  }
}

TEST(GenerateDemo, EventsAverageTheRequestedRate) {
  double mean = static_cast<double>(Sample().events().size()) /
                static_cast<double>(Sample().customers().size());

  EXPECT_GT(mean, 4.5);
  EXPECT_LT(mean, 5.5);
}

TEST(GenerateDemo, EveryCustomerHasAUserIdIdentity) {
  int64_t user_ids = 0;
  for (const auto& identity : Sample().identities()) {
    user_ids += identity.type == "user_id" ? 1 : 0;
  }

  EXPECT_EQ(user_ids, static_cast<int64_t>(Sample().customers().size()));
}

TEST(GenerateDemo, RejectsBadOptionsAndWritesNothing) {
  struct Case {
    const char* field;
    DemoOptions options;
  };
  std::vector<Case> cases = {{"customers", Options(-1)}, {"customers", Options(10'000'001)}};
  cases.push_back({"batch", Options(10)});
  cases.back().options.batch = 0;
  cases.push_back({"events_per_customer", Options(10)});
  cases.back().options.events_per_customer = -1;

  for (const auto& c : cases) {
    testing::RecordingStore store;

    auto result = GenerateDemo(store, c.options);

    ASSERT_FALSE(result.has_value()) << c.field;
    EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument);
    ASSERT_EQ(result.error().violations().size(), 1u);
    EXPECT_EQ(result.error().violations()[0].field, c.field);
    EXPECT_EQ(store.transactions(), 0);
  }
}

class FailingSecondBatchStore : public testing::RecordingStore {
 public:
  Result<void> Write(const std::function<Result<void>(storage::WriteTxn&)>& fn) override {
    if (++writes_ == 3) {
      return Error::Unavailable("database is busy");
    }
    return RecordingStore::Write(fn);
  }

 private:
  int writes_ = 0;
};

TEST(GenerateDemo, StopsAtStoreErrorKeepingCommittedBatches) {
  FailingSecondBatchStore store;

  auto result = GenerateDemo(store, Options(1200));

  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(store.customer_count(), 500);
}

TEST(GenerateDemo, SecondRunIntoSameStoreCollidesOnIdentities) {
  testing::RecordingStore store;
  ASSERT_TRUE(GenerateDemo(store, Options(50)).has_value());

  auto again = GenerateDemo(store, Options(50));

  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists);
}

}  // namespace
}  // namespace panorama::demo
