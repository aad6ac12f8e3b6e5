#include "security/login_throttle.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sqlite3.h>

#include <algorithm>

#include "security/auth_service.h"
#include "storage/store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/result_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_crypto.h"

namespace panorama::security {
namespace {

const Timestamp kStart = FromUnixMillis(1'790'000'000'000);

TEST(LoginThrottle, BacksOffExponentiallyPerAccountAndIp) {
  testing::FakeClock clock(kStart);
  LoginThrottle throttle(clock, {.pair_free_failures = 3, .account_free_failures = 1000});
  for (int i = 0; i < 3; ++i) ASSERT_OK(throttle.RecordFailure("alice", "10.0.0.1"));
  ASSERT_OK(throttle.Check("alice", "10.0.0.1"));

  ASSERT_OK(throttle.RecordFailure("alice", "10.0.0.1"));  // 4th: 1 s
  auto first = throttle.Check("alice", "10.0.0.1");
  ASSERT_OK(throttle.RecordFailure("alice", "10.0.0.1"));  // 5th: 2 s
  auto second = throttle.Check("alice", "10.0.0.1");

  EXPECT_ERROR_CODE(first, ErrorCode::kResourceExhausted);
  EXPECT_EQ(first.error().retry_after_seconds(), 1);
  EXPECT_EQ(second.error().retry_after_seconds(), 2);
  EXPECT_OK(throttle.Check("alice", "10.0.0.2"));  // another device of the owner is not locked by this pair
  EXPECT_OK(throttle.Check("bob", "10.0.0.1"));
}

TEST(LoginThrottle, SuccessClearsTheBackoff) {
  testing::FakeClock clock(kStart);
  LoginThrottle throttle(clock);
  for (int i = 0; i < 6; ++i) ASSERT_OK(throttle.RecordFailure("alice", "10.0.0.1"));
  EXPECT_ERROR_CODE(throttle.Check("alice", "10.0.0.1"), ErrorCode::kResourceExhausted);

  ASSERT_OK(throttle.RecordSuccess("alice", "10.0.0.1"));

  EXPECT_OK(throttle.Check("alice", "10.0.0.1"));
}

TEST(LoginThrottle, AnIpIsRefusedAfterTwentyFailuresInAMinute) {
  testing::FakeClock clock(kStart);
  LoginThrottle throttle(clock);
  for (int i = 0; i < 20; ++i) ASSERT_OK(throttle.RecordFailure("user" + std::to_string(i), "10.9.9.9"));

  auto refused = throttle.Check("someone-new", "10.9.9.9");
  clock.Advance(std::chrono::seconds(61));

  EXPECT_ERROR_CODE(refused, ErrorCode::kResourceExhausted);
  EXPECT_LE(*refused.error().retry_after_seconds(), 60);
  EXPECT_OK(throttle.Check("someone-new", "10.9.9.9"));
}

TEST(LoginThrottle, AKnownDeviceIsNotLockedByFailuresFromElsewhere) {
  testing::FakeClock clock(kStart);
  LoginThrottle throttle(clock);
  for (int i = 0; i < 200; ++i) ASSERT_OK(throttle.RecordFailure("alice", "10.0.0." + std::to_string(i % 50)));
  EXPECT_ERROR_CODE(throttle.Check("alice", "203.0.113.9"), ErrorCode::kResourceExhausted);

  auto on_device = throttle.Check("alice", "203.0.113.9", "7");
  auto other_account = throttle.Check("bob", "203.0.113.9", "7");

  EXPECT_OK(on_device);
  EXPECT_OK(other_account);
}

TEST(LoginThrottle, AKnownDeviceHasItsOwnBackoffAndLeavesTheAccountCountersAlone) {
  testing::FakeClock clock(kStart);
  LoginThrottle throttle(clock, {.pair_free_failures = 3, .account_free_failures = 3});
  for (int i = 0; i < 4; ++i) ASSERT_OK(throttle.RecordFailure("alice", "10.0.0.1", "7"));

  auto device = throttle.Check("alice", "10.0.0.1", "7");
  auto other_device = throttle.Check("alice", "10.0.0.1", "8");
  auto unknown_device = throttle.Check("alice", "10.0.0.1");

  EXPECT_ERROR_CODE(device, ErrorCode::kResourceExhausted);
  EXPECT_EQ(device.error().retry_after_seconds(), 1);
  EXPECT_OK(other_device);
  EXPECT_OK(unknown_device);
}

TEST(LoginThrottle, ABackoffIsForgottenADayAfterItsLastFailure) {
  testing::FakeClock clock(kStart);
  LoginThrottle throttle(clock, {.pair_free_failures = 3, .account_free_failures = 1000});
  for (int i = 0; i < 8; ++i) ASSERT_OK(throttle.RecordFailure("alice", "10.0.0.1"));  // 4th..8th: 1, 2, 4, 8, 16 s

  clock.Advance(std::chrono::hours(24) - std::chrono::seconds(1));
  ASSERT_OK(throttle.RecordFailure("alice", "10.0.0.1"));  // 9th within the day: 32 s
  auto within_day = throttle.Check("alice", "10.0.0.1");
  clock.Advance(std::chrono::hours(24) + std::chrono::seconds(20));
  ASSERT_OK(throttle.RecordFailure("alice", "10.0.0.1"));  // a day after the last: counts as the first again
  auto after_day = throttle.Check("alice", "10.0.0.1");

  EXPECT_ERROR_CODE(within_day, ErrorCode::kResourceExhausted);
  EXPECT_EQ(within_day.error().retry_after_seconds(), 32);
  EXPECT_OK(after_day);
}

// Second factor: wrong codes per account, 1 min from the 5th, doubling, capped at an hour.
TEST(LoginThrottle, WrongCodesBackOffPerAccountFromOneMinuteDoublingToAnHour) {
  testing::FakeClock clock(kStart);
  LoginThrottle throttle(clock, {.mfa_failures_per_day = 1000});
  std::vector<int> waits;
  for (int i = 0; i < 12; ++i) {
    ASSERT_OK(throttle.RecordMfaFailure("user:7"));
    auto check = throttle.CheckMfa("user:7");
    waits.push_back(check ? 0 : check.error().retry_after_seconds().value_or(-1));
    clock.Advance(std::chrono::seconds(waits.back()));
  }

  EXPECT_EQ(waits, (std::vector<int>{0, 0, 0, 0, 60, 120, 240, 480, 960, 1920, 3600, 3600}));
  EXPECT_OK(throttle.CheckMfa("user:8"));
  EXPECT_OK(throttle.Check("user:7", "10.0.0.1"));  // the password counters are separate
}

TEST(LoginThrottle, ACorrectCodeClearsTheCodeBackoffButNotTheDailyCeilingAndAPasswordNeither) {
  testing::FakeClock clock(kStart);
  LoginThrottle throttle(clock);
  for (int i = 0; i < 5; ++i) ASSERT_OK(throttle.RecordMfaFailure("user:7"));
  ASSERT_OK(throttle.RecordSuccess("alice", "10.0.0.1"));  // a correct password of the same account
  auto after_password = throttle.CheckMfa("user:7");
  ASSERT_OK(throttle.RecordMfaSuccess("user:7"));
  auto after_code = throttle.CheckMfa("user:7");
  for (int i = 0; i < 5; ++i) ASSERT_OK(throttle.RecordMfaFailure("user:7"));  // the 10th of the day
  clock.Advance(std::chrono::hours(1));
  ASSERT_OK(throttle.RecordMfaSuccess("user:7"));
  auto ceiling = throttle.CheckMfa("user:7");
  clock.Advance(std::chrono::hours(23));
  auto next_day = throttle.CheckMfa("user:7");

  EXPECT_ERROR_CODE(after_password, ErrorCode::kResourceExhausted);
  EXPECT_EQ(after_password.error().retry_after_seconds(), 60);
  EXPECT_NE(after_password.error().message().find("second-factor"), std::string::npos);
  EXPECT_OK(after_code);
  EXPECT_ERROR_CODE(ceiling, ErrorCode::kResourceExhausted);
  EXPECT_EQ(ceiling.error().retry_after_seconds(), 23 * 3600);
  EXPECT_NE(ceiling.error().message().find("today"), std::string::npos);
  EXPECT_OK(next_day);
}

class BruteForceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto_ = testing::MakeTestCrypto(dir_.File("keystore.db"));
    store_ = std::move(storage::OpenSqliteStore({.path = dir_.File("auth.db"), .crypto = crypto_.get()})).value();
    auth_ = std::make_unique<AuthService>(*store_, clock_);
    // The victim's hash uses argon2id's minimum cost so 100 evaluations take milliseconds; the policy under
    // test counts evaluations, not their cost.
    AddCheapUser("victim");
    ASSERT_OK(auth_->SetRoleMfaRequired("sales", false, "test"));
  }

