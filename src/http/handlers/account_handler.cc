// Staff authentication and credentials: sign-in with MFA, sessions, the current user, users, API keys and the
// per-role MFA policy (admin only). Routes that return secrets (tokens, seeds, recovery codes, key secrets)
// never go through the idempotency store, which keeps response bodies.

#include <charconv>

#include "http/handlers/handler_util.h"
#include "http/handlers/routes.h"
#include "http/router.h"
#include "security/crypto_util.h"
#include "security/ip_allowlist.h"
#include "storage/store.h"

namespace panorama::http {
namespace {

Response RequireUser() { return Response::Problem(Error::PermissionDenied("only a signed-in person may do this")); }

Result<int64_t> PathId(const Request& request) {
  std::string_view text = request.PathParam("id");
  int64_t id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || ptr != text.data() + text.size() || id <= 0) {
    return Error::InvalidField("id", "must be a positive integer");
  }
  return id;
}

void WriteUser(JsonWriter& w, const storage::UserRecord& u) {
  w.StartObject();
  w.Key("id").Int64(u.id.value());
  w.Key("username").String(u.username);
  w.Key("role").String(u.role);
  w.Key("display_name").String(u.display_name);
  w.Key("created_at").String(FormatIso8601(u.created_at));
  w.Key("disabled").Bool(u.disabled);
  // The console's users table shows the team; it is set through PUT /api/v1/users/{id}/access.
  w.Key("team_id");
  if (u.team) {
    w.Int64(u.team->value());
  } else {
    w.Null();
  }
  w.EndObject();
}

void WriteCidrs(JsonWriter& w, const std::vector<std::string>& cidrs) {
  w.Key("allowed_cidrs").StartArray();
  for (const auto& c : cidrs) w.String(c);
  w.EndArray();
}

// With `cookies` the tokens go to Set-Cookie (see SessionCookies) and the body says only when they expire.
void WriteTokens(JsonWriter& w, const security::SessionTokens& t, bool cookies = false) {
  if (cookies) {
    w.Key("session").String("cookie");
  } else {
    w.Key("token").String(t.access_token);
  }
  w.Key("expires_at").String(FormatIso8601(t.access_expires_at));
  if (!cookies) w.Key("refresh_token").String(t.refresh_token);
  w.Key("refresh_expires_at").String(FormatIso8601(t.refresh_expires_at));
  w.Key("session_expires_at").String(FormatIso8601(t.absolute_expires_at));
}

int64_t SecondsFrom(Timestamp now, Timestamp then) {
  return std::chrono::ceil<std::chrono::seconds>(then - now).count();
}

// The console's session as cookies: the access token lives as long as it is valid, the refresh token as long
// as the session may be refreshed.
void SessionCookies(Response& response, const security::SessionTokens& t, Timestamp now) {
  response.headers.emplace_back("Set-Cookie",
                                SetCookieHeader(kSessionCookie, t.access_token, SecondsFrom(now, t.access_expires_at)));
  response.headers.emplace_back(
      "Set-Cookie", SetCookieHeader(kRefreshCookie, t.refresh_token, SecondsFrom(now, t.refresh_expires_at)));
}

void ClearSessionCookies(Response& response) {
  response.headers.emplace_back("Set-Cookie", SetCookieHeader(kSessionCookie, "", 0));
  response.headers.emplace_back("Set-Cookie", SetCookieHeader(kRefreshCookie, "", 0));
}

void WriteLogin(JsonWriter& w, const security::LoginResult& login, bool cookies = false) {
  using Step = security::LoginResult::Step;
  w.Key("status").String(login.step == Step::kSession        ? "ok"
                         : login.step == Step::kMfaRequired ? "mfa_required"
                                                            : "mfa_enrolment_required");
  if (login.session) {
    WriteTokens(w, *login.session, cookies);
    if (!login.device_token.empty()) {
      // A new known device: API clients keep the token and send it as "device_token" at their next sign-in.
      if (!cookies) w.Key("device_token").String(login.device_token);
      w.Key("device_expires_at").String(FormatIso8601(login.device_expires_at));
    }
  } else {
    w.Key("mfa_token").String(login.mfa_token);
    w.Key("mfa_expires_at").String(FormatIso8601(login.mfa_expires_at));
  }
  w.Key("user");
  WriteUser(w, login.user);
}

Response NoStore(Response response) {
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

// Sets the session (and a new known device's) cookies for a console sign-in that ended in a session.
void LoginCookies(Response& response, const security::LoginResult& login, Timestamp now) {
  if (!login.session) return;
  SessionCookies(response, *login.session, now);
  if (!login.device_token.empty()) {
    response.headers.emplace_back("Set-Cookie", SetCookieHeader(kDeviceCookie, login.device_token,
                                                                SecondsFrom(now, login.device_expires_at)));
  }
}

// The answer to a sign-in step: the session (or the next step), never cached by the client. For the console
// (WantsCookies) the secrets go to cookies and stay out of the body.
Response LoginAnswer(ApiServices& s, const Request& request, const Result<security::LoginResult>& login) {
  if (!login) return Response::Problem(login.error());
  bool cookies = WantsCookies(request);
  JsonWriter w;
  w.StartObject();
  WriteLogin(w, *login, cookies);
  w.EndObject();
  Response response = NoStore(Response::Json(200, w.TakeString()));
  if (cookies) LoginCookies(response, *login, s.clock.Now());
  return response;
}

// The client's device token: "device_token" in the body (API clients) or the __Host-pn_device cookie.
security::ClientInfo ClientWithDevice(const Request& request, const std::optional<std::string>& device_token) {
  security::ClientInfo client = ClientOf(request);
  if (device_token) client.device_token = *device_token;
  return client;
}

Response Login(ApiServices& s, Request& request) {
  if (auto limited = LimitClientIp(s, request)) return *limited;
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"username", "password", "device_token"});
  auto username = body->String("username", 64, true);
  auto password = body->String("password", 4096, true);
  auto device = body->String("device_token", 128);
  if (!body->ok()) return Response::Problem(body->TakeError());
  auto login = s.auth.Login(*username, *password, ClientWithDevice(request, device));
  return LoginAnswer(s, request, login);
}

