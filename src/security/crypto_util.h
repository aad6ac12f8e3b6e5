#pragma once
// Small cryptographic helpers over libsodium: random tokens, SHA-256, constant-time compare.

#include <optional>
#include <string>
#include <string_view>

namespace panorama::security {

// Must be called once before any other function here (sodium_init); safe to call again.
bool InitCrypto();

// `bytes` random bytes from the OS CSPRNG, base64url without padding.
std::string RandomToken(size_t bytes = 32);

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// Standard base64 (with or without padding) to bytes; nullopt when malformed.
std::optional<std::string> DecodeBase64(std::string_view text);

// Timing-safe equality for secrets of equal length.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace panorama::security
