#include "security/field_encryptor.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "tests/support/result_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_crypto.h"

namespace panorama::security {
namespace {

using storage::BlindField;
using storage::FieldRef;

class FieldEncryptorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ring_ = testing::RandomRing();
    Reopen();
  }
  void Reopen() {
    crypto_.reset();
    crypto_ = std::move(testing::OpenTestCrypto(dir_.File("keystore.db"), testing::CopyRing(ring_))).value();
  }
  static FieldRef At(int64_t row, int64_t subject, std::string_view column = "name") {
    return {"customers", column, row, CustomerId(subject)};
  }

  testing::TempDir dir_;
  MasterKeyRing ring_;
  std::unique_ptr<FieldEncryptor> crypto_;
};

TEST_F(FieldEncryptorTest, EnvelopeRoundTripsAndCarriesVersionHeader) {
  auto sealed = crypto_->Seal(At(7, 7), "王小明 Jane");

  ASSERT_OK(sealed);
  EXPECT_EQ(static_cast<unsigned char>((*sealed)[0]), 1);  // ver
  EXPECT_EQ(static_cast<unsigned char>((*sealed)[1]), 1);  // alg XChaCha20-Poly1305
  EXPECT_EQ(sealed->size(), 4 + 24 + std::string("王小明 Jane").size() + 16);
  EXPECT_EQ(sealed->find("Jane"), std::string::npos);
  auto opened = crypto_->Open(At(7, 7), *sealed);
  ASSERT_OK(opened);
  EXPECT_EQ(*opened, "王小明 Jane");
}

TEST_F(FieldEncryptorTest, FlippingAnyByteIsAnIntegrityError) {
  auto sealed = crypto_->Seal(At(7, 7), "sensitive note");
  ASSERT_OK(sealed);

  for (size_t i = 0; i < sealed->size(); ++i) {
    std::string tampered = *sealed;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);

    auto opened = crypto_->Open(At(7, 7), tampered);

    EXPECT_ERROR_CODE(opened, ErrorCode::kInternal);
    EXPECT_EQ(opened.error().message().rfind("integrity error", 0), 0u) << opened.error().message();
  }
}

TEST_F(FieldEncryptorTest, CiphertextMovedToAnotherRowColumnOrCustomerFails) {
  // Customers 7 and 8 each have a key; the value is sealed for customer 7's row 7, column name.
  ASSERT_OK(crypto_->Seal(At(8, 8), "other"));
  auto sealed = crypto_->Seal(At(7, 7), "Jane Doe");
  ASSERT_OK(sealed);

  EXPECT_ERROR_CODE(crypto_->Open(At(8, 7), *sealed), ErrorCode::kInternal);           // other row
  EXPECT_ERROR_CODE(crypto_->Open(At(7, 7, "email"), *sealed), ErrorCode::kInternal);  // other column
  EXPECT_ERROR_CODE(crypto_->Open(At(7, 8), *sealed), ErrorCode::kInternal);           // other subject
  EXPECT_ERROR_CODE(crypto_->Open({"interactions", "name", 7, CustomerId(7)}, *sealed), ErrorCode::kInternal);
  EXPECT_OK(crypto_->Open(At(7, 7), *sealed));
}

TEST_F(FieldEncryptorTest, NoNonceRepeatsOverManyEncryptions) {
  // 200,000 envelopes (bounded for CI); a repeated 192-bit random nonce would show as a duplicate.
  constexpr int kCount = 200'000;
  std::unordered_set<std::string> nonces;
  nonces.reserve(kCount);
  for (int i = 0; i < kCount; ++i) {
    auto sealed = crypto_->Seal(At(1, 1), "x");
    ASSERT_TRUE(sealed.has_value());
    nonces.insert(sealed->substr(4, 24));
  }

  EXPECT_EQ(nonces.size(), static_cast<size_t>(kCount));
}

TEST_F(FieldEncryptorTest, FlushedKeysSurviveReopen) {
  auto sealed = crypto_->Seal(At(3, 3), "kept");
  ASSERT_OK(sealed);
  ASSERT_OK(crypto_->Flush());

  Reopen();

  auto opened = crypto_->Open(At(3, 3), *sealed);
  ASSERT_OK(opened);
  EXPECT_EQ(*opened, "kept");
}

