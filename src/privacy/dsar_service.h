#pragma once
// Data-subject requests (GDPR 15–18, 20; PIPL 44–47; CCPA): the tracker with per-jurisdiction deadlines, the
// access/portability export, restriction and legal-hold flags, and erasure with a certificate.
//
// Deadlines (from receipt): gdpr — one calendar month (Art. 12(3)); pipl — 15 days (the time limit we adopt for
// PIPL Art. 50 requests, following GB/T 35273-2020 §8.7); ccpa — 45 days (Cal. Civ. Code 1798.130(a)(2)).
// Extensions are not modelled.
//
// Erasure grace period (SECURITY.md §2.7): fulfilling a verified erase request schedules it (status "scheduled",
// scheduled_for = now + grace, the customer restricted meanwhile); RunDueErasures carries out the due ones
// through EraseSubject; Cancel stops one during its grace period. A grace of 0 erases at once.
//
// Thread-safety: as thread-safe as the Store, FeatureStore and ConsentService it uses; Fulfil, Cancel and
// RunDueErasures are serialised by a mutex (in one process), so a cancelled erasure is never executed.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "privacy/suppression.h"
#include "storage/records.h"
#include "storage/store.h"

namespace panorama::features {
class FeatureStore;
}

namespace panorama::privacy {

class ConsentService;

inline constexpr std::string_view kRequestKinds[] = {"access", "portability", "rectify", "erase", "restrict"};
inline constexpr std::string_view kJurisdictions[] = {"gdpr", "pipl", "ccpa"};
inline constexpr std::string_view kVerificationMethods[] = {"id_document", "account", "email", "phone", "in_person",
                                                            "other"};

// Due time of a request received at `received` under `jurisdiction`; kInvalidArgument naming "jurisdiction".
Result<Timestamp> RequestDeadline(std::string_view jurisdiction, Timestamp received);

// Keyed hash of one identifier of an erased subject (hex HMAC-SHA-256 over "type:value"), so a later import of
// the same email/phone/external id can be detected without keeping the identifier.
std::string SuppressionHash(std::string_view key, std::string_view type, std::string_view value);

// Tables whose rows about an erased subject are kept: the request log itself (accountability, GDPR 5(2)).
inline const std::vector<std::string>& ErasureKeptTables() {
  static const std::vector<std::string> kKept = {"privacy_requests"};
  return kKept;
}

// THE erasure function: deletes every row of the subject (all tables holding customer_id, merged records, merge
// lineage), forgets it in the feature store and the consent index, records suppression hashes, and returns the
// certificate JSON: {"request_id","customer_id","erased_at","tables":{name:count},"total_rows",
// "suppression_hashes":[...],"kept":["privacy_requests"]}. kNotFound for an unknown customer,
// kFailedPrecondition when the customer is on legal hold. The lead switches the row deletion to crypto-shredding
// (security/crypto) here and nowhere else.
Result<std::string> EraseSubject(storage::Store& store, features::FeatureStore& features, ConsentService& consents,
                                 CustomerId customer, int64_t request_id, Timestamp now,
                                 std::string_view suppression_key);

enum class ExportFormat { kJson, kBundle };

inline constexpr std::chrono::days kDefaultErasureGrace{7};
inline constexpr std::chrono::days kMaxErasureGrace{90};

// What one pass over the due erasures did.
struct DueErasures {
  std::vector<int64_t> erased;    // request ids carried out
  std::vector<std::string> failed;  // "request N: reason" (e.g. a legal hold set meanwhile); left scheduled
};

class DsarService final : public SuppressionCheck {
 public:
  DsarService(storage::Store& store, features::FeatureStore& features, ConsentService& consents,
              const Clock& clock, std::string suppression_key)
      : store_(store), features_(features), consents_(consents), clock_(clock),
        suppression_key_(std::move(suppression_key)) {}

