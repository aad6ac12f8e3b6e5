// R1 (SECURITY.md §3): acknowledged writes survive kill -9. The real server binary takes /v1/batch bursts
// (20–100 events each, unique messageIds) from several connections and is SIGKILLed at a random instant of
// each burst, then restarted; clients retry every batch that was not acknowledged, as Segment SDKs do. At the
// end: every acknowledged event is stored exactly once, every batch is all-or-nothing, PRAGMA integrity_check is
// ok, and the median restart took under 2 s.
//
// PANORAMA_CRASH_KILLS (default 10; the nightly script uses 50) and PANORAMA_CRASH_SEED (default: random,
// printed) reproduce a run. Server output goes to <build>/test-logs/ for the log-hygiene scan (S17).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "storage/store.h"
#include "tests/support/codecs.h"
#include "tests/support/http_client.h"
#include "tests/support/ingest_batches.h"
#include "tests/support/serve_process.h"
#include "tests/support/test_crypto.h"
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
constexpr const char* kWriteKey = "crash-test-write-key-0001";
constexpr const char* kMasterKey = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";  // test-only master key

// Only the first start sets the admin password: setting it re-hashes it with argon2id (about a second of CPU by
// design), which would be measured as restart time although a real restart does not do it.
testing::ServeProcess StartServer(const std::string& data_dir, const std::string& log_path, bool first) {
  std::vector<std::pair<std::string, std::string>> env = {{"PANORAMA_WRITE_KEY", kWriteKey},
                                                          {"PANORAMA_MASTER_KEY", kMasterKey}};
  if (first) env.emplace_back("PANORAMA_ADMIN_PASSWORD", "crash-test-admin-password");
  return testing::StartServe(PANORAMA_BINARY, data_dir, log_path, env);
}

using testing::Batch;

int AckedBatches(const std::vector<Batch>& sent) {
  return static_cast<int>(std::count_if(sent.begin(), sent.end(), [](const Batch& b) { return b.acknowledged; }));
}

Batch MakeBatch(std::mt19937_64& rng, const std::string& prefix, int number) {
  int size = std::uniform_int_distribution<int>(20, 100)(rng);
  std::vector<testing::TrackEvent> events;
  for (int i = 0; i < size; ++i) {
    // A few users per batch, shared across batches, so identity resolution and merges run under the crash too.
    std::string user = "user-" + std::to_string(std::uniform_int_distribution<int>(0, 500)(rng));
    events.push_back({prefix + std::to_string(number) + "-" + std::to_string(i), user,
                      R"({"n":)" + std::to_string(i) + "}"});
  }
  return testing::MakeTrackBatch("Clicked", events);
}

