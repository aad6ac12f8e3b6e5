// The real server (runtime, router, handlers, SQLite) on 127.0.0.1 with a real HTTP client.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>
#include <set>

#include "app/runtime.h"
#include "privacy/public_requests.h"
#include "audit/ledger_service.h"
#include "http/handlers/api_services.h"
#include "http/router.h"
#include "profile/customer_view.h"
#include "security/auth_service.h"
#include "security/crypto_util.h"
#include "storage/store.h"
#include "tests/support/codecs.h"
#include "tests/support/http_client.h"
#include "tests/support/raw_sqlite.h"
#include "tests/support/relax_mfa.h"
#include "tests/support/temp_dir.h"

namespace panorama {
namespace {

using test::HttpClient;
using test::HttpResponse;

constexpr const char* kPassword = "e2e-admin-password-123";
constexpr const char* kWriteKey = "e2e-write-key-0123456789";

simdjson::dom::element Parse(simdjson::dom::parser& parser, const std::string& body) {
  return parser.parse(body).value();
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("PANORAMA_ADMIN_PASSWORD", kPassword, 1);
    setenv("PANORAMA_WRITE_KEY", kWriteKey, 1);
    runtime_ = std::move(app::Runtime::Open({.data_dir = dir_.path().string(), .insecure_dev = true})).value();
    ASSERT_TRUE(runtime_->Bootstrap().has_value());
    testing::RelaxMfaForAllRoles(runtime_->auth());
    auto server = runtime_->Start({.listen = "127.0.0.1:0", .access_log = false});
    ASSERT_TRUE(server.has_value()) << server.error().message();
    server_ = std::move(*server);
    client_ = std::make_unique<HttpClient>("127.0.0.1", server_->port());
    HttpResponse login = client_->Request("POST", "/api/v1/auth/login",
                                          std::string(R"({"username":"admin","password":")") + kPassword + "\"}");
    ASSERT_EQ(login.status, 200) << login.body;
    token_ = std::string(Parse(parser_, login.body)["token"].get_string().value());
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  HttpResponse Api(std::string_view method, std::string_view target, std::string_view body = {},
                   test::HeaderList headers = {}) {
    headers.emplace_back("Authorization", "Bearer " + token_);
    return client_->Request(method, target, body, headers);
  }

  HttpResponse Segment(std::string_view path, std::string_view body) {
    return client_->Request("POST", path, body, {{"Authorization", testing::BasicAuth(kWriteKey)}});
  }

  int64_t CustomerCount() { return runtime_->store().CountCustomers().value(); }

  // The field names of a problem+json body's "errors".
  std::set<std::string> ErrorFields(const std::string& body) {
    std::set<std::string> fields;
    for (auto e : Parse(parser_, body)["errors"].get_array()) fields.insert(std::string(e["field"].get_string().value()));
    return fields;
  }

  testing::TempDir dir_;
  std::unique_ptr<app::Runtime> runtime_;
  std::unique_ptr<app::Runtime::RunningServer> server_;
  std::unique_ptr<HttpClient> client_;
  std::string token_;
  simdjson::dom::parser parser_;
};

TEST_F(ApiTest, EveryRegisteredRouteIsInTheOpenApiDocumentAndViceVersa) {
  HttpResponse doc = client_->Request("GET", "/api/v1/openapi.json");
  ASSERT_EQ(doc.status, 200);
  std::set<std::string> documented;
  for (auto [path, item] : Parse(parser_, doc.body)["paths"].get_object()) {
    for (auto [method, op] : item.get_object()) {
      std::string upper(method);
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.insert(upper + " " + std::string(path));
    }
  }
  std::set<std::string> registered;
  http::Router probe;  // built exactly as the server builds its own
  {
    auto& rt = *runtime_;
    profile::CustomerViewService views(rt.store(), rt.features(), rt.clock());
    http::ApiServices services{rt.store(), rt.auth(), rt.features(), rt.ingest(), views, rt.rates(), rt.clock()};
    services.consents = &rt.consents();
    services.dsar = &rt.dsar();
    services.public_requests = &rt.public_requests();
    services.catalogue = &rt.catalogue();
    services.rfm = &rt.rfm();
    services.lifecycle = &rt.lifecycle();
    services.segments = &rt.segments();
    services.behaviour = &rt.behaviour();
    http::RegisterApiRoutes(probe, services);
    for (const auto& route : probe.Routes()) registered.insert(std::string(http::MethodName(route.method)) + " " + route.pattern);
  }

  EXPECT_EQ(registered, documented);
}

// S11: every route in the router table, anonymous (errors) and as admin (mostly 2xx), carries the secure
// headers; path parameters are filled with 1 and bodies are "{}".
TEST_F(ApiTest, EveryRouteAnswersWithTheSecureHeaders) {
  http::Router probe;
  auto& rt = *runtime_;
  profile::CustomerViewService views(rt.store(), rt.features(), rt.clock());
  http::ApiServices services{rt.store(), rt.auth(), rt.features(), rt.ingest(), views, rt.rates(), rt.clock()};
  services.segments = &rt.segments();
  services.behaviour = &rt.behaviour();
  http::RegisterApiRoutes(probe, services);
  std::set<int> statuses;
  int checked = 0;
  for (bool authenticated : {false, true}) {
    for (const auto& route : probe.Routes()) {
      std::string target;
      for (size_t i = 0; i < route.pattern.size(); ++i) {
        if (route.pattern[i] == '{') {
          i = route.pattern.find('}', i);
          target += '1';
        } else if (route.pattern[i] != '*') {
          target += route.pattern[i];
        }
      }
      std::string method = http::MethodName(route.method);
      if (method == "POST" && target.find("logout") != std::string::npos) continue;  // keeps the token valid
      std::string body = method == "GET" || method == "DELETE" ? "" : "{}";
      HttpResponse r = authenticated ? Api(method, target, body) : client_->Request(method, target, body);
      std::string what = (authenticated ? "admin " : "anonymous ") + method + " " + target + " -> " +
                         std::to_string(r.status);
      ASSERT_NE(r.status, 0) << what;
      statuses.insert(r.status / 100);
      ++checked;
      if (r.status != 204 && r.status != 304) {
        // Text types name their charset; JSON is UTF-8 by definition and has no charset parameter (RFC 8259).
        std::string type(r.Header("Content-Type"));
        EXPECT_TRUE(type.find("charset=utf-8") != std::string::npos || type == "application/json" ||
                    type == "application/problem+json")
            << what << ": " << type;
      }
      EXPECT_EQ(r.Header("X-Content-Type-Options"), "nosniff") << what;
      EXPECT_THAT(std::string(r.Header("Content-Security-Policy")), ::testing::HasSubstr("frame-ancestors 'none'"))
          << what;
      EXPECT_EQ(r.Header("Referrer-Policy"), "no-referrer") << what;
      EXPECT_EQ(r.Header("Cache-Control"), "no-store") << what;
    }
  }
  EXPECT_GT(checked, 20);
  EXPECT_TRUE(statuses.count(2)) << "no 2xx answer was checked";
  EXPECT_TRUE(statuses.count(4)) << "no error answer was checked";
}

TEST_F(ApiTest, ApiRoutesRequireABearerToken) {
  EXPECT_EQ(client_->Request("GET", "/api/v1/customers").status, 401);
  EXPECT_EQ(client_->Request("GET", "/api/v1/customers", "", {{"Authorization", "Bearer pst_forged"}}).status, 401);
  EXPECT_EQ(client_->Request("POST", "/v1/track", R"({"userId":"u","event":"e"})").status, 401);
  EXPECT_EQ(client_->Request("GET", "/api/v1/customers", "", {{"Authorization", std::string("Bearer ") + kWriteKey}}).status,
            403);
}

TEST_F(ApiTest, CreateReadUpdateAndViewACustomer) {
  HttpResponse created = Api("POST", "/api/v1/customers",
                             R"({"name":"张伟","email":"ZW@Example.cn","phone":"138-0013-8000","city":"杭州","country":"中国","tags":["vip"]})");
  ASSERT_EQ(created.status, 201) << created.body;
  int64_t id = Parse(parser_, created.body)["id"].get_int64().value();

  HttpResponse patched = Api("PATCH", "/api/v1/customers/" + std::to_string(id), R"({"city":"上海"})");
  HttpResponse view = Api("GET", "/api/v1/customers/" + std::to_string(id) + "/360");

  ASSERT_EQ(patched.status, 200) << patched.body;
  ASSERT_EQ(view.status, 200) << view.body;
  auto customer = Parse(parser_, view.body)["customer"];
  EXPECT_EQ(customer["email"].get_string().value(), "zw@example.cn");
  EXPECT_EQ(customer["phone"].get_string().value(), "+8613800138000");
  EXPECT_EQ(customer["country"].get_string().value(), "CN");
  EXPECT_EQ(customer["city"].get_string().value(), "上海");
  EXPECT_EQ(Parse(parser_, view.body)["identities"].get_array().size(), 2u);
}

struct BadCustomer {
  const char* name;
  const char* body;
  const char* field;
};

class ApiBadCustomerTest : public ApiTest, public ::testing::WithParamInterface<BadCustomer> {};

TEST_P(ApiBadCustomerTest, IsRejectedNamingTheFieldAndWritesNothing) {
  int64_t before = CustomerCount();

  HttpResponse response = Api("POST", "/api/v1/customers", GetParam().body);

  EXPECT_EQ(response.status, 400) << response.body;
  EXPECT_EQ(response.Header("content-type"), "application/problem+json");
  EXPECT_TRUE(ErrorFields(response.body).contains(GetParam().field)) << response.body;
  EXPECT_EQ(CustomerCount(), before);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ApiBadCustomerTest,
    ::testing::Values(BadCustomer{"MalformedJson", R"({"name": "x",)", "body"},
                      BadCustomer{"NotAnObject", R"(["x"])", "body"},
                      BadCustomer{"InvalidEmail", R"({"name":"x","email":"nobody@"})", "email"},
                      BadCustomer{"InvalidPhone", R"({"name":"x","phone":"12345"})", "phone"},
                      BadCustomer{"NameWrongType", R"({"name":42})", "name"},
                      BadCustomer{"TagsWrongType", R"({"name":"x","tags":"vip"})", "tags"},
                      BadCustomer{"TraitsWrongType", R"({"name":"x","traits":[1]})", "traits"},
                      BadCustomer{"UnknownField", R"({"name":"x","nmae":"typo"})", "nmae"},
                      BadCustomer{"BadBirthday", R"({"name":"x","birthday":"2023-02-30"})", "birthday"},
                      BadCustomer{"NothingToKnowThemBy", R"({"city":"上海"})", "name"}),
    [](const auto& test_case) { return std::string(test_case.param.name); });

TEST_F(ApiTest, UnknownCustomerIsNotFoundAndBadIdIsInvalid) {
  EXPECT_EQ(Api("GET", "/api/v1/customers/999999/360").status, 404);
  HttpResponse bad = Api("GET", "/api/v1/customers/abc");
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(ErrorFields(bad.body).contains("id"));
}

TEST_F(ApiTest, IdempotencyKeyReplaysTheFirstAnswerAndRefusesADifferentRequest) {
  test::HeaderList key = {{"Idempotency-Key", "create-li-1"}};
  HttpResponse first = Api("POST", "/api/v1/customers", R"({"name":"李娜","email":"lina@qq.com"})", key);
  HttpResponse again = Api("POST", "/api/v1/customers", R"({"name":"李娜","email":"lina@qq.com"})", key);
  HttpResponse other = Api("POST", "/api/v1/customers", R"({"name":"别人","email":"x@qq.com"})", key);

  EXPECT_EQ(first.status, 201);
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.Header("idempotent-replayed"), "true");
  EXPECT_EQ(other.status, 422);
  EXPECT_EQ(CustomerCount(), 1);
}

TEST_F(ApiTest, AnIdempotencyKeyOlderThanItsLifetimeIsNewAgainAndHousekeepingDeletesItInTheLedger) {
  // A record stored 25 hours ago under this caller's scope, for a different request.
  storage::IdempotencyRecord old{"admin:reused-key", "not-this-request", 201, R"({"id":999})",
                                 SystemClock().Now() - storage::kIdempotencyKeyLifetime - std::chrono::hours(1)};
  ASSERT_TRUE(runtime_->store().Write([&](storage::WriteTxn& txn) { return txn.PutIdempotency(old); }).has_value());
  test::HeaderList key = {{"Idempotency-Key", "reused-key"}};

  HttpResponse first = Api("POST", "/api/v1/customers", R"({"name":"王芳","email":"wf@qq.com"})", key);
  HttpResponse again = Api("POST", "/api/v1/customers", R"({"name":"王芳","email":"wf@qq.com"})", key);

  EXPECT_EQ(first.status, 201) << "an expired key must not answer 422 for a different request: " << first.body;
  EXPECT_EQ(first.Header("idempotent-replayed"), "");
  EXPECT_EQ(again.Header("idempotent-replayed"), "true") << "the new answer replaced the expired one";
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(CustomerCount(), 1);

  // Housekeeping removes a record once it is old enough; the live one stays, and the run is ledgered.
  storage::IdempotencyRecord stale{"admin:stale-key", "h", 200, "{}",
                                   SystemClock().Now() - storage::kIdempotencyKeyLifetime - std::chrono::hours(2)};
  ASSERT_TRUE(runtime_->store().Write([&](storage::WriteTxn& txn) { return txn.PutIdempotency(stale); }).has_value());
  auto purged = runtime_->auth().PurgeExpired();
  ASSERT_TRUE(purged.has_value()) << purged.error().message();
  int64_t idempotency_rows = -1;
  for (const auto& t : purged->tables) {
    if (t.table == "idempotency") idempotency_rows = t.rows;
  }
  EXPECT_EQ(idempotency_rows, 1);
  EXPECT_FALSE(runtime_->store().FindIdempotency("admin:stale-key").value().has_value());
  EXPECT_TRUE(runtime_->store().FindIdempotency("admin:reused-key").value().has_value());
  EXPECT_EQ(runtime_->auth().PurgeExpired().value().total(), 0) << "a second run deletes nothing";
  ASSERT_TRUE(runtime_->ledger_service().Flush().has_value());
  auto entries = runtime_->store().ListLedger({.object_type = "system", .limit = 10});
  ASSERT_TRUE(entries.has_value());
  int purges = 0;
  for (const auto& e : *entries) purges += e.body.find("housekeeping.purge") != std::string::npos;
  EXPECT_EQ(purges, 1);
}

TEST_F(ApiTest, SegmentBatchIsDurableWhenAcknowledgedAndShowsInThe360) {
  HttpResponse ack = Segment("/v1/batch", R"({"batch":[
      {"type":"identify","userId":"buyer-1","messageId":"b1","traits":{"name":"陈静","email":"cj@163.com"}},
      {"type":"track","userId":"buyer-1","messageId":"b2","event":"Order Completed",
       "properties":{"order_id":"WX-1","total":88.5,"currency":"CNY","products":[{"sku":"A","price":88.5,"quantity":1}]}}]})");
  ASSERT_EQ(ack.status, 200) << ack.body;

  auto owner = runtime_->store().FindIdentity("user_id", "buyer-1");
  ASSERT_TRUE(owner.has_value() && owner->has_value());
  HttpResponse view = Api("GET", "/api/v1/customers/" + (*owner)->ToString() + "/360");

  ASSERT_EQ(view.status, 200);
  auto aggregates = Parse(parser_, view.body)["aggregates"];
  EXPECT_EQ(aggregates["order_count"].get_int64().value(), 1);
  EXPECT_EQ(aggregates["total_spend_minor"].get_int64().value(), 8850);
  EXPECT_EQ(Parse(parser_, view.body)["timeline"]["data"].get_array().size(), 3u);  // two events and the order
}

