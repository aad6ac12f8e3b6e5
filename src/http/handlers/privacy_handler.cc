// /api/v1/customers/{id}/consents, /api/v1/customers/{id}/privacy-flags and /api/v1/privacy/*: the consent
// ledger, data-subject requests, the pseudonymised export and retention runs.

#include <charconv>

#include "features/feature_store.h"
#include "http/handlers/handler_util.h"
#include "http/handlers/routes.h"
#include "http/router.h"
#include "privacy/consent_service.h"
#include "privacy/data_class_catalogue.h"
#include "privacy/dsar_service.h"
#include "ingest/normalize.h"
#include "privacy/public_requests.h"
#include "privacy/pseudonymised_export.h"
#include "security/rate_limiter.h"
#include "privacy/retention.h"
#include "storage/store.h"

namespace panorama::http {
namespace {

// DSARs, flags, exports and retention act on whole customers: admins, or keys with read-write scope.
std::string ActorOf(const security::Principal& p) {
  if (p.user) return "user:" + p.user->ToString();
  if (p.key) return "key:" + p.key->ToString();
  return "unknown";
}

void WriteConsent(JsonWriter& w, const storage::ConsentRecord& c) {
  w.StartObject().Key("id").Int64(c.id).Key("purpose").String(c.purpose).Key("channel");
  if (c.channel.empty()) {
    w.Null();
  } else {
    w.String(c.channel);
  }
  w.Key("granted").Bool(c.granted).Key("lawful_basis").String(c.lawful_basis).Key("source").String(c.source);
  w.Key("policy_version").String(c.policy_version).Key("text_sha256").String(c.text_sha256);
  w.Key("actor").String(c.actor).Key("at").String(FormatIso8601(c.at)).EndObject();
}

void WriteRequest(JsonWriter& w, const storage::PrivacyRequestRecord& r, Timestamp now) {
  w.StartObject().Key("id").Int64(r.id).Key("customer_id").Int64(r.customer.value()).Key("kind").String(r.kind);
  w.Key("jurisdiction").String(r.jurisdiction).Key("status").String(r.status);
  w.Key("received_at").String(FormatIso8601(r.received_at)).Key("due_at").String(FormatIso8601(r.due_at));
  w.Key("overdue").Bool(r.status == "open" && r.due_at < now);
  w.Key("completed_at");
  WriteOptionalTime(w, r.completed_at);
  w.Key("verification").String(r.verification).Key("verification_method").String(r.verification_method);
  w.Key("verified_by").String(r.verified_by).Key("verified_at");
  WriteOptionalTime(w, r.verified_at);
  w.Key("scheduled_for");
  WriteOptionalTime(w, r.scheduled_for);
  w.Key("note").String(r.note).Key("result").RawJson(r.result_json.empty() ? "{}" : r.result_json).EndObject();
}

Response ConsentsJson(ApiServices& s, CustomerId id, int status) {
  auto current = s.consents->Current(id);
  if (!current) return Response::Problem(current.error());
  JsonWriter w;
  w.StartObject().Key("customer_id").Int64(id.value()).Key("data").StartArray();
  for (const auto& c : *current) WriteConsent(w, c);
  w.EndArray().EndObject();
  return Response::Json(status, w.TakeString());
}

// The customer in the path, if the caller may see it (an out-of-scope one is the same 404 as a missing one),
// resolved to the survivor of a merge.
Result<CustomerId> LiveCustomer(ApiServices& s, const Request& request, const security::Principal& who) {
  ASSIGN_OR_RETURN(CustomerId id, PathCustomerId(request));
  ASSIGN_OR_RETURN(storage::CustomerRecord c, GetCustomerFor(s, who, id));
  return c.merged_into ? *c.merged_into : c.id;
}

Response GetConsents(ApiServices& s, Request& request, const security::Principal& who) {
  auto id = LiveCustomer(s, request, who);
  if (!id) return Response::Problem(id.error());
  return ConsentsJson(s, *id, 200);
}

Response GetConsentHistory(ApiServices& s, Request& request, const security::Principal& who) {
  auto id = LiveCustomer(s, request, who);
  if (!id) return Response::Problem(id.error());
  auto history = s.consents->History(*id);
  if (!history) return Response::Problem(history.error());
  JsonWriter w;
  w.StartObject().Key("customer_id").Int64(id->value()).Key("data").StartArray();
  for (const auto& c : *history) WriteConsent(w, c);
  w.EndArray().EndObject();
  return Response::Json(200, w.TakeString());
}

// PUT body: {"source": "api"|"console"|"import", "policy_version": "...", "text_sha256": "...",
//            "consents": [{"purpose", "channel"?, "granted", "lawful_basis"?}]}. Appends one ledger row per item.
// `Sec-GPC: 1` (Global Privacy Control) on the request records a third_party_sharing withdrawal and overrides
// any grant of it in the same body.
Response PutConsents(ApiServices& s, Request& request, const security::Principal& principal) {
  auto id = LiveCustomer(s, request, principal);
  if (!id) return Response::Problem(id.error());
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"source", "policy_version", "text_sha256", "consents"});
  std::string source = body->String("source", 16).value_or("api");
  if (source != "api" && source != "console" && source != "import") {
    body->Reject("source", "must be api, console or import");
  }
  std::string policy = body->String("policy_version", 64).value_or("");
  std::string text_hash = body->String("text_sha256", 64).value_or("");
  bool gpc = request.Header("Sec-GPC") == "1";
  std::vector<storage::ConsentRecord> changes;
  body->Objects("consents", 50, !gpc, [&](JsonBody& item, const std::string&) {
    item.AllowOnly({"purpose", "channel", "granted", "lawful_basis"});
    storage::ConsentRecord c;
    c.purpose = item.String("purpose", 32, true).value_or("");
    c.channel = item.String("channel", 16).value_or("");
    c.granted = item.Bool("granted", true).value_or(false);
    c.lawful_basis = item.String("lawful_basis", 32).value_or("consent");
    if (gpc && c.purpose == "third_party_sharing") return;
    changes.push_back(std::move(c));
  });
  if (!body->ok()) return Response::Problem(body->TakeError());
  if (gpc) {
    storage::ConsentRecord opt_out;
    opt_out.purpose = "third_party_sharing";
    opt_out.granted = false;
    opt_out.lawful_basis = "consent";
    changes.push_back(std::move(opt_out));
  }
  for (auto& c : changes) {
    c.source = source;
    c.policy_version = policy;
    c.text_sha256 = text_hash;
    c.actor = gpc && c.purpose == "third_party_sharing" ? ActorOf(principal) + " (Sec-GPC)" : ActorOf(principal);
  }
  auto recorded = s.consents->Record(*id, std::move(changes));
  if (!recorded) return Response::Problem(recorded.error());
  return ConsentsJson(s, *id, 200);
}

