#pragma once
// Permissions, the built-in roles as permission sets, and what each API-key scope may do.
//
// Every route declares one permission (or "public" / "authenticated"), so adding a permission here
// and granting it to a role is the whole change a later module makes. std only; thread-safe (pure
// functions).

#include <bitset>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace panorama::security::access {

enum class Permission {
  kCustomersRead,     // see customers (own/team records unless also kCustomersReadAll)
  kCustomersReadAll,  // see every customer, not only own and team records
  kCustomersWrite,    // create and edit customers and their interactions
  kCustomersDelete,   // delete a customer and what it owns
  kCustomersAssign,   // change a customer's owner or team
  kCustomersReveal,   // audited reveal of a masked field
  kPersonalRead,      // personal fields in clear (name, email, phone, address, traits, notes)
  kSensitiveRead,     // personal-sensitive fields in clear (birthday)
  kOrdersRead,        // orders and products
  kOrdersWrite,       // create orders
  kProductsWrite,     // create and edit products
  kEventsIngest,      // Segment /v1 ingestion
  kImport,            // CSV imports
  kExport,            // CSV exports
  kUsersManage,
  kKeysManage,
  kRolesManage,  // custom roles and teams
  kAuditRead,
  kSettingsManage,
  kPrivacyManage,
  kAnalyticsRead,    // RFM, lifecycle, cohorts, funnels, paths, segment definitions and sizes (aggregates)
  kSegmentsManage,   // create, edit and delete segments; change the RFM score map and lifecycle thresholds
  kCount,
};

inline constexpr size_t kPermissionCount = static_cast<size_t>(Permission::kCount);

// "customers.read", "orders.write", …; stable names stored in custom roles and shown by the API.
std::string_view PermissionName(Permission p);
std::optional<Permission> ParsePermission(std::string_view name);
std::vector<Permission> AllPermissions();

class PermissionSet {
 public:
  PermissionSet() = default;
  PermissionSet(std::initializer_list<Permission> permissions);
  static PermissionSet All();

  bool Has(Permission p) const { return bits_.test(static_cast<size_t>(p)); }
  PermissionSet& Add(Permission p);
  bool empty() const { return bits_.none(); }
  std::vector<std::string> Names() const;  // in enum order
  friend bool operator==(const PermissionSet&, const PermissionSet&) = default;

 private:
  std::bitset<kPermissionCount> bits_;
};

// The six built-in roles: admin, sales, marketing, support, analyst, auditor.
inline constexpr std::string_view kBuiltInRoles[] = {"admin",   "sales",   "marketing",
                                                     "support", "analyst", "auditor"};
bool IsBuiltInRole(std::string_view role);
// The permissions of a built-in role; nullopt for any other name.
std::optional<PermissionSet> BuiltInRolePermissions(std::string_view role);
// API keys act with their scope: "ingest", "read" or "read-write"; anything else has no permission.
PermissionSet KeyScopePermissions(std::string_view scope);

}  // namespace panorama::security::access