TEST_F(ApiTest, OversizeSegmentBatchIs413AndWritesNothing) {
  std::string body = R"({"batch":[{"type":"track","userId":"u","event":"e","properties":{"p":")" +
                     std::string(600 * 1024, 'x') + R"("}}]})";

  HttpResponse response = Segment("/v1/batch", body);

  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(CustomerCount(), 0);
}

TEST_F(ApiTest, BadSegmentMessageIs400WithTheFieldAndWritesNothing) {
  HttpResponse response = Segment("/v1/batch", R"({"batch":[{"type":"identify","userId":"u","traits":{"email":"bad"}}]})");

  EXPECT_EQ(response.status, 400);
  EXPECT_TRUE(ErrorFields(response.body).contains("batch[0].traits.email")) << response.body;
  EXPECT_EQ(CustomerCount(), 0);
}

TEST_F(ApiTest, CsvImportWithBrokenRowsIs422WithLinesAndWritesNothing) {
  std::string csv = "name,email,phone\n王芳,fang@qq.com,13800138000\n坏人,bad-email,\n";

  HttpResponse response = Api("POST", "/api/v1/imports/customers", csv, {{"Content-Type", "text/csv"}});

  EXPECT_EQ(response.status, 422) << response.body;
  auto errors = Parse(parser_, response.body)["errors"].get_array();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors.at(0)["line"].get_int64().value(), 3);
  EXPECT_EQ(errors.at(0)["field"].get_string().value(), "email");
  EXPECT_EQ(CustomerCount(), 0);
}

