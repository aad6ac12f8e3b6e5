// Behaviour analytics over real HTTP: cohorts, funnels and paths on a real store, and their bad
// inputs (400 naming the field).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>

#include "app/runtime.h"
#include "storage/store.h"
#include "tests/support/http_client.h"
#include "tests/support/served_runtime.h"

namespace panorama {
namespace {

using test::HttpClient;
using test::HttpResponse;


class BehaviourApiTest : public test::ServedRuntimeTest {
 protected:
  void SetUp() override {
    ServedRuntimeTest::SetUp();
    if (HasFatalFailure()) return;
    Seed();
  }
  // Three customers: Ann (CN) buys in Jan, Feb and Apr 2011 and walks Home → Search → Buy; Bob (GB)
  // buys in Jan and Jun and walks Home → Cart; Cy (CN) buys first in Feb and walks Home → Search → Search →
  // Buy.
  void Seed() {
    auto seeded = runtime_->store().Write([&](storage::WriteTxn& txn) -> Result<void> {
      int n = 0;
      auto customer = [&](const char* name, const char* country) {
        storage::CustomerRecord c;
        c.name = name;
        c.country = country;
        c.created_at = c.updated_at = *ParseIso8601("2011-01-01");
        return txn.InsertCustomer(c);
      };
      auto order = [&](CustomerId id, const char* at) {
        storage::OrderRecord o{.customer = id,
                               .external_id = "o" + std::to_string(++n),
                               .total = {1000, "CNY"},
                               .total_base_minor = 1000,
                               .placed_at = *ParseIso8601(at)};
        return txn.InsertOrder(o);
      };
      auto events = [&](CustomerId id, int day, std::vector<const char*> names) -> Result<void> {
        int minute = 0;
        for (const char* name : names) {
          storage::EventRecord e{.customer = id,
                                 .message_id = "m" + std::to_string(++n),
                                 .type = "track",
                                 .name = name,
                                 .properties_json = R"({"category":"shoes"})",
                                 .timestamp = *ParseIso8601("2011-06-01") + std::chrono::days(day) +
                                              std::chrono::minutes(10 * minute++)};
          e.received_at = e.timestamp;
          RETURN_IF_ERROR(txn.InsertEvent(e));
        }
        return Ok();
      };
      ASSIGN_OR_RETURN(CustomerId ann, customer("Ann", "CN"));
      ASSIGN_OR_RETURN(CustomerId bob, customer("Bob", "GB"));
      ASSIGN_OR_RETURN(CustomerId cy, customer("Cy", "CN"));
      for (const char* at : {"2011-01-03", "2011-02-03", "2011-04-03"})
        RETURN_IF_ERROR(order(ann, at));
      RETURN_IF_ERROR(order(bob, "2011-01-20"));
      RETURN_IF_ERROR(order(bob, "2011-06-10"));  // in June, which is not complete on 2011-06-30
      RETURN_IF_ERROR(order(cy, "2011-02-14"));
      RETURN_IF_ERROR(events(ann, 0, {"Home", "Search", "Buy"}));
      RETURN_IF_ERROR(events(bob, 1, {"Home", "Cart"}));
      return events(cy, 2, {"Home", "Search", "Search", "Buy"});
    });
    ASSERT_TRUE(seeded.has_value()) << seeded.error().message();
  }

