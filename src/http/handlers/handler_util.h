#pragma once
// Shared pieces of the API handlers: authentication wrappers, JSON body reading with per-field errors,
// cursors and JSON rendering of the common records. Internal to http/handlers.

#include <simdjson.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/actor_context.h"
#include "core/result.h"
#include "http/handlers/api_services.h"
#include "http/json.h"
#include "http/request.h"
#include "http/router.h"
#include "security/access/access_policy.h"
#include "security/access/permissions.h"
#include "security/auth_service.h"
#include "storage/records.h"

namespace panorama::features {
struct CustomerFeatures;
}

namespace panorama::http {

using AuthedHandler = std::function<Response(Request&, const security::Principal&)>;
using security::access::Permission;

// The audit actor of an authenticated request: "user:<id>" or "key:<id>", X-Request-Id, truncated IP.
ActorContext ActorOf(const Request& request, const security::Principal& who);

// Queues one ledger entry for a read of personal data (the ids read); a no-op when services.audit is null.
void RecordRead(ApiServices& services, std::string action, std::string object_type, std::string object_id,
                std::vector<std::string> ids = {});

// The route adapters: the one way an API route is built. Each takes the permission the route needs,
// authenticates the bearer token (session or API key; 401 without a valid one), resolves the caller's
// permissions and team (AccessPolicy), answers 403 problem+json without the permission, and records the
// permission as the route's rule for the router (so the authorisation matrix test sees it).
// Read: any method that changes nothing. Write: also needs a read-write credential and honours
// Idempotency-Key. Authed: any valid bearer token, no permission (rule "authenticated").
using ServiceHandler = Response (*)(ApiServices&, Request&);
using PrincipalHandler = Response (*)(ApiServices&, Request&, const security::Principal&);
GuardedHandler Read(ApiServices& services, Permission needed, ServiceHandler fn);
GuardedHandler Read(ApiServices& services, Permission needed, PrincipalHandler fn);
GuardedHandler Read(ApiServices& services, Permission needed, AuthedHandler fn);
GuardedHandler Write(ApiServices& services, Permission needed, ServiceHandler fn);
GuardedHandler Write(ApiServices& services, Permission needed, PrincipalHandler fn);
GuardedHandler Write(ApiServices& services, Permission needed, AuthedHandler fn);
GuardedHandler Authed(ApiServices& services, PrincipalHandler fn);
GuardedHandler Authed(ApiServices& services, AuthedHandler fn);
// Sensitive operations (privacy exports and erasure, bulk exports, key creation, staff access and MFA policy):
// as Read / Write, and a person's session must have passed a password (and TOTP) check within the step-up
// window (sign-in or POST /api/v1/auth/step-up), else 403 problem+json of type kReauthRequiredType. API keys
// are exempt (no person to ask); their scope and permissions still apply.
inline constexpr std::string_view kReauthRequiredType = "urn:panorama:problem:reauth_required";
GuardedHandler SensitiveRead(ApiServices& services, Permission needed, ServiceHandler fn);
GuardedHandler SensitiveRead(ApiServices& services, Permission needed, PrincipalHandler fn);
GuardedHandler SensitiveRead(ApiServices& services, Permission needed, AuthedHandler fn);
GuardedHandler SensitiveWrite(ApiServices& services, Permission needed, ServiceHandler fn);
GuardedHandler SensitiveWrite(ApiServices& services, Permission needed, PrincipalHandler fn);

// The customers `who` may see (nullopt: all); pass it to every Store query that reads customer data.
std::optional<storage::RecordScope> ScopeOf(const security::Principal& who);
// Reads a customer only if it is in the caller's scope; an out-of-scope one is the same 404 as a missing one.
Result<storage::CustomerRecord> GetCustomerFor(ApiServices& services, const security::Principal& who, CustomerId id);

// A parsed JSON object body with typed accessors that record violations under their field names.
class JsonBody {
 public:
  // kInvalidArgument naming "body" for malformed JSON or a non-object.
  static Result<JsonBody> Parse(std::string_view body);
  JsonBody(JsonBody&&) noexcept;
  JsonBody& operator=(JsonBody&&) noexcept;
  ~JsonBody();

