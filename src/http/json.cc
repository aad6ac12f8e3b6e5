#include "http/json.h"

#include <cmath>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace panorama::http {

struct JsonWriter::Impl {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer{buffer};

  void Reset() {
    buffer.Clear();
    writer.Reset(buffer);
  }
};

JsonWriter::JsonWriter() : impl_(std::make_unique<Impl>()) {}
JsonWriter::~JsonWriter() = default;
JsonWriter::JsonWriter(JsonWriter&&) noexcept = default;
JsonWriter& JsonWriter::operator=(JsonWriter&&) noexcept = default;

JsonWriter& JsonWriter::StartObject() {
  impl_->writer.StartObject();
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  impl_->writer.EndObject();
  return *this;
}

JsonWriter& JsonWriter::StartArray() {
  impl_->writer.StartArray();
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  impl_->writer.EndArray();
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  impl_->writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view value) {
  impl_->writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  return *this;
}

JsonWriter& JsonWriter::Int64(int64_t value) {
  impl_->writer.Int64(value);
  return *this;
}

JsonWriter& JsonWriter::Uint64(uint64_t value) {
  impl_->writer.Uint64(value);
  return *this;
}

JsonWriter& JsonWriter::Double(double value) {
  // RapidJSON refuses NaN and infinity (and would leave the output half-written), so write null.
  if (!std::isfinite(value)) {
    impl_->writer.Null();
  } else {
    impl_->writer.Double(value);
  }
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  impl_->writer.Bool(value);
  return *this;
}

JsonWriter& JsonWriter::Null() {
  impl_->writer.Null();
  return *this;
}

JsonWriter& JsonWriter::RawJson(std::string_view json) {
  // RawValue keeps the writer's comma and nesting bookkeeping right; the type argument only matters
  // for RapidJSON's pretty writer.
  impl_->writer.RawValue(json.data(), json.size(), rapidjson::kObjectType);
  return *this;
}

std::string JsonWriter::TakeString() {
  std::string out(impl_->buffer.GetString(), impl_->buffer.GetSize());
  impl_->Reset();
  return out;
}

}  // namespace panorama::http
