#pragma once
// Staff login, bearer tokens (sessions and API keys) and Segment write keys.
//
// Secrets are never stored: sessions and keys are kept as SHA-256 of the token (they are 256-bit random, so a
// fast hash is enough), passwords as argon2id (libsodium crypto_pwhash_str, interactive limits).
// Thread-safe. Errors: kUnauthenticated for any bad credential (one message, so callers cannot tell a wrong
// user from a wrong password), kInvalidArgument naming the field for bad input to the create functions.

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "security/access/permissions.h"
#include "storage/records.h"

namespace panorama::storage {
class Store;
}

namespace panorama::security {

inline constexpr const char* kRoles[] = {"admin", "sales", "marketing", "support", "analyst", "auditor"};

struct Principal {
  enum class Kind { kUser, kApiKey, kWriteKey };
  Kind kind = Kind::kUser;
  std::optional<UserId> user;
  std::optional<ApiKeyId> key;
  std::string name;   // username or key name, for logs and audit
  std::string role;   // for users; keys act with their scope
  std::string scope;  // "read" | "read-write" | "ingest" for keys; "read-write" for users
  bool CanWrite() const { return scope == "read-write"; }
  // Filled by access::AccessPolicy::Resolve (the route adapters call it); empty until then.
  access::PermissionSet permissions;
  std::optional<TeamId> team;
  bool Can(access::Permission p) const { return permissions.Has(p); }
};

struct LoginResult {
  std::string token;
  Timestamp expires_at;
  storage::UserRecord user;
};

struct CreatedKey {
  ApiKeyId id;
  std::string secret;  // shown once
};

struct AuthOptions {
  std::chrono::minutes session_lifetime{12 * 60};
  std::chrono::seconds key_cache_ttl{5};  // a revoked key stops working within this time
};

class AuthService {
 public:
  AuthService(storage::Store& store, const Clock& clock, AuthOptions options = {});

  Result<LoginResult> Login(std::string_view username, std::string_view password);
  Result<void> Logout(std::string_view token);
  // A session token or an API key of kind "api".
  Result<Principal> AuthenticateBearer(std::string_view token);
  // A Segment write key (kind "write", or an "api" key with scope "ingest").
  Result<Principal> AuthenticateWriteKey(std::string_view key);

  // Password policy: 12 to 1,024 characters (counted in Unicode code points), no composition rules.
  Result<UserId> CreateUser(std::string_view username, std::string_view password, std::string_view role,
                            std::string_view display_name = "");
  Result<void> SetPassword(std::string_view username, std::string_view password);
  // kind "api" (scope "read" | "read-write") or "write" (scope "ingest").
  Result<CreatedKey> CreateApiKey(std::string_view name, std::string_view kind, std::string_view scope,
                                  std::optional<UserId> owner = std::nullopt);
  // Registers an operator-chosen secret (PANORAMA_WRITE_KEY) as a write key unless it exists.
  Result<void> EnsureWriteKey(std::string_view name, std::string_view secret);

 private:
  Result<Principal> AuthenticateKey(std::string_view secret);

  storage::Store& store_;
  const Clock& clock_;
  AuthOptions options_;

  struct CachedKey {
    Principal principal;
    Timestamp fetched_at;
    bool revoked;
  };
  std::mutex cache_mu_;
  // guarded by cache_mu_: sha256 → key, and when each key's last-used time was last written
  std::unordered_map<std::string, CachedKey> key_cache_;
  std::unordered_map<int64_t, Timestamp> last_touch_;
};

std::string HashPassword(std::string_view password);
bool VerifyPassword(std::string_view encoded_hash, std::string_view password);
Result<void> CheckPasswordPolicy(std::string_view password);

}  // namespace panorama::security
