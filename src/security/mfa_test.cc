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

  std::string MfaToken(const ClientInfo& client = {}) {
    auto login = auth_->Login("alice", kPassword, client);
    EXPECT_TRUE(login.has_value() && login->step == LoginResult::Step::kMfaRequired);
    return login ? login->mfa_token : std::string();
  }

  // A 6-digit code that is none of the codes accepted now (±1 step).
  std::string WrongCode(const std::string& seed) {
    for (char digit = '0';; ++digit) {
      std::string code(6, digit);
      if (code != CodeNow(seed, -1) && code != CodeNow(seed) && code != CodeNow(seed, 1)) return code;
    }
  }

  // A restart of the services: store and auth service closed and opened again on the same files.
  void Reopen() {
    auth_.reset();
    store_.reset();
    store_ = std::move(storage::OpenSqliteStore({.path = dir_.File("auth.db"), .crypto = crypto_.get()})).value();
    auth_ = std::make_unique<AuthService>(*store_, clock_, AuthOptions{}, sealer_.get());
    auth_->SetSecurityEventSink([this](const SecurityEvent& e) { events_.push_back(e); });
  }

  // Stored second-factor counters (kinds "mfa", "mfa_day"), expired or not.
  std::vector<storage::ThrottleRecord> MfaCounters() {
    auto rows = store_->ListThrottle(FromUnixMillis(0)).value();
    std::erase_if(rows, [](const auto& r) { return !r.kind.starts_with("mfa"); });
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.kind < b.kind; });
    return rows;
  }

  int Events(const std::string& action) {
    return static_cast<int>(
        std::count_if(events_.begin(), events_.end(), [&](const auto& e) { return e.action == action; }));
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
    EXPECT_ERROR_CODE(auth_->VerifyMfa(token, WrongCode(seed)), ErrorCode::kUnauthenticated);
  }

  auto after = auth_->VerifyMfa(token, CodeNow(seed));
  auto fresh = auth_->VerifyMfa(MfaToken(), CodeNow(seed));  // the account's codes are refused for a minute
  clock_.Advance(std::chrono::seconds(60));

  EXPECT_ERROR_CODE(after, ErrorCode::kUnauthenticated);
  EXPECT_NE(after.error().message().find("sign in again"), std::string::npos);
  EXPECT_ERROR_CODE(fresh, ErrorCode::kResourceExhausted);
  EXPECT_OK(auth_->VerifyMfa(MfaToken(), CodeNow(seed)));  // a fresh sign-in after it works
}

// The per-challenge limit alone gave whoever has the password 5 fresh guesses per sign-in: wrong codes now add up
// per account, whatever the challenge, the client address or a known device.
TEST_F(MfaTest, WrongCodesFromTwoAddressesAndTwoChallengesAddUpPerAccount) {
  std::string seed = EnrolAlice();
  ClientInfo owner{.ip = "203.0.113.7"};
  auto signed_in = auth_->VerifyMfa(MfaToken(owner), CodeNow(seed), owner);
  ASSERT_OK(signed_in);
  owner.device_token = signed_in->device_token;
  ASSERT_TRUE(owner.device_token.starts_with("pdv_"));
  clock_.Advance(std::chrono::seconds(90));
  ClientInfo first{.ip = "198.51.100.1"};
  ClientInfo second{.ip = "198.51.100.2"};

  std::string a = MfaToken(first);
  for (int i = 0; i < 3; ++i) {
    EXPECT_ERROR_CODE(auth_->VerifyMfa(a, WrongCode(seed), first), ErrorCode::kUnauthenticated);
  }
  std::string b = MfaToken(second);
  for (int i = 0; i < 2; ++i) {
    EXPECT_ERROR_CODE(auth_->VerifyMfa(b, WrongCode(seed), second), ErrorCode::kUnauthenticated);
  }
  auto on_b = auth_->VerifyMfa(b, CodeNow(seed), second);  // b itself has 2 failures of its 5
  auto on_owners_device = auth_->VerifyMfa(MfaToken(owner), CodeNow(seed), owner);

  EXPECT_ERROR_CODE(on_b, ErrorCode::kResourceExhausted);
  EXPECT_EQ(on_b.error().retry_after_seconds(), 60);
  EXPECT_NE(on_b.error().message().find("wrong second-factor codes"), std::string::npos);
  EXPECT_ERROR_CODE(on_owners_device, ErrorCode::kResourceExhausted);
  ASSERT_EQ(Events("mfa_throttled"), 1);
  auto event = std::find_if(events_.begin(), events_.end(), [](const auto& e) { return e.action == "mfa_throttled"; });
  EXPECT_EQ(event->actor, "user:" + alice_.ToString());
  EXPECT_NE(event->detail.find("60 s"), std::string::npos);
  EXPECT_NE(event->detail.find("sign-in"), std::string::npos);
}