  void AddCheapUser(const std::string& name) {
    char hash[crypto_pwhash_STRBYTES];
    std::string password = "the real passphrase";
    ASSERT_EQ(crypto_pwhash_str_alg(hash, password.data(), password.size(), crypto_pwhash_OPSLIMIT_MIN,
                                    crypto_pwhash_MEMLIMIT_MIN, crypto_pwhash_ALG_ARGON2ID13),
              0);
    storage::UserRecord user{UserId(0), name, hash, "sales", "", clock_.Now(), false};
    ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
      ASSIGN_OR_RETURN(UserId id, txn.InsertUser(user));
      (void)id;
      return Ok();
    }));
  }

  // A restart of the services: the store and the auth service are closed and opened again on the same file.
  void Reopen() {
    auth_.reset();
    store_.reset();
    store_ = std::move(storage::OpenSqliteStore({.path = dir_.File("auth.db"), .crypto = crypto_.get()})).value();
    auth_ = std::make_unique<AuthService>(*store_, clock_);
  }

  // Every stored throttle row, expired or not.
  std::vector<storage::ThrottleRecord> StoredCounters() { return store_->ListThrottle(FromUnixMillis(0)).value(); }

  testing::TempDir dir_;
  std::unique_ptr<FieldEncryptor> crypto_;
  testing::FakeClock clock_{kStart};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<AuthService> auth_;
};

