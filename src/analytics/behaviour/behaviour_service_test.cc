// The behaviour service over a real SQLite store, checked against pandas / plain-Python references
// (tests/reference/) on the UCI Online Retail subset and on generated events.

#include "analytics/behaviour/behaviour_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include "storage/store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/result_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_crypto.h"

namespace panorama::behaviour {
namespace {

using std::chrono::hours;

// Debian's interpreter has python3-pandas (scripts/setup.sh); a pyenv shim earlier on PATH may not.
std::string Python() {
  return std::ifstream("/usr/bin/python3").good() ? "/usr/bin/python3" : "python3";
}

std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr)
    return out;
  char buffer[4096];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  int status = pclose(pipe);
  if (status != 0)
    out = "command failed: " + command;
  return out;
}

using Rows = std::vector<std::pair<std::string, int64_t>>;

// The breakdown rows a funnel should show for step-1 customers per value (`counts`, "(none)" for a
// missing value): values with at least `min_size` customers, most first (ties by value, as the map
// orders them), then one "(other)" row with the rest. Derived from the counts, not written out.
Rows ExpectedRows(const std::map<std::string, int64_t>& counts, int min_size) {
  Rows expected;
  int64_t other = 0;
  for (const auto& [value, count] : counts) {
    if (count >= min_size) {
      expected.emplace_back(value, count);
    } else {
      other += count;
    }
  }
  std::stable_sort(expected.begin(), expected.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (other > 0) {
    expected.emplace_back("(other)", other);
  }
  return expected;
}

// (value, step-1 customers) of each breakdown row.
Rows ShownRows(const FunnelResult& result) {
  Rows shown;
  for (const auto& row : result.breakdown) {
    shown.emplace_back(row.value, row.steps[0].customers);
  }
  return shown;
}

class BehaviourServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto_ = testing::MakeTestCrypto(dir_.File("keystore.db"));
    store_ = std::move(storage::OpenSqliteStore({.path = dir_.File("b.db"),
                                                 .crypto = crypto_.get(),
                                                 .synchronous_full = false}))
                 .value();
  }

  CustomerId AddCustomer(storage::WriteTxn& txn, const std::string& country = "") {
    storage::CustomerRecord c;
    c.country = country;
    c.created_at = c.updated_at = FromUnixMillis(0);
    return txn.InsertCustomer(c).value();
  }

  BehaviourService Service() { return BehaviourService(*store_, clock_); }

  testing::TempDir dir_;
  std::unique_ptr<security::FieldEncryptor> crypto_;
  std::unique_ptr<storage::Store> store_;
  testing::FakeClock clock_{*ParseIso8601("2012-01-01")};
};

// Cohorts: the UCI Online Retail subset, one order per invoice, against the pandas reference cell
// by cell.
class BehaviourServiceRetailTest : public BehaviourServiceTest {
 protected:
  static constexpr const char* kFixture = "tests/fixtures/online_retail_cohorts.csv.xz";

  void LoadOnlineRetail() {
    // Decompressed by the same Python the reference uses (no xz-utils needed).
    std::istringstream csv(RunCommand(
        Python() +
        " -c 'import lzma, sys; sys.stdout.write(lzma.open(sys.argv[1], \"rt\").read())' " +
        kFixture));
    std::map<int64_t, CustomerId> customers;
    std::string line;
    int64_t orders = 0;
    ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
      while (std::getline(csv, line)) {
        if (line.empty() || line[0] == '#' || line.rfind("InvoiceNo", 0) == 0)
          continue;
        std::vector<std::string> f;
        std::stringstream fields(line);
        for (std::string cell; std::getline(fields, cell, ',');) f.push_back(cell);
        int64_t source_id = std::stoll(f.at(2));
        if (!customers.count(source_id))
          customers[source_id] = AddCustomer(txn);
        storage::OrderRecord o;
        o.customer = customers[source_id];
        o.external_id = f[0];
        o.total = {std::stoll(f[3]), "GBP"};
        o.total_base_minor = o.total.minor;
        ASSIGN_OR_RETURN(o.placed_at, ParseIso8601(f[1]));
        RETURN_IF_ERROR(txn.InsertOrder(o));
        ++orders;
      }
      return Ok();
    }));
    ASSERT_GT(orders, 4000);
  }

  static std::string Reference(const std::string& as_of) {
    return RunCommand(Python() + " tests/reference/cohorts_reference.py " + kFixture + " " + as_of);
  }

  static std::string Text(const CohortMatrix& matrix) {
    std::ostringstream ours;
    for (const auto& row : matrix.cohorts) {
      ours << FormatMonth(row.cohort) << ' ' << row.size;
      for (int64_t active : row.active) ours << ' ' << active;
      ours << '\n';
    }
    return ours.str();
  }
};