TEST_F(FieldEncryptorTest, WrongMasterKeyIsRefusedWithoutTouchingTheKeystore) {
  ASSERT_OK(crypto_->Seal(At(3, 3), "x"));
  ASSERT_OK(crypto_->Flush());
  crypto_.reset();

  auto wrong = testing::OpenTestCrypto(dir_.File("keystore.db"), testing::RandomRing());
  auto other_version = testing::OpenTestCrypto(dir_.File("keystore.db"), testing::RandomRing(2));

  EXPECT_ERROR_CODE(wrong, ErrorCode::kFailedPrecondition);
  EXPECT_NE(wrong.error().message().find("wrong master key"), std::string::npos);
  EXPECT_ERROR_CODE(other_version, ErrorCode::kFailedPrecondition);
}

TEST_F(FieldEncryptorTest, ShreddedSubjectCannotBeReadNorGetANewKey) {
  auto sealed = crypto_->Seal(At(5, 5), "to be erased");
  ASSERT_OK(sealed);
  ASSERT_OK(crypto_->Flush());

  ASSERT_OK(crypto_->Shred(CustomerId(5)));
  Reopen();

  EXPECT_ERROR_CODE(crypto_->Open(At(5, 5), *sealed), ErrorCode::kInternal);
  EXPECT_ERROR_CODE(crypto_->Seal(At(5, 5), "again"), ErrorCode::kFailedPrecondition);
  auto shredded = crypto_->ShreddedSubjects();
  ASSERT_OK(shredded);
  ASSERT_EQ(shredded->size(), 1u);
  EXPECT_EQ(shredded->front(), CustomerId(5));
  EXPECT_EQ(*crypto_->Epoch(), 1);
}

TEST_F(FieldEncryptorTest, BlindIndexIsKeyedDeterministicAndPerField) {
  auto email = crypto_->BlindIndex(BlindField::kEmail, "jane@example.com");
  auto again = crypto_->BlindIndex(BlindField::kEmail, "jane@example.com");
  auto as_name = crypto_->BlindIndex(BlindField::kName, "jane@example.com");
  auto last4 = crypto_->BlindIndex(BlindField::kPhoneLast4, "5678");
  auto other_store = testing::MakeTestCrypto(dir_.File("other-keystore.db"));

  EXPECT_EQ(email.size(), 8u);
  EXPECT_EQ(last4.size(), 2u);
  EXPECT_EQ(email, again);
  EXPECT_NE(email, as_name);
  EXPECT_NE(email, other_store->BlindIndex(BlindField::kEmail, "jane@example.com"));
}

TEST_F(FieldEncryptorTest, MasterRotationRewrapsEveryKeyAndKeepsDataReadable) {
  auto sealed = crypto_->Seal(At(9, 9), "still readable");
  ASSERT_OK(sealed);
  ASSERT_OK(crypto_->Flush());
  std::string index_before = crypto_->BlindIndex(BlindField::kEmail, "a@b.c");
  ring_.Add(2, RandomKey());
  Reopen();

  auto report = crypto_->RotateMaster(2);
  ASSERT_OK(report);
  MasterKeyRing only_new;
  only_new.Add(2, std::move(ring_.keys().at(2)));
  ring_ = std::move(only_new);
  Reopen();

  EXPECT_EQ(report->rewrapped, 2);  // the customer key and the blind-index root key
  EXPECT_EQ(*crypto_->keystore().CountKeysNotUnder(2), 0);
  auto opened = crypto_->Open(At(9, 9), *sealed);
  ASSERT_OK(opened);
  EXPECT_EQ(*opened, "still readable");
  EXPECT_EQ(crypto_->BlindIndex(BlindField::kEmail, "a@b.c"), index_before);
}

