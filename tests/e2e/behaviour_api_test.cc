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

  using Rows = std::vector<std::pair<std::string, int64_t>>;

  // (value, step-1 customers) of each breakdown row of a funnel answer.
  Rows BreakdownRows(const std::string& body) {
    Rows out;
    simdjson::dom::array rows = parser_.parse(body).value()["breakdown"].get_array().value();
    for (auto row : rows) {
      out.emplace_back(std::string(row["value"].get_string().value()),
                       row["steps"].at(0)["customers"].get_int64().value());
    }
    return out;
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

// Every breakdown folds values held by fewer step-1 customers than min_group_size (default 5) into
// "(other)". Three customers walk Home → …: all viewed "shoes"; Ann and Cy are in CN, Bob in GB;
// none has a city or gender, so "(none)" is one group of three.
TEST_F(BehaviourApiTest, FunnelBreakdownsFoldGroupsBelowTheMinimumSize) {
  struct Case {
    const char* breakdown;
    const char* min_group_size;  // "" for the default
    Rows expected;
  };
  const Case cases[] = {
      {"properties.category", "", {{"(other)", 3}}},
      {"properties.category", "3", {{"shoes", 3}}},
      {"country", "", {{"(other)", 3}}},
      {"country", "2", {{"CN", 2}, {"(other)", 1}}},  // Bob's GB is not named
      {"country", "1", {{"CN", 2}, {"GB", 1}}},
      {"city", "", {{"(other)", 3}}},
      {"city", "1", {{"(none)", 3}}},
      {"gender", "", {{"(other)", 3}}},
      {"gender", "4", {{"(other)", 3}}},
  };
  for (const auto& c : cases) {
    std::string body =
        std::string(R"({"steps":[{"event":"Home"},{"event":"Buy"}],"window":"1d",)") +
        R"("as_of":"2011-07-01T00:00:00Z","breakdown":")" + c.breakdown + "\"" +
        (*c.min_group_size ? std::string(R"(,"min_group_size":)") + c.min_group_size : "") + "}";

    HttpResponse r = Api("POST", "/api/v1/analytics/funnel", body);

    ASSERT_EQ(r.status, 200) << body << " " << r.body;
    EXPECT_EQ(BreakdownRows(r.body), c.expected) << body;
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

// min_group_size is a whole JSON number in 1..1000 with every breakdown (and without one).
TEST_F(BehaviourApiTest, BadMinGroupSizeIs400NamingItWithEveryBreakdown) {
  for (const char* breakdown : {"", "properties.category", "country", "city", "gender"}) {
    for (const char* bad : {"0", "-3", "2.5", "1001", "true", "\"5\"", "4294967301"}) {
      std::string body =
          std::string(R"({"steps":[{"event":"Home"},{"event":"Buy"}],"min_group_size":)") + bad +
          (*breakdown ? std::string(R"(,"breakdown":")") + breakdown + "\"" : "") + "}";

      HttpResponse r = Api("POST", "/api/v1/analytics/funnel", body);

      EXPECT_EQ(r.status, 400) << body << " " << r.body;
      EXPECT_NE(r.body.find(R"("field":"min_group_size")"), std::string::npos)
          << body << " " << r.body;
    }
  }
}

}  // namespace
}  // namespace panorama
