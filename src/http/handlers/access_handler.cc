// Roles and permissions, teams, a staff member's role and team, the caller's own access, and the
// audited reveal of masked customer fields.

#include <algorithm>
#include <charconv>

#include "http/handlers/handler_util.h"
#include "http/handlers/routes.h"
#include "http/router.h"
#include "security/access/masking.h"
#include "storage/store.h"

namespace panorama::http {
namespace {

using security::access::AccessPolicy;
using security::access::RoleInfo;

void WriteNames(JsonWriter& w, const std::vector<std::string>& names) {
  w.StartArray();
  for (const auto& name : names) w.String(name);
  w.EndArray();
}

void WriteRole(JsonWriter& w, const RoleInfo& role) {
  w.StartObject();
  w.Key("name").String(role.name);
  w.Key("description").String(role.description);
  w.Key("built_in").Bool(role.built_in);
  w.Key("permissions");
  WriteNames(w, role.permissions.Names());
  w.EndObject();
}

Response RoleResponse(int status, const Result<RoleInfo>& role) {
  if (!role)
    return Response::Problem(role.error());
  JsonWriter w;
  WriteRole(w, *role);
  return Response::Json(status, w.TakeString());
}

// What the caller may do and see: the console hides pages and shows masked values from this.
Response MyAccess(ApiServices&, Request&, const security::Principal& who) {
  JsonWriter w;
  w.StartObject();
  w.Key("name").String(who.name);
  w.Key("role").String(who.role);
  w.Key("team_id");
  if (who.team) {
    w.Int64(who.team->value());
  } else {
    w.Null();
  }
  w.Key("permissions");
  WriteNames(w, who.permissions.Names());
  w.Key("record_scope").String(AccessPolicy::ScopeOf(who) ? "own_and_team" : "all");
  std::vector<std::string> masked;
  for (const auto& rule : security::access::CustomerFieldCatalogue()) {
    if (!security::access::CanRead(who.permissions, rule.data_class))
      masked.emplace_back(rule.field);
  }
  w.Key("masked_fields");
  WriteNames(w, masked);
  w.EndObject();
  return Response::Json(200, w.TakeString());
}

Response ListPermissions(ApiServices&, Request&) {
  JsonWriter w;
  w.StartObject().Key("permissions").StartArray();
  for (auto p : security::access::AllPermissions()) w.String(security::access::PermissionName(p));
  w.EndArray().Key("customer_fields").StartArray();
  for (const auto& rule : security::access::CustomerFieldCatalogue()) {
    w.StartObject().Key("field").String(rule.field);
    w.Key("data_class").String(security::access::DataClassName(rule.data_class)).EndObject();
  }
  w.EndArray().EndObject();
  return Response::Json(200, w.TakeString());
}

Response ListRoles(ApiServices& s, Request&) {
  auto roles = s.access->ListRoles();
  if (!roles)
    return Response::Problem(roles.error());
  JsonWriter w;
  w.StartObject().Key("data").StartArray();
  for (const auto& role : *roles) WriteRole(w, role);
  w.EndArray().EndObject();
  return Response::Json(200, w.TakeString());
}

Response CreateRole(ApiServices& s, Request& request) {
  auto body = JsonBody::Parse(request.body);
  if (!body)
    return Response::Problem(body.error());
  body->AllowOnly({"name", "description", "permissions"});
  auto name = body->String("name", 32, true);
  auto description = body->String("description", 200).value_or("");
  auto permissions = body->StringArray("permissions", 64, 64);
  if (!body->Has("permissions"))
    body->Reject("permissions", "is required");
  if (!body->ok())
    return Response::Problem(body->TakeError());
  Response response = RoleResponse(201, s.access->CreateRole(*name, description, *permissions));
  if (response.status == 201)
    response.headers.emplace_back("Location", "/api/v1/roles/" + *name);
  return response;
}

Response UpdateRole(ApiServices& s, Request& request) {
  auto body = JsonBody::Parse(request.body);
  if (!body)
    return Response::Problem(body.error());
  body->AllowOnly({"description", "permissions"});
  auto description = body->String("description", 200);
  auto permissions = body->StringArray("permissions", 64, 64);
  if (!body->ok())
    return Response::Problem(body->TakeError());
  return RoleResponse(200,
                      s.access->UpdateRole(request.PathParam("name"), description, permissions));
}

Response DeleteRole(ApiServices& s, Request& request) {
  auto deleted = s.access->DeleteRole(request.PathParam("name"));
  if (!deleted)
    return Response::Problem(deleted.error());
  return Response::NoContent();
}

void WriteTeam(JsonWriter& w, const storage::TeamRecord& team) {
  w.StartObject().Key("id").Int64(team.id.value()).Key("name").String(team.name);
  w.Key("created_at").String(FormatIso8601(team.created_at)).EndObject();
}

Response ListTeams(ApiServices& s, Request&) {
  auto teams = s.store.ListTeams();
  if (!teams)
    return Response::Problem(teams.error());
  JsonWriter w;
  w.StartObject().Key("data").StartArray();
  for (const auto& t : *teams) WriteTeam(w, t);
  w.EndArray().EndObject();
  return Response::Json(200, w.TakeString());
}

Response CreateTeam(ApiServices& s, Request& request) {
  auto body = JsonBody::Parse(request.body);
  if (!body)
    return Response::Problem(body.error());
  body->AllowOnly({"name"});
  auto name = body->String("name", 100, true);
  if (!body->ok())
    return Response::Problem(body->TakeError());
  auto team = s.access->CreateTeam(*name);
  if (!team)
    return Response::Problem(team.error());
  JsonWriter w;
  WriteTeam(w, *team);
  return Response::Json(201, w.TakeString());
}

// PUT /api/v1/users/{id}/access {"role": "...", "team_id": n|null}: a staff member's role and team.
Response SetUserAccess(ApiServices& s, Request& request) {
  int64_t raw_id = 0;
  std::string_view text = request.PathParam("id");
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), raw_id);
  if (ec != std::errc() || ptr != text.data() + text.size() || raw_id <= 0) {
    return Response::Problem(Error::InvalidField("id", "must be a positive integer"));
  }
  auto body = JsonBody::Parse(request.body);
  if (!body)
    return Response::Problem(body.error());
  body->AllowOnly({"role", "team_id"});
  auto role = body->String("role", 32);
  std::optional<std::optional<TeamId>> team;
  if (body->Has("team_id")) {
    team.emplace();
    if (!body->IsNull("team_id")) {
      if (auto value = body->Int("team_id", 1, int64_t{1} << 53))
        *team = TeamId(*value);
    }
  }
  if (!body->ok())
    return Response::Problem(body->TakeError());
  auto user = s.access->SetUserAccess(UserId(raw_id), role, team);
  if (!user)
    return Response::Problem(user.error());
  JsonWriter w;
  w.StartObject().Key("id").Int64(user->id.value()).Key("role").String(user->role).Key("team_id");
  if (user->team) {
    w.Int64(user->team->value());
  } else {
    w.Null();
  }
  w.EndObject();
  return Response::Json(200, w.TakeString());
}

