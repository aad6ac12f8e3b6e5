#include "security/access/access_policy.h"

#include <algorithm>

#include "security/auth_service.h"
#include "storage/store.h"

namespace panorama::security::access {
namespace {

Result<void> CheckRoleName(std::string_view name) {
  bool ok = name.size() >= 2 && name.size() <= 32 && name.front() >= 'a' && name.front() <= 'z';
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_');
  }
  if (!ok)
    return Error::InvalidField("name",
                               "must be 2 to 32 of a-z, 0-9, '-', '_', starting with a letter");
  return Ok();
}

RoleInfo FromRecord(const storage::RoleRecord& record) {
  RoleInfo info{record.name, record.description, {}, false};
  // Names were validated when stored; one dropped later from the enum simply grants nothing.
  for (const auto& name : record.permissions) {
    if (auto p = ParsePermission(name))
      info.permissions.Add(*p);
  }
  return info;
}

}  // namespace

Result<PermissionSet> ParsePermissionList(const std::vector<std::string>& names) {
  PermissionSet set;
  for (size_t i = 0; i < names.size(); ++i) {
    auto p = ParsePermission(names[i]);
    if (!p)
      return Error::InvalidField("permissions[" + std::to_string(i) + "]",
                                 "is not a known permission");
    set.Add(*p);
  }
  return set;
}

Result<void> AccessPolicy::Resolve(Principal& principal) const {
  switch (principal.kind) {
    case Principal::Kind::kWriteKey:
      principal.permissions = KeyScopePermissions("ingest");
      return Ok();
    case Principal::Kind::kApiKey:
      principal.permissions = KeyScopePermissions(principal.scope);
      return Ok();
    case Principal::Kind::kUser:
      break;
  }
  principal.permissions = {};
  if (auto built_in = BuiltInRolePermissions(principal.role)) {
    principal.permissions = *built_in;
  } else {
    ASSIGN_OR_RETURN(auto custom, store_.FindRole(principal.role));
    if (custom)
      principal.permissions = FromRecord(*custom).permissions;
  }
  if (principal.user) {
    ASSIGN_OR_RETURN(storage::UserRecord user, store_.GetUser(*principal.user));
    principal.team = user.team;
  }
  return Ok();
}

std::optional<storage::RecordScope> AccessPolicy::ScopeOf(const Principal& principal) {
  if (principal.permissions.Has(Permission::kCustomersReadAll))
    return std::nullopt;
  // A caller without a user (a key lacking read_all) owns nothing: id 0 matches no row.
  return storage::RecordScope{principal.user.value_or(UserId()), principal.team};
}

Result<std::vector<RoleInfo>> AccessPolicy::ListRoles() const {
  std::vector<RoleInfo> roles;
  for (std::string_view name : kBuiltInRoles) {
    roles.push_back({std::string(name), "built-in", *BuiltInRolePermissions(name), true});
  }
  ASSIGN_OR_RETURN(auto custom, store_.ListRoles());
  for (const auto& record : custom) roles.push_back(FromRecord(record));
  return roles;
}

Result<RoleInfo> AccessPolicy::GetRole(std::string_view name) const {
  if (auto built_in = BuiltInRolePermissions(name))
    return RoleInfo{std::string(name), "built-in", *built_in, true};
  ASSIGN_OR_RETURN(auto custom, store_.FindRole(name));
  if (!custom)
    return Error::NotFound("role not found");
  return FromRecord(*custom);
}

Result<bool> AccessPolicy::RoleExists(std::string_view role) const {
  if (IsBuiltInRole(role))
    return true;
  ASSIGN_OR_RETURN(auto custom, store_.FindRole(role));
  return custom.has_value();
}

