// Demo generation speed, in memory: the generator alone (into a fake store that only digests what it is
// given), in orders per second. Target ≥ 1M orders/s so that 1M customers / 10M orders is bounded by the store.
//
// Run: build/bench/demo_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include "demo/demo_generator.h"
#include "tests/support/recording_store.h"

namespace panorama::demo {
namespace {

void BM_GenerateDemo(benchmark::State& state) {
  DemoOptions options;
  options.customers = state.range(0);
  options.now = FromUnixMillis(DaysFromCivil(2026, 1, 1) * 86'400'000);
  int64_t orders = 0;
  int64_t events = 0;
  bool ok = true;
  for (auto _ : state) {
    testing::RecordingStore store({.keep_records = false, .check_uniqueness = false});
    auto summary = GenerateDemo(store, options);
    ok = ok && summary.has_value() && summary->customers == options.customers &&
         summary->orders == store.order_count() && store.customer_count() == options.customers;
    orders = summary ? summary->orders : 0;
    events = summary ? summary->events : 0;
    benchmark::DoNotOptimize(store.digest());
  }
  if (!ok) {
    state.SkipWithError("generation gave a wrong answer");
  }
  state.SetItemsProcessed(state.iterations() * orders);
  state.counters["orders"] = static_cast<double>(orders);
  state.counters["events"] = static_cast<double>(events);
  state.counters["orders_per_customer"] = static_cast<double>(orders) / static_cast<double>(options.customers);
}
BENCHMARK(BM_GenerateDemo)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace panorama::demo

BENCHMARK_MAIN();