Response VerifyMfa(ApiServices& s, Request& request) {
  if (auto limited = LimitClientIp(s, request)) return *limited;
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"mfa_token", "code", "device_token"});
  auto token = body->String("mfa_token", 200, true);
  auto code = body->String("code", 64, true);
  auto device = body->String("device_token", 128);
  if (!body->ok()) return Response::Problem(body->TakeError());
  auto login = s.auth.VerifyMfa(*token, *code, ClientWithDevice(request, device));
  return LoginAnswer(s, request, login);
}

Response Refresh(ApiServices& s, Request& request) {
  if (auto limited = LimitClientIp(s, request)) return *limited;
  auto body = JsonBody::Parse(request.body.empty() ? "{}" : request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"refresh_token"});
  auto token = body->String("refresh_token", 200);
  if (!body->ok()) return Response::Problem(body->TakeError());
  // The console refreshes by cookie: with the console header only (a cross-site POST cannot send it).
  bool by_cookie = !token && !CookieValue(request, kRefreshCookie).empty();
  if (by_cookie) {
    if (request.Header(kConsoleHeader).empty()) {
      return Response::Problem(Error::PermissionDenied(
          "a request signed in by cookie must carry the X-Requested-With header (cross-site request refused)"));
    }
    token = std::string(CookieValue(request, kRefreshCookie));
  }
  if (!token) return Response::Problem(Error::InvalidField("refresh_token", "is required"));
  auto tokens = s.auth.Refresh(*token, ClientOf(request));
  if (!tokens) {
    Response refused = Response::Problem(tokens.error());
    if (by_cookie) ClearSessionCookies(refused);
    return refused;
  }
  bool cookies = by_cookie && WantsCookies(request);
  JsonWriter w;
  w.StartObject();
  WriteTokens(w, *tokens, cookies);
  w.EndObject();
  Response response = NoStore(Response::Json(200, w.TakeString()));
  if (cookies) SessionCookies(response, *tokens, s.clock.Now());
  return response;
}

