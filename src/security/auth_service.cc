#include "security/auth_service.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>

#include "security/crypto_util.h"
#include "security/ip_allowlist.h"
#include "security/qr_code.h"
#include "security/secret_sealer.h"
#include "security/totp.h"
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

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Common passwords of at least 12 characters (shorter ones fail the length rule already), from the public
// breach lists (SecLists 10k-most-common, the CSDN/Tianya leaks for Chinese users), compared case-insensitively
// and after dropping separators; plus bases that people pad with digits ("password" + "1234").
constexpr const char* kCommonPasswords[] = {
    "123456789012", "1234567890123", "12345678901234", "123456123456", "111111111111", "000000000000",
    "123123123123", "password1234", "password12345", "password123456", "passwordpassword", "qwertyuiopas",
    "qwerty123456", "qwertyuiop123", "1q2w3e4r5t6y", "1qaz2wsx3edc", "zaq12wsxcde3", "qazwsxedcrfv",
    "asdfghjkl123", "abcdefghijkl", "abc123abc123", "a1b2c3d4e5f6", "iloveyou1234", "welcome12345",
    "changeme1234", "letmein12345", "administrator", "admin1234567", "passw0rd1234", "p@ssw0rd1234",
    "trustno1trustno1", "monkey123456", "football1234", "baseball1234", "dragon123456", "sunshine1234",
    "princess1234", "superman1234", "woaini1314520", "woaini520520", "5201314520", "aa123456789",
    "qq123456789", "1314520520", "147258369147", "987654321098", "zxcvbnm12345", "zxcvbnmasdfg",
    "computer1234", "internet1234", "correcthorsebatterystaple",
};
constexpr const char* kWeakBases[] = {"password", "passw0rd", "p@ssw0rd", "qwerty", "letmein", "welcome",
                                      "admin", "iloveyou", "abc", "woaini", "changeme", "panorama"};

std::string Letters(std::string_view s) {
  std::string out;
  for (char c : Lower(s)) {
    if (std::isalnum(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80) out.push_back(c);
  }
  return out;
}

std::string TrimDigitsAndSymbols(std::string_view s) {
  std::string out = Lower(s);
  auto keep = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80; };
  while (!out.empty() && !keep(out.back())) out.pop_back();
  size_t start = 0;
  while (start < out.size() && !keep(out[start])) ++start;
  return out.substr(start);
}

constexpr int kRecoveryCodes = 10;

// Recovery codes carry 80 random bits, so the slow hash is defence in depth, not their strength; lighter
// argon2id parameters (8 MiB) keep checking ten of them affordable (ASVS 6.5.2 asks for an approved hash).
std::string HashRecoveryCode(std::string_view code) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, code.data(), code.size(), 2, 8u << 20, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    PANORAMA_CHECK(false && "out of memory hashing a recovery code");
  }
  return out;
}

std::string NormaliseRecoveryCode(std::string_view code) {
  std::string out;
  for (char c : code) {
    if (c == '-' || c == ' ') continue;
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

std::string SeedContext(UserId user) { return "mfa-seed:user:" + user.ToString(); }

// The second-factor throttle's account: the user id, which no rename changes.
std::string MfaAccount(UserId user) { return "user:" + user.ToString(); }

constexpr char kUnknownRole[] =
    "must be a built-in role (admin, sales, marketing, support, analyst, auditor) or an existing custom role";

Error ChallengeGone() { return Error::Unauthenticated("the sign-in has expired or ended; sign in again"); }

}  // namespace

std::string DeviceSummary(std::string_view user_agent) {
  auto has = [&](std::string_view s) { return user_agent.find(s) != std::string_view::npos; };
  // Order matters: Edge and Opera also say Chrome, Chrome also says Safari.
  std::string browser = has("Edg/")                        ? "Edge"
                        : has("OPR/")                      ? "Opera"
                        : has("Firefox/")                  ? "Firefox"
                        : has("Chrome/") || has("Chromium/") ? "Chrome"
                        : has("Safari/")                   ? "Safari"
                        : user_agent.starts_with("curl/")  ? "curl"
                        : has("node") || has("undici")     ? "Node.js"
                        : user_agent.starts_with("python") ? "Python"
                                                           : "";
  std::string os = has("Android")                               ? "Android"
                   : has("iPhone") || has("iPad")               ? "iOS"
                   : has("Windows")                             ? "Windows"
                   : has("Mac OS X") || has("Macintosh")        ? "macOS"
                   : has("CrOS")                                ? "ChromeOS"
                   : has("Linux")                               ? "Linux"
                                                                : "";
  if (browser.empty()) return os.empty() ? "unknown" : os;
  return os.empty() ? browser : browser + " on " + os;
}

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

Result<void> CheckPasswordPolicy(std::string_view password, std::string_view username) {
  size_t n = CodePoints(password);
  if (n < 12) return Error::InvalidField("password", "must be at least 12 characters");
  if (n > 1024) return Error::InvalidField("password", "must be at most 1024 characters");
  std::string letters = Letters(password);
  for (const char* common : kCommonPasswords) {
    if (letters == Letters(common)) return Error::InvalidField("password", "is a commonly used password");
  }
  std::string core = Letters(TrimDigitsAndSymbols(password));
  for (const char* base : kWeakBases) {
    if (core == base) return Error::InvalidField("password", "is a common word padded with digits or symbols");
  }
  if (std::all_of(letters.begin(), letters.end(), [&](char c) { return c == letters.front(); })) {
    return Error::InvalidField("password", "repeats one character");
  }
  // Context words: a password that is mostly the username or the product name is guessed first.
  auto built_on = [&](const std::string& word) {
    return word.size() >= 3 && letters.find(word) != std::string::npos && word.size() * 2 >= letters.size();
  };
  if (built_on(Letters(username))) return Error::InvalidField("password", "must not be built on the username");
  if (built_on("panorama")) return Error::InvalidField("password", "must not be built on the product name");
  return Ok();
}

AuthService::AuthService(storage::Store& store, const Clock& clock, AuthOptions options, const SecretSealer* sealer,
                         const PasswordPepper* pepper)
    : store_(store),
      clock_(clock),
      options_(options),
      sealer_(sealer),
      pepper_(pepper),
      throttle_(clock, options.throttle, [this](const LoginThrottle::Changes& c) { return SaveThrottle(c); }) {
  InitCrypto();
}

Result<void> AuthService::SaveThrottle(const LoginThrottle::Changes& changes) {
  return store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    for (const auto& row : changes.put) RETURN_IF_ERROR(txn.PutThrottle(row));
    for (const auto& [kind, key] : changes.erase) RETURN_IF_ERROR(txn.DeleteThrottle(kind, key));
    return Ok();
  });
}