TEST_F(ApiTest, CsvImportTwiceCreatesNoDuplicatesAndSearchFindsThemInAnyFormat) {
  std::string csv = "name,email,phone\n王芳,fang@qq.com,13800138000\nJane Roe,jane@roe.com,+14155552671\n";
  ASSERT_EQ(Api("POST", "/api/v1/imports/customers", csv, {{"Content-Type", "text/csv"}}).status, 200);
  ASSERT_EQ(Api("POST", "/api/v1/imports/customers", csv, {{"Content-Type", "text/csv"}}).status, 200);

  HttpResponse by_phone = Api("GET", "/api/v1/customers?q=138%200013%208000");
  HttpResponse by_name = Api("GET", "/api/v1/customers?q=%E7%8E%8B%E8%8A%B3");  // 王芳
  HttpResponse by_email = Api("GET", "/api/v1/customers?q=JANE%40roe.com");

  EXPECT_EQ(CustomerCount(), 2);
  EXPECT_EQ(Parse(parser_, by_phone.body)["data"].get_array().size(), 1u);
  EXPECT_EQ(Parse(parser_, by_name.body)["data"].get_array().size(), 1u);
  EXPECT_EQ(Parse(parser_, by_email.body)["data"].get_array().size(), 1u);
}

// A ciphertext moved to another row (here: one customer's encrypted email copied over another's) is an
// integrity error: 500 problem, nothing of either customer's data in the answer.
TEST_F(ApiTest, MovedCiphertextIsA500IntegrityErrorWithoutPartialData) {
  HttpResponse a = Api("POST", "/api/v1/customers", R"({"name":"Alice Able","email":"alice@example.com"})");
  HttpResponse b = Api("POST", "/api/v1/customers", R"({"name":"Bob Baker","email":"bob@example.com"})");
  ASSERT_EQ(a.status, 201) << a.body;
  ASSERT_EQ(b.status, 201) << b.body;
  int64_t a_id = Parse(parser_, a.body)["id"].get_int64().value();
  int64_t b_id = Parse(parser_, b.body)["id"].get_int64().value();
  testing::RawSql((dir_.path() / "panorama.db").string(),
                  "UPDATE customers SET email = (SELECT email FROM customers WHERE id = " + std::to_string(a_id) +
                      ") WHERE id = " + std::to_string(b_id));

  HttpResponse tampered = Api("GET", "/api/v1/customers/" + std::to_string(b_id));
  HttpResponse intact = Api("GET", "/api/v1/customers/" + std::to_string(a_id));

  EXPECT_EQ(tampered.status, 500);
  EXPECT_NE(tampered.body.find("integrity error"), std::string::npos) << tampered.body;
  EXPECT_EQ(tampered.body.find("alice"), std::string::npos);
  EXPECT_EQ(tampered.body.find("Bob"), std::string::npos);
  EXPECT_EQ(intact.status, 200) << intact.body;
}

