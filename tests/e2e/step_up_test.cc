// Step-up re-authentication and per-key IP allowlists through the real server on 127.0.0.1, real SQLite.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>

#include "app/runtime.h"
#include "security/auth_service.h"
#include "storage/store.h"
#include "tests/support/codecs.h"
#include "tests/support/http_client.h"
#include "tests/support/relax_mfa.h"
#include "tests/support/temp_dir.h"

namespace panorama {
namespace {

using test::HttpClient;
using test::HttpResponse;

constexpr const char* kPassword = "e2e-admin-password-123";
constexpr const char* kReauthType = "urn:panorama:problem:reauth_required";

class StepUpE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("PANORAMA_ADMIN_PASSWORD", kPassword, 1);
    unsetenv("PANORAMA_WRITE_KEY");
    runtime_ = std::move(app::Runtime::Open({.data_dir = dir_.path().string()})).value();
    ASSERT_TRUE(runtime_->Bootstrap().has_value());
    testing::RelaxMfaForAllRoles(runtime_->auth());
    auto server = runtime_->Start({.listen = "127.0.0.1:0", .access_log = false});
    ASSERT_TRUE(server.has_value()) << server.error().message();
    server_ = std::move(*server);
    client_ = std::make_unique<HttpClient>("127.0.0.1", server_->port());
    HttpResponse login = Call("POST", "/api/v1/auth/login",
                              R"({"username":"admin","password":")" + std::string(kPassword) + "\"}", "");
    ASSERT_EQ(login.status, 200) << login.body;
    token_ = Text(login.body, "token");
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  HttpResponse Call(const std::string& method, std::string_view path, const std::string& body,
                    const std::string& token) {
    test::HeaderList headers;
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return client_->Request(method, path, body, headers);
  }
  HttpResponse Admin(const std::string& method, std::string_view path, const std::string& body = "") {
    return Call(method, path, body, token_);
  }
  std::string Text(const std::string& json, const char* key) {
    std::string_view value;
    if (parser_.parse(json)[key].get_string().get(value) != simdjson::SUCCESS) return "";
    return std::string(value);
  }
  std::vector<std::string> Fields(const std::string& problem) {
    std::vector<std::string> out;
    for (auto e : parser_.parse(problem)["errors"].get_array()) out.emplace_back(e["field"].get_string().value());
    return out;
  }
  // Moves the admin's last password check 10 minutes into the past, as if the sign-in were old.
  void AgeSessions() {
    auto user = runtime_->store().FindUserByName("admin");
    ASSERT_TRUE(user.has_value());
    auto sessions = runtime_->store().ListUserSessions(user->id).value();
    Timestamp old = runtime_->clock().Now() - std::chrono::minutes(10);
    for (const auto& s : sessions) {
      ASSERT_TRUE(runtime_->store()
                      .Write([&](storage::WriteTxn& txn) { return txn.MarkSessionReauthenticated(s.id, old); })
                      .has_value());
    }
  }
  size_t Count(std::string_view path) {
    HttpResponse r = Admin("GET", path);
    EXPECT_EQ(r.status, 200) << r.body;
    return parser_.parse(r.body)["data"].get_array().size();
  }
  // A read-write API key with the given allowlist (JSON array text); returns {id, secret}.
  std::pair<int64_t, std::string> MakeKey(const std::string& cidrs, const std::string& scope = "read-write") {
    HttpResponse r = Admin("POST", "/api/v1/api-keys",
                           R"({"name":"etl","kind":"api","scope":")" + scope + R"(","allowed_cidrs":)" + cidrs + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    return {parser_.parse(r.body)["id"].get_int64().value(), Text(r.body, "secret")};
  }

  testing::TempDir dir_;
  std::unique_ptr<app::Runtime> runtime_;
  std::unique_ptr<app::Runtime::RunningServer> server_;
  std::unique_ptr<HttpClient> client_;
  simdjson::dom::parser parser_;
  std::string token_;
};

struct SensitiveRoute {
  const char* method;
  const char* path;
  const char* body;
};

// Every route that needs a fresh password check, with a body that would succeed (or at least pass validation).
constexpr SensitiveRoute kSensitive[] = {
    {"POST", "/api/v1/users", R"({"username":"mallory","password":"a long enough pass phrase 7","role":"admin"})"},
    {"PATCH", "/api/v1/users/1", R"({"role":"admin"})"},
    {"PUT", "/api/v1/users/1/access", R"({"role":"admin"})"},
    {"DELETE", "/api/v1/users/1/mfa", ""},
    {"PUT", "/api/v1/security/mfa-policy/sales", R"({"mfa_required":false})"},
    {"POST", "/api/v1/api-keys", R"({"name":"exfil","kind":"api","scope":"read-write"})"},
    {"PATCH", "/api/v1/api-keys/1", R"({"allowed_cidrs":[]})"},
    {"POST", "/api/v1/roles", R"({"name":"viewer","permissions":["customers.read"]})"},
    {"PATCH", "/api/v1/roles/viewer", R"({"permissions":["customers.read"]})"},
    {"DELETE", "/api/v1/roles/viewer", ""},
    {"POST", "/api/v1/privacy/requests/1/fulfil", ""},
    {"GET", "/api/v1/privacy/pseudonymised-export?recipient=acme", ""},
    {"GET", "/api/v1/exports/customers.csv", ""},
};

TEST_F(StepUpE2eTest, AStaleSessionGetsReauthRequiredOnEverySensitiveRouteAndNothingChanges) {
  size_t users = Count("/api/v1/users");
  size_t keys = Count("/api/v1/api-keys");
  AgeSessions();

  for (const auto& route : kSensitive) {
    HttpResponse r = Admin(route.method, route.path, route.body);

    EXPECT_EQ(r.status, 403) << route.method << " " << route.path << ": " << r.body;
    EXPECT_EQ(Text(r.body, "type"), kReauthType) << route.path;
    EXPECT_NE(r.Header("www-authenticate").find("insufficient_user_authentication"), std::string::npos);
  }
  EXPECT_EQ(Count("/api/v1/users"), users);
  EXPECT_EQ(Count("/api/v1/api-keys"), keys);
  EXPECT_EQ(Admin("GET", "/api/v1/customers").status, 200);  // ordinary routes are unaffected
}

TEST_F(StepUpE2eTest, AStepUpWindowOutside1To3600SecondsIsRefusedNamingTheOption) {
  for (int seconds : {-1, 3601, 86400}) {
    auto started = runtime_->Start({.listen = "127.0.0.1:0", .access_log = false, .step_up_window_seconds = seconds});

    ASSERT_FALSE(started.has_value()) << seconds;
    EXPECT_NE(started.error().message().find("step-up-window-seconds"), std::string::npos) << started.error().message();
  }
  EXPECT_EQ(runtime_->auth().step_up_window(), std::chrono::seconds(300));  // unchanged
}

TEST_F(StepUpE2eTest, AFreshSignInMayDoSensitiveThings) {
  HttpResponse created = Admin("POST", "/api/v1/api-keys", kSensitive[5].body);

  EXPECT_EQ(created.status, 201) << created.body;
}

TEST_F(StepUpE2eTest, StepUpWithThePasswordMakesTheSessionFreshAgainAndIsInTheLedger) {
  AgeSessions();
  size_t entries = Count("/api/v1/audit?action=session.step_up");

  HttpResponse step = Admin("POST", "/api/v1/auth/step-up", R"({"password":")" + std::string(kPassword) + "\"}");