Result<void> AuthService::LoadThrottle() {
  if (throttle_loaded_.load(std::memory_order_acquire)) return Ok();
  std::lock_guard lock(throttle_load_mu_);
  if (throttle_loaded_.load(std::memory_order_relaxed)) return Ok();
  // A failed read fails the sign-in (and is tried again at the next one) rather than starting with no counters.
  ASSIGN_OR_RETURN(auto rows, store_.ListThrottle(clock_.Now()));
  throttle_.Restore(rows);
  throttle_loaded_.store(true, std::memory_order_release);
  return Ok();
}

void AuthService::CountFailure(std::string_view account, const ClientInfo& client, std::string_view device) {
  // The counter applies in memory either way; only a restart before the next stored change would forget it.
  if (auto saved = throttle_.RecordFailure(account, client.ip, device); !saved) {
    Emit("throttle_not_saved", "system", saved.error().message());
  }
}

void AuthService::CountSuccess(std::string_view account, const ClientInfo& client, std::string_view device) {
  if (auto saved = throttle_.RecordSuccess(account, client.ip, device); !saved) {
    Emit("throttle_not_saved", "system", saved.error().message());
  }
}

std::mutex& AuthService::MfaLock(UserId user) {
  return mfa_locks_[static_cast<uint64_t>(user.value()) % mfa_locks_.size()];
}

Result<void> AuthService::CheckMfa(UserId user) {
  RETURN_IF_ERROR(LoadThrottle());
  return throttle_.CheckMfa(MfaAccount(user));
}

void AuthService::CountMfaFailure(UserId user, std::string_view where) {
  Timestamp now = clock_.Now();
  auto until = throttle_.RecordMfaFailure(MfaAccount(user));
  if (!until) {
    Emit("throttle_not_saved", "system", until.error().message());
    // Still counted in memory: report a refusal that started all the same.
    auto refused = throttle_.CheckMfa(MfaAccount(user));
    if (refused) return;
    until = now + std::chrono::seconds(refused.error().retry_after_seconds().value_or(1));
  }
  if (*until <= now) return;
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(*until - now).count();
  Emit("mfa_throttled", "user:" + user.ToString(),
       "user " + user.ToString() + " second factor refused for " + std::to_string(seconds) + " s after a wrong code (" +
           std::string(where) + ")");
}

void AuthService::CountMfaSuccess(UserId user) {
  if (auto saved = throttle_.RecordMfaSuccess(MfaAccount(user)); !saved) {
    Emit("throttle_not_saved", "system", saved.error().message());
  }
}

void AuthService::SetSecurityEventSink(SecurityEventSink sink) { sink_ = std::move(sink); }

void AuthService::Emit(std::string action, std::string_view actor, std::string detail) {
  if (sink_) sink_(SecurityEvent{std::move(action), std::string(actor), std::move(detail), clock_.Now()});
}

std::string AuthService::HashForStorage(std::string_view password) const {
  return pepper_ != nullptr ? pepper_->Hash(password) : HashPassword(password);
}

Result<bool> AuthService::VerifyGated(std::string_view encoded_hash, std::string_view password) {
  {
    std::unique_lock lock(gate_mu_);
    if (hashes_running_ >= options_.hash_concurrency) {
      if (hashes_waiting_ >= options_.hash_queue) {
        Error busy = Error::Unavailable("too many sign-ins at once; try again shortly");
        busy.WithRetryAfter(1);
        return busy;
      }
      ++hashes_waiting_;
      gate_cv_.wait(lock, [&] { return hashes_running_ < options_.hash_concurrency; });
      --hashes_waiting_;
    }
    ++hashes_running_;
  }
  ++password_evaluations_;
  bool ok = pepper_ != nullptr ? pepper_->Verify(encoded_hash, password)
                               : !IsPeppered(encoded_hash) && VerifyPassword(encoded_hash, password);
  {
    std::lock_guard lock(gate_mu_);
    --hashes_running_;
  }
  gate_cv_.notify_one();
  return ok;
}