Response EnrolmentResponse(const Result<security::MfaEnrolment>& enrolment) {
  if (!enrolment) return Response::Problem(enrolment.error());
  JsonWriter w;
  w.StartObject();
  w.Key("secret").String(enrolment->secret_base32);
  w.Key("otpauth_uri").String(enrolment->otpauth_uri);
  w.Key("qr_code").String(enrolment->qr_svg_data_uri);
  w.EndObject();
  return NoStore(Response::Json(200, w.TakeString()));
}

// Enrolment from the sign-in challenge (body has mfa_token) or from a signed-in session (Bearer).
Response EnrollMfa(ApiServices& s, Request& request) {
  if (auto limited = LimitClientIp(s, request)) return *limited;
  auto body = JsonBody::Parse(request.body.empty() ? "{}" : request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"mfa_token"});
  auto token = body->String("mfa_token", 200);
  if (!body->ok()) return Response::Problem(body->TakeError());
  if (token) return EnrolmentResponse(s.auth.BeginMfaEnrolment(*token));
  return Authed(s, AuthedHandler([&s](Request&, const security::Principal& who) -> Response {
           if (!who.user || !who.session_id) return RequireUser();
           return EnrolmentResponse(s.auth.BeginMfaEnrolment(*who.user));
         })).handler(request);
}

void WriteCodes(JsonWriter& w, const std::vector<std::string>& codes) {
  w.Key("recovery_codes").StartArray();
  for (const auto& c : codes) w.String(c);
  w.EndArray();
}

Response ConfirmMfa(ApiServices& s, Request& request) {
  if (auto limited = LimitClientIp(s, request)) return *limited;
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"mfa_token", "code", "device_token"});
  auto token = body->String("mfa_token", 200);
  auto code = body->String("code", 16, true);
  auto device = body->String("device_token", 128);
  if (!body->ok()) return Response::Problem(body->TakeError());
  if (token) {
    auto enrolled = s.auth.ConfirmMfaEnrolment(*token, *code, ClientWithDevice(request, device));
    if (!enrolled) return Response::Problem(enrolled.error());
    bool cookies = WantsCookies(request);
    JsonWriter w;
    w.StartObject();
    WriteCodes(w, enrolled->recovery_codes);
    WriteLogin(w, enrolled->login, cookies);
    w.EndObject();
    Response response = NoStore(Response::Json(200, w.TakeString()));
    if (cookies) LoginCookies(response, enrolled->login, s.clock.Now());
    return response;
  }
  return Authed(s, AuthedHandler([&](Request&, const security::Principal& who) -> Response {
           if (!who.user || !who.session_id) return RequireUser();
           auto codes = s.auth.ConfirmMfaEnrolment(*who.user, *code);
           if (!codes) return Response::Problem(codes.error());
           JsonWriter w;
           w.StartObject();
           WriteCodes(w, *codes);
           w.EndObject();
           return NoStore(Response::Json(200, w.TakeString()));
         })).handler(request);
}

Response RegenerateRecoveryCodes(ApiServices& s, Request& request, const security::Principal& who) {
  if (!who.user) return RequireUser();
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"code"});
  auto code = body->String("code", 16, true);
  if (!body->ok()) return Response::Problem(body->TakeError());
  auto codes = s.auth.RegenerateRecoveryCodes(*who.user, *code);
  if (!codes) return Response::Problem(codes.error());
  JsonWriter w;
  w.StartObject();
  WriteCodes(w, *codes);
  w.EndObject();
  return NoStore(Response::Json(200, w.TakeString()));
}

// POST {"password", "code"?}: step-up re-authentication of the calling session (sensitive routes need it).
Response StepUp(ApiServices& s, Request& request, const security::Principal& who) {
  if (who.kind != security::Principal::Kind::kUser || !who.session_id) return RequireUser();
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"password", "code"});
  auto password = body->String("password", 4096, true);
  auto code = body->String("code", 64);
  if (!body->ok()) return Response::Problem(body->TakeError());
  auto until = s.auth.StepUp(who, *password, code.value_or(""), ClientOf(request));
  if (!until) return Response::Problem(until.error());
  JsonWriter w;
  w.StartObject().Key("reauth_expires_at").String(FormatIso8601(*until)).EndObject();
  return NoStore(Response::Json(200, w.TakeString()));
}

