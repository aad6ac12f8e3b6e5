#include "features/feature_store.h"

#include <algorithm>
#include <array>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/money.h"
#include "storage/store.h"

namespace panorama::features {
namespace internal {
namespace {

constexpr int64_t kNoTime = std::numeric_limits<int64_t>::min();
constexpr uint32_t kNoSlot = std::numeric_limits<uint32_t>::max();
constexpr int64_t kMillisPerDay = 86'400'000;
// The window is the 30 calendar days ending today; the ring holds 32 so that an event up to two
// days older than the newest one still lands in its own bucket, and so that "day mod 32" is a mask.
constexpr int64_t kWindowDays = 30;
constexpr int64_t kRingDays = 32;
// Below this many allocations a sweep for expired blocks is not worth a pass over the pool.
constexpr uint32_t kMinAllocationsBetweenSweeps = 1024;

enum State : uint8_t { kLive = 0, kMerged = 1, kErased = 2 };

// Floor division: events before 1970 still fall on the right day.
int64_t DayOf(int64_t millis) {
  int64_t day = millis / kMillisPerDay;
  return (millis % kMillisPerDay < 0) ? day - 1 : day;
}

size_t RingIndex(int64_t day) { return static_cast<size_t>(day & (kRingDays - 1)); }

uint32_t SaturatingAdd32(uint32_t a, uint32_t b) { return a > UINT32_MAX - b ? UINT32_MAX : a + b; }

}  // namespace

// Per-day event counters for the days (newest_day − 32, newest_day], bucket = day mod 32.
struct WindowBlock {
  int32_t newest_day = 0;
  std::array<uint32_t, kRingDays> counts{};

  uint32_t CountOn(int64_t day) const {
    return (day <= newest_day && day > newest_day - kRingDays) ? counts[RingIndex(day)] : 0;
  }
  // Events in the 30 days ending `today`.
  uint32_t CountIn30Days(int64_t today) const {
    uint32_t sum = 0;
    for (int64_t d = today - kWindowDays + 1; d <= today; ++d) {
      sum += CountOn(d);
    }
    return sum;
  }
};

// Struct of arrays indexed by slot. Not synchronised: FeatureStore holds the lock.
struct Columns {
  int64_t slots = 0;
  std::vector<int64_t> customer_id;  // slot → the id it was created for
  std::vector<int64_t> first_order_ms;
  std::vector<int64_t> last_order_ms;
  std::vector<uint32_t> order_count;
  std::vector<int64_t> spend;
  std::vector<int64_t> last_event_ms;
  // uint32 like order_count (saturating: 4 billion events from one customer is a broken feed, not a customer),
  // which keeps the store within DESIGN §5's 200 bytes per customer when every customer has a window block.
  std::vector<uint32_t> event_count;
  std::vector<uint32_t> window;  // index into blocks, or kNoSlot
  // Events in the 30 days ending `totals_day`, kept up to date by every update (0 without a block) and
  // recomputed for every block's owner when the clock's day moves on (RollTotals). Per slot, not per block,
  // so that ScanEventCount30d reads the slots in order instead of jumping from a recycled block to its owner.
  std::vector<uint32_t> window_total;
  int64_t totals_day = 0;
  std::vector<uint8_t> state;

  // CustomerId → slot: direct table for dense ids, hash map for the rest.
  std::vector<uint32_t> direct;
  std::unordered_map<int64_t, uint32_t> sparse;
  std::unordered_map<uint32_t, uint32_t> merged_into;  // merged-away slot → slot it was merged into

  std::vector<WindowBlock> blocks;
  std::vector<uint32_t> block_owner;  // the slot using each block; kNoSlot when free
  std::vector<uint32_t> free_blocks;
  uint32_t allocations_since_sweep = 0;
  int64_t live = 0;

  uint32_t Find(int64_t id) const {
    if (id >= 0 && static_cast<uint64_t>(id) < direct.size()) {
      return direct[static_cast<size_t>(id)];
    }
    auto it = sparse.find(id);
    return it == sparse.end() ? kNoSlot : it->second;
  }

  uint32_t FindOrAdd(int64_t id) {
    uint32_t found = Find(id);
    if (found != kNoSlot) {
      return found;
    }
    auto slot = static_cast<uint32_t>(slots++);
    customer_id.push_back(id);
    first_order_ms.push_back(kNoTime);
    last_order_ms.push_back(kNoTime);
    order_count.push_back(0);
    spend.push_back(0);
    last_event_ms.push_back(kNoTime);
    event_count.push_back(0);
    window.push_back(kNoSlot);
    window_total.push_back(0);
    state.push_back(kLive);
    ++live;
    Index(id, slot);
    return slot;
  }

