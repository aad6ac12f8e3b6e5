// The Segment HTTP tracking API under /v1: the write key is the Basic-auth user name, messages are validated
// whole, and the answer is sent only after the group commit that holds them (a 200 means durable).

#include <memory>

#include "http/handlers/handler_util.h"
#include "http/handlers/routes.h"
#include "http/router.h"
#include "ingest/ingest_pipeline.h"
#include "ingest/segment_message.h"
#include "security/crypto_util.h"
#include "security/ip_allowlist.h"

namespace panorama::http {
namespace {

// Segment sends "Basic base64(writeKey:)"; some clients put the key in the body instead (checked by the caller).
std::string WriteKeyFrom(const Request& request) {
  std::string_view header = request.Header("authorization");
  if (header.size() > 6 && (header.substr(0, 6) == "Basic " || header.substr(0, 6) == "basic ")) {
    auto decoded = security::DecodeBase64(header.substr(6));
    if (!decoded) return {};
    return decoded->substr(0, decoded->find(':'));
  }
  return {};
}

// The writeKey member of a JSON body, for clients that send it there; found by a plain search to avoid a second
// parse: a key of our own format contains no characters that need escaping.
std::string WriteKeyFromBody(std::string_view body) {
  size_t at = body.find("\"writeKey\"");
  if (at == std::string_view::npos) return {};
  size_t open = body.find('"', body.find(':', at) + 1);
  if (open == std::string_view::npos) return {};
  size_t close = body.find('"', open + 1);
  if (close == std::string_view::npos || close - open > 256) return {};
  return std::string(body.substr(open + 1, close - open - 1));
}

AsyncHandler SegmentRoute(ApiServices& s, std::string type) {
  return [&s, type](Request& request, Responder respond) {
    std::string key = WriteKeyFrom(request);
    if (key.empty()) key = WriteKeyFromBody(request.body);
    auto principal = s.auth.AuthenticateWriteKey(key);
    if (!principal) {
      Response response = Response::Problem(principal.error());
      response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"panorama ingestion\"");
      respond(std::move(response));
      return;
    }
    if (!security::AddressAllowed(request.remote_address, principal->allowed_cidrs)) {
      respond(Response::Problem(Error::PermissionDenied("this key may not be used from this address")));
      return;
    }
    ingest::ParseOptions options;
    options.default_phone_region = s.default_phone_region;
    options.default_currency = s.rates.base();
    auto messages = ingest::ParseSegmentRequest(request.body, type, s.clock.Now(), options);
    if (!messages) {
      Response response = Response::Problem(messages.error());
      if (messages.error().code() == ErrorCode::kResourceExhausted) response = Response::Problem(413, messages.error());
      respond(std::move(response));
      return;
    }
    // The pipeline captures the submitting thread's actor for the ledger entries of these messages.
    ActorScope actor(ActorOf(request, *principal));
    s.ingest.Submit(std::move(*messages), [respond = std::move(respond)](Result<ingest::IngestStats> stats) {
      if (!stats) {
        Response response = Response::Problem(stats.error());
        if ((stats.error().code() == ErrorCode::kResourceExhausted || stats.error().code() == ErrorCode::kUnavailable) &&
            !stats.error().retry_after_seconds()) {
          response.headers.emplace_back("Retry-After", "1");
        }
        respond(std::move(response));
        return;
      }
      JsonWriter w;
      w.StartObject().Key("success").Bool(true).Key("accepted").Int64(stats->accepted);
      w.Key("duplicates").Int64(stats->duplicates).EndObject();
      respond(Response::Json(200, w.TakeString()));
    });
  };
}

}  // namespace

void RegisterIngestRoutes(Router& router, ApiServices& s) {
  for (const char* type : {"batch", "identify", "track", "page", "screen", "group", "alias", "import"}) {
    // Enforced by the write-key authentication inside SegmentRoute, which accepts only ingest credentials.
    router.AddAsync(Method::kPost, std::string("/v1/") + type,
                    GuardedAsyncHandler{std::string(security::access::PermissionName(Permission::kEventsIngest)),
                                        SegmentRoute(s, type)});
  }
}

}  // namespace panorama::http