Response PutPrivacyFlags(ApiServices& s, Request& request, const security::Principal& principal) {
  auto id = LiveCustomer(s, request, principal);
  if (!id) return Response::Problem(id.error());
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"legal_hold", "restricted"});
  auto hold = body->Bool("legal_hold");
  auto restricted = body->Bool("restricted");
  if (body->ok() && !hold && !restricted) body->Reject("body", "must set legal_hold or restricted");
  if (!body->ok()) return Response::Problem(body->TakeError());
  auto set = s.dsar->SetFlags(*id, hold, restricted);
  if (!set) return Response::Problem(set.error());
  auto flags = s.store.GetPrivacyFlags(*id);
  if (!flags) return Response::Problem(flags.error());
  JsonWriter w;
  w.StartObject().Key("customer_id").Int64(id->value()).Key("legal_hold").Bool(flags->legal_hold);
  w.Key("restricted").Bool(flags->restricted).EndObject();
  return Response::Json(200, w.TakeString());
}

Result<int64_t> PathRequestId(const Request& request) {
  std::string_view text = request.PathParam("id");
  int64_t id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || ptr != text.data() + text.size() || id <= 0) {
    return Error::InvalidField("id", "must be a positive integer request id");
  }
  return id;
}

Response CreateRequest(ApiServices& s, Request& request, const security::Principal&) {
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"customer_id", "kind", "jurisdiction", "note"});
  auto customer = body->Int("customer_id", 1, INT64_MAX, true);
  auto kind = body->String("kind", 16, true);
  auto jurisdiction = body->String("jurisdiction", 16, true);
  auto note = body->String("note", 2000).value_or("");
  if (!body->ok()) return Response::Problem(body->TakeError());
  auto opened = s.dsar->Open(CustomerId(*customer), *kind, *jurisdiction, note);
  if (!opened) {
    if (opened.error().code() == ErrorCode::kNotFound) {
      return Response::Problem(Error::InvalidField("customer_id", "no such customer"));
    }
    return Response::Problem(opened.error());
  }
  JsonWriter w;
  WriteRequest(w, *opened, s.clock.Now());
  return Response::Json(201, w.TakeString());
}