  std::vector<int64_t> Ints(simdjson::dom::element array) {
    std::vector<int64_t> out;
    for (auto v : array.get_array()) out.push_back(v.get_int64().value());
    return out;
  }
};

TEST_F(BehaviourApiTest, CohortsAreRetentionByFirstPurchaseMonth) {
  HttpResponse r = Api("GET", "/api/v1/analytics/cohorts?months=12&as_of=2011-06-30T00:00:00Z");

  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = parser_.parse(r.body).value();
  auto cohorts = doc["cohorts"].get_array().value();
  ASSERT_EQ(cohorts.size(), 2u);
  EXPECT_EQ(std::string(cohorts.at(0)["cohort"].get_string().value()), "2011-01");
  EXPECT_EQ(cohorts.at(0)["size"].get_int64().value(), 2);
  // Through May, the last complete month: Bob's June order is not counted yet, May is a real 0.
  EXPECT_EQ(Ints(cohorts.at(0)["active"]), (std::vector<int64_t>{2, 1, 0, 1, 0}));
  EXPECT_DOUBLE_EQ(cohorts.at(0)["retention"].at(1).get_double().value(), 0.5);
  EXPECT_EQ(Ints(cohorts.at(1)["active"]), (std::vector<int64_t>{1, 0, 0, 0}));
  EXPECT_EQ(doc["months"].get_int64().value(), 5);
  EXPECT_EQ(std::string(doc["through"].get_string().value()), "2011-05");
}

TEST_F(BehaviourApiTest, CohortsCountAMonthOnceItIsComplete) {
  HttpResponse r = Api("GET", "/api/v1/analytics/cohorts?months=12&as_of=2011-07-01T00:00:00Z");

  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = parser_.parse(r.body).value();
  EXPECT_EQ(Ints(doc["cohorts"].at(0)["active"]), (std::vector<int64_t>{2, 1, 0, 1, 0, 1}));
  EXPECT_EQ(std::string(doc["through"].get_string().value()), "2011-06");
}

// Three customers viewed "shoes": under the default minimum group size of 5 the value is not listed.
TEST_F(BehaviourApiTest, FunnelPropertyBreakdownHidesGroupsBelowTheMinimumSize) {
  const char* body = R"({"steps":[{"event":"Home"},{"event":"Buy"}],"window":"1d",
      "breakdown":"properties.category","as_of":"2011-07-01T00:00:00Z")";
  HttpResponse folded = Api("POST", "/api/v1/analytics/funnel", std::string(body) + "}");
  HttpResponse listed =
      Api("POST", "/api/v1/analytics/funnel", std::string(body) + R"(,"min_group_size":3})");

  ASSERT_EQ(folded.status, 200) << folded.body;
  auto rows = parser_.parse(folded.body).value()["breakdown"].get_array().value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(std::string(rows.at(0)["value"].get_string().value()), "(other)");
  EXPECT_EQ(rows.at(0)["steps"].at(0)["customers"].get_int64().value(), 3);
  ASSERT_EQ(listed.status, 200) << listed.body;
  auto shown = parser_.parse(listed.body).value()["breakdown"].get_array().value();
  ASSERT_EQ(shown.size(), 1u);
  EXPECT_EQ(std::string(shown.at(0)["value"].get_string().value()), "shoes");
}

// Customer attributes fold like properties: two customers in CN and one in GB. Under the default
// minimum of 5 no country is listed; with 2, CN is listed and Bob's GB is hidden in "(other)".
TEST_F(BehaviourApiTest, FunnelCountryBreakdownFoldsGroupsBelowTheMinimumSize) {
  const char* body = R"({"steps":[{"event":"Home"},{"event":"Buy"}],"window":"1d",
      "breakdown":"country","as_of":"2011-07-01T00:00:00Z")";
  HttpResponse folded = Api("POST", "/api/v1/analytics/funnel", std::string(body) + "}");
  HttpResponse two =
      Api("POST", "/api/v1/analytics/funnel", std::string(body) + R"(,"min_group_size":2})");

  ASSERT_EQ(folded.status, 200) << folded.body;
  auto rows = parser_.parse(folded.body).value()["breakdown"].get_array().value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(std::string(rows.at(0)["value"].get_string().value()), "(other)");
  EXPECT_EQ(rows.at(0)["steps"].at(0)["customers"].get_int64().value(), 3);
  EXPECT_EQ(rows.at(0)["steps"].at(1)["customers"].get_int64().value(), 2);
  ASSERT_EQ(two.status, 200) << two.body;
  auto shown = parser_.parse(two.body).value()["breakdown"].get_array().value();
  ASSERT_EQ(shown.size(), 2u);
  EXPECT_EQ(std::string(shown.at(0)["value"].get_string().value()), "CN");
  EXPECT_EQ(shown.at(0)["steps"].at(0)["customers"].get_int64().value(), 2);
  EXPECT_EQ(std::string(shown.at(1)["value"].get_string().value()), "(other)");
  EXPECT_EQ(shown.at(1)["steps"].at(0)["customers"].get_int64().value(), 1);
  EXPECT_EQ(two.body.find("\"GB\""), std::string::npos) << two.body;
}