std::optional<storage::DeviceRecord> AuthService::KnownDevice(UserId user, std::string_view token) {
  if (!token.starts_with("pdv_") || token.size() > 128) return std::nullopt;
  auto device = store_.FindDeviceByToken(Sha256Hex(token));
  // A store error counts as an unknown device: the stricter throttling applies.
  if (!device || device->user != user || device->expires_at <= clock_.Now()) return std::nullopt;
  return std::move(*device);
}

std::string AuthService::ThrottleDevice(std::string_view username, const ClientInfo& client) {
  if (client.device_token.empty()) return {};
  auto user = store_.FindUserByName(username);
  if (!user) return {};
  auto device = KnownDevice(user->id, client.device_token);
  return device ? std::to_string(device->id) : std::string();
}

Result<void> AuthService::RememberDevice(LoginResult& result, const ClientInfo& client) {
  Timestamp now = clock_.Now();
  if (auto known = KnownDevice(result.user.id, client.device_token)) {
    (void)store_.TouchDevice(known->id, now);  // best effort, like an API key's last-used time
    return Ok();
  }
  storage::DeviceRecord device;
  device.user = result.user.id;
  std::string token = "pdv_" + RandomToken();
  device.token_sha256 = Sha256Hex(token);
  device.created_at = now;
  device.last_used_at = now;
  device.expires_at = now + options_.device_lifetime;
  device.user_agent = DeviceSummary(client.user_agent);
  ASSIGN_OR_RETURN(auto existing, store_.ListUserDevices(result.user.id));
  auto written = store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    // Expired devices and the oldest beyond the cap go, so clients that never keep their token cannot grow
    // the table without bound.
    size_t keep = static_cast<size_t>(std::max(0, options_.max_devices_per_user - 1));
    size_t live = 0;
    for (auto it = existing.rbegin(); it != existing.rend(); ++it) {
      if (it->expires_at > now && live < keep) {
        ++live;
        continue;
      }
      RETURN_IF_ERROR(txn.DeleteDevice(result.user.id, it->id));
    }
    auto id = txn.InsertDevice(device);
    if (!id) return std::move(id.error());
    return Ok();
  });
  if (!written) return written;
  result.device_token = std::move(token);
  result.device_expires_at = device.expires_at;
  return Ok();
}

Result<storage::HousekeepingReport> AuthService::PurgeExpired() {
  const Timestamp now = clock_.Now();
  const storage::HousekeepingRule rule{.now = now,
                                       .idempotency_cutoff = now - storage::kIdempotencyKeyLifetime,
                                       .spent_refresh_cutoff = now - 2 * options_.session_absolute};
  storage::HousekeepingReport report;
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(report, txn.PurgeExpired(rule));
    return Ok();
  }));
  throttle_.Prune();  // the stored counters went above; these are their copies in memory
  return report;
}

Result<std::vector<storage::DeviceRecord>> AuthService::ListDevices(UserId user) {
  ASSIGN_OR_RETURN(auto devices, store_.ListUserDevices(user));
  Timestamp now = clock_.Now();
  std::erase_if(devices, [&](const auto& d) { return d.expires_at <= now; });
  return devices;
}

Result<void> AuthService::RevokeDevice(UserId user, int64_t device_id) {
  return store_.Write([&](storage::WriteTxn& txn) { return txn.DeleteDevice(user, device_id); });
}

Result<LoginResult> AuthService::Login(std::string_view username, std::string_view password,
                                       const ClientInfo& client) {
  // A device token of this account moves the attempt to its own (account, device) counters (login_throttle.h).
  std::string device = ThrottleDevice(username, client);
  RETURN_IF_ERROR(LoadThrottle());
  RETURN_IF_ERROR(throttle_.Check(username, client.ip, device));
  auto user = store_.FindUserByName(username);
  if (!user) {
    if (user.error().code() != ErrorCode::kNotFound) return std::move(user.error());
    ASSIGN_OR_RETURN(bool ignored, VerifyGated(DummyHash(), password));
    (void)ignored;
    CountFailure(username, client, device);
    return BadCredentials();
  }
  ASSIGN_OR_RETURN(bool ok, VerifyGated(user->password_hash, password));
  if (!ok || user->disabled) {
    CountFailure(username, client, device);
    return BadCredentials();
  }
  CountSuccess(username, client, device);
  std::string hash(IsPeppered(user->password_hash)
                       ? std::string_view(user->password_hash).substr(kPepperedHashPrefix.size())
                       : std::string_view(user->password_hash));
  if (crypto_pwhash_str_needs_rehash(hash.c_str(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                     crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0 ||
      (pepper_ != nullptr && !IsPeppered(user->password_hash))) {
    // Parameters changed since this hash was made, or it predates the pepper: upgrade it now that we know the
    // password.
    user->password_hash = HashForStorage(password);
    RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) { return txn.UpdateUser(*user); }));
  }
  ASSIGN_OR_RETURN(bool mfa_required, RoleRequiresMfa(user->role));
  if (!mfa_required) return SessionResult(*user, client);
  ASSIGN_OR_RETURN(auto mfa, store_.GetMfa(user->id));
  LoginResult result;
  result.step = mfa && mfa->confirmed ? LoginResult::Step::kMfaRequired : LoginResult::Step::kMfaEnrolment;
  result.mfa_token = "pmc_" + RandomToken();
  result.mfa_expires_at = clock_.Now() + options_.mfa_challenge_lifetime;
  result.user = *user;
  Timestamp now = clock_.Now();
  std::lock_guard lock(challenge_mu_);
  std::erase_if(challenges_, [&](const auto& entry) { return entry.second.expires_at <= now; });
  challenges_[Sha256Hex(result.mfa_token)] =
      Challenge{user->id, result.mfa_expires_at, 0, result.step == LoginResult::Step::kMfaEnrolment};
  return result;
}

