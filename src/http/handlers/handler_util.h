#pragma once
// Shared pieces of the API handlers: authentication wrappers, JSON body reading with per-field errors,
// cursors and JSON rendering of the common records. Internal to http/handlers.

#include <simdjson.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "http/handlers/api_services.h"
#include "http/json.h"
#include "http/request.h"
#include "security/auth_service.h"
#include "storage/records.h"

namespace panorama::features {
struct CustomerFeatures;
}

namespace panorama::http {

using AuthedHandler = std::function<Response(Request&, const security::Principal&)>;

// Requires a bearer token (session or API key); `write` additionally requires a read-write scope.
Handler Authenticated(ApiServices& services, AuthedHandler handler, bool write = false);
// Like Authenticated(write = true), and replays the stored response for a repeated Idempotency-Key.
Handler IdempotentWrite(ApiServices& services, AuthedHandler handler);

// Adapters from plain handler functions to routes: Read needs any bearer token, Write a read-write one and
// honours Idempotency-Key.
using ServiceHandler = Response (*)(ApiServices&, Request&);
using PrincipalHandler = Response (*)(ApiServices&, Request&, const security::Principal&);
Handler Read(ApiServices& services, ServiceHandler fn);
Handler Read(ApiServices& services, PrincipalHandler fn);
Handler Write(ApiServices& services, ServiceHandler fn);
Handler Write(ApiServices& services, PrincipalHandler fn);

// A parsed JSON object body with typed accessors that record violations under their field names.
class JsonBody {
 public:
  // kInvalidArgument naming "body" for malformed JSON or a non-object.
  static Result<JsonBody> Parse(std::string_view body);
  JsonBody(JsonBody&&) noexcept;
  JsonBody& operator=(JsonBody&&) noexcept;
  ~JsonBody();

  bool Has(std::string_view key) const;
  bool IsNull(std::string_view key) const;
  std::optional<std::string> String(std::string_view key, size_t max_bytes = 1024, bool required = false);
  std::optional<int64_t> Int(std::string_view key, int64_t min, int64_t max, bool required = false);
  std::optional<bool> Bool(std::string_view key, bool required = false);
  std::optional<std::vector<std::string>> StringArray(std::string_view key, size_t max_items, size_t max_bytes);
  // A JSON object member as minified text.
  std::optional<std::string> Object(std::string_view key);
  // Array of objects; each element is handed to `fn` as a JsonBody with a field prefix ("items[0].").
  void Objects(std::string_view key, size_t max_items, bool required,
               const std::function<void(JsonBody&, const std::string& prefix)>& fn);
  // Every key must be one of `allowed` (unknown fields are rejected, so typos are not silently ignored).
  void AllowOnly(std::initializer_list<std::string_view> allowed);

  void Reject(std::string field, std::string reason);
  bool ok() const;
  // The collected violations (of this body and its nested ones) as one kInvalidArgument error.
  Error TakeError();

 private:
  JsonBody() = default;
  struct Doc;
  std::shared_ptr<Doc> doc_;  // parser, root and violations, shared by nested bodies
  simdjson::dom::object object_;
  std::string prefix_;
};

// Parses `limit` (1..max, default) and an opaque numeric `cursor` (the last id of the previous page).
struct PageParams {
  int limit = 50;
  int64_t after_id = 0;
};
Result<PageParams> ReadPageParams(const Request& request, int default_limit = 50, int max_limit = 1000);

void WriteCustomer(JsonWriter& w, const storage::CustomerRecord& c, const features::CustomerFeatures* aggregates,
                   const std::string& base_currency);
void WriteAggregates(JsonWriter& w, const features::CustomerFeatures& f, const std::string& base_currency);
void WriteOrder(JsonWriter& w, const storage::OrderRecord& o);
void WriteInteraction(JsonWriter& w, const storage::InteractionRecord& i);
void WriteEvent(JsonWriter& w, const storage::EventRecord& e);
void WriteProduct(JsonWriter& w, const storage::ProductRecord& p);
void WriteOptionalTime(JsonWriter& w, const std::optional<Timestamp>& t);

// {"data": [...], "next_cursor": "..."|null}
template <typename T, typename WriteFn>
std::string PageJson(const std::vector<T>& items, bool more, const std::string& next_cursor, WriteFn write) {
  JsonWriter w;
  w.StartObject().Key("data").StartArray();
  for (const auto& item : items) write(w, item);
  w.EndArray().Key("next_cursor");
  if (more) {
    w.String(next_cursor);
  } else {
    w.Null();
  }
  w.EndObject();
  return w.TakeString();
}

Result<CustomerId> PathCustomerId(const Request& request);

}  // namespace panorama::http