Response ListRequests(ApiServices& s, Request& request, const security::Principal&) {
  auto page = ReadPageParams(request);
  if (!page) return Response::Problem(page.error());
  storage::PrivacyRequestQuery q;
  q.after_id = page->after_id;
  q.limit = page->limit + 1;
  if (auto text = request.Query("customer_id")) {
    int64_t id = 0;
    auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), id);
    if (ec != std::errc() || ptr != text->data() + text->size() || id <= 0) {
      return Response::Problem(Error::InvalidField("customer_id", "must be a positive integer"));
    }
    q.customer = CustomerId(id);
  }
  if (auto overdue = request.Query("overdue")) {
    if (*overdue != "true" && *overdue != "false") {
      return Response::Problem(Error::InvalidField("overdue", "must be true or false"));
    }
    if (*overdue == "true") q.overdue_at = s.clock.Now();
  }
  auto list = s.dsar->List(q);
  if (!list) return Response::Problem(list.error());
  bool more = list->size() > static_cast<size_t>(page->limit);
  if (more) list->resize(static_cast<size_t>(page->limit));
  std::string next = list->empty() ? "" : std::to_string(list->back().id);
  Timestamp now = s.clock.Now();
  return Response::Json(200, PageJson(*list, more, next, [&](JsonWriter& w, const storage::PrivacyRequestRecord& r) {
                          WriteRequest(w, r, now);
                        }));
}

Response GetRequest(ApiServices& s, Request& request, const security::Principal&) {
  auto id = PathRequestId(request);
  if (!id) return Response::Problem(id.error());
  auto r = s.dsar->Get(*id);
  if (!r) return Response::Problem(r.error());
  JsonWriter w;
  WriteRequest(w, *r, s.clock.Now());
  return Response::Json(200, w.TakeString());
}

// Carries the request out; the body is the JSON export (access/portability; `?format=bundle`: the ZIP bundle),
// the erasure certificate (erase
// without a grace period) or a small status object. An erasure scheduled for the end of its grace period is 202.
Response FulfilRequest(ApiServices& s, Request& request, const security::Principal&) {
  auto id = PathRequestId(request);
  if (!id) return Response::Problem(id.error());
  std::string format(request.Query("format").value_or("json"));
  if (format != "json" && format != "bundle") {
    return Response::Problem(Error::InvalidField("format", "must be json or bundle"));
  }
  auto result = s.dsar->Fulfil(*id, format == "bundle" ? privacy::ExportFormat::kBundle : privacy::ExportFormat::kJson);
  if (!result) return Response::Problem(result.error());
  if (format == "bundle") {
    // A ZIP: JSON Lines and CSV per table, manifest.json with row counts and SHA-256 (privacy/subject_bundle.h).
    Response response = Response::Json(200, std::move(*result));
    response.content_type = "application/zip";
    response.headers.emplace_back("Content-Disposition",
                                  "attachment; filename=\"subject-request-" + std::to_string(*id) + ".zip\"");
    return response;
  }
  auto after = s.dsar->Get(*id);
  int status = after && after->status == "scheduled" ? 202 : 200;
  return Response::Json(status, std::move(*result));
}