Result<LoginResult> AuthService::SessionResult(const storage::UserRecord& user, const ClientInfo& client) {
  LoginResult result;
  result.step = LoginResult::Step::kSession;
  result.user = user;
  ASSIGN_OR_RETURN(result.session, StartSession(user, client));
  RETURN_IF_ERROR(RememberDevice(result, client));
  return result;
}

Result<SessionTokens> AuthService::StartSession(const storage::UserRecord& user, const ClientInfo& client) {
  Timestamp now = clock_.Now();
  SessionTokens tokens;
  tokens.access_token = "pst_" + RandomToken();
  tokens.refresh_token = "prt_" + RandomToken();
  tokens.absolute_expires_at = now + options_.session_absolute;
  tokens.access_expires_at = std::min(now + options_.access_lifetime, tokens.absolute_expires_at);
  tokens.refresh_expires_at = std::min(now + options_.refresh_idle, tokens.absolute_expires_at);
  storage::SessionRecord session;
  session.user = user.id;
  session.access_sha256 = Sha256Hex(tokens.access_token);
  session.refresh_sha256 = Sha256Hex(tokens.refresh_token);
  session.created_at = now;
  session.access_expires_at = tokens.access_expires_at;
  session.refresh_expires_at = tokens.refresh_expires_at;
  session.absolute_expires_at = tokens.absolute_expires_at;
  session.last_used_at = now;
  session.client_ip = client.ip.substr(0, 64);
  session.user_agent = client.user_agent.substr(0, 256);
  session.reauth_at = now;  // the sign-in that starts a session is a fresh password (and TOTP) check
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(tokens.session_id, txn.InsertSession(session));
    return Ok();
  }));
  return tokens;
}

Result<bool> AuthService::RoleRequiresMfa(std::string_view role) {
  ASSIGN_OR_RETURN(auto settings, store_.ListRoleSettings());
  for (const auto& s : settings) {
    if (s.role == role) return s.mfa_required;
  }
  return true;
}

Result<AuthService::Challenge> AuthService::FindChallenge(std::string_view mfa_token, bool enrolment) {
  std::lock_guard lock(challenge_mu_);
  auto it = challenges_.find(Sha256Hex(mfa_token));
  if (it == challenges_.end()) return ChallengeGone();
  if (it->second.expires_at <= clock_.Now()) {
    challenges_.erase(it);
    return ChallengeGone();
  }
  if (it->second.enrolment != enrolment) {
    return Error::FailedPrecondition(enrolment ? "this account already has a second factor; verify a code"
                                               : "enrol a second factor first");
  }
  return it->second;
}

Error AuthService::ChallengeFailed(std::string_view mfa_token) {
  std::lock_guard lock(challenge_mu_);
  auto it = challenges_.find(Sha256Hex(mfa_token));
  if (it == challenges_.end()) return ChallengeGone();
  if (++it->second.failures >= options_.mfa_max_failures) {
    challenges_.erase(it);
    return Error::Unauthenticated("too many wrong codes; sign in again");
  }
  return Error::Unauthenticated("invalid code");
}

Result<bool> AuthService::CheckSecondFactor(UserId user, std::string_view code, bool allow_recovery) {
  if (sealer_ == nullptr) return Error::FailedPrecondition("multi-factor authentication is not configured");
  ASSIGN_OR_RETURN(auto mfa, store_.GetMfa(user));
  if (!mfa || !mfa->confirmed) return false;
  if (code.size() == static_cast<size_t>(kTotpDigits)) {
    ASSIGN_OR_RETURN(std::string seed, sealer_->Open(mfa->seed_sealed, SeedContext(user)));
    auto step = MatchTotp(seed, code, ToUnixMillis(clock_.Now()) / 1000, mfa->last_step);
    sodium_memzero(seed.data(), seed.size());
    if (!step) return false;
    mfa->last_step = *step;
    RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) { return txn.PutMfa(*mfa); }));
    return true;
  }
  if (!allow_recovery) return false;
  std::string normalised = NormaliseRecoveryCode(code);
  if (normalised.size() != 16) return false;
  ASSIGN_OR_RETURN(auto codes, store_.ListRecoveryCodes(user));
  for (const auto& stored : codes) {
    if (stored.used_at) continue;
    std::string hash = stored.code_hash;
    if (crypto_pwhash_str_verify(hash.c_str(), normalised.data(), normalised.size()) != 0) continue;
    auto used = store_.Write([&](storage::WriteTxn& txn) { return txn.UseRecoveryCode(stored.id, clock_.Now()); });
    if (!used) {
      if (used.error().code() == ErrorCode::kAborted) return false;  // spent by a concurrent request
      return std::move(used.error());
    }
    return true;
  }
  return false;
}

