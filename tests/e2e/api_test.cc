// The real server (runtime, router, handlers, SQLite) on 127.0.0.1 with a real HTTP client.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>
#include <set>

#include "app/runtime.h"
#include "http/handlers/api_services.h"
#include "http/router.h"
#include "profile/customer_view.h"
#include "security/crypto_util.h"
#include "storage/store.h"
#include "tests/support/http_client.h"
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
    runtime_ = std::move(app::Runtime::Open({.data_dir = dir_.path().string()})).value();
    ASSERT_TRUE(runtime_->Bootstrap().has_value());
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
    std::string basic = Base64(std::string(kWriteKey) + ":");
    return client_->Request("POST", path, body, {{"Authorization", "Basic " + basic}});
  }

  static std::string Base64(const std::string& raw) {
    static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    int val = 0, bits = -6;
    for (unsigned char c : raw) {
      val = (val << 8) + c;
      bits += 8;
      while (bits >= 0) {
        out.push_back(kAlphabet[(val >> bits) & 0x3F]);
        bits -= 6;
      }
    }
    if (bits > -6) out.push_back(kAlphabet[((val << 8) >> (bits + 8)) & 0x3F]);
    while (out.size() % 4) out.push_back('=');
    return out;
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
    http::RegisterApiRoutes(probe, services);
    for (const auto& route : probe.Routes()) registered.insert(std::string(http::MethodName(route.method)) + " " + route.pattern);
  }

  EXPECT_EQ(registered, documented);
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

TEST_F(ApiTest, HealthAndReadiness) {
  EXPECT_EQ(client_->Request("GET", "/healthz").status, 200);
  EXPECT_EQ(client_->Request("GET", "/readyz").status, 200);
}

}  // namespace
}  // namespace panorama
