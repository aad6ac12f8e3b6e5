// Liveness, readiness, the OpenAPI document, and the composition of every route.

#include "backup/backup_scheduler.h"
#include "features/feature_store.h"
#include "http/handlers/handler_util.h"
#include "http/handlers/routes.h"
#include "http/router.h"
#include "storage/store.h"

namespace panorama::http {

void RegisterSystemRoutes(Router& router, ApiServices& s) {
  router.Add(Method::kGet, "/healthz", Public([](Request&) { return Response::Json(200, R"({"status":"ok"})"); }));
  router.Add(Method::kGet, "/readyz", Public([&s](Request&) {
    bool store_ok = s.store.CountCustomers().has_value();
    bool features_ok = s.features.loaded();
    JsonWriter w;
    w.StartObject().Key("store").Bool(store_ok).Key("feature_store").Bool(features_ok);
    w.Key("schema_version").Int64(s.store.SchemaVersion());
    // Times and counts only: the reason of a failure (paths) goes to the log, not to this public route.
    for (auto [key, scheduler] : {std::pair{"backup", s.backups}, std::pair{"keystore_backup", s.keystore_backups}}) {
      if (scheduler == nullptr) continue;
      backup::BackupStatus b = scheduler->Status();
      w.Key(key).StartObject();
      for (auto [name, at] : {std::pair{"last_success", &b.last_success}, std::pair{"last_failure", &b.last_failure}}) {
        w.Key(name);
        if (*at) {
          w.String(FormatIso8601(**at));
        } else {
          w.Null();
        }
      }
      w.Key("last_file").String(b.last_file).Key("successes").Int64(b.successes).Key("failures").Int64(b.failures);
      w.EndObject();
    }
    w.EndObject();
    // A failing backup does not make the server unready: it still serves; monitoring reads backup.last_failure.
    return Response::Json(store_ok && features_ok ? 200 : 503, w.TakeString());
  }));
  router.Add(Method::kGet, "/api/v1/openapi.json",
             Public([](Request&) { return Response::Json(200, OpenApiDocument()); }));
}

void RegisterApiRoutes(Router& router, ApiServices& services) {
  if (!services.access) {
    services.access = std::make_shared<security::access::AccessPolicy>(services.store, services.clock);
  }
  RegisterSystemRoutes(router, services);
  RegisterAccessRoutes(router, services);
  RegisterAccountRoutes(router, services);
  RegisterCustomerRoutes(router, services);
  RegisterCommerceRoutes(router, services);
  RegisterImportRoutes(router, services);
  RegisterIngestRoutes(router, services);
  RegisterAuditRoutes(router, services);
  RegisterPrivacyRoutes(router, services);
  RegisterAnalyticsRoutes(router, services);
  RegisterSegmentRoutes(router, services);
  RegisterBehaviourRoutes(router, services);
  RegisterKeyRotationRoutes(router, services);
}

}  // namespace panorama::http
