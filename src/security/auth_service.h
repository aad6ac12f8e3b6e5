#pragma once
// Staff sign-in (password, then TOTP when the role requires it), sessions with rotating refresh tokens, API and
// Segment write keys, per-role MFA settings (SECURITY.md §2.4).
//
// Secrets are never stored: session, refresh and key tokens are kept as SHA-256 (they are 256-bit random, so a
// fast hash is enough); passwords and recovery codes as argon2id; TOTP seeds sealed by a SecretSealer.
// Sessions: a 15-minute access token and a refresh token that rotates on every use (idle 30 min, absolute
// 12 h); presenting a spent refresh token ends the whole session (token theft). Disabling a user or changing
// the role takes effect on the next request (every request reads the user).
// Thread-safe. Errors: kUnauthenticated for any bad credential (one message, so callers cannot tell a wrong
// user from a wrong password), kResourceExhausted with retry-after while sign-in is throttled, kUnavailable
// when too many password hashes are queued, kInvalidArgument naming the field for bad input.

#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "security/login_throttle.h"
#include "security/password_pepper.h"
#include "security/access/permissions.h"
#include "storage/records.h"

namespace panorama::storage {
class Store;
}

namespace panorama::security {

class SecretSealer;

inline constexpr const char* kRoles[] = {"admin", "sales", "marketing", "support", "analyst", "auditor"};

struct Principal {
  enum class Kind { kUser, kApiKey, kWriteKey };
  Kind kind = Kind::kUser;
  std::optional<UserId> user;
  std::optional<ApiKeyId> key;
  std::string name;   // username or key name, for logs and audit
  std::string role;   // for users; keys act with their scope
  std::string scope;  // "read" | "read-write" | "ingest" for keys; "read-write" for users
  std::optional<int64_t> session_id;  // for users: the session the token belongs to
  Timestamp reauth_at{};  // for users: the session's last password (and TOTP) check (sign-in or step-up)
  std::vector<std::string> allowed_cidrs;  // for keys: client networks it may be used from; empty: any
  bool CanWrite() const { return scope == "read-write"; }
  // Filled by access::AccessPolicy::Resolve (the route adapters call it); empty until then.
  access::PermissionSet permissions;
  std::optional<TeamId> team;
  bool Can(access::Permission p) const { return permissions.Has(p); }
};

// Where a sign-in or refresh comes from; shown in the session list, used for throttling.
struct ClientInfo {
  std::string ip;
  std::string user_agent;
  // A known-device token ("pdv_…", from the __Host-pn_device cookie or the request body); empty: none.
  std::string device_token;
};

struct SessionTokens {
  int64_t session_id = 0;
  std::string access_token;  // "pst_…", Bearer
  Timestamp access_expires_at;
  std::string refresh_token;  // "prt_…", single use
  Timestamp refresh_expires_at;
  Timestamp absolute_expires_at;
};

struct LoginResult {
  enum class Step {
    kSession,        // signed in: `session` is set
    kMfaRequired,    // give a TOTP or recovery code with `mfa_token`
    kMfaEnrolment,   // the role requires MFA and the user has none: enrol with `mfa_token` first
  };
  Step step = Step::kSession;
  std::optional<SessionTokens> session;
  std::string mfa_token;  // "pmc_…", short-lived, 5 wrong codes end it (and count towards the account's limit)
  Timestamp mfa_expires_at;
  storage::UserRecord user;
  // With a session: a new known-device token ("pdv_…", shown once) when the client presented none that is
  // valid for this user; empty when its device was already known (its last-used time is renewed instead).
  std::string device_token;
  Timestamp device_expires_at;
};

struct MfaEnrolment {
  std::string secret_base32;  // for typing into an app by hand
  std::string otpauth_uri;
  std::string qr_svg_data_uri;
};

struct EnrolledLogin {
  std::vector<std::string> recovery_codes;  // shown once
  LoginResult login;
};

struct CreatedKey {
  ApiKeyId id;
  std::string secret;  // shown once
  std::vector<std::string> allowed_cidrs;  // as stored (normalised)
};

struct AuthOptions {
  std::chrono::seconds access_lifetime{15 * 60};
  std::chrono::seconds refresh_idle{30 * 60};
  std::chrono::seconds session_absolute{12 * 60 * 60};
  std::chrono::seconds mfa_challenge_lifetime{5 * 60};
  int mfa_max_failures = 5;  // per challenge; the per-account limit is in `throttle` (mfa_*)
  std::chrono::seconds key_cache_ttl{5};  // a revoked key stops working within this time
  // Sensitive operations need a password (and TOTP) check this recent: the sign-in itself or a step-up.
  std::chrono::seconds step_up_window{5 * 60};
  int hash_concurrency = 2;  // argon2id evaluations at once (64 MiB each)
  int hash_queue = 32;       // waiting beyond this: kUnavailable (503)
  LoginThrottleOptions throttle;
  std::chrono::seconds device_lifetime{90 * 24 * 60 * 60};  // a known device is forgotten after this
  int max_devices_per_user = 20;  // the oldest devices beyond this are forgotten (API clients sign in often)
  std::string issuer = "Panorama";  // shown in authenticator apps
};

// A security-relevant change for the audit ledger: action ("mfa_policy_changed", "mfa_reset",
// "refresh_token_reuse", …), who did it, and what (ids and settings only, never secrets).
struct SecurityEvent {
  std::string action;
  std::string actor;
  std::string detail;
  Timestamp at;
};
using SecurityEventSink = std::function<void(const SecurityEvent&)>;

class AuthService {
 public:
  // `sealer` (may be null: MFA enrolment then fails with kFailedPrecondition) and `pepper` (may be null: passwords
  // are hashed without one, and peppered hashes never verify) must outlive the service.
  AuthService(storage::Store& store, const Clock& clock, AuthOptions options = {},
              const SecretSealer* sealer = nullptr, const PasswordPepper* pepper = nullptr);

