#pragma once
// A small JSON reader for traits and event properties. Hand-written because domain contexts do not include JSON
// libraries (STYLE.md §1); it keeps only what rules compare: scalars, arrays of scalars and nested objects.
// Internal to segments/.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace panorama::segments::internal {

struct JsonValue {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string text;
  std::vector<JsonValue> items;            // kArray
  std::map<std::string, JsonValue, std::less<>> members;  // kObject (a repeated key keeps the last value)
};

// nullopt for malformed text or nesting deeper than 32.
std::optional<JsonValue> ParseJson(std::string_view text);

// Appends code point `cp` (≤ U+10FFFF, not a surrogate) as UTF-8; shared with the rule lexer's \u escapes.
void AppendUtf8(std::string& out, uint32_t cp);

// The value at `path` inside an object, or nullptr.
const JsonValue* FindPath(const JsonValue& root, const std::vector<std::string>& path);

}  // namespace panorama::segments::internal
