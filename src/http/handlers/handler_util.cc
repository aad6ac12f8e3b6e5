#include "http/handlers/handler_util.h"

#include <algorithm>
#include <charconv>

#include "audit/ledger_service.h"
#include "core/actor_context.h"
#include "features/feature_store.h"
#include "ingest/event_privacy.h"
#include "security/access/masking.h"
#include "security/crypto_util.h"
#include "security/ip_allowlist.h"
#include "security/rate_limiter.h"
#include "storage/store.h"

namespace panorama::http {

namespace {

std::string_view BearerToken(const Request& request) {
  std::string_view header = request.Header("authorization");
  constexpr std::string_view kPrefix = "Bearer ";
  if (header.size() <= kPrefix.size()) return {};
  std::string scheme(header.substr(0, kPrefix.size()));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "bearer ") return {};
  return header.substr(kPrefix.size());
}

bool IsLoopback(std::string_view ip) {
  if (ip.starts_with("::ffff:")) ip.remove_prefix(7);
  return ip.starts_with("127.") || ip == "::1";
}

bool ChangesState(Method method) {
  return method != Method::kGet && method != Method::kHead && method != Method::kOptions;
}

Response Unauthenticated(const Error& error) {
  Response response = Response::Problem(error);
  response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"panorama\"");
  return response;
}

}  // namespace

ActorContext ActorOf(const Request& request, const security::Principal& who) {
  ActorContext context;
  if (who.kind == security::Principal::Kind::kUser && who.user) {
    context.actor = "user:" + who.user->ToString();
  } else if (who.key) {
    context.actor = "key:" + who.key->ToString();
  } else {
    context.actor = "unknown";
  }
  // A client-chosen correlation id; bounded so a header cannot bloat the ledger.
  context.request_id = std::string(request.Header("x-request-id").substr(0, 64));
  context.ip = TruncateIp(request.remote_address);
  return context;
}

void RecordRead(ApiServices& services, std::string action, std::string object_type, std::string object_id,
                std::vector<std::string> ids) {
  if (!services.audit) return;
  audit::LedgerEntry entry;
  entry.action = std::move(action);
  entry.object_type = std::move(object_type);
  entry.object_id = std::move(object_id);
  entry.ids = std::move(ids);
  services.audit->RecordRead(std::move(entry));
}

security::ClientInfo ClientOf(const Request& request) {
  return {request.remote_address, std::string(request.Header("user-agent")),
          std::string(CookieValue(request, kDeviceCookie))};
}

std::string_view CookieValue(const Request& request, std::string_view name) {
  for (const auto& [header, value] : request.headers) {
    if (header != "cookie") continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      size_t end = rest.find(';');
      std::string_view pair = rest.substr(0, end);
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    }
  }
  return {};
}

bool WantsCookies(const Request& request) {
  return !request.Header(kConsoleHeader).empty() && (request.secure || IsLoopback(request.remote_address));
}

std::string SetCookieHeader(std::string_view name, std::string_view value, int64_t max_age_seconds) {
  return std::string(name) + "=" + std::string(value) + "; Path=/; Max-Age=" +
         std::to_string(std::max<int64_t>(0, max_age_seconds)) + "; Secure; HttpOnly; SameSite=Strict";
}

std::optional<Response> LimitClientIp(ApiServices& services, const Request& request) {
  if (services.limiter == nullptr) return std::nullopt;
  auto allowed = services.limiter->Acquire(security::RateLimiter::Kind::kIp, request.remote_address);
  if (!allowed) return Response::Problem(allowed.error());
  return std::nullopt;
}

namespace {
Response ReauthRequired(ApiServices& services) {
  Response response = Response::Problem(Error::PermissionDenied(
      "this action needs a recent sign-in: confirm your password (and code) at /api/v1/auth/step-up"));
  // The bearer token is valid, so 403 rather than 401 (a 401 makes the console end the session). The type is
  // what clients branch on; the WWW-Authenticate parameters follow RFC 9470 (step-up challenge).
  std::string_view prefix = R"({"type":"about:blank")";
  if (response.body.starts_with(prefix)) {
    response.body = R"({"type":")" + std::string(kReauthRequiredType) + "\"" + response.body.substr(prefix.size());
  }
  response.headers.emplace_back(
      "WWW-Authenticate", "Bearer realm=\"panorama\", error=\"insufficient_user_authentication\", max_age=" +
                              std::to_string(services.auth.step_up_window().count()));
  return response;
}
}  // namespace