TEST_F(BehaviourServiceRetailTest, CohortMatrixEqualsThePandasReferenceOnOnlineRetail) {
  LoadOnlineRetail();
  std::string reference = Reference("2012-01-01T00:00:00Z");

  auto matrix = Service().Cohorts({.months = 120, .as_of = *ParseIso8601("2012-01-01T00:00:00Z")});

  ASSERT_OK(matrix);
  EXPECT_EQ(Text(*matrix), reference);
  EXPECT_EQ(matrix->cohorts.size(), 13u);  // 2010-12 .. 2011-12
  EXPECT_EQ(matrix->months, 13);
  EXPECT_EQ(FormatMonth(matrix->through.value()), "2011-12");
}

// As of the middle of a month, that month is not complete: its orders (and its new cohort) are left
// out in both implementations rather than shown as a drop in retention.
TEST_F(BehaviourServiceRetailTest, CohortMatrixLeavesOutThePartialMonthLikeThePandasReference) {
  LoadOnlineRetail();
  std::string reference = Reference("2011-09-15T12:00:00Z");

  auto matrix = Service().Cohorts({.months = 120, .as_of = *ParseIso8601("2011-09-15T12:00:00Z")});

  ASSERT_OK(matrix);
  EXPECT_EQ(Text(*matrix), reference);
  EXPECT_EQ(FormatMonth(matrix->cohorts.back().cohort), "2011-08");
  EXPECT_EQ(matrix->months, 9);  // 2010-12 .. 2011-08
  EXPECT_EQ(FormatMonth(matrix->through.value()), "2011-08");
}

TEST_F(BehaviourServiceTest, CohortsIgnoreOrdersAfterAsOfAndOtherStatuses) {
  ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
    CustomerId a = AddCustomer(txn);
    int n = 0;
    for (const char* at : {"2011-01-10", "2011-02-10", "2011-03-10"}) {
      storage::OrderRecord o{.customer = a,
                             .external_id = "o" + std::to_string(++n),
                             .total = {100, "CNY"},
                             .total_base_minor = 100,
                             .placed_at = *ParseIso8601(at)};
      RETURN_IF_ERROR(txn.InsertOrder(o));
    }
    storage::OrderRecord cancelled{.customer = AddCustomer(txn),
                                   .external_id = "c1",
                                   .total = {100, "CNY"},
                                   .total_base_minor = 100,
                                   .status = "cancelled",
                                   .placed_at = *ParseIso8601("2011-01-05")};
    RETURN_IF_ERROR(txn.InsertOrder(cancelled));
    return Ok();
  }));

  auto matrix = Service().Cohorts({.as_of = *ParseIso8601("2011-03-05")});

  ASSERT_OK(matrix);
  ASSERT_EQ(matrix->cohorts.size(), 1u);
  EXPECT_EQ(matrix->cohorts[0].size, 1);
  EXPECT_EQ(matrix->cohorts[0].active, (std::vector<int64_t>{1, 1}));  // March is not complete
}

TEST_F(BehaviourServiceTest, CohortRowsRunToTheLastCompleteMonthEvenWithoutOrders) {
  ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
    CustomerId a = AddCustomer(txn);
    storage::OrderRecord o{.customer = a,
                           .external_id = "o1",
                           .total = {100, "CNY"},
                           .total_base_minor = 100,
                           .placed_at = *ParseIso8601("2011-01-10")};
    RETURN_IF_ERROR(txn.InsertOrder(o));
    return Ok();
  }));

  auto matrix = Service().Cohorts({.as_of = *ParseIso8601("2011-04-01T00:00:00Z")});

  ASSERT_OK(matrix);
  ASSERT_EQ(matrix->cohorts.size(), 1u);
  EXPECT_EQ(matrix->cohorts[0].active, (std::vector<int64_t>{1, 0, 0}));  // through March
  EXPECT_EQ(FormatMonth(matrix->through.value()), "2011-03");
}