TEST(CrashDurability, AcknowledgedEventsSurviveRepeatedSigkillsExactlyOnce) {
  const int kills = testing::EnvIntOr("PANORAMA_CRASH_KILLS", 10);
  const uint64_t seed = std::getenv("PANORAMA_CRASH_SEED") ? std::strtoull(std::getenv("PANORAMA_CRASH_SEED"), nullptr, 10)
                                                             : std::random_device{}();
  std::cout << "[ crash ] seed " << seed << ", " << kills << " kills (PANORAMA_CRASH_SEED, PANORAMA_CRASH_KILLS)\n";
  std::mt19937_64 rng(seed);
  testing::TempDir dir;
  const std::string log_path = testing::FreshLog(PANORAMA_TEST_LOG_DIR, "crash_durability.log");

  constexpr int kSenders = 4;
  const std::string basic_auth = testing::BasicAuth(kWriteKey);
  std::mutex mu;
  // guarded by mu
  std::vector<Batch> sent;              // every batch ever built
  std::vector<std::vector<int>> pending(kSenders);  // per sender: batches to (re)send first, in order
  int next_batch = 0;
  std::vector<double> startups;
  int acked_batches_at_last_kill = 0;

  for (int round = 0; round <= kills; ++round) {
    testing::ServeProcess server = StartServer(dir.path().string(), log_path, round == 0);
    ASSERT_NE(server.port, 0) << "server did not start in round " << round << "; see " << log_path;
    if (round > 0) startups.push_back(server.startup_seconds);
    if (round == kills) {
      // Final round: let the retries of every un-acknowledged batch finish, then stop the server cleanly.
      std::vector<std::thread> senders;
      for (int t = 0; t < kSenders; ++t) {
        senders.emplace_back([&, t, port = server.port] {
          test::HttpClient client("127.0.0.1", port, std::chrono::seconds(10));
          std::vector<int> mine;
          {
            std::lock_guard lock(mu);
            mine.swap(pending[t]);
          }
          for (int b : mine) {
            auto response = client.Request("POST", "/v1/batch", sent[static_cast<size_t>(b)].body,
                                           {{"Authorization", basic_auth}});
            std::lock_guard lock(mu);
            if (response.status == 200) {
              sent[static_cast<size_t>(b)].acknowledged = true;
            } else {
              pending[t].push_back(b);
            }
          }
        });
      }
      for (auto& s : senders) s.join();
      testing::KillServe(server);
      break;
    }

    std::atomic<bool> server_gone{false};
    std::vector<std::thread> senders;
    std::vector<std::mt19937_64> thread_rngs;
    for (int t = 0; t < kSenders; ++t) thread_rngs.emplace_back(rng());
    for (int t = 0; t < kSenders; ++t) {
      senders.emplace_back([&, t, port = server.port] {
        test::HttpClient client("127.0.0.1", port, std::chrono::seconds(5));
        while (!server_gone) {
          int b;
          {
            std::lock_guard lock(mu);
            if (!pending[t].empty()) {
              b = pending[t].front();
            } else {
              b = next_batch++;
              sent.push_back(MakeBatch(thread_rngs[static_cast<size_t>(t)], "m" + std::to_string(seed) + "-", b));
              pending[t].push_back(b);
            }
          }
          std::string body;
          {
            std::lock_guard lock(mu);
            body = sent[static_cast<size_t>(b)].body;
          }
          auto response = client.Request("POST", "/v1/batch", body, {{"Authorization", basic_auth}});
          std::lock_guard lock(mu);
          if (response.status == 200) {
            sent[static_cast<size_t>(b)].acknowledged = true;
            pending[t].erase(pending[t].begin());
          } else if (response.status == 0) {
            return;  // the server is gone; the batch stays pending for the next round
          }
        }
      });
    }
    // Kill at a random instant of the burst: once this round has had its first acknowledgement (so the kill
    // lands mid-burst even on a slow sanitizer build), after a further random 0–300 ms.
    for (auto deadline = Clock::now() + std::chrono::seconds(10); Clock::now() < deadline;) {
      {
        std::lock_guard lock(mu);
        if (AckedBatches(sent) > acked_batches_at_last_kill) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 300)(rng)));
    EXPECT_TRUE(testing::KillServe(server)) << "round " << round << ": the server exited on its own";
    server_gone = true;
    for (auto& s : senders) s.join();
    std::lock_guard lock(mu);
    acked_batches_at_last_kill = AckedBatches(sent);
  }

  auto ring = security::ParseMasterKeyEnv(kMasterKey);
  ASSERT_TRUE(ring.has_value());
  auto crypto = testing::OpenTestCrypto(dir.File("keystore.db"), std::move(ring).value());
  ASSERT_TRUE(crypto.has_value()) << crypto.error().message();
  auto store = storage::OpenSqliteStore({.path = dir.File("panorama.db"), .crypto = crypto->get()});
  ASSERT_TRUE(store.has_value()) << store.error().message();
  EXPECT_TRUE((*store)->CheckIntegrity().has_value()) << "PRAGMA integrity_check failed";
  store->reset();

  auto counts = testing::StoredMessageCounts(dir.File("panorama.db"));
  testing::BatchTally tally;
  for (const Batch& batch : sent) tally.Add(batch, counts);
  double slowest = *std::max_element(startups.begin(), startups.end());
  std::vector<double> sorted = startups;
  std::sort(sorted.begin(), sorted.end());
  double median = sorted[sorted.size() / 2];
  std::cout << "[ crash ] " << sent.size() << " batches, " << tally.acked_events << " acknowledged events, "
            << acked_batches_at_last_kill << " batches acked before the last kill; lost " << tally.lost
            << ", duplicated " << tally.duplicated << ", torn batches " << tally.torn << ", still unacked "
            << tally.unacked << "; start-up median " << median << " s, slowest " << slowest << " s\n";
  EXPECT_GE(acked_batches_at_last_kill, kills) << "the bursts did not get going";
  EXPECT_EQ(tally.lost, 0u) << "acknowledged events missing after SIGKILL (seed " << seed << ")";
  EXPECT_EQ(tally.duplicated, 0u) << "events stored more than once (seed " << seed << ")";
  EXPECT_EQ(tally.torn, 0u) << "batches partly applied (seed " << seed << ")";
  EXPECT_EQ(tally.unacked, 0u) << "retries after the last restart did not all succeed";
  // The median, not the maximum: on a loaded 2-core CI machine one exec can stall for seconds without the
  // server being at fault; recovery itself is what must stay fast.
  EXPECT_LT(median, 2.0) << "restarts take 2 s or more (seed " << seed << ")";
  // R1's ledger part: the kills leave a whole chain (its entries rode the same commits as the events).
  std::string verify = std::string(PANORAMA_BINARY) + " audit verify --data " + dir.path().string() + " >/dev/null";
  EXPECT_EQ(std::system(verify.c_str()), 0) << "audit verify failed after the kills (seed " << seed << ")";
}

}  // namespace
}  // namespace panorama