TEST_F(FieldEncryptorTest, NewKeyVersionEncryptsNewDataWhileOldVersionsStillDecryptUntilRetired) {
  auto old_sealed = crypto_->Seal(At(4, 4), "v1 data");
  ASSERT_OK(old_sealed);

  ASSERT_OK(crypto_->NewKeyVersion(CustomerId(4)));
  auto new_sealed = crypto_->Seal(At(4, 4), "v2 data");
  ASSERT_OK(new_sealed);
  ASSERT_OK(crypto_->Flush());

  EXPECT_EQ((*new_sealed)[3], 2);
  EXPECT_OK(crypto_->Open(At(4, 4), *old_sealed));
  ASSERT_OK(crypto_->RetireOldKeyVersions(CustomerId(4)));
  Reopen();
  EXPECT_ERROR_CODE(crypto_->Open(At(4, 4), *old_sealed), ErrorCode::kInternal);
  EXPECT_EQ(*crypto_->Open(At(4, 4), *new_sealed), "v2 data");
}

TEST_F(FieldEncryptorTest, KeyRotatedByAnotherProcessIsPickedUpFromTheKeystore) {
  auto before = crypto_->Seal(At(6, 6), "old");
  ASSERT_OK(before);
  ASSERT_OK(crypto_->Flush());
  ASSERT_OK(crypto_->Open(At(6, 6), *before));  // version 1 now cached here
  auto other = testing::OpenTestCrypto(dir_.File("keystore.db"), testing::CopyRing(ring_));
  ASSERT_OK(other);
  ASSERT_OK((*other)->NewKeyVersion(CustomerId(6)));
  auto after = (*other)->Seal(At(6, 6), "new");
  ASSERT_OK(after);
  ASSERT_OK((*other)->Flush());
  ASSERT_OK((*other)->RetireOldKeyVersions(CustomerId(6)));

  auto opened = crypto_->Open(At(6, 6), *after);

  ASSERT_OK(opened);
  EXPECT_EQ(*opened, "new");
}

// Regression: with more new (unflushed, pinned) keys than the cache holds, making room must never evict the
// entry being created; every key must reach the keystore.
TEST_F(FieldEncryptorTest, SmallCacheStillServesManySubjects) {
  crypto_.reset();
  auto keystore = storage::OpenSqliteKeyStore({.path = dir_.File("keystore.db")});
  ASSERT_OK(keystore);
  crypto_ = std::move(FieldEncryptor::Open(testing::CopyRing(ring_), std::move(keystore).value(),
                                           {.cache_capacity = 4})).value();
  std::vector<std::string> sealed;
  for (int i = 1; i <= 50; ++i) sealed.push_back(*crypto_->Seal(At(i, i), "v" + std::to_string(i)));
  ASSERT_OK(crypto_->Flush());

  crypto_.reset();
  auto reopened_keystore = storage::OpenSqliteKeyStore({.path = dir_.File("keystore.db")});
  ASSERT_OK(reopened_keystore);
  crypto_ = std::move(FieldEncryptor::Open(testing::CopyRing(ring_), std::move(reopened_keystore).value(),
                                           {.cache_capacity = 4})).value();

  for (int i = 1; i <= 50; ++i) {
    auto opened = crypto_->Open(At(i, i), sealed[static_cast<size_t>(i - 1)]);
    ASSERT_OK(opened);
    EXPECT_EQ(*opened, "v" + std::to_string(i));
  }
}

// AES-256-GCM, the per-deployment alternative (SECURITY.md §2.2): the envelope keeps the layout with alg 2 and a
// 12-byte nonce; the keystore records the choice; both ciphers always open.
class FieldCipherTest : public FieldEncryptorTest {
 protected:
  void Reopen(std::optional<FieldCipher> cipher) {
    crypto_.reset();
    auto keystore = storage::OpenSqliteKeyStore({.path = dir_.File("keystore.db")});
    ASSERT_OK(keystore);
    auto opened = FieldEncryptor::Open(testing::CopyRing(ring_), std::move(keystore).value(), {.cipher = cipher});
    ASSERT_OK(opened);
    crypto_ = std::move(opened).value();
  }
  std::string SealedOrEmpty(const FieldRef& at, std::string_view plain) {
    auto sealed = crypto_->Seal(at, plain);
    return sealed ? *sealed : std::string();
  }
  static void ExpectIntegrityError(const Result<std::string>& opened) {
    EXPECT_ERROR_CODE(opened, ErrorCode::kInternal);
    if (!opened) {
      EXPECT_EQ(opened.error().message().rfind("integrity error", 0), 0u) << opened.error().message();
    }
  }
};

