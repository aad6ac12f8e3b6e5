#pragma once
// The consent ledger and THE send/processing gate.
//
// Rule for every module that contacts a customer or processes their data for a purpose (campaigns, journeys,
// channels, profiling and scoring jobs, exports to third parties): call ConsentService::MaySend(customer,
// purpose, channel) immediately before each send, or MayProcess(customer, purpose) before each processing run,
// and skip the customer when it returns false. Do not cache the answer across sends: a withdrawal is effective
// from the moment Record() returns (or, for ingested traits, from the commit of their batch).
//
// Purposes: marketing, profiling, third_party_sharing, sensitive (PIPL Art. 29 separate consent),
// cross_border (PIPL Art. 39). Channels: email, sms, phone, wechat, push; a purpose-level consent has channel
// "". Every change is a new ConsentRecord (storage); history is never overwritten and the current state of
// (customer, purpose, channel) is its newest record.
//
// MaySend(c, p, ch) is true iff the customer is not restricted (GDPR 18), the newest (p, ch) record grants,
// and no purpose-level (p, "") record withdraws. MayProcess(c, p) is true iff not restricted and the newest
// (p, "") record grants. No record means no consent (opt-in).
//
// Thread-safety: all methods may be called from any thread; the index is guarded by a shared mutex and
// MaySend/MayProcess take only a shared lock (no SQL).
//
// Beside the per-customer index the service keeps the same answers as compressed bitmaps over the dense
// customer id (privacy/consent_bitmaps.h, CRoaring): one per purpose (MayProcess) and one per (purpose,
// channel) (MaySend), updated under the same lock by every change above and rebuilt by Load(), so segment rules
// answer consent.* with one bitmap AND. They are a cache of the per-customer test, never a second definition.

#include <array>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "storage/records.h"

namespace panorama::storage {
class Store;
}

namespace panorama::privacy {

struct ConsentBitmaps;       // privacy/consent_bitmaps.h (keeps roaring.hh out of this header)
class ConsentBitmapReader;  // ditto

inline constexpr std::array<std::string_view, 5> kPurposes = {"marketing", "profiling", "third_party_sharing",
                                                              "sensitive", "cross_border"};
inline constexpr std::array<std::string_view, 5> kChannels = {"email", "sms", "phone", "wechat", "push"};
inline constexpr std::array<std::string_view, 6> kLawfulBases = {
    "consent", "contract", "legal_obligation", "vital_interest", "public_task", "legitimate_interest"};
inline constexpr std::array<std::string_view, 4> kSources = {"api", "ingest", "console", "import"};

// Trait keys that hold PIPL "sensitive personal information" (Art. 28) or GDPR Art. 9 data; writing any of
// them into a customer's traits needs the separate `sensitive` consent.
inline constexpr std::array<std::string_view, 12> kSensitiveTraitKeys = {
    "health",   "medical",     "religion",     "ethnicity",       "biometric",    "sexual_orientation",
    "political", "national_id", "id_card",     "bank_account",    "precise_location", "trade_union"};

// Checks purpose, channel, lawful basis and source; `field` prefixes the violation names ("consents[2].").
// kInvalidArgument naming each bad field.
Result<void> ValidateConsent(const storage::ConsentRecord& c, const std::string& field = "");

class ConsentService {
 public:
  explicit ConsentService(storage::Store& store, const Clock& clock);
  ~ConsentService();
  ConsentService(const ConsentService&) = delete;
  ConsentService& operator=(const ConsentService&) = delete;

  // Loads the index from the ledger and the restriction flags. Call once at start.
  Result<void> Load();

  // Validates and appends `changes` in one transaction (all or nothing), then updates the index. Each change
  // gets the current time when its `at` is unset (epoch). kInvalidArgument naming the field; kNotFound for an
  // unknown customer.
  Result<std::vector<storage::ConsentRecord>> Record(CustomerId customer, std::vector<storage::ConsentRecord> changes);

  // Index updates for rows written by others (ingest pipeline) after their commit.
  void OnCommitted(const storage::ConsentRecord& change);
  void OnMerged(CustomerId from, CustomerId into);
  void OnErased(CustomerId customer);
  void OnRestricted(CustomerId customer, bool restricted);

  bool MaySend(CustomerId customer, std::string_view purpose, std::string_view channel) const;
  bool MayProcess(CustomerId customer, std::string_view purpose) const;
  // Every customer for whom MaySend(customer, purpose, channel) — or, with an empty `channel`,
  // MayProcess(customer, purpose) — is true, in no particular order: one pass over the index (customers with a
  // consent record) under the shared lock instead of a lookup per customer, for segment rules over everyone.
  // Merged-away and erased ids may be included when the caller did not report them; filter by liveness.
  std::vector<CustomerId> Permitted(std::string_view purpose, std::string_view channel) const;

  // kAborted (HTTP 409) when `traits_json` contains a sensitive key and the customer has no separate
  // `sensitive` consent. A new customer (no id yet) has none.
  Result<void> CheckSensitiveWrite(std::optional<CustomerId> customer, std::string_view traits_json) const;

  // Current state: the newest record per (purpose, channel), from the store.
  Result<std::vector<storage::ConsentRecord>> Current(CustomerId customer) const;
  Result<std::vector<storage::ConsentRecord>> History(CustomerId customer) const;

 private:
  // purpose index * (channels + 1) + channel index (0 = purpose level); value: 0 none, 1 granted, 2 withdrawn.
  static constexpr size_t kSlots = kPurposes.size() * (kChannels.size() + 1);
  struct State {
    std::array<uint8_t, kSlots> slots{};
    bool restricted = false;
  };
  friend class ConsentBitmapReader;
  static int Slot(std::string_view purpose, std::string_view channel);
  // THE test behind MaySend (slot = (purpose, channel)) and MayProcess (slot = purpose_slot); the bitmaps
  // and Permitted use it too.
  static bool Allows(const State& state, size_t slot, size_t purpose_slot) {
    return !state.restricted && state.slots[slot] == 1 && state.slots[purpose_slot] != 2;
  }
  void ApplyLocked(const storage::ConsentRecord& change);
  // Sets customer's bits in the bitmaps from index_ (cleared when it has no entry): the slots of one purpose,
  // or of every purpose when `purpose` < 0.
  void SyncBitsLocked(int64_t customer, int purpose);

  storage::Store& store_;
  const Clock& clock_;
  mutable std::shared_mutex mu_;
  // guarded by mu_
  std::unordered_map<int64_t, State> index_;
  std::unique_ptr<ConsentBitmaps> bitmaps_;
};

}  // namespace panorama::privacy
