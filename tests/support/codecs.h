#pragma once
// The text encodings tests need on the client's side: base64 to build HTTP Basic credentials (the Segment write
// key) and master keys, base32 to read back a TOTP secret as an authenticator app does. The product does the other
// direction of each (security::DecodeBase64, security::Base32). Header-only.

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

// RFC 4648 base32 (upper case, padding and unknown characters skipped) to bytes.
inline std::string DecodeBase32(std::string_view text) {
  std::string out;
  int buffer = 0, bits = 0;
  for (char c : text) {
    int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= '2' && c <= '7' ? c - '2' + 26 : -1;
    if (v < 0) continue;
    buffer = (buffer << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<char>((buffer >> (bits - 8)) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

}  // namespace panorama::testing
