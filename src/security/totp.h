#pragma once
// TOTP (RFC 6238) over liboath: HMAC-SHA-1, 6 digits, 30 s steps counted from the Unix epoch, and the
// otpauth:// URI authenticator apps read (Google Authenticator "Key Uri Format"). Stateless and thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace panorama::security {

inline constexpr int kTotpDigits = 6;
inline constexpr int64_t kTotpStepSeconds = 30;
inline constexpr size_t kTotpSeedBytes = 20;  // 160 bits (RFC 4226 §4 recommends 160)

// The 30 s step that contains `unix_seconds`.
inline int64_t TotpStep(int64_t unix_seconds) { return unix_seconds / kTotpStepSeconds; }

// The code for `step`, zero-padded to 6 digits; empty only if liboath fails (a bug: its inputs are fixed).
std::string TotpCode(std::string_view seed, int64_t step);

// The step within ±`window` steps of `unix_seconds` whose code equals `code` (compared in constant time),
// skipping steps at or before `last_step` (single use). nullopt when none matches.
std::optional<int64_t> MatchTotp(std::string_view seed, std::string_view code, int64_t unix_seconds,
                                 int64_t last_step, int window = 1);

// RFC 4648 base32 without padding (upper case), the form authenticator apps take.
std::string Base32(std::string_view bytes);

// otpauth://totp/<issuer>:<account>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30
std::string OtpauthUri(std::string_view issuer, std::string_view account, std::string_view seed);

}  // namespace panorama::security
