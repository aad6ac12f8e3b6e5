// S5 across a restart (SECURITY.md §1 row 7): the sign-in throttle counters are stored (migration 14), so killing
// and starting `panorama serve` again does not give an attacker a fresh budget. The real binary on 127.0.0.1,
// real HTTP; the server is SIGKILLed, so nothing is written at shutdown that a crash would lose.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "tests/support/http_client.h"
#include "tests/support/serve_process.h"
#include "tests/support/temp_dir.h"

#ifndef PANORAMA_BINARY
#error "PANORAMA_BINARY must name the panorama executable"
#endif
#ifndef PANORAMA_TEST_LOG_DIR
#error "PANORAMA_TEST_LOG_DIR must name the directory for server logs"
#endif

namespace panorama {
namespace {

constexpr const char* kMasterKey = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";  // test-only master key
constexpr const char* kAdminPassword = "throttle-e2e-admin-password";
// Given, so that serve does not generate one and print it (S17 would find a pwk_ token in the log).
constexpr const char* kWriteKey = "throttle-e2e-write-key-01";

test::HttpResponse Login(uint16_t port, const std::string& user, const std::string& password) {
  test::HttpClient client("127.0.0.1", port);
  return client.Request("POST", "/api/v1/auth/login",
                        R"({"username":")" + user + R"(","password":")" + password + "\"}",
                        {{"Content-Type", "application/json"}});
}

// 20 failures in a minute from one address (20 different names, so only the per-IP window applies) refuse that
// address for the rest of the minute — before the restart and, read back from the database, after it.
TEST(ThrottleRestartE2eTest, AnAddressRefusedBeforeAKillIsStillRefusedAfterTheRestart) {
  testing::TempDir dir;
  std::filesystem::create_directories(PANORAMA_TEST_LOG_DIR);
  const std::string log_path = std::string(PANORAMA_TEST_LOG_DIR) + "/throttle_restart.log";
  std::filesystem::remove(log_path);
  testing::ServeProcess server = testing::StartServe(
      PANORAMA_BINARY, dir.path().string(), log_path,
      {{"PANORAMA_MASTER_KEY", kMasterKey}, {"PANORAMA_ADMIN_PASSWORD", kAdminPassword},
       {"PANORAMA_WRITE_KEY", kWriteKey}});
  ASSERT_NE(server.port, 0) << "server did not start; see " << log_path;

  int unauthorized = 0;
  for (int i = 0; i < 20; ++i) {
    unauthorized += Login(server.port, "nobody-" + std::to_string(i), "a wrong password").status == 401;
  }
  test::HttpResponse before = Login(server.port, "admin", kAdminPassword);
  ASSERT_TRUE(testing::KillServe(server));

  testing::ServeProcess restarted =
      testing::StartServe(PANORAMA_BINARY, dir.path().string(), log_path,
                          {{"PANORAMA_MASTER_KEY", kMasterKey}, {"PANORAMA_WRITE_KEY", kWriteKey}});
  ASSERT_NE(restarted.port, 0) << "server did not restart; see " << log_path;
  test::HttpResponse after = Login(restarted.port, "admin", kAdminPassword);
  testing::KillServe(restarted);

  EXPECT_EQ(unauthorized, 20);
  EXPECT_EQ(before.status, 429) << before.body;
  ASSERT_EQ(after.status, 429) << "the restart reset the throttle: " << after.body;
  int retry_after = std::atoi(std::string(after.Header("retry-after")).c_str());
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 60);
  EXPECT_EQ(after.Header("content-type"), "application/problem+json");
}

}  // namespace
}  // namespace panorama