TEST_F(BehaviourServiceTest, RejectsBadCohortQueriesNamingTheField) {
  EXPECT_FIELD_ERROR(Service().Cohorts({.months = 121}), "months");
  EXPECT_FIELD_ERROR(Service().Cohorts({.months = 0}), "months");
  EXPECT_FIELD_ERROR(Service().Cohorts({.from = 24'140, .to = 24'139}), "from");
}

// Funnels: generated events with same-timestamp ties, repeats, out-of-window steps and a property
// filter, against the plain-Python reference.
TEST_F(BehaviourServiceTest, FunnelEqualsThePythonReferenceOnGeneratedEvents) {
  std::mt19937_64 rng(42);
  const char* names[] = {"View", "Cart", "Buy", "Other"};
  const char* categories[] = {"shoes", "hats", ""};
  std::ofstream csv(dir_.File("events.csv"));
  csv << "customer,ts_ms,id,name,category\n";
  const int64_t base = ToUnixMillis(*ParseIso8601("2011-06-01"));
  ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
    for (int c = 0; c < 300; ++c) {
      CustomerId id = AddCustomer(txn);
      int count = static_cast<int>(rng() % 14);
      for (int e = 0; e < count; ++e) {
        // Whole hours over 4 days, so ties and window edges (48 h) happen often.
        int64_t ts = base + static_cast<int64_t>(rng() % 96) * 3'600'000;
        storage::EventRecord ev;
        ev.customer = id;
        ev.message_id = std::to_string(c) + "-" + std::to_string(e);
        ev.type = "track";
        ev.name = names[rng() % 4];
        std::string category = categories[rng() % 3];
        ev.properties_json = category.empty() ? "{}" : R"({"category":")" + category + R"("})";
        ev.timestamp = ev.received_at = FromUnixMillis(ts);
        ASSIGN_OR_RETURN(EventId event_id, txn.InsertEvent(ev));
        csv << id.value() << ',' << ts << ',' << event_id.value() << ',' << ev.name << ','
            << category << '\n';
      }
    }
    return Ok();
  }));
  csv.close();
  FunnelQuery query;
  query.steps = {
      {"View", {{"properties.category", "shoes"}}}, {"Cart", {}}, {"View", {}}, {"Buy", {}}};
  query.window = hours(48);
  query.from = FromUnixMillis(base + 12 * 3'600'000);
  query.to = FromUnixMillis(base + 96 * 3'600'000);
  std::string reference = RunCommand(
      Python() + " tests/reference/funnel_reference.py " + dir_.File("events.csv") + " " +
      std::to_string(48 * 3'600'000) + " " + std::to_string(ToUnixMillis(*query.from)) + " " +
      std::to_string(ToUnixMillis(*query.to)) + " View:category=shoes Cart View Buy");

  auto result = Service().Funnel(query);

  ASSERT_OK(result);
  std::ostringstream ours;
  for (const auto& step : result->steps) {
    ours << step.customers << ' ';
    if (step.median_seconds_from_previous) {
      char text[64];
      std::snprintf(text, sizeof(text), "%.1f", *step.median_seconds_from_previous);
      ours << text << '\n';
    } else {
      ours << "none\n";
    }
  }
  EXPECT_EQ(ours.str(), reference);
  EXPECT_GT(result->steps[0].customers, 10);  // the data exercises the funnel
  EXPECT_GT(result->steps[3].customers, 0);
}

TEST_F(BehaviourServiceTest, FunnelBreaksDownByCustomerAttributeAndReadsNumericProperties) {
  ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
    int n = 0;
    for (const char* country : {"CN", "CN", "GB", ""}) {
      CustomerId id = AddCustomer(txn, country);
      for (const char* name : {"View", "Buy"}) {
        storage::EventRecord ev{
            .customer = id,
            .message_id = "m" + std::to_string(++n),
            .type = "track",
            .name = name,
            .properties_json = R"({"size":42,"gift":true})",
            .timestamp = *ParseIso8601("2011-06-01T10:00:00Z") + std::chrono::minutes(n)};
        ev.received_at = ev.timestamp;
        RETURN_IF_ERROR(txn.InsertEvent(ev));
      }
    }
    return Ok();
  }));
  FunnelQuery query;
  query.steps = {{"View", {{"properties.size", "42"}, {"properties.gift", "1"}}}, {"Buy", {}}};
  query.breakdown = "country";
  query.min_group_size = 1;  // every value listed: this test is about the attribute and the filters

  auto result = Service().Funnel(query);

  ASSERT_OK(result);
  EXPECT_EQ(result->steps[1].customers, 4);
  ASSERT_EQ(result->breakdown.size(), 3u);
  EXPECT_EQ(result->breakdown[0].value, "CN");
  EXPECT_EQ(result->breakdown[0].steps[1].customers, 2);
  EXPECT_EQ(result->breakdown[1].value, "(none)");
  EXPECT_EQ(result->breakdown[2].value, "GB");
}