Result<LoginResult> AuthService::VerifyMfa(std::string_view mfa_token, std::string_view code,
                                           const ClientInfo& client) {
  ASSIGN_OR_RETURN(Challenge challenge, FindChallenge(mfa_token, false));
  {
    std::lock_guard guard(MfaLock(challenge.user));
    // Refused before the code is evaluated, so a right guess during the backoff tells nothing.
    RETURN_IF_ERROR(CheckMfa(challenge.user));
    // A concurrent twin may have used or ended the challenge while this one waited for the lock.
    RETURN_IF_ERROR(FindChallenge(mfa_token, false));
    ASSIGN_OR_RETURN(bool ok, CheckSecondFactor(challenge.user, code, true));
    if (!ok) {
      CountMfaFailure(challenge.user, "sign-in");
      return ChallengeFailed(mfa_token);
    }
    CountMfaSuccess(challenge.user);
    std::lock_guard lock(challenge_mu_);
    // Single use: a concurrent twin that got here first has already erased it.
    if (challenges_.erase(Sha256Hex(mfa_token)) == 0) return ChallengeGone();
  }
  ASSIGN_OR_RETURN(storage::UserRecord user, store_.GetUser(challenge.user));
  if (user.disabled) return BadCredentials();
  return SessionResult(user, client);
}

Result<MfaEnrolment> AuthService::BeginMfaEnrolment(UserId user_id) {
  if (sealer_ == nullptr) return Error::FailedPrecondition("multi-factor authentication is not configured");
  ASSIGN_OR_RETURN(storage::UserRecord user, store_.GetUser(user_id));
  ASSIGN_OR_RETURN(auto existing, store_.GetMfa(user_id));
  if (existing && existing->confirmed) {
    return Error::FailedPrecondition("a second factor is already enrolled; an administrator can reset it");
  }
  std::string seed(kTotpSeedBytes, '\0');
  randombytes_buf(seed.data(), seed.size());
  MfaEnrolment enrolment;
  enrolment.secret_base32 = Base32(seed);
  enrolment.otpauth_uri = OtpauthUri(options_.issuer, user.username, seed);
  ASSIGN_OR_RETURN(enrolment.qr_svg_data_uri, QrSvgDataUri(enrolment.otpauth_uri));
  storage::MfaRecord record{user_id, "", false, 0, clock_.Now()};
  auto sealed = sealer_->Seal(seed, SeedContext(user_id));
  sodium_memzero(seed.data(), seed.size());
  if (!sealed) return std::move(sealed.error());
  record.seed_sealed = std::move(*sealed);
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) { return txn.PutMfa(record); }));
  return enrolment;
}

Result<MfaEnrolment> AuthService::BeginMfaEnrolment(std::string_view mfa_token) {
  ASSIGN_OR_RETURN(Challenge challenge, FindChallenge(mfa_token, true));
  return BeginMfaEnrolment(challenge.user);
}

Result<std::vector<std::string>> AuthService::ConfirmMfaEnrolment(UserId user, std::string_view code) {
  if (sealer_ == nullptr) return Error::FailedPrecondition("multi-factor authentication is not configured");
  ASSIGN_OR_RETURN(auto mfa, store_.GetMfa(user));
  if (!mfa) return Error::FailedPrecondition("start the enrolment first");
  if (mfa->confirmed) return Error::FailedPrecondition("a second factor is already enrolled");
  ASSIGN_OR_RETURN(std::string seed, sealer_->Open(mfa->seed_sealed, SeedContext(user)));
  auto step = MatchTotp(seed, code, ToUnixMillis(clock_.Now()) / 1000, mfa->last_step);
  sodium_memzero(seed.data(), seed.size());
  if (!step) return Error::Unauthenticated("invalid code");
  mfa->confirmed = true;
  mfa->last_step = *step;
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) { return txn.PutMfa(*mfa); }));
  Emit("mfa_enrolled", "user:" + user.ToString(), "user " + user.ToString());
  return NewRecoveryCodes(user);
}

Result<EnrolledLogin> AuthService::ConfirmMfaEnrolment(std::string_view mfa_token, std::string_view code,
                                                       const ClientInfo& client) {
  ASSIGN_OR_RETURN(Challenge challenge, FindChallenge(mfa_token, true));
  auto codes = ConfirmMfaEnrolment(challenge.user, code);
  if (!codes) {
    if (codes.error().code() == ErrorCode::kUnauthenticated) return ChallengeFailed(mfa_token);
    return std::move(codes.error());
  }
  {
    std::lock_guard lock(challenge_mu_);
    challenges_.erase(Sha256Hex(mfa_token));
  }
  ASSIGN_OR_RETURN(storage::UserRecord user, store_.GetUser(challenge.user));
  EnrolledLogin out;
  out.recovery_codes = std::move(*codes);
  ASSIGN_OR_RETURN(out.login, SessionResult(user, client));
  return out;
}

Result<std::vector<std::string>> AuthService::NewRecoveryCodes(UserId user) {
  std::vector<std::string> codes;
  std::vector<std::string> hashes;
  for (int i = 0; i < kRecoveryCodes; ++i) {
    std::string raw(10, '\0');  // 80 bits → 16 base32 characters
    randombytes_buf(raw.data(), raw.size());
    std::string code = Base32(raw);
    sodium_memzero(raw.data(), raw.size());
    hashes.push_back(HashRecoveryCode(code));
    codes.push_back(code.substr(0, 4) + "-" + code.substr(4, 4) + "-" + code.substr(8, 4) + "-" + code.substr(12, 4));
  }
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) { return txn.ReplaceRecoveryCodes(user, hashes); }));
  return codes;
}

