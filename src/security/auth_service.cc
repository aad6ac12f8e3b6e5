#include "security/auth_service.h"

#include <sodium.h>

#include <algorithm>

#include "security/crypto_util.h"
#include "storage/store.h"

namespace panorama::security {
namespace {

size_t CodePoints(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

Error BadCredentials() { return Error::Unauthenticated("invalid credentials"); }

// A hash to verify against when the user does not exist, so a missing user costs the same time as a wrong
// password (no user enumeration by timing).
const std::string& DummyHash() {
  static const std::string hash = HashPassword("panorama-dummy-password-for-timing");
  return hash;
}

}  // namespace

std::string HashPassword(std::string_view password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    PANORAMA_CHECK(false && "out of memory hashing a password");
  }
  return out;
}

bool VerifyPassword(std::string_view encoded_hash, std::string_view password) {
  std::string hash(encoded_hash);
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

Result<void> CheckPasswordPolicy(std::string_view password) {
  size_t n = CodePoints(password);
  if (n < 12) return Error::InvalidField("password", "must be at least 12 characters");
  if (n > 1024) return Error::InvalidField("password", "must be at most 1024 characters");
  return Ok();
}

AuthService::AuthService(storage::Store& store, const Clock& clock, AuthOptions options)
    : store_(store), clock_(clock), options_(options) {
  InitCrypto();
}

Result<LoginResult> AuthService::Login(std::string_view username, std::string_view password) {
  auto user = store_.FindUserByName(username);
  if (!user) {
    if (user.error().code() != ErrorCode::kNotFound) return std::move(user.error());
    (void)VerifyPassword(DummyHash(), password);
    return BadCredentials();
  }
  if (!VerifyPassword(user->password_hash, password) || user->disabled) return BadCredentials();
  LoginResult result;
  result.token = "pst_" + RandomToken();
  Timestamp now = clock_.Now();
  result.expires_at = now + options_.session_lifetime;
  result.user = *user;
  storage::SessionRecord session{Sha256Hex(result.token), user->id, now, result.expires_at};
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) { return txn.InsertSession(session); }));
  return result;
}

Result<void> AuthService::Logout(std::string_view token) {
  std::string digest = Sha256Hex(token);
  return store_.Write([&](storage::WriteTxn& txn) { return txn.DeleteSession(digest); });
}

Result<Principal> AuthService::AuthenticateBearer(std::string_view token) {
  if (token.empty()) return Error::Unauthenticated("missing bearer token");
  if (token.starts_with("pst_")) {
    auto session = store_.FindSession(Sha256Hex(token));
    if (!session) {
      if (session.error().code() == ErrorCode::kNotFound) return BadCredentials();
      return std::move(session.error());
    }
    if (session->expires_at <= clock_.Now()) return Error::Unauthenticated("session expired");
    auto user = store_.GetUser(session->user);
    if (!user || user->disabled) return BadCredentials();
    return Principal{Principal::Kind::kUser, user->id, std::nullopt, user->username, user->role, "read-write"};
  }
  ASSIGN_OR_RETURN(Principal key, AuthenticateKey(token));
  if (key.kind != Principal::Kind::kApiKey || key.scope == "ingest") {
    return Error::PermissionDenied("ingestion keys may only send events to /v1");
  }
  return key;
}

Result<Principal> AuthService::AuthenticateWriteKey(std::string_view key) {
  if (key.empty()) return Error::Unauthenticated("missing write key");
  ASSIGN_OR_RETURN(Principal principal, AuthenticateKey(key));
  if (principal.kind == Principal::Kind::kApiKey && principal.scope != "ingest" && principal.scope != "read-write") {
    return Error::PermissionDenied("this key may not send events");
  }
  return principal;
}

Result<Principal> AuthService::AuthenticateKey(std::string_view secret) {
  std::string digest = Sha256Hex(secret);
  Timestamp now = clock_.Now();
  {
    std::lock_guard lock(cache_mu_);
    auto it = key_cache_.find(digest);
    if (it != key_cache_.end() && now - it->second.fetched_at < options_.key_cache_ttl) {
      if (it->second.revoked) return BadCredentials();
      return it->second.principal;
    }
  }
  auto key = store_.FindApiKeyBySecretHash(digest);
  if (!key) {
    if (key.error().code() == ErrorCode::kNotFound) return BadCredentials();
    return std::move(key.error());
  }
  Principal principal{key->kind == "write" ? Principal::Kind::kWriteKey : Principal::Kind::kApiKey,
                      key->owner, key->id, key->name, "", key->scope};
  bool touch = false;
  {
    std::lock_guard lock(cache_mu_);
    key_cache_[digest] = {principal, now, key->revoked};
    auto& last = last_touch_[key->id.value()];
    // Last-used time is written at most once a minute per key, so authentication stays off the write path.
    if (now - last > std::chrono::minutes(1)) {
      last = now;
      touch = true;
    }
  }
  if (key->revoked) return BadCredentials();
  if (touch) (void)store_.TouchApiKey(key->id, now);
  return principal;
}