// POST (no body): stops a scheduled erasure during its grace period; 422 when it is not scheduled.
Response CancelRequest(ApiServices& s, Request& request, const security::Principal& who) {
  auto id = PathRequestId(request);
  if (!id) return Response::Problem(id.error());
  auto cancelled = s.dsar->Cancel(*id, ActorOf(request, who).actor);
  if (!cancelled) return Response::Problem(cancelled.error());
  JsonWriter w;
  WriteRequest(w, *cancelled, s.clock.Now());
  return Response::Json(200, w.TakeString());
}

// POST {"method"}: staff confirm the requester's identity; fulfilment is refused until then.
Response VerifyRequest(ApiServices& s, Request& request, const security::Principal& who) {
  auto id = PathRequestId(request);
  if (!id) return Response::Problem(id.error());
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"method"});
  auto method = body->String("method", 32, true);
  if (!body->ok()) return Response::Problem(body->TakeError());
  auto verified = s.dsar->Verify(*id, *method, ActorOf(request, who).actor);
  if (!verified) return Response::Problem(verified.error());
  JsonWriter w;
  WriteRequest(w, *verified, s.clock.Now());
  return Response::Json(200, w.TakeString());
}

Response RejectRequest(ApiServices& s, Request& request, const security::Principal&) {
  auto id = PathRequestId(request);
  if (!id) return Response::Problem(id.error());
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"reason"});
  auto reason = body->String("reason", 2000, true);
  if (!body->ok()) return Response::Problem(body->TakeError());
  auto r = s.dsar->Reject(*id, *reason);
  if (!r) return Response::Problem(r.error());
  JsonWriter w;
  WriteRequest(w, *r, s.clock.Now());
  return Response::Json(200, w.TakeString());
}

// GET ?recipient=NAME&format=json|csv&dataset=customers|orders|events (dataset only for csv)&k=5
Response PseudonymisedExport(ApiServices& s, Request& request, const security::Principal&) {
  privacy::PseudonymisedExportOptions options;
  options.recipient = std::string(request.Query("recipient").value_or(""));
  if (auto k = request.Query("k")) {
    int value = 0;
    auto [ptr, ec] = std::from_chars(k->data(), k->data() + k->size(), value);
    if (ec != std::errc() || ptr != k->data() + k->size()) {
      return Response::Problem(Error::InvalidField("k", "must be an integer"));
    }
    options.k = value;
  }
  std::string format(request.Query("format").value_or("json"));
  if (format != "json" && format != "csv") return Response::Problem(Error::InvalidField("format", "must be json or csv"));
  std::string dataset(request.Query("dataset").value_or("customers"));
  if (dataset != "customers" && dataset != "orders" && dataset != "events") {
    return Response::Problem(Error::InvalidField("dataset", "must be customers, orders or events"));
  }
  auto out = privacy::BuildPseudonymisedExport(s.store, s.pseudonym_secret, options, s.clock.Now());
  if (!out) return Response::Problem(out.error());
  if (format == "json") return Response::Json(200, out->ToJson());
  auto csv = out->ToCsv(dataset);
  if (!csv) return Response::Problem(csv.error());
  Response response = Response::Json(200, std::move(*csv));
  response.content_type = "text/csv; charset=utf-8";
  return response;
}

Response RunRetentionNow(ApiServices& s, Request&, const security::Principal&) {
  auto report = privacy::RunRetention(s.store, privacy::DefaultRetentionPolicies(), s.clock.Now());
  if (!report) return Response::Problem(report.error());
  if (report->total_rows > 0) {
    // Deleted events leave the in-memory aggregates; rebuild them from the store.
    auto rebuilt = s.features.Rebuild(s.store);
    if (!rebuilt) return Response::Problem(rebuilt.error());
  }
  JsonWriter w;
  w.StartObject().Key("total_rows").Int64(report->total_rows).Key("data").StartArray();
  for (const auto& line : report->lines) {
    w.StartObject().Key("data_class").String(line.data_class).Key("action").String(line.action);
    w.Key("cutoff").String(FormatIso8601(line.cutoff)).Key("rows").Int64(line.rows).EndObject();
  }
  w.EndArray().EndObject();
  return Response::Json(200, w.TakeString());
}

// ---- Data-class catalogue of event property keys ----

