// Step-up re-authentication: the sign-in is fresh for five minutes, a password (+ TOTP when enrolled) check
// renews it, bad input and wrong factors change nothing, keys are exempt, and every step-up is reported.

#include <gtest/gtest.h>

#include <algorithm>

#include "security/auth_service.h"
#include "security/secret_sealer.h"
#include "security/totp.h"
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

class StepUpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto_ = testing::MakeTestCrypto(dir_.File("keystore.db"));
    store_ = std::move(storage::OpenSqliteStore({.path = dir_.File("auth.db"), .crypto = crypto_.get()})).value();
    sealer_ = std::move(OpenFileKeySealer(dir_.File("system.key"))).value();
    auth_ = std::make_unique<AuthService>(*store_, clock_, AuthOptions{}, sealer_.get());
    auth_->SetSecurityEventSink([this](const SecurityEvent& e) { events_.push_back(e); });
    ASSERT_OK(auth_->SetRoleMfaRequired("sales", false, "test"));
    alice_ = auth_->CreateUser("alice", kPassword, "sales").value();
  }

  Principal SignIn() {
    auto login = auth_->Login("alice", kPassword);
    EXPECT_TRUE(login.has_value() && login->session.has_value());
    return Bearer(login->session->access_token);
  }

  Principal Bearer(const std::string& token) {
    token_ = token;
    return auth_->AuthenticateBearer(token).value();
  }
  Principal Again() { return auth_->AuthenticateBearer(token_).value(); }

  // Enrols a TOTP factor from the signed-in session; returns the seed.
  std::string Enrol() {
    EXPECT_TRUE(auth_->BeginMfaEnrolment(alice_).has_value());
    auto mfa = store_->GetMfa(alice_).value();
    std::string seed = sealer_->Open(mfa->seed_sealed, "mfa-seed:user:" + alice_.ToString()).value();
    EXPECT_TRUE(auth_->ConfirmMfaEnrolment(alice_, CodeNow(seed)).has_value());
    clock_.Advance(seconds(90));
    return seed;
  }
  std::string CodeNow(const std::string& seed) {
    return TotpCode(seed, TotpStep(ToUnixMillis(clock_.Now()) / 1000));
  }

  int Events(const std::string& action) {
    return static_cast<int>(std::count_if(events_.begin(), events_.end(), [&](const auto& e) { return e.action == action; }));
  }

  testing::TempDir dir_;
  std::unique_ptr<FieldEncryptor> crypto_;
  testing::FakeClock clock_{FromUnixMillis(1'790'000'000'000)};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<SecretSealer> sealer_;
  std::unique_ptr<AuthService> auth_;
  std::vector<SecurityEvent> events_;
  UserId alice_;
  std::string token_;
};

TEST_F(StepUpTest, SignInIsFreshForFiveMinutesToTheSecond) {
  Principal who = SignIn();

  clock_.Advance(minutes(5) - seconds(1));
  EXPECT_TRUE(auth_->IsStepUpFresh(Again()));
  clock_.Advance(seconds(1));
  EXPECT_FALSE(auth_->IsStepUpFresh(Again()));
}

TEST_F(StepUpTest, PasswordRenewsFreshnessAndIsReported) {
  SignIn();
  clock_.Advance(minutes(10));

  auto until = auth_->StepUp(Again(), kPassword, "");

  ASSERT_OK(until);
  EXPECT_EQ(*until, clock_.Now() + minutes(5));
  EXPECT_TRUE(auth_->IsStepUpFresh(Again()));
  EXPECT_EQ(Events("step_up"), 1);
  EXPECT_EQ(events_.back().detail.find(kPassword), std::string::npos);
}

TEST_F(StepUpTest, RefreshDoesNotRenewFreshness) {
  auto login = auth_->Login("alice", kPassword);
  clock_.Advance(minutes(6));

  auto next = auth_->Refresh(login->session->refresh_token);

  ASSERT_OK(next);
  EXPECT_FALSE(auth_->IsStepUpFresh(Bearer(next->access_token)));
}

TEST_F(StepUpTest, FreshnessSurvivesARefresh) {
  auto login = auth_->Login("alice", kPassword);
  clock_.Advance(minutes(2));

  auto next = auth_->Refresh(login->session->refresh_token);

  ASSERT_OK(next);
  EXPECT_TRUE(auth_->IsStepUpFresh(Bearer(next->access_token)));
}

TEST_F(StepUpTest, WrongPasswordIsDeniedChangesNothingAndIsReported) {
  SignIn();
  clock_.Advance(minutes(10));

  auto result = auth_->StepUp(Again(), "not the password at all", "");

  EXPECT_ERROR_CODE(result, ErrorCode::kPermissionDenied);
  EXPECT_FALSE(auth_->IsStepUpFresh(Again()));
  EXPECT_EQ(Events("step_up_failed"), 1);
}

TEST_F(StepUpTest, RepeatedWrongPasswordsAreThrottled) {
  SignIn();
  Result<Timestamp> last = Error::Internal("not run");
  for (int i = 0; i < 30; ++i) {
    last = auth_->StepUp(Again(), "not the password at all", "");
    if (!last && last.error().code() == ErrorCode::kResourceExhausted) break;
  }

  EXPECT_ERROR_CODE(last, ErrorCode::kResourceExhausted);
  EXPECT_ERROR_CODE(auth_->StepUp(Again(), kPassword, ""), ErrorCode::kResourceExhausted);
}

