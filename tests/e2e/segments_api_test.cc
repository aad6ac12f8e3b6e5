// Segments over real HTTP on 127.0.0.1: CRUD with the bad inputs of the contract (rule errors with
// line/column, duplicate names, unknown ids, cycles, bad id lists, bad formats), preview, combine, overlap,
// members, csv/xlsx export, and the real-time path: ingestion through /v1 and profile edits through the API make
// a customer enter and later exit a segment, visible in the events feed.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "app/runtime.h"
#include "privacy/consent_service.h"
#include "privacy/dsar_service.h"
#include "tests/support/codecs.h"
#include "tests/support/http_client.h"
#include "tests/support/served_runtime.h"

namespace panorama {
namespace {

using namespace std::chrono_literals;
using test::HttpClient;
using test::HttpResponse;

class SegmentsApiTest : public test::ServedRuntimeTest {
 protected:
  HttpResponse Segment(std::string_view path, std::string_view body) {
    return client_->Request("POST", path, body, {{"Authorization", testing::BasicAuth(kWriteKey)}});
  }
  int64_t CreateSegment(const std::string& name, const std::string& rule) {
    HttpResponse created = Api("POST", "/api/v1/segments", R"({"name":")" + name + R"(","rule":)" + Quote(rule) + "}");
    EXPECT_EQ(created.status, 201) << created.body;
    return Json(created)["id"].get_int64().value();
  }
  static std::string Quote(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  }
  // The feed's (customer, kind) pairs, waiting (bounded) until it has at least `count` entries.
  std::vector<std::pair<int64_t, std::string>> Feed(int64_t segment, size_t count) {
    std::vector<std::pair<int64_t, std::string>> out;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    do {
      out.clear();
      HttpResponse r = Api("GET", "/api/v1/segments/" + std::to_string(segment) + "/events?limit=100");
      EXPECT_EQ(r.status, 200) << r.body;
      for (auto e : Json(r)["data"].get_array()) {
        out.emplace_back(e["customer_id"].get_int64().value(), std::string(e["kind"].get_string().value()));
      }
      if (out.size() >= count) break;
      std::this_thread::sleep_for(20ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return out;
  }

};

TEST_F(SegmentsApiTest, CreateGetListPatchDelete) {
  int64_t cn = CreateCustomer(R"({"name":"李雷","email":"li@example.cn","country":"CN","city":"上海"})");
  CreateCustomer(R"({"name":"Jane Doe","email":"jane@example.com","country":"US"})");

  HttpResponse created = Api("POST", "/api/v1/segments", R"({"name":"中国客户","description":"d","rule":"country = \"CN\""})");
  ASSERT_EQ(created.status, 201) << created.body;
  auto segment = Json(created);
  int64_t id = segment["id"].get_int64().value();
  EXPECT_EQ(segment["size"].get_int64().value(), 1);
  EXPECT_EQ(std::string(segment["created_by"].get_string().value()), "user:1");
  EXPECT_TRUE(segment["evaluated_at"].is_string());

  HttpResponse got = Api("GET", "/api/v1/segments/" + std::to_string(id));
  HttpResponse listed = Api("GET", "/api/v1/segments?limit=10");
  HttpResponse members = Api("GET", "/api/v1/segments/" + std::to_string(id) + "/members");
  HttpResponse mine = Api("GET", "/api/v1/customers/" + std::to_string(cn) + "/segments");
  HttpResponse view = Api("GET", "/api/v1/customers/" + std::to_string(cn) + "/360");
  HttpResponse patched = Api("PATCH", "/api/v1/segments/" + std::to_string(id), R"({"rule":"country = \"US\""})");