// A free-form property breakdown hides rare values: groups under min_group_size (default 5) become
// "(other)"; the expected rows are derived from the generated counts, not written out.
TEST_F(BehaviourServiceTest, FunnelPropertyBreakdownFoldsSmallGroupsIntoOther) {
  const std::vector<std::pair<std::string, int>> sources = {
      {"ads", 7}, {"mail", 5}, {"partner", 4}, {"ref-ann-1984", 1}, {"", 2}};
  ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
    int n = 0;
    for (const auto& [source, count] : sources) {
      for (int i = 0; i < count; ++i) {
        CustomerId id = AddCustomer(txn);
        storage::EventRecord ev{
            .customer = id,
            .message_id = "m" + std::to_string(++n),
            .type = "track",
            .name = "View",
            .properties_json = source.empty() ? "{}" : R"({"source":")" + source + R"("})",
            .timestamp = *ParseIso8601("2011-06-01T10:00:00Z") + std::chrono::minutes(n)};
        ev.received_at = ev.timestamp;
        RETURN_IF_ERROR(txn.InsertEvent(ev));
      }
    }
    return Ok();
  }));
  FunnelQuery query;
  query.steps = {{"View", {}}, {"Buy", {}}};
  query.breakdown = "properties.source";

  std::map<std::string, int64_t> counts;
  for (const auto& [source, count] : sources) {
    counts[source.empty() ? "(none)" : source] += count;
  }

  for (int min_size : {kDefaultMinGroupSize, 1, 8}) {
    query.min_group_size = min_size;

    auto result = Service().Funnel(query);

    ASSERT_OK(result);
    EXPECT_EQ(ShownRows(*result), ExpectedRows(counts, min_size)) << "min_group_size " << min_size;
  }
}

// A customer-attribute breakdown (country, city, gender) folds small groups like a property one:
// the one customer in a small city must not show as its own row. Expected rows are derived from the
// generated counts for each attribute and several minimum sizes, not written out.
TEST_F(BehaviourServiceTest, FunnelAttributeBreakdownsFoldSmallGroupsIntoOther) {
  struct Group {
    const char* country;
    const char* city;
    const char* gender;
    int count;
  };
  const std::vector<Group> groups = {{"CN", "上海", "female", 7},
                                     {"CN", "杭州", "male", 5},
                                     {"GB", "Leeds", "male", 3},
                                     {"US", "Boston", "other", 1},
                                     {"", "", "", 2}};
  ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
    int n = 0;
    for (const auto& g : groups) {
      for (int i = 0; i < g.count; ++i) {
        storage::CustomerRecord c;
        c.country = g.country;
        c.city = g.city;
        c.gender = g.gender;
        c.created_at = c.updated_at = FromUnixMillis(0);
        ASSIGN_OR_RETURN(CustomerId id, txn.InsertCustomer(c));
        storage::EventRecord ev{
            .customer = id,
            .message_id = "m" + std::to_string(++n),
            .type = "track",
            .name = "View",
            .properties_json = "{}",
            .timestamp = *ParseIso8601("2011-06-01T10:00:00Z") + std::chrono::minutes(n)};
        ev.received_at = ev.timestamp;
        RETURN_IF_ERROR(txn.InsertEvent(ev));
      }
    }
    return Ok();
  }));

  for (const std::string attribute : {"country", "city", "gender"}) {
    std::map<std::string, int64_t> counts;
    for (const auto& g : groups) {
      std::string value = attribute == "country" ? g.country
                          : attribute == "city"  ? g.city
                                                 : g.gender;
      counts[value.empty() ? "(none)" : value] += g.count;
    }
    for (int min_size : {kDefaultMinGroupSize, 1, 6, 13}) {
      FunnelQuery query;
      query.steps = {{"View", {}}, {"Buy", {}}};
      query.breakdown = attribute;
      query.min_group_size = min_size;

      auto result = Service().Funnel(query);

      ASSERT_OK(result);
      Rows shown = ShownRows(*result);
      EXPECT_EQ(shown, ExpectedRows(counts, min_size))
          << attribute << " min_group_size " << min_size;
      for (const auto& [value, customers] : shown) {
        if (value != "(other)") {
          EXPECT_GE(customers, min_size) << attribute << " lists " << value;
        }
      }
    }
  }
}

