#pragma once
// Plain request/response types that handlers see; no Beast here (STYLE.md §10).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace panorama::http {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };
const char* MethodName(Method method);

struct Request {
  Method method = Method::kGet;
  std::string target;  // as received: path plus query string
  std::string path;    // percent-decoded path, no query
  std::vector<std::pair<std::string, std::string>> query;    // percent-decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::vector<std::pair<std::string, std::string>> path_params;  // filled by the router: {"id", "42"}
  std::string body;
  std::string remote_address;
  bool secure = false;  // arrived over TLS

  // Empty when absent. Header names are matched case-insensitively.
  std::string_view Header(std::string_view name) const;
  std::optional<std::string_view> Query(std::string_view name) const;
  std::string_view PathParam(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Response Json(int status, std::string body);
  static Response NoContent();
  // RFC 9457 problem+json from an Error: type, title, status, detail, and "errors": [{field, reason}].
  static Response Problem(const Error& error);
  // The same with an explicit status, for the cases the code table cannot tell apart (413, 431, 405, 507).
  static Response Problem(int status, const Error& error);
};

// The reason phrase for a status ("Not Found"); "Unknown" for codes we never send.
const char* StatusReason(int status);

// The single table mapping error codes to HTTP statuses (STYLE.md §4).
int HttpStatusFor(ErrorCode code);

using Handler = std::function<Response(Request&)>;

}  // namespace panorama::http

namespace panorama::http {

// For handlers that answer later from another thread (e.g. ingestion acknowledges after the group commit).
// The responder must be called exactly once; it is safe to call from any thread.
using Responder = std::function<void(Response)>;
using AsyncHandler = std::function<void(Request&, Responder)>;

}  // namespace panorama::http