// S5: 1,000 wrong passwords at one account from 50 IPs, as fast as the server answers, over one day.
TEST_F(BruteForceTest, AtMostOneHundredEvaluationsPerAccountPerDay) {
  int throttled = 0;
  int missing_retry_after = 0;

  for (int i = 0; i < 1000; ++i) {
    std::string ip = "198.51.100." + std::to_string(i % 50);
    auto result = auth_->Login("victim", "guess number " + std::to_string(i), {.ip = ip});
    if (!result && result.error().code() == ErrorCode::kResourceExhausted) {
      ++throttled;
      if (!result.error().retry_after_seconds()) ++missing_retry_after;
    }
    clock_.Advance(std::chrono::seconds(60));  // 1,000 tries spread over ~16.7 h
  }

  EXPECT_LE(auth_->PasswordEvaluationsForTest(), 100u);
  EXPECT_GE(throttled, 900);
  EXPECT_EQ(missing_retry_after, 0);
}

TEST_F(BruteForceTest, TheDailyCeilingLiftsAfterTwentyFourHours) {
  for (int i = 0; i < 300; ++i) {
    (void)auth_->Login("victim", "guess number " + std::to_string(i), {.ip = "198.51.100." + std::to_string(i % 50)});
    clock_.Advance(std::chrono::minutes(1));
  }

  clock_.Advance(std::chrono::hours(24));

  EXPECT_OK(auth_->Login("victim", "the real passphrase", {.ip = "203.0.113.7"}));
}

TEST_F(BruteForceTest, OneIpGets429AfterTwentyFailuresInAMinute) {
  for (int i = 0; i < 20; ++i) AddCheapUser("user" + std::to_string(i));
  int answered = 0;
  for (int i = 0; i < 20; ++i) {
    // Different accounts, so only the per-IP limit applies.
    auto r = auth_->Login("user" + std::to_string(i), "some wrong password", {.ip = "192.0.2.1"});
    if (r.error().code() == ErrorCode::kUnauthenticated) ++answered;
  }

  auto refused = auth_->Login("victim", "the real passphrase", {.ip = "192.0.2.1"});

  EXPECT_EQ(answered, 20);
  EXPECT_ERROR_CODE(refused, ErrorCode::kResourceExhausted);
  EXPECT_TRUE(refused.error().retry_after_seconds().has_value());
  EXPECT_OK(auth_->Login("victim", "the real passphrase", {.ip = "192.0.2.2"}));
}