TEST_F(BehaviourServiceTest, RejectsBadFunnelQueriesNamingTheField) {
  FunnelQuery one;
  one.steps = {{"View", {}}};
  FunnelQuery eleven;
  eleven.steps.assign(11, {"View", {}});
  FunnelQuery bad_breakdown;
  bad_breakdown.steps = {{"View", {}}, {"Buy", {}}};
  bad_breakdown.breakdown = "email";
  FunnelQuery bad_where = bad_breakdown;
  bad_where.breakdown.clear();
  bad_where.steps[1].where = {{"category", "x"}};
  FunnelQuery reversed = bad_where;
  reversed.steps[1].where.clear();
  reversed.from = *ParseIso8601("2011-02-01");
  reversed.to = *ParseIso8601("2011-01-01");

  EXPECT_FIELD_ERROR(Service().Funnel(one), "steps");
  EXPECT_FIELD_ERROR(Service().Funnel(eleven), "steps");
  EXPECT_FIELD_ERROR(Service().Funnel(bad_breakdown), "breakdown");
  EXPECT_FIELD_ERROR(Service().Funnel(bad_where), "steps[1].where");
  EXPECT_FIELD_ERROR(Service().Funnel(reversed), "from");
  for (const char* breakdown : {"properties.source", "country", "city", "gender", ""}) {
    for (int bad : {0, -1, 1001, std::numeric_limits<int>::min()}) {
      FunnelQuery small = bad_where;
      small.steps[1].where.clear();
      small.breakdown = breakdown;
      small.min_group_size = bad;
      SCOPED_TRACE(std::string(breakdown) + " " + std::to_string(bad));
      EXPECT_FIELD_ERROR(Service().Funnel(small), "min_group_size");
    }
  }
}

TEST_F(BehaviourServiceTest, PathsFollowEachCustomersEventsAndSkipMergedAwayRecords) {
  ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
    int n = 0;
    auto add = [&](CustomerId id, std::vector<const char*> names) -> Result<void> {
      for (const char* name : names) {
        storage::EventRecord ev{.customer = id,
                                .message_id = "m" + std::to_string(++n),
                                .type = "track",
                                .name = name,
                                .timestamp = *ParseIso8601("2011-06-01") + std::chrono::minutes(n)};
        ev.received_at = ev.timestamp;
        RETURN_IF_ERROR(txn.InsertEvent(ev));
      }
      return Ok();
    };
    CustomerId a = AddCustomer(txn);
    CustomerId b = AddCustomer(txn);
    CustomerId c = AddCustomer(txn);
    RETURN_IF_ERROR(add(a, {"Home", "Search", "Search", "Buy"}));
    RETURN_IF_ERROR(add(b, {"Home", "Search", "Buy"}));
    RETURN_IF_ERROR(add(c, {"Home", "Cart", "Buy"}));
    // c merges into a: its events move to a, so a has two paths and c is gone.
    return txn.MergeCustomers(
        {.from = c, .into = a, .reason = "test", .at = *ParseIso8601("2011-07-01")});
  }));

  auto result = Service().Paths({.from_event = "Home", .to_event = "Buy"});

  ASSERT_OK(result);
  EXPECT_EQ(result->total, 2);
  ASSERT_EQ(result->paths.size(), 2u);
  EXPECT_EQ(result->paths[0].steps, (std::vector<std::string>{"Home", "Search", "Buy"}));
  EXPECT_EQ(result->paths[0].customers, 2);
  EXPECT_EQ(result->paths[1].customers, 1);
  EXPECT_FIELD_ERROR(Service().Paths({.from_event = ""}), "from_event");
  EXPECT_FIELD_ERROR(Service().Paths({.from_event = "Home", .max_steps = 21}), "max_steps");
  EXPECT_FIELD_ERROR(Service().Paths({.from_event = "Home", .limit = 0}), "limit");
}

}  // namespace
}  // namespace panorama::behaviour
