// RFM and lifecycle over real HTTP (docs/api.md "RFM and lifecycle"): summary and per-customer scores against
// an explicit as_of, the score map and thresholds with their bad inputs (400 naming the field, nothing
// changed, the good ones audited), month-end history, the 360° sections, and rescoring on a new order.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>
#include <string>

#include "app/runtime.h"
#include "storage/store.h"
#include "tests/support/http_client.h"
#include "tests/support/served_runtime.h"

namespace panorama {
namespace {

using test::HttpClient;
using test::HttpResponse;

constexpr const char* kAsOf = "2011-12-10T00:00:00Z";

class AnalyticsApiTest : public test::ServedRuntimeTest {
 protected:
  void SetUp() override {
    ServedRuntimeTest::SetUp();
    if (HasFatalFailure()) return;
    // Customer i (1..10) ordered i times, last on 2011-11-(30 − i), 1000 CNY minor each: the most recent
    // orders least, so recency and frequency run opposite ways.
    for (int i = 1; i <= 10; ++i) {
      ids_.push_back(CreateCustomer("C" + std::to_string(i)));
      for (int k = 0; k < i; ++k) {
        AddOrder(ids_.back(), "2011-" + std::string(k == 0 ? "11-" : "10-") + Two(k == 0 ? 30 - i : k) + "T10:00:00Z",
                 1000);
      }
    }
    prospect_ = CreateCustomer("P");
  }
  static std::string Two(int v) { return (v < 10 ? "0" : "") + std::to_string(v); }
  int64_t CreateCustomer(const std::string& name) {
    HttpResponse created = Api("POST", "/api/v1/customers", R"({"name":")" + name + "\"}");
    EXPECT_EQ(created.status, 201) << created.body;
    return parser_.parse(created.body).value()["id"].get_int64().value();
  }
  void AddOrder(int64_t customer, const std::string& at, int64_t total) {
    HttpResponse r = Api("POST", "/api/v1/orders",
                         R"({"customer_id":)" + std::to_string(customer) + R"(,"order_id":"SO-)" +
                             std::to_string(++order_seq_) + R"(","placed_at":")" + at +
                             R"(","currency":"CNY","total_minor":)" + std::to_string(total) + "}");
    ASSERT_EQ(r.status, 201) << r.body;
  }
  // The violation fields of a problem+json body.
  std::vector<std::string> Fields(const HttpResponse& r) {
    std::vector<std::string> out;
    auto errors = parser_.parse(r.body).value()["errors"];
    if (errors.error() != simdjson::SUCCESS) return out;
    simdjson::dom::array list = errors.get_array().value();
    for (simdjson::dom::element e : list) out.emplace_back(e["field"].get_string().value());
    return out;
  }
  int64_t LedgerEntries(const std::string& action) {
    int64_t n = 0;
    auto scanned = runtime_->store().ScanLedger(0, [&](const storage::LedgerRow& row) {
      if (row.body.find("\"" + action + "\"") != std::string::npos) ++n;
    });
    EXPECT_TRUE(scanned.has_value());
    return n;
  }

  std::vector<int64_t> ids_;
  int64_t prospect_ = 0;
  int order_seq_ = 0;
};

TEST_F(AnalyticsApiTest, RfmSummaryHasGridSegmentsAndCuts) {
  HttpResponse r = Api("GET", std::string("/api/v1/rfm?as_of=") + kAsOf);

  ASSERT_EQ(r.status, 200) << r.body;
  auto json = Json(r);
  EXPECT_EQ(std::string(json["as_of"].get_string().value()), "2011-12-10T00:00:00.000Z");
  EXPECT_EQ(std::string(json["currency"].get_string().value()), "CNY");
  EXPECT_EQ(json["customers"].get_int64().value(), 11);
  EXPECT_EQ(json["scored"].get_int64().value(), 10);
  EXPECT_EQ(json["grid"].get_array().size(), 25u);
  int64_t in_grid = 0, revenue = 0;
  simdjson::dom::array grid = json["grid"].get_array().value();
  for (simdjson::dom::element cell : grid) {
    in_grid += cell["customers"].get_int64().value();
    revenue += cell["revenue_minor"].get_int64().value();
  }
  EXPECT_EQ(in_grid, 10);
  EXPECT_EQ(revenue, 55 * 1000);
  EXPECT_EQ(json["segments"].get_array().size(), 11u);
  EXPECT_EQ(std::string(json["segments"].at(0)["name"].get_string().value()), "Champions");
  auto frequency_cuts = json["cuts"]["frequency"].get_array();
  ASSERT_EQ(frequency_cuts.size(), 4u);
  EXPECT_EQ(frequency_cuts.at(0).get_int64().value(), 2);
  EXPECT_EQ(frequency_cuts.at(3).get_int64().value(), 8);
}

