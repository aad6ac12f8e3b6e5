#include "security/login_throttle.h"

#include <gtest/gtest.h>
#include <sodium.h>

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
  for (int i = 0; i < 3; ++i) throttle.RecordFailure("alice", "10.0.0.1");
  ASSERT_OK(throttle.Check("alice", "10.0.0.1"));

  throttle.RecordFailure("alice", "10.0.0.1");  // 4th: 1 s
  auto first = throttle.Check("alice", "10.0.0.1");
  throttle.RecordFailure("alice", "10.0.0.1");  // 5th: 2 s
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
  for (int i = 0; i < 6; ++i) throttle.RecordFailure("alice", "10.0.0.1");
  EXPECT_ERROR_CODE(throttle.Check("alice", "10.0.0.1"), ErrorCode::kResourceExhausted);

  throttle.RecordSuccess("alice", "10.0.0.1");

  EXPECT_OK(throttle.Check("alice", "10.0.0.1"));
}

TEST(LoginThrottle, AnIpIsRefusedAfterTwentyFailuresInAMinute) {
  testing::FakeClock clock(kStart);
  LoginThrottle throttle(clock);
  for (int i = 0; i < 20; ++i) throttle.RecordFailure("user" + std::to_string(i), "10.9.9.9");

  auto refused = throttle.Check("someone-new", "10.9.9.9");
  clock.Advance(std::chrono::seconds(61));

  EXPECT_ERROR_CODE(refused, ErrorCode::kResourceExhausted);
  EXPECT_LE(*refused.error().retry_after_seconds(), 60);
  EXPECT_OK(throttle.Check("someone-new", "10.9.9.9"));
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

}  // namespace
}  // namespace panorama::security
