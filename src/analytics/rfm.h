#pragma once
// RFM scoring (docs/segments.md "RFM"): recency, frequency and monetary value per customer with at least one
// order, quintile scores 1..5 and a named segment from a score map (first matching rule wins).
//
// Tie rule: customers are ranked by value, ties broken by ascending customer id (pandas
// rank(method="first") over rows sorted by customer id); the 1-based rank x of n scored customers gets
// quintile q = max(1, ceil(5·(x−1)/(n−1))) — exactly pandas qcut(rank, 5) with its linear quantile edges
// 1 + (n−1)·k/5 — computed in integers. Frequency and monetary score = q; recency is ranked by days since
// the last order, so the recent customers have a low q, and scores 6 − q (recent = 5).
//
// Pure functions, no locking: thread-safe as long as their inputs are not changed meanwhile.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"

namespace panorama::features {
struct FeatureColumns;
}

namespace panorama::analytics {

struct ScoreRange {
  int min = 1;
  int max = 5;
  bool Contains(int score) const { return score >= min && score <= max; }
  friend bool operator==(const ScoreRange&, const ScoreRange&) = default;
};

// One row of the score map: customers whose R, F and M scores all lie in the ranges belong to `segment`.
struct RfmRule {
  std::string segment;
  ScoreRange r, f, m;
  friend bool operator==(const RfmRule&, const RfmRule&) = default;
};

// Rules are tried in order, the first match names the segment; no match gives `default_segment`.
struct ScoreMap {
  std::vector<RfmRule> rules;
  std::string default_segment;
  friend bool operator==(const ScoreMap&, const ScoreMap&) = default;
};

inline constexpr size_t kMaxScoreMapRules = 64;
inline constexpr size_t kMaxSegmentNameBytes = 64;

// The documented default (Champions … Lost), covering all 125 score triples.
ScoreMap DefaultScoreMap();
// kInvalidArgument with one violation per problem, named "rules", "rules[i].segment", "rules[i].r" (…f, m)
// or "default_segment": 1..64 rules; ranges within 1..5 with min ≤ max; names 1..64 bytes of UTF-8 text
// without control characters. New segment names are allowed.
Result<void> ValidateScoreMap(const ScoreMap& map);
// The stored form (analytics_settings "rfm.score_map"): one line per rule, "segment\tr1\tr2\tf1\tf2\tm1\tm2",
// then "default\t<segment>". Decode validates; kInvalidArgument for a corrupt value.
std::string EncodeScoreMap(const ScoreMap& map);
Result<ScoreMap> DecodeScoreMap(std::string_view text);
// Distinct segment names in map order, the default segment last unless a rule already names it.
std::vector<std::string> SegmentNames(const ScoreMap& map);

// The quintile of 1-based rank x among n (n ≥ 1), as in the tie rule above.
int QuintileOfRank(int64_t x, int64_t n);

// One customer's RFM.
struct CustomerRfm {
  CustomerId customer;
  int64_t recency_days = 0;  // whole days from the last order to as_of (never negative)
  int64_t frequency = 0;     // completed orders
  int64_t monetary_minor = 0;  // total spend, base currency minor units
  int r = 0, f = 0, m = 0;
  std::string segment;
  std::string Score() const;  // "545"
};

struct RfmCuts {
  // The value at the upper end of quintiles 1..4 of the ascending ranking (recency: in days, so quintile
  // k of recency is score 6 − k). Zeros when nobody is scored.
  std::array<int64_t, 4> recency_days{};
  std::array<int64_t, 4> frequency{};
  std::array<int64_t, 4> monetary_minor{};
};

struct RfmCell {
  int64_t customers = 0;
  int64_t revenue_minor = 0;
};

struct SegmentTotal {
  std::string name;
  int64_t customers = 0;
  int64_t revenue_minor = 0;
};

// Aggregates of a result: what GET /api/v1/rfm shows.
struct RfmSummary {
  Timestamp as_of;
  Timestamp computed_at;
  int64_t customers = 0;  // live customers
  int64_t scored = 0;     // with at least one order
  RfmCuts cuts;
  std::array<RfmCell, 25> grid{};  // index (r − 1) · 5 + (f − 1)
  std::vector<SegmentTotal> segments;  // SegmentNames(map) order
};

// Per-customer scores in parallel arrays (struct of arrays): entries [0, sorted_count) ascending by
// customer id; entries after it were added incrementally since the last full computation.
struct RfmResult {
  RfmSummary summary;
  std::vector<std::string> segment_names;
  std::vector<int64_t> customer_id;
  std::vector<int64_t> last_order_ms;
  std::vector<int32_t> recency_days;
  std::vector<int64_t> frequency;
  std::vector<int64_t> monetary_minor;
  std::vector<uint8_t> r, f, m;
  std::vector<uint8_t> segment;  // index into segment_names
  size_t sorted_count = 0;
  std::unordered_map<int64_t, size_t> tail_index;  // customer id → entry, for entries ≥ sorted_count