  bool Has(std::string_view key) const;
  bool IsNull(std::string_view key) const;
  std::optional<std::string> String(std::string_view key, size_t max_bytes = 1024, bool required = false);
  std::optional<int64_t> Int(std::string_view key, int64_t min, int64_t max, bool required = false);
  std::optional<bool> Bool(std::string_view key, bool required = false);
  std::optional<std::vector<std::string>> StringArray(std::string_view key, size_t max_items, size_t max_bytes);
  // A JSON object member as minified text.
  std::optional<std::string> Object(std::string_view key);
  // Array of objects; each element is handed to `fn` as a JsonBody with a field prefix ("items[0].").
  void Objects(std::string_view key, size_t max_items, bool required,
               const std::function<void(JsonBody&, const std::string& prefix)>& fn);
  // Every key must be one of `allowed` (unknown fields are rejected, so typos are not silently ignored).
  void AllowOnly(std::initializer_list<std::string_view> allowed);

  void Reject(std::string field, std::string reason);
  bool ok() const;
  // The collected violations (of this body and its nested ones) as one kInvalidArgument error.
  Error TakeError();

 private:
  JsonBody() = default;
  struct Doc;
  std::shared_ptr<Doc> doc_;  // parser, root and violations, shared by nested bodies
  simdjson::dom::object object_;
  std::string prefix_;
};

// Where the request comes from, for sessions and sign-in throttling (with the known-device cookie's token).
security::ClientInfo ClientOf(const Request& request);

// The console's cookies (SECURITY.md §2.4): `__Host-` names, so the browser only accepts them with Secure,
// Path=/ and no Domain; HttpOnly (scripts cannot read them) and SameSite=Strict (never sent from another site).
inline constexpr std::string_view kSessionCookie = "__Host-pn_session";  // the access token
inline constexpr std::string_view kRefreshCookie = "__Host-pn_refresh";  // the refresh token
inline constexpr std::string_view kDeviceCookie = "__Host-pn_device";    // the known-device token, 90 days
// The console sends this header on every call. A request authenticated by the session cookie must carry it for
// any method other than GET/HEAD/OPTIONS (CSRF defence: another site cannot add a custom header without a CORS
// preflight, which this server never grants); else 403.
inline constexpr std::string_view kConsoleHeader = "x-requested-with";
// The value of cookie `name` in the Cookie header(s); empty when absent.
std::string_view CookieValue(const Request& request, std::string_view name);
// Whether a sign-in answer goes to cookies: the console asked (kConsoleHeader) and the cookie can be Secure —
// the request came over TLS or from loopback (browsers take Secure cookies from http://127.0.0.1/localhost).
bool WantsCookies(const Request& request);
// A Set-Cookie value with the attributes above; max_age 0 deletes the cookie.
std::string SetCookieHeader(std::string_view name, std::string_view value, int64_t max_age_seconds);
// 429 (with Retry-After) when the client IP is over its limit; nullopt to go on.
std::optional<Response> LimitClientIp(ApiServices& services, const Request& request);

// Parses `limit` (1..max, default) and an opaque numeric `cursor` (the last id of the previous page).
struct PageParams {
  int limit = 50;
  int64_t after_id = 0;
};
Result<PageParams> ReadPageParams(const Request& request, int default_limit = 50, int max_limit = 1000);

// Writes the customer as `permissions` may see it (masking per the data-class catalogue, with a "masked"
// list naming the fields masked or hidden).
void WriteCustomer(JsonWriter& w, const storage::CustomerRecord& c, const features::CustomerFeatures* aggregates,
                   const std::string& base_currency, const security::access::PermissionSet& permissions);
void WriteAggregates(JsonWriter& w, const features::CustomerFeatures& f, const std::string& base_currency);
void WriteOrder(JsonWriter& w, const storage::OrderRecord& o);
void WriteInteraction(JsonWriter& w, storage::InteractionRecord i, const security::access::PermissionSet& permissions);
void WriteEvent(JsonWriter& w, storage::EventRecord e, const security::access::PermissionSet& permissions);
void WriteProduct(JsonWriter& w, const storage::ProductRecord& p);
void WriteOptionalTime(JsonWriter& w, const std::optional<Timestamp>& t);

// {"data": [...], "next_cursor": "..."|null}
template <typename T, typename WriteFn>
std::string PageJson(const std::vector<T>& items, bool more, const std::string& next_cursor, WriteFn write) {
  JsonWriter w;
  w.StartObject().Key("data").StartArray();
  for (const auto& item : items) write(w, item);
  w.EndArray().Key("next_cursor");
  if (more) {
    w.String(next_cursor);
  } else {
    w.Null();
  }
  w.EndObject();
  return w.TakeString();
}

Result<CustomerId> PathCustomerId(const Request& request);

}  // namespace panorama::http
