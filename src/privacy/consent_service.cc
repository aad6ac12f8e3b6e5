#include "privacy/consent_service.h"

#include <algorithm>
#include <limits>
#include <map>
#include <mutex>

#include "privacy/consent_bitmaps.h"
#include "storage/store.h"

namespace panorama::privacy {
namespace {

template <size_t N>
int IndexOf(const std::array<std::string_view, N>& list, std::string_view value) {
  auto it = std::find(list.begin(), list.end(), value);
  return it == list.end() ? -1 : static_cast<int>(it - list.begin());
}

// Object keys of a JSON text (at any depth): strings followed by ':'. A scan rather than a parser because the
// text was already validated and minified by the caller, and domain code stays free of JSON libraries.
std::vector<std::string> JsonKeys(std::string_view json) {
  std::vector<std::string> keys;
  for (size_t i = 0; i < json.size(); ++i) {
    if (json[i] != '"') continue;
    std::string text;
    size_t j = i + 1;
    for (; j < json.size() && json[j] != '"'; ++j) {
      if (json[j] == '\\' && j + 1 < json.size()) ++j;
      text += json[j];
    }
    size_t k = j + 1;
    while (k < json.size() && (json[k] == ' ' || json[k] == '\n' || json[k] == '\t' || json[k] == '\r')) ++k;
    if (k < json.size() && json[k] == ':') keys.push_back(std::move(text));
    i = j;
  }
  return keys;
}

}  // namespace

Result<void> ValidateConsent(const storage::ConsentRecord& c, const std::string& field) {
  Error error = Error::InvalidArgument("invalid consent");
  std::vector<std::pair<std::string, std::string>> bad;
  if (IndexOf(kPurposes, c.purpose) < 0) {
    bad.emplace_back("purpose", "must be one of marketing, profiling, third_party_sharing, sensitive, cross_border");
  }
  if (!c.channel.empty() && IndexOf(kChannels, c.channel) < 0) {
    bad.emplace_back("channel", "must be one of email, sms, phone, wechat, push, or absent");
  }
  // Separate consents (PIPL 29, 39) are given for the purpose itself, never bundled with a channel.
  if (!c.channel.empty() && (c.purpose == "sensitive" || c.purpose == "cross_border" ||
                             c.purpose == "third_party_sharing" || c.purpose == "profiling")) {
    bad.emplace_back("channel", "must be absent for purpose " + c.purpose);
  }
  if (IndexOf(kLawfulBases, c.lawful_basis) < 0) {
    bad.emplace_back("lawful_basis", "must be one of consent, contract, legal_obligation, vital_interest, "
                                     "public_task, legitimate_interest");
  }
  if ((c.purpose == "sensitive" || c.purpose == "cross_border") && c.lawful_basis != "consent" && c.granted) {
    bad.emplace_back("lawful_basis", "must be consent for purpose " + c.purpose);
  }
  if (IndexOf(kSources, c.source) < 0) bad.emplace_back("source", "must be one of api, ingest, console, import");
  if (c.policy_version.size() > 64) bad.emplace_back("policy_version", "must be at most 64 bytes");
  if (!c.text_sha256.empty() &&
      (c.text_sha256.size() != 64 ||
       !std::all_of(c.text_sha256.begin(), c.text_sha256.end(),
                    [](char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'); }))) {
    bad.emplace_back("text_sha256", "must be 64 lower-case hex digits");
  }
  if (bad.empty()) return Ok();
  if (bad.size() == 1) return Error::InvalidField(field + bad[0].first, bad[0].second);
  std::string message = "invalid consent:";
  for (const auto& [f, reason] : bad) message += " " + field + f + " " + reason + ";";
  return Error::InvalidField(field + bad[0].first, message);
}

ConsentService::ConsentService(storage::Store& store, const Clock& clock)
    : store_(store), clock_(clock), bitmaps_(std::make_unique<ConsentBitmaps>()) {}

ConsentService::~ConsentService() = default;

int ConsentService::Slot(std::string_view purpose, std::string_view channel) {
  int p = IndexOf(kPurposes, purpose);
  if (p < 0) return -1;
  // An unknown channel is no slot (IndexOf's −1 + 1 would have named the purpose-level slot).
  int ch = channel.empty() ? 0 : IndexOf(kChannels, channel) + 1;
  if (ch <= 0 && !channel.empty()) return -1;
  return p * static_cast<int>(kChannels.size() + 1) + ch;
}

namespace {

constexpr size_t kSlotsPerPurpose = kChannels.size() + 1;

bool Dense(int64_t customer) {
  return customer > 0 && customer <= static_cast<int64_t>(std::numeric_limits<uint32_t>::max());
}

}  // namespace

void ConsentService::ApplyLocked(const storage::ConsentRecord& change) {
  int slot = Slot(change.purpose, change.channel);
  if (slot < 0) return;
  index_[change.customer.value()].slots[static_cast<size_t>(slot)] = change.granted ? 1 : 2;
  // A channel slot's answer depends on its purpose slot too: refresh the purpose's six bits.
  SyncBitsLocked(change.customer.value(), slot / static_cast<int>(kSlotsPerPurpose));
}

void ConsentService::SyncBitsLocked(int64_t customer, int purpose) {
  if (!Dense(customer)) return;
  const auto id = static_cast<uint32_t>(customer);
  auto it = index_.find(customer);
  const State* state = it == index_.end() ? nullptr : &it->second;
  const size_t first = purpose < 0 ? 0 : static_cast<size_t>(purpose);
  const size_t last = purpose < 0 ? kPurposes.size() : first + 1;
  for (size_t p = first; p < last; ++p) {
    const size_t purpose_slot = p * kSlotsPerPurpose;
    for (size_t slot = purpose_slot; slot < purpose_slot + kSlotsPerPurpose; ++slot) {
      if (state != nullptr && Allows(*state, slot, purpose_slot)) {
        bitmaps_->granted[slot].add(id);
      } else {
        bitmaps_->granted[slot].remove(id);
      }
    }
  }
}

Result<void> ConsentService::Load() {
  std::unordered_map<int64_t, State> fresh;
  RETURN_IF_ERROR(store_.ScanConsents([&](const storage::ConsentRecord& c) {
    int slot = Slot(c.purpose, c.channel);
    if (slot >= 0) fresh[c.customer.value()].slots[static_cast<size_t>(slot)] = c.granted ? 1 : 2;
  }));
  RETURN_IF_ERROR(store_.ScanPrivacyFlags([&](const storage::PrivacyFlagsRecord& f) {
    if (f.restricted) fresh[f.customer.value()].restricted = true;
  }));
  // The bitmaps from the fresh index with the same test, built before taking the lock: sorted bulk adds.
  auto bitmaps = std::make_unique<ConsentBitmaps>();
  std::array<std::vector<uint32_t>, kSlots> ids;
  for (const auto& [customer, state] : fresh) {
    if (!Dense(customer)) continue;
    for (size_t slot = 0; slot < kSlots; ++slot) {
      if (Allows(state, slot, slot - slot % kSlotsPerPurpose)) ids[slot].push_back(static_cast<uint32_t>(customer));
    }
  }
  for (size_t slot = 0; slot < kSlots; ++slot) {
    std::sort(ids[slot].begin(), ids[slot].end());
    bitmaps->granted[slot].addMany(ids[slot].size(), ids[slot].data());
    bitmaps->granted[slot].runOptimize();
  }
  std::unique_lock lock(mu_);
  index_ = std::move(fresh);
  bitmaps_ = std::move(bitmaps);
  return Ok();
}

Result<std::vector<storage::ConsentRecord>> ConsentService::Record(CustomerId customer,
                                                                   std::vector<storage::ConsentRecord> changes) {
  if (changes.empty()) return Error::InvalidField("consents", "must not be empty");
  for (size_t i = 0; i < changes.size(); ++i) {
    changes[i].customer = customer;
    if (changes[i].at == Timestamp{}) changes[i].at = clock_.Now();
    RETURN_IF_ERROR(ValidateConsent(changes[i], "consents[" + std::to_string(i) + "]."));
  }
  Result<void> written = store_.Write([&](storage::WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(storage::CustomerRecord c, txn.GetCustomer(customer));
    if (c.merged_into) return Error::NotFound("customer " + customer.ToString() + " not found");
    for (auto& change : changes) {
      ASSIGN_OR_RETURN(change.id, txn.InsertConsent(change));
    }
    return Ok();
  });
  if (!written) return std::move(written.error());
  std::unique_lock lock(mu_);
  for (const auto& change : changes) ApplyLocked(change);
  return changes;
}

void ConsentService::OnCommitted(const storage::ConsentRecord& change) {
  std::unique_lock lock(mu_);
  ApplyLocked(change);
}

void ConsentService::OnMerged(CustomerId from, CustomerId into) {
  std::unique_lock lock(mu_);
  auto it = index_.find(from.value());
  if (it == index_.end()) return;
  State moved = it->second;
  index_.erase(it);
  // The index keeps no row ids, so it cannot tell which side's change is newer; the survivor's own state wins
  // where it has one (the next Load orders by id). Restriction is sticky: either side restricted → restricted.
  State& target = index_[into.value()];
  for (size_t i = 0; i < kSlots; ++i) {
    if (target.slots[i] == 0) target.slots[i] = moved.slots[i];
  }
  target.restricted = target.restricted || moved.restricted;
  SyncBitsLocked(from.value(), -1);
  SyncBitsLocked(into.value(), -1);
}

void ConsentService::OnErased(CustomerId customer) {
  std::unique_lock lock(mu_);
  index_.erase(customer.value());
  SyncBitsLocked(customer.value(), -1);
}

void ConsentService::OnRestricted(CustomerId customer, bool restricted) {
  std::unique_lock lock(mu_);
  index_[customer.value()].restricted = restricted;
  SyncBitsLocked(customer.value(), -1);
}

bool ConsentService::MaySend(CustomerId customer, std::string_view purpose, std::string_view channel) const {
  if (channel.empty()) return false;
  int slot = Slot(purpose, channel);
  int purpose_slot = Slot(purpose, "");
  if (slot < 0 || purpose_slot < 0) return false;
  std::shared_lock lock(mu_);
  auto it = index_.find(customer.value());
  if (it == index_.end()) return false;
  return Allows(it->second, static_cast<size_t>(slot), static_cast<size_t>(purpose_slot));
}

bool ConsentService::MayProcess(CustomerId customer, std::string_view purpose) const {
  int slot = Slot(purpose, "");
  if (slot < 0) return false;
  std::shared_lock lock(mu_);
  auto it = index_.find(customer.value());
  if (it == index_.end()) return false;
  return Allows(it->second, static_cast<size_t>(slot), static_cast<size_t>(slot));
}

std::vector<CustomerId> ConsentService::Permitted(std::string_view purpose, std::string_view channel) const {
  std::vector<CustomerId> out;
  const int purpose_slot = Slot(purpose, "");
  const int slot = Slot(purpose, channel);
  if (slot < 0 || purpose_slot < 0) return out;
  const auto s = static_cast<size_t>(slot), p = static_cast<size_t>(purpose_slot);
  std::shared_lock lock(mu_);
  for (const auto& [customer, state] : index_) {
    if (Allows(state, s, p)) out.emplace_back(customer);  // the same test as MaySend / MayProcess
  }
  return out;
}

::Roaring ConsentBitmapReader::Intersect(const ConsentService& service, std::string_view purpose,
                                         std::string_view channel, const ::Roaring& with) {
  const int slot = ConsentService::Slot(purpose, channel);
  if (slot < 0) return {};
  std::shared_lock lock(service.mu_);
  return service.bitmaps_->granted[static_cast<size_t>(slot)] & with;
}

::Roaring ConsentBitmapReader::Granted(const ConsentService& service, std::string_view purpose,
                                       std::string_view channel) {
  const int slot = ConsentService::Slot(purpose, channel);
  if (slot < 0) return {};
  std::shared_lock lock(service.mu_);
  return service.bitmaps_->granted[static_cast<size_t>(slot)];
}

Result<void> ConsentService::CheckSensitiveWrite(std::optional<CustomerId> customer,
                                                 std::string_view traits_json) const {
  for (const auto& key : JsonKeys(traits_json)) {
    if (IndexOf(kSensitiveTraitKeys, key) < 0) continue;
    if (customer && MayProcess(*customer, "sensitive")) return Ok();
    return Error::Aborted("traits." + key +
                          " is sensitive personal information and needs the customer's separate consent for "
                          "purpose sensitive");
  }
  return Ok();
}

Result<std::vector<storage::ConsentRecord>> ConsentService::Current(CustomerId customer) const {
  ASSIGN_OR_RETURN(auto history, store_.ListConsents(customer));
  std::map<std::pair<std::string, std::string>, storage::ConsentRecord> newest;
  for (auto& c : history) newest[{c.purpose, c.channel}] = std::move(c);
  std::vector<storage::ConsentRecord> out;
  for (auto& [key, c] : newest) out.push_back(std::move(c));
  return out;
}

Result<std::vector<storage::ConsentRecord>> ConsentService::History(CustomerId customer) const {
  return store_.ListConsents(customer);
}

}  // namespace panorama::privacy
