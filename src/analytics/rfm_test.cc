#include "analytics/rfm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <numeric>
#include <random>

#include "analytics/rfm_service.h"
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

// n customers 1..n; customer i last ordered i days ago, ordered i times and spent 100·i.
RfmInput Ladder(int n) {
  RfmInput in;
  for (int i = 1; i <= n; ++i) {
    in.customer_id.push_back(i);
    in.last_order_ms.push_back(ToUnixMillis(kNow - days(i)));
    in.frequency.push_back(i);
    in.monetary_minor.push_back(100 * i);
  }
  return in;
}

TEST(QuintileOfRank, MatchesPandasQcutEdgesOnRanks) {
  // qcut(range(1, 11), 5): edges 1, 2.8, 4.6, 6.4, 8.2, 10 → bins of 2.
  std::vector<int> expected = {1, 1, 2, 2, 3, 3, 4, 4, 5, 5};

  for (int x = 1; x <= 10; ++x) EXPECT_EQ(QuintileOfRank(x, 10), expected[x - 1]) << "rank " << x;
}

TEST(QuintileOfRank, PutsRankOnAnEdgeInTheLowerBin) {
  // n = 6: edges 1, 2, 3, 4, 5, 6 are ranks themselves; qcut bins are right-closed.
  std::vector<int> expected = {1, 1, 2, 3, 4, 5};

  for (int x = 1; x <= 6; ++x) EXPECT_EQ(QuintileOfRank(x, 6), expected[x - 1]) << "rank " << x;
}

TEST(ScoreRfm, PutsMostRecentBuyersInTopRecencyQuintile) {
  RfmResult result = ScoreRfm(Ladder(10), 12, kNow, DefaultScoreMap(), kNow);

  EXPECT_EQ(result.At(*result.Find(CustomerId(1))).r, 5);
  EXPECT_EQ(result.At(*result.Find(CustomerId(10))).r, 1);
  EXPECT_EQ(result.At(*result.Find(CustomerId(10))).f, 5);
  EXPECT_EQ(result.At(*result.Find(CustomerId(1))).m, 1);
  EXPECT_EQ(result.summary.scored, 10);
  EXPECT_EQ(result.summary.customers, 12);
}

TEST(ScoreRfm, BreaksTiesByCustomerId) {
  RfmInput in;
  for (int i = 1; i <= 10; ++i) {
    in.customer_id.push_back(11 - i);  // any input order
    in.last_order_ms.push_back(ToUnixMillis(kNow - days(3)));
    in.frequency.push_back(1);
    in.monetary_minor.push_back(500);
  }

  RfmResult result = ScoreRfm(in, 10, kNow, DefaultScoreMap(), kNow);

  for (int id = 1; id <= 10; ++id) {
    CustomerRfm c = result.At(*result.Find(CustomerId(id)));
    EXPECT_EQ(c.f, QuintileOfRank(id, 10)) << "customer " << id;
    EXPECT_EQ(c.m, QuintileOfRank(id, 10)) << "customer " << id;
    EXPECT_EQ(c.r, 6 - QuintileOfRank(id, 10)) << "customer " << id;
  }
}

TEST(ScoreRfm, ReportsCutsGridAndSegmentTotals) {
  RfmResult result = ScoreRfm(Ladder(10), 10, kNow, DefaultScoreMap(), kNow);

  EXPECT_EQ(result.summary.cuts.frequency, (std::array<int64_t, 4>{2, 4, 6, 8}));
  EXPECT_EQ(result.summary.cuts.recency_days, (std::array<int64_t, 4>{2, 4, 6, 8}));
  EXPECT_EQ(result.summary.cuts.monetary_minor, (std::array<int64_t, 4>{200, 400, 600, 800}));
  int64_t cells = 0, revenue = 0;
  for (const RfmCell& c : result.summary.grid) {
    cells += c.customers;
    revenue += c.revenue_minor;
  }
  EXPECT_EQ(cells, 10);
  EXPECT_EQ(revenue, 5500);
  // Recent buyers order least on this ladder: r 5, f 1 is "New".
  EXPECT_EQ(result.At(*result.Find(CustomerId(1))).segment, "New");
  EXPECT_EQ(result.summary.segments.size(), 11u);
  EXPECT_EQ(result.summary.segments[3].name, "New");
  EXPECT_EQ(result.summary.segments[3].customers, 2);
}

