#pragma once
// The real field encryption for tests that open a SQLite store: a FieldEncryptor over a keystore file with a
// random (or given) master key. Link panorama_security.

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>

#include "security/crypto_util.h"
#include "security/field_encryptor.h"
#include "security/keys.h"
#include "storage/keystore.h"

namespace panorama::testing {

inline security::MasterKeyRing RandomRing(int version = 1) {
  security::InitCrypto();
  security::MasterKeyRing ring;
  ring.Add(version, security::RandomKey());
  return ring;
}

// A copy of `ring` (keys are move-only).
inline security::MasterKeyRing CopyRing(const security::MasterKeyRing& ring) {
  security::MasterKeyRing copy;
  for (const auto& [version, key] : ring.keys()) {
    security::SecretBytes k(key.size());
    std::copy(key.data(), key.data() + key.size(), k.data());
    copy.Add(version, std::move(k));
  }
  return copy;
}

inline Result<std::unique_ptr<security::FieldEncryptor>> OpenTestCrypto(const std::string& keystore_path,
                                                                        security::MasterKeyRing ring,
                                                                        bool durable = true) {
  security::InitCrypto();
  ASSIGN_OR_RETURN(auto keystore, storage::OpenSqliteKeyStore({.path = keystore_path, .synchronous_full = durable}));
  return security::FieldEncryptor::Open(std::move(ring), std::move(keystore));
}

// Aborts the test binary if the keystore cannot be opened (a broken test setup, not a test result).
inline std::unique_ptr<security::FieldEncryptor> MakeTestCrypto(const std::string& keystore_path,
                                                                bool durable = true) {
  auto crypto = OpenTestCrypto(keystore_path, RandomRing(), durable);
  if (!crypto) std::abort();
  return std::move(crypto).value();
}

}  // namespace panorama::testing
