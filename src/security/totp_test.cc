#include "security/totp.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <cstdio>
#include <memory>

#include "security/crypto_util.h"

namespace panorama::security {
namespace {

// RFC 6238 Appendix B, SHA-1 rows: the seed is the ASCII string "12345678901234567890". The RFC prints 8
// digits; a 6-digit code is the last 6 of them (HOTP truncation is modulo 10^digits).
constexpr std::string_view kRfcSeed = "12345678901234567890";

TEST(Totp, MatchesRfc6238Sha1Vectors) {
  struct Vector {
    int64_t unix_seconds;
    const char* code;
  };
  const Vector vectors[] = {{59, "287082"},         {1111111109, "081804"}, {1111111111, "050471"},
                            {1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"}};

  for (const auto& v : vectors) {
    EXPECT_EQ(TotpCode(kRfcSeed, TotpStep(v.unix_seconds)), v.code) << "T = " << v.unix_seconds;
  }
}

std::string Hex(std::string_view bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  out.pop_back();
  return out;
}

TEST(Totp, AgreesWithOathtoolForRandomSeeds) {
  if (std::FILE* probe = std::fopen("/usr/bin/oathtool", "r")) {
    std::fclose(probe);
  } else {
    GTEST_SKIP() << "oathtool is not installed (scripts/setup.sh installs it)";
  }
  InitCrypto();
  for (int i = 0; i < 5; ++i) {
    std::string seed(kTotpSeedBytes, '\0');
    randombytes_buf(seed.data(), seed.size());
    int64_t t = 1'700'000'000 + i * 7919;
    std::string command = "/usr/bin/oathtool --totp -d 6 -N @" + std::to_string(t) + " " + Hex(seed);
    std::unique_ptr<std::FILE, decltype(&pclose)> pipe(popen(command.c_str(), "r"), &pclose);
    ASSERT_NE(pipe, nullptr);
    char line[32] = {};
    ASSERT_NE(std::fgets(line, sizeof line, pipe.get()), nullptr);
    std::string expected(line);
    while (!expected.empty() && (expected.back() == '\n' || expected.back() == '\r')) expected.pop_back();

    EXPECT_EQ(TotpCode(seed, TotpStep(t)), expected);
  }
}

TEST(Totp, AcceptsOneStepEitherSideAndRejectsTwo) {
  int64_t now = 1'700'000'000;
  int64_t step = TotpStep(now);

  EXPECT_EQ(MatchTotp(kRfcSeed, TotpCode(kRfcSeed, step), now, 0), step);
  EXPECT_EQ(MatchTotp(kRfcSeed, TotpCode(kRfcSeed, step - 1), now, 0), step - 1);
  EXPECT_EQ(MatchTotp(kRfcSeed, TotpCode(kRfcSeed, step + 1), now, 0), step + 1);
  EXPECT_EQ(MatchTotp(kRfcSeed, TotpCode(kRfcSeed, step - 2), now, 0), std::nullopt);
  EXPECT_EQ(MatchTotp(kRfcSeed, TotpCode(kRfcSeed, step + 2), now, 0), std::nullopt);
}

TEST(Totp, RejectsACodeAtOrBeforeTheLastAcceptedStep) {
  int64_t now = 1'700'000'000;
  int64_t step = TotpStep(now);

  EXPECT_EQ(MatchTotp(kRfcSeed, TotpCode(kRfcSeed, step), now, step), std::nullopt);
  EXPECT_EQ(MatchTotp(kRfcSeed, TotpCode(kRfcSeed, step - 1), now, step - 1), std::nullopt);
}

TEST(Totp, RejectsMalformedCodes) {
  int64_t now = 1'700'000'000;

  EXPECT_EQ(MatchTotp(kRfcSeed, "", now, 0), std::nullopt);
  EXPECT_EQ(MatchTotp(kRfcSeed, "12345", now, 0), std::nullopt);
  EXPECT_EQ(MatchTotp(kRfcSeed, "1234567", now, 0), std::nullopt);
  EXPECT_EQ(MatchTotp(kRfcSeed, "abcdef", now, 0), std::nullopt);
}

TEST(Totp, OtpauthUriCarriesTheBase32SeedAndParameters) {
  std::string uri = OtpauthUri("Panorama", "li.na@example.cn", kRfcSeed);

  EXPECT_EQ(uri, "otpauth://totp/Panorama:li.na%40example.cn?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                 "&issuer=Panorama&algorithm=SHA1&digits=6&period=30");
}

}  // namespace
}  // namespace panorama::security