TEST(ScoreRfm, HandlesNoScoredCustomers) {
  RfmResult result = ScoreRfm({}, 4, kNow, DefaultScoreMap(), kNow);

  EXPECT_EQ(result.summary.scored, 0);
  EXPECT_FALSE(result.Find(CustomerId(1)).has_value());
  EXPECT_EQ(result.summary.cuts.frequency, (std::array<int64_t, 4>{0, 0, 0, 0}));
}

TEST(DefaultScoreMap, CoversEveryTripleWithANamedRule) {
  ScoreMap map = DefaultScoreMap();
  auto names = SegmentNames(map);
  for (int r = 1; r <= 5; ++r) {
    for (int f = 1; f <= 5; ++f) {
      for (int m = 1; m <= 5; ++m) {
        bool matched = false;
        for (const RfmRule& rule : map.rules) matched |= rule.r.Contains(r) && rule.f.Contains(f) && rule.m.Contains(m);
        EXPECT_TRUE(matched) << r << f << m;
      }
    }
  }
  EXPECT_EQ(names[SegmentOf(map, names, 5, 5, 5)], "Champions");
  EXPECT_EQ(names[SegmentOf(map, names, 1, 5, 5)], "Can't Lose");
  EXPECT_EQ(names[SegmentOf(map, names, 1, 1, 1)], "Lost");
}

TEST(ValidateScoreMap, NamesEachBadField) {
  struct Case {
    ScoreMap map;
    std::string field;
  };
  auto with = [](auto change) {
    ScoreMap m = DefaultScoreMap();
    change(m);
    return m;
  };
  std::vector<Case> cases = {
      {with([](ScoreMap& m) { m.rules[0].r = {0, 5}; }), "rules[0].r"},
      {with([](ScoreMap& m) { m.rules[2].f = {4, 2}; }), "rules[2].f"},
      {with([](ScoreMap& m) { m.rules[1].m = {1, 6}; }), "rules[1].m"},
      {with([](ScoreMap& m) { m.rules[3].segment = ""; }), "rules[3].segment"},
      {with([](ScoreMap& m) { m.rules[3].segment = "a\tb"; }), "rules[3].segment"},
      {with([](ScoreMap& m) { m.default_segment = std::string(65, 'x'); }), "default_segment"},
      {with([](ScoreMap& m) { m.rules.clear(); }), "rules"},
  };

  for (const Case& c : cases) {
    EXPECT_ERROR_CODE(ValidateScoreMap(c.map), ErrorCode::kInvalidArgument);
    EXPECT_FIELD_ERROR(ValidateScoreMap(c.map), c.field);
  }
}

TEST(ScoreMapCodec, RoundTripsNewNames) {
  ScoreMap map = DefaultScoreMap();
  map.rules[0].segment = "冠军 VIP";
  map.default_segment = "Other";

  auto decoded = DecodeScoreMap(EncodeScoreMap(map));

  ASSERT_OK(decoded);
  EXPECT_EQ(*decoded, map);
  EXPECT_EQ(SegmentNames(map).back(), "Other");
}

TEST(InputFromOrders, AggregatesPerCustomer) {
  std::vector<int64_t> customer = {2, 1, 2, 3};
  std::vector<int64_t> placed = {10, 20, 30, 5};
  std::vector<int64_t> amount = {100, 50, 25, 7};

  RfmInput in = InputFromOrders(customer, placed, amount, 4);

  EXPECT_EQ(in.customer_id, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(in.last_order_ms, (std::vector<int64_t>{20, 30, 5}));
  EXPECT_EQ(in.frequency, (std::vector<int64_t>{1, 2, 1}));
  EXPECT_EQ(in.monetary_minor, (std::vector<int64_t>{50, 125, 7}));
}

class RfmServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto_ = testing::MakeTestCrypto(dir_.File("keystore.db"));
    auto store = storage::OpenSqliteStore({.path = dir_.File("store.db"), .crypto = crypto_.get()});
    ASSERT_OK(store);
    store_ = std::move(store).value();
    for (int i = 1; i <= 10; ++i) {
      for (int k = 0; k < i; ++k) features_.OnOrder(CustomerId(i), kNow - days(i), 100);
    }
    features_.OnCustomer(CustomerId(11));
  }

  testing::TempDir dir_;
  testing::FakeClock clock_{kNow};
  std::unique_ptr<security::FieldEncryptor> crypto_;
  std::unique_ptr<storage::Store> store_;
  features::FeatureStore features_{clock_};
};

