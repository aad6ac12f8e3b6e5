#pragma once
// Small cryptographic helpers over libsodium: random tokens, SHA-256, constant-time compare.

#include <string>
#include <string_view>

namespace panorama::security {

// Must be called once before any other function here (sodium_init); safe to call again.
bool InitCrypto();

// `bytes` random bytes from the OS CSPRNG, base64url without padding.
std::string RandomToken(size_t bytes = 32);

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// Timing-safe equality for secrets of equal length.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace panorama::security