  ASSERT_EQ(got.status, 200) << got.body;
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(Json(listed)["data"].get_array().size(), 1u);
  EXPECT_TRUE(Json(listed)["next_cursor"].is_null());
  ASSERT_EQ(members.status, 200) << members.body;
  auto first = Json(members)["data"].get_array().at(0);
  EXPECT_EQ(first["id"].get_int64().value(), cn);
  EXPECT_EQ(std::string(first["city"].get_string().value()), "上海");
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(Json(mine)["data"].get_array().at(0)["id"].get_int64().value(), id);
  ASSERT_EQ(view.status, 200) << view.body;
  EXPECT_EQ(Json(view)["segments"].get_array().at(0)["name"].get_string().value(), "中国客户");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(Json(patched)["size"].get_int64().value(), 1);
  auto feed = Feed(id, 3);
  ASSERT_EQ(feed.size(), 3u);
  EXPECT_EQ(feed[0], std::make_pair(cn, std::string("entered")));
  EXPECT_NE(std::find(feed.begin(), feed.end(), std::make_pair(cn, std::string("exited"))), feed.end());
  EXPECT_EQ(Api("DELETE", "/api/v1/segments/" + std::to_string(id)).status, 204);
  EXPECT_EQ(Api("GET", "/api/v1/segments/" + std::to_string(id)).status, 404);
}

TEST_F(SegmentsApiTest, PatchWithAnEmptyDescriptionClearsIt) {
  HttpResponse created = Api("POST", "/api/v1/segments", R"({"name":"Described","description":"d","rule":"country = \"CN\""})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string path = "/api/v1/segments/" + std::to_string(Json(created)["id"].get_int64().value());

  HttpResponse cleared = Api("PATCH", path, R"({"description":""})");
  ASSERT_EQ(cleared.status, 200) << cleared.body;
  EXPECT_EQ(std::string(Json(cleared)["description"].get_string().value()), "");
  EXPECT_EQ(std::string(Json(Api("GET", path))["description"].get_string().value()), "");
  // The name still may not be cleared, and a bad description type changes nothing.
  HttpResponse unnamed = Api("PATCH", path, R"({"name":"","description":"new"})");
  EXPECT_EQ(unnamed.status, 400) << unnamed.body;
  HttpResponse typed = Api("PATCH", path, R"({"description":5})");
  EXPECT_EQ(typed.status, 400) << typed.body;
  EXPECT_NE(typed.body.find("description"), std::string::npos) << typed.body;
  auto after = Json(Api("GET", path));
  EXPECT_EQ(std::string(after["name"].get_string().value()), "Described");
  EXPECT_EQ(std::string(after["description"].get_string().value()), "");
}

// A CSV import that changes `country` moves customers in and out of a country segment straight away (the
// incremental path; the full re-evaluation runs only every 60 s): existing customers updated by the file and a
// customer it creates.
TEST_F(SegmentsApiTest, CsvImportMovesCustomersInAndOutOfSegmentsAtOnce) {
  int64_t ann = CreateCustomer(R"({"name":"Ann Lee","email":"ann@example.com","country":"CN"})");
  int64_t bob = CreateCustomer(R"({"name":"Bob Ray","email":"bob@example.com","country":"US"})");
  int64_t id = CreateSegment("China", "country = \"CN\"");
  ASSERT_EQ(Feed(id, 1).size(), 1u);

  HttpResponse imported = Api("POST", "/api/v1/imports/customers",
                              "email,country\nann@example.com,GB\nbob@example.com,CN\ncy@example.com,CN\n",
                              {{"Content-Type", "text/csv"}});

  ASSERT_EQ(imported.status, 200) << imported.body;
  EXPECT_EQ(Json(imported)["updated"].get_int64().value(), 2);
  EXPECT_EQ(Json(imported)["created"].get_int64().value(), 1);
  auto feed = Feed(id, 4);
  ASSERT_EQ(feed.size(), 4u);
  EXPECT_NE(std::find(feed.begin(), feed.end(), std::make_pair(ann, std::string("exited"))), feed.end());
  EXPECT_NE(std::find(feed.begin(), feed.end(), std::make_pair(bob, std::string("entered"))), feed.end());
  HttpResponse members = Api("GET", "/api/v1/segments/" + std::to_string(id) + "/members");
  ASSERT_EQ(members.status, 200) << members.body;
  std::vector<int64_t> ids;
  for (auto m : Json(members)["data"].get_array()) ids.push_back(m["id"].get_int64().value());
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], bob);
  EXPECT_GT(ids[1], bob);  // the customer the file created
}

