#include "http/internal/header_scan.h"

namespace panorama::http::internal {

const char* HeaderFramingProblem(std::string_view head) {
  for (size_t i = 0; i < head.size(); ++i) {
    char c = head[i];
    if (c == '\0') return "nul byte in the header";
    if (c == '\n' && (i == 0 || head[i - 1] != '\r')) return "bare lf in the header";
    if (c == '\r' && i + 1 < head.size() && head[i + 1] != '\n') return "bare cr in the header";
    if (c == '\n' && i + 1 < head.size() && (head[i + 1] == ' ' || head[i + 1] == '\t')) {
      return "obs-fold or a header line starting with whitespace";
    }
  }
  return nullptr;
}

}  // namespace panorama::http::internal