  // Called after each committed erasure, for derived data outside privacy/ (segment memberships held in
  // memory): app/ wires it, so privacy does not depend on those parts. Set before serving.
  void set_erasure_listener(std::function<void(CustomerId)> listener) { erasure_listener_ = std::move(listener); }
  // Grace period of erase requests (0..90 days; 0 erases at once). kInvalidArgument naming "erasure-grace-days".
  Result<void> set_erasure_grace(std::chrono::days grace);
  std::chrono::days erasure_grace() const { return grace_; }

  // Opens a request; kInvalidArgument naming kind / jurisdiction / note; kNotFound for an unknown customer.
  // A merged-away customer id is resolved to its survivor.
  Result<storage::PrivacyRequestRecord> Open(CustomerId customer, std::string_view kind,
                                             std::string_view jurisdiction, std::string_view note);
  Result<storage::PrivacyRequestRecord> Get(int64_t id) { return store_.GetPrivacyRequest(id); }
  Result<std::vector<storage::PrivacyRequestRecord>> List(const storage::PrivacyRequestQuery& query);
  // Open requests past their due time now.
  Result<std::vector<storage::PrivacyRequestRecord>> Overdue(int limit = 1000);

  // Carries out an open request: access/portability → records a summary (rows per table) and returns the export
  // bundle; erase → with a grace period, schedules it ({"request_id","status":"scheduled","scheduled_for"}) and
  // restricts the customer; without, EraseSubject, certificate stored as the result and returned; restrict → sets the
  // restriction flag; rectify → closes it (the fields are changed through PATCH /customers/{id}, which
  // validates them). kFailedPrecondition when the request is not open, its requester is not verified, or the
  // customer is on legal hold.
  // `format` kBundle (access/portability only, else kInvalidArgument naming "format"): the ZIP bundle of
  // subject_bundle.h instead of the JSON document.
  Result<std::string> Fulfil(int64_t id, ExportFormat format = ExportFormat::kJson);
  // Records that staff checked the requester's identity (`method`: one of kVerificationMethods; `actor` who).
  // kInvalidArgument naming "method", kFailedPrecondition when the request is not open or already verified,
  // kNotFound for an unknown request.
  Result<storage::PrivacyRequestRecord> Verify(int64_t id, std::string_view method, std::string_view actor);
  // Closes an open request as rejected with a reason (also when the identity could not be verified).
  Result<storage::PrivacyRequestRecord> Reject(int64_t id, std::string_view reason);
  // Cancels a scheduled erasure during its grace period (status "cancelled"; the restriction it set is lifted
  // unless the customer was restricted before). kFailedPrecondition when the request is not scheduled.
  Result<storage::PrivacyRequestRecord> Cancel(int64_t id, std::string_view actor);
  // Carries out every scheduled erasure whose time has come (serve runs it periodically; `panorama privacy
  // run-due` once). The state is all in the database, so a restart in between loses nothing.
  Result<DueErasures> RunDueErasures();

  // The whole subject as JSON (GDPR 15/20): {"format":"panorama-subject-export/1","customer_id",
  // "generated_at","tables":{name:[{column:value}]}} with one member per table the schema walker finds.
  Result<std::string> Export(CustomerId customer);
  // The same rows as a ZIP: JSON Lines and CSV per table plus manifest.json (privacy/subject_bundle.h).
  Result<std::string> ExportBundle(CustomerId customer);

  Result<void> SetFlags(CustomerId customer, std::optional<bool> legal_hold, std::optional<bool> restricted);
  // SuppressionCheck
  Result<bool> IsSuppressed(std::string_view type, std::string_view value) override;

 private:
  // Erases the subject of `r` (an erase request) now and completes the request; mu_ held.
  Result<std::string> ExecuteErasure(storage::PrivacyRequestRecord& r);

  storage::Store& store_;
  features::FeatureStore& features_;
  ConsentService& consents_;
  const Clock& clock_;
  std::string suppression_key_;
  std::function<void(CustomerId)> erasure_listener_;
  std::chrono::days grace_ = kDefaultErasureGrace;
  std::mutex mu_;  // serialises Fulfil, Cancel and RunDueErasures
};

}  // namespace panorama::privacy
