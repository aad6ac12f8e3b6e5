// MFA: enrolment, the second sign-in step, recovery codes, role policy and admin reset (test S7).

#include <gtest/gtest.h>
#include <sys/stat.h>

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

constexpr const char* kPassword = "correct horse battery";

class MfaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto_ = testing::MakeTestCrypto(dir_.File("keystore.db"));
    store_ = std::move(storage::OpenSqliteStore({.path = dir_.File("auth.db"), .crypto = crypto_.get()})).value();
    sealer_ = std::move(OpenFileKeySealer(dir_.File("system.key"))).value();
    auth_ = std::make_unique<AuthService>(*store_, clock_, AuthOptions{}, sealer_.get());
    auth_->SetSecurityEventSink([this](const SecurityEvent& e) { events_.push_back(e); });
    alice_ = auth_->CreateUser("alice", kPassword, "sales").value();
  }

  // Enrols alice through the sign-in challenge; returns her seed (read back through the sealer) and codes.
  std::string EnrolAlice(std::vector<std::string>* codes = nullptr) {
    auto login = auth_->Login("alice", kPassword);
    EXPECT_EQ(login->step, LoginResult::Step::kMfaEnrolment);
    auto enrolment = auth_->BeginMfaEnrolment(login->mfa_token);
    EXPECT_TRUE(enrolment.has_value());
    std::string seed = Seed();
    auto confirmed = auth_->ConfirmMfaEnrolment(login->mfa_token, CodeNow(seed));
    EXPECT_TRUE(confirmed.has_value());
    if (codes) *codes = confirmed->recovery_codes;
    clock_.Advance(std::chrono::seconds(90));  // codes of the confirmation step and its window are spent
    return seed;
  }

  std::string Seed() {
    auto mfa = store_->GetMfa(alice_).value();
    return sealer_->Open(mfa->seed_sealed, "mfa-seed:user:" + alice_.ToString()).value();
  }

  std::string CodeNow(const std::string& seed, int steps_offset = 0) {
    return TotpCode(seed, TotpStep(ToUnixMillis(clock_.Now()) / 1000) + steps_offset);
  }

  std::string MfaToken() {
    auto login = auth_->Login("alice", kPassword);
    EXPECT_EQ(login->step, LoginResult::Step::kMfaRequired);
    return login->mfa_token;
  }

  testing::TempDir dir_;
  std::unique_ptr<FieldEncryptor> crypto_;
  testing::FakeClock clock_{FromUnixMillis(1'790'000'000'000)};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<SecretSealer> sealer_;
  std::unique_ptr<AuthService> auth_;
  std::vector<SecurityEvent> events_;
  UserId alice_;
};

TEST_F(MfaTest, StaffWithoutMfaMustEnrolBeforeGettingASession) {
  auto login = auth_->Login("alice", kPassword);

  ASSERT_OK(login);
  EXPECT_EQ(login->step, LoginResult::Step::kMfaEnrolment);
  EXPECT_FALSE(login->session.has_value());
  EXPECT_ERROR_CODE(auth_->AuthenticateBearer(login->mfa_token), ErrorCode::kUnauthenticated);
  EXPECT_ERROR_CODE(auth_->VerifyMfa(login->mfa_token, "123456"), ErrorCode::kFailedPrecondition);
}

TEST_F(MfaTest, EnrolmentGivesAnOtpauthUriAQrCodeAndTenRecoveryCodes) {
  auto login = auth_->Login("alice", kPassword);

  auto enrolment = auth_->BeginMfaEnrolment(login->mfa_token);
  ASSERT_OK(enrolment);
  auto confirmed = auth_->ConfirmMfaEnrolment(login->mfa_token, CodeNow(Seed()));

  EXPECT_TRUE(enrolment->otpauth_uri.starts_with("otpauth://totp/Panorama:alice?secret="));
  EXPECT_EQ(enrolment->secret_base32.size(), 32u);  // 160 bits
  EXPECT_TRUE(enrolment->qr_svg_data_uri.starts_with("data:image/svg+xml;base64,"));
  ASSERT_OK(confirmed);
  EXPECT_EQ(confirmed->recovery_codes.size(), 10u);
  EXPECT_EQ(confirmed->recovery_codes.front().size(), 19u);  // 16 base32 characters in groups of 4
  ASSERT_TRUE(confirmed->login.session.has_value());
  EXPECT_OK(auth_->AuthenticateBearer(confirmed->login.session->access_token));
}