// The seeded customers have no city or gender: "(none)" is a group like any other and folds too.
TEST_F(BehaviourApiTest, FunnelCityAndGenderBreakdownsFoldTheirGroups) {
  for (const char* attribute : {"city", "gender"}) {
    HttpResponse r = Api("POST", "/api/v1/analytics/funnel",
                         std::string(R"({"steps":[{"event":"Home"},{"event":"Buy"}],"breakdown":")") +
                             attribute + R"(","as_of":"2011-07-01T00:00:00Z"})");

    ASSERT_EQ(r.status, 200) << r.body;
    auto rows = parser_.parse(r.body).value()["breakdown"].get_array().value();
    ASSERT_EQ(rows.size(), 1u) << attribute;
    EXPECT_EQ(std::string(rows.at(0)["value"].get_string().value()), "(other)") << attribute;
  }
}

TEST_F(BehaviourApiTest, CohortsFilterByFromAndTo) {
  HttpResponse r = Api("GET", "/api/v1/analytics/cohorts?from=2011-02&to=2011-02");

  ASSERT_EQ(r.status, 200) << r.body;
  auto cohorts = parser_.parse(r.body).value()["cohorts"].get_array().value();
  ASSERT_EQ(cohorts.size(), 1u);
  EXPECT_EQ(std::string(cohorts.at(0)["cohort"].get_string().value()), "2011-02");
}

TEST_F(BehaviourApiTest, FunnelCountsCustomersPerStepWithBreakdown) {
  HttpResponse r = Api("POST", "/api/v1/analytics/funnel", R"({"steps":[
      {"event":"Home","where":{"properties.category":"shoes"}},{"event":"Search"},{"event":"Buy"}],
      "window":"1d","breakdown":"country","min_group_size":1,"as_of":"2011-07-01T00:00:00Z"})");

  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = parser_.parse(r.body).value();
  auto steps = doc["steps"].get_array().value();
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps.at(0)["customers"].get_int64().value(), 3);
  EXPECT_EQ(steps.at(1)["customers"].get_int64().value(), 2);
  EXPECT_EQ(steps.at(2)["customers"].get_int64().value(), 2);
  EXPECT_DOUBLE_EQ(steps.at(1)["conversion_from_start"].get_double().value(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(steps.at(1)["median_seconds_from_previous"].get_double().value(), 600.0);
  EXPECT_DOUBLE_EQ(steps.at(2)["median_seconds_from_previous"].get_double().value(),
                   900.0);  // 10 and 20 min
  EXPECT_TRUE(steps.at(0)["median_seconds_from_previous"].is_null());
  auto breakdown = doc["breakdown"].get_array().value();
  ASSERT_EQ(breakdown.size(), 2u);
  EXPECT_EQ(std::string(breakdown.at(0)["value"].get_string().value()), "CN");
  EXPECT_EQ(breakdown.at(0)["steps"].at(2)["customers"].get_int64().value(), 2);
}

TEST_F(BehaviourApiTest, FunnelWithoutBreakdownHasAnEmptyBreakdownAndHonoursTheWindow) {
  HttpResponse r =
      Api("POST", "/api/v1/analytics/funnel", R"({"steps":[{"event":"Home"},{"event":"Buy"}],
      "window":"15m","as_of":"2011-07-01T00:00:00Z"})");

  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = parser_.parse(r.body).value();
  EXPECT_EQ(doc["steps"].at(1)["customers"].get_int64().value(),
            0);  // Buy comes 20 and 30 minutes after Home
  EXPECT_EQ(doc["breakdown"].get_array().size(), 0u);
}

TEST_F(BehaviourApiTest, PathsListTopSequencesWithShares) {
  HttpResponse r =
      Api("GET",
          "/api/v1/analytics/paths?from_event=Home&to_event=Buy&max_steps=5&limit=10&window=7d"
          "&as_of=2011-07-01T00:00:00Z");

  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = parser_.parse(r.body).value();
  EXPECT_EQ(doc["total"].get_int64().value(), 3);
  auto paths = doc["paths"].get_array().value();
  ASSERT_EQ(paths.size(), 1u);  // Search repeated is one step; Bob never reaches Buy
  EXPECT_EQ(paths.at(0)["steps"].get_array().size(), 3u);
  EXPECT_EQ(paths.at(0)["customers"].get_int64().value(), 2);
  EXPECT_DOUBLE_EQ(paths.at(0)["share"].get_double().value(), 2.0 / 3.0);
}