TEST_F(SegmentsApiTest, RuleErrorsCarryLineAndColumn) {
  HttpResponse bad = Api("POST", "/api/v1/segments", R"({"name":"Bad","rule":"country ="})");
  HttpResponse preview = Api("POST", "/api/v1/segments/preview", R"({"rule":"country = \"CN\" and\n  age >"})");

  ASSERT_EQ(bad.status, 400) << bad.body;
  auto error = Json(bad)["errors"].get_array().at(0);
  EXPECT_EQ(std::string(error["field"].get_string().value()), "rule");
  EXPECT_EQ(error["line"].get_int64().value(), 1);
  EXPECT_EQ(error["column"].get_int64().value(), 10);
  EXPECT_EQ(std::string(error["message"].get_string().value()).rfind("1:10: ", 0), 0u) << bad.body;
  ASSERT_EQ(preview.status, 400) << preview.body;
  EXPECT_EQ(Json(preview)["errors"].get_array().at(0)["line"].get_int64().value(), 2);
  EXPECT_EQ(Json(Api("GET", "/api/v1/segments"))["data"].get_array().size(), 0u);
}

TEST_F(SegmentsApiTest, RejectsBadInputWithTheFieldNamed) {
  int64_t a = CreateSegment("A", "country = \"CN\"");
  int64_t b = CreateSegment("B", "segment \"A\" or country = \"US\"");
  std::string sa = std::to_string(a), sb = std::to_string(b);
  struct Case {
    std::string method, target, body;
    int status;
    std::string field;
  };
  const Case cases[] = {
      {"POST", "/api/v1/segments", R"({"name":"A","rule":"country = \"DE\""})", 409, ""},
      {"POST", "/api/v1/segments", R"({"name":"","rule":"country = \"DE\""})", 400, "name"},
      {"POST", "/api/v1/segments", R"({"rule":"country = \"DE\""})", 400, "name"},
      {"POST", "/api/v1/segments", R"({"name":"C","rule":"segment \"Nope\""})", 400, "rule"},
      {"POST", "/api/v1/segments", R"({"name":"C","rule":"country = \"DE\"","colour":"red"})", 400, "colour"},
      {"POST", "/api/v1/segments", "not json", 400, "body"},
      {"PATCH", "/api/v1/segments/" + sa, R"({"rule":"segment \"B\""})", 400, "rule"},
      {"PATCH", "/api/v1/segments/999999", R"({"name":"X"})", 404, ""},
      {"GET", "/api/v1/segments/abc", "", 400, "id"},
      {"GET", "/api/v1/segments/999999", "", 404, ""},
      {"DELETE", "/api/v1/segments/" + sa, "", 422, ""},
      {"GET", "/api/v1/segments/overlap?ids=1,x", "", 400, "ids"},
      {"GET", "/api/v1/segments/overlap?ids=", "", 400, "ids"},
      {"GET", "/api/v1/segments/overlap?ids=" + sa + ",999999", "", 404, ""},
      {"POST", "/api/v1/segments/combine", R"({"op":"xor","segments":[)" + sa + "," + sb + "]}", 400, "op"},
      {"POST", "/api/v1/segments/combine", R"({"op":"and","segments":[)" + sa + "]}", 400, "segments"},
      {"POST", "/api/v1/segments/combine", R"({"op":"and","segments":["a","b"]})", 400, "segments"},
      {"GET", "/api/v1/segments/" + sa + "/export?format=pdf", "", 400, "format"},
      {"GET", "/api/v1/segments/" + sa + "/members?limit=0", "", 400, "limit"},
      {"GET", "/api/v1/segments/" + sa + "/events?cursor=x", "", 400, "cursor"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.method + " " + c.target + " " + c.body);
    HttpResponse r = Api(c.method, c.target, c.body);
    EXPECT_EQ(r.status, c.status) << r.body;
    if (!c.field.empty()) {
      EXPECT_NE(r.body.find("\"field\":\"" + c.field + "\""), std::string::npos) << r.body;
    }
  }

  HttpResponse listed = Api("GET", "/api/v1/segments");
  EXPECT_EQ(Json(listed)["data"].get_array().size(), 2u);
  EXPECT_EQ(std::string(Json(Api("GET", "/api/v1/segments/" + sa))["rule"].get_string().value()), "country = \"CN\"");
}