// Authenticates, resolves permissions and checks `needed` (none for "authenticated" routes); with `step_up`,
// a person's session must also have passed a password check within the step-up window.
Handler Authenticated(ApiServices& services, std::optional<Permission> needed, AuthedHandler handler, bool write,
                      bool step_up = false) {
  return [&services, needed, handler = std::move(handler), write, step_up](Request& request) -> Response {
    if (auto limited = LimitClientIp(services, request)) return *limited;
    std::string_view token = BearerToken(request);
    if (token.empty()) {
      // The console's session cookie: a session token only (keys never travel in cookies), and for a state
      // change the console's header, which a cross-site form or fetch cannot send.
      token = CookieValue(request, kSessionCookie);
      if (!token.empty() && !token.starts_with("pst_")) token = {};
      if (!token.empty() && ChangesState(request.method) && request.Header(kConsoleHeader).empty()) {
        return Response::Problem(Error::PermissionDenied(
            "a request signed in by cookie must carry the X-Requested-With header (cross-site request refused)"));
      }
    }
    auto principal = services.auth.AuthenticateBearer(token);
    if (!principal) {
      if (principal.error().code() == ErrorCode::kUnauthenticated) return Unauthenticated(principal.error());
      return Response::Problem(principal.error());
    }
    // Before any permission or scope answer, so a caller outside the key's networks learns nothing more.
    if (principal->key && !security::AddressAllowed(request.remote_address, principal->allowed_cidrs)) {
      return Response::Problem(Error::PermissionDenied("this api key may not be used from this address"));
    }
    if (services.limiter != nullptr) {
      // Keys and people have their own buckets, so one busy integration does not slow the others.
      auto allowed = principal->key
                         ? services.limiter->Acquire(security::RateLimiter::Kind::kKey,
                                                     std::to_string(principal->key->value()))
                         : services.limiter->Acquire(security::RateLimiter::Kind::kUser,
                                                     std::to_string(principal->user ? principal->user->value() : 0));
      if (!allowed) return Response::Problem(allowed.error());
    }
    if (auto resolved = services.access->Resolve(*principal); !resolved) {
      return Response::Problem(resolved.error());
    }
    if (needed && !principal->Can(*needed)) {
      return Response::Problem(Error::PermissionDenied("this action needs the permission " +
                                                       std::string(security::access::PermissionName(*needed))));
    }
    if (write && !principal->CanWrite()) {
      return Response::Problem(Error::PermissionDenied("this credential may only read"));
    }
    // After the permission check (no hint to callers who may not do it at all), before any idempotent replay.
    if (step_up && !services.auth.IsStepUpFresh(*principal)) return ReauthRequired(services);
    // Every write and read-log entry made while handling this request names this caller.
    ActorScope actor(ActorOf(request, *principal));
    return handler(request, *principal);
  };
}

Handler IdempotentWrite(ApiServices& services, std::optional<Permission> needed, AuthedHandler handler,
                        bool step_up = false) {
  return Authenticated(
      services, needed,
      [&services, handler = std::move(handler)](Request& request, const security::Principal& who) -> Response {
        std::string_view key = request.Header("idempotency-key");
        if (key.empty()) return handler(request, who);
        if (key.size() > 255) return Response::Problem(Error::InvalidField("Idempotency-Key", "is longer than 255"));
        std::string scoped = who.name + ":" + std::string(key);
        std::string request_hash =
            security::Sha256Hex(std::string(MethodName(request.method)) + " " + request.path + "\n" + request.body);
        auto stored = services.store.FindIdempotency(scoped);
        if (!stored) return Response::Problem(stored.error());
        if (*stored && services.clock.Now() - (*stored)->created_at >= storage::kIdempotencyKeyLifetime) {
          stored->reset();  // expired: the key is new again (PutIdempotency replaces the old record)
        }
        if (*stored) {
          if ((*stored)->request_hash != request_hash) {
            return Response::Problem(
                Error::FailedPrecondition("Idempotency-Key was already used for a different request"));
          }
          Response replay = Response::Json((*stored)->status, (*stored)->response_body);
          if (replay.status >= 400) replay.content_type = "application/problem+json";
          replay.headers.emplace_back("Idempotent-Replayed", "true");
          return replay;
        }
        Response response = handler(request, who);
        if (response.status < 500) {
          storage::IdempotencyRecord record{scoped, request_hash, response.status, response.body,
                                            services.clock.Now()};
          // A concurrent twin may have stored first; either way the caller gets its own real answer.
          (void)services.store.Write([&](storage::WriteTxn& txn) { return txn.PutIdempotency(record); });
        }
        return response;
      },
      /*write=*/true, step_up);
}