  void Index(int64_t id, uint32_t slot) {
    if (static_cast<uint64_t>(id) < direct.size()) {
      direct[static_cast<size_t>(id)] = slot;
      return;
    }
    // Grow the direct table only while ids stay dense: at most ~2 entries per customer plus a fixed
    // slack.
    const uint64_t dense_limit = 2 * static_cast<uint64_t>(slots) + 65536;
    if (static_cast<uint64_t>(id) >= dense_limit) {
      sparse[id] = slot;
      return;
    }
    size_t new_size = std::max<size_t>(static_cast<size_t>(id) + 1, direct.size() * 2);
    new_size = std::min<size_t>(new_size, dense_limit);
    // Each growth rescans the sparse map; grow only by at least its size, so that ids arriving shuffled (the
    // limit creeping up one slot at a time) cost amortised O(1) each rather than a rescan per id.
    if (new_size - direct.size() < sparse.size()) {
      sparse[id] = slot;
      return;
    }
    direct.resize(new_size, kNoSlot);
    direct[static_cast<size_t>(id)] = slot;
    for (auto it = sparse.begin(); it != sparse.end();) {
      if (static_cast<uint64_t>(it->first) < direct.size()) {
        direct[static_cast<size_t>(it->first)] = it->second;
        it = sparse.erase(it);
      } else {
        ++it;
      }
    }
  }

  void Unindex(int64_t id) {
    if (id >= 0 && static_cast<uint64_t>(id) < direct.size()) {
      direct[static_cast<size_t>(id)] = kNoSlot;
    } else {
      sparse.erase(id);
    }
  }

  // Where updates for `slot` land: follows merges; kNoSlot when they have nowhere to go.
  uint32_t Target(uint32_t slot) const {
    while (slot != kNoSlot && state[slot] == kMerged) {
      auto it = merged_into.find(slot);
      slot = it == merged_into.end() ? kNoSlot : it->second;
    }
    if (slot != kNoSlot && state[slot] == kErased) {
      return kNoSlot;
    }
    return slot;
  }

  void AddOrder(uint32_t slot, int64_t ms, int64_t amount) {
    if (order_count[slot] == 0 || ms < first_order_ms[slot]) {
      first_order_ms[slot] = ms;
    }
    if (order_count[slot] == 0 || ms > last_order_ms[slot]) {
      last_order_ms[slot] = ms;
    }
    order_count[slot] = SaturatingAdd32(order_count[slot], 1);
    spend[slot] = SaturatingAddMinor(spend[slot], amount);
  }

  void AddEvent(uint32_t slot, int64_t ms, int64_t today) {
    event_count[slot] = SaturatingAdd32(event_count[slot], 1);
    last_event_ms[slot] = std::max(last_event_ms[slot], ms);
    CountInWindow(slot, DayOf(ms), today);
  }

  // The window part of AddEvent. The ring's contents do not depend on the order events arrive in.
  void CountInWindow(uint32_t slot, int64_t day, int64_t today) {
    if (window[slot] == kNoSlot) {
      if (day < today - (kRingDays - 1)) {
        return;  // cannot be in the window of any present or future `now`
      }
      window[slot] = AllocateBlock(slot, day, today);
    }
    const uint32_t b = window[slot];
    WindowBlock& block = blocks[b];
    if (day > block.newest_day) {
      for (int64_t d = block.newest_day + 1; d <= day && d <= block.newest_day + kRingDays; ++d) {
        block.counts[RingIndex(d)] = 0;
      }
      block.newest_day = static_cast<int32_t>(day);
      ++block.counts[RingIndex(day)];
      window_total[slot] = block.CountIn30Days(totals_day);  // days may have left the ring: count afresh
      return;
    }
    if (day <= block.newest_day - kRingDays) {
      return;  // older than the ring holds; outside the window of any now ≥ the newest event
    }
    ++block.counts[RingIndex(day)];
    if (day <= totals_day && day > totals_day - kWindowDays) {
      ++window_total[slot];
    }
  }

