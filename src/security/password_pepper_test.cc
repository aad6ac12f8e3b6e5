// The password pepper: hashes need the keystore's system key to verify, old hashes are upgraded at sign-in, and
// the key survives a reopen of the keystore (and a master rotation would only re-wrap it).
#include "security/password_pepper.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "security/auth_service.h"
#include "storage/store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/raw_sqlite.h"
#include "tests/support/result_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_crypto.h"

namespace panorama::security {
namespace {

constexpr char kPassword[] = "correct horse battery";

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class PasswordPepperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto_ = testing::MakeTestCrypto(dir_.File("keystore.db"));
    store_ = std::move(storage::OpenSqliteStore({.path = dir_.File("auth.db"), .crypto = crypto_.get()})).value();
    pepper_ = std::make_unique<PasswordPepper>(crypto_->SystemKey(kPepperKeyPurpose).value());
  }

  std::unique_ptr<AuthService> Service(const PasswordPepper* pepper) {
    auto auth = std::make_unique<AuthService>(*store_, clock_, AuthOptions{}, nullptr, pepper);
    for (const char* role : kRoles) EXPECT_OK(auth->SetRoleMfaRequired(role, false, "test"));
    return auth;
  }

  std::string StoredHash(std::string_view username) { return store_->FindUserByName(username).value().password_hash; }

  testing::TempDir dir_;
  std::unique_ptr<FieldEncryptor> crypto_;
  testing::FakeClock clock_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<PasswordPepper> pepper_;
};

TEST_F(PasswordPepperTest, AHashVerifiesOnlyWithThePepperKey) {
  std::string hash = pepper_->Hash(kPassword);

  EXPECT_TRUE(hash.starts_with("$pnpep1$argon2id$")) << hash;
  EXPECT_TRUE(pepper_->Verify(hash, kPassword));
  EXPECT_FALSE(pepper_->Verify(hash, "correct horse batterz"));
  // Whoever holds only the hash (a copy of panorama.db) cannot check a guess against it.
  EXPECT_FALSE(VerifyPassword(hash, kPassword));
  EXPECT_FALSE(VerifyPassword(hash.substr(kPepperedHashPrefix.size()), kPassword));
  // Another deployment's pepper (another system key) does not verify it either.
  PasswordPepper other(RandomKey());
  EXPECT_FALSE(other.Verify(hash, kPassword));
}

TEST_F(PasswordPepperTest, PlainArgon2HashesStillVerify) {
  std::string plain = HashPassword(kPassword);

  EXPECT_TRUE(pepper_->Verify(plain, kPassword));
  EXPECT_FALSE(pepper_->Verify(plain, "wrong horse battery"));
}

TEST_F(PasswordPepperTest, TheKeyIsAWrappedKeystoreSystemKey) {
  std::string hash = pepper_->Hash(kPassword);
  // Asked again (as every start does), the same key comes back.
  auto again = crypto_->SystemKey(kPepperKeyPurpose);
  ASSERT_OK(again);
  EXPECT_TRUE(std::equal(again->data(), again->data() + again->size(),
                         crypto_->SystemKey(kPepperKeyPurpose)->data()));
  EXPECT_TRUE(PasswordPepper(std::move(again).value()).Verify(hash, kPassword));
  // Another purpose is another key.
  auto totp = crypto_->SystemKey("totp");
  ASSERT_OK(totp);
  EXPECT_FALSE(PasswordPepper(std::move(totp).value()).Verify(hash, kPassword));
  // It is a row of the keystore, not of the database, and wrapped there: its bytes are in neither file.
  EXPECT_EQ(testing::RawText(dir_.File("keystore.db"),
                             "SELECT count(*) FROM wrapped_keys WHERE subject = 'system:password-pepper'"),
            "1");
  auto key = crypto_->SystemKey(kPepperKeyPurpose);
  ASSERT_OK(key);
  std::string raw(reinterpret_cast<const char*>(key->data()), key->size());
  for (const char* file : {"keystore.db", "keystore.db-wal", "auth.db", "auth.db-wal"}) {
    EXPECT_EQ(FileBytes(dir_.File(file)).find(raw), std::string::npos) << file;
  }
}

TEST_F(PasswordPepperTest, NewPasswordsAreStoredPeppered) {
  auto auth = Service(pepper_.get());
  ASSERT_OK(auth->CreateUser("alice", kPassword, "sales"));

  EXPECT_TRUE(IsPeppered(StoredHash("alice")));
  EXPECT_OK(auth->Login("alice", kPassword));
  EXPECT_ERROR_CODE(auth->Login("alice", "wrong horse battery"), ErrorCode::kUnauthenticated);
  // A service without the pepper (the database alone) cannot sign anyone in.
  EXPECT_ERROR_CODE(Service(nullptr)->Login("alice", kPassword), ErrorCode::kUnauthenticated);
}

TEST_F(PasswordPepperTest, AHashFromBeforeThePepperIsUpgradedAtTheNextSignIn) {
  ASSERT_OK(Service(nullptr)->CreateUser("alice", kPassword, "sales"));
  std::string before = StoredHash("alice");
  ASSERT_TRUE(before.starts_with("$argon2id$"));
  auto auth = Service(pepper_.get());

  EXPECT_ERROR_CODE(auth->Login("alice", "wrong horse battery"), ErrorCode::kUnauthenticated);
  EXPECT_EQ(StoredHash("alice"), before);  // a wrong password changes nothing
  ASSERT_OK(auth->Login("alice", kPassword));

  std::string after = StoredHash("alice");
  EXPECT_TRUE(IsPeppered(after));
  EXPECT_TRUE(pepper_->Verify(after, kPassword));
  EXPECT_OK(auth->Login("alice", kPassword));
}

TEST_F(PasswordPepperTest, SetPasswordStoresThePepperedForm) {
  auto auth = Service(pepper_.get());
  ASSERT_OK(auth->CreateUser("alice", kPassword, "sales"));

  ASSERT_OK(auth->SetPassword("alice", "another long passphrase"));

  EXPECT_TRUE(IsPeppered(StoredHash("alice")));
  EXPECT_OK(auth->Login("alice", "another long passphrase"));
}

}  // namespace
}  // namespace panorama::security
