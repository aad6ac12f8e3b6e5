#include "analytics/rfm.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <numeric>

#include <sys/mman.h>

#include "core/money.h"
#include "features/feature_store.h"

namespace panorama::analytics {
namespace {

int64_t WrappingAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

constexpr int64_t kDayMs = 86'400'000;

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxSegmentNameBytes) return false;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::vector<std::string_view> SplitTabs(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  return out;
}

std::optional<int> ParseScore(std::string_view text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Quintiles over a quantised key (the tie rule is in rfm.h). A value's key is monotone in the value, exact for
// −512 ≤ v < 512 and keeps 9 bits of mantissa above that, so one 64K-entry histogram per metric, counted while
// the values are copied, locates the bucket of each cut without sorting anything; only a cut whose bucket may
// hold several distinct values needs one more scan, collecting that bucket's members (a few thousand at most
// in practice) to sort them.
constexpr uint32_t kKeyCount = 65536;

[[gnu::always_inline]] inline uint32_t Magnitude(uint64_t x) {
  if (x < 512) return static_cast<uint32_t>(x);
  const int e = 63 - std::countl_zero(x);  // 9..63
  return 512 + static_cast<uint32_t>(e - 9) * 512 + static_cast<uint32_t>((x >> (e - 9)) & 511);
}

[[gnu::always_inline]] inline uint32_t KeyOf(int64_t v) {
  return v >= 0 ? 32768 + Magnitude(static_cast<uint64_t>(v)) : 32767 - Magnitude(static_cast<uint64_t>(-(v + 1)));
}

bool KeyIsExact(uint32_t key) { return key >= 32768 - 512 && key < 32768 + 512; }

// The cut points of one metric and, per key, the quintile of every value with that key (0: the key holds a cut,
// compare the value itself).
struct Plan {
  std::array<int64_t, 4> cuts{};
  std::array<int64_t, 4> below{};  // values strictly below cuts[i]
  std::array<uint32_t, 4> key{};
  std::vector<uint8_t> bin_of_key;
  std::array<int64_t, 4> ties_seen{};  // entries equal to cuts[i] met so far, in customer id order
  // rank_start[q − 2]: the smallest 1-based rank x with QuintileOfRank(x, n) ≥ q, so a tie's quintile is four
  // comparisons instead of a division (most customers tie on a cut of frequency).
  std::array<int64_t, 4> rank_start{};
  int64_t n = 0;

  int QuintileAt(int64_t x) const {
    return 1 + (x >= rank_start[0]) + (x >= rank_start[1]) + (x >= rank_start[2]) + (x >= rank_start[3]);
  }

  [[gnu::always_inline]] int Bin(int64_t v) {
    const uint32_t k = KeyOf(v);
    int bin = bin_of_key[k];
    if (bin != 0) return bin;
    int cut_index = -1;
    bin = 1;
    for (int i = 0; i < 4; ++i) {
      if (v == cuts[i]) {
        if (cut_index < 0) cut_index = i;
      } else if (v > cuts[i]) {
        ++bin;
      }
    }
    if (cut_index >= 0) bin = QuintileAt(below[cut_index] + ties_seen[cut_index]++ + 1);
    return bin;
  }
};

// `values` are the metric's n values (any order: only the cuts are computed here), `counts` their histogram
// by key.
template <class T>
Plan PlanQuintiles(std::span<const T> values, const std::vector<uint32_t>& counts) {
  Plan plan;
  const auto n = static_cast<int64_t>(values.size());
  plan.n = n;
  plan.bin_of_key.assign(kKeyCount, 1);
  for (int q = 2; q <= 5; ++q) {
    // QuintileOfRank(x, n) ≥ q ⇔ 5·(x − 1) > (n − 1)·(q − 1); never for n ≤ 1.
    plan.rank_start[q - 2] = n <= 1 ? INT64_MAX : (n - 1) * (q - 1) / 5 + 2;
  }
  if (n == 0) return plan;
  std::array<int64_t, 4> positions{};  // 0-based position of each cut in the ascending order
  for (int i = 0; i < 4; ++i) positions[i] = (n - 1) * (i + 1) / 5;
  std::array<int64_t, 4> key_below{};  // values with a smaller key
  int64_t cumulative = 0;
  int next = 0;
  for (uint32_t k = 0; k < kKeyCount && next < 4; ++k) {
    while (next < 4 && positions[next] < cumulative + counts[k]) {
      plan.key[next] = k;
      key_below[next] = cumulative;
      ++next;
    }
    cumulative += counts[k];
  }
  // Buckets that hold a cut but more than one possible value: their members, sorted.
  std::array<std::vector<int64_t>, 4> members;
  std::array<int, 4> refine{-1, -1, -1, -1};  // index into members, per cut
  int buckets = 0;
  for (int i = 0; i < 4; ++i) {
    if (KeyIsExact(plan.key[i])) continue;
    refine[i] = (i > 0 && plan.key[i] == plan.key[i - 1]) ? refine[i - 1] : buckets++;
  }
  if (buckets > 0) {
    std::array<uint32_t, 4> wanted{};
    for (int i = 0; i < 4; ++i) {
      if (refine[i] >= 0) wanted[static_cast<size_t>(refine[i])] = plan.key[i];
    }
    for (T v : values) {
      const uint32_t k = KeyOf(v);
      for (int b = 0; b < buckets; ++b) {
        if (k == wanted[b]) members[b].push_back(v);
      }
    }
    for (int b = 0; b < buckets; ++b) std::sort(members[b].begin(), members[b].end());
  }
  for (int i = 0; i < 4; ++i) {
    if (refine[i] < 0) {
      plan.cuts[i] = static_cast<int64_t>(plan.key[i]) - 32768;
      plan.below[i] = key_below[i];
    } else {
      const std::vector<int64_t>& sorted = members[static_cast<size_t>(refine[i])];
      plan.cuts[i] = sorted[static_cast<size_t>(positions[i] - key_below[i])];
      plan.below[i] = key_below[i] + (std::lower_bound(sorted.begin(), sorted.end(), plan.cuts[i]) - sorted.begin());
    }
  }
  for (uint32_t k = 0; k < kKeyCount; ++k) {
    bool holds_cut = false;
    int bin = 1;
    for (int i = 0; i < 4; ++i) {
      if (k == plan.key[i]) {
        holds_cut = true;
      } else if (k > plan.key[i]) {
        ++bin;
      }
    }
    plan.bin_of_key[k] = static_cast<uint8_t>(holds_cut ? 0 : bin);
  }
  return plan;
}

// Histograms by key of the three metrics, filled while the values are copied.
struct KeyCounts {
  std::vector<uint32_t> recency = std::vector<uint32_t>(kKeyCount, 0);
  std::vector<uint32_t> frequency = std::vector<uint32_t>(kKeyCount, 0);
  std::vector<uint32_t> monetary = std::vector<uint32_t>(kKeyCount, 0);
};

int32_t RecencyDays(int64_t as_of_ms, int64_t last_order_ms) {
  // Whole days, never negative, at most INT32_MAX (beyond it the difference could overflow).
  constexpr int64_t kMaxMs = int64_t{INT32_MAX} * kDayMs;
  if (last_order_ms >= as_of_ms) return 0;
  if (last_order_ms < as_of_ms - kMaxMs) return INT32_MAX;
  return static_cast<int32_t>((as_of_ms - last_order_ms) / kDayMs);
}

// Sizes an array that is about to be overwritten entirely to n elements. When a big array must grow, it is
// reserved untouched first and its interior marked for transparent huge pages, so the kernel faults it in
// 2 MB at a time instead of 4 KB: at 10M customers the ≈350 MB of a first computation cost ≈1.3 s of 4 KB
// page faults (docs/benchmarks.md "RFM"). Best effort: with THP "never" madvise changes nothing.
constexpr size_t kHugePage = size_t{2} << 20;

template <class T>
void SizeForOverwrite(std::vector<T>& v, size_t n) {
  if (v.capacity() < n && n * sizeof(T) >= 2 * kHugePage) {
    std::vector<T>().swap(v);  // the old contents are not needed; don't let reserve() copy them
    v.reserve(n);
    const auto begin = reinterpret_cast<uintptr_t>(v.data());
    const uintptr_t first = (begin + kHugePage - 1) & ~(kHugePage - 1);
    const uintptr_t last = (begin + n * sizeof(T)) & ~(kHugePage - 1);
    if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
  }
  v.resize(n);
}

template <class T>
void Permute(std::vector<T>& v, const std::vector<size_t>& order) {
  std::vector<T> out(order.size());
  for (size_t i = 0; i < order.size(); ++i) out[i] = v[order[i]];
  v = std::move(out);
}

// The common end of a full computation: `result` holds customer_id, last_order_ms, recency_days, frequency and
// monetary_minor for the n scored customers (any order), `counts` their histograms. Sorts by customer id when
// needed, ranks, scores, names segments and adds up the summary.
void Finish(RfmResult& result, const KeyCounts& counts, int64_t live_customers, Timestamp as_of, const ScoreMap& map,
            Timestamp computed_at) {
  const size_t n = result.customer_id.size();
  if (!std::is_sorted(result.customer_id.begin(), result.customer_id.end())) {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return result.customer_id[a] < result.customer_id[b]; });
    Permute(result.customer_id, order);
    Permute(result.last_order_ms, order);
    Permute(result.recency_days, order);
    Permute(result.frequency, order);
    Permute(result.monetary_minor, order);
  }
  Plan r_plan = PlanQuintiles(std::span<const int32_t>(result.recency_days), counts.recency);
  Plan f_plan = PlanQuintiles(std::span<const int64_t>(result.frequency), counts.frequency);
  Plan m_plan = PlanQuintiles(std::span<const int64_t>(result.monetary_minor), counts.monetary);