TEST_F(MfaTest, TheSeedIsEncryptedAtRest) {
  auto login = auth_->Login("alice", kPassword);
  auto enrolment = auth_->BeginMfaEnrolment(login->mfa_token);
  ASSERT_OK(enrolment);

  auto stored = store_->GetMfa(alice_).value();

  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->seed_sealed.find(enrolment->secret_base32), std::string::npos);
  EXPECT_NE(stored->seed_sealed.find("v1:"), std::string::npos);
  // Bound to its user: the same ciphertext does not open as another user's seed.
  EXPECT_ERROR_CODE(sealer_->Open(stored->seed_sealed, "mfa-seed:user:999"), ErrorCode::kInternal);
}

TEST_F(MfaTest, AWrongConfirmationCodeDoesNotEnrol) {
  auto login = auth_->Login("alice", kPassword);
  ASSERT_OK(auth_->BeginMfaEnrolment(login->mfa_token));

  auto confirmed = auth_->ConfirmMfaEnrolment(login->mfa_token, CodeNow(Seed(), 3));

  EXPECT_ERROR_CODE(confirmed, ErrorCode::kUnauthenticated);
  EXPECT_FALSE(auth_->HasMfa(alice_).value());
}

TEST_F(MfaTest, ACurrentCodeCompletesTheSignIn) {
  std::string seed = EnrolAlice();

  auto verified = auth_->VerifyMfa(MfaToken(), CodeNow(seed));

  ASSERT_OK(verified);
  ASSERT_TRUE(verified->session.has_value());
  EXPECT_OK(auth_->AuthenticateBearer(verified->session->access_token));
}

TEST_F(MfaTest, CodesOneStepAwayAreAcceptedAndTwoStepsAwayRejected) {
  std::string seed = EnrolAlice();

  EXPECT_ERROR_CODE(auth_->VerifyMfa(MfaToken(), CodeNow(seed, -2)), ErrorCode::kUnauthenticated);
  EXPECT_ERROR_CODE(auth_->VerifyMfa(MfaToken(), CodeNow(seed, 2)), ErrorCode::kUnauthenticated);
  EXPECT_OK(auth_->VerifyMfa(MfaToken(), CodeNow(seed, -1)));
  EXPECT_OK(auth_->VerifyMfa(MfaToken(), CodeNow(seed, 1)));
}

TEST_F(MfaTest, AnAcceptedCodeCannotBeReplayed) {
  std::string seed = EnrolAlice();
  std::string code = CodeNow(seed);
  ASSERT_OK(auth_->VerifyMfa(MfaToken(), code));

  auto replay = auth_->VerifyMfa(MfaToken(), code);

  EXPECT_ERROR_CODE(replay, ErrorCode::kUnauthenticated);
}

TEST_F(MfaTest, FiveWrongCodesEndTheSignIn) {
  std::string seed = EnrolAlice();
  std::string token = MfaToken();
  for (int i = 0; i < 5; ++i) {
    EXPECT_ERROR_CODE(auth_->VerifyMfa(token, "000000" == CodeNow(seed) ? "111111" : "000000"),
                      ErrorCode::kUnauthenticated);
  }

  auto after = auth_->VerifyMfa(token, CodeNow(seed));

  EXPECT_ERROR_CODE(after, ErrorCode::kUnauthenticated);
  EXPECT_NE(after.error().message().find("sign in again"), std::string::npos);
  EXPECT_OK(auth_->VerifyMfa(MfaToken(), CodeNow(seed)));  // a fresh sign-in works
}

TEST_F(MfaTest, TheChallengeExpires) {
  std::string seed = EnrolAlice();
  std::string token = MfaToken();

  clock_.Advance(std::chrono::minutes(6));

  EXPECT_ERROR_CODE(auth_->VerifyMfa(token, CodeNow(seed)), ErrorCode::kUnauthenticated);
}