TEST_F(AnalyticsApiTest, CustomerRfmScoresNullsAnd404) {
  std::string as_of = std::string("?as_of=") + kAsOf;

  HttpResponse top = Api("GET", "/api/v1/customers/" + std::to_string(ids_[9]) + "/rfm" + as_of);
  HttpResponse none = Api("GET", "/api/v1/customers/" + std::to_string(prospect_) + "/rfm" + as_of);
  HttpResponse unknown = Api("GET", "/api/v1/customers/999999/rfm" + as_of);
  HttpResponse bad = Api("GET", "/api/v1/customers/" + std::to_string(ids_[0]) + "/rfm?as_of=yesterday");

  ASSERT_EQ(top.status, 200) << top.body;
  auto json = Json(top);
  EXPECT_EQ(json["frequency"].get_int64().value(), 10);
  EXPECT_EQ(json["monetary_minor"].get_int64().value(), 10000);
  EXPECT_EQ(json["recency_days"].get_int64().value(), 19);  // 2011-11-20T10:00 → 2011-12-10
  EXPECT_EQ(std::string(json["score"].get_string().value()), "155");
  EXPECT_EQ(std::string(json["segment"].get_string().value()), "Can't Lose");
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_TRUE(Json(none)["r"].is_null());
  EXPECT_TRUE(Json(none)["segment"].is_null());
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(Fields(bad), std::vector<std::string>{"as_of"});
}

TEST_F(AnalyticsApiTest, ScoreMapPutIsStoredAuditedAndApplied) {
  const std::string map =
      R"({"rules":[{"segment":"Whales","r":[1,5],"f":[1,5],"m":[5,5]},{"segment":"Rest","r":[1,5],"f":[1,5],"m":[1,4]}],"default_segment":"Rest"})";
  int64_t before = LedgerEntries("analytics.setting");

  HttpResponse put = Api("PUT", "/api/v1/rfm/score-map", map);
  HttpResponse get = Api("GET", "/api/v1/rfm/score-map");
  HttpResponse summary = Api("POST", std::string("/api/v1/rfm/recompute"));

  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(get.body, put.body);
  EXPECT_EQ(LedgerEntries("analytics.setting"), before + 1);
  ASSERT_EQ(summary.status, 200) << summary.body;
  auto segments = Json(summary)["segments"].get_array();
  ASSERT_EQ(segments.size(), 2u);
  EXPECT_EQ(std::string(segments.at(0)["name"].get_string().value()), "Whales");
  EXPECT_EQ(segments.at(0)["customers"].get_int64().value(), 2);
}

