#pragma once
// Brute-force defences for password sign-in (SECURITY.md §2.4, test S5).
//
// - per client IP: at most `ip_failures_per_minute` failures in a fixed one-minute window, then 429 until it ends;
// - per (account, IP): after `pair_free_failures` consecutive failures, exponential backoff (1 s, 2 s, 4 s, …,
//   capped at `max_backoff`) before the next attempt;
// - per account (from every IP): the same after `account_free_failures`, and at most
//   `account_failures_per_day` failed password evaluations per 24 h window.
// Accounts are keyed by the submitted username, so unknown names are throttled exactly like real ones. A backoff
// is forgotten 24 h after its last failure (or at a correct password), so counters of names nobody tries again
// do not live forever.
//
// Known devices (SECURITY.md §1 row 7): a sign-in that presents a valid device token of the account is counted
// per (account, device) alone — backoff after `pair_free_failures` and at most `account_failures_per_day` per
// 24 h — and neither reads nor feeds the per-IP and per-account counters. So guesses from unknown devices can
// lock the account for unknown devices only; the owner's device still gets in, and a stolen device token
// still meets its own backoff and ceiling.
//
// Second factor (SECURITY.md §2.4): wrong TOTP or recovery codes are counted per account — across sign-in
// challenges, step-ups and recovery-code renewals, from any IP or device — by CheckMfa/RecordMfaFailure: the
// `mfa_backoff_after`th wrong code in a row starts a backoff of `mfa_first_backoff`, doubling with each further
// one up to `mfa_max_backoff`, and at most `mfa_failures_per_day` wrong codes per 24 h window (defaults: the 5th
// wrong code refuses codes for 1 min, the 6th to 9th for 2, 4, 8, 16 min, the 10th until the day's window ends).
// A correct code clears the backoff, not the window; a correct password clears neither (whoever guesses codes
// has the password), and a known device does not bypass them. An admin MFA reset clears both (the secret being guessed is gone).
//
// Persistence: every counter a failure changes and every counter a success clears is handed to the Persister
// (AuthService writes it to the store, migration 14), and Restore() loads the stored counters at start, so a
// restart does not give an attacker a fresh budget. Counters are keyed by the SHA-256 of what they count (name,
// address, device id), in memory as in the store.
// Thread-safe: one mutex for the counters (never held while persisting) and one that keeps the persisted order
// equal to the in-memory order. Sign-in is rare and already costs an argon2 evaluation.

#include <array>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/time.h"
#include "storage/records.h"

namespace panorama::security {

struct LoginThrottleOptions {
  int ip_failures_per_minute = 20;
  int pair_free_failures = 3;
  int account_free_failures = 10;
  int account_failures_per_day = 100;
  std::chrono::seconds max_backoff{15 * 60};
  // Second-factor codes, per account (user id).
  int mfa_backoff_after = 5;  // as a challenge's limit: its 5th wrong code ends it and refuses codes for 1 min
  std::chrono::seconds mfa_first_backoff{60};
  std::chrono::seconds mfa_max_backoff{60 * 60};
  int mfa_failures_per_day = 10;
};

class LoginThrottle {
 public:
  // What a failure changed (`put`) or a success cleared (`erase`: kind, key), to be stored.
  struct Changes {
    std::vector<storage::ThrottleRecord> put;
    std::vector<std::pair<std::string, std::string>> erase;
  };
  using Persister = std::function<Result<void>(const Changes&)>;

  // Without a persister the counters live in memory only (unit tests, tools).
  LoginThrottle(const Clock& clock, LoginThrottleOptions options = {}, Persister persister = {});

  // Ok when a password may be evaluated now; kResourceExhausted with retry-after seconds otherwise.
  // `device`: the id of a known device of this account the client proved (its token), or empty.
  Result<void> Check(std::string_view account, std::string_view ip, std::string_view device = {});
  // The counters change in memory whatever happens; an error is the persister's (the change is not stored).
  Result<void> RecordFailure(std::string_view account, std::string_view ip, std::string_view device = {});
  // A correct password clears the backoff of the account and of this (account, IP) pair — or, on a known
  // device, of that (account, device) pair only. The IP and 24 h windows are not cleared.
  Result<void> RecordSuccess(std::string_view account, std::string_view ip, std::string_view device = {});

  // Loads counters read back from the store (before the first Check). Rows of an unknown kind, with a key that is
  // not SHA-256 hex, a failure count out of range, a start in the future or already expired are skipped; a
  // lockout is never restored longer than max_backoff after its last failure. Returns how many rows were used.
  // Second factor, per account (`account`: a stable id such as "user:7", hashed like every key). Check: Ok when a
  // code may be evaluated now; kResourceExhausted with retry-after and the reason otherwise. RecordMfaFailure
  // returns the time codes are refused until (now when they are not) or the persister's error; the counters
  // change in memory either way. RecordMfaSuccess clears the backoff; ClearMfa the backoff and the window.
  Result<void> CheckMfa(std::string_view account);
  Result<Timestamp> RecordMfaFailure(std::string_view account);
  Result<void> RecordMfaSuccess(std::string_view account);
  Result<void> ClearMfa(std::string_view account);

  int Restore(const std::vector<storage::ThrottleRecord>& rows);
  // Drops expired counters from memory (housekeeping; the store deletes its own rows).
  void Prune();

 private:
  enum Kind { kIp, kPair, kAccount, kAccountDay, kDevice, kDeviceDay, kMfa, kMfaDay, kKinds };
  struct Counter {
    int64_t failures = 0;
    Timestamp started_at{};    // window start, or a backoff's last failure
    Timestamp locked_until{};  // backoff only
  };
  using Counters = std::unordered_map<std::string, Counter>;  // by hex SHA-256 key

  static bool IsWindow(Kind kind);
  int WindowLimit(Kind kind) const;
  std::chrono::seconds MaxBackoff(Kind kind) const;
  std::chrono::milliseconds Lifetime(Kind kind) const;
  bool Live(Kind kind, const Counter& c, Timestamp now) const;
  // The time the counter refuses attempts until (`now` or earlier when it does not).
  Timestamp RefusedUntil(Kind kind, const std::string& key, Timestamp now) const;
  // Counts one failure on the counter; returns its row to store.
  storage::ThrottleRecord Count(Kind kind, const std::string& key, Timestamp now);
  Result<void> Persist(const Changes& changes);
  // Erases counters that exist and notes them in `changes` (caller holds mu_).
  void Clear(Kind kind, std::string key, Changes& changes);

  const Clock& clock_;
  LoginThrottleOptions options_;
  Persister persister_;
  std::mutex persist_mu_;  // held from a change to its write, so the store sees changes in order
  mutable std::mutex mu_;
  std::array<Counters, kKinds> counters_;  // guarded by mu_
};

}  // namespace panorama::security
