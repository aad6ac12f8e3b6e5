// Acknowledged writes survive kill -9: the real server binary takes an ingest burst from several connections,
// is killed with SIGKILL mid-burst, and every event it acknowledged must be in the database, which must pass
// SQLite's integrity check.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/store.h"
#include "tests/support/http_client.h"
#include "tests/support/test_crypto.h"
#include "tests/support/temp_dir.h"

#ifndef PANORAMA_BINARY
#error "PANORAMA_BINARY must name the panorama executable"
#endif

namespace panorama {
namespace {

constexpr const char* kWriteKey = "crash-test-write-key-0001";
constexpr const char* kMasterKey = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";  // test-only master key

// Starts `panorama serve` on a free port and returns its pid and port (read from its first stdout line).
std::pair<pid_t, uint16_t> StartServer(const std::string& data_dir) {
  int out[2];
  PANORAMA_CHECK(pipe(out) == 0);
  pid_t pid = fork();
  PANORAMA_CHECK(pid >= 0);
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    setenv("PANORAMA_WRITE_KEY", kWriteKey, 1);
    setenv("PANORAMA_MASTER_KEY", kMasterKey, 1);
    setenv("PANORAMA_ADMIN_PASSWORD", "crash-test-admin-password", 1);
    execl(PANORAMA_BINARY, PANORAMA_BINARY, "serve", "--data", data_dir.c_str(), "--listen", "127.0.0.1:0",
          "--no-access-log", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  FILE* stream = fdopen(out[0], "r");
  char line[512];
  uint16_t port = 0;
  while (port == 0 && std::fgets(line, sizeof line, stream)) {
    unsigned p = 0;
    if (std::sscanf(line, "listening on http://127.0.0.1:%u", &p) == 1) port = static_cast<uint16_t>(p);
  }
  PANORAMA_CHECK(port != 0);
  return {pid, port};
}

TEST(CrashDurability, EveryAcknowledgedEventSurvivesSigkill) {
  testing::TempDir dir;
  auto [pid, port] = StartServer(dir.path().string());
  const std::string auth = "Basic Y3Jhc2gtdGVzdC13cml0ZS1rZXktMDAwMTo=";  // base64("crash-test-write-key-0001:")
  std::mutex mu;
  std::vector<std::string> acknowledged;  // user ids of acknowledged batches' events
  std::atomic<bool> stop{false};
  std::atomic<int> sequence{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < 6; ++t) {
    senders.emplace_back([&, port = port] {
      test::HttpClient client("127.0.0.1", port, std::chrono::seconds(5));
      while (!stop) {
        std::vector<std::string> ids;
        std::string body = R"({"batch":[)";
        for (int i = 0; i < 20; ++i) {
          std::string id = "crash-" + std::to_string(sequence++);
          ids.push_back(id);
          body += (i ? "," : "") + std::string(R"({"type":"track","event":"Clicked","userId":")") + id +
                  R"(","messageId":")" + id + R"("})";
        }
        body += "]}";
        auto response = client.Request("POST", "/v1/batch", body, {{"Authorization", auth}});
        if (response.status == 200) {
          std::lock_guard lock(mu);
          acknowledged.insert(acknowledged.end(), ids.begin(), ids.end());
        } else if (response.status == 0) {
          return;  // the server is gone
        }
      }
    });
  }
  // Let the burst run until a good number of batches are acknowledged, then kill without warning.
  for (int i = 0; i < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::lock_guard lock(mu);
    if (acknowledged.size() >= 2000) break;
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  stop = true;
  for (auto& s : senders) s.join();

  auto ring = security::ParseMasterKeyEnv(kMasterKey);
  ASSERT_TRUE(ring.has_value());
  auto crypto = testing::OpenTestCrypto(dir.File("keystore.db"), std::move(ring).value());
  ASSERT_TRUE(crypto.has_value()) << crypto.error().message();
  auto store = storage::OpenSqliteStore({.path = dir.File("panorama.db"), .crypto = crypto->get()});
  ASSERT_TRUE(store.has_value()) << store.error().message();
  EXPECT_TRUE((*store)->CheckIntegrity().has_value());
  ASSERT_GT(acknowledged.size(), 100u) << "the burst did not get going";
  size_t missing = 0;
  for (const auto& id : acknowledged) {
    auto owner = (*store)->FindIdentity("user_id", id);
    if (!owner || !owner->has_value()) ++missing;
  }
  EXPECT_EQ(missing, 0u) << "of " << acknowledged.size() << " acknowledged events";
  EXPECT_TRUE(WIFSIGNALED(status));
}

}  // namespace
}  // namespace panorama
