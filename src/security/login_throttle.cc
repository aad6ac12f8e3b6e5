#include "security/login_throttle.h"

#include <algorithm>
#include <cctype>

namespace panorama::security {
namespace {

std::string AccountKey(std::string_view account) {
  std::string key(account);
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

std::string PairKey(std::string_view account, std::string_view ip) {
  return AccountKey(account) + '\n' + std::string(ip);
}

int SecondsUntil(Timestamp now, Timestamp then) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(then - now).count();
  return static_cast<int>((ms + 999) / 1000);
}

Error Throttled(int seconds) {
  Error error = Error::ResourceExhausted("too many sign-in attempts; try again later");
  error.WithRetryAfter(seconds);
  return error;
}

constexpr auto kMinute = std::chrono::minutes(1);
constexpr auto kDay = std::chrono::hours(24);

std::string DeviceKey(std::string_view account, std::string_view device) {
  return AccountKey(account) + "\ndevice:" + std::string(device);
}

}  // namespace

LoginThrottle::LoginThrottle(const Clock& clock, LoginThrottleOptions options) : clock_(clock), options_(options) {}

Result<void> LoginThrottle::Check(std::string_view account, std::string_view ip, std::string_view device) {
  Timestamp now = clock_.Now();
  std::lock_guard lock(mu_);
  Timestamp until = now;
  if (!device.empty()) {
    std::string key = DeviceKey(account, device);
    if (auto it = device_.find(key); it != device_.end()) until = std::max(until, it->second.locked_until);
    if (auto it = device_day_.find(key); it != device_day_.end() && now - it->second.start < kDay &&
                                         it->second.count >= options_.account_failures_per_day) {
      until = std::max(until, it->second.start + kDay);
    }
    if (until > now) return Throttled(SecondsUntil(now, until));
    return Ok();
  }
  if (auto it = ip_.find(std::string(ip)); it != ip_.end() && now - it->second.start < kMinute &&
                                           it->second.count >= options_.ip_failures_per_minute) {
    until = std::max(until, it->second.start + kMinute);
  }
  if (auto it = pair_.find(PairKey(account, ip)); it != pair_.end()) until = std::max(until, it->second.locked_until);
  std::string key = AccountKey(account);
  if (auto it = account_.find(key); it != account_.end()) until = std::max(until, it->second.locked_until);
  if (auto it = account_day_.find(key); it != account_day_.end() && now - it->second.start < kDay &&
                                        it->second.count >= options_.account_failures_per_day) {
    until = std::max(until, it->second.start + kDay);
  }
  if (until > now) return Throttled(SecondsUntil(now, until));
  return Ok();
}

void LoginThrottle::Bump(Backoff& b, int free_failures, Timestamp now) {
  ++b.failures;
  int over = b.failures - free_failures;
  if (over <= 0) return;
  // 1 s, 2 s, 4 s, … doubling per further failure, capped.
  auto backoff = std::chrono::seconds(over >= 30 ? options_.max_backoff.count() : (int64_t{1} << (over - 1)));
  b.locked_until = now + std::min<std::chrono::seconds>(backoff, options_.max_backoff);
}

void LoginThrottle::RecordFailure(std::string_view account, std::string_view ip, std::string_view device) {
  Timestamp now = clock_.Now();
  std::lock_guard lock(mu_);
  if (!device.empty()) {
    std::string key = DeviceKey(account, device);
    Bump(device_[key], options_.pair_free_failures, now);
    auto& day = device_day_[key];
    if (now - day.start >= kDay) day = {now, 0};
    ++day.count;
    return;
  }
  auto& window = ip_[std::string(ip)];
  if (now - window.start >= kMinute) window = {now, 0};
  ++window.count;
  Bump(pair_[PairKey(account, ip)], options_.pair_free_failures, now);
  std::string key = AccountKey(account);
  Bump(account_[key], options_.account_free_failures, now);
  auto& day = account_day_[key];
  if (now - day.start >= kDay) day = {now, 0};
  ++day.count;
}

void LoginThrottle::RecordSuccess(std::string_view account, std::string_view ip, std::string_view device) {
  std::lock_guard lock(mu_);
  if (!device.empty()) {
    device_.erase(DeviceKey(account, device));
    return;
  }
  pair_.erase(PairKey(account, ip));
  account_.erase(AccountKey(account));
}

}  // namespace panorama::security