TEST_F(FieldCipherTest, NewKeystoreRecordsXChaChaByDefault) {
  EXPECT_EQ(crypto_->Cipher(), FieldCipher::kXChaCha20Poly1305);
  EXPECT_EQ(*crypto_->keystore().GetMeta("field_cipher"), std::optional<std::string>("xchacha20-poly1305"));
}

TEST_F(FieldCipherTest, AesGcmEnvelopeRoundTripsWithAlgTwoAndA12ByteNonce) {
  Reopen(FieldCipher::kAes256Gcm);

  auto sealed = crypto_->Seal(At(7, 7), "王小明 Jane");

  ASSERT_OK(sealed);
  EXPECT_EQ(static_cast<unsigned char>((*sealed)[0]), 1);  // ver
  EXPECT_EQ(static_cast<unsigned char>((*sealed)[1]), 2);  // alg AES-256-GCM
  EXPECT_EQ(static_cast<unsigned char>((*sealed)[3]), 1);  // dek_v
  EXPECT_EQ(sealed->size(), 4 + 12 + std::string("王小明 Jane").size() + 16);
  EXPECT_EQ(sealed->find("Jane"), std::string::npos);
  EXPECT_EQ(*crypto_->Open(At(7, 7), *sealed), "王小明 Jane");
  EXPECT_NE(SealedOrEmpty(At(7, 7), "王小明 Jane").substr(4, 12), sealed->substr(4, 12));  // fresh nonce
}

TEST_F(FieldCipherTest, FlippingAnyByteOfAnAesGcmEnvelopeIsAnIntegrityError) {
  Reopen(FieldCipher::kAes256Gcm);
  auto sealed = crypto_->Seal(At(7, 7), "sensitive note");
  ASSERT_OK(sealed);

  // Every byte: header (ver, alg, dek_v), nonce, ciphertext and tag.
  for (size_t i = 0; i < sealed->size(); ++i) {
    std::string tampered = *sealed;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    ExpectIntegrityError(crypto_->Open(At(7, 7), tampered));
  }
  ExpectIntegrityError(crypto_->Open(At(7, 7), sealed->substr(0, sealed->size() - 1)));  // truncated tag
}

TEST_F(FieldCipherTest, AesGcmCiphertextMovedToAnotherRowColumnOrCustomerFails) {
  Reopen(FieldCipher::kAes256Gcm);
  ASSERT_OK(crypto_->Seal(At(8, 8), "other"));
  auto sealed = crypto_->Seal(At(7, 7), "Jane Doe");
  ASSERT_OK(sealed);

  ExpectIntegrityError(crypto_->Open(At(8, 7), *sealed));           // other row
  ExpectIntegrityError(crypto_->Open(At(7, 7, "email"), *sealed));  // other column
  ExpectIntegrityError(crypto_->Open(At(7, 8), *sealed));           // other subject
  ExpectIntegrityError(crypto_->Open({"interactions", "name", 7, CustomerId(7)}, *sealed));
  EXPECT_OK(crypto_->Open(At(7, 7), *sealed));
}

TEST_F(FieldCipherTest, AlgByteSwappedBetweenCiphersOrUnknownIsAnIntegrityError) {
  // Long enough that either layout parses: the swap must be caught by authentication (AD covers the alg byte).
  const std::string plain(64, 'p');
  std::string chacha = SealedOrEmpty(At(7, 7), plain);
  Reopen(FieldCipher::kAes256Gcm);
  std::string gcm = SealedOrEmpty(At(7, 7), plain);
  ASSERT_EQ(chacha[1], 1);
  ASSERT_EQ(gcm[1], 2);

  std::string chacha_as_gcm = chacha;
  chacha_as_gcm[1] = 2;
  std::string gcm_as_chacha = gcm;
  gcm_as_chacha[1] = 1;
  std::string unknown = gcm;
  unknown[1] = 3;

  ExpectIntegrityError(crypto_->Open(At(7, 7), chacha_as_gcm));
  ExpectIntegrityError(crypto_->Open(At(7, 7), gcm_as_chacha));
  auto opened = crypto_->Open(At(7, 7), unknown);
  ExpectIntegrityError(opened);
  if (!opened) {
    EXPECT_NE(opened.error().message().find("unknown cipher (alg 3)"), std::string::npos);
  }
}

