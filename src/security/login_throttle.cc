#include "security/login_throttle.h"

#include <algorithm>
#include <cctype>

#include "security/crypto_util.h"

namespace panorama::security {
namespace {

constexpr const char* kKindNames[] = {"ip",     "pair",       "account", "account_day",
                                     "device", "device_day", "mfa",     "mfa_day"};

constexpr auto kMinute = std::chrono::minutes(1);
constexpr auto kDay = std::chrono::hours(24);
// A restored count above this is not a count this code wrote.
constexpr int64_t kMaxRestoredFailures = 1'000'000;

std::string Lower(std::string_view account) {
  std::string key(account);
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

// Keys are hashed before they are used, so neither memory dumps nor the store hold a submitted name in clear
// (users do type passwords into the username field).
std::string AccountKey(std::string_view account) { return Sha256Hex(Lower(account)); }
std::string IpKey(std::string_view ip) { return Sha256Hex(ip); }
std::string PairKey(std::string_view account, std::string_view ip) {
  return Sha256Hex(Lower(account) + '\n' + std::string(ip));
}
std::string DeviceKey(std::string_view account, std::string_view device) {
  return Sha256Hex(Lower(account) + "\ndevice:" + std::string(device));
}

// Per account for the second factor: a stable id ("user:7"), so a rename does not reset it.
std::string MfaKey(std::string_view account) { return Sha256Hex("mfa\n" + std::string(account)); }

bool IsHexSha256(std::string_view key) {
  return key.size() == 64 &&
         std::all_of(key.begin(), key.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

int SecondsUntil(Timestamp now, Timestamp then) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(then - now).count();
  return static_cast<int>((ms + 999) / 1000);
}

Error Throttled(int seconds, std::string message = "too many sign-in attempts; try again later") {
  Error error = Error::ResourceExhausted(std::move(message));
  error.WithRetryAfter(seconds);
  return error;
}

}  // namespace

LoginThrottle::LoginThrottle(const Clock& clock, LoginThrottleOptions options, Persister persister)
    : clock_(clock), options_(options), persister_(std::move(persister)) {}

bool LoginThrottle::IsWindow(Kind kind) {
  return kind == kIp || kind == kAccountDay || kind == kDeviceDay || kind == kMfaDay;
}

int LoginThrottle::WindowLimit(Kind kind) const {
  if (kind == kIp) return options_.ip_failures_per_minute;
  return kind == kMfaDay ? options_.mfa_failures_per_day : options_.account_failures_per_day;
}

std::chrono::seconds LoginThrottle::MaxBackoff(Kind kind) const {
  return kind == kMfa ? options_.mfa_max_backoff : options_.max_backoff;
}

std::chrono::milliseconds LoginThrottle::Lifetime(Kind kind) const {
  // A window lasts its length; a backoff is remembered for a day after its last failure.
  return kind == kIp ? std::chrono::milliseconds(kMinute) : std::chrono::milliseconds(kDay);
}

bool LoginThrottle::Live(Kind kind, const Counter& c, Timestamp now) const {
  return now - c.started_at < Lifetime(kind);
}

Timestamp LoginThrottle::RefusedUntil(Kind kind, const std::string& key, Timestamp now) const {
  const Counters& counters = counters_[kind];
  auto it = counters.find(key);
  if (it == counters.end() || !Live(kind, it->second, now)) return now;
  const Counter& c = it->second;
  if (!IsWindow(kind)) return c.locked_until;
  return c.failures >= WindowLimit(kind) ? c.started_at + Lifetime(kind) : now;
}

Result<void> LoginThrottle::Check(std::string_view account, std::string_view ip, std::string_view device) {
  Timestamp now = clock_.Now();
  std::lock_guard lock(mu_);
  Timestamp until = now;
  if (!device.empty()) {
    std::string key = DeviceKey(account, device);
    until = std::max({until, RefusedUntil(kDevice, key, now), RefusedUntil(kDeviceDay, key, now)});
  } else {
    std::string key = AccountKey(account);
    until = std::max({until, RefusedUntil(kIp, IpKey(ip), now), RefusedUntil(kPair, PairKey(account, ip), now),
                      RefusedUntil(kAccount, key, now), RefusedUntil(kAccountDay, key, now)});
  }
  if (until > now) return Throttled(SecondsUntil(now, until));
  return Ok();
}

storage::ThrottleRecord LoginThrottle::Count(Kind kind, const std::string& key, Timestamp now) {
  Counter& c = counters_[kind][key];
  if (!Live(kind, c, now)) c = Counter{};
  ++c.failures;
  if (IsWindow(kind)) {
    if (c.failures == 1) c.started_at = now;
    c.locked_until = c.started_at;
  } else {
    c.started_at = now;  // the last failure
    int free_failures = kind == kAccount ? options_.account_free_failures
                        : kind == kMfa   ? options_.mfa_backoff_after - 1
                                         : options_.pair_free_failures;
    auto first = kind == kMfa ? options_.mfa_first_backoff : std::chrono::seconds(1);
    int64_t over = c.failures - free_failures;
    if (over > 0) {
      // first, 2 × first, 4 × first, … doubling per further failure, capped.
      auto backoff = over >= 30 ? MaxBackoff(kind) : first * (int64_t{1} << (over - 1));
      c.locked_until = now + std::min<std::chrono::seconds>(backoff, MaxBackoff(kind));
    }
  }
  return {kKindNames[kind], key, c.failures, c.started_at, c.locked_until, c.started_at + Lifetime(kind)};
}

Result<void> LoginThrottle::Persist(const Changes& changes) {
  if (!persister_ || (changes.put.empty() && changes.erase.empty())) return Ok();
  return persister_(changes);
}

Result<void> LoginThrottle::RecordFailure(std::string_view account, std::string_view ip, std::string_view device) {
  std::lock_guard order(persist_mu_);
  Changes changes;
  {
    Timestamp now = clock_.Now();
    std::lock_guard lock(mu_);
    if (!device.empty()) {
      std::string key = DeviceKey(account, device);
      changes.put.push_back(Count(kDevice, key, now));
      changes.put.push_back(Count(kDeviceDay, key, now));
    } else {
      std::string key = AccountKey(account);
      changes.put.push_back(Count(kIp, IpKey(ip), now));
      changes.put.push_back(Count(kPair, PairKey(account, ip), now));
      changes.put.push_back(Count(kAccount, key, now));
      changes.put.push_back(Count(kAccountDay, key, now));
    }
  }
  return Persist(changes);
}

void LoginThrottle::Clear(Kind kind, std::string key, Changes& changes) {
  // Only counters that exist are written, so a normal sign-in costs no write.
  if (counters_[kind].erase(key) > 0) changes.erase.emplace_back(kKindNames[kind], std::move(key));
}

Result<void> LoginThrottle::RecordSuccess(std::string_view account, std::string_view ip, std::string_view device) {
  std::lock_guard order(persist_mu_);
  Changes changes;
  {
    std::lock_guard lock(mu_);
    if (!device.empty()) {
      Clear(kDevice, DeviceKey(account, device), changes);
    } else {
      Clear(kPair, PairKey(account, ip), changes);
      Clear(kAccount, AccountKey(account), changes);
    }
  }
  return Persist(changes);
}

Result<void> LoginThrottle::CheckMfa(std::string_view account) {
  Timestamp now = clock_.Now();
  std::lock_guard lock(mu_);
  std::string key = MfaKey(account);
  Timestamp day = RefusedUntil(kMfaDay, key, now);
  if (day > now) {
    return Throttled(SecondsUntil(now, day),
                     "too many wrong second-factor codes for this account today; try again later");
  }
  Timestamp backoff = RefusedUntil(kMfa, key, now);
  if (backoff > now) {
    return Throttled(SecondsUntil(now, backoff),
                     "too many wrong second-factor codes for this account; try again later");
  }
  return Ok();
}

Result<Timestamp> LoginThrottle::RecordMfaFailure(std::string_view account) {
  std::lock_guard order(persist_mu_);
  Changes changes;
  Timestamp now = clock_.Now();
  Timestamp until = now;
  {
    std::lock_guard lock(mu_);
    std::string key = MfaKey(account);
    changes.put.push_back(Count(kMfa, key, now));
    changes.put.push_back(Count(kMfaDay, key, now));
    until = std::max({now, RefusedUntil(kMfa, key, now), RefusedUntil(kMfaDay, key, now)});
  }
  RETURN_IF_ERROR(Persist(changes));
  return until;
}

Result<void> LoginThrottle::RecordMfaSuccess(std::string_view account) {
  std::lock_guard order(persist_mu_);
  Changes changes;
  {
    std::lock_guard lock(mu_);
    Clear(kMfa, MfaKey(account), changes);
  }
  return Persist(changes);
}

Result<void> LoginThrottle::ClearMfa(std::string_view account) {
  std::lock_guard order(persist_mu_);
  Changes changes;
  {
    std::lock_guard lock(mu_);
    std::string key = MfaKey(account);
    Clear(kMfa, key, changes);
    Clear(kMfaDay, std::move(key), changes);
  }
  return Persist(changes);
}

int LoginThrottle::Restore(const std::vector<storage::ThrottleRecord>& rows) {
  Timestamp now = clock_.Now();
  std::lock_guard lock(mu_);
  int used = 0;
  for (const auto& row : rows) {
    auto name = std::find(std::begin(kKindNames), std::end(kKindNames), row.kind);
    if (name == std::end(kKindNames) || !IsHexSha256(row.key)) continue;
    auto kind = static_cast<Kind>(name - std::begin(kKindNames));
    if (row.failures < 1 || row.failures > kMaxRestoredFailures || row.started_at > now) continue;
    Counter c{row.failures, row.started_at, row.started_at};
    if (!Live(kind, c, now)) continue;
    // A lockout is at most its kind's longest backoff after the failure that set it, whatever the row says.
    if (!IsWindow(kind)) c.locked_until = std::min(row.locked_until, row.started_at + MaxBackoff(kind));
    counters_[kind][row.key] = c;
    ++used;
  }
  return used;
}

void LoginThrottle::Prune() {
  Timestamp now = clock_.Now();
  std::lock_guard lock(mu_);
  for (int kind = 0; kind < kKinds; ++kind) {
    std::erase_if(counters_[kind], [&](const auto& entry) { return !Live(static_cast<Kind>(kind), entry.second, now); });
  }
}

}  // namespace panorama::security
