// Behaviour analytics: cohort matrix over N orders and a 4-step funnel over N events, in memory
// (the Store scan that feeds them is measured apart: it is SQLite's indexed scan). Inputs from a
// fixed seed, built outside the timed loop; the answer is checked after the loop.
//
// Run: build/bench/behaviour_bench --benchmark_repetitions=5
// --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <random>
#include <vector>

#include "analytics/behaviour/cohorts.h"
#include "analytics/behaviour/funnel.h"

namespace panorama::behaviour {
namespace {

constexpr int64_t kOrdersPerCustomer = 5;
constexpr int64_t kEventsPerCustomer = 10;
const int64_t kStart = DaysFromCivil(2023, 1, 1) * 86'400'000;

struct Orders {
  std::vector<std::pair<CustomerId, Timestamp>> orders;
  int64_t customers = 0;
};

const Orders& OrdersOf(int64_t n) {
  static std::map<int64_t, std::unique_ptr<Orders>> cache;
  auto& slot = cache[n];
  if (slot)
    return *slot;
  slot = std::make_unique<Orders>();
  std::mt19937_64 rng(42);
  slot->customers = n / kOrdersPerCustomer;
  for (int64_t i = 0; i < n; ++i) {
    CustomerId c(1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(slot->customers)));
    slot->orders.emplace_back(
        c, FromUnixMillis(kStart + static_cast<int64_t>(rng() % (3ULL * 365 * 86'400'000))));
  }
  return *slot;
}

void BM_CohortMatrix(benchmark::State& state) {
  const Orders& data = OrdersOf(state.range(0));
  int64_t listed = 0;
  for (auto _ : state) {
    CohortBuilder builder;
    for (const auto& [customer, at] : data.orders) builder.Add(customer, at);
    CohortMatrix m = builder.Build({.months = 36});
    listed = 0;
    for (const auto& row : m.cohorts) listed += row.size;
    benchmark::DoNotOptimize(m);
  }
  // Every customer with an order is in exactly one cohort.
  std::vector<bool> seen(static_cast<size_t>(data.customers) + 1);
  int64_t expected = 0;
  for (const auto& [customer, at] : data.orders) {
    if (!seen[static_cast<size_t>(customer.value())])
      ++expected;
    seen[static_cast<size_t>(customer.value())] = true;
  }
  if (listed != expected)
    state.SkipWithError("cohort sizes do not add up to the customers");
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_CohortMatrix)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

struct Events {
  std::vector<std::vector<FunnelEvent>> customers;
  int64_t entrants = 0;  // customers with at least one step-1 event
};

const Events& EventsOf(int64_t n) {
  static std::map<int64_t, std::unique_ptr<Events>> cache;
  auto& slot = cache[n];
  if (slot)
    return *slot;
  slot = std::make_unique<Events>();
  std::mt19937_64 rng(7);
  const char* names[] = {"Home", "Product Viewed", "Product Added", "Checkout Started",
                         "Order Completed"};
  int64_t id = 0;
  for (int64_t c = 0; c < n / kEventsPerCustomer; ++c) {
    std::vector<FunnelEvent> events;
    int64_t t = kStart + static_cast<int64_t>(rng() % (365ULL * 86'400'000));
    bool entrant = false;
    for (int64_t e = 0; e < kEventsPerCustomer; ++e) {
      t += static_cast<int64_t>(rng() % (2ULL * 86'400'000));
      std::string name = names[rng() % 5];
      entrant = entrant || name == "Product Viewed";
      events.push_back({FromUnixMillis(t), ++id, name, {}});
    }
    slot->entrants += entrant ? 1 : 0;
    slot->customers.push_back(std::move(events));
  }
  return *slot;
}

void BM_Funnel(benchmark::State& state) {
  const Events& data = EventsOf(state.range(0));
  FunnelSpec spec;
  for (const char* s : {"Product Viewed", "Product Added", "Checkout Started", "Order Completed"}) {
    spec.steps.push_back({s, {}});
  }
  int64_t entrants = 0;
  for (auto _ : state) {
    FunnelCalculator calculator(spec);
    for (const auto& events : data.customers) calculator.AddCustomer(events);
    FunnelResult r = calculator.Finish();
    entrants = r.steps[0].customers;
    benchmark::DoNotOptimize(r);
  }
  if (entrants != data.entrants)
    state.SkipWithError("step-1 customers differ from the customers who viewed");
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Funnel)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace panorama::behaviour

BENCHMARK_MAIN();