  result.segment_names = SegmentNames(map);
  RfmSummary& s = result.summary;
  s = RfmSummary{};
  s.cuts.recency_days = r_plan.cuts;
  s.cuts.frequency = f_plan.cuts;
  s.cuts.monetary_minor = m_plan.cuts;
  // The segment of each of the 125 triples, looked up once.
  std::array<uint8_t, 125> segment_of{};
  for (int r = 1; r <= 5; ++r) {
    for (int f = 1; f <= 5; ++f) {
      for (int m = 1; m <= 5; ++m) {
        segment_of[(r - 1) * 25 + (f - 1) * 5 + (m - 1)] =
            static_cast<uint8_t>(SegmentOf(map, result.segment_names, r, f, m));
      }
    }
  }
  s.segments.resize(result.segment_names.size());
  for (size_t k = 0; k < s.segments.size(); ++k) s.segments[k].name = result.segment_names[k];
  SizeForOverwrite(result.r, n);
  SizeForOverwrite(result.f, n);
  SizeForOverwrite(result.m, n);
  SizeForOverwrite(result.segment, n);
  const int32_t* recency = result.recency_days.data();
  const int64_t* frequency = result.frequency.data();
  const int64_t* monetary = result.monetary_minor.data();
  for (size_t i = 0; i < n; ++i) {
    const int r = 6 - r_plan.Bin(recency[i]);
    const int f = f_plan.Bin(frequency[i]);
    const int m = m_plan.Bin(monetary[i]);
    const uint8_t seg = segment_of[(r - 1) * 25 + (f - 1) * 5 + (m - 1)];
    result.r[i] = static_cast<uint8_t>(r);
    result.f[i] = static_cast<uint8_t>(f);
    result.m[i] = static_cast<uint8_t>(m);
    result.segment[i] = seg;
    RfmCell& cell = s.grid[(r - 1) * 5 + (f - 1)];
    ++cell.customers;
    // Sums wrap (defined, as unsigned) rather than overflow: only absurd test spends near INT64_MAX get there.
    cell.revenue_minor = WrappingAdd(cell.revenue_minor, monetary[i]);
    ++s.segments[seg].customers;
    s.segments[seg].revenue_minor = WrappingAdd(s.segments[seg].revenue_minor, monetary[i]);
  }
  s.as_of = as_of;
  s.computed_at = computed_at;
  s.customers = live_customers;
  s.scored = static_cast<int64_t>(n);
  result.sorted_count = n;
  result.tail_index.clear();
}
int BinAgainstCuts(const std::array<int64_t, 4>& cuts, int64_t v) {
  int bin = 1;
  for (int64_t c : cuts) bin += v > c ? 1 : 0;
  return bin;
}

}  // namespace