Response CatalogueJson(const privacy::DataClassCatalogue& catalogue) {
  JsonWriter w;
  w.StartObject().Key("event_properties").StartArray();
  for (const auto& e : catalogue.EventProperties()) {
    w.StartObject().Key("key").String(e.key).Key("class").String(e.data_class).EndObject();
  }
  w.EndArray().Key("default_class").String("internal").EndObject();
  return Response::Json(200, w.TakeString());
}

Response GetCatalogue(ApiServices& s, Request&, const security::Principal&) { return CatalogueJson(*s.catalogue); }

// PUT {"event_properties":[{"key","class"}…]}: replaces the whole list (validated before anything is written).
Response PutCatalogue(ApiServices& s, Request& request, const security::Principal& principal) {
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"event_properties"});
  std::vector<privacy::DataClassEntry> entries;
  body->Objects("event_properties", privacy::kMaxCatalogueEntries, true,
                [&](JsonBody& item, const std::string&) {
                  item.AllowOnly({"key", "class"});
                  auto key = item.String("key", privacy::kMaxCatalogueKeyBytes, true);
                  auto data_class = item.String("class", 32, true);
                  if (key && data_class) entries.push_back({*key, *data_class});
                });
  if (!body->ok()) return Response::Problem(body->TakeError());
  auto replaced = s.catalogue->Replace(std::move(entries), ActorOf(principal), s.clock.Now());
  if (!replaced) return Response::Problem(replaced.error());
  return CatalogueJson(*s.catalogue);
}

// ---- Self-service requests (public) ----

// Per client IP, on top of the API-wide limit: `per_minute` requests a minute (bursts as large). Off with
// `--no-rate-limit`, like the API-wide limits.
std::shared_ptr<security::RateLimiter> PublicRequestLimiter(ApiServices& s, double per_minute) {
  security::RateLimitOptions options;
  options.enabled = s.limiter == nullptr || s.limiter->options().enabled;
  options.per_key = {0, 0};
  options.per_user = {0, 0};
  options.per_ip = {per_minute / 60.0, per_minute};
  return std::make_shared<security::RateLimiter>(s.clock, options);
}

std::optional<Response> LimitPublic(security::RateLimiter& limiter, const Request& request) {
  auto allowed = limiter.Acquire(security::RateLimiter::Kind::kIp, request.remote_address);
  if (!allowed) return Response::Problem(allowed.error());
  return std::nullopt;
}

// POST {"type", "email" | "phone", "jurisdiction"?}: always 202 with the same body when the input is valid,
// whether or not the identifier belongs to a customer (no enumeration).
Response SubmitPublicRequest(ApiServices& s, security::RateLimiter& limiter, Request& request) {
  if (auto limited = LimitClientIp(s, request)) return *limited;
  if (auto limited = LimitPublic(limiter, request)) return *limited;
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"type", "email", "phone", "jurisdiction"});
  auto type = body->String("type", 16, true);
  auto email = body->String("email", 254);
  auto phone = body->String("phone", 32);
  std::string jurisdiction = body->String("jurisdiction", 16).value_or("pipl");
  if (body->ok() && email.has_value() == phone.has_value()) body->Reject("email", "give exactly one of email or phone");
  std::string channel, value;
  if (body->ok() && email) {
    auto normal = ingest::NormalizeEmail(*email);
    if (!normal) {
      body->Reject("email", "is not a valid email address");
    } else {
      channel = "email";
      value = *normal;
    }
  } else if (body->ok() && phone) {
    auto normal = ingest::NormalizePhone(*phone, s.default_phone_region);
    if (!normal) {
      body->Reject("phone", "is not a valid phone number");
    } else {
      channel = "phone";
      value = *normal;
    }
  }
  if (!body->ok()) return Response::Problem(body->TakeError());
  ActorScope actor(ActorContext{.actor = "requester", .ip = TruncateIp(request.remote_address)});
  auto submitted = s.public_requests->Submit(*type, channel, value, jurisdiction);
  if (!submitted) return Response::Problem(submitted.error());
  return Response::Json(202, R"({"status":"received","message":"If the details match our records, a verification code has been sent. Enter it to confirm the request."})");
}