TEST_F(ApiTest, AddressIsWrittenAndReadBackAndLimited) {
  HttpResponse created = Api("POST", "/api/v1/customers", R"({"name":"Li Lei","address":"88 Nanjing Road, 200001"})");
  ASSERT_EQ(created.status, 201) << created.body;
  int64_t id = Parse(parser_, created.body)["id"].get_int64().value();
  HttpResponse too_long = Api("PATCH", "/api/v1/customers/" + std::to_string(id),
                              R"({"address":")" + std::string(501, 'x') + R"("})");

  HttpResponse read = Api("GET", "/api/v1/customers/" + std::to_string(id));

  EXPECT_EQ(too_long.status, 400);
  EXPECT_NE(too_long.body.find("address"), std::string::npos) << too_long.body;
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(Parse(parser_, read.body)["address"].get_string().value(), "88 Nanjing Road, 200001");
}

TEST_F(ApiTest, HealthAndReadiness) {
  EXPECT_EQ(client_->Request("GET", "/healthz").status, 200);
  EXPECT_EQ(client_->Request("GET", "/readyz").status, 200);
}

TEST_F(ApiTest, AuditSearchIsForAdminAndAuditorOnly) {
  ASSERT_EQ(Api("POST", "/api/v1/users",
                R"({"username":"sales1","password":"sales-password-123","role":"sales"})").status, 201);
  ASSERT_EQ(Api("POST", "/api/v1/users",
                R"({"username":"audit1","password":"audit-password-123","role":"auditor"})").status, 201);
  auto login = [&](const char* user, const char* password) {
    HttpResponse r = client_->Request("POST", "/api/v1/auth/login",
                                      std::string(R"({"username":")") + user + R"(","password":")" + password + "\"}");
    return std::string(Parse(parser_, r.body)["token"].get_string().value());
  };
  std::string sales = login("sales1", "sales-password-123");
  std::string auditor = login("audit1", "audit-password-123");

  auto as_sales = client_->Request("GET", "/api/v1/audit", {}, {{"Authorization", "Bearer " + sales}});
  auto as_auditor = client_->Request("GET", "/api/v1/audit?action=user.create", {}, {{"Authorization", "Bearer " + auditor}});

  EXPECT_EQ(as_sales.status, 403) << as_sales.body;
  ASSERT_EQ(as_auditor.status, 200) << as_auditor.body;
  EXPECT_EQ(Parse(parser_, as_auditor.body)["data"].get_array().size(), 3u) << as_auditor.body;  // admin + 2
}

