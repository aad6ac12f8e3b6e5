// R6 (SECURITY.md §3): the disk fills up during ingest. The real `panorama serve` takes /v1/batch bursts from
// two senders; once it has acknowledged some, the harness lowers its RLIMIT_FSIZE (prlimit(2) on the running
// process) to just above the database's size, so the next write past it fails with EFBIG as on a full file
// system. Pass figures, checked here: every refused batch is a 503 with Retry-After; the server logs
// "storage full"; after the limit is lifted ("space returns") a batch is acknowledged again within 5 s; at the
// end 0 acknowledged events are lost (the server is SIGKILLed, so they are on disk), no batch is half-applied,
// PRAGMA integrity_check is ok and `panorama audit verify` passes.
//
// PANORAMA_DISK_FULL_SECONDS (default 1; the nightly script uses 20) is how long the disk stays full.

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/codecs.h"
#include "tests/support/http_client.h"
#include "tests/support/ingest_batches.h"
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

using Clock = std::chrono::steady_clock;
constexpr const char* kWriteKey = "disk-full-write-key-0001";
constexpr const char* kMasterKey = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";  // test-only master key

using testing::Batch;

Batch MakeBatch(int sender, int number) {
  std::vector<testing::TrackEvent> events;
  for (int i = 0; i < 40; ++i) {
    events.push_back({"df-" + std::to_string(sender) + "-" + std::to_string(number) + "-" + std::to_string(i),
                      "u-" + std::to_string((number * 7 + i) % 300),
                      R"({"padding":")" + std::string(200, 'x') + R"("})"});
  }
  return testing::MakeTrackBatch("Viewed", events);
}

// Sets the soft limit only: lowering the hard limit could not be undone without CAP_SYS_RESOURCE. RLIM_INFINITY
// means "as high as the hard limit allows".
bool SetFileSizeLimit(pid_t pid, rlim_t bytes) {
  struct rlimit limit {};
  if (prlimit(pid, RLIMIT_FSIZE, nullptr, &limit) != 0) return false;
  limit.rlim_cur = std::min(bytes, limit.rlim_max);
  return prlimit(pid, RLIMIT_FSIZE, &limit, nullptr) == 0;
}

