#pragma once
// A minimal JSON text builder for privacy/ documents (export bundle, erasure certificate). Hand-written because
// domain contexts do not include JSON libraries (STYLE.md §1); output only, UTF-8 passed through, control
// characters and quotes escaped. Internal to privacy/.

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <variant>

#include "storage/records.h"

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

// A cell of a data subject's table (SubjectValue): null, a number (doubles round-trip with 17 digits) or a string.
inline void AppendJsonValue(std::string& out, const storage::SubjectValue& v) {
  if (std::holds_alternative<std::monostate>(v)) {
    out += "null";
  } else if (const auto* i = std::get_if<int64_t>(&v)) {
    out += std::to_string(*i);
  } else if (const auto* d = std::get_if<double>(&v)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", *d);
    out += buf;
  } else {
    AppendJsonString(out, std::get<std::string>(v));
  }
}

inline std::string JsonString(std::string_view text) {
  std::string out;
  AppendJsonString(out, text);
  return out;
}

}  // namespace panorama::privacy::internal