TEST_F(ApiTest, AuditSearchRejectsBadFiltersByName) {
  struct Case {
    std::string query;
    std::string field;
  };
  std::vector<Case> cases = {{"from=yesterday", "from"},
                             {"to=2026-13-01T00:00:00Z", "to"},
                             {"from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"},
                             {"limit=0", "limit"},
                             {"limit=501", "limit"},
                             {"cursor=abc", "cursor"},
                             {"actor=" + std::string(201, 'a'), "actor"}};
  for (const auto& c : cases) {
    HttpResponse r = Api("GET", "/api/v1/audit?" + c.query);

    EXPECT_EQ(r.status, 400) << c.query;
    EXPECT_EQ(ErrorFields(r.body), std::set<std::string>{c.field}) << c.query << ": " << r.body;
  }
}

TEST_F(ApiTest, WritesAndReadsOfCustomersLandInTheLedgerUnderTheCaller) {
  HttpResponse created = Api("POST", "/api/v1/customers", R"({"name":"张伟","email":"zw@example.com"})");
  ASSERT_EQ(created.status, 201) << created.body;
  std::string id = std::to_string(Parse(parser_, created.body)["id"].get_int64().value());
  ASSERT_EQ(Api("GET", "/api/v1/customers/" + id + "/360").status, 200);
  ASSERT_TRUE(runtime_->ledger_service().Flush().has_value());

  HttpResponse entries = Api("GET", "/api/v1/audit?object_type=customer&object_id=" + id);

  ASSERT_EQ(entries.status, 200) << entries.body;
  std::vector<std::string> actions;
  for (auto e : Parse(parser_, entries.body)["data"].get_array()) {
    actions.emplace_back(e["action"].get_string().value());
    EXPECT_EQ(std::string(e["actor"].get_string().value()), "user:1");
    EXPECT_EQ(std::string(e["ip"].get_string().value()), "127.0.0.0/24");
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"customer.view360", "identity.add", "customer.create"}));
  EXPECT_EQ(entries.body.find("zw@example.com"), std::string::npos);
}

}  // namespace
}  // namespace panorama
