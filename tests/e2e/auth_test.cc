// Sign-in, MFA, sessions and rate limits through the real server on 127.0.0.1 (tests S5–S9 at the HTTP edge).

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>

#include "app/runtime.h"
#include "security/auth_service.h"
#include "security/totp.h"
#include "storage/store.h"
#include "tests/support/codecs.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

namespace panorama {
namespace {

using test::HttpClient;
using test::HttpResponse;
using testing::DecodeBase32;

constexpr const char* kPassword = "e2e-admin-password-123";

class AuthE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("PANORAMA_ADMIN_PASSWORD", kPassword, 1);
    unsetenv("PANORAMA_WRITE_KEY");
    runtime_ = std::move(app::Runtime::Open({.data_dir = dir_.path().string()})).value();
    ASSERT_TRUE(runtime_->Bootstrap().has_value());
  }

  void StartServer(security::RateLimitOptions limits = {}) {
    auto server = runtime_->Start({.listen = "127.0.0.1:0", .access_log = false, .rate_limits = limits});
    ASSERT_TRUE(server.has_value()) << server.error().message();
    server_ = std::move(*server);
    client_ = std::make_unique<HttpClient>("127.0.0.1", server_->port());
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  HttpResponse Post(std::string_view path, const std::string& body, const std::string& token = "") {
    test::HeaderList headers;
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return client_->Request("POST", path, body, headers);
  }
  HttpResponse Get(std::string_view path, const std::string& token) {
    return client_->Request("GET", path, "", {{"Authorization", "Bearer " + token}});
  }
  HttpResponse Login(const std::string& user = "admin", const std::string& password = kPassword) {
    return Post("/api/v1/auth/login", R"({"username":")" + user + R"(","password":")" + password + "\"}");
  }
  std::string Field(const HttpResponse& r, const char* key) {
    return std::string(parser_.parse(r.body)[key].get_string().value());
  }
  std::string CodeNow(const std::string& seed, int offset = 0) {
    return security::TotpCode(seed, security::TotpStep(ToUnixMillis(runtime_->clock().Now()) / 1000) + offset);
  }
  // The admin's access token, signing in with the password alone.
  std::string RelaxAndSignIn() {
    EXPECT_TRUE(runtime_->auth().SetRoleMfaRequired("admin", false, "test").has_value());
    HttpResponse login = Login();
    EXPECT_EQ(login.status, 200) << login.body;
    return Field(login, "token");
  }

  testing::TempDir dir_;
  std::unique_ptr<app::Runtime> runtime_;
  std::unique_ptr<app::Runtime::RunningServer> server_;
  std::unique_ptr<HttpClient> client_;
  simdjson::dom::parser parser_;
};

TEST_F(AuthE2eTest, AFreshAdminEnrolsTotpBeforeGettingASession) {
  StartServer();

  HttpResponse login = Login();
  ASSERT_EQ(login.status, 200) << login.body;
  EXPECT_EQ(Field(login, "status"), "mfa_enrolment_required");
  std::string mfa_token = Field(login, "mfa_token");
  EXPECT_EQ(Get("/api/v1/me", mfa_token).status, 401);
  HttpResponse enrol = Post("/api/v1/auth/mfa/enroll", R"({"mfa_token":")" + mfa_token + "\"}");
  ASSERT_EQ(enrol.status, 200) << enrol.body;
  EXPECT_TRUE(Field(enrol, "otpauth_uri").starts_with("otpauth://totp/Panorama:admin?secret="));
  EXPECT_TRUE(Field(enrol, "qr_code").starts_with("data:image/svg+xml;base64,"));
  EXPECT_EQ(enrol.Header("cache-control"), "no-store");
  std::string seed = DecodeBase32(Field(enrol, "secret"));
  HttpResponse confirmed = Post("/api/v1/auth/mfa/confirm",
                                R"({"mfa_token":")" + mfa_token + R"(","code":")" + CodeNow(seed) + "\"}");

  ASSERT_EQ(confirmed.status, 200) << confirmed.body;
  EXPECT_EQ(parser_.parse(confirmed.body)["recovery_codes"].get_array().size(), 10u);
  HttpResponse me = Get("/api/v1/me", Field(confirmed, "token"));
  ASSERT_EQ(me.status, 200);
  EXPECT_TRUE(parser_.parse(me.body)["mfa_enrolled"].get_bool().value());
}

