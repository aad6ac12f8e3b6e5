// RFM checked against an outside reference on real data (STYLE.md §7): a sample of UCI Online Retail
// (tests/fixtures/online_retail_orders.csv, attribution beside it) is imported through the real order import
// into a real SQLite store, scored by RfmService from the rebuilt feature store, and every customer's
// recency, frequency, monetary value, R, F, M and segment must equal what tests/reference/rfm_reference.py
// (pandas: groupby, rank(method="first"), qcut(5)) computes from the same file in this run. Tolerance: none.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "analytics/rfm_service.h"
#include "features/feature_store.h"
#include "ingest/csv_importer.h"
#include "storage/store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/result_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_crypto.h"

namespace panorama {
namespace {

constexpr const char* kFixture = "tests/fixtures/online_retail_orders.csv";
constexpr const char* kScript = "tests/reference/rfm_reference.py";
constexpr const char* kAsOf = "2011-12-10T00:00:00Z";  // the day after the last invoice

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A Python that has pandas: $PANORAMA_PYTHON, Debian's /usr/bin/python3 (python3-pandas), or python3 on PATH.
std::string PythonWithPandas() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("PANORAMA_PYTHON")) candidates.emplace_back(env);
  candidates.emplace_back("/usr/bin/python3");
  candidates.emplace_back("python3");
  for (const auto& python : candidates) {
    if (std::system((python + " -c 'import pandas' >/dev/null 2>&1").c_str()) == 0) return python;
  }
  return "";
}

struct Expected {
  int64_t recency_days, frequency, monetary_minor;
  int r, f, m;
  std::string segment;
};

std::map<std::string, Expected> ReadReference(const std::string& path) {
  std::map<std::string, Expected> out;
  std::istringstream in(ReadFile(path));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    std::string cell;
    while (std::getline(row, cell, ',')) cells.push_back(cell);
    if (cells.size() != 8) continue;
    out[cells[0]] = Expected{std::stoll(cells[1]), std::stoll(cells[2]), std::stoll(cells[3]), std::stoi(cells[4]),
                             std::stoi(cells[5]),  std::stoi(cells[6]),  cells[7]};
  }
  return out;
}

TEST(RfmReference, EveryCustomerMatchesPandasOnOnlineRetail) {
  const std::string python = PythonWithPandas();
  if (python.empty()) GTEST_SKIP() << "python3 with pandas is missing (scripts/setup.sh installs python3-pandas)";
  testing::TempDir dir;
  const std::string reference_csv = dir.File("reference.csv");
  ASSERT_EQ(std::system((python + " " + kScript + " " + kFixture + " " + kAsOf + " " + reference_csv).c_str()), 0);
  std::map<std::string, Expected> expected = ReadReference(reference_csv);
  ASSERT_EQ(expected.size(), 2500u);

  auto crypto = testing::MakeTestCrypto(dir.File("keystore.db"), /*durable=*/false);
  auto opened = storage::OpenSqliteStore(
      {.path = dir.File("store.db"), .crypto = crypto.get(), .synchronous_full = false});
  ASSERT_OK(opened);
  std::unique_ptr<storage::Store> store = std::move(opened).value();
  const Timestamp as_of = ParseIso8601(kAsOf).value();
  testing::FakeClock clock(as_of);
  auto report = ingest::ImportCsv(*store, ReadFile(kFixture), {.kind = ingest::ImportKind::kOrders},
                                  ExchangeRates(), as_of);
  ASSERT_OK(report);
  ASSERT_TRUE(report->errors.empty()) << report->errors.front().reason;
  features::FeatureStore features(clock);
  ASSERT_OK(features.Rebuild(*store));
  analytics::RfmService rfm(*store, features, clock);
  ASSERT_OK(rfm.Load());

  std::map<std::string, CustomerId> ids;
  int64_t after = 0;
  while (true) {
    auto page = store->ListCustomers({.after_id = after, .limit = 500});
    ASSERT_OK(page);
    if (page->empty()) break;
    for (const auto& c : *page) ids[c.external_id] = c.id;
    after = page->back().id.value();
  }
  ASSERT_EQ(ids.size(), expected.size());
  // The tie rule ranks by customer id; the script ranks by file order, which the importer turned into ids.
  CustomerId previous;
  for (const auto& [external_id, id] : ids) {
    ASSERT_GT(id.value(), previous.value()) << external_id;
    previous = id;
  }

  int checked = 0;
  for (const auto& [external_id, want] : expected) {
    auto got = rfm.Get(ids.at(external_id));
    ASSERT_TRUE(got.has_value()) << external_id;
    EXPECT_EQ(got->recency_days, want.recency_days) << external_id;
    EXPECT_EQ(got->frequency, want.frequency) << external_id;
    EXPECT_EQ(got->monetary_minor, want.monetary_minor) << external_id;
    EXPECT_EQ(got->r, want.r) << external_id;
    EXPECT_EQ(got->f, want.f) << external_id;
    EXPECT_EQ(got->m, want.m) << external_id;
    EXPECT_EQ(got->segment, want.segment) << external_id;
    ++checked;
  }
  EXPECT_EQ(checked, 2500);
  EXPECT_EQ(rfm.Summary().scored, 2500);
}

}  // namespace
}  // namespace panorama