TEST_F(RfmServiceTest, ScoresFromTheFeatureStore) {
  RfmService rfm(*store_, features_, clock_);
  ASSERT_OK(rfm.Load());

  RfmSummary summary = rfm.Summary();
  auto top = rfm.Get(CustomerId(10));

  EXPECT_EQ(summary.customers, 11);
  EXPECT_EQ(summary.scored, 10);
  ASSERT_TRUE(top.has_value());
  EXPECT_EQ(top->frequency, 10);
  EXPECT_EQ(top->monetary_minor, 1000);
  EXPECT_EQ(top->recency_days, 10);
  EXPECT_EQ(top->Score(), "155");
  EXPECT_FALSE(rfm.Get(CustomerId(11)).has_value());
}

TEST_F(RfmServiceTest, StoresTheScoreMapAndReloadsIt) {
  RfmService rfm(*store_, features_, clock_);
  ASSERT_OK(rfm.Load());
  ScoreMap map = DefaultScoreMap();
  map.rules.insert(map.rules.begin(), RfmRule{"Whales", {1, 5}, {1, 5}, {5, 5}});

  ASSERT_OK(rfm.PutScoreMap(map, "user:1"));
  RfmService reloaded(*store_, features_, clock_);
  ASSERT_OK(reloaded.Load());

  EXPECT_EQ(reloaded.score_map(), map);
  EXPECT_EQ(reloaded.Get(CustomerId(10))->segment, "Whales");
  EXPECT_EQ(reloaded.Summary().segments.front().name, "Whales");
}

TEST_F(RfmServiceTest, RejectsABadScoreMapAndKeepsTheOldOne) {
  RfmService rfm(*store_, features_, clock_);
  ASSERT_OK(rfm.Load());
  ScoreMap bad = DefaultScoreMap();
  bad.rules[4].m = {3, 1};

  EXPECT_FIELD_ERROR(rfm.PutScoreMap(bad, "user:1"), "rules[4].m");
  auto stored = store_->GetAnalyticsSetting(kScoreMapSettingKey);
  ASSERT_OK(stored);
  EXPECT_FALSE(stored->has_value());
  EXPECT_EQ(rfm.score_map(), DefaultScoreMap());
}

TEST_F(RfmServiceTest, RescoresACustomerOnANewOrderAgainstCurrentCuts) {
  RfmService rfm(*store_, features_, clock_);
  ASSERT_OK(rfm.Load());
  ASSERT_EQ(rfm.Get(CustomerId(1))->r, 5);
  ASSERT_EQ(rfm.Summary().scored, 10);

  features_.OnOrder(CustomerId(11), kNow, 5000);
  rfm.OnOrder(CustomerId(11));
  auto fresh = rfm.Get(CustomerId(11));

  ASSERT_TRUE(fresh.has_value());
  EXPECT_EQ(fresh->r, 5);
  EXPECT_EQ(fresh->f, 1);
  EXPECT_EQ(fresh->m, 5);
  EXPECT_EQ(rfm.Summary().scored, 11);
  int64_t cells = 0;
  for (const RfmCell& c : rfm.Summary().grid) cells += c.customers;
  EXPECT_EQ(cells, 11);
}

TEST_F(RfmServiceTest, RecomputesWhenTheCachedResultIsOlderThanMaxAge) {
  RfmService rfm(*store_, features_, clock_, {.max_age = std::chrono::minutes(10)});
  ASSERT_OK(rfm.Load());
  Timestamp first = rfm.Summary().as_of;

  clock_.Advance(std::chrono::minutes(5));
  Timestamp cached = rfm.Summary().as_of;
  clock_.Advance(std::chrono::minutes(6));
  Timestamp refreshed = rfm.Summary().as_of;

  EXPECT_EQ(cached, first);
  EXPECT_EQ(refreshed, kNow + std::chrono::minutes(11));
}

