// R14: what the API parses from a request target and body before any handler logic: the query string
// (percent decoding), the page parameters (limit, cursor), the timeline cursor, path ids and a JSON body read
// through JsonBody like the customer create/patch handlers do. Input: "<target>\n<body>".

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/handlers/handler_util.h"
#include "http/internal/url.h"
#include "http/request.h"
#include "profile/customer_view.h"

using namespace panorama;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  std::string_view target = input.substr(0, newline);
  std::string_view body = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  http::Request request;
  request.target = std::string(target);
  std::string_view path = http::internal::TargetPath(target);
  if (auto decoded = http::internal::PercentDecode(path, false)) request.path = *decoded;
  if (path.size() < target.size()) {
    auto query = http::internal::ParseQuery(target.substr(path.size() + 1));
    if (!query) return 0;
    request.query = std::move(*query);
  }
  request.path_params = {{"id", request.path}};

  if (auto page = http::ReadPageParams(request, 50, 1000)) {
    if (page->limit < 1 || page->limit > 1000 || page->after_id < 0) __builtin_trap();
  }
  (void)http::PathCustomerId(request);
  if (auto cursor = request.Query("timeline_cursor")) {
    if (auto decoded = profile::TimelineCursor::Decode(*cursor)) {
      // A decoded cursor re-encodes to one that decodes to the same position.
      auto again = profile::TimelineCursor::Decode(decoded->Encode());
      if (!again || again->id != decoded->id || again->kind != decoded->kind || again->at != decoded->at) {
        __builtin_trap();
      }
    }
  }

  auto json = http::JsonBody::Parse(body);
  if (!json) return 0;
  json->AllowOnly({"name", "email", "phone", "tags", "traits", "birthday", "external_id", "items", "n"});
  (void)json->String("name", 200);
  (void)json->String("email", 254);
  (void)json->Int("n", -1000, 1000);
  (void)json->StringArray("tags", 50, 64);
  (void)json->Object("traits");
  json->Objects("items", 100, false, [](http::JsonBody& item, const std::string&) {
    (void)item.String("sku", 64, true);
    (void)item.Int("quantity", -1000, 1000, true);
  });
  if (!json->ok()) (void)json->TakeError();
  return 0;
}