TEST_F(BehaviourApiTest, BadInputIs400NamingTheField) {
  struct Case {
    const char* method;
    const char* target;
    const char* body;
    const char* field;
  };
  const Case cases[] = {
      {"GET", "/api/v1/analytics/cohorts?months=121", "", "months"},
      {"GET", "/api/v1/analytics/cohorts?months=abc", "", "months"},
      {"GET", "/api/v1/analytics/cohorts?from=2011-05&to=2011-01", "", "from"},
      {"GET", "/api/v1/analytics/cohorts?from=2011-13", "", "from"},
      {"GET", "/api/v1/analytics/cohorts?as_of=yesterday", "", "as_of"},
      {"POST", "/api/v1/analytics/funnel",
       R"({"steps":[{"event":"Home"},{"event":"Buy"}],"breakdown":"properties.category","min_group_size":0})",
       "min_group_size"},
      {"POST", "/api/v1/analytics/funnel",
       R"({"steps":[{"event":"Home"},{"event":"Buy"}],"min_group_size":1001})", "min_group_size"},
      {"POST", "/api/v1/analytics/funnel",
       R"({"steps":[{"event":"Home"},{"event":"Buy"}],"min_group_size":"5"})", "min_group_size"},
      {"POST", "/api/v1/analytics/funnel",
       R"({"steps":[{"event":"Home"},{"event":"Buy"}],"breakdown":"country","min_group_size":0})",
       "min_group_size"},
      {"POST", "/api/v1/analytics/funnel",
       R"({"steps":[{"event":"Home"},{"event":"Buy"}],"breakdown":"city","min_group_size":-3})",
       "min_group_size"},
      {"POST", "/api/v1/analytics/funnel",
       R"({"steps":[{"event":"Home"},{"event":"Buy"}],"breakdown":"gender","min_group_size":2.5})",
       "min_group_size"},
      {"POST", "/api/v1/analytics/funnel",
       R"({"steps":[{"event":"Home"},{"event":"Buy"}],"breakdown":"country","min_group_size":1001})",
       "min_group_size"},
      {"POST", "/api/v1/analytics/funnel",
       R"({"steps":[{"event":"Home"},{"event":"Buy"}],"breakdown":"city","min_group_size":true})",
       "min_group_size"},
      {"POST", "/api/v1/analytics/funnel",
       R"({"steps":[{"event":"Home"},{"event":"Buy"}],"min_group_size":4294967301})",
       "min_group_size"},
      {"POST", "/api/v1/analytics/funnel", R"({"steps":[{"event":"Home"}],"window":"7d"})",
       "steps"},
      {"POST", "/api/v1/analytics/funnel",
       R"({"steps":[{"event":"a"},{"event":"b"},{"event":"c"},{"event":"d"},{"event":"e"},{"event":"f"},
           {"event":"g"},{"event":"h"},{"event":"i"},{"event":"j"},{"event":"k"}]})",
       "steps"},
      {"POST", "/api/v1/analytics/funnel",
       R"({"steps":[{"event":"Home"},{"event":"Buy"}],"window":"7x"})", "window"},
      {"POST", "/api/v1/analytics/funnel",
       R"({"steps":[{"event":"Home"},{"event":"Buy"}],"breakdown":"email"})", "breakdown"},
      {"POST", "/api/v1/analytics/funnel",
       R"({"steps":[{"event":"Home"},{"event":"Buy"}],"from":"2011-06-02","to":"2011-06-01"})",
       "from"},
      {"POST", "/api/v1/analytics/funnel", R"({"steps":[{"event":"Home"},{"event":""}]})",
       "steps[1].event"},
      {"POST", "/api/v1/analytics/funnel",
       R"({"steps":[{"event":"Home","where":{"properties.x":[1]}},{"event":"B"}]})",
       "steps[0].where"},
      {"POST", "/api/v1/analytics/funnel",
       R"({"steps":[{"event":"Home"},{"event":"B"}],"colour":"red"})", "colour"},
      {"POST", "/api/v1/analytics/funnel", "not json", "body"},
      {"GET", "/api/v1/analytics/paths", "", "from_event"},
      {"GET", "/api/v1/analytics/paths?from_event=Home&max_steps=21", "", "max_steps"},
      {"GET", "/api/v1/analytics/paths?from_event=Home&limit=0", "", "limit"},
      {"GET", "/api/v1/analytics/paths?from_event=Home&window=7x", "", "window"},
  };
  for (const auto& c : cases) {
    HttpResponse r = Api(c.method, c.target, c.body);

    EXPECT_EQ(r.status, 400) << c.target << " " << r.body;
    EXPECT_NE(r.body.find(std::string("\"field\":\"") + c.field + "\""), std::string::npos)
        << c.target << " " << r.body;
  }
}

}  // namespace
}  // namespace panorama
