#pragma once
// Route registration per API area; RegisterApiRoutes (api_routes.cc) calls them all.

namespace panorama::http {

class Router;
struct ApiServices;

void RegisterCustomerRoutes(Router& router, ApiServices& services);
void RegisterCommerceRoutes(Router& router, ApiServices& services);  // orders, products, interactions
void RegisterIngestRoutes(Router& router, ApiServices& services);    // Segment /v1
void RegisterAccountRoutes(Router& router, ApiServices& services);   // auth, users, api keys
void RegisterImportRoutes(Router& router, ApiServices& services);    // CSV import / export
void RegisterPrivacyRoutes(Router& router, ApiServices& services);   // consents, DSARs, exports, retention
void RegisterSystemRoutes(Router& router, ApiServices& services);    // health, readiness, OpenAPI
void RegisterAuditRoutes(Router& router, ApiServices& services);     // audit ledger search
void RegisterAccessRoutes(Router& router, ApiServices& services);    // roles, teams, staff access, reveal
void RegisterAnalyticsRoutes(Router& router, ApiServices& services);  // RFM and lifecycle (when both are set)
void RegisterSegmentRoutes(Router& router, ApiServices& services);   // segments (when services.segments is set)
void RegisterBehaviourRoutes(Router& router, ApiServices& services);  // cohorts, funnels, paths
void RegisterKeyRotationRoutes(Router& router, ApiServices& services);  // per-customer data key rotation

}  // namespace panorama::http