Response Logout(ApiServices& s, Request&, const security::Principal& who) {
  if (!who.session_id) return RequireUser();
  auto result = s.auth.Logout(*who.session_id);
  if (!result) return Response::Problem(result.error());
  Response response = Response::NoContent();
  ClearSessionCookies(response);
  return response;
}

Response LogoutEverywhere(ApiServices& s, Request&, const security::Principal& who) {
  if (!who.user || !who.session_id) return RequireUser();
  auto result = s.auth.LogoutEverywhere(*who.user);
  if (!result) return Response::Problem(result.error());
  // Every session and every known device of the user are gone; this browser forgets them too.
  Response response = Response::NoContent();
  ClearSessionCookies(response);
  response.headers.emplace_back("Set-Cookie", SetCookieHeader(kDeviceCookie, "", 0));
  return response;
}

// The caller's known devices; "current" marks the one this request's device cookie names.
Response ListDevices(ApiServices& s, Request& request, const security::Principal& who) {
  if (!who.user || !who.session_id) return RequireUser();
  auto devices = s.auth.ListDevices(*who.user);
  if (!devices) return Response::Problem(devices.error());
  std::string_view cookie = CookieValue(request, kDeviceCookie);
  std::string current = cookie.empty() ? std::string() : security::Sha256Hex(cookie);
  return Response::Json(200, PageJson(*devices, false, "", [&](JsonWriter& w, const storage::DeviceRecord& d) {
    w.StartObject();
    w.Key("id").Int64(d.id);
    w.Key("created_at").String(FormatIso8601(d.created_at));
    w.Key("last_used_at").String(FormatIso8601(d.last_used_at));
    w.Key("expires_at").String(FormatIso8601(d.expires_at));
    w.Key("user_agent").String(d.user_agent);
    w.Key("current").Bool(!current.empty() && security::ConstantTimeEquals(current, d.token_sha256));
    w.EndObject();
  }));
}

Response RevokeDevice(ApiServices& s, Request& request, const security::Principal& who) {
  if (!who.user || !who.session_id) return RequireUser();
  auto id = PathId(request);
  if (!id) return Response::Problem(id.error());
  auto revoked = s.auth.RevokeDevice(*who.user, *id);
  if (!revoked) return Response::Problem(revoked.error());
  return Response::NoContent();
}

Response ListSessions(ApiServices& s, Request&, const security::Principal& who) {
  if (!who.user || !who.session_id) return RequireUser();
  auto sessions = s.auth.ListSessions(*who.user);
  if (!sessions) return Response::Problem(sessions.error());
  return Response::Json(200, PageJson(*sessions, false, "", [&](JsonWriter& w, const storage::SessionRecord& x) {
    w.StartObject();
    w.Key("id").Int64(x.id);
    w.Key("created_at").String(FormatIso8601(x.created_at));
    w.Key("last_used_at").String(FormatIso8601(x.last_used_at));
    w.Key("expires_at").String(FormatIso8601(x.absolute_expires_at));
    w.Key("ip").String(x.client_ip);
    w.Key("user_agent").String(x.user_agent);
    w.Key("current").Bool(x.id == *who.session_id);
    w.EndObject();
  }));
}

Response Me(ApiServices& s, Request&, const security::Principal& who) {
  JsonWriter w;
  w.StartObject();
  w.Key("name").String(who.name);
  w.Key("kind").String(who.kind == security::Principal::Kind::kUser ? "user" : "api_key");
  w.Key("role").String(who.role);
  w.Key("scope").String(who.scope);
  if (who.user && who.kind == security::Principal::Kind::kUser) {
    auto mfa = s.auth.HasMfa(*who.user);
    if (!mfa) return Response::Problem(mfa.error());
    w.Key("mfa_enrolled").Bool(*mfa);
  }
  w.EndObject();
  return Response::Json(200, w.TakeString());
}

