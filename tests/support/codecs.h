#pragma once
// Standard base64 for tests that must build what a client sends: HTTP Basic credentials (the Segment write key)
// and master keys. The product only decodes base64 (security::DecodeBase64); encoding lives here. Header-only.

#include <string>
#include <string_view>

namespace panorama::testing {

// Standard alphabet, padded with '='.
inline std::string Base64(std::string_view raw) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : raw) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(kAlphabet[(val >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(kAlphabet[((val << 8) >> (bits + 8)) & 0x3F]);
  while (out.size() % 4) out.push_back('=');
  return out;
}

// The Authorization value for HTTP Basic with `user` and an empty password, as Segment SDKs send a write key.
inline std::string BasicAuth(std::string_view user) {
  return "Basic " + Base64(std::string(user) + ":");
}

}  // namespace panorama::testing