ScoreMap DefaultScoreMap() {
  // Rows follow the usual RFM segment grid (R×F with M for the top and the "can't lose" corner); the order
  // matters because the first match wins, and together they cover all 125 triples.
  return ScoreMap{
      .rules = {{"Champions", {4, 5}, {4, 5}, {4, 5}},
                {"Loyal", {3, 5}, {3, 5}, {3, 5}},
                {"Potential Loyalist", {4, 5}, {2, 5}, {1, 5}},
                {"New", {5, 5}, {1, 1}, {1, 5}},
                {"Promising", {4, 4}, {1, 1}, {1, 5}},
                {"Need Attention", {3, 3}, {2, 5}, {1, 5}},
                {"About to Sleep", {2, 3}, {1, 2}, {1, 5}},
                {"Can't Lose", {1, 2}, {4, 5}, {4, 5}},
                {"At Risk", {1, 2}, {3, 5}, {1, 5}},
                {"Hibernating", {1, 1}, {2, 2}, {1, 5}},
                {"Lost", {1, 1}, {1, 1}, {1, 5}}},
      .default_segment = "Lost",
  };
}

Result<void> ValidateScoreMap(const ScoreMap& map) {
  Error error = Error::InvalidArgument("invalid score map");
  if (map.rules.empty() || map.rules.size() > kMaxScoreMapRules) {
    error.AddViolation("rules", "must hold 1 to " + std::to_string(kMaxScoreMapRules) + " rules");
  }
  for (size_t i = 0; i < map.rules.size() && i < kMaxScoreMapRules; ++i) {
    const RfmRule& rule = map.rules[i];
    const std::string prefix = "rules[" + std::to_string(i) + "].";
    if (!ValidName(rule.segment)) {
      error.AddViolation(prefix + "segment", "must be 1 to 64 bytes without control characters");
    }
    auto check = [&](const char* name, const ScoreRange& range) {
      if (range.min < 1 || range.max > 5 || range.min > 5 || range.max < 1) {
        error.AddViolation(prefix + name, "scores must lie in 1..5");
      } else if (range.min > range.max) {
        error.AddViolation(prefix + name, "min must not exceed max");
      }
    };
    check("r", rule.r);
    check("f", rule.f);
    check("m", rule.m);
  }
  if (!ValidName(map.default_segment)) {
    error.AddViolation("default_segment", "must be 1 to 64 bytes without control characters");
  }
  if (!error.violations().empty()) {
    const FieldViolation& first = error.violations().front();
    return Error(ErrorCode::kInvalidArgument, first.field + ": " + first.reason, error.violations());
  }
  return Ok();
}