// S5, known device: during 1,000 wrong passwords from 50 IPs the owner, whose browser holds the device token of
// an earlier sign-in, gets in at once; the same password without the token is throttled.
TEST_F(BruteForceTest, TheOwnersKnownDeviceSignsInDuringAnAttack) {
  auto first = auth_->Login("victim", "the real passphrase", {.ip = "203.0.113.7", .user_agent = "Mozilla/5.0"});
  ASSERT_OK(first);
  std::string device = first->device_token;
  ASSERT_TRUE(device.starts_with("pdv_"));
  for (int i = 0; i < 1000; ++i) {
    (void)auth_->Login("victim", "guess number " + std::to_string(i), {.ip = "198.51.100." + std::to_string(i % 50)});
    clock_.Advance(std::chrono::milliseconds(500));
  }
  uint64_t evaluations = auth_->PasswordEvaluationsForTest();

  auto with_device = auth_->Login("victim", "the real passphrase", {.ip = "203.0.113.7", .device_token = device});
  auto without_device = auth_->Login("victim", "the real passphrase", {.ip = "203.0.113.7"});

  EXPECT_LE(evaluations, 100u);
  ASSERT_OK(with_device);
  EXPECT_TRUE(with_device->session.has_value());
  EXPECT_TRUE(with_device->device_token.empty());  // a known device keeps its token
  EXPECT_ERROR_CODE(without_device, ErrorCode::kResourceExhausted);
}

TEST_F(BruteForceTest, AForgedOrForeignDeviceTokenIsAnUnknownDevice) {
  AddCheapUser("attacker");
  auto own = auth_->Login("attacker", "the real passphrase", {.ip = "198.51.100.1"});
  ASSERT_OK(own);
  for (int i = 0; i < 200; ++i) {
    (void)auth_->Login("victim", "guess " + std::to_string(i), {.ip = "198.51.100." + std::to_string(i % 50)});
  }

  auto foreign = auth_->Login("victim", "the real passphrase", {.ip = "198.51.100.2", .device_token = own->device_token});
  auto forged = auth_->Login("victim", "the real passphrase", {.ip = "198.51.100.3", .device_token = "pdv_forged"});

  EXPECT_ERROR_CODE(foreign, ErrorCode::kResourceExhausted);
  EXPECT_ERROR_CODE(forged, ErrorCode::kResourceExhausted);
}

TEST_F(BruteForceTest, AStolenDeviceTokenStillMeetsItsOwnBackoff) {
  auto first = auth_->Login("victim", "the real passphrase", {.ip = "203.0.113.7"});
  ASSERT_OK(first);
  ClientInfo thief{.ip = "198.51.100.9", .device_token = first->device_token};
  for (int i = 0; i < 4; ++i) {
    EXPECT_ERROR_CODE(auth_->Login("victim", "wrong guess", thief), ErrorCode::kUnauthenticated);
  }

  auto fifth = auth_->Login("victim", "another guess", thief);

  EXPECT_ERROR_CODE(fifth, ErrorCode::kResourceExhausted);
}

TEST_F(BruteForceTest, DevicesAreListedRevokedPerUserAndForgottenBySignOutEverywhere) {
  auto chrome = auth_->Login("victim", "the real passphrase",
                             {.ip = "203.0.113.7", .user_agent = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36"});
  auto curl = auth_->Login("victim", "the real passphrase", {.ip = "203.0.113.7", .user_agent = "curl/7.88.1"});
  ASSERT_OK(chrome);
  ASSERT_OK(curl);
  UserId victim = chrome->user.id;
  auto listed = auth_->ListDevices(victim);
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].user_agent, "Chrome on Linux");
  EXPECT_EQ((*listed)[1].user_agent, "curl");
  EXPECT_EQ((*listed)[0].token_sha256.size(), 64u);  // only the hash is kept

  EXPECT_ERROR_CODE(auth_->RevokeDevice(UserId(victim.value() + 100), (*listed)[0].id), ErrorCode::kNotFound);
  ASSERT_OK(auth_->RevokeDevice(victim, (*listed)[0].id));
  EXPECT_EQ(auth_->ListDevices(victim)->size(), 1u);
  auto after_revoke = auth_->Login("victim", "the real passphrase", {.ip = "203.0.113.7", .device_token = chrome->device_token});
  ASSERT_OK(after_revoke);
  EXPECT_FALSE(after_revoke->device_token.empty());  // no longer known: a new device is registered

  ASSERT_OK(auth_->LogoutEverywhere(victim));

  EXPECT_TRUE(auth_->ListDevices(victim)->empty());
}

TEST_F(BruteForceTest, DevicesExpireAfterNinetyDaysAndAreCappedPerUser) {
  auto first = auth_->Login("victim", "the real passphrase", {.ip = "203.0.113.7"});
  ASSERT_OK(first);
  clock_.Advance(std::chrono::hours(24 * 90));
  auto expired = auth_->Login("victim", "the real passphrase", {.ip = "203.0.113.7", .device_token = first->device_token});
  ASSERT_OK(expired);
  EXPECT_FALSE(expired->device_token.empty());

  for (int i = 0; i < 30; ++i) ASSERT_OK(auth_->Login("victim", "the real passphrase", {.ip = "203.0.113.7"}));

  EXPECT_EQ(auth_->ListDevices(first->user.id)->size(), 20u);
}

