// CSV import and export over the API. The body of an import is the CSV file itself (text/csv).

#include <charconv>

#include "analytics/rfm_service.h"
#include "features/feature_store.h"
#include "http/handlers/handler_util.h"
#include "http/handlers/routes.h"
#include "http/router.h"
#include "security/access/masking.h"
#include "ingest/csv_importer.h"
#include "ingest/feature_observer.h"
#include "privacy/consent_service.h"
#include "privacy/dsar_service.h"
#include "segments/service/segment_service.h"

namespace panorama::http {
namespace {

// An import's committed effects: the feature store first (segment rules read it), then every customer the
// import created, updated, merged or gave an order is handed to the segments in one batch, so audiences
// follow the file at once rather than at the customer's next event or the next full evaluation.
class ImportObserver final : public ingest::IngestObserver {
 public:
  ImportObserver(features::FeatureStore& features, privacy::ConsentService* consents,
                 segments::SegmentService* segments)
      : feature_observer_(features), consents_(consents), segments_(segments) {}
  // IngestObserver
  void OnCustomerCreated(CustomerId customer) override {
    feature_observer_.OnCustomerCreated(customer);
    touched_.push_back(customer);
  }
  void OnMerged(CustomerId from, CustomerId into) override {
    feature_observer_.OnMerged(from, into);
    // The consent index (and its bitmaps, which segment rules read) moves `from`'s consents to the survivor.
    if (consents_ != nullptr) consents_->OnMerged(from, into);
    if (segments_ != nullptr) segments_->OnMerged(from, into);
  }
  void OnEvent(CustomerId customer, Timestamp at) override {
    feature_observer_.OnEvent(customer, at);
    touched_.push_back(customer);
  }
  void OnOrder(CustomerId customer, Timestamp at, int64_t total) override {
    feature_observer_.OnOrder(customer, at, total);
    touched_.push_back(customer);
  }
  void OnCustomersUpdated(const std::vector<CustomerId>& customers) override {
    touched_.insert(touched_.end(), customers.begin(), customers.end());
  }
  // After ImportCsv returned: queues the batch (the segment worker de-duplicates it).
  void NotifySegments() {
    if (segments_ != nullptr) segments_->OnCustomersChanged(touched_);
    touched_.clear();
  }