Result<std::vector<std::string>> AuthService::RegenerateRecoveryCodes(UserId user, std::string_view totp_code) {
  {
    std::lock_guard guard(MfaLock(user));
    RETURN_IF_ERROR(CheckMfa(user));
    ASSIGN_OR_RETURN(bool ok, CheckSecondFactor(user, totp_code, false));
    if (!ok) {
      CountMfaFailure(user, "recovery-code renewal");
      return Error::Unauthenticated("invalid code");
    }
    CountMfaSuccess(user);
  }
  Emit("recovery_codes_regenerated", "user:" + user.ToString(), "user " + user.ToString());
  return NewRecoveryCodes(user);
}

Result<int> AuthService::ResealLegacyMfaSeeds() {
  if (sealer_ == nullptr) return 0;
  ASSIGN_OR_RETURN(auto users, store_.ListUsers());
  int resealed = 0;
  for (const auto& user : users) {
    ASSIGN_OR_RETURN(auto mfa, store_.GetMfa(user.id));
    if (!mfa || !IsLegacySealed(mfa->seed_sealed)) continue;
    ASSIGN_OR_RETURN(std::string seed, sealer_->Open(mfa->seed_sealed, SeedContext(user.id)));
    auto sealed = sealer_->Seal(seed, SeedContext(user.id));
    sodium_memzero(seed.data(), seed.size());
    if (!sealed) return std::move(sealed.error());
    mfa->seed_sealed = std::move(*sealed);
    RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) { return txn.PutMfa(*mfa); }));
    ++resealed;
  }
  return resealed;
}

Result<void> AuthService::ResetMfa(UserId user, std::string_view actor) {
  ASSIGN_OR_RETURN(storage::UserRecord target, store_.GetUser(user));
  auto reset = store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    RETURN_IF_ERROR(txn.DeleteMfa(user));
    return txn.DeleteUserSessions(user);
  });
  if (!reset) return reset;
  if (auto cleared = throttle_.ClearMfa(MfaAccount(user)); !cleared) {
    Emit("throttle_not_saved", "system", cleared.error().message());
  }
  Emit("mfa_reset", actor, "user " + user.ToString());
  return Ok();
}

Result<bool> AuthService::HasMfa(UserId user) {
  ASSIGN_OR_RETURN(auto mfa, store_.GetMfa(user));
  return mfa.has_value() && mfa->confirmed;
}

Result<void> AuthService::SetRoleMfaRequired(std::string_view role, bool required, std::string_view actor) {
  if (std::find(std::begin(kRoles), std::end(kRoles), role) == std::end(kRoles)) {
    return Error::InvalidField("role", "must be one of admin, sales, marketing, support, analyst, auditor");
  }
  storage::RoleSettingRecord setting{std::string(role), required, std::string(actor), clock_.Now()};
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) { return txn.PutRoleSetting(setting); }));
  Emit("mfa_policy_changed", actor, "role " + std::string(role) + (required ? " requires mfa" : " mfa relaxed"));
  return Ok();
}

Result<std::vector<storage::RoleSettingRecord>> AuthService::ListRoleMfa() {
  ASSIGN_OR_RETURN(auto stored, store_.ListRoleSettings());
  std::vector<storage::RoleSettingRecord> out;
  for (const char* role : kRoles) {
    auto it = std::find_if(stored.begin(), stored.end(), [&](const auto& s) { return s.role == role; });
    out.push_back(it != stored.end() ? *it : storage::RoleSettingRecord{role, true, "", Timestamp{}});
  }
  return out;
}

Result<std::vector<std::string>> AuthService::RelaxedRoles() {
  ASSIGN_OR_RETURN(auto roles, ListRoleMfa());
  std::vector<std::string> out;
  for (const auto& r : roles) {
    if (!r.mfa_required) out.push_back(r.role);
  }
  return out;
}