// POST {"request_id", "code"}: the requester proves control of the email or phone; the request is verified.
Response VerifyPublicRequest(ApiServices& s, security::RateLimiter& limiter, Request& request) {
  if (auto limited = LimitClientIp(s, request)) return *limited;
  if (auto limited = LimitPublic(limiter, request)) return *limited;
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"request_id", "code"});
  auto id = body->Int("request_id", 1, INT64_MAX, true);
  auto code = body->String("code", 16, true);
  if (!body->ok()) return Response::Problem(body->TakeError());
  ActorScope actor(ActorContext{.actor = "requester", .ip = TruncateIp(request.remote_address)});
  auto verified = s.public_requests->Verify(*id, *code);
  if (!verified) return Response::Problem(verified.error());
  JsonWriter w;
  w.StartObject().Key("request_id").Int64(verified->id).Key("verification").String(verified->verification);
  w.Key("status").String(verified->status).EndObject();
  return Response::Json(200, w.TakeString());
}

}  // namespace

void RegisterPrivacyRoutes(Router& router, ApiServices& s) {
  if (s.public_requests != nullptr) {
    auto submissions = PublicRequestLimiter(s, 10);
    auto checks = PublicRequestLimiter(s, 30);
    router.Add(Method::kPost, "/api/v1/privacy/public-requests",
               Public([&s, submissions](Request& r) { return SubmitPublicRequest(s, *submissions, r); }));
    router.Add(Method::kPost, "/api/v1/privacy/public-requests/verify",
               Public([&s, checks](Request& r) { return VerifyPublicRequest(s, *checks, r); }));
  }
  using security::access::Permission;
  if (s.catalogue != nullptr) {
    router.Add(Method::kGet, "/api/v1/privacy/catalogue", Read(s, Permission::kPrivacyManage, GetCatalogue));
    router.Add(Method::kPut, "/api/v1/privacy/catalogue", Write(s, Permission::kPrivacyManage, PutCatalogue));
  }
  if (s.consents == nullptr || s.dsar == nullptr) return;
  router.Add(Method::kGet, "/api/v1/customers/{id}/consents", Read(s, Permission::kCustomersRead, GetConsents));
  router.Add(Method::kGet, "/api/v1/customers/{id}/consents/history",
             Read(s, Permission::kCustomersRead, GetConsentHistory));
  router.Add(Method::kPut, "/api/v1/customers/{id}/consents", Write(s, Permission::kCustomersWrite, PutConsents));
  router.Add(Method::kPut, "/api/v1/customers/{id}/privacy-flags",
             Write(s, Permission::kPrivacyManage, PutPrivacyFlags));
  router.Add(Method::kPost, "/api/v1/privacy/requests", Write(s, Permission::kPrivacyManage, CreateRequest));
  router.Add(Method::kGet, "/api/v1/privacy/requests", Read(s, Permission::kPrivacyManage, ListRequests));
  router.Add(Method::kGet, "/api/v1/privacy/requests/{id}", Read(s, Permission::kPrivacyManage, GetRequest));
  router.Add(Method::kPost, "/api/v1/privacy/requests/{id}/fulfil",
             SensitiveWrite(s, Permission::kPrivacyManage, FulfilRequest));
  router.Add(Method::kPost, "/api/v1/privacy/requests/{id}/verify",
             Write(s, Permission::kPrivacyManage, VerifyRequest));
  router.Add(Method::kPost, "/api/v1/privacy/requests/{id}/reject",
             Write(s, Permission::kPrivacyManage, RejectRequest));
  router.Add(Method::kPost, "/api/v1/privacy/requests/{id}/cancel",
             Write(s, Permission::kPrivacyManage, CancelRequest));
  router.Add(Method::kGet, "/api/v1/privacy/pseudonymised-export",
             SensitiveRead(s, Permission::kPrivacyManage, PseudonymisedExport));
  router.Add(Method::kPost, "/api/v1/privacy/retention/run", Write(s, Permission::kPrivacyManage, RunRetentionNow));
}

}  // namespace panorama::http