// Persistence (migration 14): the counters are in the database, so closing and opening the services again (a
// restart of serve) gives an attacker no fresh budget.
TEST_F(BruteForceTest, ABackoffSurvivesARestartWithTheSameRetryAfter) {
  for (int i = 0; i < 4; ++i) {
    EXPECT_ERROR_CODE(auth_->Login("victim", "wrong guess", {.ip = "198.51.100.1"}), ErrorCode::kUnauthenticated);
  }
  clock_.Advance(std::chrono::milliseconds(200));
  auto before = auth_->Login("victim", "the real passphrase", {.ip = "198.51.100.1"});

  Reopen();
  auto after = auth_->Login("victim", "the real passphrase", {.ip = "198.51.100.1"});
  uint64_t evaluated_after_restart = auth_->PasswordEvaluationsForTest();
  clock_.Advance(std::chrono::seconds(1));
  auto later = auth_->Login("victim", "the real passphrase", {.ip = "198.51.100.1"});

  EXPECT_ERROR_CODE(before, ErrorCode::kResourceExhausted);
  EXPECT_ERROR_CODE(after, ErrorCode::kResourceExhausted);
  EXPECT_EQ(after.error().retry_after_seconds(), before.error().retry_after_seconds());
  EXPECT_EQ(evaluated_after_restart, 0u);  // refused before any password check
  EXPECT_OK(later);  // the backoff ends when it would have without the restart
}

// S5 across restarts: 1,000 wrong passwords from 50 IPs over ~16.7 h with the services restarted every 100 tries
// still evaluate at most 100 (in memory only, each restart would have allowed about 100 more).
TEST_F(BruteForceTest, AtMostOneHundredEvaluationsPerDayAcrossRestarts) {
  uint64_t evaluations = 0;
  for (int i = 0; i < 1000; ++i) {
    if (i > 0 && i % 100 == 0) {
      evaluations += auth_->PasswordEvaluationsForTest();
      Reopen();
    }
    (void)auth_->Login("victim", "guess number " + std::to_string(i), {.ip = "198.51.100." + std::to_string(i % 50)});
    clock_.Advance(std::chrono::seconds(60));
  }
  evaluations += auth_->PasswordEvaluationsForTest();

  EXPECT_LE(evaluations, 100u);
  EXPECT_GE(evaluations, 50u);  // guesses did get through: the ceiling is what stopped them (85 when written)
}

TEST_F(BruteForceTest, StoredCountersAreHashedAndASuccessDeletesTheBackoffRows) {
  EXPECT_ERROR_CODE(auth_->Login("victim", "wrong guess", {.ip = "198.51.100.1"}), ErrorCode::kUnauthenticated);

  auto rows = StoredCounters();
  ASSERT_OK(auth_->Login("victim", "the real passphrase", {.ip = "198.51.100.1"}));
  auto after_success = StoredCounters();

  std::vector<std::string> kinds;
  for (const auto& r : rows) {
    kinds.push_back(r.kind);
    EXPECT_EQ(r.key.size(), 64u) << r.kind;
    EXPECT_EQ(r.key.find("victim"), std::string::npos);
    EXPECT_EQ(r.key.find("198.51"), std::string::npos);
    EXPECT_EQ(r.failures, 1);
  }
  std::sort(kinds.begin(), kinds.end());
  EXPECT_EQ(kinds, (std::vector<std::string>{"account", "account_day", "ip", "pair"}));
  // The windows (per IP, per day) are not cleared by a correct password; the backoffs are.
  kinds.clear();
  for (const auto& r : after_success) kinds.push_back(r.kind);
  std::sort(kinds.begin(), kinds.end());
  EXPECT_EQ(kinds, (std::vector<std::string>{"account_day", "ip"}));
}

