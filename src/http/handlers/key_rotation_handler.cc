// POST /api/v1/customers/{id}/rotate-key: re-encrypts one customer's personal fields under a new data key and
// destroys the old one, inside the server (docs/security.md "Rotation": safe here because the one encryptor of
// this process serves both the rotation and every later write). LedgeredStore records `customer.key_rotate`.

#include <charconv>

#include "http/handlers/handler_util.h"
#include "http/handlers/routes.h"
#include "http/router.h"
#include "storage/store.h"

namespace panorama::http {
namespace {

Response RotateCustomerKey(ApiServices& s, Request& request, const security::Principal& who) {
  // Key management is for people only (as for API keys): a rotation is attributed to a signed-in admin.
  if (who.kind != security::Principal::Kind::kUser) {
    return Response::Problem(Error::PermissionDenied("only a signed-in person may rotate a data key"));
  }
  std::string_view text = request.PathParam("id");
  int64_t id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || ptr != text.data() + text.size() || id <= 0) {
    return Response::Problem(Error::InvalidField("id", "must be a positive integer"));
  }
  // The operation takes no options; a body is refused rather than silently ignored.
  if (!request.body.empty() && request.body != "{}") {
    return Response::Problem(Error::InvalidField("body", "must be empty or {}"));
  }
  // Out-of-scope is the same 404 as missing.
  auto customer = GetCustomerFor(s, who, CustomerId(id));
  if (!customer) return Response::Problem(customer.error());
  auto rotated = s.store.RotateCustomerKey(CustomerId(id));
  if (!rotated) return Response::Problem(rotated.error());
  JsonWriter w;
  w.StartObject().Key("id").Int64(id).Key("rotated").Bool(true).EndObject();
  return Response::Json(200, w.TakeString());
}

}  // namespace

void RegisterKeyRotationRoutes(Router& router, ApiServices& s) {
  router.Add(Method::kPost, "/api/v1/customers/{id}/rotate-key",
             SensitiveWrite(s, Permission::kKeysManage, RotateCustomerKey));
}

}  // namespace panorama::http
