#include "analytics/rfm.h"

#include <algorithm>
#include <charconv>
#include <numeric>

#include "features/feature_store.h"

namespace panorama::analytics {
namespace {

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

// Quintiles of `values` (in ascending customer id order, so equal values rank by id) and the cut values.
// O(n): the four boundary values come from nth_element; only entries equal to a boundary value need their
// exact rank, which is "values below it" plus their position among the ties.
void Quintiles(const std::vector<int64_t>& values, std::vector<uint8_t>& bins, std::array<int64_t, 4>& cuts) {
  const int64_t n = static_cast<int64_t>(values.size());
  bins.assign(values.size(), 1);
  cuts.fill(0);
  if (n == 0) return;
  std::array<int64_t, 4> positions{};
  for (int i = 1; i <= 4; ++i) positions[i - 1] = (n - 1) * i / 5;
  std::array<int64_t, 4> below{};  // values strictly below cuts[i]
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  const uint64_t range = static_cast<uint64_t>(*hi) - static_cast<uint64_t>(*lo) + 1;
  if (range <= std::max<uint64_t>(uint64_t{1} << 16, static_cast<uint64_t>(n))) {
    // Small value ranges (recency in days, order counts): a histogram gives the cuts and the counts below
    // them in two passes, without sorting.
    const int64_t base = *lo;
    std::vector<int64_t> histogram(range, 0);
    for (int64_t v : values) ++histogram[static_cast<size_t>(v - base)];
    int64_t cumulative = 0;  // values below the current bucket
    int next = 0;
    for (size_t b = 0; b < range && next < 4; ++b) {
      while (next < 4 && positions[next] < cumulative + histogram[b]) {
        cuts[next] = base + static_cast<int64_t>(b);
        below[next] = cumulative;
        ++next;
      }
      cumulative += histogram[b];
    }
  } else {
    std::vector<int64_t> sorted(values);
    auto begin = sorted.begin();
    for (int i = 0; i < 4; ++i) {
      auto nth = sorted.begin() + positions[i];
      if (nth >= begin) {
        std::nth_element(begin, nth, sorted.end());
        begin = nth + 1;
      }
      cuts[i] = *nth;
    }
    sorted = {};
    for (int64_t v : values) {
      for (int i = 0; i < 4; ++i) below[i] += v < cuts[i] ? 1 : 0;
    }
  }
  std::array<int64_t, 4> ties_seen{};
  for (size_t k = 0; k < values.size(); ++k) {
    const int64_t v = values[k];
    int cut_index = -1;
    int bin = 1;
    for (int i = 0; i < 4; ++i) {
      if (v == cuts[i]) {
        if (cut_index < 0) cut_index = i;
      } else if (v > cuts[i]) {
        ++bin;
      }
    }
    if (cut_index >= 0) {
      int64_t position = below[cut_index] + ties_seen[cut_index]++;
      bin = QuintileOfRank(position + 1, n);
    }
    bins[k] = static_cast<uint8_t>(bin);
  }
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
  const size_t n = input.customer_id.size();
  if (!std::is_sorted(input.customer_id.begin(), input.customer_id.end())) {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return input.customer_id[a] < input.customer_id[b]; });
    auto permute = [&](std::vector<int64_t>& v) {
      std::vector<int64_t> out(n);
      for (size_t i = 0; i < n; ++i) out[i] = v[order[i]];
      v = std::move(out);
    };
    permute(input.customer_id);
    permute(input.last_order_ms);
    permute(input.frequency);
    permute(input.monetary_minor);
  }

  RfmResult result;
  result.segment_names = SegmentNames(map);
  const int64_t as_of_ms = ToUnixMillis(as_of);
  std::vector<int64_t> recency(n);
  result.recency_days.resize(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t diff = as_of_ms - input.last_order_ms[i];
    recency[i] = diff <= 0 ? 0 : diff / kDayMs;
    result.recency_days[i] = static_cast<int32_t>(std::min<int64_t>(recency[i], INT32_MAX));
  }
  RfmSummary& s = result.summary;
  Quintiles(recency, result.r, s.cuts.recency_days);
  for (auto& bin : result.r) bin = static_cast<uint8_t>(6 - bin);
  Quintiles(input.frequency, result.f, s.cuts.frequency);
  Quintiles(input.monetary_minor, result.m, s.cuts.monetary_minor);

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
  result.segment.resize(n);
  s.segments.resize(result.segment_names.size());
  for (size_t k = 0; k < s.segments.size(); ++k) s.segments[k].name = result.segment_names[k];
  for (size_t i = 0; i < n; ++i) {
    const int r = result.r[i], f = result.f[i], m = result.m[i];
    uint8_t seg = segment_of[(r - 1) * 25 + (f - 1) * 5 + (m - 1)];
    result.segment[i] = seg;
    RfmCell& cell = s.grid[(r - 1) * 5 + (f - 1)];
    ++cell.customers;
    cell.revenue_minor += input.monetary_minor[i];
    ++s.segments[seg].customers;
    s.segments[seg].revenue_minor += input.monetary_minor[i];
  }
  s.as_of = as_of;
  s.computed_at = computed_at;
  s.customers = live_customers;
  s.scored = static_cast<int64_t>(n);
  result.customer_id = std::move(input.customer_id);
  result.last_order_ms = std::move(input.last_order_ms);
  result.frequency = std::move(input.frequency);
  result.monetary_minor = std::move(input.monetary_minor);
  result.sorted_count = n;
  return result;
}

RfmInput InputFromColumns(const features::FeatureColumns& c, int64_t* live_customers) {
  RfmInput in;
  int64_t live = 0;
  in.customer_id.reserve(c.size());
  in.last_order_ms.reserve(c.size());
  in.frequency.reserve(c.size());
  in.monetary_minor.reserve(c.size());
  for (size_t i = 0; i < c.size(); ++i) {
    if (c.live[i] != features::FeatureColumns::kLive) continue;
    ++live;
    if (c.order_count[i] == 0) continue;
    in.customer_id.push_back(c.customer_id[i]);
    in.last_order_ms.push_back(c.last_order_ms[i]);
    in.frequency.push_back(c.order_count[i]);
    in.monetary_minor.push_back(c.total_spend_base_minor[i]);
  }
  if (live_customers != nullptr) *live_customers = live;
  return in;
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
    spend[id] += amount_minor[i];
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