 private:
  ingest::FeatureObserver feature_observer_;
  privacy::ConsentService* consents_;
  segments::SegmentService* segments_;
  std::vector<CustomerId> touched_;
};

bool QueryFlag(const Request& request, std::string_view name) {
  auto value = request.Query(name);
  return value && (*value == "true" || *value == "1" || value->empty());
}

Response Import(ApiServices& s, Request& request, ingest::ImportKind kind) {
  ingest::ImportOptions options;
  options.kind = kind;
  Error invalid = Error::InvalidArgument("invalid import options");
  if (auto mapping = request.Query("mapping")) options.mapping = std::string(*mapping);
  options.dry_run = QueryFlag(request, "dry_run");
  options.skip_invalid = QueryFlag(request, "skip_invalid");
  if (auto region = request.Query("region")) options.rows.default_region = std::string(*region);
  if (auto currency = request.Query("currency")) {
    auto normalised = NormalizeCurrency(*currency);
    if (!normalised) {
      invalid.AddViolation("currency", "must be a three-letter ISO 4217 code");
    } else {
      options.rows.currency = *normalised;
    }
  }
  if (auto order = request.Query("date_order")) {
    auto parsed = ingest::ParseDateOrder(*order);
    if (!parsed) {
      invalid.AddViolation("date_order", "must be ymd, mdy or dmy");
    } else {
      options.rows.date_order = *parsed;
    }
  }
  if (auto offset = request.Query("utc_offset_minutes")) {
    int minutes = 0;
    auto [ptr, ec] = std::from_chars(offset->data(), offset->data() + offset->size(), minutes);
    if (ec != std::errc() || ptr != offset->data() + offset->size() || minutes < -720 || minutes > 840) {
      invalid.AddViolation("utc_offset_minutes", "must be an integer between -720 and 840");
    } else {
      options.rows.source_utc_offset_minutes = minutes;
    }
  }
  if (!invalid.violations().empty()) return Response::Problem(invalid);
  if (request.body.empty()) return Response::Problem(Error::InvalidField("body", "the CSV file is empty"));
  options.suppression = s.dsar;  // erased subjects are not re-created (null when privacy is not wired)
  ImportObserver observer(s.features, s.consents, s.segments);
  auto report = ingest::ImportCsv(s.store, request.body, options, s.rates, s.clock.Now(), &observer);
  if (!report) return Response::Problem(report.error());
  // A bulk load moves the quintiles: score everyone again rather than rescoring order by order.
  if (report->applied && options.kind == ingest::ImportKind::kOrders && s.rfm != nullptr) s.rfm->Recompute();
  observer.NotifySegments();  // after the rescoring: rules may read RFM scores
  JsonWriter w;
  w.StartObject();
  w.Key("applied").Bool(report->applied).Key("dry_run").Bool(options.dry_run);
  w.Key("detected_encoding").String(report->detected_encoding);
  w.Key("rows_total").Uint64(report->rows_total);
  w.Key("created").Int64(report->created).Key("updated").Int64(report->updated);
  w.Key("unchanged").Int64(report->unchanged).Key("merged").Int64(report->merged);
  w.Key("errors").StartArray();
  for (const auto& e : report->errors) {
    w.StartObject().Key("line").Int64(e.line).Key("field").String(e.field);
    w.Key("value").String(e.value_excerpt).Key("reason").String(e.reason).EndObject();
  }
  w.EndArray().EndObject();
  // Bad rows that stopped the import are the caller's to fix: 422 with the per-row report.
  int status = !report->applied && !options.dry_run ? 422 : 200;
  return Response::Json(status, w.TakeString());
}

Response Export(Result<std::string> csv, const char* filename) {
  if (!csv) return Response::Problem(csv.error());
  Response response;
  response.status = 200;
  response.content_type = "text/csv; charset=utf-8";
  response.body = std::move(*csv);
  response.headers.emplace_back("Content-Disposition", std::string("attachment; filename=\"") + filename + "\"");
  return response;
}

// The caller's records only, masked as in the API.
ingest::ExportOptions ExportFor(const security::Principal& who) {
  return {ScopeOf(who), [permissions = who.permissions](storage::CustomerRecord& c) {
            (void)security::access::MaskCustomer(c, permissions);
          }};
}

}  // namespace

void RegisterImportRoutes(Router& router, ApiServices& s) {
  router.Add(Method::kPost, "/api/v1/imports/customers",
             Write(s, Permission::kImport, AuthedHandler([&s](Request& r, const security::Principal&) {
               return Import(s, r, ingest::ImportKind::kCustomers);
             })));
  router.Add(Method::kPost, "/api/v1/imports/orders",
             Write(s, Permission::kImport, AuthedHandler([&s](Request& r, const security::Principal&) {
               return Import(s, r, ingest::ImportKind::kOrders);
             })));
  // Bulk personal data out of the system: a fresh password check first (step-up).
  router.Add(Method::kGet, "/api/v1/exports/customers.csv",
             SensitiveRead(s, Permission::kExport, AuthedHandler([&s](Request&, const security::Principal& who) {
               // Every customer in the caller's scope: "*" rather than a million ids in one entry.
               RecordRead(s, "export.customers", "customer", "*");
               return Export(ingest::ExportCustomersCsv(s.store, ExportFor(who)), "customers.csv");
             })));
  router.Add(Method::kGet, "/api/v1/exports/orders.csv",
             Read(s, Permission::kExport, AuthedHandler([&s](Request&, const security::Principal& who) {
               RecordRead(s, "export.orders", "order", "*");
               return Export(ingest::ExportOrdersCsv(s.store, ExportFor(who)), "orders.csv");
             })));
}

}  // namespace panorama::http