TEST_F(SegmentsApiTest, PreviewCombineOverlapAndSaveAs) {
  int64_t both = CreateCustomer(R"({"name":"a","email":"a@example.com","country":"CN","tags":["vip"]})");
  CreateCustomer(R"({"name":"b","email":"b@example.com","country":"CN"})");
  CreateCustomer(R"({"name":"c","email":"c@example.com","country":"US","tags":["vip"]})");
  int64_t cn = CreateSegment("CN", "country = \"CN\"");
  int64_t vip = CreateSegment("VIP", "tags contains \"vip\"");
  std::string ids = std::to_string(cn) + "," + std::to_string(vip);

  HttpResponse preview = Api("POST", "/api/v1/segments/preview", R"({"rule":"country = \"CN\" and tags contains \"vip\""})");
  HttpResponse combined = Api("POST", "/api/v1/segments/combine", R"({"op":"and","segments":[)" + ids + "]}");
  HttpResponse overlap = Api("GET", "/api/v1/segments/overlap?ids=" + ids);
  HttpResponse saved = Api("POST", "/api/v1/segments/combine", R"({"op":"minus","segments":[)" + ids + R"(],"save_as":"CN not VIP"})");

  ASSERT_EQ(preview.status, 200) << preview.body;
  EXPECT_TRUE(Json(preview)["valid"].get_bool().value());
  EXPECT_EQ(Json(preview)["size"].get_int64().value(), 1);
  EXPECT_EQ(Json(preview)["sample"].get_array().at(0).get_int64().value(), both);
  ASSERT_EQ(combined.status, 200) << combined.body;
  EXPECT_EQ(Json(combined)["size"].get_int64().value(), 1);
  ASSERT_EQ(overlap.status, 200) << overlap.body;
  auto matrix = Json(overlap)["matrix"].get_array();
  EXPECT_EQ(matrix.at(0).get_array().at(0).get_int64().value(), 2);
  EXPECT_EQ(matrix.at(0).get_array().at(1).get_int64().value(), 1);
  EXPECT_EQ(matrix.at(1).get_array().at(1).get_int64().value(), 2);
  ASSERT_EQ(saved.status, 201) << saved.body;
  EXPECT_EQ(std::string(Json(saved)["rule"].get_string().value()), "segment \"CN\" and not segment \"VIP\"");
  EXPECT_EQ(Json(saved)["size"].get_int64().value(), 1);
}

TEST_F(SegmentsApiTest, ExportsCsvAndXlsx) {
  CreateCustomer(R"({"name":"王小明","email":"wang@example.cn","country":"CN","city":"北京"})");
  int64_t cn = CreateSegment("CN", "country = \"CN\"");

  HttpResponse csv = Api("GET", "/api/v1/segments/" + std::to_string(cn) + "/export?format=csv");
  HttpResponse xlsx = Api("GET", "/api/v1/segments/" + std::to_string(cn) + "/export?format=xlsx");

  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_NE(csv.body.find("id,name,email,country,city"), std::string::npos);
  EXPECT_NE(csv.body.find("王小明"), std::string::npos);
  EXPECT_NE(csv.body.find("北京"), std::string::npos);
  ASSERT_EQ(xlsx.status, 200);
  EXPECT_EQ(xlsx.body.substr(0, 2), "PK");  // a zip container
  bool disposition = false;
  for (const auto& [k, v] : xlsx.headers) {
    if (k == "content-disposition" || k == "Content-Disposition") disposition = v.find(".xlsx") != std::string::npos;
  }
  EXPECT_TRUE(disposition);
}

// A CSV row naming two customers merges the newer into the older; the merged-away customer's consent moves to
// the survivor in the consent index and its bitmaps at once, so a consent rule finds the survivor without a
// restart.
TEST_F(SegmentsApiTest, CsvImportMergeCarriesConsentToTheSurvivorForConsentRules) {
  int64_t ann = CreateCustomer(R"({"name":"Ann Lee","email":"ann@example.com","country":"CN"})");
  int64_t phone = CreateCustomer(R"({"name":"Ann L.","phone":"+8613812345678","country":"CN"})");
  ASSERT_LT(ann, phone);
  HttpResponse granted = Api("PUT", "/api/v1/customers/" + std::to_string(phone) + "/consents",
                             R"({"policy_version":"2026-01","consents":[{"purpose":"marketing","channel":"email","granted":true}]})");
  ASSERT_EQ(granted.status, 200) << granted.body;
  const std::string rule = R"({"rule":"consent.marketing.email"})";
  ASSERT_EQ(Json(Api("POST", "/api/v1/segments/preview", rule))["size"].get_int64().value(), 1);

  HttpResponse imported = Api("POST", "/api/v1/imports/customers", "email,phone\nann@example.com,+8613812345678\n",
                              {{"Content-Type", "text/csv"}});
  ASSERT_EQ(imported.status, 200) << imported.body;
  ASSERT_EQ(Json(imported)["merged"].get_int64().value(), 1);

  EXPECT_TRUE(runtime_->consents().MaySend(CustomerId(ann), "marketing", "email"));
  HttpResponse preview = Api("POST", "/api/v1/segments/preview", rule);
  ASSERT_EQ(preview.status, 200) << preview.body;
  EXPECT_EQ(Json(preview)["size"].get_int64().value(), 1);  // Ann, who now holds the consent
}

