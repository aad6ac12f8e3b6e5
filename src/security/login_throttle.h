#pragma once
// Brute-force defences for password sign-in (SECURITY.md §2.4, test S5), kept in memory: a restart forgets them,
// which an outside attacker cannot cause.
//
// - per client IP: at most `ip_failures_per_minute` failures in a fixed one-minute window, then 429 until it ends;
// - per (account, IP): after `pair_free_failures` consecutive failures, exponential backoff (1 s, 2 s, 4 s, …,
//   capped at `max_backoff`) before the next attempt;
// - per account (from every IP): the same after `account_free_failures`, and at most
//   `account_failures_per_day` failed password evaluations per 24 h window.
// Accounts are keyed by the submitted username, so unknown names are throttled exactly like real ones.
//
// Known devices (SECURITY.md §1 row 7): a sign-in that presents a valid device token of the account is counted
// per (account, device) alone — backoff after `pair_free_failures` and at most `account_failures_per_day` per
// 24 h — and neither reads nor feeds the per-IP and per-account counters. So guesses from unknown devices can
// lock the account for unknown devices only; the owner's device still gets in, and a stolen device token
// still meets its own backoff and ceiling.
// Thread-safe (one mutex; sign-in is rare and already costs an argon2 evaluation).

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.h"
#include "core/time.h"

namespace panorama::security {

struct LoginThrottleOptions {
  int ip_failures_per_minute = 20;
  int pair_free_failures = 3;
  int account_free_failures = 10;
  int account_failures_per_day = 100;
  std::chrono::seconds max_backoff{15 * 60};
};

class LoginThrottle {
 public:
  LoginThrottle(const Clock& clock, LoginThrottleOptions options = {});

  // Ok when a password may be evaluated now; kResourceExhausted with retry-after seconds otherwise.
  // `device`: the id of a known device of this account the client proved (its token), or empty.
  Result<void> Check(std::string_view account, std::string_view ip, std::string_view device = {});
  void RecordFailure(std::string_view account, std::string_view ip, std::string_view device = {});
  // A correct password clears the backoff of the account and of this (account, IP) pair — or, on a known
  // device, of that (account, device) pair only.
  void RecordSuccess(std::string_view account, std::string_view ip, std::string_view device = {});

 private:
  struct Backoff {
    int failures = 0;
    Timestamp locked_until{};
  };
  struct Window {
    Timestamp start{};
    int count = 0;
  };
  void Bump(Backoff& b, int free_failures, Timestamp now);

  const Clock& clock_;
  LoginThrottleOptions options_;
  std::mutex mu_;
  // guarded by mu_
  std::unordered_map<std::string, Window> ip_;
  std::unordered_map<std::string, Backoff> pair_;
  std::unordered_map<std::string, Backoff> account_;
  std::unordered_map<std::string, Window> account_day_;
  std::unordered_map<std::string, Backoff> device_;      // account + device id
  std::unordered_map<std::string, Window> device_day_;   // account + device id
};

}  // namespace panorama::security