TEST_F(BruteForceTest, HousekeepingDeletesExpiredCountersAndASecondRunNothing) {
  for (int i = 0; i < 4; ++i) (void)auth_->Login("victim", "wrong guess", {.ip = "198.51.100.1"});
  ASSERT_EQ(StoredCounters().size(), 4u);

  clock_.Advance(std::chrono::minutes(2));
  auto minute = auth_->PurgeExpired();
  auto kept = StoredCounters();
  clock_.Advance(std::chrono::hours(24));
  auto day = auth_->PurgeExpired();
  auto again = auth_->PurgeExpired();

  auto purged = [](const Result<storage::HousekeepingReport>& report) -> int64_t {
    for (const auto& t : report->tables) {
      if (t.table == "login_throttle") return t.rows;
    }
    return -1;
  };
  ASSERT_OK(minute);
  ASSERT_OK(day);
  ASSERT_OK(again);
  EXPECT_EQ(purged(minute), 1);  // the per-IP minute window
  EXPECT_EQ(kept.size(), 3u);
  EXPECT_EQ(purged(day), 3);     // the backoffs a day after their last failure, and the day window
  EXPECT_EQ(purged(again), 0);
  EXPECT_TRUE(StoredCounters().empty());
  EXPECT_OK(auth_->Login("victim", "the real passphrase", {.ip = "198.51.100.1"}));
}

// Rows the code did not write (a damaged or edited database) must neither crash the start nor lock anyone out
// for longer than the throttle ever would: unknown kinds, malformed keys, counts out of range and times in the
// future are skipped, and a lockout is cut to max_backoff after its last failure.
TEST_F(BruteForceTest, BadStoredCountersAreIgnoredOrBounded) {
  EXPECT_ERROR_CODE(auth_->Login("victim", "wrong guess", {.ip = "198.51.100.1"}), ErrorCode::kUnauthenticated);
  EXPECT_ERROR_CODE(auth_->Login("victim", "wrong guess", {.ip = "198.51.100.2"}), ErrorCode::kUnauthenticated);
  std::string account_key;
  for (const auto& r : StoredCounters()) {
    if (r.kind == "account") account_key = r.key;
  }
  const Timestamp now = clock_.Now();
  ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
    for (const auto& r : StoredCounters()) {
      storage::ThrottleRecord bad = r;
      if (r.kind == "pair") {
        bad.failures = 40;                                  // locked ...
        bad.locked_until = now + std::chrono::hours(24 * 365);  // ... for a year: cut to 15 minutes
        bad.expires_at = now + std::chrono::hours(1);
      } else if (r.kind == "account") {
        bad.failures = -7;  // skipped
      } else if (r.kind == "account_day") {
        bad.failures = 500;
        bad.started_at = now + std::chrono::hours(2);  // from the future: skipped
      } else {
        bad.failures = int64_t{1} << 40;  // out of range: skipped
      }
      RETURN_IF_ERROR(txn.PutThrottle(bad));
    }
    RETURN_IF_ERROR(txn.PutThrottle({"bogus", account_key, 99, now, now + std::chrono::hours(5), now + std::chrono::hours(5)}));
    RETURN_IF_ERROR(txn.PutThrottle({"account", "victim", 99, now, now + std::chrono::hours(5), now + std::chrono::hours(5)}));
    return Ok();
  }));
  // Text where numbers belong reads as 0 and is skipped like any count out of range.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir_.File("auth.db").c_str(), &db), SQLITE_OK);
    std::string sql = "INSERT INTO login_throttle VALUES ('account', '" + std::string(64, 'a') +
                      "', 'many', 'soon', 'never', " + std::to_string(ToUnixMillis(now) + 3'600'000) + ")";
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }

  Reopen();
  auto locked_pair = auth_->Login("victim", "the real passphrase", {.ip = "198.51.100.1"});
  auto other_ip = auth_->Login("victim", "the real passphrase", {.ip = "198.51.100.3"});
  clock_.Advance(std::chrono::minutes(15));
  auto after_cut = auth_->Login("victim", "the real passphrase", {.ip = "198.51.100.1"});

  EXPECT_ERROR_CODE(locked_pair, ErrorCode::kResourceExhausted);
  EXPECT_LE(locked_pair.error().retry_after_seconds().value_or(0), 15 * 60);
  EXPECT_OK(other_ip);
  EXPECT_OK(after_cut);
}

TEST(DeviceSummary, NamesBrowserAndSystemOnly) {
  EXPECT_EQ(DeviceSummary("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                          "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0"),
            "Edge on Windows");
  EXPECT_EQ(DeviceSummary("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 "
                          "Mobile/15E148 Safari/604.1"),
            "Safari on iOS");
  EXPECT_EQ(DeviceSummary("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.0; rv:120.0) Gecko/20100101 Firefox/120.0"),
            "Firefox on macOS");
  EXPECT_EQ(DeviceSummary(""), "unknown");
  EXPECT_EQ(DeviceSummary("weird\r\nInjected: header"), "unknown");
}

}  // namespace
}  // namespace panorama::security
