// Staff authentication and credentials: login/logout, the current user, users and API keys (admin only).

#include <charconv>

#include "http/handlers/handler_util.h"
#include "http/handlers/routes.h"
#include "http/router.h"
#include "storage/store.h"

namespace panorama::http {
namespace {

Response RequireAdmin(const security::Principal& who) {
  return Response::Problem(Error::PermissionDenied(who.name + " is not an administrator"));
}

bool IsAdmin(const security::Principal& who) {
  return who.kind == security::Principal::Kind::kUser && who.role == "admin";
}

void WriteUser(JsonWriter& w, const storage::UserRecord& u) {
  w.StartObject();
  w.Key("id").Int64(u.id.value());
  w.Key("username").String(u.username);
  w.Key("role").String(u.role);
  w.Key("display_name").String(u.display_name);
  w.Key("created_at").String(FormatIso8601(u.created_at));
  w.Key("disabled").Bool(u.disabled);
  w.EndObject();
}

Response Login(ApiServices& s, Request& request) {
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"username", "password"});
  auto username = body->String("username", 64, true);
  auto password = body->String("password", 4096, true);
  if (!body->ok()) return Response::Problem(body->TakeError());
  auto login = s.auth.Login(*username, *password);
  if (!login) return Response::Problem(login.error());
  JsonWriter w;
  w.StartObject().Key("token").String(login->token);
  w.Key("expires_at").String(FormatIso8601(login->expires_at));
  w.Key("user");
  WriteUser(w, login->user);
  w.EndObject();
  return Response::Json(200, w.TakeString());
}

Response Logout(ApiServices& s, Request& request, const security::Principal&) {
  std::string_view header = request.Header("authorization");
  auto result = s.auth.Logout(header.substr(std::min<size_t>(header.size(), 7)));
  if (!result) return Response::Problem(result.error());
  return Response::NoContent();
}

Response Me(ApiServices&, Request&, const security::Principal& who) {
  JsonWriter w;
  w.StartObject();
  w.Key("name").String(who.name);
  w.Key("kind").String(who.kind == security::Principal::Kind::kUser ? "user" : "api_key");
  w.Key("role").String(who.role);
  w.Key("scope").String(who.scope);
  w.EndObject();
  return Response::Json(200, w.TakeString());
}

Response CreateUser(ApiServices& s, Request& request, const security::Principal& who) {
  if (!IsAdmin(who)) return RequireAdmin(who);
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

Response ListUsers(ApiServices& s, Request&, const security::Principal& who) {
  if (!IsAdmin(who)) return RequireAdmin(who);
  auto users = s.store.ListUsers();
  if (!users) return Response::Problem(users.error());
  return Response::Json(200, PageJson(*users, false, "", WriteUser));
}

Response CreateKey(ApiServices& s, Request& request, const security::Principal& who) {
  if (!IsAdmin(who)) return RequireAdmin(who);
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"name", "kind", "scope"});
  auto name = body->String("name", 100, true);
  auto kind = body->String("kind", 16, true);
  auto scope = body->String("scope", 16, true);
  if (!body->ok()) return Response::Problem(body->TakeError());
  auto created = s.auth.CreateApiKey(*name, *kind, *scope, who.user);
  if (!created) return Response::Problem(created.error());
  JsonWriter w;
  w.StartObject().Key("id").Int64(created->id.value()).Key("name").String(*name).Key("kind").String(*kind);
  w.Key("scope").String(*scope).Key("secret").String(created->secret).EndObject();
  return Response::Json(201, w.TakeString());
}

Response ListKeys(ApiServices& s, Request&, const security::Principal& who) {
  if (!IsAdmin(who)) return RequireAdmin(who);
  auto keys = s.store.ListApiKeys();
  if (!keys) return Response::Problem(keys.error());
  return Response::Json(200, PageJson(*keys, false, "", [](JsonWriter& w, const storage::ApiKeyRecord& k) {
    w.StartObject();
    w.Key("id").Int64(k.id.value()).Key("name").String(k.name).Key("kind").String(k.kind);
    w.Key("scope").String(k.scope).Key("prefix").String(k.prefix);
    w.Key("created_at").String(FormatIso8601(k.created_at)).Key("last_used_at");
    WriteOptionalTime(w, k.last_used_at);
    w.Key("revoked").Bool(k.revoked);
    w.EndObject();
  }));
}

Response RevokeKey(ApiServices& s, Request& request, const security::Principal& who) {
  if (!IsAdmin(who)) return RequireAdmin(who);
  std::string_view text = request.PathParam("id");
  int64_t id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || ptr != text.data() + text.size() || id <= 0) {
    return Response::Problem(Error::InvalidField("id", "must be a positive integer"));
  }
  auto revoked = s.store.Write([&](storage::WriteTxn& txn) { return txn.RevokeApiKey(ApiKeyId(id)); });
  if (!revoked) return Response::Problem(revoked.error());
  return Response::NoContent();
}

}  // namespace

void RegisterAccountRoutes(Router& router, ApiServices& s) {
  router.Add(Method::kPost, "/api/v1/auth/login", Public([&s](Request& r) { return Login(s, r); }));
  router.Add(Method::kPost, "/api/v1/auth/logout", Authed(s, Logout));
  router.Add(Method::kGet, "/api/v1/me", Authed(s, Me));
  router.Add(Method::kPost, "/api/v1/users", Write(s, Permission::kUsersManage, CreateUser));
  router.Add(Method::kGet, "/api/v1/users", Read(s, Permission::kUsersManage, ListUsers));
  router.Add(Method::kPost, "/api/v1/api-keys", Write(s, Permission::kKeysManage, CreateKey));
  router.Add(Method::kGet, "/api/v1/api-keys", Read(s, Permission::kKeysManage, ListKeys));
  router.Add(Method::kDelete, "/api/v1/api-keys/{id}", Write(s, Permission::kKeysManage, RevokeKey));
}

}  // namespace panorama::http