TEST_F(AuthE2eTest, ReplayedAndWrongCodesAreRefusedAndFiveFailuresRestartTheSignIn) {
  StartServer();
  std::string mfa_token = Field(Login(), "mfa_token");
  std::string seed = DecodeBase32(Field(Post("/api/v1/auth/mfa/enroll", R"({"mfa_token":")" + mfa_token + "\"}"), "secret"));
  std::string used = CodeNow(seed);
  ASSERT_EQ(Post("/api/v1/auth/mfa/confirm", R"({"mfa_token":")" + mfa_token + R"(","code":")" + used + "\"}").status, 200);

  std::string challenge = Field(Login(), "mfa_token");
  HttpResponse replay = Post("/api/v1/auth/mfa/verify", R"({"mfa_token":")" + challenge + R"(","code":")" + used + "\"}");
  for (int i = 0; i < 4; ++i) {
    (void)Post("/api/v1/auth/mfa/verify", R"({"mfa_token":")" + challenge + R"(","code":"abcdef"})");
  }
  HttpResponse after = Post("/api/v1/auth/mfa/verify",
                            R"({"mfa_token":")" + challenge + R"(","code":")" + CodeNow(seed, 1) + "\"}");

  EXPECT_EQ(replay.status, 401);
  EXPECT_EQ(after.status, 401);
  EXPECT_NE(after.body.find("sign in again"), std::string::npos);
}

// Wrong codes count per account across sign-ins: 3 on one challenge and 2 on the next refuse the right code on
// a third with 429 and Retry-After, before it is evaluated.
TEST_F(AuthE2eTest, WrongCodesAcrossSignInsAreRefusedWith429AndRetryAfter) {
  StartServer();
  std::string mfa_token = Field(Login(), "mfa_token");
  std::string seed = DecodeBase32(Field(Post("/api/v1/auth/mfa/enroll", R"({"mfa_token":")" + mfa_token + "\"}"), "secret"));
  ASSERT_EQ(Post("/api/v1/auth/mfa/confirm", R"({"mfa_token":")" + mfa_token + R"(","code":")" + CodeNow(seed) + "\"}").status, 200);
  auto verify = [&](const std::string& challenge, const std::string& code) {
    return Post("/api/v1/auth/mfa/verify", R"({"mfa_token":")" + challenge + R"(","code":")" + code + "\"}");
  };
  std::string wrong = "000000";  // none of the codes accepted now or in the next step
  for (char digit = '1'; wrong == CodeNow(seed, -1) || wrong == CodeNow(seed) || wrong == CodeNow(seed, 1) ||
                         wrong == CodeNow(seed, 2);
       ++digit) {
    wrong = std::string(6, digit);
  }
  std::vector<int> statuses;
  for (int challenge = 0, wrongs = 3; challenge < 2; ++challenge, wrongs = 2) {
    std::string token = Field(Login(), "mfa_token");
    for (int i = 0; i < wrongs; ++i) statuses.push_back(verify(token, wrong).status);
  }

  HttpResponse refused = verify(Field(Login(), "mfa_token"), CodeNow(seed, 1));

  EXPECT_EQ(statuses, (std::vector<int>{401, 401, 401, 401, 401}));
  ASSERT_EQ(refused.status, 429) << refused.body;
  int retry_after = std::atoi(std::string(refused.Header("retry-after")).c_str());
  EXPECT_GE(retry_after, 50);
  EXPECT_LE(retry_after, 60);
  EXPECT_NE(Field(refused, "detail").find("wrong second-factor codes"), std::string::npos);
}

