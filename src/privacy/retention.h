#pragma once
// Retention (GDPR 5(1)(e), PIPL 19): per data class, rows older than a maximum age are deleted or anonymised
// (free text and identifiers stripped, the row kept for aggregates). Customers on legal hold are exempt. A run
// is idempotent: a second run at the same time changes 0 rows. `panorama retention run` and a daily job in
// `panorama serve` call RunRetention.

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/time.h"

namespace panorama::storage {
class Store;
}

namespace panorama::privacy {

struct RetentionPolicy {
  std::string data_class;   // events | interactions | segment_events
  int max_age_days = 0;     // 0 = keep forever
  bool anonymise = false;   // false: delete (segment_events: delete only)
};

inline constexpr int kDefaultSegmentEventsDays = 400;

// Defaults: raw events deleted after 25 months (761 days); interactions anonymised after 3 years (1096 days);
// the segments' entered/exited feed (segment_events) deleted after 400 days (kDefaultSegmentEventsDays).
std::vector<RetentionPolicy> DefaultRetentionPolicies();

struct RetentionReport {
  struct Line {
    std::string data_class;
    std::string action;  // delete | anonymise
    Timestamp cutoff;
    int64_t rows = 0;
  };
  std::vector<Line> lines;
  int64_t total_rows = 0;
};

// kInvalidArgument naming "data_class" / "max_age_days" / "anonymise" (segment_events can only be deleted) for
// a bad policy (nothing is changed then).
Result<RetentionReport> RunRetention(storage::Store& store, const std::vector<RetentionPolicy>& policies,
                                     Timestamp now);

}  // namespace panorama::privacy