std::string EncodeScoreMap(const ScoreMap& map) {
  std::string out;
  for (const RfmRule& rule : map.rules) {
    out += rule.segment;
    for (int v : {rule.r.min, rule.r.max, rule.f.min, rule.f.max, rule.m.min, rule.m.max}) {
      out += '\t';
      out += std::to_string(v);
    }
    out += '\n';
  }
  out += "default\t" + map.default_segment + "\n";
  return out;
}

Result<ScoreMap> DecodeScoreMap(std::string_view text) {
  ScoreMap map;
  bool has_default = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    auto parts = SplitTabs(line);
    if (parts.size() == 2 && parts[0] == "default") {
      map.default_segment = std::string(parts[1]);
      has_default = true;
      continue;
    }
    if (parts.size() != 7) return Error::InvalidField("rfm.score_map", "stored value is corrupt");
    std::array<int, 6> v{};
    for (int i = 0; i < 6; ++i) {
      auto parsed = ParseScore(parts[i + 1]);
      if (!parsed) return Error::InvalidField("rfm.score_map", "stored value is corrupt");
      v[i] = *parsed;
    }
    map.rules.push_back({std::string(parts[0]), {v[0], v[1]}, {v[2], v[3]}, {v[4], v[5]}});
  }
  if (!has_default) return Error::InvalidField("rfm.score_map", "stored value has no default segment");
  RETURN_IF_ERROR(ValidateScoreMap(map));
  return map;
}