// POST /api/v1/customers/{id}/reveal {"fields": ["phone", …]}: the clear values, recorded (who,
// which customer, which fields; never the values) before the answer leaves.
Response Reveal(ApiServices& s, Request& request, const security::Principal& who) {
  auto id = PathCustomerId(request);
  if (!id)
    return Response::Problem(id.error());
  auto body = JsonBody::Parse(request.body);
  if (!body)
    return Response::Problem(body.error());
  body->AllowOnly({"fields"});
  auto fields = body->StringArray("fields", 16, 32);
  if (!body->Has("fields"))
    body->Reject("fields", "is required");
  static constexpr std::string_view kRevealable[] = {"name",   "email",    "phone",
                                                     "gender", "birthday", "city"};
  if (fields) {
    if (fields->empty())
      body->Reject("fields", "must name at least one field");
    for (size_t i = 0; i < fields->size(); ++i) {
      if (std::find(std::begin(kRevealable), std::end(kRevealable), (*fields)[i]) ==
          std::end(kRevealable)) {
        body->Reject("fields[" + std::to_string(i) + "]", "is not a revealable field");
      }
    }
  }
  if (!body->ok())
    return Response::Problem(body->TakeError());
  auto customer = GetCustomerFor(s, who, *id);
  if (!customer)
    return Response::Problem(customer.error());
  std::string actor = who.user  ? "user:" + who.user->ToString()
                      : who.key ? "key:" + who.key->ToString()
                                : who.name;
  auto recorded = s.store.Write([&](storage::WriteTxn& txn) {
    return txn.InsertReveal({s.clock.Now(), actor, *id, *fields});
  });
  if (!recorded)
    return Response::Problem(recorded.error());
  const storage::CustomerRecord& c = *customer;
  JsonWriter w;
  w.StartObject().Key("id").Int64(c.id.value()).Key("fields").StartObject();
  for (const auto& field : *fields) {
    const std::string& value = field == "name"       ? c.name
                               : field == "email"    ? c.email
                               : field == "phone"    ? c.phone
                               : field == "gender"   ? c.gender
                               : field == "birthday" ? c.birthday
                                                     : c.city;
    w.Key(field).String(value);
  }
  w.EndObject().EndObject();
  return Response::Json(200, w.TakeString());
}

}  // namespace

void RegisterAccessRoutes(Router& router, ApiServices& s) {
  router.Add(Method::kGet, "/api/v1/me/access", Authed(s, MyAccess));
  router.Add(Method::kGet, "/api/v1/permissions",
             Read(s, Permission::kRolesManage, ListPermissions));
  router.Add(Method::kGet, "/api/v1/roles", Read(s, Permission::kRolesManage, ListRoles));
  // Changes of who may do what need a fresh password check (step-up).
  router.Add(Method::kPost, "/api/v1/roles", SensitiveWrite(s, Permission::kRolesManage, CreateRole));
  router.Add(Method::kPatch, "/api/v1/roles/{name}",
             SensitiveWrite(s, Permission::kRolesManage, UpdateRole));
  router.Add(Method::kDelete, "/api/v1/roles/{name}",
             SensitiveWrite(s, Permission::kRolesManage, DeleteRole));
  router.Add(Method::kGet, "/api/v1/teams", Read(s, Permission::kUsersManage, ListTeams));
  router.Add(Method::kPost, "/api/v1/teams", Write(s, Permission::kUsersManage, CreateTeam));
  router.Add(Method::kPut, "/api/v1/users/{id}/access",
             SensitiveWrite(s, Permission::kUsersManage, SetUserAccess));
  // Read, not Write: a Write would keep the clear answer in the idempotency store.
  router.Add(Method::kPost, "/api/v1/customers/{id}/reveal",
             Read(s, Permission::kCustomersReveal, Reveal));
}

}  // namespace panorama::http
