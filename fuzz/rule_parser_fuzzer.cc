// libFuzzer target for the segment rule language (SECURITY.md R14): arbitrary bytes through ParseRule must end
// in a rule or a RuleError with a position inside the text, never a crash, hang or unbounded recursion. The
// second half of the input also goes through the JSON reader that traits and event properties use.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "segments/internal/json_lite.h"
#include "segments/rule.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = panorama::segments::ParseRule(text);
  if (auto* error = std::get_if<panorama::segments::RuleError>(&parsed)) {
    // Positions are 1-based and never past the text (one column past the end for "end of input").
    if (error->line < 1 || error->column < 1 || static_cast<size_t>(error->line) > size + 1 ||
        static_cast<size_t>(error->column) > size + 1 || error->message.empty()) {
      std::abort();
    }
  } else if (std::get<0>(parsed)->text() != text) {
    std::abort();
  }
  (void)panorama::segments::internal::ParseJson(text.substr(size / 2));
  return 0;
}
