#pragma once
// A minimal JSON text builder for privacy/ documents (export bundle, erasure certificate). Hand-written because
// domain contexts do not include JSON libraries (STYLE.md §1); output only, UTF-8 passed through, control
// characters and quotes escaped. Internal to privacy/.

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace panorama::privacy::internal {

inline void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
}

inline std::string JsonString(std::string_view text) {
  std::string out;
  AppendJsonString(out, text);
  return out;
}

}  // namespace panorama::privacy::internal
