#pragma once
// In-memory columnar feature store (DESIGN.md §2): per-customer running aggregates over a dense
// customer index, rebuilt from the Store at start and updated in place by ingest, so analytics cost
// O(customers).

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <optional>
#include <shared_mutex>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"

namespace panorama::storage {
class Store;
}

namespace panorama::features {

// What the feature store knows about one customer, as of a given `now`.
struct CustomerFeatures {
  std::optional<Timestamp> first_order_at;  // empty when the customer has no order
  std::optional<Timestamp> last_order_at;
  int64_t order_count = 0;
  int64_t total_spend_base_minor = 0;  // base currency (CNY) minor units, summed as written
  // (last_order_at − first_order_at) / (order_count − 1), in days; empty below two orders.
  std::optional<double> avg_days_between_orders;
  std::optional<Timestamp> last_event_at;
  int64_t event_count = 0;
  // Events whose UTC day lies in [day(now) − 29, day(now)]: the 30 calendar days ending today,
  // exact at day granularity (see FeatureStore for the one case where it is not exact).
  int64_t event_count_30d = 0;

  friend bool operator==(const CustomerFeatures&, const CustomerFeatures&) = default;
};

namespace internal {
struct Columns;
}

// Read-only view of every slot's columns, for analytics that scan all customers (RFM, segments):
// index i is one slot. Only slots with live[i] == FeatureColumns::kLive are customers to count; the
// others were merged away or erased. Times are milliseconds since the epoch, kNoTime when absent.
// Valid only inside the ReadColumns callback.
struct FeatureColumns {
  static constexpr uint8_t kLive = 0;
  static constexpr int64_t kNoTime = INT64_MIN;
  std::span<const int64_t> customer_id;
  std::span<const uint8_t> live;  // kLive, or a non-zero state (merged, erased)
  std::span<const int64_t> first_order_ms;
  std::span<const int64_t> last_order_ms;
  std::span<const uint32_t> order_count;
  std::span<const int64_t> total_spend_base_minor;
  std::span<const int64_t> last_event_ms;
  std::span<const uint32_t> event_count;  // saturates at UINT32_MAX
  size_t size() const { return customer_id.size(); }
};

// Layout: one slot per customer id ever seen, in arrays (struct of arrays) with the slot's customer
// id beside them; CustomerId → slot
// through a direct table while ids are dense (SQLite rowids are) and a hash map for outliers. Times
// are kept as int64 milliseconds, so nothing is lost to rounding. Memory is about 61 bytes per
// customer plus 136 bytes per customer with an event in the last ~31 days (its 32 per-day
// counters and their owner); MemoryBytes() reports it.
//
// 30-day window: a customer with a recent event owns a block of 32 per-day counters from a shared
// pool (a ring indexed by day mod 32, anchored at the newest day written); the others hold only a
// 4-byte "no block" mark. Blocks are allocated only for events at most 31 days before the clock's
// today and are returned to the pool once their newest day falls out of the window. Counts are
// exact whenever day(now) is at least the customer's newest event day − 2 and at least the clock's
// day at ingest − 1, which holds when `now` is the clock's present; an earlier `now` may miss days
// that had already left the ring. Each customer also has its 30-day total for the clock's day, updated
// with every event and merge and recomputed for every block's owner once when the day changes, so that
// ScanEventCount30d reads one number per customer, in order, instead of summing 30 days per block.
//
// Merges: OnMerge folds `from` into `into` and marks `from` merged; later updates addressed to
// `from` go to `into`, and Get(from) is empty. OnErase forgets a customer (Get is empty; the slot
// is not reused until the next Rebuild). Updates for unknown customers create them. Invalid ids (≤
// 0) are ignored.
//
// Thread-safety: all methods may be called from any thread; readers (Get, size, MemoryBytes) share
// a std::shared_mutex, updates take it exclusively. Rebuild builds the new columns without holding
// the lock and swaps them in, so readers keep being served; updates that race with a Rebuild may be
// lost, so rebuild before ingest starts.
class FeatureStore {
 public:
  // `clock` must outlive the store; it decides which events are recent enough to need window
  // counters.
  explicit FeatureStore(const Clock& clock);
  ~FeatureStore();
  FeatureStore(const FeatureStore&) = delete;
  FeatureStore& operator=(const FeatureStore&) = delete;

  // Replaces the contents with aggregates computed from the store's customers, orders and events.
  // Scans orders and events concurrently (one extra thread, joined before returning), as the Store
  // contract allows. On error (the store's error codes, e.g. kUnavailable) the previous contents
  // stay and loaded() does not change.
  Result<void> Rebuild(storage::Store& store);

  void OnCustomer(CustomerId id);
  void OnOrder(CustomerId id, Timestamp placed_at, int64_t total_base_minor);
  void OnEvent(CustomerId id, Timestamp at);
  // Combines `from`'s aggregates into `into` (both created if unknown). A self-merge, or a merge of
  // a customer already merged away, is a no-op.
  void OnMerge(CustomerId from, CustomerId into);
  void OnErase(CustomerId id);

  // Empty for unknown, merged-away and erased customers.
  std::optional<CustomerFeatures> Get(CustomerId id, Timestamp now) const;

  // Calls `read` once with a view of all columns while holding the shared lock: updates wait until it
  // returns, so keep the callback to a scan (no I/O, no calls back into this store).
  void ReadColumns(const std::function<void(const FeatureColumns&)>& read) const;

  // Calls `fn` for every live customer whose event_count_30d as of `now` (see CustomerFeatures) is not
  // zero, with that count, in slot order (mostly ascending ids); everyone else has 0. For the clock's day
  // it reads the kept totals in one pass over the slots; for another day it sums the window pool's rings.
  // Runs under the shared lock: keep `fn` to a cheap collect. The first scan of a new day (as of the
  // clock) before any update takes the lock exclusively once to recompute the totals.
  void ScanEventCount30d(Timestamp now, const std::function<void(CustomerId, int64_t)>& fn) const;

  // Live customers: neither merged away nor erased.
  int64_t size() const;
  // Bytes held by the columns, index and window pool (capacities, not sizes).
  int64_t MemoryBytes() const;
  // True once a Rebuild has succeeded.
  bool loaded() const;

 private:
  const Clock& clock_;

  // Guarded by mutex_:
  mutable std::shared_mutex mutex_;
  std::unique_ptr<internal::Columns> columns_;
  bool loaded_ = false;
};

}  // namespace panorama::features
