#pragma once
// What the API handlers work with; app/ builds these and hands them over (STYLE.md §5).

#include <memory>
#include <string>

#include "core/money.h"
#include "core/time.h"

namespace panorama::storage {
class Store;
}
namespace panorama::security {
class AuthService;
class RateLimiter;
namespace access {
class AccessPolicy;
}
}  // namespace panorama::security
namespace panorama::features {
class FeatureStore;
}
namespace panorama::ingest {
class IngestPipeline;
}
namespace panorama::profile {
class CustomerViewService;
}
namespace panorama::audit {
class LedgerService;
}

namespace panorama::privacy {
class ConsentService;
class DsarService;
class PublicRequestService;
class DataClassCatalogue;
}

namespace panorama::analytics {
class RfmService;
class LifecycleService;
}
namespace panorama::segments {
class SegmentService;
}
namespace panorama::behaviour {
class BehaviourService;
}
namespace panorama::backup {
class BackupScheduler;
}

namespace panorama::http {

class Router;

struct ApiServices {
  storage::Store& store;
  security::AuthService& auth;
  features::FeatureStore& features;
  ingest::IngestPipeline& ingest;
  profile::CustomerViewService& views;
  const ExchangeRates& rates;
  const Clock& clock;
  std::string default_phone_region = "CN";
  audit::LedgerService* audit = nullptr;  // read log of personal data; null in tests that do not audit
  // Per key, user and client IP limits for /api/v1; null: no limits.
  security::RateLimiter* limiter = nullptr;
  // Permissions, record scope and custom roles; RegisterApiRoutes creates it over `store` and `clock`
  // when left empty.
  std::shared_ptr<security::access::AccessPolicy> access;
  // Privacy (privacy/); the /privacy and /consents routes are registered only when both are set.
  privacy::ConsentService* consents = nullptr;
  privacy::DsarService* dsar = nullptr;
  std::string pseudonym_secret;  // server secret the per-recipient pseudonym keys derive from
  // Self-service data-subject requests (public, rate-limited per IP); the /privacy/public-requests routes need it.
  privacy::PublicRequestService* public_requests = nullptr;
  // Data-class catalogue of event property keys; the /privacy/catalogue routes are registered only when set.
  privacy::DataClassCatalogue* catalogue = nullptr;
  // RFM and lifecycle (analytics/); the /rfm and /lifecycle routes and the 360° sections need both.
  analytics::RfmService* rfm = nullptr;
  analytics::LifecycleService* lifecycle = nullptr;
  // Segments (segments/service/); the /segments routes are registered only when set.
  segments::SegmentService* segments = nullptr;
  // Cohorts, funnels, paths (analytics/behaviour); the /analytics/cohorts|funnel|paths routes need it.
  behaviour::BehaviourService* behaviour = nullptr;
  // Scheduled backups (serve --backup-dir); when set, /readyz reports the last success and failure.
  backup::BackupScheduler* backups = nullptr;
  // Scheduled keystore backups (serve --keystore-backup-dir); /readyz reports them as "keystore_backup".
  backup::BackupScheduler* keystore_backups = nullptr;
};

// Registers every /api/v1, /v1 and health route on `router`. `services` must outlive the router.
void RegisterApiRoutes(Router& router, ApiServices& services);

// The OpenAPI 3.1 document served at /api/v1/openapi.json.
const std::string& OpenApiDocument();

}  // namespace panorama::http