  std::optional<size_t> Find(CustomerId id) const;
  CustomerRfm At(size_t i) const;
};

// Scored customers' raw values, any order: parallel arrays.
struct RfmInput {
  std::vector<int64_t> customer_id;
  std::vector<int64_t> last_order_ms;
  std::vector<int64_t> frequency;
  std::vector<int64_t> monetary_minor;
};

// Full computation. `live_customers` is reported as summary.customers; the result is stamped with
// `computed_at`.
RfmResult ScoreRfm(RfmInput input, int64_t live_customers, Timestamp as_of, const ScoreMap& map,
                   Timestamp computed_at);
// A full computation from the feature store (what RfmService does) in two steps, so that only the first runs
// under the feature store's lock: Take() copies the live customers with orders straight into the result's
// arrays (one pass over the columns, which also counts each metric's values per quantised key), Score() ranks,
// scores, names segments and adds up the summary. The same answer as ScoreRfm(InputFromColumns(...)).
// Construct it with the previous result (std::move, nobody else may read it any more) to reuse its arrays'
// memory: at 10M customers, faulting in and zero-filling fresh arrays costs more than the scoring.
// Recency is ranked on whole days clamped to INT32_MAX (as stored in recency_days).
class RfmComputation {
 public:
  explicit RfmComputation(RfmResult reuse = {});
  ~RfmComputation();
  RfmComputation(const RfmComputation&) = delete;
  RfmComputation& operator=(const RfmComputation&) = delete;

  // Step 1, inside FeatureStore::ReadColumns; `columns` are not kept.
  void Take(const features::FeatureColumns& columns, Timestamp as_of);
  int64_t live_customers() const { return live_; }
  // Step 2, without the lock; call once.
  RfmResult Score(const ScoreMap& map, Timestamp computed_at);

 private:
  struct Counts;
  RfmResult result_;
  std::unique_ptr<Counts> counts_;
  Timestamp as_of_;
  int64_t live_ = 0;
};

// The input from the feature store's columns: live slots with at least one order.
RfmInput InputFromColumns(const features::FeatureColumns& columns, int64_t* live_customers);
// The input from raw orders as columns (customer, time in ms, amount in minor units), customer ids dense
// in [1, max_customer_id]: one pass into per-id arrays.
RfmInput InputFromOrders(std::span<const int64_t> customer, std::span<const int64_t> placed_ms,
                         std::span<const int64_t> amount_minor, int64_t max_customer_id);

// Rescores one customer against fixed cut points (incremental update between full computations): the
// quintile is 1 + the number of cuts strictly below the value, so ties on a cut go to the lower quintile.
void ScoreAgainstCuts(const RfmCuts& cuts, const ScoreMap& map, CustomerRfm& rfm);
// The segment of a score triple under `map`, as an index into SegmentNames(map).
int SegmentOf(const ScoreMap& map, const std::vector<std::string>& names, int r, int f, int m);

}  // namespace panorama::analytics