  // Where security events go (the audit ledger); set before serving. Default: dropped.
  void SetSecurityEventSink(SecurityEventSink sink);

  // Password step. Throttled per account, per (account, IP) and per IP (login_throttle.h); the counters are stored
  // (migration 14) and read back at the first sign-in after a start, so a restart does not reset them.
  Result<LoginResult> Login(std::string_view username, std::string_view password, const ClientInfo& client = {});
  // Second step with a TOTP code (6 digits) or a recovery code. kUnauthenticated for a wrong code; after
  // `mfa_max_failures` the challenge ends and the user must sign in again. Wrong codes also count per account
  // across challenges, step-ups and recovery-code renewals (login_throttle.h, stored like the sign-in counters):
  // past the limit kResourceExhausted with retry-after, before the code is evaluated; audited ("mfa_throttled").
  Result<LoginResult> VerifyMfa(std::string_view mfa_token, std::string_view code, const ClientInfo& client = {});
  // Rotates the refresh token: new access and refresh tokens, the old refresh token spent.
  Result<SessionTokens> Refresh(std::string_view refresh_token, const ClientInfo& client = {});
  // Step-up re-authentication of a signed-in session: the user's password, and a TOTP or recovery code when a
  // second factor is enrolled, mark the session fresh for `step_up_window`; returns when that ends. Throttled
  // like sign-in. kFailedPrecondition for an API key (keys have no person and are exempt), kInvalidArgument
  // naming "password" or "code" when missing, kPermissionDenied for a wrong password or code (the bearer
  // token itself is fine, so not 401), kResourceExhausted while throttled (sign-in counters, or the account's
  // second-factor limit, which a wrong code here feeds like one at sign-in). Audited ("step_up", "step_up_failed").
  Result<Timestamp> StepUp(const Principal& who, std::string_view password, std::string_view code,
                           const ClientInfo& client = {});
  // Whether `who` may perform a sensitive operation now: API keys always (their scope still applies); a user
  // when the session's last password check is within `step_up_window`.
  bool IsStepUpFresh(const Principal& who) const;
  std::chrono::seconds step_up_window() const { return options_.step_up_window; }
  // For `serve --step-up-window-seconds` (development and browser tests); set before serving.
  void SetStepUpWindow(std::chrono::seconds window) { options_.step_up_window = window; }
  Result<void> Logout(int64_t session_id);
  Result<void> LogoutEverywhere(UserId user);  // also what an admin uses to kill a user's sessions
  Result<std::vector<storage::SessionRecord>> ListSessions(UserId user);
  // Known devices of a user (not expired), oldest first; revoking one is kNotFound unless it is the user's.
  // LogoutEverywhere forgets every device of the user as well.
  Result<std::vector<storage::DeviceRecord>> ListDevices(UserId user);
  Result<void> RevokeDevice(UserId user, int64_t device_id);