Response CreateUser(ApiServices& s, Request& request, const security::Principal& who) {
  // The route checked the permission; managing staff and keys is also for people only, never for a key.
  if (who.kind != security::Principal::Kind::kUser) return RequireUser();
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"username", "password", "role", "display_name"});
  auto username = body->String("username", 64, true);
  auto password = body->String("password", 4096, true);
  auto role = body->String("role", 32, true);
  auto display = body->String("display_name", 200);
  if (!body->ok()) return Response::Problem(body->TakeError());
  auto id = s.auth.CreateUser(*username, *password, *role, display.value_or(""));
  if (!id) return Response::Problem(id.error());
  auto user = s.store.GetUser(*id);
  if (!user) return Response::Problem(user.error());
  JsonWriter w;
  WriteUser(w, *user);
  return Response::Json(201, w.TakeString());
}

Response UpdateUser(ApiServices& s, Request& request, const security::Principal& who) {
  // The route checked the permission; managing staff and keys is also for people only, never for a key.
  if (who.kind != security::Principal::Kind::kUser) return RequireUser();
  auto id = PathId(request);
  if (!id) return Response::Problem(id.error());
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"role", "disabled"});
  auto role = body->String("role", 32);
  auto disabled = body->Bool("disabled");
  if (!body->ok()) return Response::Problem(body->TakeError());
  auto user = s.auth.UpdateUser(UserId(*id), role, disabled, who.name);
  if (!user) return Response::Problem(user.error());
  JsonWriter w;
  WriteUser(w, *user);
  return Response::Json(200, w.TakeString());
}

Response KillUserSessions(ApiServices& s, Request& request, const security::Principal& who) {
  // The route checked the permission; managing staff and keys is also for people only, never for a key.
  if (who.kind != security::Principal::Kind::kUser) return RequireUser();
  auto id = PathId(request);
  if (!id) return Response::Problem(id.error());
  auto user = s.store.GetUser(UserId(*id));
  if (!user) return Response::Problem(user.error());
  auto result = s.auth.LogoutEverywhere(UserId(*id));
  if (!result) return Response::Problem(result.error());
  return Response::NoContent();
}

Response ResetUserMfa(ApiServices& s, Request& request, const security::Principal& who) {
  // The route checked the permission; managing staff and keys is also for people only, never for a key.
  if (who.kind != security::Principal::Kind::kUser) return RequireUser();
  auto id = PathId(request);
  if (!id) return Response::Problem(id.error());
  auto result = s.auth.ResetMfa(UserId(*id), who.name);
  if (!result) return Response::Problem(result.error());
  return Response::NoContent();
}

void WriteRoleSetting(JsonWriter& w, const storage::RoleSettingRecord& r) {
  w.StartObject();
  w.Key("role").String(r.role);
  w.Key("mfa_required").Bool(r.mfa_required);
  w.Key("changed_by");
  if (r.changed_by.empty()) {
    w.Null();
  } else {
    w.String(r.changed_by);
  }
  w.Key("changed_at");
  WriteOptionalTime(w, r.changed_by.empty() ? std::nullopt : std::optional<Timestamp>(r.changed_at));
  w.EndObject();
}

Response ListMfaPolicy(ApiServices& s, Request&, const security::Principal& who) {
  // The route checked the permission; managing staff and keys is also for people only, never for a key.
  if (who.kind != security::Principal::Kind::kUser) return RequireUser();
  auto roles = s.auth.ListRoleMfa();
  if (!roles) return Response::Problem(roles.error());
  return Response::Json(200, PageJson(*roles, false, "", WriteRoleSetting));
}

Response SetMfaPolicy(ApiServices& s, Request& request, const security::Principal& who) {
  // The route checked the permission; managing staff and keys is also for people only, never for a key.
  if (who.kind != security::Principal::Kind::kUser) return RequireUser();
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"mfa_required"});
  auto required = body->Bool("mfa_required", true);
  if (!body->ok()) return Response::Problem(body->TakeError());
  std::string role(request.PathParam("role"));
  auto set = s.auth.SetRoleMfaRequired(role, *required, who.name);
  if (!set) return Response::Problem(set.error());
  auto roles = s.auth.ListRoleMfa();
  if (!roles) return Response::Problem(roles.error());
  for (const auto& r : *roles) {
    if (r.role == role) {
      JsonWriter w;
      WriteRoleSetting(w, r);
      return Response::Json(200, w.TakeString());
    }
  }
  return Response::Problem(Error::Internal("role setting vanished"));
}