namespace {
std::string RuleOf(Permission p) { return std::string(security::access::PermissionName(p)); }
}  // namespace

GuardedHandler Read(ApiServices& s, Permission p, ServiceHandler fn) {
  return {RuleOf(p), Authenticated(s, p, [&s, fn](Request& r, const security::Principal&) { return fn(s, r); }, false)};
}
GuardedHandler Read(ApiServices& s, Permission p, PrincipalHandler fn) {
  return {RuleOf(p),
          Authenticated(s, p, [&s, fn](Request& r, const security::Principal& who) { return fn(s, r, who); }, false)};
}
GuardedHandler Read(ApiServices& s, Permission p, AuthedHandler fn) {
  return {RuleOf(p), Authenticated(s, p, std::move(fn), false)};
}
GuardedHandler Write(ApiServices& s, Permission p, ServiceHandler fn) {
  return {RuleOf(p), IdempotentWrite(s, p, [&s, fn](Request& r, const security::Principal&) { return fn(s, r); })};
}
GuardedHandler Write(ApiServices& s, Permission p, PrincipalHandler fn) {
  return {RuleOf(p),
          IdempotentWrite(s, p, [&s, fn](Request& r, const security::Principal& who) { return fn(s, r, who); })};
}
GuardedHandler Write(ApiServices& s, Permission p, AuthedHandler fn) {
  return {RuleOf(p), IdempotentWrite(s, p, std::move(fn))};
}
GuardedHandler Authed(ApiServices& s, AuthedHandler fn) {
  return {std::string(kAuthenticatedRule), Authenticated(s, std::nullopt, std::move(fn), false)};
}

GuardedHandler Authed(ApiServices& s, PrincipalHandler fn) {
  return {std::string(kAuthenticatedRule),
          Authenticated(
              s, std::nullopt, [&s, fn](Request& r, const security::Principal& who) { return fn(s, r, who); }, false)};
}

GuardedHandler SensitiveRead(ApiServices& s, Permission p, ServiceHandler fn) {
  return {RuleOf(p),
          Authenticated(s, p, [&s, fn](Request& r, const security::Principal&) { return fn(s, r); }, false, true)};
}
GuardedHandler SensitiveRead(ApiServices& s, Permission p, PrincipalHandler fn) {
  return {RuleOf(p), Authenticated(
                         s, p, [&s, fn](Request& r, const security::Principal& who) { return fn(s, r, who); }, false,
                         true)};
}
GuardedHandler SensitiveRead(ApiServices& s, Permission p, AuthedHandler fn) {
  return {RuleOf(p), Authenticated(s, p, std::move(fn), false, true)};
}
GuardedHandler SensitiveWrite(ApiServices& s, Permission p, ServiceHandler fn) {
  return {RuleOf(p),
          IdempotentWrite(s, p, [&s, fn](Request& r, const security::Principal&) { return fn(s, r); }, true)};
}
GuardedHandler SensitiveWrite(ApiServices& s, Permission p, PrincipalHandler fn) {
  return {RuleOf(p), IdempotentWrite(
                         s, p, [&s, fn](Request& r, const security::Principal& who) { return fn(s, r, who); }, true)};
}

std::optional<storage::RecordScope> ScopeOf(const security::Principal& who) {
  return security::access::AccessPolicy::ScopeOf(who);
}

Result<storage::CustomerRecord> GetCustomerFor(ApiServices& s, const security::Principal& who, CustomerId id) {
  auto scope = ScopeOf(who);
  if (scope) return s.store.GetCustomerInScope(id, *scope);
  return s.store.GetCustomer(id);
}

struct JsonBody::Doc {
  simdjson::dom::parser parser;
  simdjson::padded_string text;
  std::vector<FieldViolation> violations;
};

JsonBody::JsonBody(JsonBody&&) noexcept = default;
JsonBody& JsonBody::operator=(JsonBody&&) noexcept = default;
JsonBody::~JsonBody() = default;