TEST_F(AuthE2eTest, RefreshRotatesAndReuseEndsTheSession) {
  StartServer();
  ASSERT_TRUE(runtime_->auth().SetRoleMfaRequired("admin", false, "test").has_value());
  HttpResponse login = Login();
  std::string access = Field(login, "token");
  std::string refresh = Field(login, "refresh_token");

  HttpResponse rotated = Post("/api/v1/auth/refresh", R"({"refresh_token":")" + refresh + "\"}");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  std::string new_access = Field(rotated, "token");
  EXPECT_EQ(Get("/api/v1/me", access).status, 401);
  EXPECT_EQ(Get("/api/v1/me", new_access).status, 200);

  HttpResponse reuse = Post("/api/v1/auth/refresh", R"({"refresh_token":")" + refresh + "\"}");

  EXPECT_EQ(reuse.status, 401);
  EXPECT_EQ(Get("/api/v1/me", new_access).status, 401);
  // Security events are in the audit ledger, not only in the log: the reuse as an alarm, and the MFA relaxation
  // above with who did it.
  auto entries = [&](const std::string& action) {
    storage::LedgerQuery query;
    query.action = action;
    return runtime_->store().ListLedger(query).value();
  };
  auto reuses = entries("security.refresh_token_reuse");
  ASSERT_EQ(reuses.size(), 1u);
  EXPECT_NE(reuses[0].body.find("\"outcome\":\"alert\""), std::string::npos) << reuses[0].body;
  EXPECT_EQ(reuses[0].body.find(refresh), std::string::npos) << "no token in the ledger";
  auto relaxed = entries("security.mfa_policy_changed");
  ASSERT_EQ(relaxed.size(), 1u);
  EXPECT_NE(relaxed[0].body.find("\"object_id\":\"role admin mfa relaxed\""), std::string::npos) << relaxed[0].body;
  EXPECT_NE(relaxed[0].body.find("\"actor\":\"test\""), std::string::npos) << relaxed[0].body;
}

TEST_F(AuthE2eTest, LogoutAllSessionsListAndAdminDisable) {
  StartServer();
  std::string first = RelaxAndSignIn();
  std::string second = Field(Login(), "token");
  HttpResponse sessions = Get("/api/v1/auth/sessions", first);
  ASSERT_EQ(sessions.status, 200);
  EXPECT_EQ(parser_.parse(sessions.body)["data"].get_array().size(), 2u);

  ASSERT_EQ(Post("/api/v1/auth/logout-all", "", first).status, 204);

  EXPECT_EQ(Get("/api/v1/me", first).status, 401);
  EXPECT_EQ(Get("/api/v1/me", second).status, 401);
}

TEST_F(AuthE2eTest, DisablingAUserOrChangingTheRoleAppliesToTheNextRequest) {
  StartServer();
  std::string admin = RelaxAndSignIn();
  ASSERT_TRUE(runtime_->auth().SetRoleMfaRequired("sales", false, "test").has_value());
  auto bob = runtime_->auth().CreateUser("bob", "bob's long passphrase", "sales");
  ASSERT_TRUE(bob.has_value());
  std::string bob_token = Field(Login("bob", "bob's long passphrase"), "token");
  std::string path = "/api/v1/users/" + std::to_string(bob->value());

  HttpResponse role = client_->Request("PATCH", path, R"({"role":"analyst"})", {{"Authorization", "Bearer " + admin}});
  ASSERT_EQ(role.status, 200) << role.body;
  EXPECT_EQ(std::string(parser_.parse(Get("/api/v1/me", bob_token).body)["role"].get_string().value()), "analyst");
  HttpResponse bad = client_->Request("PATCH", path, R"({"disabled":"yes"})", {{"Authorization", "Bearer " + admin}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Get("/api/v1/me", bob_token).status, 200);  // the bad request changed nothing
  HttpResponse disabled = client_->Request("PATCH", path, R"({"disabled":true})", {{"Authorization", "Bearer " + admin}});
  ASSERT_EQ(disabled.status, 200);

  EXPECT_EQ(Get("/api/v1/me", bob_token).status, 401);
}

// S6 at the edge: an unknown user and a wrong password get the same status and the same body.
TEST_F(AuthE2eTest, UnknownUserAndWrongPasswordLookTheSame) {
  StartServer();

  HttpResponse wrong = Login("admin", "not the password at all");
  HttpResponse unknown = Login("nobody-here", "not the password at all");

  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, wrong.status);
  EXPECT_EQ(unknown.body, wrong.body);
}

// S5 at the edge: repeated failures from one address get 429 with Retry-After.
TEST_F(AuthE2eTest, RepeatedFailuresAreAnsweredWith429AndRetryAfter) {
  StartServer();
  for (int i = 0; i < 4; ++i) ASSERT_EQ(Login("admin", "wrong password " + std::to_string(i)).status, 401);

  HttpResponse throttled = Login();

  EXPECT_EQ(throttled.status, 429) << throttled.body;
  EXPECT_FALSE(throttled.Header("retry-after").empty());
  EXPECT_EQ(throttled.Header("content-type"), "application/problem+json");
}