Result<SessionTokens> AuthService::Refresh(std::string_view refresh_token, const ClientInfo& client) {
  if (refresh_token.empty()) return Error::InvalidField("refresh_token", "is required");
  std::string old_hash = Sha256Hex(refresh_token);
  auto found = store_.FindSessionByRefresh(old_hash);
  if (!found) {
    if (found.error().code() != ErrorCode::kNotFound) return std::move(found.error());
    ASSIGN_OR_RETURN(auto spent, store_.FindSpentRefresh(old_hash));
    if (!spent) return BadCredentials();
    // A spent token presented again: it was copied. End the whole session so neither copy works.
    RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) { return txn.DeleteSession(*spent); }));
    Emit("refresh_token_reuse", "session:" + std::to_string(*spent), "session revoked");
    return Error::Unauthenticated("refresh token was already used; the session has been ended");
  }
  storage::SessionRecord session = std::move(*found);
  Timestamp now = clock_.Now();
  if (now >= session.refresh_expires_at || now >= session.absolute_expires_at) {
    RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) { return txn.DeleteSession(session.id); }));
    return Error::Unauthenticated("session expired");
  }
  auto user = store_.GetUser(session.user);
  if (!user || user->disabled) return BadCredentials();
  SessionTokens tokens;
  tokens.session_id = session.id;
  tokens.access_token = "pst_" + RandomToken();
  tokens.refresh_token = "prt_" + RandomToken();
  tokens.absolute_expires_at = session.absolute_expires_at;
  tokens.access_expires_at = std::min(now + options_.access_lifetime, session.absolute_expires_at);
  tokens.refresh_expires_at = std::min(now + options_.refresh_idle, session.absolute_expires_at);
  session.access_sha256 = Sha256Hex(tokens.access_token);
  session.refresh_sha256 = Sha256Hex(tokens.refresh_token);
  session.access_expires_at = tokens.access_expires_at;
  session.refresh_expires_at = tokens.refresh_expires_at;
  session.last_used_at = now;
  if (!client.ip.empty()) session.client_ip = client.ip.substr(0, 64);
  auto rotated = store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    // Fails with kAlreadyExists when a concurrent refresh spent the same token first.
    RETURN_IF_ERROR(txn.MarkRefreshSpent(old_hash, session.id, now));
    return txn.UpdateSession(session);
  });
  if (!rotated) {
    if (rotated.error().code() == ErrorCode::kAlreadyExists || rotated.error().code() == ErrorCode::kNotFound) {
      return BadCredentials();
    }
    return std::move(rotated.error());
  }
  return tokens;
}

Result<Timestamp> AuthService::StepUp(const Principal& who, std::string_view password, std::string_view code,
                                      const ClientInfo& client) {
  if (who.kind != Principal::Kind::kUser || !who.user || !who.session_id) {
    return Error::FailedPrecondition("only a signed-in person steps up; api keys are exempt");
  }
  if (password.empty()) return Error::InvalidField("password", "is required");
  if (password.size() > 4096) return Error::InvalidField("password", "is too long");
  // Asked before the password is checked, so a missing code says nothing about whether the password was right.
  ASSIGN_OR_RETURN(bool has_mfa, HasMfa(*who.user));
  if (has_mfa && code.empty()) return Error::InvalidField("code", "is required: this account has a second factor");
  std::string actor = "user:" + who.user->ToString();
  std::string detail = "session " + std::to_string(*who.session_id);
  RETURN_IF_ERROR(LoadThrottle());
  RETURN_IF_ERROR(throttle_.Check(who.name, client.ip));
  // A second factor refused for wrong codes (here or at sign-in) is refused before the password is evaluated.
  if (has_mfa) RETURN_IF_ERROR(CheckMfa(*who.user));
  ASSIGN_OR_RETURN(storage::UserRecord user, store_.GetUser(*who.user));
  ASSIGN_OR_RETURN(bool ok, VerifyGated(user.password_hash, password));
  if (!ok || user.disabled) {
    CountFailure(who.name, client);
    Emit("step_up_failed", actor, detail);
    return Error::PermissionDenied("invalid credentials");
  }
  // As at sign-in, a right password clears the password counters and a wrong code feeds the account's own.
  CountSuccess(who.name, client);
  if (has_mfa) {
    std::lock_guard guard(MfaLock(user.id));
    RETURN_IF_ERROR(CheckMfa(user.id));  // again: a concurrent guess may have started a refusal meanwhile
    ASSIGN_OR_RETURN(bool code_ok, CheckSecondFactor(user.id, code, true));
    if (!code_ok) {
      CountMfaFailure(user.id, "step-up");
      Emit("step_up_failed", actor, detail);
      return Error::PermissionDenied("invalid credentials");
    }
    CountMfaSuccess(user.id);
  }
  Timestamp now = clock_.Now();
  RETURN_IF_ERROR(
      store_.Write([&](storage::WriteTxn& txn) { return txn.MarkSessionReauthenticated(*who.session_id, now); }));
  Emit("step_up", actor, detail);
  return now + options_.step_up_window;
}

bool AuthService::IsStepUpFresh(const Principal& who) const {
  if (who.kind != Principal::Kind::kUser) return true;
  if (!who.session_id) return false;
  Timestamp now = clock_.Now();
  return who.reauth_at <= now && now - who.reauth_at < options_.step_up_window;
}

Result<void> AuthService::Logout(int64_t session_id) {
  return store_.Write([&](storage::WriteTxn& txn) { return txn.DeleteSession(session_id); });
}

Result<void> AuthService::LogoutEverywhere(UserId user) {
  // "Sign out everywhere" also forgets every known device: a lost laptop must not keep its easier throttling.
  return store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    RETURN_IF_ERROR(txn.DeleteUserSessions(user));
    return txn.DeleteUserDevices(user);
  });
}

Result<std::vector<storage::SessionRecord>> AuthService::ListSessions(UserId user) {
  ASSIGN_OR_RETURN(auto sessions, store_.ListUserSessions(user));
  Timestamp now = clock_.Now();
  std::erase_if(sessions, [&](const auto& s) { return now >= s.refresh_expires_at || now >= s.absolute_expires_at; });
  return sessions;
}

