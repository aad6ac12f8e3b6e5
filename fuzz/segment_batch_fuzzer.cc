// R14: the Segment tracking API parser (POST /v1/batch and the single-message routes). The first byte picks
// the route so one corpus covers all of them; the rest is the request body as a client would send it.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/time.h"
#include "ingest/segment_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr std::string_view kTypes[] = {"batch", "identify", "track", "page", "screen", "group", "alias"};
  std::string_view type = kTypes[data[0] % std::size(kTypes)];
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto received = panorama::ParseIso8601("2026-01-02T03:04:05Z");
  auto parsed = panorama::ingest::ParseSegmentRequest(body, type, *received);
  if (parsed) {
    // Every accepted message must carry the fields the pipeline relies on.
    for (const auto& message : *parsed) {
      if (message.type.empty()) __builtin_trap();
      if (message.user_id.empty() && message.anonymous_id.empty() && message.previous_id.empty()) {
        __builtin_trap();
      }
    }
  } else if (parsed.error().message().empty()) {
    __builtin_trap();  // a rejection must say why
  }
  return 0;
}