// S9 at the edge: a key over its limit gets 429 + Retry-After; another key is unaffected.
TEST_F(AuthE2eTest, AKeyOverItsLimitGets429AndAnotherKeyDoesNot) {
  StartServer({.per_key = {2, 2}});
  auto busy = runtime_->auth().CreateApiKey("busy", "api", "read");
  auto calm = runtime_->auth().CreateApiKey("calm", "api", "read");
  ASSERT_TRUE(busy.has_value() && calm.has_value());
  auto started = std::chrono::steady_clock::now();
  int accepted = 0, limited = 0, without_retry_after = 0;

  for (int i = 0; i < 12; ++i) {
    HttpResponse r = Get("/api/v1/me", busy->secret);
    if (r.status == 200) ++accepted;
    if (r.status == 429) {
      ++limited;
      if (r.Header("retry-after").empty()) ++without_retry_after;
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  EXPECT_LE(accepted, 2 + static_cast<int>(seconds * 2) + 1);
  EXPECT_EQ(accepted + limited, 12);
  EXPECT_EQ(without_retry_after, 0);
  EXPECT_EQ(Get("/api/v1/me", calm->secret).status, 200);
}

TEST_F(AuthE2eTest, KeysAreNeverAcceptedInTheQueryString) {
  StartServer();
  auto key = runtime_->auth().CreateApiKey("etl", "api", "read");
  ASSERT_TRUE(key.has_value());

  for (const char* name : {"api_key", "access_token", "token", "key"}) {
    EXPECT_EQ(client_->Request("GET", std::string("/api/v1/me?") + name + "=" + key->secret).status, 401) << name;
  }
}

TEST_F(AuthE2eTest, AdminRelaxesMfaForARoleAndItIsRecorded) {
  StartServer();
  std::string admin = RelaxAndSignIn();

  HttpResponse set = client_->Request("PUT", "/api/v1/security/mfa-policy/support", R"({"mfa_required":false})",
                                      {{"Authorization", "Bearer " + admin}});
  HttpResponse bad = client_->Request("PUT", "/api/v1/security/mfa-policy/king", R"({"mfa_required":false})",
                                      {{"Authorization", "Bearer " + admin}});

  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(std::string(parser_.parse(set.body)["changed_by"].get_string().value()), "admin");
  EXPECT_EQ(bad.status, 400);
  auto relaxed = runtime_->auth().RelaxedRoles().value();
  EXPECT_EQ(relaxed, (std::vector<std::string>{"admin", "support"}));
}

// The Set-Cookie header that sets `name`, or empty.
std::string SetCookieFor(const HttpResponse& r, std::string_view name) {
  for (const auto& [header, value] : r.headers) {
    if (header == "set-cookie" && value.starts_with(std::string(name) + "=")) return value;
  }
  return "";
}

// The cookie's value from a Set-Cookie header ("name=value; …").
std::string CookieValueOf(const std::string& set_cookie) {
  size_t eq = set_cookie.find('=');
  size_t end = set_cookie.find(';');
  return set_cookie.substr(eq + 1, end - eq - 1);
}

const test::HeaderList kConsole = {{"X-Requested-With", "panorama-console"}};

test::HeaderList With(test::HeaderList headers, const std::string& name, const std::string& value) {
  headers.emplace_back(name, value);
  return headers;
}

// SECURITY.md §2.4: the console's session is a __Host- cookie (Secure, HttpOnly, SameSite=Strict) that the body
// never repeats, and a state change authenticated by that cookie needs the console's header.
TEST_F(AuthE2eTest, TheConsoleSessionIsAHostOnlyCookieAndCrossSiteChangesAreRefused) {
  StartServer();
  ASSERT_TRUE(runtime_->auth().SetRoleMfaRequired("admin", false, "test").has_value());

  HttpResponse login = client_->Request(
      "POST", "/api/v1/auth/login", R"({"username":"admin","password":")" + std::string(kPassword) + "\"}", kConsole);

  ASSERT_EQ(login.status, 200) << login.body;
  EXPECT_EQ(Field(login, "session"), "cookie");
  for (const char* secret : {"\"token\"", "\"refresh_token\"", "\"device_token\"", "pst_", "prt_", "pdv_"}) {
    EXPECT_EQ(login.body.find(secret), std::string::npos) << secret << " in " << login.body;
  }
  std::string session = SetCookieFor(login, "__Host-pn_session");
  std::string refresh = SetCookieFor(login, "__Host-pn_refresh");
  std::string device = SetCookieFor(login, "__Host-pn_device");
  EXPECT_TRUE(session.starts_with("__Host-pn_session=pst_")) << session;
  EXPECT_NE(session.find("; Path=/; Max-Age=900; Secure; HttpOnly; SameSite=Strict"), std::string::npos) << session;
  EXPECT_EQ(session.find("Domain"), std::string::npos);
  EXPECT_TRUE(refresh.starts_with("__Host-pn_refresh=prt_")) << refresh;
  EXPECT_NE(refresh.find("Max-Age=1800; Secure; HttpOnly; SameSite=Strict"), std::string::npos) << refresh;
  EXPECT_TRUE(device.starts_with("__Host-pn_device=pdv_")) << device;
  EXPECT_NE(device.find("Max-Age=7776000; Secure; HttpOnly; SameSite=Strict"), std::string::npos) << device;

  std::string cookie = "__Host-pn_session=" + CookieValueOf(session) + "; other=1";
  EXPECT_EQ(client_->Request("GET", "/api/v1/me", "", {{"Cookie", cookie}}).status, 200);
  // A cross-site form or fetch carries the cookie (were SameSite not there) but cannot add the header.
  HttpResponse forged = client_->Request("POST", "/api/v1/auth/logout-all", "", {{"Cookie", cookie}});
  EXPECT_EQ(forged.status, 403) << forged.body;
  EXPECT_NE(forged.body.find("X-Requested-With"), std::string::npos);
  HttpResponse forged_create = client_->Request("POST", "/api/v1/customers", R"({"name":"Forged"})", {{"Cookie", cookie}});
  EXPECT_EQ(forged_create.status, 403);
  EXPECT_EQ(client_->Request("GET", "/api/v1/me", "", {{"Cookie", cookie}}).status, 200);  // nothing ended
  HttpResponse listed = client_->Request("GET", "/api/v1/customers", "", {{"Cookie", cookie}});
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.body.find("Forged"), std::string::npos);
  // An API key is never taken from a cookie.
  auto key = runtime_->auth().CreateApiKey("reader", "api", "read");
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(client_->Request("GET", "/api/v1/me", "", {{"Cookie", "__Host-pn_session=" + key->secret}}).status, 401);

  HttpResponse created =
      client_->Request("POST", "/api/v1/customers", R"({"name":"From the console"})", With(kConsole, "Cookie", cookie));
  EXPECT_EQ(created.status, 201) << created.body;

  std::string refresh_cookie = "__Host-pn_refresh=" + CookieValueOf(refresh);
  EXPECT_EQ(client_->Request("POST", "/api/v1/auth/refresh", "", {{"Cookie", refresh_cookie}}).status, 403);
  HttpResponse rotated = client_->Request("POST", "/api/v1/auth/refresh", "", With(kConsole, "Cookie", refresh_cookie));
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  EXPECT_EQ(rotated.body.find("prt_"), std::string::npos);
  std::string new_session = SetCookieFor(rotated, "__Host-pn_session");
  ASSERT_TRUE(new_session.starts_with("__Host-pn_session=pst_"));
  std::string new_cookie = "__Host-pn_session=" + CookieValueOf(new_session);
  EXPECT_EQ(client_->Request("GET", "/api/v1/me", "", {{"Cookie", cookie}}).status, 401);  // rotated out
  EXPECT_EQ(client_->Request("GET", "/api/v1/me", "", {{"Cookie", new_cookie}}).status, 200);

  HttpResponse logout = client_->Request("POST", "/api/v1/auth/logout", "", With(kConsole, "Cookie", new_cookie));
  ASSERT_EQ(logout.status, 204);
  EXPECT_NE(SetCookieFor(logout, "__Host-pn_session").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(client_->Request("GET", "/api/v1/me", "", {{"Cookie", new_cookie}}).status, 401);
}

// API clients keep bearer tokens in the body and get the known-device token as a field; no cookies.
TEST_F(AuthE2eTest, AnApiClientGetsItsDeviceTokenInTheBodyAndManagesItsDevices) {
  StartServer();
  ASSERT_TRUE(runtime_->auth().SetRoleMfaRequired("admin", false, "test").has_value());
  HttpResponse first = Login();
  ASSERT_EQ(first.status, 200);
  EXPECT_TRUE(SetCookieFor(first, "__Host-pn_session").empty());
  std::string device = Field(first, "device_token");
  ASSERT_TRUE(device.starts_with("pdv_"));
  std::string token = Field(first, "token");

  HttpResponse again = Post("/api/v1/auth/login", R"({"username":"admin","password":")" + std::string(kPassword) +
                                                       R"(","device_token":")" + device + "\"}");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.body.find("device_token"), std::string::npos);  // known: no new device
  HttpResponse bad = Post("/api/v1/auth/login", R"({"username":"admin","password":"x","device_token":7})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("device_token"), std::string::npos);

  HttpResponse devices = Get("/api/v1/auth/devices", token);
  ASSERT_EQ(devices.status, 200) << devices.body;
  auto list = parser_.parse(devices.body)["data"].get_array();
  ASSERT_EQ(list.size(), 1u);
  int64_t id = list.at(0)["id"].get_int64().value();
  EXPECT_EQ(devices.body.find(device), std::string::npos);
  HttpResponse current = client_->Request("GET", "/api/v1/auth/devices", "",
                                          {{"Authorization", "Bearer " + token}, {"Cookie", "__Host-pn_device=" + device}});
  EXPECT_TRUE(parser_.parse(current.body)["data"].at(0)["current"].get_bool().value());

  auto del = [&](const std::string& path) {
    return client_->Request("DELETE", path, "", {{"Authorization", "Bearer " + token}});
  };
  EXPECT_EQ(del("/api/v1/auth/devices/abc").status, 400);
  EXPECT_EQ(del("/api/v1/auth/devices/" + std::to_string(id + 1000)).status, 404);
  EXPECT_EQ(parser_.parse(Get("/api/v1/auth/devices", token).body)["data"].get_array().size(), 1u);
  EXPECT_EQ(del("/api/v1/auth/devices/" + std::to_string(id)).status, 204);
  EXPECT_EQ(parser_.parse(Get("/api/v1/auth/devices", token).body)["data"].get_array().size(), 0u);
}