std::vector<std::string> SegmentNames(const ScoreMap& map) {
  std::vector<std::string> names;
  for (const RfmRule& rule : map.rules) {
    if (std::find(names.begin(), names.end(), rule.segment) == names.end()) names.push_back(rule.segment);
  }
  if (std::find(names.begin(), names.end(), map.default_segment) == names.end()) {
    names.push_back(map.default_segment);
  }
  return names;
}

int SegmentOf(const ScoreMap& map, const std::vector<std::string>& names, int r, int f, int m) {
  const std::string* name = &map.default_segment;
  for (const RfmRule& rule : map.rules) {
    if (rule.r.Contains(r) && rule.f.Contains(f) && rule.m.Contains(m)) {
      name = &rule.segment;
      break;
    }
  }
  return static_cast<int>(std::find(names.begin(), names.end(), *name) - names.begin());
}

int QuintileOfRank(int64_t x, int64_t n) {
  if (n <= 1 || x <= 1) return 1;
  // Smallest q with 5·(x − 1) ≤ (n − 1)·q.
  int64_t numerator = 5 * (x - 1);
  int64_t q = (numerator + (n - 1) - 1) / (n - 1);
  return static_cast<int>(std::clamp<int64_t>(q, 1, 5));
}

std::string CustomerRfm::Score() const {
  if (r == 0) return "";
  return std::to_string(r) + std::to_string(f) + std::to_string(m);
}

std::optional<size_t> RfmResult::Find(CustomerId id) const {
  auto end = customer_id.begin() + static_cast<std::ptrdiff_t>(sorted_count);
  auto it = std::lower_bound(customer_id.begin(), end, id.value());
  if (it != end && *it == id.value()) return static_cast<size_t>(it - customer_id.begin());
  if (auto t = tail_index.find(id.value()); t != tail_index.end()) return t->second;
  return std::nullopt;
}

CustomerRfm RfmResult::At(size_t i) const {
  return CustomerRfm{CustomerId(customer_id[i]), recency_days[i], frequency[i], monetary_minor[i],
                     r[i], f[i], m[i], segment_names[segment[i]]};
}

RfmResult ScoreRfm(RfmInput input, int64_t live_customers, Timestamp as_of, const ScoreMap& map,
                   Timestamp computed_at) {
  RfmResult result;
  const size_t n = input.customer_id.size();
  const int64_t as_of_ms = ToUnixMillis(as_of);
  KeyCounts counts;
  result.recency_days.resize(n);
  for (size_t i = 0; i < n; ++i) {
    result.recency_days[i] = RecencyDays(as_of_ms, input.last_order_ms[i]);
    ++counts.recency[KeyOf(result.recency_days[i])];
    ++counts.frequency[KeyOf(input.frequency[i])];
    ++counts.monetary[KeyOf(input.monetary_minor[i])];
  }
  result.customer_id = std::move(input.customer_id);
  result.last_order_ms = std::move(input.last_order_ms);
  result.frequency = std::move(input.frequency);
  result.monetary_minor = std::move(input.monetary_minor);
  Finish(result, counts, live_customers, as_of, map, computed_at);
  return result;
}

struct RfmComputation::Counts : KeyCounts {};

RfmComputation::RfmComputation(RfmResult reuse) : result_(std::move(reuse)) {}
RfmComputation::~RfmComputation() = default;

