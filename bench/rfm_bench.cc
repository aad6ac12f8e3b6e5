// RFM (docs/benchmarks.md "RFM"): scoring from the feature store (DESIGN.md §5 target < 0.5 s at 10M
// customers; issue #4: < 1 s) and from raw orders as a columnar scan of (customer, time, amount) arrays
// (issue #4: 100M orders < 10 s; DESIGN.md: < 3 s). The DuckDB peer (bench/duckdb/rfm_duckdb.mjs) computes
// the same scores on the same generated orders; bench/run_rfm_bench.sh runs both.
//
// Run:   build/bench/rfm_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Files: build/bench/rfm_bench --write_orders=FILE --orders=N  writes the generated orders as CSV
//        (customer_id,placed_ms,amount_minor) and prints the answer's checksum, for the DuckDB peer.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "analytics/rfm.h"
#include "features/feature_store.h"
#include "tests/support/fake_clock.h"

namespace panorama::analytics {
namespace {

const Timestamp kAsOf = FromUnixMillis(DaysFromCivil(2026, 1, 1) * 86'400'000);
constexpr int64_t kOrdersPerCustomer = 10;  // orders / customers in the raw-orders runs

struct Orders {
  std::vector<int64_t> customer, placed_ms, amount_minor;
  int64_t customers = 0;
};

// `orders` orders of `customers` customers (ids 1..customers), a fixed seed: times uniform over three
// years before kAsOf, amounts 10.00 to 509.99.
Orders Generate(int64_t customers, int64_t orders) {
  Orders o;
  o.customers = customers;
  std::mt19937_64 rng(42);
  const int64_t span_ms = int64_t{3} * 365 * 86'400'000;
  const int64_t as_of = ToUnixMillis(kAsOf);
  o.customer.resize(static_cast<size_t>(orders));
  o.placed_ms.resize(static_cast<size_t>(orders));
  o.amount_minor.resize(static_cast<size_t>(orders));
  for (int64_t i = 0; i < orders; ++i) {
    o.customer[i] = 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(customers));
    o.placed_ms[i] = as_of - 1 - static_cast<int64_t>(rng() % static_cast<uint64_t>(span_ms));
    o.amount_minor[i] = 1000 + static_cast<int64_t>(rng() % 50000);
  }
  return o;
}

// What both sides print: the sum over customers of (100·r + 10·f + m) and the scored count.
struct Checksum {
  int64_t scored = 0;
  int64_t sum = 0;
};

Checksum ChecksumOf(const RfmResult& result) {
  Checksum c;
  c.scored = static_cast<int64_t>(result.customer_id.size());
  for (size_t i = 0; i < result.customer_id.size(); ++i) c.sum += 100 * result.r[i] + 10 * result.f[i] + result.m[i];
  return c;
}

const Orders& OrdersOf(int64_t orders) {
  static std::map<int64_t, std::unique_ptr<Orders>> cache;
  auto& slot = cache[orders];
  if (!slot) slot = std::make_unique<Orders>(Generate(std::max<int64_t>(1, orders / kOrdersPerCustomer), orders));
  return *slot;
}

void BM_RfmFromOrders(benchmark::State& state) {
  const Orders& o = OrdersOf(state.range(0));
  const ScoreMap map = DefaultScoreMap();
  // The reference answer, computed once outside the loop by the same code path; every iteration must match.
  const Checksum want = ChecksumOf(ScoreRfm(InputFromOrders(o.customer, o.placed_ms, o.amount_minor, o.customers),
                                            o.customers, kAsOf, map, kAsOf));
  for (auto _ : state) {
    RfmResult result =
        ScoreRfm(InputFromOrders(o.customer, o.placed_ms, o.amount_minor, o.customers), o.customers, kAsOf, map, kAsOf);
    benchmark::DoNotOptimize(result.r.data());
    Checksum got = ChecksumOf(result);
    if (got.sum != want.sum || got.scored != want.scored) state.SkipWithError("answer changed between runs");
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["scored"] = static_cast<double>(want.scored);
}
BENCHMARK(BM_RfmFromOrders)->Arg(1'000'000)->Arg(10'000'000)->Arg(100'000'000)->Unit(benchmark::kMillisecond);

// The feature store filled with `customers` customers, two orders each on average (some have none).
struct Features {
  testing::FakeClock clock{kAsOf};
  features::FeatureStore store{clock};
  int64_t with_orders = 0;
};

const Features& FeaturesOf(int64_t customers) {
  static std::map<int64_t, std::unique_ptr<Features>> cache;
  auto& slot = cache[customers];
  if (slot) return *slot;
  slot = std::make_unique<Features>();
  Orders o = Generate(customers, 2 * customers);
  std::vector<bool> has(static_cast<size_t>(customers) + 1, false);
  for (int64_t id = 1; id <= customers; ++id) slot->store.OnCustomer(CustomerId(id));
  for (size_t i = 0; i < o.customer.size(); ++i) {
    slot->store.OnOrder(CustomerId(o.customer[i]), FromUnixMillis(o.placed_ms[i]), o.amount_minor[i]);
    has[o.customer[i]] = true;
  }
  for (bool h : has) slot->with_orders += h ? 1 : 0;
  return *slot;
}

// What RfmService::Recompute does: RfmComputation over the columns, into the arrays of the result before the
// current one (the service keeps both). `reuse` = false starts every run from empty arrays (the first
// computation after start, or one while a reader still holds the old result).
void RunFeatureStore(benchmark::State& state, bool reuse) {
  const Features& f = FeaturesOf(state.range(0));
  const ScoreMap map = DefaultScoreMap();
  RfmResult current, spare;
  auto compute = [&] {
    RfmComputation computation(reuse ? std::move(spare) : RfmResult{});
    f.store.ReadColumns([&](const features::FeatureColumns& c) { computation.Take(c, kAsOf); });
    spare = std::move(current);
    current = computation.Score(map, kAsOf);
  };
  if (reuse) {  // the service's steady state: a current and a spare result exist (not timed)
    compute();
    compute();
  }
  for (auto _ : state) {
    RfmComputation computation(reuse ? std::move(spare) : RfmResult{});
    f.store.ReadColumns([&](const features::FeatureColumns& c) { computation.Take(c, kAsOf); });
    const int64_t live = computation.live_customers();
    spare = std::move(current);
    current = computation.Score(map, kAsOf);
    benchmark::DoNotOptimize(current.r.data());
    int64_t in_grid = 0;
    for (const RfmCell& cell : current.summary.grid) in_grid += cell.customers;
    if (current.summary.scored != f.with_orders || in_grid != f.with_orders || live != state.range(0)) {
      state.SkipWithError("wrong number of scored customers");
    }
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_RfmFromFeatureStore(benchmark::State& state) { RunFeatureStore(state, /*reuse=*/true); }
BENCHMARK(BM_RfmFromFeatureStore)->Arg(100'000)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);

void BM_RfmFromFeatureStoreFresh(benchmark::State& state) { RunFeatureStore(state, /*reuse=*/false); }
BENCHMARK(BM_RfmFromFeatureStoreFresh)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);

// --write_orders=FILE --orders=N: the orders as CSV for the DuckDB peer, then the checksum and the time of
// the C++ raw-orders computation on them (one run, as the peer does).
int WriteOrders(const char* path, int64_t orders) {
  const Orders& o = OrdersOf(orders);
  FILE* out = std::fopen(path, "w");
  if (out == nullptr) {
    std::fprintf(stderr, "cannot write %s\n", path);
    return 1;
  }
  std::fprintf(out, "customer_id,placed_ms,amount_minor\n");
  for (size_t i = 0; i < o.customer.size(); ++i) {
    std::fprintf(out, "%lld,%lld,%lld\n", static_cast<long long>(o.customer[i]), static_cast<long long>(o.placed_ms[i]),
                 static_cast<long long>(o.amount_minor[i]));
  }
  std::fclose(out);
  auto started = std::chrono::steady_clock::now();
  RfmResult result = ScoreRfm(InputFromOrders(o.customer, o.placed_ms, o.amount_minor, o.customers), o.customers,
                              kAsOf, DefaultScoreMap(), kAsOf);
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  Checksum c = ChecksumOf(result);
  std::printf("{\"engine\":\"panorama\",\"orders\":%lld,\"scored\":%lld,\"checksum\":%lld,\"ms\":%.1f,\"as_of_ms\":%lld}\n",
              static_cast<long long>(orders), static_cast<long long>(c.scored), static_cast<long long>(c.sum), ms,
              static_cast<long long>(ToUnixMillis(kAsOf)));
  return 0;
}

}  // namespace
}  // namespace panorama::analytics

int main(int argc, char** argv) {
  const char* write_orders = nullptr;
  int64_t orders = 1'000'000;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--write_orders=", 15) == 0) write_orders = argv[i] + 15;
    if (std::strncmp(argv[i], "--orders=", 9) == 0) orders = std::atoll(argv[i] + 9);
  }
  if (write_orders != nullptr) return panorama::analytics::WriteOrders(write_orders, orders);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
