// Sessions: access and refresh tokens, rotation, reuse detection, idle and absolute limits, logout (test S8).

#include <gtest/gtest.h>

#include "security/auth_service.h"
#include "security/crypto_util.h"
#include "storage/store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/result_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_crypto.h"

namespace panorama::security {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

constexpr const char* kPassword = "correct horse battery";

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto_ = testing::MakeTestCrypto(dir_.File("keystore.db"));
    store_ = std::move(storage::OpenSqliteStore({.path = dir_.File("auth.db"), .crypto = crypto_.get()})).value();
    auth_ = std::make_unique<AuthService>(*store_, clock_);
    auth_->SetSecurityEventSink([this](const SecurityEvent& e) { events_.push_back(e); });
    ASSERT_OK(auth_->SetRoleMfaRequired("sales", false, "test"));
    alice_ = auth_->CreateUser("alice", kPassword, "sales").value();
  }

  SessionTokens SignIn(const ClientInfo& client = {}) {
    auto login = auth_->Login("alice", kPassword, client);
    EXPECT_TRUE(login.has_value());
    return *login->session;
  }

  bool Works(const std::string& access) { return auth_->AuthenticateBearer(access).has_value(); }

  testing::TempDir dir_;
  std::unique_ptr<FieldEncryptor> crypto_;
  testing::FakeClock clock_{FromUnixMillis(1'790'000'000'000)};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<AuthService> auth_;
  std::vector<SecurityEvent> events_;
  UserId alice_;
};

TEST_F(SessionTest, AccessTokenLastsFifteenMinutesToTheSecond) {
  SessionTokens s = SignIn();

  clock_.Advance(minutes(15) - seconds(1));
  EXPECT_TRUE(Works(s.access_token));
  clock_.Advance(seconds(1));
  EXPECT_FALSE(Works(s.access_token));
}

TEST_F(SessionTest, RefreshRotatesBothTokens) {
  SessionTokens s = SignIn();
  clock_.Advance(minutes(10));

  auto next = auth_->Refresh(s.refresh_token);

  ASSERT_OK(next);
  EXPECT_NE(next->access_token, s.access_token);
  EXPECT_NE(next->refresh_token, s.refresh_token);
  EXPECT_EQ(next->session_id, s.session_id);
  EXPECT_FALSE(Works(s.access_token));
  EXPECT_TRUE(Works(next->access_token));
  EXPECT_EQ(next->access_expires_at, clock_.Now() + minutes(15));
}

TEST_F(SessionTest, ReusingASpentRefreshTokenEndsTheWholeSession) {
  SessionTokens s = SignIn();
  auto next = auth_->Refresh(s.refresh_token);
  ASSERT_OK(next);

  auto reuse = auth_->Refresh(s.refresh_token);

  EXPECT_ERROR_CODE(reuse, ErrorCode::kUnauthenticated);
  EXPECT_FALSE(Works(next->access_token));
  EXPECT_ERROR_CODE(auth_->Refresh(next->refresh_token), ErrorCode::kUnauthenticated);
  EXPECT_EQ(events_.back().action, "refresh_token_reuse");
}

TEST_F(SessionTest, IdleForThirtyMinutesEndsTheSession) {
  SessionTokens s = SignIn();

  clock_.Advance(minutes(30));

  EXPECT_ERROR_CODE(auth_->Refresh(s.refresh_token), ErrorCode::kUnauthenticated);
}

TEST_F(SessionTest, RefreshJustBeforeTheIdleLimitKeepsTheSession) {
  SessionTokens s = SignIn();

  clock_.Advance(minutes(30) - seconds(1));

  EXPECT_OK(auth_->Refresh(s.refresh_token));
}

TEST_F(SessionTest, TwelveHoursIsTheAbsoluteLimitEvenWhenRefreshing) {
  SessionTokens s = SignIn();
  Timestamp start = clock_.Now();
  std::string refresh = s.refresh_token;
  std::string access;
  for (int i = 0; i < 12 * 4 - 1; ++i) {  // every 15 minutes up to 11 h 45 min
    clock_.Advance(minutes(15));
    auto next = auth_->Refresh(refresh);
    ASSERT_OK(next);
    refresh = next->refresh_token;
    access = next->access_token;
    EXPECT_LE(next->access_expires_at, start + std::chrono::hours(12));
  }

  clock_.Set(start + std::chrono::hours(12) - seconds(1));
  EXPECT_TRUE(Works(access));
  clock_.Set(start + std::chrono::hours(12));
  EXPECT_FALSE(Works(access));
  EXPECT_ERROR_CODE(auth_->Refresh(refresh), ErrorCode::kUnauthenticated);
}

TEST_F(SessionTest, LogoutEndsOnlyThatSession) {
  SessionTokens laptop = SignIn();
  SessionTokens phone = SignIn();
  auto who = auth_->AuthenticateBearer(laptop.access_token);
  ASSERT_OK(who);

  ASSERT_OK(auth_->Logout(*who->session_id));

  EXPECT_FALSE(Works(laptop.access_token));
  EXPECT_ERROR_CODE(auth_->Refresh(laptop.refresh_token), ErrorCode::kUnauthenticated);
  EXPECT_TRUE(Works(phone.access_token));
}