  // Makes window_total count the 30 days ending `today`. A pass over every block, once per day (the
  // first update or scan after midnight UTC); a few milliseconds per million active customers.
  void RollTotals(int64_t today) {
    if (today == totals_day) {
      return;
    }
    totals_day = today;
    for (size_t b = 0; b < blocks.size(); ++b) {
      if (block_owner[b] != kNoSlot) {
        window_total[block_owner[b]] = blocks[b].CountIn30Days(today);
      }
    }
  }

  uint32_t AllocateBlock(uint32_t owner, int64_t day, int64_t today) {
    if (free_blocks.empty() &&
        allocations_since_sweep >=
            std::max<size_t>(kMinAllocationsBetweenSweeps, blocks.size() / 4)) {
      Sweep(today);
    }
    ++allocations_since_sweep;
    uint32_t index = 0;
    if (free_blocks.empty()) {
      index = static_cast<uint32_t>(blocks.size());
      blocks.emplace_back();
      block_owner.push_back(kNoSlot);
    } else {
      index = free_blocks.back();
      free_blocks.pop_back();
    }
    WindowBlock& block = blocks[index];
    block.newest_day = static_cast<int32_t>(day);
    block.counts.fill(0);
    block_owner[index] = owner;
    window_total[owner] = 0;
    return index;
  }

  void FreeBlock(uint32_t slot) {
    if (window[slot] == kNoSlot) {
      return;
    }
    block_owner[window[slot]] = kNoSlot;
    window_total[slot] = 0;
    free_blocks.push_back(window[slot]);
    window[slot] = kNoSlot;
  }

  // Returns the blocks whose newest day has left every window from `today` on.
  void Sweep(int64_t today) {
    allocations_since_sweep = 0;
    for (uint32_t i = 0; i < blocks.size(); ++i) {
      if (block_owner[i] != kNoSlot && blocks[i].newest_day < today - (kWindowDays - 1)) {
        FreeBlock(block_owner[i]);
      }
    }
  }

  void MergeInto(uint32_t from, uint32_t into) {
    if (order_count[from] > 0) {
      if (order_count[into] == 0 || first_order_ms[from] < first_order_ms[into]) {
        first_order_ms[into] = first_order_ms[from];
      }
      if (order_count[into] == 0 || last_order_ms[from] > last_order_ms[into]) {
        last_order_ms[into] = last_order_ms[from];
      }
    }
    order_count[into] = SaturatingAdd32(order_count[into], order_count[from]);
    spend[into] = SaturatingAddMinor(spend[into], spend[from]);
    last_event_ms[into] = std::max(last_event_ms[into], last_event_ms[from]);
    event_count[into] = SaturatingAdd32(event_count[into], event_count[from]);
    MergeWindow(from, into);
    ClearAggregates(from);
    state[from] = kMerged;
    merged_into[from] = into;
    --live;
  }

  void MergeWindow(uint32_t from, uint32_t into) {
    if (window[from] == kNoSlot) {
      return;
    }
    if (window[into] == kNoSlot) {
      window[into] = window[from];
      block_owner[window[into]] = into;
      window_total[into] = window_total[from];
      window[from] = kNoSlot;
      window_total[from] = 0;
      return;
    }
    const WindowBlock& a = blocks[window[from]];
    WindowBlock& b = blocks[window[into]];
    const int64_t newest = std::max(a.newest_day, b.newest_day);
    std::array<uint32_t, kRingDays> merged{};
    for (int64_t d = newest - kRingDays + 1; d <= newest; ++d) {
      merged[RingIndex(d)] = a.CountOn(d) + b.CountOn(d);
    }
    b.counts = merged;
    b.newest_day = static_cast<int32_t>(newest);
    window_total[into] = b.CountIn30Days(totals_day);
    FreeBlock(from);
  }

  void ClearAggregates(uint32_t slot) {
    first_order_ms[slot] = kNoTime;
    last_order_ms[slot] = kNoTime;
    order_count[slot] = 0;
    spend[slot] = 0;
    last_event_ms[slot] = kNoTime;
    event_count[slot] = 0;
    FreeBlock(slot);
  }

  void Erase(uint32_t slot, int64_t id) {
    if (state[slot] == kLive) {
      --live;
    }
    ClearAggregates(slot);
    state[slot] = kErased;
    merged_into.erase(slot);
    Unindex(id);
  }