TEST_F(FieldCipherTest, MixedKeystoreOpensEveryValueAfterEachSwitch) {
  // Written under XChaCha20, switched to AES-GCM (recorded: a reopen without the option keeps it), then back.
  std::vector<std::pair<FieldRef, std::string>> written;
  auto write = [&](int64_t id, const std::string& plain) {
    written.push_back({At(id, id), SealedOrEmpty(At(id, id), plain)});
  };
  write(1, "first xchacha");
  write(2, "second xchacha");
  ASSERT_OK(crypto_->Flush());
  Reopen(FieldCipher::kAes256Gcm);
  write(1, "first gcm");
  write(3, "third gcm");
  ASSERT_OK(crypto_->Flush());
  Reopen(std::nullopt);
  EXPECT_EQ(crypto_->Cipher(), FieldCipher::kAes256Gcm);
  write(4, "fourth gcm");
  ASSERT_OK(crypto_->SetCipher(FieldCipher::kXChaCha20Poly1305));
  write(4, "fourth xchacha");
  ASSERT_OK(crypto_->Flush());
  Reopen(std::nullopt);

  std::vector<int> algs;
  for (const auto& [at, sealed] : written) {
    ASSERT_FALSE(sealed.empty());
    algs.push_back(sealed[1]);
  }
  EXPECT_EQ(algs, (std::vector<int>{1, 1, 2, 2, 2, 1}));
  const char* plains[] = {"first xchacha", "second xchacha", "first gcm", "third gcm", "fourth gcm", "fourth xchacha"};
  for (size_t i = 0; i < written.size(); ++i) {
    auto opened = crypto_->Open(written[i].first, written[i].second);
    ASSERT_OK(opened);
    EXPECT_EQ(*opened, plains[i]);
  }
  EXPECT_EQ(crypto_->Cipher(), FieldCipher::kXChaCha20Poly1305);
}

TEST_F(FieldCipherTest, CipherNamesParseAndABadOneIsNamedInTheError) {
  EXPECT_EQ(*ParseFieldCipher("aes-256-gcm"), FieldCipher::kAes256Gcm);
  EXPECT_EQ(*ParseFieldCipher("xchacha20-poly1305"), FieldCipher::kXChaCha20Poly1305);
  EXPECT_EQ(FieldCipherName(FieldCipher::kAes256Gcm), "aes-256-gcm");
  EXPECT_EQ(FieldCipherName(FieldCipher::kXChaCha20Poly1305), "xchacha20-poly1305");

  auto bad = ParseFieldCipher("aes-128-gcm");

  EXPECT_ERROR_CODE(bad, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message().rfind("field-cipher: ", 0), 0u) << bad.error().message();
  EXPECT_NE(bad.error().message().find("aes-128-gcm"), std::string::npos);
}

TEST_F(FieldCipherTest, UnknownRecordedCipherIsRefusedAndLeftAlone) {
  ASSERT_OK(crypto_->keystore().Write([](storage::KeyStoreTxn& txn) { return txn.PutMeta("field_cipher", "rot13"); }));
  crypto_.reset();
  auto keystore = storage::OpenSqliteKeyStore({.path = dir_.File("keystore.db")});
  ASSERT_OK(keystore);

  auto opened = FieldEncryptor::Open(testing::CopyRing(ring_), std::move(keystore).value(),
                                     {.cipher = FieldCipher::kAes256Gcm});

  EXPECT_ERROR_CODE(opened, ErrorCode::kFailedPrecondition);
  EXPECT_NE(opened.error().message().find("rot13"), std::string::npos);
  auto raw = storage::OpenSqliteKeyStore({.path = dir_.File("keystore.db")});
  ASSERT_OK(raw);
  EXPECT_EQ(*(*raw)->GetMeta("field_cipher"), std::optional<std::string>("rot13"));  // not overwritten
}

}  // namespace
}  // namespace panorama::security
