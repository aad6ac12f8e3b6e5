// Demo generation speed, in memory: the generator alone (into a store that only counts what it is
// given), in orders per second. Target ≥ 1M orders/s so that 1M customers / 10M orders is bounded
// by the store.
//
// Run: build/bench/demo_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "demo/demo_generator.h"
#include "features/feature_store.h"
#include "storage/store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/recording_store.h"
#include "tests/support/test_crypto.h"

namespace panorama::demo {
namespace {

// Counts what it is given and keeps nothing, so the benchmark measures the generator, not a fake's
// bookkeeping. Touches each record's strings so that building them cannot be optimised away.
class CountingTxn final : public storage::WriteTxn {
 public:
  // WriteTxn
  Result<CustomerId> InsertCustomer(const storage::CustomerRecord& c) override {
    bytes += c.name.size() + c.email.size() + c.phone.size() + c.traits_json.size();
    return CustomerId(++customers);
  }
  Result<void> UpdateCustomer(const storage::CustomerRecord&) override { return Ok(); }
  Result<void> DeleteCustomer(CustomerId) override { return Ok(); }
  Result<storage::ErasureReport> EraseCustomer(CustomerId) override { return storage::ErasureReport{}; }
  Result<storage::CustomerRecord> GetCustomer(CustomerId) override {
    return Error::NotFound("none");
  }
  Result<std::optional<CustomerId>> FindIdentity(std::string_view, std::string_view) override {
    return std::optional<CustomerId>();
  }
  Result<std::vector<storage::IdentityRecord>> ListIdentities(CustomerId) override {
    return std::vector<storage::IdentityRecord>();
  }
  Result<void> Nested(const std::function<Result<void>()>& fn) override { return fn(); }
  Result<void> AddIdentity(const storage::IdentityRecord& i) override {
    bytes += i.value.size();
    return Ok();
  }
  Result<void> MergeCustomers(const storage::MergeRecord&) override { return Ok(); }
  Result<EventId> InsertEvent(const storage::EventRecord& e) override {
    bytes += e.message_id.size() + e.properties_json.size() + e.context_json.size();
    return EventId(++events);
  }
  Result<ProductId> UpsertProduct(const storage::ProductRecord&) override {
    return ProductId(++products);
  }
  Result<std::optional<ProductId>> FindProductBySku(std::string_view) override {
    return std::optional<ProductId>();
  }
  Result<OrderId> InsertOrder(const storage::OrderRecord& o) override {
    for (const auto& item : o.items) {
      bytes += item.sku.size() + item.name.size();
    }
    return OrderId(++orders);
  }
  Result<std::optional<OrderId>> FindOrderByExternalId(std::string_view) override {
    return std::optional<OrderId>();
  }
  Result<InteractionId> InsertInteraction(const storage::InteractionRecord& i) override {
    bytes += i.body.size();
    return InteractionId(++interactions);
  }
  Result<UserId> InsertUser(const storage::UserRecord&) override { return UserId(1); }
  Result<void> UpdateUser(const storage::UserRecord&) override { return Ok(); }
  Result<ApiKeyId> InsertApiKey(const storage::ApiKeyRecord&) override { return ApiKeyId(1); }
  Result<void> RevokeApiKey(ApiKeyId) override { return Ok(); }
  Result<int64_t> InsertConsent(const storage::ConsentRecord&) override { return int64_t{0}; }
  Result<int64_t> InsertPrivacyRequest(const storage::PrivacyRequestRecord&) override { return int64_t{0}; }
  Result<void> UpdatePrivacyRequest(const storage::PrivacyRequestRecord&) override { return Ok(); }
  Result<void> PutPrivacyFlags(const storage::PrivacyFlagsRecord&) override { return Ok(); }
  Result<std::vector<storage::TableCount>> EraseSubjectRows(CustomerId, const std::vector<std::string>&) override {
    return std::vector<storage::TableCount>{};
  }
  Result<void> AddErasureSuppression(std::string_view, int64_t, Timestamp) override { return Ok(); }
  Result<void> PutVerificationCode(const storage::VerificationCodeRecord&) override { return Ok(); }
  Result<int64_t> InsertOutbox(const storage::OutboxRecord&) override { return 0; }
  Result<int64_t> ApplyRetention(const storage::RetentionRule&) override { return int64_t{0}; }
  Result<void> SetApiKeyAllowedCidrs(ApiKeyId, const std::vector<std::string>&) override { return Ok(); }
  Result<int64_t> InsertSession(const storage::SessionRecord&) override { return int64_t{1}; }
  Result<void> UpdateSession(const storage::SessionRecord&) override { return Ok(); }
  Result<void> DeleteSession(int64_t) override { return Ok(); }
  Result<void> MarkSessionReauthenticated(int64_t, Timestamp) override { return Ok(); }
  Result<void> DeleteUserSessions(UserId) override { return Ok(); }
  Result<int64_t> InsertDevice(const storage::DeviceRecord&) override { return int64_t{1}; }
  Result<void> DeleteDevice(UserId, int64_t) override { return Ok(); }
  Result<void> DeleteUserDevices(UserId) override { return Ok(); }
  Result<void> MarkRefreshSpent(std::string_view, int64_t, Timestamp) override { return Ok(); }
  Result<void> PutMfa(const storage::MfaRecord&) override { return Ok(); }
  Result<void> DeleteMfa(UserId) override { return Ok(); }
  Result<void> ReplaceRecoveryCodes(UserId, const std::vector<std::string>&) override { return Ok(); }
  Result<void> UseRecoveryCode(int64_t, Timestamp) override { return Ok(); }
  Result<void> PutRoleSetting(const storage::RoleSettingRecord&) override { return Ok(); }
  Result<void> PutIdempotency(const storage::IdempotencyRecord&) override { return Ok(); }
  Result<void> AppendLedger(const storage::LedgerRow&) override { return Ok(); }
  Result<void> InsertCheckpoint(const storage::CheckpointRecord&) override { return Ok(); }
  Result<TeamId> InsertTeam(const storage::TeamRecord&) override { return TeamId(1); }
  Result<void> SetUserTeam(UserId, std::optional<TeamId>) override { return Ok(); }
  Result<void> PutRole(const storage::RoleRecord&) override { return Ok(); }
  Result<void> DeleteRole(std::string_view) override { return Ok(); }
  Result<void> InsertReveal(const storage::RevealRecord&) override { return Ok(); }