// S5 at the edge, known device: while the account is throttled after failures, the owner's device gets in.
TEST_F(AuthE2eTest, AKnownDeviceSignsInWhileTheAccountIsThrottled) {
  StartServer();
  ASSERT_TRUE(runtime_->auth().SetRoleMfaRequired("admin", false, "test").has_value());
  std::string device = Field(Login(), "device_token");
  for (int i = 0; i < 4; ++i) ASSERT_EQ(Login("admin", "wrong password " + std::to_string(i)).status, 401);

  HttpResponse unknown = Login();
  HttpResponse by_cookie = client_->Request(
      "POST", "/api/v1/auth/login", R"({"username":"admin","password":")" + std::string(kPassword) + "\"}",
      With(kConsole, "Cookie", "__Host-pn_device=" + device));

  EXPECT_EQ(unknown.status, 429);
  ASSERT_EQ(by_cookie.status, 200) << by_cookie.body;
  EXPECT_TRUE(SetCookieFor(by_cookie, "__Host-pn_device").empty());  // already known
  EXPECT_FALSE(SetCookieFor(by_cookie, "__Host-pn_session").empty());
}

TEST_F(AuthE2eTest, SignOutEverywhereForgetsEveryKnownDevice) {
  StartServer();
  std::string token = RelaxAndSignIn();
  ASSERT_EQ(Login().status, 200);
  ASSERT_EQ(runtime_->auth().ListDevices(runtime_->store().FindUserByName("admin")->id)->size(), 2u);

  HttpResponse out = Post("/api/v1/auth/logout-all", "", token);

  ASSERT_EQ(out.status, 204);
  EXPECT_NE(SetCookieFor(out, "__Host-pn_device").find("Max-Age=0"), std::string::npos);
  EXPECT_TRUE(runtime_->auth().ListDevices(runtime_->store().FindUserByName("admin")->id)->empty());
}

}  // namespace
}  // namespace panorama