TEST_F(StepUpTest, MissingPasswordNamesTheField) {
  SignIn();

  EXPECT_FIELD_ERROR(auth_->StepUp(Again(), "", ""), "password");
}

TEST_F(StepUpTest, EnrolledUserNeedsTheCodeAsWell) {
  SignIn();
  std::string seed = Enrol();
  clock_.Advance(minutes(10));

  EXPECT_FIELD_ERROR(auth_->StepUp(Again(), kPassword, ""), "code");
  EXPECT_ERROR_CODE(auth_->StepUp(Again(), kPassword, "000000" == CodeNow(seed) ? "111111" : "000000"),
                    ErrorCode::kPermissionDenied);
  EXPECT_FALSE(auth_->IsStepUpFresh(Again()));
  ASSERT_OK(auth_->StepUp(Again(), kPassword, CodeNow(seed)));
  EXPECT_TRUE(auth_->IsStepUpFresh(Again()));
}

TEST_F(StepUpTest, RightCodeWithWrongPasswordIsDenied) {
  SignIn();
  std::string seed = Enrol();
  clock_.Advance(minutes(10));

  EXPECT_ERROR_CODE(auth_->StepUp(Again(), "not the password at all", CodeNow(seed)), ErrorCode::kPermissionDenied);
  EXPECT_FALSE(auth_->IsStepUpFresh(Again()));
}

// Step-up asks for the code too, so its wrong codes count with those of sign-in: a stolen session plus the
// password gives no separate budget of code guesses.
TEST_F(StepUpTest, WrongCodesAtStepUpAndSignInAddUpPerAccount) {
  SignIn();
  std::string seed = Enrol();
  std::string wrong = "000000" == CodeNow(seed) ? "111111" : "000000";
  for (int i = 0; i < 3; ++i) {
    EXPECT_ERROR_CODE(auth_->StepUp(Again(), kPassword, wrong), ErrorCode::kPermissionDenied);
  }
  ASSERT_OK(auth_->SetRoleMfaRequired("sales", true, "test"));
  auto login = auth_->Login("alice", kPassword);
  ASSERT_OK(login);
  ASSERT_EQ(login->step, LoginResult::Step::kMfaRequired);
  for (int i = 0; i < 2; ++i) EXPECT_ERROR_CODE(auth_->VerifyMfa(login->mfa_token, wrong), ErrorCode::kUnauthenticated);
  uint64_t evaluations = auth_->PasswordEvaluationsForTest();

  auto refused = auth_->StepUp(Again(), kPassword, CodeNow(seed));
  uint64_t evaluated_by_refused = auth_->PasswordEvaluationsForTest() - evaluations;
  auto refused_at_sign_in = auth_->VerifyMfa(login->mfa_token, CodeNow(seed));
  clock_.Advance(seconds(60));
  auto after = auth_->StepUp(Again(), kPassword, CodeNow(seed));

  EXPECT_ERROR_CODE(refused, ErrorCode::kResourceExhausted);
  EXPECT_EQ(refused.error().retry_after_seconds(), 60);
  EXPECT_EQ(evaluated_by_refused, 0u);  // refused before the password is checked
  EXPECT_ERROR_CODE(refused_at_sign_in, ErrorCode::kResourceExhausted);
  ASSERT_OK(after);
  EXPECT_TRUE(auth_->IsStepUpFresh(Again()));
  EXPECT_EQ(Events("step_up_failed"), 3);
  EXPECT_EQ(Events("mfa_throttled"), 1);
}

TEST_F(StepUpTest, ApiKeysAreExemptAndCannotStepUp) {
  auto key = auth_->CreateApiKey("etl", "api", "read-write");
  ASSERT_OK(key);
  Principal principal = auth_->AuthenticateBearer(key->secret).value();
  clock_.Advance(minutes(60));

  EXPECT_TRUE(auth_->IsStepUpFresh(principal));
  EXPECT_ERROR_CODE(auth_->StepUp(principal, kPassword, ""), ErrorCode::kFailedPrecondition);
}

TEST_F(StepUpTest, KeyAllowlistIsValidatedStoredAndReplaced) {
  auto bad = auth_->CreateApiKey("etl", "api", "read", std::nullopt, std::nullopt, {"10.0.0.0/8", "10.0.0.1/8"});
  EXPECT_FIELD_ERROR(bad, "allowed_cidrs[1]");
  EXPECT_TRUE(store_->ListApiKeys().value().empty());

  auto key = auth_->CreateApiKey("etl", "api", "read", std::nullopt, std::nullopt, {"127.0.0.1"});
  ASSERT_OK(key);
  EXPECT_EQ(auth_->AuthenticateBearer(key->secret)->allowed_cidrs, std::vector<std::string>{"127.0.0.1/32"});

  ASSERT_OK(auth_->SetApiKeyAllowlist(key->id, {"::1"}, "user:1"));
  EXPECT_EQ(auth_->AuthenticateBearer(key->secret)->allowed_cidrs, std::vector<std::string>{"::1/128"});
  EXPECT_FIELD_ERROR(auth_->SetApiKeyAllowlist(key->id, {"nope"}, "user:1"), "allowed_cidrs[0]");
  EXPECT_EQ(store_->ListApiKeys().value()[0].allowed_cidrs, std::vector<std::string>{"::1/128"});
  EXPECT_ERROR_CODE(auth_->SetApiKeyAllowlist(ApiKeyId(999), {}, "user:1"), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace panorama::security
