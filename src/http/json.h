#pragma once
// JsonWriter: streaming JSON output for handlers, so handler files never include RapidJSON (STYLE.md §10).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace panorama::http {

// Writes one JSON value (usually an object) into a string, with no whitespace. Calls must nest correctly
// (every Start has its End; inside an object, Key precedes each value); a misuse is a programmer error and
// yields invalid output rather than an error value. Non-finite doubles are written as null, since JSON has
// no NaN or infinity. Strings must be UTF-8; control characters and quotes are escaped.
// Not thread-safe; one writer per response.
class JsonWriter {
 public:
  JsonWriter();
  ~JsonWriter();
  JsonWriter(JsonWriter&&) noexcept;
  JsonWriter& operator=(JsonWriter&&) noexcept;
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  JsonWriter& StartObject();
  JsonWriter& EndObject();
  JsonWriter& StartArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int64(int64_t value);
  JsonWriter& Uint64(uint64_t value);
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // Inserts `json` verbatim as one value; it must already be valid JSON (e.g. a stored document).
  JsonWriter& RawJson(std::string_view json);

  // Returns the text written so far and leaves the writer empty, ready for a new value.
  std::string TakeString();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace panorama::http
