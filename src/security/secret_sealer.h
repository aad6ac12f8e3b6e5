#pragma once
// Encryption of small secrets at rest (TOTP seeds). A narrow interface so the composition root can later point
// it at the system data-encryption key of the key hierarchy; today FileKeySealer derives its key from
// <data>/system.key.

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace panorama::security {

// Thread-safe. `context` is bound to the ciphertext (associated data), e.g. "mfa-seed:user:42", so a sealed
// value copied to another row does not open there.
class SecretSealer {
 public:
  virtual ~SecretSealer() = default;
  virtual Result<std::string> Seal(std::string_view plaintext, std::string_view context) const = 0;
  // kInternal when the value was not sealed by this key under this context (tampered, moved or wrong key).
  virtual Result<std::string> Open(std::string_view sealed, std::string_view context) const = 0;
};

// XChaCha20-Poly1305 (libsodium AEAD) under a subkey derived (crypto_kdf) from a 32-byte master key kept in
// `key_path`. The file is created with mode 0600 when absent; an existing file that is not exactly 32 bytes or
// is readable by group/others is refused (kFailedPrecondition naming the path).
Result<std::unique_ptr<SecretSealer>> OpenFileKeySealer(const std::string& key_path);

}  // namespace panorama::security
