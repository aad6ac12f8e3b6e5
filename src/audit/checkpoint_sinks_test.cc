// The off-box checkpoint sinks: the syslog line (facility LOG_AUTHPRIV) and the webhook's ordered retries with
// backoff, with injected transports. The real webhook over HTTP is tested in tests/e2e/ops_security_test.cc.

#include "audit/checkpoint_sinks.h"

#include <sodium.h>
#include <syslog.h>

#include <fstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "audit/ledger_service.h"
#include "audit/ledgered_store.h"
#include "audit/merkle.h"
#include "tests/support/fake_clock.h"
#include "tests/support/result_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_crypto.h"

namespace panorama::audit {
namespace {

using namespace std::chrono_literals;

TEST(SyslogSinkTest, WritesOneAuthprivInfoLinePerCheckpoint) {
  std::vector<std::pair<int, std::string>> lines;
  SyslogSink sink([&](int priority, const std::string& line) { lines.emplace_back(priority, line); });
  sink.Ship(R"({"from_seq":0,"to_seq":3})");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].first, LOG_AUTHPRIV | LOG_INFO);
  EXPECT_EQ(lines[0].second, R"({"from_seq":0,"to_seq":3})");
}

TEST(WebhookSinkTest, AFailedDeliveryIsRetriedInOrderAfterABackoffThatDoubles) {
  std::vector<std::string> delivered;
  int failures_left = 2;
  int attempts = 0;
  WebhookSink sink("http://127.0.0.1/hook", [&](const std::string& body) -> Result<void> {
    ++attempts;
    if (failures_left > 0) {
      --failures_left;
      return Error::Unavailable("receiver down");
    }
    delivered.push_back(body);
    return Ok();
  }, {.first_backoff = 100ms, .max_backoff = 1000ms});

  sink.Ship("one");  // attempt 1 fails: backoff 100 ms
  EXPECT_EQ(attempts, 1);
  sink.Ship("two");  // queued behind "one", not attempted before the backoff
  sink.Pump();
  EXPECT_EQ(attempts, 1);
  EXPECT_EQ(sink.pending(), 2u);
  std::this_thread::sleep_for(120ms);
  sink.Pump();  // attempt 2 fails: backoff doubles to 200 ms
  EXPECT_EQ(attempts, 2);
  std::this_thread::sleep_for(20ms);
  sink.Pump();
  EXPECT_EQ(attempts, 2) << "still inside the doubled backoff";
  std::this_thread::sleep_for(220ms);
  sink.Pump();
  EXPECT_EQ(delivered, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(sink.pending(), 0u);
  EXPECT_EQ(sink.delivered(), 2);
}

TEST(WebhookSinkTest, BeyondTheQueueLimitTheOldestIsDropped) {
  WebhookSink sink("http://127.0.0.1/hook", [](const std::string&) -> Result<void> {
    return Error::Unavailable("down");
  }, {.first_backoff = 10s, .max_backoff = 10s, .max_pending = 2});
  sink.Ship("a");
  sink.Ship("b");
  sink.Ship("c");
  EXPECT_EQ(sink.pending(), 2u);
}

// The ledger service hands every checkpoint to each sink as the witness line, and a failing sink leaves the
// database checkpoint in place.
TEST(LedgerServiceSinksTest, EveryCheckpointGoesToTheSinksAsTheWitnessLineAndAFailingSinkKeepsTheDbCheckpoint) {
  ASSERT_GE(sodium_init(), 0);
  testing::TempDir dir;
  auto signer = LedgerSigner::LoadOrCreate(dir.File("ledger-signing.key"));
  ASSERT_OK(signer);
  testing::FakeClock clock(FromUnixMillis(1'700'000'000'000));
  auto crypto = testing::MakeTestCrypto(dir.File("keystore.db"));
  auto inner = storage::OpenSqliteStore({.path = dir.File("panorama.db"), .crypto = crypto.get()});
  ASSERT_OK(inner);
  auto store = LedgeredStore::Open(std::move(*inner), clock);
  ASSERT_OK(store);
  std::vector<std::string> syslog_lines;
  auto syslog = std::make_shared<SyslogSink>([&](int, const std::string& line) { syslog_lines.push_back(line); });
  auto webhook = std::make_shared<WebhookSink>(
      "http://127.0.0.1/hook", [](const std::string&) -> Result<void> { return Error::Unavailable("down"); },
      WebhookSink::Options{.first_backoff = 10s});
  LedgerService service(**store, *signer, {.witness_path = dir.File("witness.jsonl"), .sinks = {syslog, webhook}});
  LedgerEntry e;
  e.action = "customer.read";
  e.object_type = "customer";
  e.object_id = "1";
  ASSERT_OK((*store)->AppendEntries({e}));

  ASSERT_OK(service.CheckpointNow());

  std::ifstream witness(dir.File("witness.jsonl"));
  std::string line;
  std::getline(witness, line);
  ASSERT_EQ(syslog_lines.size(), 1u);
  EXPECT_EQ(syslog_lines[0], line);
  EXPECT_NE(line.find("\"signature\":\""), std::string::npos);
  EXPECT_EQ(webhook->pending(), 1u);
  auto checkpoints = (*store)->ListCheckpoints();
  ASSERT_OK(checkpoints);
  EXPECT_EQ(checkpoints->size(), 1u);
}

}  // namespace
}  // namespace panorama::audit
