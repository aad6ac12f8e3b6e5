#pragma once
// How every CLI command reports an error: "error: <message>" on stderr, then each field violation the message does
// not already name; the process exit code 1.

#include <cstdio>

#include "core/result.h"

namespace panorama::cli {

inline int Fail(const Error& error) {
  std::fprintf(stderr, "error: %s\n", error.message().c_str());
  for (const auto& v : error.violations()) {
    if (error.message().find(v.field) == std::string::npos) {
      std::fprintf(stderr, "  %s: %s\n", v.field.c_str(), v.reason.c_str());
    }
  }
  return 1;
}

}  // namespace panorama::cli
