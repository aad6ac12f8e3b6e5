#include "privacy/retention.h"

#include <chrono>

#include "storage/store.h"

namespace panorama::privacy {

std::vector<RetentionPolicy> DefaultRetentionPolicies() {
  return {{"events", 761, false}, {"interactions", 1096, true}, {"segment_events", kDefaultSegmentEventsDays, false}};
}

Result<RetentionReport> RunRetention(storage::Store& store, const std::vector<RetentionPolicy>& policies,
                                     Timestamp now) {
  for (const auto& p : policies) {
    if (p.data_class != "events" && p.data_class != "interactions" && p.data_class != "segment_events") {
      return Error::InvalidField("data_class", "must be events, interactions or segment_events");
    }
    if (p.data_class == "segment_events" && p.anonymise) {
      return Error::InvalidField("anonymise", "segment_events can only be deleted");
    }
    if (p.max_age_days < 0 || p.max_age_days > 36500) {
      return Error::InvalidField("max_age_days", "must be between 0 and 36500");
    }
  }
  RetentionReport report;
  // One transaction for the whole run: a crash leaves either all classes done or none.
  Result<void> written = store.Write([&](storage::WriteTxn& txn) -> Result<void> {
    report = {};
    for (const auto& p : policies) {
      if (p.max_age_days == 0) continue;
      storage::RetentionRule rule{p.data_class, now - std::chrono::days{p.max_age_days}, p.anonymise};
      ASSIGN_OR_RETURN(int64_t rows, txn.ApplyRetention(rule));
      report.lines.push_back({p.data_class, p.anonymise ? "anonymise" : "delete", rule.cutoff, rows});
      report.total_rows += rows;
    }
    return Ok();
  });
  if (!written) return std::move(written.error());
  return report;
}

}  // namespace panorama::privacy
