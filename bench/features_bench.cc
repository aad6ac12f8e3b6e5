// Feature store: rebuild from in-memory facts (the cold-start path, DESIGN.md §5: serving in < 5 s
// with 1M customers) and Get() latency, with memory per customer (target ≤ 200 bytes) as a counter.
//
// Run: build/bench/features_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include <chrono>
#include <map>
#include <memory>
#include <random>

#include "features/feature_store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/recording_store.h"

namespace panorama::features {
namespace {

const Timestamp kNow = FromUnixMillis(DaysFromCivil(2026, 1, 1) * 86'400'000);
constexpr int64_t kOrdersPerCustomer = 10;
constexpr int64_t kEventsPerCustomer = 5;

struct Dataset {
  testing::RecordingStore store{{.keep_records = false, .check_uniqueness = false}};
  int64_t customers = 0;
  int64_t orders_of_first = 0;  // the answer checked after each loop
};

// Facts for `customers` customers: ~10 orders each over three years, ~5 events each, a fixed seed.
const Dataset& DatasetOf(int64_t customers) {
  static std::map<int64_t, std::unique_ptr<Dataset>> cache;
  auto& slot = cache[customers];
  if (slot) {
    return *slot;
  }
  slot = std::make_unique<Dataset>();
  Dataset& d = *slot;
  d.customers = customers;
  std::mt19937_64 rng(42);
  const int64_t span_ms = int64_t{3} * 365 * 86'400'000;
  auto& cf = d.store.customer_facts();
  auto& of = d.store.order_facts();
  auto& ef = d.store.event_facts();
  cf.reserve(static_cast<size_t>(customers));
  of.reserve(static_cast<size_t>(customers * kOrdersPerCustomer));
  ef.reserve(static_cast<size_t>(customers * kEventsPerCustomer));
  for (int64_t id = 1; id <= customers; ++id) {
    cf.emplace_back(CustomerId(id), false);
  }
  for (int64_t i = 0; i < customers * kOrdersPerCustomer; ++i) {
    CustomerId id(1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(customers)));
    of.push_back({id, kNow - std::chrono::milliseconds(rng() % span_ms),
                  1000 + static_cast<int64_t>(rng() % 50000)});
    d.orders_of_first += id.value() == 1 ? 1 : 0;
  }
  for (int64_t i = 0; i < customers * kEventsPerCustomer; ++i) {
    CustomerId id(1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(customers)));
    ef.push_back({id, kNow - std::chrono::milliseconds(rng() % span_ms)});
  }
  return d;
}

void BM_FeaturesRebuild(benchmark::State& state) {
  const Dataset& d = DatasetOf(state.range(0));
  auto& store = const_cast<testing::RecordingStore&>(d.store);
  testing::FakeClock clock(kNow);
  int64_t bytes = 0;
  int64_t orders_of_first = -1;
  int64_t size = 0;
  for (auto _ : state) {
    FeatureStore features(clock);
    auto result = features.Rebuild(store);
    benchmark::DoNotOptimize(result);
    state.PauseTiming();
    bytes = features.MemoryBytes();
    size = features.size();
    auto f = features.Get(CustomerId(1), kNow);
    orders_of_first = f ? f->order_count : -1;
    state.ResumeTiming();
  }
  if (size != d.customers || orders_of_first != d.orders_of_first) {
    state.SkipWithError("rebuild gave a wrong answer");
  }
  state.SetItemsProcessed(state.iterations() * d.customers *
                          (1 + kOrdersPerCustomer + kEventsPerCustomer));
  state.counters["bytes_per_customer"] = static_cast<double>(bytes) / static_cast<double>(size);
  state.counters["orders"] = static_cast<double>(d.customers * kOrdersPerCustomer);
}
BENCHMARK(BM_FeaturesRebuild)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

void BM_FeaturesGet(benchmark::State& state) {
  const Dataset& d = DatasetOf(state.range(0));
  testing::FakeClock clock(kNow);
  FeatureStore features(clock);
  if (!features.Rebuild(const_cast<testing::RecordingStore&>(d.store))) {
    state.SkipWithError("rebuild failed");
    return;
  }
  std::mt19937_64 rng(7);
  int64_t found = 0;
  for (auto _ : state) {
    auto f = features.Get(
        CustomerId(1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(d.customers))), kNow);
    benchmark::DoNotOptimize(f);
    found += f.has_value() ? 1 : 0;
  }
  if (found != state.iterations()) {
    state.SkipWithError("a known customer had no features");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FeaturesGet)->Arg(100'000)->Arg(1'000'000);

}  // namespace
}  // namespace panorama::features

BENCHMARK_MAIN();
