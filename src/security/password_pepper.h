#pragma once
// The password pepper (SECURITY.md §2.4, "optional pepper"): staff passwords are hashed as
// argon2id(HMAC-SHA-256(pepper, password)) instead of argon2id(password). The pepper is the keystore's system data
// key `system:password-pepper` (wrapped by the master key, re-wrapped by master rotation, never in panorama.db), so
// a copy of the database alone — a stolen data backup, a leaked disk image of the data file — allows no offline
// password guessing: every guess needs the key as well.
//
// Stored form: "$pnpep1" followed by the argon2id string ("$pnpep1$argon2id$v=19$m=65536,t=2,p=1$…"). Hashes
// made before the pepper (plain "$argon2id$…") still verify and are re-hashed with the pepper at the next correct
// sign-in. Losing the key (restoring a keystore backup older than the key) makes peppered passwords unverifiable,
// like TOTP seeds: an admin sets new passwords (`panorama user password NAME`).

#include <string>
#include <string_view>

#include "security/keys.h"

namespace panorama::security {

inline constexpr std::string_view kPepperedHashPrefix = "$pnpep1";
inline constexpr std::string_view kPepperKeyPurpose = "password-pepper";

class PasswordPepper {
 public:
  // `key`: 32 bytes (FieldEncryptor::SystemKey(kPepperKeyPurpose)).
  explicit PasswordPepper(SecretBytes key);

  // argon2id over the peppered password, with the prefix.
  std::string Hash(std::string_view password) const;
  // Whether `password` matches `encoded`: a peppered hash through the pepper, a plain argon2id hash directly.
  bool Verify(std::string_view encoded, std::string_view password) const;

 private:
  // HMAC-SHA-256(key, password): 32 bytes, the argon2id input. The caller wipes it.
  std::string Apply(std::string_view password) const;

  SecretBytes key_;
};

inline bool IsPeppered(std::string_view encoded) { return encoded.starts_with(kPepperedHashPrefix); }

}  // namespace panorama::security
