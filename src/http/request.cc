#include "http/request.h"

#include <algorithm>

#include "http/json.h"

namespace panorama::http {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    return lower(x) == lower(y);
  });
}

}  // namespace

const char* MethodName(Method method) {
  switch (method) {
    case Method::kGet: return "GET";
    case Method::kHead: return "HEAD";
    case Method::kPost: return "POST";
    case Method::kPut: return "PUT";
    case Method::kPatch: return "PATCH";
    case Method::kDelete: return "DELETE";
    case Method::kOptions: return "OPTIONS";
    case Method::kOther: return "OTHER";
  }
  return "OTHER";
}

std::string_view Request::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) {
      return value;
    }
  }
  return {};
}

std::optional<std::string_view> Request::Query(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) {
      return std::string_view(value);
    }
  }
  return std::nullopt;
}

std::string_view Request::PathParam(std::string_view name) const {
  for (const auto& [key, value] : path_params) {
    if (key == name) {
      return value;
    }
  }
  return {};
}

Response Response::Json(int status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  // API answers carry personal data: no browser or proxy may keep them.
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

Response Response::NoContent() {
  Response response;
  response.status = 204;
  response.content_type.clear();
  return response;
}

Response Response::Problem(const Error& error) { return Problem(HttpStatusFor(error.code()), error); }

Response Response::Problem(int status, const Error& error) {
  // RFC 9457 §4.2.1: with type "about:blank" the title is the status's reason phrase. The error code
  // travels as the extension member "code" so clients can branch without parsing the detail.
  JsonWriter json;
  json.StartObject();
  json.Key("type").String("about:blank");
  json.Key("title").String(StatusReason(status));
  json.Key("status").Int64(status);
  json.Key("detail").String(error.message());
  json.Key("code").String(ErrorCodeName(error.code()));
  json.Key("errors").StartArray();
  for (const FieldViolation& violation : error.violations()) {
    json.StartObject();
    json.Key("field").String(violation.field);
    json.Key("reason").String(violation.reason);
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();

  Response response;
  response.status = status;
  response.content_type = "application/problem+json";
  response.body = json.TakeString();
  if (auto retry = error.retry_after_seconds()) response.headers.emplace_back("Retry-After", std::to_string(*retry));
  return response;
}

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kAlreadyExists: return 409;
    case ErrorCode::kAborted: return 409;
    case ErrorCode::kFailedPrecondition: return 422;
    case ErrorCode::kResourceExhausted: return 429;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

const char* StatusReason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 507: return "Insufficient Storage";
  }
  return "Unknown";
}

}  // namespace panorama::http