Result<RoleInfo> AccessPolicy::CreateRole(std::string_view name, std::string_view description,
                                          const std::vector<std::string>& permissions) {
  RETURN_IF_ERROR(CheckRoleName(name));
  if (IsBuiltInRole(name))
    return Error::AlreadyExists("role " + std::string(name) + " is built in");
  ASSIGN_OR_RETURN(PermissionSet set, ParsePermissionList(permissions));
  storage::RoleRecord record{std::string(name), std::string(description), set.Names(), clock_.Now(),
                             clock_.Now()};
  ASSIGN_OR_RETURN(auto existing, store_.FindRole(name));
  if (existing)
    return Error::AlreadyExists("role " + std::string(name) + " already exists");
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) { return txn.PutRole(record); }));
  return FromRecord(record);
}

Result<RoleInfo> AccessPolicy::UpdateRole(std::string_view name,
                                          std::optional<std::string> description,
                                          std::optional<std::vector<std::string>> permissions) {
  if (IsBuiltInRole(name))
    return Error::FailedPrecondition("built-in roles cannot be changed");
  ASSIGN_OR_RETURN(auto existing, store_.FindRole(name));
  if (!existing)
    return Error::NotFound("role not found");
  storage::RoleRecord record = *existing;
  if (description)
    record.description = *description;
  if (permissions) {
    ASSIGN_OR_RETURN(PermissionSet set, ParsePermissionList(*permissions));
    record.permissions = set.Names();
  }
  record.updated_at = clock_.Now();
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) { return txn.PutRole(record); }));
  return FromRecord(record);
}

Result<void> AccessPolicy::DeleteRole(std::string_view name) {
  if (IsBuiltInRole(name))
    return Error::FailedPrecondition("built-in roles cannot be deleted");
  ASSIGN_OR_RETURN(auto users, store_.ListUsers());
  for (const auto& user : users) {
    if (user.role == name)
      return Error::FailedPrecondition("role is still held by user " + user.id.ToString());
  }
  return store_.Write([&](storage::WriteTxn& txn) { return txn.DeleteRole(name); });
}

Result<storage::TeamRecord> AccessPolicy::CreateTeam(std::string_view name) {
  if (name.empty())
    return Error::InvalidField("name", "must not be empty");
  if (name.size() > 100)
    return Error::InvalidField("name", "must be at most 100 bytes");
  if (std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    return Error::InvalidField("name", "must not contain control characters");
  storage::TeamRecord team{TeamId(), std::string(name), clock_.Now()};
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(team.id, txn.InsertTeam(team));
    return Ok();
  }));
  return team;
}

Result<storage::TeamRecord> AccessPolicy::FindTeamByName(std::string_view name) const {
  ASSIGN_OR_RETURN(auto teams, store_.ListTeams());
  for (auto& team : teams) {
    if (team.name == name)
      return std::move(team);
  }
  return Error::NotFound("team " + std::string(name) + " not found");
}

Result<storage::UserRecord> AccessPolicy::SetUserAccess(UserId id, std::optional<std::string> role,
                                                        std::optional<std::optional<TeamId>> team) {
  Error invalid = Error::InvalidArgument("invalid access");
  if (!role && !team)
    invalid.AddViolation("role", "role or team_id is required");
  if (role) {
    ASSIGN_OR_RETURN(bool exists, RoleExists(*role));
    if (!exists)
      invalid.AddViolation("role", "is not a known role");
  }
  if (team && *team) {
    ASSIGN_OR_RETURN(auto teams, store_.ListTeams());
    if (std::none_of(teams.begin(), teams.end(), [&](const auto& t) { return t.id == **team; }))
      invalid.AddViolation("team_id", "no such team");
  }
  if (!invalid.violations().empty())
    return invalid;
  ASSIGN_OR_RETURN(storage::UserRecord user, store_.GetUser(id));
  auto written = store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    if (role) {
      user.role = *role;
      RETURN_IF_ERROR(txn.UpdateUser(user));
    }
    if (team)
      return txn.SetUserTeam(id, *team);
    return Ok();
  });
  if (!written)
    return std::move(written.error());
  if (team)
    user.team = *team;
  return user;
}

}  // namespace panorama::security::access