Result<UserId> AuthService::CreateUser(std::string_view username, std::string_view password, std::string_view role,
                                       std::string_view display_name) {
  Error invalid = Error::InvalidArgument("invalid user");
  if (username.empty() || username.size() > 64) invalid.AddViolation("username", "must be 1 to 64 characters");
  for (char c : username) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '@')) {
      invalid.AddViolation("username", "may contain only letters, digits and . _ - @");
      break;
    }
  }
  if (std::find(std::begin(kRoles), std::end(kRoles), role) == std::end(kRoles)) {
    invalid.AddViolation("role", "must be one of admin, sales, marketing, support, analyst, auditor");
  }
  if (auto policy = CheckPasswordPolicy(password); !policy) {
    invalid.AddViolation("password", policy.error().violations().front().reason);
  }
  if (!invalid.violations().empty()) return invalid;
  storage::UserRecord user;
  user.username = std::string(username);
  user.password_hash = HashPassword(password);
  user.role = std::string(role);
  user.display_name = std::string(display_name);
  user.created_at = clock_.Now();
  UserId id;
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(id, txn.InsertUser(user));
    return Ok();
  }));
  return id;
}

Result<void> AuthService::SetPassword(std::string_view username, std::string_view password) {
  RETURN_IF_ERROR(CheckPasswordPolicy(password));
  ASSIGN_OR_RETURN(storage::UserRecord user, store_.FindUserByName(username));
  user.password_hash = HashPassword(password);
  // A new password ends every session of the user: whoever knew the old one is signed out.
  return store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    RETURN_IF_ERROR(txn.UpdateUser(user));
    return txn.DeleteUserSessions(user.id);
  });
}

Result<CreatedKey> AuthService::CreateApiKey(std::string_view name, std::string_view kind, std::string_view scope,
                                             std::optional<UserId> owner) {
  Error invalid = Error::InvalidArgument("invalid api key");
  if (name.empty() || name.size() > 100) invalid.AddViolation("name", "must be 1 to 100 characters");
  if (kind == "api") {
    if (scope != "read" && scope != "read-write" && scope != "ingest") {
      invalid.AddViolation("scope", "must be read, read-write or ingest");
    }
  } else if (kind == "write") {
    if (scope != "ingest") invalid.AddViolation("scope", "write keys have scope ingest");
  } else {
    invalid.AddViolation("kind", "must be api or write");
  }
  if (!invalid.violations().empty()) return invalid;
  CreatedKey created;
  created.secret = std::string(kind == "write" ? "pwk_" : "pak_") + RandomToken();
  storage::ApiKeyRecord key;
  key.name = std::string(name);
  key.kind = std::string(kind);
  key.scope = std::string(scope);
  key.prefix = created.secret.substr(0, 10);
  key.secret_sha256 = Sha256Hex(created.secret);
  key.owner = owner;
  key.created_at = clock_.Now();
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(created.id, txn.InsertApiKey(key));
    return Ok();
  }));
  return created;
}

Result<void> AuthService::EnsureWriteKey(std::string_view name, std::string_view secret) {
  if (secret.size() < 16) return Error::InvalidField("write_key", "must be at least 16 characters");
  auto existing = store_.FindApiKeyBySecretHash(Sha256Hex(secret));
  if (existing) return Ok();
  if (existing.error().code() != ErrorCode::kNotFound) return std::move(existing.error());
  storage::ApiKeyRecord key;
  key.name = std::string(name);
  key.kind = "write";
  key.scope = "ingest";
  key.prefix = std::string(secret.substr(0, 6));
  key.secret_sha256 = Sha256Hex(secret);
  key.created_at = clock_.Now();
  return store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    RETURN_IF_ERROR(txn.InsertApiKey(key));
    return Ok();
  });
}

}  // namespace panorama::security