Result<Principal> AuthService::AuthenticateBearer(std::string_view token) {
  if (token.empty()) return Error::Unauthenticated("missing bearer token");
  if (token.starts_with("pst_")) {
    auto session = store_.FindSessionByAccess(Sha256Hex(token));
    if (!session) {
      if (session.error().code() == ErrorCode::kNotFound) return BadCredentials();
      return std::move(session.error());
    }
    Timestamp now = clock_.Now();
    if (session->access_expires_at <= now || session->absolute_expires_at <= now) {
      return Error::Unauthenticated("session expired");
    }
    auto user = store_.GetUser(session->user);
    if (!user || user->disabled) return BadCredentials();
    return Principal{Principal::Kind::kUser, user->id, std::nullopt, user->username, user->role, "read-write",
                     session->id, session->reauth_at};
  }
  if (token.starts_with("prt_") || token.starts_with("pmc_")) return BadCredentials();
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
      if (it->second.expires_at && *it->second.expires_at <= now) return Error::Unauthenticated("api key expired");
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
  principal.allowed_cidrs = key->allowed_cidrs;
  bool touch = false;
  {
    std::lock_guard lock(cache_mu_);
    key_cache_[digest] = {principal, now, key->revoked, key->expires_at};
    auto& last = last_touch_[key->id.value()];
    // Last-used time is written at most once a minute per key, so authentication stays off the write path.
    if (!key->revoked && now - last > std::chrono::minutes(1)) {
      last = now;
      touch = true;
    }
  }
  if (key->revoked) return BadCredentials();
  if (key->expires_at && *key->expires_at <= now) return Error::Unauthenticated("api key expired");
  if (touch) (void)store_.TouchApiKey(key->id, now);
  return principal;
}

Result<bool> AuthService::KnownRole(std::string_view role) {
  if (std::find(std::begin(kRoles), std::end(kRoles), role) != std::end(kRoles)) return true;
  ASSIGN_OR_RETURN(auto custom, store_.FindRole(role));
  return custom.has_value();
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
  ASSIGN_OR_RETURN(bool known_role, KnownRole(role));
  if (!known_role) invalid.AddViolation("role", kUnknownRole);
  if (auto policy = CheckPasswordPolicy(password, username); !policy) {
    invalid.AddViolation("password", policy.error().violations().front().reason);
  }
  if (!invalid.violations().empty()) return invalid;
  storage::UserRecord user;
  user.username = std::string(username);
  user.password_hash = HashForStorage(password);
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
  RETURN_IF_ERROR(CheckPasswordPolicy(password, username));
  ASSIGN_OR_RETURN(storage::UserRecord user, store_.FindUserByName(username));
  user.password_hash = HashForStorage(password);
  // A new password ends every session of the user: whoever knew the old one is signed out.
  return store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    RETURN_IF_ERROR(txn.UpdateUser(user));
    return txn.DeleteUserSessions(user.id);
  });
}

Result<storage::UserRecord> AuthService::UpdateUser(UserId id, std::optional<std::string> role,
                                                    std::optional<bool> disabled, std::string_view actor) {
  if (role) {
    ASSIGN_OR_RETURN(bool known_role, KnownRole(*role));
    if (!known_role) return Error::InvalidField("role", kUnknownRole);
  }
  ASSIGN_OR_RETURN(storage::UserRecord user, store_.GetUser(id));
  std::string detail = "user " + id.ToString();
  if (role && *role != user.role) {
    detail += " role " + user.role + " -> " + *role;
    user.role = *role;
  }
  if (disabled && *disabled != user.disabled) {
    detail += *disabled ? " disabled" : " enabled";
    user.disabled = *disabled;
  }
  auto updated = store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    RETURN_IF_ERROR(txn.UpdateUser(user));
    if (user.disabled) return txn.DeleteUserSessions(user.id);
    return Ok();
  });
  if (!updated) return std::move(updated.error());
  Emit("user_changed", actor, detail);
  return user;
}

Result<CreatedKey> AuthService::CreateApiKey(std::string_view name, std::string_view kind, std::string_view scope,
                                             std::optional<UserId> owner, std::optional<Timestamp> expires_at,
                                             const std::vector<std::string>& allowed_cidrs) {
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
  if (expires_at && *expires_at <= clock_.Now()) invalid.AddViolation("expires_at", "must be in the future");
  auto networks = NormaliseCidrs(allowed_cidrs, "allowed_cidrs");
  if (!networks) {
    for (const auto& v : networks.error().violations()) invalid.AddViolation(v.field, v.reason);
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
  key.expires_at = expires_at;
  key.allowed_cidrs = std::move(*networks);
  created.allowed_cidrs = key.allowed_cidrs;
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(created.id, txn.InsertApiKey(key));
    return Ok();
  }));
  return created;
}

Result<std::vector<std::string>> AuthService::SetApiKeyAllowlist(ApiKeyId id,
                                                                const std::vector<std::string>& allowed_cidrs,
                                                                std::string_view actor) {
  ASSIGN_OR_RETURN(std::vector<std::string> networks, NormaliseCidrs(allowed_cidrs, "allowed_cidrs"));
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) { return txn.SetApiKeyAllowedCidrs(id, networks); }));
  {
    // Cached principals carry the old list: drop them so the next request reads the new one.
    std::lock_guard lock(cache_mu_);
    std::erase_if(key_cache_, [&](const auto& entry) { return entry.second.principal.key == id; });
  }
  // The networks are the operator's configuration; the entry says how many, not which.
  Emit("api_key_allowlist_changed", actor,
       "api key " + id.ToString() + " networks " + std::to_string(networks.size()));
  return networks;
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