TEST_F(MfaTest, ARecoveryCodeWorksOnce) {
  std::vector<std::string> codes;
  EnrolAlice(&codes);

  EXPECT_OK(auth_->VerifyMfa(MfaToken(), codes[3]));
  EXPECT_ERROR_CODE(auth_->VerifyMfa(MfaToken(), codes[3]), ErrorCode::kUnauthenticated);
}

TEST_F(MfaTest, RegeneratingRecoveryCodesInvalidatesTheOldSet) {
  std::vector<std::string> old_codes;
  std::string seed = EnrolAlice(&old_codes);

  auto fresh = auth_->RegenerateRecoveryCodes(alice_, CodeNow(seed));

  ASSERT_OK(fresh);
  EXPECT_ERROR_CODE(auth_->VerifyMfa(MfaToken(), old_codes[0]), ErrorCode::kUnauthenticated);
  EXPECT_OK(auth_->VerifyMfa(MfaToken(), (*fresh)[0]));
}

TEST_F(MfaTest, RegeneratingRecoveryCodesNeedsAValidCode) {
  std::vector<std::string> codes;
  EnrolAlice(&codes);

  EXPECT_ERROR_CODE(auth_->RegenerateRecoveryCodes(alice_, "12345"), ErrorCode::kUnauthenticated);
  EXPECT_ERROR_CODE(auth_->RegenerateRecoveryCodes(alice_, codes[0]), ErrorCode::kUnauthenticated);
}

TEST_F(MfaTest, AdminResetForcesReEnrolmentAndEndsSessions) {
  std::string seed = EnrolAlice();
  auto session = auth_->VerifyMfa(MfaToken(), CodeNow(seed));
  ASSERT_OK(session);

  ASSERT_OK(auth_->ResetMfa(alice_, "admin"));

  EXPECT_ERROR_CODE(auth_->AuthenticateBearer(session->session->access_token), ErrorCode::kUnauthenticated);
  EXPECT_EQ(auth_->Login("alice", kPassword)->step, LoginResult::Step::kMfaEnrolment);
  EXPECT_EQ(events_.back().action, "mfa_reset");
  EXPECT_EQ(events_.back().actor, "admin");
}

TEST_F(MfaTest, EnrolmentIsRefusedWhenAlreadyEnrolled) {
  EnrolAlice();

  EXPECT_ERROR_CODE(auth_->BeginMfaEnrolment(alice_), ErrorCode::kFailedPrecondition);
}

TEST_F(MfaTest, ARelaxedRoleSignsInWithThePasswordAloneAndTheChangeIsRecorded) {
  ASSERT_OK(auth_->SetRoleMfaRequired("sales", false, "root-admin"));

  auto login = auth_->Login("alice", kPassword);

  EXPECT_EQ(login->step, LoginResult::Step::kSession);
  EXPECT_EQ(auth_->RelaxedRoles().value(), std::vector<std::string>{"sales"});
  auto roles = auth_->ListRoleMfa().value();
  auto sales = std::find_if(roles.begin(), roles.end(), [](const auto& r) { return r.role == "sales"; });
  EXPECT_EQ(sales->changed_by, "root-admin");
  EXPECT_EQ(sales->changed_at, clock_.Now());
  EXPECT_EQ(events_.back().action, "mfa_policy_changed");
}

TEST_F(MfaTest, RolePolicyRejectsAnUnknownRole) {
  auto result = auth_->SetRoleMfaRequired("king", false, "admin");

  EXPECT_FIELD_ERROR(result, "role");
  EXPECT_TRUE(auth_->RelaxedRoles()->empty());
}

TEST_F(MfaTest, ASealerKeyFileReadableByOthersIsRefused) {
  std::string path = dir_.File("loose.key");
  { auto created = OpenFileKeySealer(path); ASSERT_OK(created); }
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);

  auto reopened = OpenFileKeySealer(path);

  EXPECT_ERROR_CODE(reopened, ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace panorama::security
