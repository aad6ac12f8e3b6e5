#include "security/access/permissions.h"

#include <array>

namespace panorama::security::access {
namespace {

constexpr std::array<std::string_view, kPermissionCount> kNames = {
    "customers.read",   "customers.read_all",
    "customers.write",  "customers.delete",
    "customers.assign", "customers.reveal",
    "personal.read",    "sensitive.read",
    "orders.read",      "orders.write",
    "products.write",   "events.ingest",
    "import",           "export",
    "users.manage",     "keys.manage",
    "roles.manage",     "audit.read",
    "settings.manage",  "privacy.manage",
    "analytics.read",   "segments.manage"};

using P = Permission;

}  // namespace

std::string_view PermissionName(Permission p) { return kNames[static_cast<size_t>(p)]; }

std::optional<Permission> ParsePermission(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name)
      return static_cast<Permission>(i);
  }
  return std::nullopt;
}

std::vector<Permission> AllPermissions() {
  std::vector<Permission> all;
  for (size_t i = 0; i < kPermissionCount; ++i) all.push_back(static_cast<Permission>(i));
  return all;
}

PermissionSet::PermissionSet(std::initializer_list<Permission> permissions) {
  for (Permission p : permissions) Add(p);
}

PermissionSet PermissionSet::All() {
  PermissionSet all;
  all.bits_.set();
  return all;
}

PermissionSet& PermissionSet::Add(Permission p) {
  bits_.set(static_cast<size_t>(p));
  return *this;
}

std::vector<std::string> PermissionSet::Names() const {
  std::vector<std::string> names;
  for (size_t i = 0; i < kPermissionCount; ++i) {
    if (bits_.test(i))
      names.emplace_back(kNames[i]);
  }
  return names;
}

bool IsBuiltInRole(std::string_view role) { return BuiltInRolePermissions(role).has_value(); }

// The matrix is documented in docs/security.md ("Roles, ownership and masking"); keep the two
// together.
std::optional<PermissionSet> BuiltInRolePermissions(std::string_view role) {
  if (role == "admin")
    return PermissionSet::All();
  if (role == "sales") {
    // Own and team records only, in clear: a rep works with the customers they are responsible for.
    return PermissionSet{P::kCustomersRead, P::kCustomersWrite, P::kPersonalRead,
                         P::kSensitiveRead, P::kOrdersRead,     P::kOrdersWrite};
  }
  if (role == "marketing") {
    return PermissionSet{P::kCustomersRead, P::kCustomersReadAll, P::kCustomersWrite,
                         P::kPersonalRead,  P::kOrdersRead,       P::kImport,
                         P::kExport,        P::kAnalyticsRead,    P::kSegmentsManage};
  }
  if (role == "support") {
    // Full contact details to help a caller, but not the birthday (personal-sensitive).
    return PermissionSet{P::kCustomersRead, P::kCustomersReadAll, P::kCustomersWrite,
                         P::kPersonalRead, P::kOrdersRead};
  }
  if (role == "analyst") {
    // Everything masked: analysis needs distributions, not contact details.
    return PermissionSet{P::kCustomersRead, P::kCustomersReadAll, P::kOrdersRead, P::kExport,
                         P::kAnalyticsRead, P::kSegmentsManage};
  }
  if (role == "auditor") {
    return PermissionSet{P::kCustomersRead, P::kCustomersReadAll, P::kOrdersRead, P::kAuditRead};
  }
  return std::nullopt;
}

PermissionSet KeyScopePermissions(std::string_view scope) {
  if (scope == "ingest")
    return PermissionSet{P::kEventsIngest};
  PermissionSet read{P::kCustomersRead, P::kCustomersReadAll, P::kPersonalRead,
                     P::kSensitiveRead, P::kOrdersRead,       P::kExport,
                     P::kAnalyticsRead};
  if (scope == "read")
    return read;
  if (scope == "read-write") {
    return read.Add(P::kCustomersWrite)
        .Add(P::kCustomersDelete)
        .Add(P::kOrdersWrite)
        .Add(P::kProductsWrite)
        .Add(P::kImport)
        .Add(P::kPrivacyManage)  // DSAR tooling integrates through a read-write key
        .Add(P::kSegmentsManage);
  }
  return {};
}

}  // namespace panorama::security::access
