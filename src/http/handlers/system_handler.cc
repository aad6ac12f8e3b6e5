// Liveness, readiness, the OpenAPI document, and the composition of every route.

#include "features/feature_store.h"
#include "http/handlers/handler_util.h"
#include "http/handlers/routes.h"
#include "http/router.h"
#include "storage/store.h"

namespace panorama::http {

void RegisterSystemRoutes(Router& router, ApiServices& s) {
  router.Add(Method::kGet, "/healthz", [](Request&) { return Response::Json(200, R"({"status":"ok"})"); });
  router.Add(Method::kGet, "/readyz", [&s](Request&) {
    bool store_ok = s.store.CountCustomers().has_value();
    bool features_ok = s.features.loaded();
    JsonWriter w;
    w.StartObject().Key("store").Bool(store_ok).Key("feature_store").Bool(features_ok);
    w.Key("schema_version").Int64(s.store.SchemaVersion()).EndObject();
    return Response::Json(store_ok && features_ok ? 200 : 503, w.TakeString());
  });
  router.Add(Method::kGet, "/api/v1/openapi.json", [](Request&) { return Response::Json(200, OpenApiDocument()); });
}

void RegisterApiRoutes(Router& router, ApiServices& services) {
  RegisterSystemRoutes(router, services);
  RegisterAccountRoutes(router, services);
  RegisterCustomerRoutes(router, services);
  RegisterCommerceRoutes(router, services);
  RegisterImportRoutes(router, services);
  RegisterIngestRoutes(router, services);
  RegisterPrivacyRoutes(router, services);
}

}  // namespace panorama::http
