// The AES-256-GCM primitive against known answers that do not come from OpenSSL: the GCM specification's test
// cases (McGrew & Viega, also in NIST's GCM validation) and libsodium's own AES-256-GCM where the CPU has AES-NI.
#include "security/aes_gcm.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>

#include "security/crypto_util.h"

namespace panorama::security {
namespace {

std::string Hex(std::string_view hex) {
  std::string out(hex.size() / 2, '\0');
  size_t length = 0;
  sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), hex.data(), hex.size(), nullptr, &length,
                 nullptr);
  out.resize(length);
  return out;
}

const unsigned char* Bytes(const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); }

std::string Seal(const std::string& key, const std::string& nonce, const std::string& plain, const std::string& ad) {
  std::string out(plain.size() + kAesGcmTagBytes, '\0');
  if (!AesGcmSeal(Bytes(key), Bytes(nonce), plain, ad, reinterpret_cast<unsigned char*>(out.data()))) return "failed";
  return out;
}

struct Vector {
  const char* name;
  const char* key;
  const char* nonce;
  const char* plain;
  const char* ad;
  const char* ct_and_tag;
};

// GCM spec test cases 13, 14 and 16 (AES-256, 96-bit IV; 16 has associated data and a partial last block).
const Vector kVectors[] = {
    {"case 13 (empty)", "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
     "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"case 14 (one block)", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "00000000000000000000000000000000", "",
     "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"},
    {"case 16 (AD, 60 bytes)", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de6"
     "57ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a"
     "0abcc9f66276fc6ece0f4e1768cddf8853bb2d551b"},
};

TEST(AesGcmTest, MatchesTheGcmSpecificationVectors) {
  for (const auto& v : kVectors) {
    SCOPED_TRACE(v.name);
    std::string key = Hex(v.key), nonce = Hex(v.nonce), plain = Hex(v.plain), ad = Hex(v.ad);
    std::string expected = Hex(v.ct_and_tag);

    ASSERT_EQ(expected.size() * 2, std::string_view(v.ct_and_tag).size());  // the hex decoded whole
    EXPECT_EQ(Seal(key, nonce, plain, ad), expected);
    std::string opened(plain.size(), '\0');
    EXPECT_TRUE(AesGcmOpen(Bytes(key), Bytes(nonce), expected, ad, reinterpret_cast<unsigned char*>(opened.data())));
    EXPECT_EQ(opened, plain);
  }
}

TEST(AesGcmTest, WrongTagNonceOrAssociatedDataDoesNotOpenAndLeavesNoPlaintext) {
  const auto& v = kVectors[2];
  std::string key = Hex(v.key), nonce = Hex(v.nonce), ad = Hex(v.ad), sealed = Hex(v.ct_and_tag);
  auto refused = [&](const std::string& n, const std::string& s, const std::string& a) {
    std::string out(s.size() - kAesGcmTagBytes, 'x');
    bool ok = AesGcmOpen(Bytes(key), Bytes(n), s, a, reinterpret_cast<unsigned char*>(out.data()));
    return !ok && out == std::string(out.size(), '\0');
  };
  std::string bad_tag = sealed;
  bad_tag.back() ^= 0x80;
  std::string bad_ct = sealed;
  bad_ct[0] ^= 0x01;
  std::string bad_nonce = nonce;
  bad_nonce[11] ^= 0x01;

  EXPECT_TRUE(refused(nonce, bad_tag, ad));
  EXPECT_TRUE(refused(nonce, bad_ct, ad));
  EXPECT_TRUE(refused(bad_nonce, sealed, ad));
  EXPECT_TRUE(refused(nonce, sealed, ad + "x"));
  EXPECT_TRUE(refused(nonce, sealed, ""));
  unsigned char none[1];
  EXPECT_FALSE(AesGcmOpen(Bytes(key), Bytes(nonce), sealed.substr(0, kAesGcmTagBytes - 1), ad, none));
}

// libsodium's AES-256-GCM is an independent implementation (it needs AES-NI and PCLMUL): random inputs sealed
// by one open under the other, both ways.
TEST(AesGcmTest, AgreesWithLibsodiumOnRandomInputs) {
  ASSERT_TRUE(InitCrypto());
  if (crypto_aead_aes256gcm_is_available() == 0) GTEST_SKIP() << "no AES-NI: libsodium has no AES-256-GCM here";
  for (size_t size : {0u, 1u, 15u, 16u, 17u, 255u, 4096u}) {
    SCOPED_TRACE(size);
    std::string key(32, '\0'), nonce(12, '\0'), plain(size, '\0'), ad(size % 40, '\0');
    for (std::string* s : {&key, &nonce, &plain, &ad}) randombytes_buf(s->data(), s->size());

    std::string ours = Seal(key, nonce, plain, ad);
    std::string theirs(size + kAesGcmTagBytes, '\0');
    unsigned long long theirs_len = 0;
    crypto_aead_aes256gcm_encrypt(reinterpret_cast<unsigned char*>(theirs.data()), &theirs_len, Bytes(plain),
                                  plain.size(), Bytes(ad), ad.size(), nullptr, Bytes(nonce), Bytes(key));
    std::string opened(size, '\0');

    EXPECT_EQ(ours, theirs);
    EXPECT_TRUE(AesGcmOpen(Bytes(key), Bytes(nonce), theirs, ad, reinterpret_cast<unsigned char*>(opened.data())));
    EXPECT_EQ(opened, plain);
  }
}

}  // namespace
}  // namespace panorama::security