Result<JsonBody> JsonBody::Parse(std::string_view body) {
  JsonBody parsed;
  parsed.doc_ = std::make_shared<Doc>();
  parsed.doc_->text = simdjson::padded_string(body);
  simdjson::dom::element root;
  if (auto error = parsed.doc_->parser.parse(parsed.doc_->text).get(root); error) {
    return Error::InvalidField("body", std::string("is not valid JSON: ") + simdjson::error_message(error));
  }
  if (root.get_object().get(parsed.object_) != simdjson::SUCCESS) {
    return Error::InvalidField("body", "must be a JSON object");
  }
  return parsed;
}

bool JsonBody::ok() const { return doc_->violations.empty(); }

void JsonBody::Reject(std::string field, std::string reason) {
  doc_->violations.push_back({prefix_ + field, std::move(reason)});
}

Error JsonBody::TakeError() {
  auto& v = doc_->violations;
  std::string message = v.empty() ? "invalid request" : v.front().field + ": " + v.front().reason;
  if (v.size() > 1) message += " (and " + std::to_string(v.size() - 1) + " more)";
  return Error(ErrorCode::kInvalidArgument, message, v);
}

bool JsonBody::Has(std::string_view key) const {
  simdjson::dom::element value;
  return object_[key].get(value) == simdjson::SUCCESS;
}

bool JsonBody::IsNull(std::string_view key) const {
  simdjson::dom::element value;
  return object_[key].get(value) == simdjson::SUCCESS && value.is_null();
}

std::optional<std::string> JsonBody::String(std::string_view key, size_t max_bytes, bool required) {
  simdjson::dom::element value;
  if (object_[key].get(value) != simdjson::SUCCESS || value.is_null()) {
    if (required) Reject(std::string(key), "is required");
    return std::nullopt;
  }
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) {
    Reject(std::string(key), "must be a string");
    return std::nullopt;
  }
  if (text.size() > max_bytes) {
    Reject(std::string(key), "must be at most " + std::to_string(max_bytes) + " bytes");
    return std::nullopt;
  }
  if (required && text.empty()) {
    Reject(std::string(key), "must not be empty");
    return std::nullopt;
  }
  return std::string(text);
}

std::optional<int64_t> JsonBody::Int(std::string_view key, int64_t min, int64_t max, bool required) {
  simdjson::dom::element value;
  if (object_[key].get(value) != simdjson::SUCCESS || value.is_null()) {
    if (required) Reject(std::string(key), "is required");
    return std::nullopt;
  }
  int64_t n = 0;
  if (value.get_int64().get(n) != simdjson::SUCCESS) {
    Reject(std::string(key), "must be an integer");
    return std::nullopt;
  }
  if (n < min || n > max) {
    Reject(std::string(key), "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return n;
}

std::optional<bool> JsonBody::Bool(std::string_view key, bool required) {
  simdjson::dom::element value;
  if (object_[key].get(value) != simdjson::SUCCESS || value.is_null()) {
    if (required) Reject(std::string(key), "is required");
    return std::nullopt;
  }
  bool b = false;
  if (value.get_bool().get(b) != simdjson::SUCCESS) {
    Reject(std::string(key), "must be true or false");
    return std::nullopt;
  }
  return b;
}

std::optional<std::vector<std::string>> JsonBody::StringArray(std::string_view key, size_t max_items,
                                                              size_t max_bytes) {
  simdjson::dom::element value;
  if (object_[key].get(value) != simdjson::SUCCESS || value.is_null()) return std::nullopt;
  simdjson::dom::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS) {
    Reject(std::string(key), "must be an array of strings");
    return std::nullopt;
  }
  if (array.size() > max_items) {
    Reject(std::string(key), "must have at most " + std::to_string(max_items) + " items");
    return std::nullopt;
  }
  std::vector<std::string> out;
  size_t index = 0;
  for (auto item : array) {
    std::string_view text;
    std::string at = std::string(key) + "[" + std::to_string(index++) + "]";
    if (item.get_string().get(text) != simdjson::SUCCESS) {
      Reject(at, "must be a string");
      return std::nullopt;
    }
    if (text.empty() || text.size() > max_bytes) {
      Reject(at, "must be 1 to " + std::to_string(max_bytes) + " bytes");
      return std::nullopt;
    }
    out.emplace_back(text);
  }
  return out;
}

std::optional<std::string> JsonBody::Object(std::string_view key) {
  simdjson::dom::element value;
  if (object_[key].get(value) != simdjson::SUCCESS || value.is_null()) return std::nullopt;
  if (value.type() != simdjson::dom::element_type::OBJECT) {
    Reject(std::string(key), "must be an object");
    return std::nullopt;
  }
  return simdjson::minify(value);
}

void JsonBody::Objects(std::string_view key, size_t max_items, bool required,
                       const std::function<void(JsonBody&, const std::string& prefix)>& fn) {
  simdjson::dom::element value;
  if (object_[key].get(value) != simdjson::SUCCESS || value.is_null()) {
    if (required) Reject(std::string(key), "is required");
    return;
  }
  simdjson::dom::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS) {
    Reject(std::string(key), "must be an array of objects");
    return;
  }
  if (array.size() > max_items) {
    Reject(std::string(key), "must have at most " + std::to_string(max_items) + " items");
    return;
  }
  size_t index = 0;
  for (auto item : array) {
    JsonBody nested;
    nested.doc_ = doc_;
    nested.prefix_ = prefix_ + std::string(key) + "[" + std::to_string(index++) + "].";
    if (item.get_object().get(nested.object_) != simdjson::SUCCESS) {
      Reject(nested.prefix_.substr(prefix_.size(), nested.prefix_.size() - prefix_.size() - 1), "must be an object");
      continue;
    }
    fn(nested, nested.prefix_);
  }
}