TEST_F(SessionTest, SignOutEverywhereEndsEverySession) {
  SessionTokens laptop = SignIn({.ip = "10.0.0.1", .user_agent = "Firefox"});
  SessionTokens phone = SignIn({.ip = "10.0.0.2", .user_agent = "Safari"});
  auto listed = auth_->ListSessions(alice_);
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ(listed->front().user_agent, "Firefox");

  ASSERT_OK(auth_->LogoutEverywhere(alice_));

  EXPECT_FALSE(Works(laptop.access_token));
  EXPECT_FALSE(Works(phone.access_token));
  EXPECT_TRUE(auth_->ListSessions(alice_)->empty());
}

TEST_F(SessionTest, DisablingAUserStopsTheNextRequest) {
  SessionTokens s = SignIn();

  ASSERT_OK(auth_->UpdateUser(alice_, std::nullopt, true, "admin"));

  EXPECT_FALSE(Works(s.access_token));
  EXPECT_ERROR_CODE(auth_->Refresh(s.refresh_token), ErrorCode::kUnauthenticated);
  EXPECT_ERROR_CODE(auth_->Login("alice", kPassword), ErrorCode::kUnauthenticated);
}

TEST_F(SessionTest, ARoleChangeAppliesToTheNextRequest) {
  SessionTokens s = SignIn();

  ASSERT_OK(auth_->UpdateUser(alice_, std::string("analyst"), std::nullopt, "admin"));

  auto who = auth_->AuthenticateBearer(s.access_token);
  ASSERT_OK(who);
  EXPECT_EQ(who->role, "analyst");
}

TEST_F(SessionTest, UpdateUserRejectsAnUnknownRoleAndChangesNothing) {
  auto result = auth_->UpdateUser(alice_, std::string("king"), true, "admin");

  EXPECT_FIELD_ERROR(result, "role");
  EXPECT_FALSE(store_->GetUser(alice_)->disabled);
}

TEST_F(SessionTest, TokensAreStoredOnlyAsSha256) {
  SessionTokens s = SignIn();

  auto stored = store_->ListUserSessions(alice_).value();

  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].access_sha256, Sha256Hex(s.access_token));
  EXPECT_EQ(stored[0].refresh_sha256, Sha256Hex(s.refresh_token));
}

TEST_F(SessionTest, ARefreshTokenIsNotABearerToken) {
  SessionTokens s = SignIn();

  EXPECT_ERROR_CODE(auth_->AuthenticateBearer(s.refresh_token), ErrorCode::kUnauthenticated);
}

TEST_F(SessionTest, AnExpiredApiKeyIsRefused) {
  auto key = auth_->CreateApiKey("etl", "api", "read", std::nullopt, clock_.Now() + minutes(1));
  ASSERT_OK(key);
  EXPECT_OK(auth_->AuthenticateBearer(key->secret));

  clock_.Advance(minutes(1));

  EXPECT_ERROR_CODE(auth_->AuthenticateBearer(key->secret), ErrorCode::kUnauthenticated);
}

TEST_F(SessionTest, AnApiKeyCannotExpireInThePast) {
  auto key = auth_->CreateApiKey("etl", "api", "read", std::nullopt, clock_.Now() - minutes(1));

  EXPECT_FIELD_ERROR(key, "expires_at");
  EXPECT_TRUE(store_->ListApiKeys()->empty());
}

int64_t Purged(const storage::HousekeepingReport& report, const std::string& table) {
  for (const auto& t : report.tables) {
    if (t.table == table) return t.rows;
  }
  return -1;
}

TEST_F(SessionTest, HousekeepingDeletesSessionsPastTheirIdleLimitAndKeepsLiveOnes) {
  SessionTokens idle = SignIn();
  clock_.Advance(minutes(31));  // past the 30-minute refresh idle limit
  SessionTokens live = SignIn();

  auto report = auth_->PurgeExpired();

  ASSERT_OK(report);
  EXPECT_EQ(Purged(*report, "sessions"), 1);
  EXPECT_TRUE(Works(live.access_token));
  EXPECT_FALSE(auth_->Refresh(idle.refresh_token).has_value());
  auto sessions = auth_->ListSessions(alice_);
  ASSERT_OK(sessions);
  EXPECT_EQ(sessions->size(), 1u);
  EXPECT_EQ(auth_->PurgeExpired().value().total(), 0) << "a second run deletes nothing";
}

TEST_F(SessionTest, HousekeepingKeepsSpentRefreshTokensForTwoAbsoluteLifetimes) {
  SessionTokens s = SignIn();
  ASSERT_OK(auth_->Refresh(s.refresh_token));  // spends the first refresh token

  clock_.Advance(std::chrono::hours(24) - seconds(1));
  auto early = auth_->PurgeExpired();
  ASSERT_OK(early);
  EXPECT_EQ(Purged(*early, "sessions"), 1) << "the session itself is long over";
  EXPECT_EQ(Purged(*early, "spent_refresh_tokens"), 0);

  clock_.Advance(seconds(2));
  auto late = auth_->PurgeExpired();
  ASSERT_OK(late);
  EXPECT_EQ(Purged(*late, "spent_refresh_tokens"), 1);
}

}  // namespace
}  // namespace panorama::security
