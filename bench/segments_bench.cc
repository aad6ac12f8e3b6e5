// Segments (DESIGN.md §5): a rule over N customers (target < 100 ms at 10M) and bitmap set operations of two
// 5M-member segments (target < 5 ms). Synthetic index from a fixed seed, built outside the timed loop; each
// result is checked against a plain loop over the same records after the timed loop.
//
// Run: build/bench/segments_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//      (the lead runs the 10M rule with --benchmark_filter=Rule.*/10000000)

#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "features/feature_store.h"
#include "privacy/consent_service.h"
#include "segments/audience_index.h"
#include "storage/records.h"
#include "tests/support/fake_clock.h"
#include "tests/support/recording_store.h"

namespace panorama::segments {
namespace {

const Timestamp kNow = FromUnixMillis(DaysFromCivil(2026, 1, 1) * 86'400'000);

struct Index {
  testing::FakeClock clock{kNow};
  testing::RecordingStore store{{.keep_records = false, .check_uniqueness = false}};
  features::FeatureStore features{clock};
  privacy::ConsentService consents{store, clock};
  std::unique_ptr<AudienceIndex> index;
  int64_t expected_profile = 0;  // members of kProfileRule, counted by a plain loop
  int64_t expected_spend = 0;    // members of kSpendRule
  int64_t expected_events = 0;   // members of kEventsRule
  int64_t expected_gap = 0;      // members of kGapRule
  int64_t expected_consent = 0;  // members of kConsentRule
};

constexpr const char* kProfileRule =
    R"(country = "CN" and (tags contains "vip" or age >= 40) and not gender = "male")";
constexpr const char* kSpendRule = R"(country = "CN" and total_spend > 1000 CNY)";
// The per-customer conditions made column/index scans: the 30-day event window, the average order gap and a
// channel consent (40 % granted, 5 % of everyone withdrew the purpose).
constexpr const char* kEventsRule = "event_count_30d >= 2";
constexpr const char* kGapRule = "avg_days_between_orders < 60";
constexpr const char* kConsentRule = "consent.marketing.email";

Index& IndexOf(int64_t customers) {
  static std::map<int64_t, std::unique_ptr<Index>> cache;
  auto& slot = cache[customers];
  if (slot) return *slot;
  slot = std::make_unique<Index>();
  Index& x = *slot;
  x.index = std::make_unique<AudienceIndex>(x.store,
                                            AudienceSources{.features = &x.features, .consents = &x.consents});
  std::mt19937_64 rng(42);
  // Events are fed after the loop in a shuffled order, as a store scan or live ingest delivers them (customers
  // interleaved), so the window pool's blocks are not in customer order as they would be if fed per customer.
  std::vector<std::pair<CustomerId, Timestamp>> events;
  const char* countries[] = {"CN", "CN", "CN", "US", "JP", "DE"};
  const char* genders[] = {"female", "male", "other", ""};
  for (int64_t id = 1; id <= customers; ++id) {
    storage::CustomerRecord c;
    c.id = CustomerId(id);
    c.country = countries[rng() % 6];
    c.gender = genders[rng() % 4];
    const int year = 1950 + static_cast<int>(rng() % 60);
    c.birthday = std::to_string(year) + "-06-15";
    if (rng() % 5 == 0) c.tags = {"vip"};
    x.index->PutCustomerForTest(c);
    const bool vip = !c.tags.empty();
    // Born 1950..2009 on 15 June; on 2026-01-01 the age is 2025 − year.
    if (c.country == "CN" && (vip || 2025 - year >= 40) && c.gender != "male") ++x.expected_profile;
    int64_t spend = 0, first_day = 0, last_day = 0;
    const int orders = static_cast<int>(rng() % 3);
    for (int k = 0; k < orders; ++k) {
      const int64_t total = static_cast<int64_t>(rng() % 100'000);
      const int64_t days_ago = 1 + static_cast<int64_t>(rng() % 300);
      x.features.OnOrder(c.id, kNow - std::chrono::hours(24 * days_ago), total);
      spend += total;
      first_day = k == 0 ? days_ago : std::max(first_day, days_ago);
      last_day = k == 0 ? days_ago : std::min(last_day, days_ago);
    }
    if (c.country == "CN" && spend > 100'000) ++x.expected_spend;
    if (orders >= 2 && static_cast<double>(first_day - last_day) / (orders - 1) < 60) ++x.expected_gap;
    if (rng() % 10 < 3) {  // 30 % had events in the last 60 days
      int64_t in_window = 0;
      for (int k = 1 + static_cast<int>(rng() % 4); k > 0; --k) {
        const int64_t days_ago = static_cast<int64_t>(rng() % 60);
        // An hour before a midnight: the UTC day is today − days_ago − 1; the window is today − 29 … today.
        events.emplace_back(c.id, kNow - std::chrono::hours(24 * days_ago + 1));
        in_window += days_ago + 1 <= 29 ? 1 : 0;
      }
      if (in_window >= 2) ++x.expected_events;
    }
    storage::ConsentRecord consent{.customer = c.id, .purpose = "marketing", .granted = true};
    const bool email = rng() % 10 < 4, withdrawn = rng() % 20 == 0;
    if (email) {
      consent.channel = "email";
      x.consents.OnCommitted(consent);
    }
    if (withdrawn) {
      consent.channel = "";
      consent.granted = false;
      x.consents.OnCommitted(consent);
    }
    if (email && !withdrawn) ++x.expected_consent;
  }
  std::shuffle(events.begin(), events.end(), rng);
  for (const auto& [customer, at] : events) x.features.OnEvent(customer, at);
  return x;
}

void RunRule(benchmark::State& state, const char* text, int64_t Index::*expected) {
  Index& x = IndexOf(state.range(0));
  auto rule = Compile(text);
  if (!rule) {
    state.SkipWithError(rule.error().message().c_str());
    return;
  }
  uint64_t members = 0;
  for (auto _ : state) {
    auto result = x.index->Evaluate(**rule, kNow);
    if (!result) {
      state.SkipWithError(result.error().message().c_str());
      return;
    }
    members = result->cardinality();
    benchmark::DoNotOptimize(members);
  }
  if (static_cast<int64_t>(members) != x.*expected) state.SkipWithError("wrong number of members");
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["members"] = static_cast<double>(members);
}

void BM_RuleProfile(benchmark::State& state) { RunRule(state, kProfileRule, &Index::expected_profile); }
void BM_RuleSpend(benchmark::State& state) { RunRule(state, kSpendRule, &Index::expected_spend); }
BENCHMARK(BM_RuleProfile)->Arg(100000)->Arg(1000000)->Arg(10000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RuleSpend)->Arg(100000)->Arg(1000000)->Arg(10000000)->Unit(benchmark::kMillisecond);
void BM_RuleEvents30d(benchmark::State& state) { RunRule(state, kEventsRule, &Index::expected_events); }
void BM_RuleAvgGap(benchmark::State& state) { RunRule(state, kGapRule, &Index::expected_gap); }
void BM_RuleConsent(benchmark::State& state) { RunRule(state, kConsentRule, &Index::expected_consent); }
BENCHMARK(BM_RuleEvents30d)->Arg(100000)->Arg(1000000)->Arg(10000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RuleAvgGap)->Arg(100000)->Arg(1000000)->Arg(10000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RuleConsent)->Arg(100000)->Arg(1000000)->Arg(10000000)->Unit(benchmark::kMillisecond);

// Two segments of `n` members each drawn from 2n ids (about half overlap).
struct Pair {
  Bitmap a, b;
  uint64_t and_count = 0, or_count = 0, minus_count = 0;
};

const Pair& PairOf(int64_t n) {
  static std::map<int64_t, std::unique_ptr<Pair>> cache;
  auto& slot = cache[n];
  if (slot) return *slot;
  slot = std::make_unique<Pair>();
  std::mt19937_64 rng(7);
  std::vector<uint8_t> in_a(static_cast<size_t>(2 * n)), in_b(static_cast<size_t>(2 * n));
  for (auto* v : {&in_a, &in_b}) {
    int64_t added = 0;
    while (added < n) {
      auto i = static_cast<size_t>(rng() % static_cast<uint64_t>(2 * n));
      if (!(*v)[i]) {
        (*v)[i] = 1;
        ++added;
      }
    }
  }
  for (size_t i = 0; i < in_a.size(); ++i) {
    if (in_a[i]) slot->a.add(static_cast<uint32_t>(i));
    if (in_b[i]) slot->b.add(static_cast<uint32_t>(i));
    slot->and_count += in_a[i] && in_b[i];
    slot->or_count += in_a[i] || in_b[i];
    slot->minus_count += in_a[i] && !in_b[i];
  }
  slot->a.runOptimize();
  slot->b.runOptimize();
  return *slot;
}

template <int kOp>
void BM_Bitmap(benchmark::State& state) {
  const Pair& p = PairOf(state.range(0));
  uint64_t count = 0;
  for (auto _ : state) {
    Bitmap r = kOp == 0 ? p.a & p.b : kOp == 1 ? p.a | p.b : p.a - p.b;
    count = r.cardinality();
    benchmark::DoNotOptimize(count);
  }
  const uint64_t want = kOp == 0 ? p.and_count : kOp == 1 ? p.or_count : p.minus_count;
  if (count != want) state.SkipWithError("wrong cardinality");
  state.SetItemsProcessed(state.iterations() * 2 * state.range(0));
}
void BM_BitmapAnd(benchmark::State& state) { BM_Bitmap<0>(state); }
void BM_BitmapOr(benchmark::State& state) { BM_Bitmap<1>(state); }
void BM_BitmapMinus(benchmark::State& state) { BM_Bitmap<2>(state); }
BENCHMARK(BM_BitmapAnd)->Arg(100000)->Arg(5000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BitmapOr)->Arg(100000)->Arg(5000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BitmapMinus)->Arg(100000)->Arg(5000000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace panorama::segments

BENCHMARK_MAIN();
