#pragma once
// Encryption of small secrets at rest (TOTP seeds). The composition root seals with the keystore's system data
// key (FieldEncryptor::SystemSealer, "v2:" values); FileKeySealer (<data>/system.key, "v1:" values) remains
// only to open seeds sealed before, which are resealed at start (AuthService::ResealLegacyMfaSeeds).

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

// Seals with `current`; opens "v1:" values with `legacy` (the retired file key; null when it is gone) and every
// other value with `current`.
std::unique_ptr<SecretSealer> MakeMigratingSealer(std::unique_ptr<SecretSealer> current,
                                                  std::unique_ptr<SecretSealer> legacy);

// true for a value sealed by FileKeySealer (the retired <data>/system.key).
inline bool IsLegacySealed(std::string_view sealed) { return sealed.starts_with("v1:"); }

}  // namespace panorama::security