  ASSERT_EQ(step.status, 200) << step.body;
  EXPECT_FALSE(Text(step.body, "reauth_expires_at").empty());
  EXPECT_EQ(step.Header("cache-control"), "no-store");
  EXPECT_EQ(Admin("POST", "/api/v1/api-keys", kSensitive[5].body).status, 201);
  EXPECT_EQ(Admin("GET", "/api/v1/exports/customers.csv").status, 200);
  HttpResponse audit = Admin("GET", "/api/v1/audit?action=session.step_up");
  EXPECT_EQ(Count("/api/v1/audit?action=session.step_up"), entries + 1);
  EXPECT_EQ(audit.body.find(kPassword), std::string::npos);
}

TEST_F(StepUpE2eTest, StepUpRefusesBadInputAndWrongPasswordsWithoutRenewing) {
  AgeSessions();
  struct Case {
    std::string body;
    int status;
    std::string field;
  };
  const Case cases[] = {
      {"{}", 400, "password"},
      {R"({"password":""})", 400, "password"},
      {R"({"password":12})", 400, "password"},
      {R"({"password":"x","extra":1})", 400, "extra"},
      {"not json", 400, "body"},
      {R"({"password":"' OR 1=1 --"})", 403, ""},
      {R"({"password":"wrong-password-for-admin"})", 403, ""},
  };

  for (const auto& c : cases) {
    HttpResponse r = Admin("POST", "/api/v1/auth/step-up", c.body);

    EXPECT_EQ(r.status, c.status) << c.body << ": " << r.body;
    if (!c.field.empty()) {
      auto fields = Fields(r.body);
      EXPECT_NE(std::find(fields.begin(), fields.end(), c.field), fields.end()) << c.body << ": " << r.body;
    }
    EXPECT_NE(Text(r.body, "type"), kReauthType);
    EXPECT_EQ(r.body.find("wrong-password-for-admin"), std::string::npos);
  }
  EXPECT_EQ(Text(Admin("POST", "/api/v1/api-keys", kSensitive[5].body).body, "type"), kReauthType);
  EXPECT_EQ(Call("POST", "/api/v1/auth/step-up", R"({"password":"x"})", "").status, 401);
}

TEST_F(StepUpE2eTest, ApiKeysAreExemptFromStepUpButKeepTheirScope) {
  auto [id, secret] = MakeKey("[]");
  (void)id;
  AgeSessions();

  EXPECT_EQ(Call("GET", "/api/v1/exports/customers.csv", "", secret).status, 200);
  EXPECT_EQ(Call("POST", "/api/v1/api-keys", kSensitive[5].body, secret).status, 403);
  EXPECT_EQ(Call("POST", "/api/v1/auth/step-up", R"({"password":"x"})", secret).status, 403);
}

TEST_F(StepUpE2eTest, AKeyOutsideItsNetworksIsRefusedBeforeItsScopeWithoutLeakingTheList) {
  auto [id, secret] = MakeKey(R"(["10.0.0.0/8","2001:db8::/32"])", "read");

  HttpResponse read = Call("GET", "/api/v1/customers", "", secret);
  HttpResponse write = Call("POST", "/api/v1/customers", R"({"name":"x"})", secret);

  EXPECT_EQ(read.status, 403) << read.body;
  EXPECT_NE(read.body.find("address"), std::string::npos);
  EXPECT_EQ(read.body.find("10.0.0.0"), std::string::npos);
  EXPECT_EQ(read.body.find("2001:db8"), std::string::npos);
  EXPECT_EQ(write.status, 403);
  EXPECT_EQ(write.body, read.body);  // the allowlist answers first: no hint that the key may only read
}

TEST_F(StepUpE2eTest, AKeyInsideItsNetworksWorksAndPatchTakesEffectAtOnce) {
  auto [id, secret] = MakeKey(R"(["127.0.0.1"])");
  ASSERT_EQ(Call("GET", "/api/v1/customers", "", secret).status, 200);
  std::string path = "/api/v1/api-keys/" + std::to_string(id);

  HttpResponse narrowed = Admin("PATCH", path, R"({"allowed_cidrs":["192.0.2.0/24"]})");
  ASSERT_EQ(narrowed.status, 200) << narrowed.body;
  EXPECT_EQ(Call("GET", "/api/v1/customers", "", secret).status, 403);
  HttpResponse lifted = Admin("PATCH", path, R"({"allowed_cidrs":[]})");
  ASSERT_EQ(lifted.status, 200) << lifted.body;
  EXPECT_EQ(Call("GET", "/api/v1/customers", "", secret).status, 200);
  HttpResponse wide = Admin("PATCH", path, R"({"allowed_cidrs":["127.0.0.0/8","::1"]})");
  EXPECT_EQ(Call("GET", "/api/v1/customers", "", secret).status, 200);
  HttpResponse list = Admin("GET", "/api/v1/api-keys");
  EXPECT_NE(list.body.find(R"("allowed_cidrs":["127.0.0.0/8","::1/128"])"), std::string::npos) << list.body;
}

TEST_F(StepUpE2eTest, BadNetworksAreRejectedNamingTheIndexAndChangeNothing) {
  auto [id, secret] = MakeKey(R"(["127.0.0.1"])");
  size_t keys = Count("/api/v1/api-keys");
  std::string path = "/api/v1/api-keys/" + std::to_string(id);
  struct Case {
    std::string cidrs;
    std::string field;
  };
  const Case cases[] = {
      {R"(["127.0.0.1","10.0.0.1/8"])", "allowed_cidrs[1]"}, {R"(["300.1.1.1"])", "allowed_cidrs[0]"},
      {R"(["::/129"])", "allowed_cidrs[0]"},                  {R"(["1.2.3.4/x"])", "allowed_cidrs[0]"},
      {R"([12])", "allowed_cidrs[0]"},                         {R"("10.0.0.0/8")", "allowed_cidrs"},
      {R"(["' OR 1=1"])", "allowed_cidrs[0]"},
  };

  for (const auto& c : cases) {
    HttpResponse created = Admin("POST", "/api/v1/api-keys",
                                 R"({"name":"k","kind":"api","scope":"read","allowed_cidrs":)" + c.cidrs + "}");
    HttpResponse patched = Admin("PATCH", path, R"({"allowed_cidrs":)" + c.cidrs + "}");

    EXPECT_EQ(created.status, 400) << c.cidrs << ": " << created.body;
    EXPECT_EQ(patched.status, 400) << c.cidrs << ": " << patched.body;
    auto fields = Fields(patched.body);
    EXPECT_NE(std::find(fields.begin(), fields.end(), c.field), fields.end()) << c.cidrs << ": " << patched.body;
  }
  EXPECT_EQ(Admin("PATCH", path, "{}").status, 400);
  EXPECT_EQ(Admin("PATCH", "/api/v1/api-keys/999", R"({"allowed_cidrs":[]})").status, 404);
  EXPECT_EQ(Count("/api/v1/api-keys"), keys);
  EXPECT_EQ(Call("GET", "/api/v1/customers", "", secret).status, 200);
}

TEST_F(StepUpE2eTest, AWriteKeyOutsideItsNetworksCannotIngest) {
  auto [id, secret] = MakeKey(R"(["198.51.100.0/24"])", "ingest");
  (void)id;
  std::string basic = testing::BasicAuth(secret);

  HttpResponse r = client_->Request("POST", "/v1/track", R"({"userId":"u1","event":"Viewed"})",
                                    {{"Authorization", basic}, {"Content-Type", "application/json"}});

  EXPECT_EQ(r.status, 403) << r.body;
}

}  // namespace
}  // namespace panorama