TEST_F(AnalyticsApiTest, BadScoreMapsAre400NamingTheFieldAndChangeNothing) {
  HttpResponse original = Api("GET", "/api/v1/rfm/score-map");
  int64_t before = LedgerEntries("analytics.setting");
  struct Case {
    std::string body;
    std::string field;
  };
  const std::string tail = R"(],"default_segment":"X"})";
  std::vector<Case> cases = {
      {R"({"rules":[{"segment":"A","r":[0,5],"f":[1,5],"m":[1,5]})" + tail, "rules[0].r"},
      {R"({"rules":[{"segment":"A","r":[1,5],"f":[4,2],"m":[1,5]})" + tail, "rules[0].f"},
      {R"({"rules":[{"segment":"A","r":[1,5],"f":[1,5],"m":"high"})" + tail, "rules[0].m"},
      {R"({"rules":[{"segment":"A","r":[1,5],"f":[1,5]})" + tail, "rules[0].m"},
      {R"({"rules":[{"segment":"","r":[1,5],"f":[1,5],"m":[1,5]})" + tail, "rules[0].segment"},
      {R"({"rules":[{"segment":"A","r":[1,5],"f":[1,5],"m":[1,5],"x":1})" + tail, "rules[0].x"},
      {R"({"rules":[],"default_segment":"X"})", "rules"},
      {R"({"rules":{},"default_segment":"X"})", "rules"},
      {R"({"rules":[{"segment":"A","r":[1,5],"f":[1,5],"m":[1,5]}]})", "default_segment"},
      {"not json", "body"},
  };

  for (const Case& c : cases) {
    HttpResponse r = Api("PUT", "/api/v1/rfm/score-map", c.body);

    EXPECT_EQ(r.status, 400) << c.body << " → " << r.body;
    auto fields = Fields(r);
    EXPECT_NE(std::find(fields.begin(), fields.end(), c.field), fields.end()) << c.body << " → " << r.body;
  }
  EXPECT_EQ(Api("GET", "/api/v1/rfm/score-map").body, original.body);
  EXPECT_EQ(LedgerEntries("analytics.setting"), before);
}

TEST_F(AnalyticsApiTest, LifecycleStagesInOrderWithThresholds) {
  HttpResponse r = Api("GET", std::string("/api/v1/lifecycle?as_of=") + kAsOf);

  ASSERT_EQ(r.status, 200) << r.body;
  simdjson::dom::array stages = Json(r)["stages"].get_array().value();
  ASSERT_EQ(stages.size(), 6u);
  std::vector<std::string> names;
  int64_t total = 0;
  for (simdjson::dom::element s : stages) {
    names.emplace_back(s["stage"].get_string().value());
    total += s["customers"].get_int64().value();
  }
  EXPECT_EQ(names, (std::vector<std::string>{"prospect", "new", "active", "loyal", "at_risk", "churned"}));
  EXPECT_EQ(total, 11);
  EXPECT_EQ(stages.at(0)["customers"].get_int64().value(), 1);
  // Customer 1 ordered once, on 2011-11-29, 10 days before as_of: new.
  EXPECT_EQ(stages.at(1)["customers"].get_int64().value(), 1);
  EXPECT_EQ(Json(r)["thresholds"]["active_days"].get_int64().value(), 90);
}

TEST_F(AnalyticsApiTest, LifecycleHistoryCountsMonthEndsAndRejectsBadRanges) {
  HttpResponse r = Api("GET", "/api/v1/lifecycle/history?from=2011-09&to=2011-11");
  HttpResponse reversed = Api("GET", "/api/v1/lifecycle/history?from=2011-11&to=2011-09");
  HttpResponse too_long = Api("GET", "/api/v1/lifecycle/history?from=2000-01&to=2011-01");
  HttpResponse bad_month = Api("GET", "/api/v1/lifecycle/history?from=2011-13&to=2011-12");

  ASSERT_EQ(r.status, 200) << r.body;
  auto points = Json(r)["points"].get_array();
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(std::string(points.at(0)["month"].get_string().value()), "2011-09");
  EXPECT_EQ(std::string(points.at(1)["at"].get_string().value()), "2011-10-31T23:59:59.999Z");
  // The customers were created today (through the API) with orders from October 2011: each is counted from
  // its first order, and P (no order) not at all in 2011.
  auto total = [](simdjson::dom::element counts) {
    int64_t n = 0;
    for (auto [stage, value] : counts.get_object()) n += value.get_int64().value();
    return n;
  };
  EXPECT_EQ(total(points.at(0)["counts"]), 0);  // nobody existed in September
  EXPECT_EQ(total(points.at(1)["counts"]), 9);  // C2..C10 ordered in October; C1 first in November
  EXPECT_EQ(total(points.at(2)["counts"]), 10);
  EXPECT_EQ(points.at(2)["counts"]["prospect"].get_int64().value(), 0);
  EXPECT_EQ(reversed.status, 400);
  EXPECT_EQ(Fields(reversed), std::vector<std::string>{"to"});
  EXPECT_EQ(too_long.status, 400);
  EXPECT_EQ(Fields(too_long), std::vector<std::string>{"to"});
  EXPECT_EQ(bad_month.status, 400);
  EXPECT_EQ(Fields(bad_month), std::vector<std::string>{"from"});
}