void JsonBody::AllowOnly(std::initializer_list<std::string_view> allowed) {
  for (auto [key, value] : object_) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      Reject(std::string(key), "is not a known field");
    }
  }
}

Result<PageParams> ReadPageParams(const Request& request, int default_limit, int max_limit) {
  PageParams page;
  page.limit = default_limit;
  if (auto limit = request.Query("limit")) {
    int n = 0;
    auto [ptr, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (ec != std::errc() || ptr != limit->data() + limit->size() || n < 1 || n > max_limit) {
      return Error::InvalidField("limit", "must be an integer between 1 and " + std::to_string(max_limit));
    }
    page.limit = n;
  }
  if (auto cursor = request.Query("cursor"); cursor && !cursor->empty()) {
    auto [ptr, ec] = std::from_chars(cursor->data(), cursor->data() + cursor->size(), page.after_id);
    if (ec != std::errc() || ptr != cursor->data() + cursor->size() || page.after_id < 0) {
      return Error::InvalidField("cursor", "is not a cursor returned by this API");
    }
  }
  return page;
}

Result<CustomerId> PathCustomerId(const Request& request) {
  std::string_view text = request.PathParam("id");
  int64_t id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || ptr != text.data() + text.size() || id <= 0) {
    return Error::InvalidField("id", "must be a positive integer customer id");
  }
  return CustomerId(id);
}

void WriteOptionalTime(JsonWriter& w, const std::optional<Timestamp>& t) {
  if (t) {
    w.String(FormatIso8601(*t));
  } else {
    w.Null();
  }
}

void WriteAggregates(JsonWriter& w, const features::CustomerFeatures& f, const std::string& base_currency) {
  w.StartObject();
  w.Key("order_count").Int64(f.order_count);
  w.Key("total_spend_minor").Int64(f.total_spend_base_minor);
  w.Key("base_currency").String(base_currency);
  w.Key("first_order_at");
  WriteOptionalTime(w, f.first_order_at);
  w.Key("last_order_at");
  WriteOptionalTime(w, f.last_order_at);
  w.Key("avg_days_between_orders");
  if (f.avg_days_between_orders) {
    w.Double(*f.avg_days_between_orders);
  } else {
    w.Null();
  }
  w.Key("last_event_at");
  WriteOptionalTime(w, f.last_event_at);
  w.Key("event_count").Int64(f.event_count);
  w.Key("event_count_30d").Int64(f.event_count_30d);
  w.EndObject();
}

