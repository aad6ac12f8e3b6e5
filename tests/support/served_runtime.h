#pragma once
// A real Runtime over a temporary data directory, serving HTTP on 127.0.0.1 with an admin signed in: the
// fixture of the e2e API tests (MFA relaxed for every role, as these tests exercise other controls).

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "app/runtime.h"
#include "tests/support/http_client.h"
#include "tests/support/relax_mfa.h"
#include "tests/support/temp_dir.h"

namespace panorama::test {

class ServedRuntimeTest : public ::testing::Test {
 protected:
  static constexpr const char* kPassword = "e2e-admin-password-123";
  static constexpr const char* kWriteKey = "e2e-write-key-0123456789";

  void SetUp() override {
    setenv("PANORAMA_ADMIN_PASSWORD", kPassword, 1);
    setenv("PANORAMA_WRITE_KEY", kWriteKey, 1);
    runtime_ = std::move(app::Runtime::Open({.data_dir = dir_.path().string()})).value();
    ASSERT_TRUE(runtime_->Bootstrap().has_value());
    testing::RelaxMfaForAllRoles(runtime_->auth());
    auto server = runtime_->Start({.listen = "127.0.0.1:0", .access_log = false, .retention_job = false});
    ASSERT_TRUE(server.has_value()) << server.error().message();
    server_ = std::move(*server);
    client_ = std::make_unique<HttpClient>("127.0.0.1", server_->port());
    HttpResponse login = client_->Request("POST", "/api/v1/auth/login",
                                          std::string(R"({"username":"admin","password":")") + kPassword + "\"}");
    ASSERT_EQ(login.status, 200) << login.body;
    token_ = std::string(parser_.parse(login.body).value()["token"].get_string().value());
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  // A request as the signed-in admin.
  HttpResponse Api(std::string_view method, std::string_view target, std::string_view body = {},
                   HeaderList headers = {}) {
    headers.emplace_back("Authorization", "Bearer " + token_);
    return client_->Request(method, target, body, headers);
  }
  simdjson::dom::element Json(const HttpResponse& r) { return parser_.parse(r.body).value(); }
  int64_t CreateCustomer(const std::string& body) {
    HttpResponse created = Api("POST", "/api/v1/customers", body);
    EXPECT_EQ(created.status, 201) << created.body;
    return parser_.parse(created.body).value()["id"].get_int64().value();
  }

  testing::TempDir dir_;
  std::unique_ptr<app::Runtime> runtime_;
  std::unique_ptr<app::Runtime::RunningServer> server_;
  std::unique_ptr<HttpClient> client_;
  std::string token_;
  simdjson::dom::parser parser_;
};

}  // namespace panorama::test