Response ListUsers(ApiServices& s, Request&, const security::Principal& who) {
  // The route checked the permission; managing staff and keys is also for people only, never for a key.
  if (who.kind != security::Principal::Kind::kUser) return RequireUser();
  auto users = s.store.ListUsers();
  if (!users) return Response::Problem(users.error());
  return Response::Json(200, PageJson(*users, false, "", WriteUser));
}

Response CreateKey(ApiServices& s, Request& request, const security::Principal& who) {
  // The route checked the permission; managing staff and keys is also for people only, never for a key.
  if (who.kind != security::Principal::Kind::kUser) return RequireUser();
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"name", "kind", "scope", "expires_at", "allowed_cidrs"});
  auto name = body->String("name", 100, true);
  auto kind = body->String("kind", 16, true);
  auto scope = body->String("scope", 16, true);
  auto expires_text = body->String("expires_at", 64);
  auto cidrs = body->StringArray("allowed_cidrs", security::kMaxAllowedCidrs, 64);
  std::optional<Timestamp> expires_at;
  if (expires_text) {
    auto parsed = ParseIso8601(*expires_text);
    if (parsed) {
      expires_at = *parsed;
    } else {
      body->Reject("expires_at", "must be an ISO 8601 time");
    }
  }
  if (!body->ok()) return Response::Problem(body->TakeError());
  auto created =
      s.auth.CreateApiKey(*name, *kind, *scope, who.user, expires_at, cidrs.value_or(std::vector<std::string>{}));
  if (!created) return Response::Problem(created.error());
  JsonWriter w;
  w.StartObject().Key("id").Int64(created->id.value()).Key("name").String(*name).Key("kind").String(*kind);
  w.Key("scope").String(*scope).Key("expires_at");
  WriteOptionalTime(w, expires_at);
  WriteCidrs(w, created->allowed_cidrs);
  w.Key("secret").String(created->secret).EndObject();
  return NoStore(Response::Json(201, w.TakeString()));
}

Response ListKeys(ApiServices& s, Request&, const security::Principal& who) {
  // The route checked the permission; managing staff and keys is also for people only, never for a key.
  if (who.kind != security::Principal::Kind::kUser) return RequireUser();
  auto keys = s.store.ListApiKeys();
  if (!keys) return Response::Problem(keys.error());
  return Response::Json(200, PageJson(*keys, false, "", [](JsonWriter& w, const storage::ApiKeyRecord& k) {
    w.StartObject();
    w.Key("id").Int64(k.id.value()).Key("name").String(k.name).Key("kind").String(k.kind);
    w.Key("scope").String(k.scope).Key("prefix").String(k.prefix);
    w.Key("created_at").String(FormatIso8601(k.created_at)).Key("last_used_at");
    WriteOptionalTime(w, k.last_used_at);
    w.Key("expires_at");
    WriteOptionalTime(w, k.expires_at);
    w.Key("revoked").Bool(k.revoked);
    WriteCidrs(w, k.allowed_cidrs);
    w.EndObject();
  }));
}

// PATCH {"allowed_cidrs": [...]}: replaces the key's client-network allowlist ([] lifts it).
Response UpdateKey(ApiServices& s, Request& request, const security::Principal& who) {
  if (who.kind != security::Principal::Kind::kUser) return RequireUser();
  auto id = PathId(request);
  if (!id) return Response::Problem(id.error());
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"allowed_cidrs"});
  auto cidrs = body->StringArray("allowed_cidrs", security::kMaxAllowedCidrs, 64);
  if (body->ok() && !cidrs) body->Reject("allowed_cidrs", "is required");
  if (!body->ok()) return Response::Problem(body->TakeError());
  auto stored = s.auth.SetApiKeyAllowlist(ApiKeyId(*id), *cidrs, "user:" + who.user->ToString());
  if (!stored) return Response::Problem(stored.error());
  JsonWriter w;
  w.StartObject().Key("id").Int64(*id);
  WriteCidrs(w, *stored);
  w.EndObject();
  return Response::Json(200, w.TakeString());
}

