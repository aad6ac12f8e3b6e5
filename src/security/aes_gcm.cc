#include "security/aes_gcm.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <climits>
#include <cstring>
#include <memory>

namespace panorama::security {
namespace {

// Fetched once: an implicit fetch on every EVP_*Init would look the algorithm up per envelope.
const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }  // also cleanses the key schedule
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

bool FitsInt(size_t n) { return n <= static_cast<size_t>(INT_MAX); }

}  // namespace

bool AesGcmSeal(const unsigned char* key, const unsigned char* nonce, std::string_view plain, std::string_view ad,
                unsigned char* out) {
  if (Aes256Gcm() == nullptr || !FitsInt(plain.size()) || !FitsInt(ad.size())) return false;
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  // The default IV length of GCM in OpenSSL is 12 bytes, which is what we pass.
  if (!ctx || EVP_EncryptInit_ex2(ctx.get(), Aes256Gcm(), key, nonce, nullptr) != 1 ||
      (!ad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(ad.data()),
                                        static_cast<int>(ad.size())) != 1) ||
      EVP_EncryptUpdate(ctx.get(), out, &len, reinterpret_cast<const unsigned char*>(plain.data()),
                        static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kAesGcmTagBytes, out + plain.size()) != 1) {
    OPENSSL_cleanse(out, plain.size() + kAesGcmTagBytes);
    return false;
  }
  return true;
}

bool AesGcmOpen(const unsigned char* key, const unsigned char* nonce, std::string_view sealed, std::string_view ad,
                unsigned char* out) {
  if (Aes256Gcm() == nullptr || sealed.size() < kAesGcmTagBytes || !FitsInt(sealed.size()) || !FitsInt(ad.size())) {
    return false;
  }
  size_t ct_size = sealed.size() - kAesGcmTagBytes;
  const auto* ct = reinterpret_cast<const unsigned char*>(sealed.data());
  // OpenSSL wants a mutable tag buffer.
  unsigned char tag[kAesGcmTagBytes];
  std::memcpy(tag, ct + ct_size, kAesGcmTagBytes);
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok = ctx && EVP_DecryptInit_ex2(ctx.get(), Aes256Gcm(), key, nonce, nullptr) == 1 &&
            (ad.empty() || EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(ad.data()),
                                             static_cast<int>(ad.size())) == 1) &&
            EVP_DecryptUpdate(ctx.get(), out, &len, ct, static_cast<int>(ct_size)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kAesGcmTagBytes, tag) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), out + len, &len) == 1;  // checks the tag (constant-time)
  // GCM decrypts before it authenticates: never leave unauthenticated plaintext behind.
  if (!ok) OPENSSL_cleanse(out, ct_size);
  return ok;
}

bool CpuHasAesInstructions() {
#if defined(__x86_64__) || defined(__i386__)
  return sodium_runtime_has_aesni() == 1 && sodium_runtime_has_pclmul() == 1;
#else
  return false;  // unknown here (e.g. ARMv8 crypto extensions): err on the side of the warning
#endif
}

}  // namespace panorama::security
