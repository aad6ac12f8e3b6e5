#pragma once
// Field encryption at rest (SECURITY.md §2.1–2.3, §2.7): AEAD envelopes under per-customer data keys (DEKs),
// DEKs wrapped by a key-encryption key derived from the master key and kept in the keystore file, blind indexes
// (HMAC-SHA-256, truncated) for equality search, crypto-shredding and master-key rotation.
//
// Envelope: ver(1)=1 | alg(1) | dek_v(2, big-endian) | nonce | ct | tag(16), where alg 1 = XChaCha20-Poly1305-IETF
// (libsodium, nonce 24) and alg 2 = AES-256-GCM (OpenSSL EVP, nonce 12); nonces are random. Associated data =
// the 4 header bytes | table | column | row | subject, so a flipped alg byte fails authentication. The
// deployment's cipher (keystore meta "field_cipher") seals new values; both always open. Empty values stay empty.
// Wrapped DEK: nonce(24) | ct | tag under KEK_mkv, associated data "dek|<subject>|<dek_v>".
//
// Thread-safety: all methods are thread-safe. Unwrapped DEKs live in an LRU cache in sodium_malloc'd memory;
// keys created but not yet flushed to the keystore are pinned in it.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "security/keys.h"
#include "security/secret_sealer.h"
#include "storage/field_crypto.h"
#include "storage/keystore.h"

namespace panorama::security {

// The AEAD of new field envelopes; the value is the envelope's alg byte.
enum class FieldCipher : unsigned char { kXChaCha20Poly1305 = 1, kAes256Gcm = 2 };

// "xchacha20-poly1305" or "aes-256-gcm" (the option values and the keystore meta).
std::string_view FieldCipherName(FieldCipher cipher);
// kInvalidArgument naming `field` ("must be xchacha20-poly1305 or aes-256-gcm") for any other text.
Result<FieldCipher> ParseFieldCipher(std::string_view text, std::string field = "field-cipher");

struct FieldEncryptorOptions {
  size_t cache_capacity = 8192;  // unwrapped DEKs kept (32 bytes each); pinned keys may exceed it
  // Re-reads the master key source when the keystore names a master version this process lacks (an online
  // `panorama key rotate --master` in another process). Empty: no reload.
  std::function<Result<MasterKeyRing>()> reload;
  // The deployment's cipher for new envelopes: recorded in the keystore (after the master-key check) when it
  // differs from the recorded one. Empty: keep the recorded one; a new keystore records XChaCha20-Poly1305.
  std::optional<FieldCipher> cipher;
};

struct MasterRotationReport {
  int from_version = 0;
  int to_version = 0;
  int64_t rewrapped = 0;
};

class FieldEncryptor final : public storage::FieldCrypto {
 public:
  // Checks the ring against the keystore's key-check values before anything is written: a wrong master key is
  // kFailedPrecondition "wrong master key ..." and leaves the keystore untouched. A new keystore is initialised
  // (current master version, key-check value, blind-index root key).
  static Result<std::unique_ptr<FieldEncryptor>> Open(MasterKeyRing ring, std::unique_ptr<storage::KeyStore> keystore,
                                                      FieldEncryptorOptions options = {});
  ~FieldEncryptor() override;

  // storage::FieldCrypto
  Result<std::string> Seal(const storage::FieldRef& at, std::string_view plaintext) override;
  Result<std::string> Open(const storage::FieldRef& at, std::string_view envelope) override;
  std::string BlindIndex(storage::BlindField field, std::string_view normalized) override;
  Result<void> Flush() override;
  Result<void> Shred(CustomerId subject) override;
  Result<std::vector<CustomerId>> ShreddedSubjects() override;
  Result<int> NewKeyVersion(CustomerId subject) override;
  Result<void> RetireOldKeyVersions(CustomerId subject) override;
  Result<std::string> KeystoreId() override;

  // Makes `new_version` (which the ring must hold) the current master key version and re-wraps every data key
  // under it, in batches of 500 keys per keystore transaction; readers keep working meanwhile (old versions stay
  // usable until every key is re-wrapped). Returns how many keys were re-wrapped.
  Result<MasterRotationReport> RotateMaster(int new_version);
  int CurrentMasterVersion();
  // The cipher new envelopes are sealed with.
  FieldCipher Cipher();
  // Records `cipher` in the keystore and seals new values with it from now on. Stored values keep their cipher
  // (both open) until rewritten or re-encrypted (`panorama key rotate --customer`). Another process's running
  // encryptor keeps the cipher it opened with until it restarts.
  Result<void> SetCipher(FieldCipher cipher);
  // The keystore's erasure counter (bumped by each Shred).
  Result<int64_t> Epoch();
  storage::KeyStore& keystore() { return *keystore_; }
  // A sealer for small secrets (TOTP seeds: purpose "totp") under the system data key `system:<purpose>` of the
  // keystore, created on first use and wrapped under the current master key like every data key — so a master
  // rotation re-wraps it and a data backup never holds it. Values are "v2:" + base64(nonce | ct | tag), AD =
  // "sealed|<context>".
  Result<std::unique_ptr<SecretSealer>> SystemSealer(std::string_view purpose);
  // The system data key `system:<purpose>` itself (32 bytes), created on first use like SystemSealer's: for
  // keys used other than for sealing (the password pepper, password_pepper.h).
  Result<SecretBytes> SystemKey(std::string_view purpose);

 private:
  struct State;
  explicit FieldEncryptor(std::unique_ptr<State> state, std::unique_ptr<storage::KeyStore> keystore);

  std::unique_ptr<State> state_;
  std::unique_ptr<storage::KeyStore> keystore_;
};

}  // namespace panorama::security
