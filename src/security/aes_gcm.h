#pragma once
// AES-256-GCM through OpenSSL EVP, the alternative field cipher (SECURITY.md §2.2). The only file of security/
// that includes OpenSSL: callers pass raw buffers. Callers choose the nonce (FieldEncryptor: 12 random bytes
// per envelope; each customer's DEK seals far fewer than the 2^32 messages a random 96-bit nonce allows).

#include <cstddef>
#include <string_view>

namespace panorama::security {

inline constexpr size_t kAesGcmKeyBytes = 32;
inline constexpr size_t kAesGcmNonceBytes = 12;
inline constexpr size_t kAesGcmTagBytes = 16;

// Writes ct | tag (plain.size() + 16 bytes) to `out`. false only when OpenSSL fails (out of memory).
bool AesGcmSeal(const unsigned char* key, const unsigned char* nonce, std::string_view plain, std::string_view ad,
                unsigned char* out);

// Opens ct | tag into `out` (sealed.size() - 16 bytes); false when `sealed` is shorter than a tag or does not
// authenticate under key, nonce and ad (then `out` holds no plaintext: it is zeroed).
bool AesGcmOpen(const unsigned char* key, const unsigned char* nonce, std::string_view sealed, std::string_view ad,
                unsigned char* out);

// Whether this CPU has AES instructions (x86 AES-NI with PCLMULQDQ). Without them OpenSSL may fall back to
// table-based AES, which is not guaranteed constant-time: XChaCha20-Poly1305 is then the safer field cipher.
bool CpuHasAesInstructions();

}  // namespace panorama::security