TEST_F(MfaTest, TheRefusalSurvivesARestartAndACorrectCodeAfterItWorksAndClearsIt) {
  std::string seed = EnrolAlice();
  for (int i = 0; i < 5; ++i) {
    EXPECT_ERROR_CODE(auth_->VerifyMfa(MfaToken(), WrongCode(seed)), ErrorCode::kUnauthenticated);
  }
  clock_.Advance(std::chrono::seconds(10));
  auto before = auth_->VerifyMfa(MfaToken(), CodeNow(seed));
  auto stored = MfaCounters();

  Reopen();
  auto after = auth_->VerifyMfa(MfaToken(), CodeNow(seed));
  clock_.Advance(std::chrono::seconds(50));
  auto ended = auth_->VerifyMfa(MfaToken(), CodeNow(seed));
  auto cleared = MfaCounters();
  std::vector<Result<LoginResult>> next;
  for (int i = 0; i < 4; ++i) next.push_back(auth_->VerifyMfa(MfaToken(), WrongCode(seed)));

  EXPECT_ERROR_CODE(before, ErrorCode::kResourceExhausted);
  EXPECT_EQ(before.error().retry_after_seconds(), 50);
  EXPECT_ERROR_CODE(after, ErrorCode::kResourceExhausted);
  EXPECT_EQ(after.error().retry_after_seconds(), 50);
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].kind, "mfa");
  EXPECT_EQ(stored[1].kind, "mfa_day");
  for (const auto& row : stored) {
    EXPECT_EQ(row.key.size(), 64u);  // SHA-256 hex, not the user id
    EXPECT_EQ(row.failures, 5);
  }
  ASSERT_OK(ended);
  EXPECT_TRUE(ended->session.has_value());
  ASSERT_EQ(cleared.size(), 1u);  // the backoff went; the day's count stays
  EXPECT_EQ(cleared[0].kind, "mfa_day");
  for (const auto& r : next) EXPECT_ERROR_CODE(r, ErrorCode::kUnauthenticated);  // counting starts again
}

TEST_F(MfaTest, TheTenthWrongCodeOfADayRefusesCodesUntilTheDayEndsWhateverCorrectCodesCameBetween) {
  std::string seed = EnrolAlice();
  for (int round = 0; round < 2; ++round) {
    std::string token = MfaToken();
    for (int i = 0; i < 4; ++i) {
      EXPECT_ERROR_CODE(auth_->VerifyMfa(token, WrongCode(seed)), ErrorCode::kUnauthenticated);
    }
    ASSERT_OK(auth_->VerifyMfa(token, CodeNow(seed)));
    clock_.Advance(std::chrono::seconds(90));  // that code's steps are spent
  }
  std::string token = MfaToken();
  for (int i = 0; i < 2; ++i) {
    EXPECT_ERROR_CODE(auth_->VerifyMfa(token, WrongCode(seed)), ErrorCode::kUnauthenticated);
  }
  auto refused = auth_->VerifyMfa(token, CodeNow(seed));
  clock_.Advance(std::chrono::hours(1));
  auto an_hour_later = auth_->VerifyMfa(MfaToken(), CodeNow(seed));
  clock_.Advance(std::chrono::hours(23));
  auto next_day = auth_->VerifyMfa(MfaToken(), CodeNow(seed));

  EXPECT_ERROR_CODE(refused, ErrorCode::kResourceExhausted);
  EXPECT_GT(refused.error().retry_after_seconds().value_or(0), 23 * 3600);
  EXPECT_NE(refused.error().message().find("today"), std::string::npos);
  EXPECT_ERROR_CODE(an_hour_later, ErrorCode::kResourceExhausted);
  EXPECT_OK(next_day);
}

// S7 for someone who has the password: signing in again whenever the challenge has ended or expired and waiting
// out every Retry-After, for two days. Per challenge alone this was unbounded: 5 codes per sign-in, and the correct
// password clears the password backoff.
TEST_F(MfaTest, ACodeGuesserWithThePasswordGetsAtMostTenCodesADay) {
  std::string seed = EnrolAlice();
  const Timestamp start = clock_.Now();
  int evaluated = 0;
  int evaluated_first_day = 0;
  std::string token;
  Timestamp token_at{};
  while (clock_.Now() - start < std::chrono::hours(48)) {
    if (token.empty() || clock_.Now() - token_at >= std::chrono::minutes(5)) {
      token = MfaToken({.ip = "198.51.100." + std::to_string(evaluated % 50)});
      token_at = clock_.Now();
    }
    auto r = auth_->VerifyMfa(token, WrongCode(seed));
    ASSERT_FALSE(r.has_value());
    if (r.error().code() == ErrorCode::kResourceExhausted) {
      clock_.Advance(std::chrono::seconds(r.error().retry_after_seconds().value_or(1)));
      continue;
    }
    ASSERT_EQ(r.error().code(), ErrorCode::kUnauthenticated) << r.error().message();
    ++evaluated;
    if (clock_.Now() - start < std::chrono::hours(24)) ++evaluated_first_day;
    if (r.error().message().find("sign in again") != std::string::npos) token.clear();
    clock_.Advance(std::chrono::seconds(1));
  }

  EXPECT_EQ(evaluated_first_day, 10);
  EXPECT_EQ(evaluated, 20);  // two day windows, each used up within its first 32 minutes
}

