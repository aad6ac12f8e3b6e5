#include "security/totp.h"

#include <liboath/oath.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "security/crypto_util.h"

namespace panorama::security {
namespace {

void InitOath() {
  static std::once_flag once;
  std::call_once(once, [] { oath_init(); });
}

std::string PercentEncode(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace

std::string TotpCode(std::string_view seed, int64_t step) {
  InitOath();
  char out[kTotpDigits + 1] = {};
  // liboath takes the time in seconds and divides by the step itself; pass the start of the step.
  if (oath_totp_generate(seed.data(), seed.size(), static_cast<time_t>(step * kTotpStepSeconds),
                         static_cast<unsigned>(kTotpStepSeconds), 0, kTotpDigits, out) != OATH_OK) {
    return {};
  }
  return out;
}

std::optional<int64_t> MatchTotp(std::string_view seed, std::string_view code, int64_t unix_seconds,
                                 int64_t last_step, int window) {
  if (code.size() != static_cast<size_t>(kTotpDigits)) return std::nullopt;
  int64_t now_step = TotpStep(unix_seconds);
  std::optional<int64_t> found;
  // Every candidate is computed and compared, so the time taken does not tell which step matched.
  for (int64_t step = now_step - window; step <= now_step + window; ++step) {
    std::string expected = TotpCode(seed, step);
    if (expected.size() == code.size() && ConstantTimeEquals(expected, code) && step > last_step && !found) {
      found = step;
    }
  }
  return found;
}

std::string Base32(std::string_view bytes) {
  InitOath();
  char* out = nullptr;
  size_t length = 0;
  if (oath_base32_encode(bytes.data(), bytes.size(), &out, &length) != OATH_OK) return {};
  std::string text(out, length);
  std::free(out);
  while (!text.empty() && text.back() == '=') text.pop_back();
  return text;
}

std::string OtpauthUri(std::string_view issuer, std::string_view account, std::string_view seed) {
  std::string label = PercentEncode(issuer) + ":" + PercentEncode(account);
  return "otpauth://totp/" + label + "?secret=" + Base32(seed) + "&issuer=" + PercentEncode(issuer) +
         "&algorithm=SHA1&digits=" + std::to_string(kTotpDigits) + "&period=" + std::to_string(kTotpStepSeconds);
}

}  // namespace panorama::security