  int64_t customers = 0, events = 0, products = 0, orders = 0, interactions = 0;
  size_t bytes = 0;
};

class CountingStore final : public testing::RecordingStore {
 public:
  // Store
  Result<void> Write(const std::function<Result<void>(storage::WriteTxn&)>& fn) override {
    return fn(txn);
  }

  CountingTxn txn;
};

void BM_GenerateDemo(benchmark::State& state) {
  DemoOptions options;
  options.customers = state.range(0);
  options.now = FromUnixMillis(DaysFromCivil(2026, 1, 1) * 86'400'000);
  int64_t orders = 0;
  int64_t events = 0;
  bool ok = true;
  for (auto _ : state) {
    CountingStore store;
    auto summary = GenerateDemo(store, options);
    ok = ok && summary.has_value() && summary->customers == options.customers &&
         summary->orders == store.txn.orders && store.txn.customers == options.customers;
    orders = summary ? summary->orders : 0;
    events = summary ? summary->events : 0;
    benchmark::DoNotOptimize(store.txn.bytes);
  }
  if (!ok) {
    state.SkipWithError("generation gave a wrong answer");
  }
  state.SetItemsProcessed(state.iterations() * orders);
  state.counters["orders"] = static_cast<double>(orders);
  state.counters["events"] = static_cast<double>(events);
  state.counters["orders_per_customer"] =
      static_cast<double>(orders) / static_cast<double>(options.customers);
}
BENCHMARK(BM_GenerateDemo)
    ->Arg(10'000)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond);

// End to end: the demo written into a fresh SQLite file (synchronous_full off, as for bulk demo
// loads), then, untimed by the loop but reported as counters, the cold start: open the file and
// rebuild the feature store.
void BM_GenerateDemoIntoSqlite(benchmark::State& state) {
  DemoOptions options;
  options.customers = state.range(0);
  options.now = FromUnixMillis(DaysFromCivil(2026, 1, 1) * 86'400'000);
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("panorama-demo-bench-" + std::to_string(::getpid()));
  storage::StoreOptions store_options;
  store_options.path = (dir / "panorama.db").string();
  store_options.synchronous_full = false;
  int64_t orders = 0;
  std::unique_ptr<security::FieldEncryptor> crypto;
  for (auto _ : state) {
    state.PauseTiming();
    crypto.reset();
    fs::remove_all(dir);
    fs::create_directories(dir);
    crypto = testing::MakeTestCrypto((dir / "keystore.db").string(), /*durable=*/false);
    store_options.crypto = crypto.get();
    auto store = storage::OpenSqliteStore(store_options);
    if (!store) {
      state.SkipWithError(store.error().message().c_str());
      return;
    }
    state.ResumeTiming();
    auto summary = GenerateDemo(**store, options);
    if (!summary) {
      state.SkipWithError(summary.error().message().c_str());
      return;
    }
    orders = summary->orders;
  }
  state.SetItemsProcessed(state.iterations() * orders);
  state.counters["orders"] = static_cast<double>(orders);

  const auto start = std::chrono::steady_clock::now();
  auto store = storage::OpenSqliteStore(store_options);
  testing::FakeClock clock(options.now);
  features::FeatureStore features(clock);
  if (!store || !features.Rebuild(**store)) {
    state.SkipWithError("cold start failed");
    return;
  }
  const std::chrono::duration<double> cold = std::chrono::steady_clock::now() - start;
  int64_t order_count = 0;
  for (int64_t id = 1; id <= options.customers; ++id) {
    auto f = features.Get(CustomerId(id), options.now);
    order_count += f ? f->order_count : 0;
  }
  if (order_count != orders || features.size() != options.customers) {
    state.SkipWithError("feature store disagrees with the generated data");
  }
  state.counters["cold_start_s"] = cold.count();
  state.counters["db_mb"] = static_cast<double>(fs::file_size(store_options.path)) / 1e6;
  store->reset();
  fs::remove_all(dir);
}
BENCHMARK(BM_GenerateDemoIntoSqlite)
    ->Arg(10'000)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace panorama::demo

BENCHMARK_MAIN();