void RfmComputation::Take(const features::FeatureColumns& c, Timestamp as_of) {
  as_of_ = as_of;
  counts_ = std::make_unique<Counts>();
  const size_t slots = c.size();
  const uint8_t* live = c.live.data();
  const uint32_t* order_count = c.order_count.data();
  // Count first, so the arrays get their exact size: a reused array then needs no zero-fill at all.
  size_t n = 0;
  int64_t live_count = 0;
  for (size_t i = 0; i < slots; ++i) {
    const bool is_live = live[i] == features::FeatureColumns::kLive;
    live_count += is_live ? 1 : 0;
    n += (is_live && order_count[i] != 0) ? 1 : 0;
  }
  live_ = live_count;
  RfmResult& res = result_;
  SizeForOverwrite(res.customer_id, n);
  SizeForOverwrite(res.last_order_ms, n);
  SizeForOverwrite(res.recency_days, n);
  SizeForOverwrite(res.frequency, n);
  SizeForOverwrite(res.monetary_minor, n);
  int64_t* customer_id = res.customer_id.data();
  int64_t* last_order = res.last_order_ms.data();
  int32_t* recency = res.recency_days.data();
  int64_t* frequency = res.frequency.data();
  int64_t* monetary = res.monetary_minor.data();
  uint32_t* r_counts = counts_->recency.data();
  uint32_t* f_counts = counts_->frequency.data();
  uint32_t* m_counts = counts_->monetary.data();
  const int64_t as_of_ms = ToUnixMillis(as_of);
  size_t k = 0;
  for (size_t i = 0; i < slots; ++i) {
    if (live[i] != features::FeatureColumns::kLive || order_count[i] == 0) continue;
    const int64_t last = c.last_order_ms[i];
    const int32_t days = RecencyDays(as_of_ms, last);
    const int64_t spend = c.total_spend_base_minor[i];
    customer_id[k] = c.customer_id[i];
    last_order[k] = last;
    recency[k] = days;
    frequency[k] = order_count[i];
    monetary[k] = spend;
    ++r_counts[KeyOf(days)];
    ++f_counts[KeyOf(order_count[i])];
    ++m_counts[KeyOf(spend)];
    ++k;
  }
}

RfmResult RfmComputation::Score(const ScoreMap& map, Timestamp computed_at) {
  if (!counts_) {  // Take() was not called: nobody is scored
    result_ = RfmResult{};
    counts_ = std::make_unique<Counts>();
  }
  Finish(result_, *counts_, live_, as_of_, map, computed_at);
  counts_.reset();
  return std::move(result_);
}
RfmInput InputFromOrders(std::span<const int64_t> customer, std::span<const int64_t> placed_ms,
                         std::span<const int64_t> amount_minor, int64_t max_customer_id) {
  const size_t slots = static_cast<size_t>(std::max<int64_t>(max_customer_id, 0)) + 1;
  std::vector<int64_t> last(slots, INT64_MIN), count(slots, 0), spend(slots, 0);
  for (size_t i = 0; i < customer.size(); ++i) {
    const int64_t id = customer[i];
    if (id <= 0 || id > max_customer_id) continue;
    last[id] = std::max(last[id], placed_ms[i]);
    ++count[id];
    spend[id] = SaturatingAddMinor(spend[id], amount_minor[i]);
  }
  RfmInput in;
  for (size_t id = 1; id < slots; ++id) {
    if (count[id] == 0) continue;
    in.customer_id.push_back(static_cast<int64_t>(id));
    in.last_order_ms.push_back(last[id]);
    in.frequency.push_back(count[id]);
    in.monetary_minor.push_back(spend[id]);
  }
  return in;
}

void ScoreAgainstCuts(const RfmCuts& cuts, const ScoreMap& map, CustomerRfm& rfm) {
  rfm.r = 6 - BinAgainstCuts(cuts.recency_days, rfm.recency_days);
  rfm.f = BinAgainstCuts(cuts.frequency, rfm.frequency);
  rfm.m = BinAgainstCuts(cuts.monetary_minor, rfm.monetary_minor);
  auto names = SegmentNames(map);
  rfm.segment = names[SegmentOf(map, names, rfm.r, rfm.f, rfm.m)];
}

}  // namespace panorama::analytics
