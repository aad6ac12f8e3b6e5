#pragma once
// What the store needs from field encryption (SECURITY.md §2.2–2.3), injected through StoreOptions so the store
// never loads or holds master keys itself. The implementation (security/field_encryptor.h) owns the key
// hierarchy and the keystore.
//
// Thread-safety: every method may be called from any thread (the store calls it from its writer and from
// concurrent readers).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/result.h"

namespace panorama::storage {

// Where a value lives: bound into the AEAD associated data (table | column | row | subject), so a ciphertext
// copied to another row, column or customer fails to decrypt.
struct FieldRef {
  std::string_view table;
  std::string_view column;
  int64_t row = 0;
  CustomerId subject;  // whose data key encrypts it
};

// Blind-index families; each has its own key.
enum class BlindField : uint32_t {
  kEmail = 1,
  kPhone = 2,
  kPhoneLast4 = 3,
  kName = 4,
  kSurname = 5,
  kExternalId = 6,
  kIdentity = 7,
};

class FieldCrypto {
 public:
  virtual ~FieldCrypto() = default;

  // Encrypts under the subject's current data key, creating the key on first use (kept in memory until
  // Flush()). kFailedPrecondition when the subject was erased (a tombstoned subject never gets a key again).
  virtual Result<std::string> Seal(const FieldRef& at, std::string_view plaintext) = 0;
  // Decrypts; kInternal "integrity error ..." when the envelope was altered, moved, or its key destroyed.
  // Never returns partial plaintext.
  virtual Result<std::string> Open(const FieldRef& at, std::string_view envelope) = 0;
  // Keyed hash of an already normalised value (8 bytes; 2 bytes for kPhoneLast4). Equal inputs, equal outputs.
  virtual std::string BlindIndex(BlindField field, std::string_view normalized) = 0;

  // Makes every data key created since the last call durable (fsync) in the keystore. The store calls it
  // before each commit, so no committed ciphertext refers to a key that could be lost.
  virtual Result<void> Flush() = 0;

  // Crypto-shredding: destroys every version of the subject's data key and records a tombstone, durably,
  // before returning. Idempotent.
  virtual Result<void> Shred(CustomerId subject) = 0;
  // Every tombstoned subject, ascending.
  virtual Result<std::vector<CustomerId>> ShreddedSubjects() = 0;

  // Per-customer key rotation: a new current data key version (older versions still decrypt) and, after the
  // rows are re-encrypted and committed, the removal of the older versions.
  virtual Result<int> NewKeyVersion(CustomerId subject) = 0;
  virtual Result<void> RetireOldKeyVersions(CustomerId subject) = 0;

  // The random id of the keystore these keys live in (32 hex digits), which the database records to refuse a
  // keystore.db that belongs to another database. Empty: no keystore file behind this crypto (no pairing).
  virtual Result<std::string> KeystoreId() { return std::string(); }
};

}  // namespace panorama::storage