TEST_F(SegmentsApiTest, IngestedCustomerEntersAndLaterExitsInRealTime) {
  int64_t id = CreateSegment("Chinese viewers", "country = \"CN\" and did \"Product Viewed\"");

  ASSERT_EQ(Segment("/v1/identify", R"({"userId":"rt-1","traits":{"email":"rt@example.cn","country":"CN"}})").status, 200);
  ASSERT_EQ(Segment("/v1/track", R"({"userId":"rt-1","event":"Product Viewed","properties":{"sku":"A1"}})").status, 200);
  auto entered = Feed(id, 1);
  ASSERT_EQ(entered.size(), 1u);
  EXPECT_EQ(entered[0].second, "entered");
  int64_t customer = entered[0].first;
  HttpResponse moved = Api("PATCH", "/api/v1/customers/" + std::to_string(customer), R"({"country":"US"})");
  ASSERT_EQ(moved.status, 200) << moved.body;
  auto both = Feed(id, 2);

  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[1], std::make_pair(customer, std::string("exited")));
  EXPECT_EQ(Json(Api("GET", "/api/v1/segments/" + std::to_string(id)))["size"].get_int64().value(), 0);
}

TEST_F(SegmentsApiTest, AnErasedMemberLeavesTheSegmentAtOnceWithoutAnExitEvent) {
  ASSERT_TRUE(runtime_->dsar().set_erasure_grace(std::chrono::days{0}).has_value());  // no grace period
  int64_t erased = CreateCustomer(R"({"name":"韩梅梅","email":"han@example.cn","country":"CN"})");
  int64_t kept = CreateCustomer(R"({"name":"李雷","email":"li@example.cn","country":"CN"})");
  int64_t id = CreateSegment("中国客户", "country = \"CN\"");
  ASSERT_EQ(Json(Api("GET", "/api/v1/segments/" + std::to_string(id)))["size"].get_int64().value(), 2);

  HttpResponse opened = Api("POST", "/api/v1/privacy/requests",
                            R"({"customer_id":)" + std::to_string(erased) + R"(,"kind":"erase","jurisdiction":"pipl"})");
  ASSERT_EQ(opened.status, 201) << opened.body;
  const std::string request = "/api/v1/privacy/requests/" + std::to_string(Json(opened)["id"].get_int64().value());
  ASSERT_EQ(Api("POST", request + "/verify", R"({"method":"id_document"})").status, 200);
  HttpResponse fulfilled = Api("POST", request + "/fulfil");
  ASSERT_EQ(fulfilled.status, 200) << fulfilled.body;

  // No waiting for the periodic re-evaluation: the erasure listener dropped the member in memory.
  HttpResponse segment = Api("GET", "/api/v1/segments/" + std::to_string(id));
  HttpResponse members = Api("GET", "/api/v1/segments/" + std::to_string(id) + "/members");
  HttpResponse combined = Api("POST", "/api/v1/segments/combine",
                              R"({"op":"or","segments":[)" + std::to_string(id) + "," + std::to_string(id) + "]}");
  ASSERT_EQ(members.status, 200) << members.body;
  ASSERT_EQ(Json(members)["data"].get_array().size(), 1u);
  EXPECT_EQ(Json(members)["data"].get_array().at(0)["id"].get_int64().value(), kept);
  ASSERT_EQ(combined.status, 200) << combined.body;
  EXPECT_EQ(Json(combined)["size"].get_int64().value(), 1);
  ASSERT_EQ(segment.status, 200) << segment.body;
  // The erased person's entered event went with their rows, and no exited event was written for them.
  EXPECT_EQ(Feed(id, 1), (std::vector<std::pair<int64_t, std::string>>{{kept, "entered"}}));
}

}  // namespace
}  // namespace panorama