TEST_F(AnalyticsApiTest, ThresholdsPutIsStoredAndBadOnesAre400) {
  int64_t before = LedgerEntries("analytics.setting");

  HttpResponse good = Api("PUT", "/api/v1/lifecycle/thresholds",
                          R"({"new_days":14,"active_days":60,"loyal_min_orders":4,"churned_days":200})");
  HttpResponse order = Api("PUT", "/api/v1/lifecycle/thresholds",
                           R"({"new_days":14,"active_days":60,"loyal_min_orders":4,"churned_days":30})");
  HttpResponse range = Api("PUT", "/api/v1/lifecycle/thresholds",
                           R"({"new_days":0,"active_days":60,"loyal_min_orders":4,"churned_days":200})");
  HttpResponse missing = Api("PUT", "/api/v1/lifecycle/thresholds", R"({"new_days":14})");
  HttpResponse unknown = Api("PUT", "/api/v1/lifecycle/thresholds",
                             R"({"new_days":14,"active_days":60,"loyal_min_orders":4,"churned_days":200,"x":1})");
  HttpResponse get = Api("GET", "/api/v1/lifecycle/thresholds");

  ASSERT_EQ(good.status, 200) << good.body;
  EXPECT_EQ(order.status, 400);
  EXPECT_EQ(Fields(order), std::vector<std::string>{"churned_days"});
  EXPECT_EQ(range.status, 400);
  EXPECT_EQ(Fields(range), std::vector<std::string>{"new_days"});
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(get.body, good.body);
  EXPECT_EQ(LedgerEntries("analytics.setting"), before + 1);
}

TEST_F(AnalyticsApiTest, ViewShowsRfmAndLifecycle) {
  HttpResponse scored = Api("GET", "/api/v1/customers/" + std::to_string(ids_[4]) + "/360");
  HttpResponse prospect = Api("GET", "/api/v1/customers/" + std::to_string(prospect_) + "/360");

  ASSERT_EQ(scored.status, 200) << scored.body;
  auto json = Json(scored);
  EXPECT_EQ(json["rfm"]["frequency"].get_int64().value(), 5);
  EXPECT_EQ(std::string(json["rfm"]["score"].get_string().value()).size(), 3u);
  EXPECT_FALSE(json["lifecycle"]["stage"].is_null());
  ASSERT_EQ(prospect.status, 200) << prospect.body;
  EXPECT_TRUE(Json(prospect)["rfm"].is_null());
  EXPECT_EQ(std::string(Json(prospect)["lifecycle"]["stage"].get_string().value()), "prospect");
  EXPECT_TRUE(Json(prospect)["lifecycle"]["since"].is_null());
}

TEST_F(AnalyticsApiTest, NewOrderRescoresTheCustomerWithoutRecompute) {
  HttpResponse before = Api("GET", "/api/v1/customers/" + std::to_string(prospect_) + "/rfm");
  ASSERT_EQ(Api("GET", "/api/v1/rfm").status, 200);  // the cached result

  AddOrder(prospect_, "2011-12-01T00:00:00Z", 500000);
  HttpResponse after = Api("GET", "/api/v1/customers/" + std::to_string(prospect_) + "/rfm");
  HttpResponse summary = Api("GET", "/api/v1/rfm");

  EXPECT_TRUE(Json(before)["r"].is_null());
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(Json(after)["frequency"].get_int64().value(), 1);
  EXPECT_EQ(Json(after)["m"].get_int64().value(), 5);
  EXPECT_EQ(Json(summary)["scored"].get_int64().value(), 11);
}

}  // namespace
}  // namespace panorama