TEST_F(MfaTest, WrongRecoveryCodesCountTheSameAndARefusedOneIsNotSpent) {
  std::vector<std::string> codes;
  EnrolAlice(&codes);
  for (int i = 0; i < 5; ++i) {
    EXPECT_ERROR_CODE(auth_->VerifyMfa(MfaToken(), "AAAA-BBBB-CCCC-DDD" + std::to_string(i)),
                      ErrorCode::kUnauthenticated);
  }

  auto refused = auth_->VerifyMfa(MfaToken(), codes[0]);
  clock_.Advance(std::chrono::seconds(60));

  EXPECT_ERROR_CODE(refused, ErrorCode::kResourceExhausted);
  EXPECT_OK(auth_->VerifyMfa(MfaToken(), codes[0]));
}

TEST_F(MfaTest, WrongCodesWhenRenewingRecoveryCodesCountForTheAccount) {
  std::string seed = EnrolAlice();
  for (int i = 0; i < 5; ++i) {
    EXPECT_ERROR_CODE(auth_->RegenerateRecoveryCodes(alice_, WrongCode(seed)), ErrorCode::kUnauthenticated);
  }

  auto renewal = auth_->RegenerateRecoveryCodes(alice_, CodeNow(seed));
  auto sign_in = auth_->VerifyMfa(MfaToken(), CodeNow(seed));

  EXPECT_ERROR_CODE(renewal, ErrorCode::kResourceExhausted);
  EXPECT_ERROR_CODE(sign_in, ErrorCode::kResourceExhausted);
  EXPECT_EQ(Events("mfa_throttled"), 1);
  EXPECT_EQ(Events("recovery_codes_regenerated"), 0);
}

TEST_F(MfaTest, AnAdminResetClearsTheWrongCodeCounters) {
  std::string seed = EnrolAlice();
  for (int i = 0; i < 5; ++i) (void)auth_->VerifyMfa(MfaToken(), WrongCode(seed));
  ASSERT_EQ(MfaCounters().size(), 2u);

  ASSERT_OK(auth_->ResetMfa(alice_, "admin"));
  std::string new_seed = EnrolAlice();

  EXPECT_TRUE(MfaCounters().empty());
  EXPECT_OK(auth_->VerifyMfa(MfaToken(), CodeNow(new_seed)));
}

TEST_F(MfaTest, HousekeepingDeletesCodeCountersADayAfterTheLastWrongCode) {
  std::string seed = EnrolAlice();
  for (int i = 0; i < 5; ++i) (void)auth_->VerifyMfa(MfaToken(), WrongCode(seed));

  clock_.Advance(std::chrono::hours(23));
  ASSERT_OK(auth_->PurgeExpired());
  auto within_day = MfaCounters().size();
  clock_.Advance(std::chrono::hours(1) + std::chrono::seconds(1));
  ASSERT_OK(auth_->PurgeExpired());

  EXPECT_EQ(within_day, 2u);
  EXPECT_TRUE(MfaCounters().empty());
  EXPECT_OK(auth_->VerifyMfa(MfaToken(), CodeNow(seed)));
}

// A damaged or edited row cannot lock the second factor for longer than the longest backoff (an hour).
TEST_F(MfaTest, AStoredCodeLockoutIsCutToTheLongestBackoff) {
  std::string seed = EnrolAlice();
  for (int i = 0; i < 5; ++i) (void)auth_->VerifyMfa(MfaToken(), WrongCode(seed));
  const Timestamp now = clock_.Now();
  ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
    storage::ThrottleRecord row = MfaCounters().at(0);
    row.failures = 40;
    row.locked_until = now + std::chrono::hours(24 * 365);
    return txn.PutThrottle(row);
  }));

  Reopen();
  auto locked = auth_->VerifyMfa(MfaToken(), CodeNow(seed));
  clock_.Advance(std::chrono::hours(1));

  EXPECT_ERROR_CODE(locked, ErrorCode::kResourceExhausted);
  EXPECT_EQ(locked.error().retry_after_seconds(), 3600);
  EXPECT_OK(auth_->VerifyMfa(MfaToken(), CodeNow(seed)));
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