Response RevokeKey(ApiServices& s, Request& request, const security::Principal& who) {
  // The route checked the permission; managing staff and keys is also for people only, never for a key.
  if (who.kind != security::Principal::Kind::kUser) return RequireUser();
  auto id = PathId(request);
  if (!id) return Response::Problem(id.error());
  auto revoked = s.store.Write([&](storage::WriteTxn& txn) { return txn.RevokeApiKey(ApiKeyId(*id)); });
  if (!revoked) return Response::Problem(revoked.error());
  return Response::NoContent();
}

}  // namespace

void RegisterAccountRoutes(Router& router, ApiServices& s) {
  router.Add(Method::kPost, "/api/v1/auth/login", Public([&s](Request& r) { return Login(s, r); }));
  router.Add(Method::kPost, "/api/v1/auth/mfa/verify", Public([&s](Request& r) { return VerifyMfa(s, r); }));
  // Enrolment takes the sign-in MFA token of a user who has no second factor yet, or a session.
  router.Add(Method::kPost, "/api/v1/auth/mfa/enroll", Public([&s](Request& r) { return EnrollMfa(s, r); }));
  router.Add(Method::kPost, "/api/v1/auth/mfa/confirm", Public([&s](Request& r) { return ConfirmMfa(s, r); }));
  router.Add(Method::kPost, "/api/v1/auth/mfa/recovery-codes", Authed(s, RegenerateRecoveryCodes));
  router.Add(Method::kPost, "/api/v1/auth/refresh", Public([&s](Request& r) { return Refresh(s, r); }));
  router.Add(Method::kPost, "/api/v1/auth/logout", Authed(s, Logout));
  router.Add(Method::kPost, "/api/v1/auth/logout-all", Authed(s, LogoutEverywhere));
  router.Add(Method::kGet, "/api/v1/auth/sessions", Authed(s, ListSessions));
  router.Add(Method::kGet, "/api/v1/auth/devices", Authed(s, ListDevices));
  router.Add(Method::kDelete, "/api/v1/auth/devices/{id}", Authed(s, RevokeDevice));
  router.Add(Method::kGet, "/api/v1/me", Authed(s, Me));
  router.Add(Method::kPost, "/api/v1/auth/step-up", Authed(s, StepUp));
  // Staff access, MFA policy and key creation need a fresh password check (step-up).
  router.Add(Method::kPost, "/api/v1/users", SensitiveWrite(s, Permission::kUsersManage, CreateUser));
  router.Add(Method::kGet, "/api/v1/users", Read(s, Permission::kUsersManage, ListUsers));
  router.Add(Method::kPatch, "/api/v1/users/{id}", SensitiveWrite(s, Permission::kUsersManage, UpdateUser));
  router.Add(Method::kDelete, "/api/v1/users/{id}/sessions", Write(s, Permission::kUsersManage, KillUserSessions));
  router.Add(Method::kDelete, "/api/v1/users/{id}/mfa", SensitiveWrite(s, Permission::kUsersManage, ResetUserMfa));
  router.Add(Method::kGet, "/api/v1/security/mfa-policy", Read(s, Permission::kSettingsManage, ListMfaPolicy));
  router.Add(Method::kPut, "/api/v1/security/mfa-policy/{role}",
             SensitiveWrite(s, Permission::kSettingsManage, SetMfaPolicy));
  // Read, not Write: a Write honours Idempotency-Key by storing the response, and this one holds the secret.
  router.Add(Method::kPost, "/api/v1/api-keys", SensitiveRead(s, Permission::kKeysManage, CreateKey));
  router.Add(Method::kGet, "/api/v1/api-keys", Read(s, Permission::kKeysManage, ListKeys));
  router.Add(Method::kDelete, "/api/v1/api-keys/{id}", Write(s, Permission::kKeysManage, RevokeKey));
  // Widening where a key works is as sensitive as making one.
  router.Add(Method::kPatch, "/api/v1/api-keys/{id}", SensitiveWrite(s, Permission::kKeysManage, UpdateKey));
}

}  // namespace panorama::http