TEST_F(RfmServiceTest, ComputesForAnExplicitAsOfWithoutReplacingTheCache) {
  RfmService rfm(*store_, features_, clock_);
  ASSERT_OK(rfm.Load());

  auto later = rfm.Get(CustomerId(1), kNow + days(30));
  auto now = rfm.Get(CustomerId(1));

  EXPECT_EQ(later->recency_days, 31);
  EXPECT_EQ(now->recency_days, 1);
}

}  // namespace
}  // namespace panorama::analytics

namespace panorama::analytics {
namespace {

// Brute-force oracle for the tie rule: sort (value, customer id), 1-based rank x, QuintileOfRank(x, n).
std::map<int64_t, int> OracleQuintiles(const std::vector<std::pair<int64_t, int64_t>>& value_id,
                                       std::array<int64_t, 4>* cuts) {
  auto sorted = value_id;
  std::sort(sorted.begin(), sorted.end());
  std::map<int64_t, int> out;
  const auto n = static_cast<int64_t>(sorted.size());
  for (int64_t x = 1; x <= n; ++x) out[sorted[x - 1].second] = QuintileOfRank(x, n);
  for (int i = 0; i < 4; ++i) (*cuts)[i] = n == 0 ? 0 : sorted[(n - 1) * (i + 1) / 5].first;
  return out;
}

// Checks every customer's scores, the cuts and the grid total of `result` against the oracle over `input`.
void ExpectMatchesOracle(const RfmResult& result, const RfmInput& input, int seed) {
  const size_t n = input.customer_id.size();
  ASSERT_EQ(result.customer_id.size(), n) << "seed " << seed;
  ASSERT_EQ(result.summary.scored, static_cast<int64_t>(n)) << "seed " << seed;
  std::vector<std::pair<int64_t, int64_t>> recency, frequency, monetary;
  for (size_t i = 0; i < n; ++i) {
    const int64_t age_days = std::max<int64_t>(0, ToUnixMillis(kNow) - input.last_order_ms[i]) / 86'400'000;
    recency.push_back({age_days, input.customer_id[i]});
    frequency.push_back({input.frequency[i], input.customer_id[i]});
    monetary.push_back({input.monetary_minor[i], input.customer_id[i]});
  }
  RfmCuts cuts;
  auto r = OracleQuintiles(recency, &cuts.recency_days);
  auto f = OracleQuintiles(frequency, &cuts.frequency);
  auto m = OracleQuintiles(monetary, &cuts.monetary_minor);
  EXPECT_EQ(result.summary.cuts.recency_days, cuts.recency_days) << "seed " << seed;
  EXPECT_EQ(result.summary.cuts.frequency, cuts.frequency) << "seed " << seed;
  EXPECT_EQ(result.summary.cuts.monetary_minor, cuts.monetary_minor) << "seed " << seed;
  EXPECT_TRUE(std::is_sorted(result.customer_id.begin(), result.customer_id.end())) << "seed " << seed;
  const ScoreMap map = DefaultScoreMap();
  int mismatches = 0;
  int64_t in_grid = 0;
  for (const RfmCell& cell : result.summary.grid) in_grid += cell.customers;
  EXPECT_EQ(in_grid, static_cast<int64_t>(n)) << "seed " << seed;
  for (size_t i = 0; i < n && mismatches < 5; ++i) {
    const int64_t id = result.customer_id[i];
    CustomerRfm got = result.At(i);
    const int want_r = 6 - r.at(id), want_f = f.at(id), want_m = m.at(id);
    if (got.r != want_r || got.f != want_f || got.m != want_m ||
        got.segment != result.segment_names[SegmentOf(map, result.segment_names, want_r, want_f, want_m)]) {
      ++mismatches;
      ADD_FAILURE() << "seed " << seed << " customer " << id << ": got " << got.Score() << ", want " << want_r
                    << want_f << want_m;
    }
  }
}

// Random inputs with heavy ties, negative and huge spends (so cuts fall in quantised buckets that hold many
// values) and customers in any order.
RfmInput RandomInput(std::mt19937_64& rng, size_t n) {
  RfmInput in;
  std::vector<int64_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int64_t>(i) * 3 + 1 + static_cast<int64_t>(rng() % 3);
  std::shuffle(ids.begin(), ids.end(), rng);
  const int style = static_cast<int>(rng() % 4);
  for (size_t i = 0; i < n; ++i) {
    in.customer_id.push_back(ids[i]);
    const int64_t age_days = style == 0 ? static_cast<int64_t>(rng() % 3) : static_cast<int64_t>(rng() % 5000);
    in.last_order_ms.push_back(ToUnixMillis(kNow) - age_days * 86'400'000 - static_cast<int64_t>(rng() % 86'400'000));
    in.frequency.push_back(style == 1 ? 1 + static_cast<int64_t>(rng() % 2000) : 1 + static_cast<int64_t>(rng() % 4));
    int64_t spend = 0;
    switch (style) {
      case 0: spend = static_cast<int64_t>(rng() % 5) * 1000; break;
      case 1: spend = static_cast<int64_t>(rng() % 2'000'000) - 1'000'000; break;
      case 2: spend = static_cast<int64_t>(rng() >> 2) - (int64_t{1} << 61); break;
      default: spend = 100'000 + static_cast<int64_t>(rng() % 700); break;
    }
    in.monetary_minor.push_back(spend);
  }
  return in;
}

TEST(ScoreRfmProperty, MatchesTheBruteForceRankingOnRandomInputs) {
  for (int seed = 1; seed <= 40; ++seed) {
    std::mt19937_64 rng(static_cast<uint64_t>(seed));
    const size_t n = seed <= 5 ? static_cast<size_t>(seed) : 50 + rng() % 3000;
    RfmInput in = RandomInput(rng, n);

    RfmResult result = ScoreRfm(in, static_cast<int64_t>(n), kNow, DefaultScoreMap(), kNow);

    ExpectMatchesOracle(result, in, seed);
  }
}

TEST(RfmComputationProperty, MatchesTheOracleFromTheFeatureStoreWhileReusingResults) {
  RfmResult previous;
  for (int seed = 1; seed <= 12; ++seed) {
    std::mt19937_64 rng(static_cast<uint64_t>(seed) + 1000);
    RfmInput in = RandomInput(rng, 100 + rng() % 2000);
    testing::FakeClock clock(kNow);
    features::FeatureStore features(clock);
    // One order per unit of frequency: the last carries the time, all but one carry nothing of the spend.
    RfmInput expected;
    int64_t live = 0;
    for (size_t i = 0; i < in.customer_id.size(); ++i) {
      const CustomerId id(in.customer_id[i]);
      features.OnCustomer(id);
      ++live;
      if (rng() % 7 == 0) continue;  // no orders: live but not scored
      for (int64_t k = 1; k < in.frequency[i]; ++k) features.OnOrder(id, FromUnixMillis(in.last_order_ms[i] - k), 0);
      features.OnOrder(id, FromUnixMillis(in.last_order_ms[i]), in.monetary_minor[i]);
      if (i != 0 && rng() % 11 == 0) {  // erased and merged-away customers are neither live nor scored
        if (rng() % 2 == 0) {
          features.OnErase(id);
        } else {
          features.OnMerge(id, CustomerId(in.customer_id[0]));
        }
        --live;
        continue;
      }
      expected.customer_id.push_back(in.customer_id[i]);
      expected.last_order_ms.push_back(in.last_order_ms[i]);
      expected.frequency.push_back(in.frequency[i]);
      expected.monetary_minor.push_back(in.monetary_minor[i]);
    }
    // Merges fold into customer in.customer_id[0]: take its aggregates from the store.
    auto first = features.Get(CustomerId(in.customer_id[0]), kNow);
    ASSERT_TRUE(first.has_value());
    auto it = std::find(expected.customer_id.begin(), expected.customer_id.end(), in.customer_id[0]);
    if (first->order_count > 0) {
      if (it == expected.customer_id.end()) {
        expected.customer_id.push_back(in.customer_id[0]);
        expected.last_order_ms.push_back(0);
        expected.frequency.push_back(0);
        expected.monetary_minor.push_back(0);
        it = expected.customer_id.end() - 1;
      }
      const size_t k = static_cast<size_t>(it - expected.customer_id.begin());
      expected.last_order_ms[k] = ToUnixMillis(*first->last_order_at);
      expected.frequency[k] = first->order_count;
      expected.monetary_minor[k] = first->total_spend_base_minor;
    }

    RfmComputation computation(std::move(previous));
    features.ReadColumns([&](const features::FeatureColumns& c) { computation.Take(c, kNow); });
    RfmResult result = computation.Score(DefaultScoreMap(), kNow);

    EXPECT_EQ(computation.live_customers(), live) << "seed " << seed;
    EXPECT_EQ(result.summary.customers, live) << "seed " << seed;
    ExpectMatchesOracle(result, expected, seed);
    previous = std::move(result);
  }
}

// Arrays of 4 MB and more are allocated for huge pages (SizeForOverwrite in rfm.cc): 530k scored customers
// put the int64 arrays over that size, so the fresh, the grown-from-smaller and the recycled computations
// all take that path, and all must give ScoreRfm's answer (there the input's arrays are moved in and the
// one-byte arrays stay below the threshold: the plain path, checked against the oracle above).
TEST(RfmComputationProperty, GivesTheSameAnswerWithHugePageArraysFreshGrownOrRecycled) {
  constexpr size_t kCustomers = 530'000;
  for (uint64_t seed : {77u, 80u}) {
    std::mt19937_64 rng(seed);
    RfmInput in = RandomInput(rng, kCustomers);
    testing::FakeClock clock(kNow);
    features::FeatureStore features(clock);
    // Customers arrive in id order, as the Store assigns ids (the feature store's id index is slow to grow
    // when 530k sparse ids arrive shuffled).
    std::vector<size_t> by_id(kCustomers);
    std::iota(by_id.begin(), by_id.end(), size_t{0});
    std::sort(by_id.begin(), by_id.end(), [&](size_t a, size_t b) { return in.customer_id[a] < in.customer_id[b]; });
    for (size_t i : by_id) {
      const CustomerId id(in.customer_id[i]);
      features.OnCustomer(id);
      // One order carries the spend; few orders each, so that filling the store stays fast.
      in.frequency[i] = 1 + static_cast<int64_t>(rng() % 3);
      for (int64_t k = 1; k < in.frequency[i]; ++k) features.OnOrder(id, FromUnixMillis(in.last_order_ms[i] - k), 0);
      features.OnOrder(id, FromUnixMillis(in.last_order_ms[i]), in.monetary_minor[i]);
    }
    auto compute = [&](RfmResult reuse) {
      RfmComputation computation(std::move(reuse));
      features.ReadColumns([&](const features::FeatureColumns& c) { computation.Take(c, kNow); });
      return computation.Score(DefaultScoreMap(), kNow);
    };
    const RfmResult want = ScoreRfm(in, static_cast<int64_t>(kCustomers), kNow, DefaultScoreMap(), kNow);

    RfmResult fresh = compute(RfmResult{});
    const RfmResult fresh_copy = fresh;
    RfmResult grown = compute(ScoreRfm(Ladder(10), 10, kNow, DefaultScoreMap(), kNow));
    RfmResult recycled = compute(std::move(fresh));

    ASSERT_EQ(want.customer_id.size(), kCustomers);
    for (const RfmResult* got : std::array<const RfmResult*, 3>{&fresh_copy, &grown, &recycled}) {
      EXPECT_EQ(got->customer_id, want.customer_id) << "seed " << seed;
      EXPECT_EQ(got->last_order_ms, want.last_order_ms) << "seed " << seed;
      EXPECT_EQ(got->recency_days, want.recency_days) << "seed " << seed;
      EXPECT_EQ(got->frequency, want.frequency) << "seed " << seed;
      EXPECT_EQ(got->monetary_minor, want.monetary_minor) << "seed " << seed;
      EXPECT_TRUE(got->r == want.r && got->f == want.f && got->m == want.m) << "seed " << seed;
      EXPECT_EQ(got->segment, want.segment) << "seed " << seed;
      EXPECT_EQ(got->summary.cuts.monetary_minor, want.summary.cuts.monetary_minor) << "seed " << seed;
      for (size_t cell = 0; cell < want.summary.grid.size(); ++cell) {
        EXPECT_EQ(got->summary.grid[cell].customers, want.summary.grid[cell].customers) << "seed " << seed;
        EXPECT_EQ(got->summary.grid[cell].revenue_minor, want.summary.grid[cell].revenue_minor) << "seed " << seed;
      }
    }
  }
}

}  // namespace
}  // namespace panorama::analytics
