#pragma once
// The 360° view: one call that gathers a customer's profile, identities, merge lineage, running aggregates from
// the feature store and a page of the merged timeline (events, orders, interactions), newest first.
// Later contexts (consents, segments, scores, tickets, loyalty) add their sections here.
//
// Thread-safe (stateless over a thread-safe Store and FeatureStore).

#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "features/feature_store.h"
#include "storage/records.h"

namespace panorama::storage {
class Store;
}

namespace panorama::profile {

// Opaque keyset cursor of the timeline: "<unix-ms>.<kind>.<id>".
struct TimelineCursor {
  Timestamp at;
  std::string kind;
  int64_t id = 0;
  std::string Encode() const;
  static Result<TimelineCursor> Decode(std::string_view text);  // kInvalidArgument naming "timeline_cursor"
};

struct TimelineItem {
  std::variant<storage::EventRecord, storage::OrderRecord, storage::InteractionRecord> record;
  Timestamp at;
  const char* kind() const;
};

struct CustomerView {
  storage::CustomerRecord customer;
  std::vector<storage::IdentityRecord> identities;
  std::vector<storage::MergeRecord> merges;
  // Current consent state: the newest ledger row per (purpose, channel), ordered by purpose then channel.
  std::vector<storage::ConsentRecord> consents;
  features::CustomerFeatures aggregates;
  std::string base_currency;
  std::vector<TimelineItem> timeline;
  std::optional<TimelineCursor> next_cursor;
};

struct ViewQuery {
  int timeline_limit = 20;  // 1..200
  std::optional<TimelineCursor> cursor;
};

class CustomerViewService {
 public:
  CustomerViewService(storage::Store& store, const features::FeatureStore& features, const Clock& clock,
                      std::string base_currency = "CNY");

  // A customer merged away resolves to the survivor (its id is in merges). kNotFound for unknown ids,
  // kInvalidArgument for a limit out of range. The customer shown is still live (not merged away) after the
  // last read of the view, so its timeline holds every row a merge moved to it; kUnavailable when it was
  // merged away again during each of a few attempts (the caller retries).
  Result<CustomerView> Get(CustomerId id, const ViewQuery& query) const;

  // Runs `hook` in every Get after the customer is resolved and before its timeline is read, so a test can
  // commit a write (an identity merge) exactly there. Set before the service is used concurrently.
  void SetBeforeTimelineReadForTest(std::function<void()> hook) { before_timeline_read_ = std::move(hook); }

 private:
  // One attempt: every section of the record `id` resolves to at the time of the first read.
  Result<CustomerView> Read(CustomerId id, const ViewQuery& query) const;

  storage::Store& store_;
  const features::FeatureStore& features_;
  const Clock& clock_;
  std::string base_currency_;
  std::function<void()> before_timeline_read_;
};

}  // namespace panorama::profile