  CustomerFeatures Read(uint32_t slot, Timestamp now) const {
    CustomerFeatures f;
    f.order_count = order_count[slot];
    f.total_spend_base_minor = spend[slot];
    if (order_count[slot] > 0) {
      f.first_order_at = FromUnixMillis(first_order_ms[slot]);
      f.last_order_at = FromUnixMillis(last_order_ms[slot]);
    }
    if (order_count[slot] > 1) {
      const double span_days =
          static_cast<double>(last_order_ms[slot] - first_order_ms[slot]) / kMillisPerDay;
      f.avg_days_between_orders = span_days / static_cast<double>(order_count[slot] - 1);
    }
    f.event_count = event_count[slot];
    if (event_count[slot] > 0) {
      f.last_event_at = FromUnixMillis(last_event_ms[slot]);
    }
    if (window[slot] != kNoSlot) {
      f.event_count_30d = blocks[window[slot]].CountIn30Days(DayOf(ToUnixMillis(now)));
    }
    return f;
  }

  void ShrinkToFit() {
    while (!direct.empty() && direct.back() == kNoSlot) {
      direct.pop_back();
    }
    direct.shrink_to_fit();
    first_order_ms.shrink_to_fit();
    last_order_ms.shrink_to_fit();
    order_count.shrink_to_fit();
    spend.shrink_to_fit();
    last_event_ms.shrink_to_fit();
    event_count.shrink_to_fit();
    customer_id.shrink_to_fit();
    window.shrink_to_fit();
    state.shrink_to_fit();
    blocks.shrink_to_fit();
    block_owner.shrink_to_fit();
    window_total.shrink_to_fit();
  }