  // Housekeeping (run hourly by `panorama serve`): deletes sessions whose refresh token or absolute lifetime
  // ran out, known devices, verification codes and sign-in throttle counters past expiry, refresh tokens spent more than two absolute
  // session lifetimes ago (reuse detection only matters while a session can live), and Idempotency-Key
  // answers older than storage::kIdempotencyKeyLifetime. Idempotent; audited when it deleted something.
  Result<storage::HousekeepingReport> PurgeExpired();

  // A session access token or an API key of kind "api".
  Result<Principal> AuthenticateBearer(std::string_view token);
  // A Segment write key (kind "write", or an "api" key with scope "ingest").
  Result<Principal> AuthenticateWriteKey(std::string_view key);

  // MFA enrolment from a signed-in session (user id) or from the enrolment challenge of a sign-in.
  // kFailedPrecondition when MFA is already confirmed (an admin resets it first).
  Result<MfaEnrolment> BeginMfaEnrolment(UserId user);
  Result<MfaEnrolment> BeginMfaEnrolment(std::string_view mfa_token);
  // Checks a code from the new seed; returns the recovery codes (shown once).
  Result<std::vector<std::string>> ConfirmMfaEnrolment(UserId user, std::string_view code);
  Result<EnrolledLogin> ConfirmMfaEnrolment(std::string_view mfa_token, std::string_view code,
                                            const ClientInfo& client = {});
  // New set of 10 recovery codes after a valid TOTP code; the old set stops working. A wrong code counts
  // towards the account's second-factor limit (kResourceExhausted past it).
  Result<std::vector<std::string>> RegenerateRecoveryCodes(UserId user, std::string_view totp_code);
  // Admin: removes the user's second factor and sessions; the user enrols again at next sign-in. Also clears
  // the account's wrong-code counters (the secret they guarded is gone): the way back for a locked-out owner.
  Result<void> ResetMfa(UserId user, std::string_view actor);
  // Reseals every TOTP seed still sealed under the retired file key ("v1:") with the current sealer (the
  // keystore's system data key). Idempotent; returns how many were resealed. Called at every start.
  Result<int> ResealLegacyMfaSeeds();
  Result<bool> HasMfa(UserId user);

  // Per-role MFA requirement (default: required). Relaxing is recorded (actor, time) and reported.
  Result<void> SetRoleMfaRequired(std::string_view role, bool required, std::string_view actor);
  Result<std::vector<storage::RoleSettingRecord>> ListRoleMfa();  // every role, defaults filled in
  Result<std::vector<std::string>> RelaxedRoles();

  // Password policy: 12 to 1,024 characters (Unicode code points), not a common password, not the username
  // or the product name; no composition rules.
  Result<UserId> CreateUser(std::string_view username, std::string_view password, std::string_view role,
                            std::string_view display_name = "");
  Result<void> SetPassword(std::string_view username, std::string_view password);
  // Admin changes; disabling ends the user's sessions. kNotFound for an unknown user.
  Result<storage::UserRecord> UpdateUser(UserId user, std::optional<std::string> role, std::optional<bool> disabled,
                                         std::string_view actor);
  // kind "api" (scope "read" | "read-write" | "ingest") or "write" (scope "ingest"); optional expiry; optional
  // client-network allowlist (CIDRs, validated: kInvalidArgument naming "allowed_cidrs[i]").
  Result<CreatedKey> CreateApiKey(std::string_view name, std::string_view kind, std::string_view scope,
                                  std::optional<UserId> owner = std::nullopt,
                                  std::optional<Timestamp> expires_at = std::nullopt,
                                  const std::vector<std::string>& allowed_cidrs = {});
  // Replaces a key's allowlist (empty: any address); effective at once on this server. Returns the stored
  // (normalised) list. kInvalidArgument naming "allowed_cidrs[i]", kNotFound for an unknown key. Audited.
  Result<std::vector<std::string>> SetApiKeyAllowlist(ApiKeyId id, const std::vector<std::string>& allowed_cidrs,
                                                      std::string_view actor);
  // Registers an operator-chosen secret (PANORAMA_WRITE_KEY) as a write key unless it exists.
  Result<void> EnsureWriteKey(std::string_view name, std::string_view secret);

  // Number of password hashes evaluated against stored or dummy hashes at sign-in (test S5).
  uint64_t PasswordEvaluationsForTest() const { return password_evaluations_.load(); }

 private:
  // Whether `role` is built in or a stored custom role.
  Result<bool> KnownRole(std::string_view role);
  // The stored form of a new password: peppered when the service has a pepper.
  std::string HashForStorage(std::string_view password) const;
  struct Challenge {
    UserId user;
    Timestamp expires_at;
    int failures = 0;
    bool enrolment = false;
  };

