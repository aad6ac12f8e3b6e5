#include "cli/access_commands.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "app/runtime.h"
#include "cli/cli_fail.h"
#include "security/access/access_policy.h"
#include "storage/store.h"

namespace panorama::cli {
namespace {

using security::access::AccessPolicy;
using security::access::RoleInfo;

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ",") + name;
  return out;
}

void PrintRole(const RoleInfo& role) {
  std::printf("%s\t%s\t%s\t%s\n", role.name.c_str(), role.built_in ? "built-in" : "custom",
              Join(role.permissions.Names()).c_str(), role.description.c_str());
}

// "--permission a,b --permission c" → a, b, c.
std::vector<std::string> SplitPermissions(const std::vector<std::string>& given) {
  std::vector<std::string> out;
  for (const auto& item : given) {
    size_t start = 0;
    while (start <= item.size()) {
      size_t comma = item.find(',', start);
      if (comma == std::string::npos) comma = item.size();
      if (comma > start) out.push_back(item.substr(start, comma - start));
      start = comma + 1;
    }
  }
  return out;
}

}  // namespace

struct AccessCommands::Impl {
  CLI::App* role_list = nullptr;
  CLI::App* role_add = nullptr;
  CLI::App* role_set = nullptr;
  CLI::App* role_remove = nullptr;
  CLI::App* team_list = nullptr;
  CLI::App* team_add = nullptr;
  CLI::App* user_access = nullptr;
  std::string name, description, username, role, team;
  std::vector<std::string> permissions;
  bool no_team = false;

  int RoleCommand(AccessPolicy& policy) {
    if (role_list->parsed()) {
      auto roles = policy.ListRoles();
      if (!roles) return Fail(roles.error());
      for (const auto& r : *roles) PrintRole(r);
      return 0;
    }
    if (role_add->parsed()) {
      if (permissions.empty()) return Fail(Error::InvalidField("permission", "at least one is required"));
      auto created = policy.CreateRole(name, description, SplitPermissions(permissions));
      if (!created) return Fail(created.error());
      std::printf("created role ");
      PrintRole(*created);
      return 0;
    }
    if (role_set->parsed()) {
      std::optional<std::string> new_description;
      std::optional<std::vector<std::string>> new_permissions;
      if (role_set->count("--description") > 0) new_description = description;
      if (!permissions.empty()) new_permissions = SplitPermissions(permissions);
      if (!new_description && !new_permissions) {
        return Fail(Error::InvalidField("permission", "--permission or --description is required"));
      }
      auto updated = policy.UpdateRole(name, new_description, new_permissions);
      if (!updated) return Fail(updated.error());
      std::printf("updated role ");
      PrintRole(*updated);
      return 0;
    }
    auto removed = policy.DeleteRole(name);
    if (!removed) return Fail(removed.error());
    std::printf("removed role %s\n", name.c_str());
    return 0;
  }

  int TeamCommand(AccessPolicy& policy, storage::Store& store) {
    if (team_list->parsed()) {
      auto teams = store.ListTeams();
      if (!teams) return Fail(teams.error());
      for (const auto& t : *teams) std::printf("%lld\t%s\n", static_cast<long long>(t.id.value()), t.name.c_str());
      return 0;
    }
    auto created = policy.CreateTeam(name);
    if (!created) return Fail(created.error());
    std::printf("created team %s (id %lld)\n", created->name.c_str(), static_cast<long long>(created->id.value()));
    return 0;
  }

  int UserAccessCommand(AccessPolicy& policy, storage::Store& store) {
    if (no_team && !team.empty()) return Fail(Error::InvalidField("team", "give --team or --no-team, not both"));
    auto user = store.FindUserByName(username);
    if (!user) {
      if (user.error().code() == ErrorCode::kNotFound) return Fail(Error::NotFound("user " + username + " not found"));
      return Fail(user.error());
    }
    std::optional<std::string> new_role;
    if (!role.empty()) new_role = role;
    std::optional<std::optional<TeamId>> new_team;
    if (no_team) new_team.emplace();
    if (!team.empty()) {
      auto found = policy.FindTeamByName(team);
      if (!found) return Fail(found.error().code() == ErrorCode::kNotFound
                                  ? Error::InvalidField("team", "no team named " + team)
                                  : found.error());
      new_team = found->id;
    }
    if (!new_role && !new_team) return Fail(Error::InvalidField("role", "--role, --team or --no-team is required"));
    auto updated = policy.SetUserAccess(user->id, new_role, new_team);
    if (!updated) return Fail(updated.error());
    std::printf("%s: role %s, team %s\n", updated->username.c_str(), updated->role.c_str(),
                updated->team ? updated->team->ToString().c_str() : "none");
    return 0;
  }
};

AccessCommands::AccessCommands(CLI::App& cli, CLI::App& user, const std::function<void(CLI::App*)>& add_data)
    : impl_(std::make_unique<Impl>()) {
  Impl& i = *impl_;
  auto* role = cli.add_subcommand("role", "custom roles built from permissions (built-in roles are fixed)");
  add_data(role);
  role->require_subcommand(1);
  i.role_list = role->add_subcommand("list", "list roles: name, built-in/custom, permissions, description");
  i.role_add = role->add_subcommand("add", "create a custom role");
  i.role_add->add_option("name", i.name)->required();
  i.role_add->add_option("--permission", i.permissions, "permission names (repeat or comma-separate)");
  i.role_add->add_option("--description", i.description);
  i.role_set = role->add_subcommand("set", "replace a custom role's permissions and/or description");
  i.role_set->add_option("name", i.name)->required();
  i.role_set->add_option("--permission", i.permissions, "the new permission set (repeat or comma-separate)");
  i.role_set->add_option("--description", i.description);
  i.role_remove = role->add_subcommand("remove", "delete a custom role no user holds");
  i.role_remove->add_option("name", i.name)->required();

  auto* team = cli.add_subcommand("team", "teams of staff (a sales rep sees own and team records)");
  add_data(team);
  team->require_subcommand(1);
  i.team_list = team->add_subcommand("list", "list teams: id, name");
  i.team_add = team->add_subcommand("add", "create a team");
  i.team_add->add_option("name", i.name)->required();

  i.user_access = user.add_subcommand("access", "set a user's role and/or team");
  i.user_access->add_option("username", i.username)->required();
  i.user_access->add_option("--role", i.role, "a built-in or custom role");
  i.user_access->add_option("--team", i.team, "team name");
  i.user_access->add_flag("--no-team", i.no_team, "remove the user from their team");
}

AccessCommands::~AccessCommands() = default;

bool AccessCommands::parsed() const {
  const Impl& i = *impl_;
  for (CLI::App* app : {i.role_list, i.role_add, i.role_set, i.role_remove, i.team_list, i.team_add, i.user_access}) {
    if (app->parsed()) return true;
  }
  return false;
}

int AccessCommands::Run(const app::RuntimeOptions& options) {
  auto runtime = app::Runtime::Open(options);
  if (!runtime) return Fail(runtime.error());
  storage::Store& store = (*runtime)->store();
  AccessPolicy policy(store, (*runtime)->clock());
  Impl& i = *impl_;
  if (i.team_list->parsed() || i.team_add->parsed()) return i.TeamCommand(policy, store);
  if (i.user_access->parsed()) return i.UserAccessCommand(policy, store);
  return i.RoleCommand(policy);
}

}  // namespace panorama::cli
