#include "security/password_pepper.h"

#include <sodium.h>

#include "core/result.h"
#include "security/auth_service.h"

namespace panorama::security {

PasswordPepper::PasswordPepper(SecretBytes key) : key_(std::move(key)) {
  PANORAMA_CHECK(key_.size() == crypto_auth_hmacsha256_KEYBYTES);
}

std::string PasswordPepper::Apply(std::string_view password) const {
  std::string mac(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key_.data(), key_.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(password.data()), password.size());
  crypto_auth_hmacsha256_final(&state, reinterpret_cast<unsigned char*>(mac.data()));
  sodium_memzero(&state, sizeof state);
  return mac;
}

std::string PasswordPepper::Hash(std::string_view password) const {
  std::string peppered = Apply(password);
  std::string hash = std::string(kPepperedHashPrefix) + HashPassword(peppered);
  sodium_memzero(peppered.data(), peppered.size());
  return hash;
}

bool PasswordPepper::Verify(std::string_view encoded, std::string_view password) const {
  if (!IsPeppered(encoded)) return VerifyPassword(encoded, password);
  std::string peppered = Apply(password);
  bool ok = VerifyPassword(encoded.substr(kPepperedHashPrefix.size()), peppered);
  sodium_memzero(peppered.data(), peppered.size());
  return ok;
}

}  // namespace panorama::security
