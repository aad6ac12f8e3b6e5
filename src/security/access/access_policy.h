#pragma once
// Resolves what a caller may do (permissions from its role or key scope, its team) and which
// customers it may see, and manages custom roles. The one place that turns "who" into "what is
// allowed"; handlers get it through the route adapters (http/handlers/handler_util.h), so a route
// cannot skip it.
//
// Thread-safe (stateless over the Store). Errors: kInvalidArgument naming the field for bad role
// input, kAlreadyExists for a taken role name, kNotFound for an absent role, kFailedPrecondition
// for a built-in role or a role still held by a user; Store errors pass through.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/time.h"
#include "security/access/permissions.h"
#include "storage/records.h"

namespace panorama::storage {
class Store;
}

namespace panorama::security {
struct Principal;
}

namespace panorama::security::access {

struct RoleInfo {
  std::string name;
  std::string description;
  PermissionSet permissions;
  bool built_in = false;
};

class AccessPolicy {
 public:
  AccessPolicy(storage::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // Fills principal.permissions and principal.team. A user whose role is neither built-in nor a
  // stored custom role gets no permission at all (deny by default).
  Result<void> Resolve(Principal& principal) const;
  // The customers `principal` may see: nullopt means all (customers.read_all), else own and team
  // records.
  static std::optional<storage::RecordScope> ScopeOf(const Principal& principal);

  // Built-in roles first, then custom roles by name.
  Result<std::vector<RoleInfo>> ListRoles() const;
  Result<RoleInfo> GetRole(std::string_view name) const;
  Result<RoleInfo> CreateRole(std::string_view name, std::string_view description,
                              const std::vector<std::string>& permissions);
  Result<RoleInfo> UpdateRole(std::string_view name, std::optional<std::string> description,
                              std::optional<std::vector<std::string>> permissions);
  Result<void> DeleteRole(std::string_view name);
  // Whether `role` names a built-in or stored custom role (for creating users).
  Result<bool> RoleExists(std::string_view role) const;

  // Teams of staff (and of the customers they own). kInvalidArgument naming "name" (empty, over 100 bytes,
  // control characters), kAlreadyExists for a taken name.
  Result<storage::TeamRecord> CreateTeam(std::string_view name);
  Result<storage::TeamRecord> FindTeamByName(std::string_view name) const;  // kNotFound naming it
  // A staff member's role and/or team (`team`: unset leaves it, nullopt inside removes it). Every problem at once
  // as kInvalidArgument naming "role" (unknown) and "team_id" (no such team); kNotFound for the user. Returns the
  // user as stored afterwards.
  Result<storage::UserRecord> SetUserAccess(UserId user, std::optional<std::string> role,
                                            std::optional<std::optional<TeamId>> team);

 private:
  storage::Store& store_;
  const Clock& clock_;
};

// Validates permission names; kInvalidArgument naming "permissions[i]" for an unknown one.
Result<PermissionSet> ParsePermissionList(const std::vector<std::string>& names);

}  // namespace panorama::security::access