  int64_t Bytes() const {
    auto bytes = [](const auto& v) {
      return static_cast<int64_t>(v.capacity() *
                                  sizeof(typename std::decay_t<decltype(v)>::value_type));
    };
    // Hash maps: one node (key, value, next pointer, cached hash) per entry plus a bucket pointer.
    auto map_bytes = [](const auto& m) {
      using Map = std::decay_t<decltype(m)>;
      return static_cast<int64_t>(m.size() *
                                      (sizeof(typename Map::value_type) + 2 * sizeof(void*)) +
                                  m.bucket_count() * sizeof(void*));
    };
    return bytes(customer_id) + bytes(first_order_ms) + bytes(last_order_ms) + bytes(order_count) + bytes(spend) +
           bytes(last_event_ms) + bytes(event_count) + bytes(window) + bytes(window_total) + bytes(state) +
           bytes(direct) + bytes(blocks) + bytes(block_owner) + bytes(free_blocks) + map_bytes(sparse) +
           map_bytes(merged_into);
  }
};

}  // namespace internal

namespace {
using internal::kNoSlot;

int64_t TodayOf(const Clock& clock) { return internal::DayOf(ToUnixMillis(clock.Now())); }
}  // namespace

FeatureStore::FeatureStore(const Clock& clock)
    : clock_(clock), columns_(std::make_unique<internal::Columns>()) {}

FeatureStore::~FeatureStore() = default;

// Rebuild, after indexing the customers, scans orders and events at the same time on two threads:
// the Store serves concurrent reads on separate connections, and most of a cold start is the store
// producing rows. Each scan writes only its own staging array, indexed by slot, and reads the
// customer index, which nobody changes meanwhile; facts of customers the index does not know yet
// are set aside and applied afterwards.
//
// The staging arrays hold one small struct per customer so that each fact costs one cache miss
// rather than one per column (facts arrive in the store's order, i.e. random customers); they are
// scattered into the columns at the end. Facts of customers merged away are not expected (the store
// moves them to the survivor), so no merge forwarding is applied here.
namespace {
struct alignas(32) OrderSums {
  int64_t first_ms = 0;
  int64_t last_ms = 0;
  int64_t spend = 0;
  uint32_t count = 0;
};

struct alignas(16) EventSums {
  int64_t last_ms = 0;
  int64_t count = 0;
};

struct RecentEvent {
  uint32_t slot;
  int32_t day;
};

void AddToSums(OrderSums& o, int64_t ms, int64_t amount) {
  if (o.count == 0 || ms < o.first_ms) {
    o.first_ms = ms;
  }
  if (o.count == 0 || ms > o.last_ms) {
    o.last_ms = ms;
  }
  o.spend = SaturatingAddMinor(o.spend, amount);
  o.count = internal::SaturatingAdd32(o.count, 1);
}
}  // namespace

Result<void> FeatureStore::Rebuild(storage::Store& store) {
  auto fresh = std::make_unique<internal::Columns>();
  const int64_t today = TodayOf(clock_);
  internal::Columns& c = *fresh;
  c.totals_day = today;
  RETURN_IF_ERROR(store.ScanCustomerIds([&](CustomerId id, bool merged) {
    if (!id.valid()) {
      return;
    }
    uint32_t slot = c.FindOrAdd(id.value());
    if (merged && c.state[slot] == internal::kLive) {
      c.state[slot] =
          internal::kMerged;  // its rows were moved to the survivor; no forwarding target known
      --c.live;
    }
  }));

  const auto known = static_cast<size_t>(c.slots);
  std::vector<OrderSums> order_sums(known);
  std::vector<storage::Store::OrderFact> unknown_orders;
  std::vector<EventSums> event_sums(known);
  std::vector<RecentEvent> recent_events;
  std::vector<storage::Store::EventFact> unknown_events;
  const int64_t oldest_window_day = today - (internal::kRingDays - 1);

  Result<void> events_scanned = Ok();
  std::thread event_scan([&] {
    events_scanned = store.ScanEventFacts([&](const storage::Store::EventFact& fact) {
      const uint32_t slot = c.Find(fact.customer.value());
      if (slot == kNoSlot) {
        if (fact.customer.valid()) {
          unknown_events.push_back(fact);
        }
        return;
      }
      const int64_t ms = ToUnixMillis(fact.timestamp);
      EventSums& e = event_sums[slot];
      e.last_ms = e.count == 0 ? ms : std::max(e.last_ms, ms);
      ++e.count;
      const int64_t day = internal::DayOf(ms);
      if (day >= oldest_window_day) {
        recent_events.push_back({slot, static_cast<int32_t>(day)});
      }
    });
  });
  Result<void> orders_scanned = store.ScanOrderFacts([&](const storage::Store::OrderFact& fact) {
    const uint32_t slot = c.Find(fact.customer.value());
    if (slot == kNoSlot) {
      if (fact.customer.valid()) {
        unknown_orders.push_back(fact);
      }
      return;
    }
    AddToSums(order_sums[slot], ToUnixMillis(fact.placed_at), fact.total_base_minor);
  });
  event_scan.join();
  RETURN_IF_ERROR(orders_scanned);
  RETURN_IF_ERROR(events_scanned);

  for (size_t slot = 0; slot < known; ++slot) {
    const OrderSums& o = order_sums[slot];
    if (o.count > 0) {
      c.first_order_ms[slot] = o.first_ms;
      c.last_order_ms[slot] = o.last_ms;
      c.order_count[slot] = o.count;
      c.spend[slot] = o.spend;
    }
    const EventSums& e = event_sums[slot];
    if (e.count > 0) {
      c.last_event_ms[slot] = e.last_ms;
      c.event_count[slot] = static_cast<uint32_t>(std::min<int64_t>(e.count, UINT32_MAX));
    }
  }
  order_sums = {};
  event_sums = {};
  for (const RecentEvent& r : recent_events) {
    c.CountInWindow(r.slot, r.day, today);
  }
  for (const auto& fact : unknown_orders) {
    c.AddOrder(c.FindOrAdd(fact.customer.value()), ToUnixMillis(fact.placed_at),
               fact.total_base_minor);
  }
  for (const auto& fact : unknown_events) {
    c.AddEvent(c.FindOrAdd(fact.customer.value()), ToUnixMillis(fact.timestamp), today);
  }
  c.ShrinkToFit();

  std::unique_lock lock(mutex_);
  columns_.swap(fresh);
  loaded_ = true;
  lock.unlock();
  return Ok();  // the old columns are freed here, outside the lock
}

void FeatureStore::OnCustomer(CustomerId id) {
  if (!id.valid()) {
    return;
  }
  std::unique_lock lock(mutex_);
  columns_->FindOrAdd(id.value());
}

void FeatureStore::OnOrder(CustomerId id, Timestamp placed_at, int64_t total_base_minor) {
  if (!id.valid()) {
    return;
  }
  std::unique_lock lock(mutex_);
  internal::Columns& c = *columns_;
  uint32_t slot = c.Target(c.FindOrAdd(id.value()));
  if (slot != kNoSlot) {
    c.AddOrder(slot, ToUnixMillis(placed_at), total_base_minor);
  }
}

void FeatureStore::OnEvent(CustomerId id, Timestamp at) {
  if (!id.valid()) {
    return;
  }
  const int64_t today = TodayOf(clock_);
  std::unique_lock lock(mutex_);
  internal::Columns& c = *columns_;
  c.RollTotals(today);  // before AllocateBlock's sweep frees blocks by `today`
  uint32_t slot = c.Target(c.FindOrAdd(id.value()));
  if (slot != kNoSlot) {
    c.AddEvent(slot, ToUnixMillis(at), today);
  }
}

void FeatureStore::OnMerge(CustomerId from, CustomerId into) {
  if (!from.valid() || !into.valid() || from == into) {
    return;
  }
  const int64_t today = TodayOf(clock_);
  std::unique_lock lock(mutex_);
  internal::Columns& c = *columns_;
  c.RollTotals(today);
  uint32_t from_slot = c.FindOrAdd(from.value());
  if (c.state[from_slot] != internal::kLive) {
    return;
  }
  uint32_t into_slot = c.Target(c.FindOrAdd(into.value()));
  if (into_slot == kNoSlot || into_slot == from_slot) {
    return;
  }
  c.MergeInto(from_slot, into_slot);
}

void FeatureStore::OnErase(CustomerId id) {
  std::unique_lock lock(mutex_);
  internal::Columns& c = *columns_;
  uint32_t slot = c.Find(id.value());
  if (slot != kNoSlot) {
    c.Erase(slot, id.value());
  }
}

std::optional<CustomerFeatures> FeatureStore::Get(CustomerId id, Timestamp now) const {
  std::shared_lock lock(mutex_);
  const internal::Columns& c = *columns_;
  uint32_t slot = c.Find(id.value());
  if (slot == kNoSlot || c.state[slot] != internal::kLive) {
    return std::nullopt;
  }
  return c.Read(slot, now);
}

void FeatureStore::ScanEventCount30d(Timestamp now,
                                     const std::function<void(CustomerId, int64_t)>& fn) const {
  const int64_t today = internal::DayOf(ToUnixMillis(now));
  std::shared_lock lock(mutex_);
  if (columns_->totals_day != today && today == TodayOf(clock_)) {
    // The first scan of a new day before any update: roll the totals once rather than sum rings on every scan.
    lock.unlock();
    {
      std::unique_lock exclusive(mutex_);
      columns_->RollTotals(today);
    }
    lock.lock();  // a Rebuild may have swapped the columns meanwhile; the check below still holds
  }
  const internal::Columns& c = *columns_;
  if (c.totals_day == today) {
    // Kept totals: one sequential pass over the slots.
    for (size_t slot = 0; slot < static_cast<size_t>(c.slots); ++slot) {
      if (c.window_total[slot] != 0 && c.state[slot] == internal::kLive) {
        fn(CustomerId(c.customer_id[slot]), c.window_total[slot]);
      }
    }
    return;
  }
  // Another day than the clock's: sum each block's ring (the same sum as Read).
  for (uint32_t b = 0; b < c.blocks.size(); ++b) {
    const uint32_t slot = c.block_owner[b];
    if (slot == kNoSlot || c.state[slot] != internal::kLive || c.window[slot] != b) {
      continue;
    }
    if (const uint32_t count = c.blocks[b].CountIn30Days(today); count != 0) {
      fn(CustomerId(c.customer_id[slot]), count);
    }
  }
}

int64_t FeatureStore::size() const {
  std::shared_lock lock(mutex_);
  return columns_->live;
}

void FeatureStore::ReadColumns(const std::function<void(const FeatureColumns&)>& read) const {
  std::shared_lock lock(mutex_);
  const internal::Columns& c = *columns_;
  const auto n = static_cast<size_t>(c.slots);
  FeatureColumns view;
  view.customer_id = {c.customer_id.data(), n};
  view.live = {c.state.data(), n};
  view.first_order_ms = {c.first_order_ms.data(), n};
  view.last_order_ms = {c.last_order_ms.data(), n};
  view.order_count = {c.order_count.data(), n};
  view.total_spend_base_minor = {c.spend.data(), n};
  view.last_event_ms = {c.last_event_ms.data(), n};
  view.event_count = {c.event_count.data(), n};
  read(view);
}

int64_t FeatureStore::MemoryBytes() const {
  std::shared_lock lock(mutex_);
  return columns_->Bytes() + static_cast<int64_t>(sizeof(internal::Columns));
}

bool FeatureStore::loaded() const {
  std::shared_lock lock(mutex_);
  return loaded_;
}

}  // namespace panorama::features