TEST(DiskFull, RefusesWith503RetryAfterLosesNothingAndResumesWhenSpaceReturns) {
  const int full_seconds = testing::EnvIntOr("PANORAMA_DISK_FULL_SECONDS", 1);
  testing::TempDir dir;
  const std::string log_path = testing::FreshLog(PANORAMA_TEST_LOG_DIR, "disk_full.log");
  auto server = testing::StartServe(PANORAMA_BINARY, dir.path().string(), log_path,
                                    {{"PANORAMA_WRITE_KEY", kWriteKey},
                                     {"PANORAMA_MASTER_KEY", kMasterKey},
                                     {"PANORAMA_ADMIN_PASSWORD", "disk-full-admin-password"}});
  ASSERT_NE(server.port, 0) << "server did not start; see " << log_path;

  constexpr int kSenders = 2;
  const std::string basic_auth = testing::BasicAuth(kWriteKey);
  std::mutex mu;
  // guarded by mu
  std::vector<std::vector<Batch>> batches(kSenders);
  int acked = 0, refused = 0, refused_without_retry_after = 0, other_failures = 0;
  std::map<int, int> other_statuses;
  std::string first_refusal;
  Clock::time_point space_returned{}, first_ack_after_space{};
  std::atomic<bool> stop{false}, space_back{false};

  std::vector<std::thread> senders;
  for (int t = 0; t < kSenders; ++t) {
    senders.emplace_back([&, t] {
      test::HttpClient client("127.0.0.1", server.port, std::chrono::seconds(10));
      int number = 0;
      Batch batch = MakeBatch(t, number);
      while (!stop) {
        auto response = client.Request("POST", "/v1/batch", batch.body, {{"Authorization", basic_auth}});
        std::unique_lock lock(mu);
        if (response.status == 200) {
          batch.acknowledged = true;
          batches[static_cast<size_t>(t)].push_back(std::move(batch));
          batch = MakeBatch(t, ++number);
          ++acked;
          if (space_back && first_ack_after_space == Clock::time_point{}) first_ack_after_space = Clock::now();
          continue;
        }
        if (response.status == 503) {
          ++refused;
          if (first_refusal.empty()) first_refusal = response.body;
          if (response.Header("Retry-After").empty()) ++refused_without_retry_after;
        } else {
          ++other_failures;
          ++other_statuses[response.status];
        }
        // Retried below; a client honouring Retry-After would wait longer, the harness measures the server.
        lock.unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      std::lock_guard lock(mu);
      batches[static_cast<size_t>(t)].push_back(std::move(batch));  // the last one, never acknowledged
    });
  }

  auto wait_for = [&](auto done, std::chrono::seconds limit) {
    for (auto deadline = Clock::now() + limit; Clock::now() < deadline;) {
      {
        std::lock_guard lock(mu);
        if (done()) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  bool warmed = wait_for([&] { return acked >= 10; }, std::chrono::seconds(20));
  EXPECT_TRUE(warmed) << "ingest did not get going";

  // The disk fills: no file of the server may grow past the database's size plus a little.
  auto db_size = std::filesystem::file_size(dir.File("panorama.db"));
  ASSERT_TRUE(SetFileSizeLimit(server.pid, db_size + 64 * 1024)) << "prlimit(RLIMIT_FSIZE) refused";
  bool full = wait_for([&] { return refused > 0; }, std::chrono::seconds(30));
  EXPECT_TRUE(full) << "ingest never reached the file-size limit";
  std::this_thread::sleep_for(std::chrono::seconds(full_seconds));
  int refused_while_full = 0;
  {
    std::lock_guard lock(mu);
    refused_while_full = refused;
  }

  // Space returns.
  {
    std::lock_guard lock(mu);
    space_returned = Clock::now();
    space_back = true;
  }
  ASSERT_TRUE(SetFileSizeLimit(server.pid, RLIM_INFINITY));
  bool resumed = wait_for([&] { return first_ack_after_space != Clock::time_point{}; }, std::chrono::seconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  for (auto& s : senders) s.join();
  EXPECT_TRUE(testing::KillServe(server)) << "the server died on its own (SIGXFSZ?); see " << log_path;

  double resume_seconds =
      resumed ? std::chrono::duration<double>(first_ack_after_space - space_returned).count() : -1;
  std::string integrity;
  auto counts = testing::StoredMessageCounts(dir.File("panorama.db"), &integrity);
  testing::BatchTally tally;
  for (const auto& mine : batches) {
    for (const auto& batch : mine) tally.Add(batch, counts);
  }
  std::string log = testing::ReadFile(log_path);
  std::cout << "[ disk-full ] limit " << db_size + 64 * 1024 << " B; " << acked << " batches acked ("
            << tally.acked_events << " events), " << refused_while_full << " refused (503) while full, "
            << refused_without_retry_after << " without Retry-After, " << other_failures
            << " other failures; resumed " << resume_seconds << " s after space returned; lost " << tally.lost
            << ", duplicated " << tally.duplicated << ", torn " << tally.torn << ", integrity " << integrity << "\n";
  std::cout << "[ disk-full ] first refusal: " << first_refusal << "\n";
  for (const auto& [status, n] : other_statuses) std::cout << "[ disk-full ] status " << status << " x" << n << "\n";
  EXPECT_GT(refused_while_full, 0);
  EXPECT_EQ(refused_without_retry_after, 0) << "503 without Retry-After";
  EXPECT_EQ(other_failures, 0) << "refusals other than 503 while the disk was full";
  EXPECT_NE(log.find("storage full"), std::string::npos) << "the log does not name \"storage full\": " << log_path;
  EXPECT_TRUE(resumed) << "no write acknowledged within 10 s after space returned";
  EXPECT_LE(resume_seconds, 5.0) << "writes resumed more than 5 s after space returned";
  EXPECT_EQ(tally.lost, 0u) << "acknowledged events lost";
  EXPECT_EQ(tally.duplicated, 0u);
  EXPECT_EQ(tally.torn, 0u) << "batches half-applied";
  EXPECT_EQ(integrity, "ok");
  std::string verify = std::string(PANORAMA_BINARY) + " audit verify --data " + dir.path().string() + " >/dev/null";
  EXPECT_EQ(std::system(verify.c_str()), 0) << "audit verify failed after the disk-full episode";
}

}  // namespace
}  // namespace panorama
