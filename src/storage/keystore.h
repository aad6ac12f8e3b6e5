#pragma once
// The keystore file (SECURITY.md §2.1): wrapped data keys, erasure tombstones and key metadata, in a SQLite
// file of its own beside (never inside) the main database, so data backups never contain data keys. This layer
// stores opaque bytes only; wrapping and unwrapping is done by security/field_encryptor.
//
// Thread-safety: every method may be called from any thread; writes are serialised.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/time.h"

namespace panorama::storage {

// Meta `keystore_id`: 32 lowercase hex digits (128 random bits), given to a keystore by security/field_encryptor
// when it is created (or, for a keystore from before ids, at its first open after the master key check). The main database records it (keystore_pairing, migration 15)
// and backups carry it, so a keystore.db from another data directory is refused instead of "reconciled".
inline constexpr char kKeystoreIdMeta[] = "keystore_id";
// Meta `epoch`: the erasure counter, bumped by every crypto-shred.
inline constexpr char kKeystoreEpochMeta[] = "epoch";

struct WrappedKey {
  std::string subject;     // "c:<customer id>" or "system:<domain>"
  int key_version = 1;     // dek_v
  int master_version = 1;  // mk_v of the key-encryption key that wrapped it
  std::string wrapped;     // nonce | ciphertext | tag
};

class KeyStoreTxn {
 public:
  virtual ~KeyStoreTxn() = default;
  virtual Result<std::optional<std::string>> GetMeta(std::string_view name) = 0;
  virtual Result<void> PutMeta(std::string_view name, std::string_view value) = 0;
  // kFailedPrecondition when the subject is tombstoned; kAlreadyExists when (subject, version) exists.
  virtual Result<void> PutKey(const WrappedKey& key) = 0;
  // Replaces the wrapping of an existing (subject, version): master-key rotation.
  virtual Result<void> Rewrap(const WrappedKey& key) = 0;
  virtual Result<void> DeleteKeysBelow(std::string_view subject, int key_version) = 0;
  // Deletes every key version of the subject and records the tombstone (no-op if already there).
  virtual Result<void> Tombstone(std::string_view subject, Timestamp at) = 0;
  // Up to `limit` keys wrapped under a master version other than `master_version`.
  virtual Result<std::vector<WrappedKey>> KeysNotUnder(int master_version, int limit) = 0;
};

class KeyStore {
 public:
  virtual ~KeyStore() = default;
  // One transaction (BEGIN IMMEDIATE … COMMIT, fsynced when durable); rolled back if `fn` fails.
  virtual Result<void> Write(const std::function<Result<void>(KeyStoreTxn&)>& fn) = 0;
  virtual Result<std::optional<std::string>> GetMeta(std::string_view name) = 0;
  virtual Result<std::vector<WrappedKey>> GetKeys(std::string_view subject) = 0;  // ascending version
  virtual Result<bool> IsTombstoned(std::string_view subject) = 0;
  virtual Result<std::vector<std::string>> ListTombstones() = 0;
  virtual Result<int64_t> CountKeysNotUnder(int master_version) = 0;
};

struct KeyStoreOptions {
  std::string path;              // e.g. <data dir>/keystore.db
  bool synchronous_full = true;  // tombstones and new keys are fsynced before a write returns
};

Result<std::unique_ptr<KeyStore>> OpenSqliteKeyStore(const KeyStoreOptions& options);

}  // namespace panorama::storage