void WriteCustomer(JsonWriter& w, const storage::CustomerRecord& record,
                   const features::CustomerFeatures* aggregates, const std::string& base_currency,
                   const security::access::PermissionSet& permissions) {
  storage::CustomerRecord c = record;
  std::vector<std::string> masked = security::access::MaskCustomer(c, permissions);
  // A hidden field is null, so a reader tells "hidden from you" from "empty".
  auto text = [&](const char* key, const std::string& value) {
    w.Key(key);
    const auto* rule = security::access::FindCustomerField(key);
    bool hidden = rule != nullptr && rule->when_masked == security::access::MaskStyle::kHide &&
                  std::find(masked.begin(), masked.end(), key) != masked.end();
    if (hidden) {
      w.Null();
    } else {
      w.String(value);
    }
  };
  w.StartObject();
  w.Key("id").Int64(c.id.value());
  text("name", c.name);
  text("email", c.email);
  text("phone", c.phone);
  text("gender", c.gender);
  text("birthday", c.birthday);
  text("city", c.city);
  w.Key("country").String(c.country);
  text("address", c.address);
  w.Key("external_id").String(c.external_id);
  w.Key("tags").StartArray();
  for (const auto& tag : c.tags) w.String(tag);
  w.EndArray();
  w.Key("traits").RawJson(c.traits_json.empty() ? "{}" : c.traits_json);
  w.Key("created_at").String(FormatIso8601(c.created_at));
  w.Key("updated_at").String(FormatIso8601(c.updated_at));
  if (c.merged_into) w.Key("merged_into").Int64(c.merged_into->value());
  w.Key("owner_id");
  if (c.owner) {
    w.Int64(c.owner->value());
  } else {
    w.Null();
  }
  w.Key("team_id");
  if (c.team) {
    w.Int64(c.team->value());
  } else {
    w.Null();
  }
  w.Key("masked").StartArray();
  for (const auto& field : masked) w.String(field);
  w.EndArray();
  if (aggregates) {
    w.Key("aggregates");
    WriteAggregates(w, *aggregates, base_currency);
  }
  w.EndObject();
}

void WriteOrder(JsonWriter& w, const storage::OrderRecord& o) {
  w.StartObject();
  w.Key("id").Int64(o.id.value());
  w.Key("customer_id").Int64(o.customer.value());
  w.Key("external_id").String(o.external_id);
  w.Key("total_minor").Int64(o.total.minor);
  w.Key("currency").String(o.total.currency);
  w.Key("total_base_minor").Int64(o.total_base_minor);
  w.Key("status").String(o.status);
  w.Key("placed_at").String(FormatIso8601(o.placed_at));
  w.Key("items").StartArray();
  for (const auto& item : o.items) {
    w.StartObject();
    w.Key("product_id");
    if (item.product) {
      w.Int64(item.product->value());
    } else {
      w.Null();
    }
    w.Key("sku").String(item.sku);
    w.Key("name").String(item.name);
    w.Key("quantity").Int64(item.quantity);
    w.Key("unit_price_minor").Int64(item.unit_price_minor);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void WriteInteraction(JsonWriter& w, storage::InteractionRecord i, const security::access::PermissionSet& permissions) {
  security::access::MaskInteraction(i, permissions);
  w.StartObject();
  w.Key("id").Int64(i.id.value());
  w.Key("customer_id").Int64(i.customer.value());
  w.Key("kind").String(i.kind);
  w.Key("subject").String(i.subject);
  w.Key("body").String(i.body);
  w.Key("direction").String(i.direction);
  w.Key("occurred_at").String(FormatIso8601(i.occurred_at));
  w.Key("author_id");
  if (i.author) {
    w.Int64(i.author->value());
  } else {
    w.Null();
  }
  w.EndObject();
}

void WriteEvent(JsonWriter& w, storage::EventRecord e, const security::access::PermissionSet& permissions) {
  // Personal property values (sealed at ingest) come back in clear for personal.read, as nulls otherwise.
  ingest::RestoreEventData(e, security::access::CanRead(permissions, security::access::DataClass::kPersonal));
  security::access::MaskEvent(e, permissions);
  w.StartObject();
  w.Key("id").Int64(e.id.value());
  w.Key("type").String(e.type);
  w.Key("name").String(e.name);
  w.Key("message_id").String(e.message_id);
  w.Key("properties").RawJson(e.properties_json.empty() ? "{}" : e.properties_json);
  w.Key("context").RawJson(e.context_json.empty() ? "{}" : e.context_json);
  w.Key("timestamp").String(FormatIso8601(e.timestamp));
  w.Key("received_at").String(FormatIso8601(e.received_at));
  w.EndObject();
}

void WriteProduct(JsonWriter& w, const storage::ProductRecord& p) {
  w.StartObject();
  w.Key("id").Int64(p.id.value());
  w.Key("sku").String(p.sku);
  w.Key("name").String(p.name);
  w.Key("category").String(p.category);
  w.Key("price_minor").Int64(p.price.minor);
  w.Key("currency").String(p.price.currency);
  w.EndObject();
}

}  // namespace panorama::http