  Result<Principal> AuthenticateKey(std::string_view secret);
  Result<SessionTokens> StartSession(const storage::UserRecord& user, const ClientInfo& client);
  // The device `token` names when it is a known, unexpired device of `user`; nullopt otherwise.
  std::optional<storage::DeviceRecord> KnownDevice(UserId user, std::string_view token);
  // The throttle key of the client's device for sign-in as `username`: the device id, or empty.
  std::string ThrottleDevice(std::string_view username, const ClientInfo& client);
  // Renews a known device or registers a new one (filling the result's device token).
  Result<void> RememberDevice(LoginResult& result, const ClientInfo& client);
  Result<LoginResult> SessionResult(const storage::UserRecord& user, const ClientInfo& client);
  Result<bool> RoleRequiresMfa(std::string_view role);
  Result<Challenge> FindChallenge(std::string_view mfa_token, bool enrolment);
  // Counts a wrong code; the error to return (ends the challenge at the limit).
  Error ChallengeFailed(std::string_view mfa_token);
  // TOTP (advances last_step) or an unused recovery code (marks it used). false for a wrong code.
  Result<bool> CheckSecondFactor(UserId user, std::string_view code, bool allow_recovery);
  Result<std::vector<std::string>> NewRecoveryCodes(UserId user);
  Result<bool> VerifyGated(std::string_view encoded_hash, std::string_view password);
  // Sign-in throttle persistence: writes what a failure or success changed; reads the stored counters once,
  // before the first check (a failed read fails that sign-in and is retried by the next).
  Result<void> SaveThrottle(const LoginThrottle::Changes& changes);
  Result<void> LoadThrottle();
  // Feed the throttle; a counter that could not be stored is reported as a security event.
  void CountFailure(std::string_view account, const ClientInfo& client, std::string_view device = {});
  void CountSuccess(std::string_view account, const ClientInfo& client, std::string_view device = {});
  // Second-factor counters per account. Callers hold MfaLock(user) from CheckMfa to the count, so concurrent
  // guesses at one account are evaluated one at a time and each sees the counts before it.
  std::mutex& MfaLock(UserId user);
  Result<void> CheckMfa(UserId user);
  // `where`: "sign-in", "step-up", … for the security event when the failure starts a refusal.
  void CountMfaFailure(UserId user, std::string_view where);
  void CountMfaSuccess(UserId user);
  void Emit(std::string action, std::string_view actor, std::string detail);

  storage::Store& store_;
  const Clock& clock_;
  AuthOptions options_;
  const SecretSealer* sealer_;
  const PasswordPepper* pepper_;
  LoginThrottle throttle_;
  std::mutex throttle_load_mu_;
  std::atomic<bool> throttle_loaded_{false};
  SecurityEventSink sink_;
  std::atomic<uint64_t> password_evaluations_{0};
  std::array<std::mutex, 16> mfa_locks_;  // by user id; see MfaLock

  std::mutex gate_mu_;
  std::condition_variable gate_cv_;
  // guarded by gate_mu_: argon2id evaluations running and waiting
  int hashes_running_ = 0;
  int hashes_waiting_ = 0;

  std::mutex challenge_mu_;
  // Pending MFA challenges stay in memory on purpose: a restart voids them and the user gives the password again
  // (through the stored throttle counters), as after 5 wrong codes, so a restart gains an attacker no code
  // guesses, and no challenge token (a half sign-in) is ever at rest.
  std::unordered_map<std::string, Challenge> challenges_;  // guarded by challenge_mu_; sha256 → challenge

  struct CachedKey {
    Principal principal;
    Timestamp fetched_at;
    bool revoked;
    std::optional<Timestamp> expires_at;
  };
  std::mutex cache_mu_;
  // guarded by cache_mu_: sha256 → key, and when each key's last-used time was last written
  std::unordered_map<std::string, CachedKey> key_cache_;
  std::unordered_map<int64_t, Timestamp> last_touch_;
};

// A short, log-safe summary of a User-Agent header for the device list: "Chrome on Linux", "curl", "unknown".
std::string DeviceSummary(std::string_view user_agent);

// argon2id without a pepper (AuthService hashes through its PasswordPepper when it has one).
std::string HashPassword(std::string_view password);
bool VerifyPassword(std::string_view encoded_hash, std::string_view password);
// `username` is a context word the password must not be built on (as "panorama" is).
Result<void> CheckPasswordPolicy(std::string_view password, std::string_view username = "");

}  // namespace panorama::security
