#include "segments/audience_index.h"

#include <algorithm>
#include <array>
#include <bit>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include "features/feature_store.h"
#include "privacy/consent_bitmaps.h"
#include "privacy/consent_service.h"
#include "segments/internal/json_lite.h"
#include "segments/metric_provider.h"
#include "storage/store.h"

namespace panorama::segments {

namespace internal {

struct Profile {
  bool live = false;
  std::string country;
  std::string city;
  std::string gender;
  int32_t birth_year = 0;  // birth_month == 0: no birthday
  uint8_t birth_month = 0;
  uint8_t birth_day = 0;
  int64_t created_ms = 0;
  std::vector<std::string> tags;
  std::shared_ptr<const JsonValue> traits;  // null for {} or text that is not a JSON object
};

struct AudienceData {
  std::vector<Profile> rows;  // index: customer id
  // Dense columns beside `rows` for the scanned fields, so a scan touches a few bytes per customer.
  std::vector<uint8_t> live_flag;
  std::vector<int32_t> birth_key;  // year * 10000 + month * 100 + day; 0 without a birthday
  std::vector<int64_t> created_ms;
  Bitmap live;
  std::unordered_map<std::string, Bitmap> country;
  std::unordered_map<std::string, Bitmap> city;
  std::unordered_map<std::string, Bitmap> gender;
  std::unordered_map<std::string, Bitmap> tags;
  std::array<Bitmap, 13 * 32> birth_md;  // month * 32 + day
};

}  // namespace internal

namespace {

using internal::AudienceData;
using internal::JsonValue;
using internal::Profile;
using ResolvedSegments = std::map<std::string, Bitmap, std::less<>>;

constexpr int64_t kDayMs = 86'400'000;

struct Civil {
  int64_t year;
  unsigned month;
  unsigned day;
};

// Howard Hinnant's civil_from_days, the inverse of DaysFromCivil.
Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

Profile ToProfile(const storage::CustomerRecord& c) {
  Profile p;
  p.live = true;
  p.country = c.country;
  p.city = c.city;
  p.gender = c.gender;
  p.created_ms = ToUnixMillis(c.created_at);
  p.tags = c.tags;
  std::sort(p.tags.begin(), p.tags.end());
  p.tags.erase(std::unique(p.tags.begin(), p.tags.end()), p.tags.end());
  if (c.birthday.size() == 10) {
    auto parsed = ParseIso8601(c.birthday);
    if (parsed) {
      const Civil civil = CivilFromDays(FloorDiv(ToUnixMillis(*parsed), kDayMs));
      p.birth_year = static_cast<int32_t>(civil.year);
      p.birth_month = static_cast<uint8_t>(civil.month);
      p.birth_day = static_cast<uint8_t>(civil.day);
    }
  }
  if (!c.traits_json.empty() && c.traits_json != "{}") {
    auto json = internal::ParseJson(c.traits_json);
    if (json && json->kind == JsonValue::Kind::kObject) p.traits = std::make_shared<const JsonValue>(std::move(*json));
  }
  return p;
}

void AddRow(AudienceData& d, uint32_t id, Profile p) {
  if (d.rows.size() <= id) {
    // Geometric growth: ids arrive mostly in ascending order.
    const size_t size = std::max<size_t>(static_cast<size_t>(id) + 1, d.rows.size() + d.rows.size() / 2);
    d.rows.resize(size);
    d.live_flag.resize(size);
    d.birth_key.resize(size);
    d.created_ms.resize(size);
  }
  d.live_flag[id] = 1;
  d.birth_key[id] = p.birth_month == 0 ? 0 : p.birth_year * 10000 + p.birth_month * 100 + p.birth_day;
  d.created_ms[id] = p.created_ms;
  d.live.add(id);
  d.country[p.country].add(id);
  d.city[p.city].add(id);
  d.gender[p.gender].add(id);
  for (const auto& tag : p.tags) d.tags[tag].add(id);
  if (p.birth_month != 0) d.birth_md[p.birth_month * 32u + p.birth_day].add(id);
  d.rows[id] = std::move(p);
}

void RemoveFrom(std::unordered_map<std::string, Bitmap>& index, const std::string& key, uint32_t id) {
  auto it = index.find(key);
  if (it == index.end()) return;
  it->second.remove(id);
  if (it->second.isEmpty()) index.erase(it);
}

void RemoveRow(AudienceData& d, uint32_t id) {
  if (id >= d.rows.size() || !d.rows[id].live) return;
  Profile& p = d.rows[id];
  d.live_flag[id] = 0;
  d.birth_key[id] = 0;
  d.live.remove(id);
  RemoveFrom(d.country, p.country, id);
  RemoveFrom(d.city, p.city, id);
  RemoveFrom(d.gender, p.gender, id);
  for (const auto& tag : p.tags) RemoveFrom(d.tags, tag, id);
  if (p.birth_month != 0) d.birth_md[p.birth_month * 32u + p.birth_day].remove(id);
  p = Profile{};
}

std::optional<uint32_t> DenseId(CustomerId id) {
  if (id.value() <= 0 || id.value() > std::numeric_limits<uint32_t>::max()) return std::nullopt;
  return static_cast<uint32_t>(id.value());
}

// One bitmap of `ids` (no duplicates; `ids` is reused as scratch). Roaring's addMany is fast on ascending input
// only; ids collected in the feature store's window-pool order are not ascending once blocks are recycled, and
// marking them in a bitset and reading it back in order is several times cheaper than std::sort for the
// hundreds of thousands a segment holds.
Bitmap BitmapOfIds(std::vector<uint32_t>& ids) {
  Bitmap out;
  if (!std::is_sorted(ids.begin(), ids.end())) {
    const uint32_t max_id = *std::max_element(ids.begin(), ids.end());
    if (ids.size() < max_id / 64) {
      std::sort(ids.begin(), ids.end());  // sparse: the bitset would cost more than the sort
    } else {
      std::vector<uint64_t> words(max_id / 64 + 1);
      for (uint32_t id : ids) words[id >> 6] |= uint64_t{1} << (id & 63);
      ids.clear();
      for (size_t w = 0; w < words.size(); ++w) {
        for (uint64_t bits = words[w]; bits != 0; bits &= bits - 1) {
          ids.push_back(static_cast<uint32_t>(w * 64 + static_cast<size_t>(std::countr_zero(bits))));
        }
      }
    }
  }
  out.addMany(ids.size(), ids.data());
  return out;
}

// ---- Predicates shared by the full and the per-customer path ----

double Number(const Value& v) { return v.kind == Value::Kind::kMoney ? static_cast<double>(v.minor) : v.number; }

bool CompareNumber(Op op, double x, const std::vector<Value>& values) {
  switch (op) {
    case Op::kEq: return x == Number(values[0]);
    case Op::kNe: return x != Number(values[0]);
    case Op::kLt: return x < Number(values[0]);
    case Op::kLe: return x <= Number(values[0]);
    case Op::kGt: return x > Number(values[0]);
    case Op::kGe: return x >= Number(values[0]);
    case Op::kBetween: return x >= Number(values[0]) && x <= Number(values[1]);
    case Op::kIn:
    case Op::kNotIn: {
      bool found = std::any_of(values.begin(), values.end(), [&](const Value& v) { return x == Number(v); });
      return found == (op == Op::kIn);
    }
    default: return false;
  }
}

bool CompareString(Op op, const std::string& x, const std::vector<Value>& values) {
  switch (op) {
    case Op::kEq: return x == values[0].text;
    case Op::kNe: return x != values[0].text;
    case Op::kContains: return x.find(values[0].text) != std::string::npos;
    case Op::kIn:
    case Op::kNotIn: {
      bool found = std::any_of(values.begin(), values.end(), [&](const Value& v) { return x == v.text; });
      return found == (op == Op::kIn);
    }
    default: return false;
  }
}

int64_t ResolveTime(const Value& v, int64_t now_ms) { return v.relative ? now_ms - v.ms : v.ms; }

bool CompareTime(Op op, int64_t t, const std::vector<Value>& values, int64_t now_ms) {
  switch (op) {
    case Op::kBefore: return t < ResolveTime(values[0], now_ms);
    case Op::kAfter: return t > ResolveTime(values[0], now_ms);
    case Op::kWithinLast: return t >= now_ms - values[0].ms && t <= now_ms;
    case Op::kWithinNext: return t >= now_ms && t <= now_ms + values[0].ms;
    default: return false;
  }
}

bool JsonEquals(const JsonValue& j, const Value& v) {
  switch (v.kind) {
    case Value::Kind::kString: return j.kind == JsonValue::Kind::kString && j.text == v.text;
    case Value::Kind::kNumber: return j.kind == JsonValue::Kind::kNumber && j.number == v.number;
    case Value::Kind::kBool: return j.kind == JsonValue::Kind::kBool && j.boolean == v.boolean;
    default: return false;
  }
}

// A trait or event property against the literals; an absent value (nullptr) matches nothing.
bool CompareJson(Op op, const JsonValue* j, const std::vector<Value>& values) {
  if (j == nullptr || j->kind == JsonValue::Kind::kNull) return false;
  switch (op) {
    case Op::kEq: return JsonEquals(*j, values[0]);
    case Op::kNe: return !JsonEquals(*j, values[0]);
    case Op::kIn:
    case Op::kNotIn: {
      bool found = std::any_of(values.begin(), values.end(), [&](const Value& v) { return JsonEquals(*j, v); });
      return found == (op == Op::kIn);
    }
    case Op::kContains:
      if (j->kind == JsonValue::Kind::kString) return j->text.find(values[0].text) != std::string::npos;
      if (j->kind == JsonValue::Kind::kArray) {
        return std::any_of(j->items.begin(), j->items.end(), [&](const JsonValue& item) {
          return item.kind == JsonValue::Kind::kString && item.text == values[0].text;
        });
      }
      return false;
    default:
      return j->kind == JsonValue::Kind::kNumber && CompareNumber(op, j->number, values);
  }
}

bool CountMatches(const Node& n, int64_t count) {
  switch (n.count_op) {
    case Op::kEq: return count == n.count_min;
    case Op::kNe: return count != n.count_min;
    case Op::kLt: return count < n.count_min;
    case Op::kLe: return count <= n.count_min;
    case Op::kGt: return count > n.count_min;
    case Op::kGe: return count >= n.count_min;
    case Op::kBetween: return count >= n.count_min && count <= n.count_max;
    default: return false;
  }
}

std::optional<double> AgeAt(const Profile& p, const Civil& today) {
  if (p.birth_month == 0) return std::nullopt;
  int64_t age = today.year - p.birth_year;
  if (today.month < p.birth_month || (today.month == p.birth_month && today.day < p.birth_day)) --age;
  return static_cast<double>(age);
}

std::optional<int64_t> BirthMs(const Profile& p) {
  if (p.birth_month == 0) return std::nullopt;
  return DaysFromCivil(p.birth_year, p.birth_month, p.birth_day) * kDayMs;
}

// Month-days (month * 32 + day) whose anniversary falls on today .. today + days; a 29 February birthday is
// celebrated on 28 February in common years.
std::vector<unsigned> UpcomingMonthDays(int64_t now_ms, int64_t window_ms) {
  std::vector<unsigned> out;
  const int64_t today = FloorDiv(now_ms, kDayMs);
  const int64_t days = window_ms / kDayMs;
  for (int64_t k = 0; k <= days; ++k) {
    const Civil c = CivilFromDays(today + k);
    out.push_back(c.month * 32 + c.day);
    if (c.month == 2 && c.day == 28 && !IsLeap(c.year)) out.push_back(2 * 32 + 29);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The feature values a comparison reads, from one customer's aggregates.
struct FeatureValue {
  std::optional<double> number;
  std::optional<int64_t> time_ms;
};

FeatureValue ReadFeature(FieldId id, const features::CustomerFeatures& f) {
  auto time = [](const std::optional<Timestamp>& t) -> std::optional<int64_t> {
    if (!t) return std::nullopt;
    return ToUnixMillis(*t);
  };
  switch (id) {
    case FieldId::kTotalSpend: return {static_cast<double>(f.total_spend_base_minor), {}};
    case FieldId::kOrderCount: return {static_cast<double>(f.order_count), {}};
    case FieldId::kEventCount: return {static_cast<double>(f.event_count), {}};
    case FieldId::kEventCount30d: return {static_cast<double>(f.event_count_30d), {}};
    case FieldId::kAvgDaysBetweenOrders: return {f.avg_days_between_orders, {}};
    case FieldId::kFirstOrder: return {{}, time(f.first_order_at)};
    case FieldId::kLastOrder: return {{}, time(f.last_order_at)};
    case FieldId::kLastEvent: return {{}, time(f.last_event_at)};
    default: return {};
  }
}

bool FeatureMatches(const Node& n, const FeatureValue& v, int64_t now_ms) {
  if (n.type == FieldType::kDate) return v.time_ms && CompareTime(n.op, *v.time_ms, n.values, now_ms);
  return v.number && CompareNumber(n.op, *v.number, n.values);
}

bool IsFeature(FieldId id) {
  switch (id) {
    case FieldId::kTotalSpend:
    case FieldId::kOrderCount:
    case FieldId::kFirstOrder:
    case FieldId::kLastOrder:
    case FieldId::kLastEvent:
    case FieldId::kEventCount:
    case FieldId::kEventCount30d:
    case FieldId::kAvgDaysBetweenOrders: return true;
    default: return false;
  }
}

bool MetricMatches(const Node& n, const MetricValue& v) {
  if (const auto* number = std::get_if<double>(&v)) {
    return n.type == FieldType::kNumber && CompareNumber(n.op, *number, n.values);
  }
  return n.type == FieldType::kString && CompareString(n.op, std::get<std::string>(v), n.values);
}

bool PropertiesMatch(const std::vector<PropertyFilter>& where, const std::string& properties_json) {
  auto json = internal::ParseJson(properties_json);
  if (!json) return false;
  for (const auto& f : where) {
    if (!CompareJson(f.op, internal::FindPath(*json, f.path), f.values)) return false;
  }
  return true;
}

Error MissingSource(const char* what, const Node& n) {
  return Error::FailedPrecondition(std::string(what) + " not available for \"" + n.field + "\" at " +
                                   std::to_string(n.line) + ":" + std::to_string(n.column));
}

}  // namespace

// Both evaluation paths over one snapshot (the caller holds the shared lock).
class AudienceIndex::Evaluator {
 public:
  Evaluator(const AudienceIndex& index, const AudienceData& data, Timestamp now, const ResolvedSegments& segments)
      : index_(index), d_(data), now_(now), now_ms_(ToUnixMillis(now)), segments_(segments),
        today_(CivilFromDays(FloorDiv(now_ms_, kDayMs))) {}

  // The matching live customers; with `within`, only those in it (the result is then a subset of `within`).
  // An `and` hands its running result down as `within`, so the scans after the first, cheap child visit only
  // the customers still in play.
  Result<Bitmap> Full(const Node& n, const Bitmap* within = nullptr) {
    switch (n.kind) {
      case Node::Kind::kAnd: {
        std::vector<const Node*> order;
        for (const auto& child : n.children) order.push_back(&child);
        std::stable_sort(order.begin(), order.end(), [](const Node* a, const Node* b) { return Cost(*a) < Cost(*b); });
        ASSIGN_OR_RETURN(Bitmap acc, Full(*order[0], within));
        for (size_t i = 1; i < order.size() && !acc.isEmpty(); ++i) {
          ASSIGN_OR_RETURN(Bitmap next, Full(*order[i], &acc));
          acc = std::move(next);
        }
        return acc;
      }
      case Node::Kind::kOr: {
        Bitmap acc;
        for (const auto& child : n.children) {
          ASSIGN_OR_RETURN(Bitmap next, Full(child, within));
          acc |= next;
        }
        return acc;
      }
      case Node::Kind::kNot: {
        ASSIGN_OR_RETURN(Bitmap inner, Full(n.children[0], within));
        return (within ? *within : d_.live) - inner;
      }
      case Node::Kind::kSegment: {
        ASSIGN_OR_RETURN(const Bitmap* members, Segment(n));
        return Restrict(*members & d_.live, within);
      }
      case Node::Kind::kDid: {
        ASSIGN_OR_RETURN(Bitmap out, FullDid(n));
        return Restrict(std::move(out), within);
      }
      case Node::Kind::kCompare: return FullCompare(n, within);
    }
    return Error::Internal("unknown rule node");
  }

  Result<bool> One(const Node& n, uint32_t id) {
    switch (n.kind) {
      case Node::Kind::kAnd:
        for (const auto& child : n.children) {
          ASSIGN_OR_RETURN(bool m, One(child, id));
          if (!m) return false;
        }
        return true;
      case Node::Kind::kOr:
        for (const auto& child : n.children) {
          ASSIGN_OR_RETURN(bool m, One(child, id));
          if (m) return true;
        }
        return false;
      case Node::Kind::kNot: {
        ASSIGN_OR_RETURN(bool m, One(n.children[0], id));
        return !m;
      }
      case Node::Kind::kSegment: {
        ASSIGN_OR_RETURN(const Bitmap* members, Segment(n));
        return members->contains(id);
      }
      case Node::Kind::kDid: {
        int64_t count = 0;
        RETURN_IF_ERROR(ScanDid(n, CustomerId(id), [&](CustomerId) { ++count; }));
        return CountMatches(n, count);
      }
      case Node::Kind::kCompare: return OneCompare(n, id);
    }
    return Error::Internal("unknown rule node");
  }

 private:
  static Bitmap Restrict(Bitmap b, const Bitmap* within) {
    if (within) b &= *within;
    return b;
  }

  // Evaluation order inside an `and`: inverted-index lookups, then row scans, then SQL (`did`).
  static int Cost(const Node& n) {
    switch (n.kind) {
      case Node::Kind::kSegment: return 0;
      case Node::Kind::kDid: return 3;
      case Node::Kind::kCompare:
        switch (n.field_id) {
          case FieldId::kCountry:
          case FieldId::kCity:
          case FieldId::kGender:
          case FieldId::kTags: return 0;
          case FieldId::kBirthday: return n.op == Op::kWithinNext ? 0 : 1;
          default: return 1;
        }
      default: return 2;
    }
  }

  Result<const Bitmap*> Segment(const Node& n) const {
    auto it = segments_.find(n.segment);
    if (it == segments_.end()) return Error::Internal("segment \"" + n.segment + "\" was not resolved");
    return &it->second;
  }

  // Profile predicates per row (the scanned fields; the categorical ones have indexes on the full path).
  bool ProfileMatches(const Node& n, const Profile& p) const {
    switch (n.field_id) {
      case FieldId::kCountry: return CompareString(n.op, p.country, n.values);
      case FieldId::kCity: return CompareString(n.op, p.city, n.values);
      case FieldId::kGender: return CompareString(n.op, p.gender, n.values);
      case FieldId::kTags:
        return std::binary_search(p.tags.begin(), p.tags.end(), n.values[0].text);
      case FieldId::kAge: {
        auto age = AgeAt(p, today_);
        return age && CompareNumber(n.op, *age, n.values);
      }
      case FieldId::kBirthday: {
        if (p.birth_month == 0) return false;
        if (n.op == Op::kWithinNext) {
          auto days = UpcomingMonthDays(now_ms_, n.values[0].ms);
          return std::binary_search(days.begin(), days.end(), p.birth_month * 32u + p.birth_day);
        }
        return CompareTime(n.op, *BirthMs(p), n.values, now_ms_);
      }
      case FieldId::kCreatedAt: return CompareTime(n.op, p.created_ms, n.values, now_ms_);
      case FieldId::kTrait: return p.traits && CompareJson(n.op, internal::FindPath(*p.traits, n.path), n.values);
      default: return false;
    }
  }

  Bitmap FromIndex(const std::unordered_map<std::string, Bitmap>& index, const Node& n) const {
    Bitmap out;
    auto get = [&](const std::string& key) {
      auto it = index.find(key);
      if (it != index.end()) out |= it->second;
    };
    switch (n.op) {
      case Op::kEq:
      case Op::kNe: get(n.values[0].text); break;
      case Op::kIn:
      case Op::kNotIn:
        for (const auto& v : n.values) get(v.text);
        break;
      case Op::kContains:
        for (const auto& [key, bitmap] : index) {
          if (key.find(n.values[0].text) != std::string::npos) out |= bitmap;
        }
        break;
      default: break;
    }
    if (n.op == Op::kNe || n.op == Op::kNotIn) return d_.live - out;
    return out;
  }

  // Ids in ascending order for which `match(id)` holds, over live customers, as one bitmap.
  template <typename Fn>
  Bitmap ScanLive(Fn match, const Bitmap* within) const {
    std::vector<uint32_t> ids;
    if (within) {
      // One bulk copy out of the bitmap is much cheaper than its per-element iterator.
      std::vector<uint32_t> candidates(within->cardinality());
      within->toUint32Array(candidates.data());
      for (uint32_t id : candidates) {
        if (id < d_.live_flag.size() && d_.live_flag[id] && match(id)) ids.push_back(id);
      }
    } else {
      const size_t n = d_.live_flag.size();
      for (size_t i = 0; i < n; ++i) {
        if (d_.live_flag[i] && match(static_cast<uint32_t>(i))) ids.push_back(static_cast<uint32_t>(i));
      }
    }
    Bitmap out;
    out.addMany(ids.size(), ids.data());
    return out;
  }

  Bitmap ScanRows(const Node& n, const Bitmap* within) const {
    const int32_t today_key = static_cast<int32_t>(today_.year * 10000 + today_.month * 100 + today_.day);
    switch (n.field_id) {
      case FieldId::kAge:
        return ScanLive([&](uint32_t id) {
          const int32_t key = d_.birth_key[id];
          if (key == 0) return false;
          const int32_t age = today_key / 10000 - key / 10000 - (today_key % 10000 < key % 10000 ? 1 : 0);
          return CompareNumber(n.op, age, n.values);
        }, within);
      case FieldId::kCreatedAt:
        return ScanLive([&](uint32_t id) { return CompareTime(n.op, d_.created_ms[id], n.values, now_ms_); }, within);
      default: return ScanLive([&](uint32_t id) { return ProfileMatches(n, d_.rows[id]); }, within);
    }
  }

  Result<Bitmap> FullCompare(const Node& n, const Bitmap* within) {
    switch (n.field_id) {
      case FieldId::kCountry: return Restrict(FromIndex(d_.country, n), within);
      case FieldId::kCity: return Restrict(FromIndex(d_.city, n), within);
      case FieldId::kGender: return Restrict(FromIndex(d_.gender, n), within);
      case FieldId::kTags: {
        auto it = d_.tags.find(n.values[0].text);
        return it == d_.tags.end() ? Bitmap() : Restrict(it->second, within);
      }
      case FieldId::kBirthday:
        if (n.op == Op::kWithinNext) {
          Bitmap out;
          for (unsigned md : UpcomingMonthDays(now_ms_, n.values[0].ms)) out |= d_.birth_md[md];
          return Restrict(std::move(out), within);
        }
        return ScanRows(n, within);
      case FieldId::kAge:
      case FieldId::kCreatedAt:
      case FieldId::kTrait: return ScanRows(n, within);
      case FieldId::kConsent: {
        if (!index_.sources_.consents) return MissingSource("consents are", n);
        // ConsentService keeps "granted now" as a bitmap over the same dense ids: one AND, under its lock.
        const std::string_view channel = n.path.size() == 2 ? std::string_view(n.path[1]) : std::string_view();
        if (within != nullptr) {
          return privacy::ConsentBitmapReader::Intersect(*index_.sources_.consents, n.path[0], channel, *within) &
                 d_.live;
        }
        return privacy::ConsentBitmapReader::Intersect(*index_.sources_.consents, n.path[0], channel, d_.live);
      }
      case FieldId::kMetric: {
        if (!index_.sources_.metrics) return MissingSource("rfm and lifecycle metrics are", n);
        Bitmap out;
        RETURN_IF_ERROR(index_.sources_.metrics->Scan(n.path[0], now_, [&](CustomerId c, const MetricValue& v) {
          auto id = DenseId(c);
          if (id && MetricMatches(n, v)) out.add(*id);
        }));
        return Restrict(out & d_.live, within);
      }
      default: break;
    }
    if (!IsFeature(n.field_id)) return Error::Internal("field without an evaluator: " + n.field);
    const auto* fs = index_.sources_.features;
    if (fs == nullptr) return MissingSource("order and event features are", n);
    Bitmap out;
    if (n.field_id == FieldId::kEventCount30d) {
      // Only customers with a recent event have a count; the rest have 0 and match when 0 does (and only then
      // are the active ids worth collecting).
      const bool zero_matches = CompareNumber(n.op, 0.0, n.values);
      std::vector<uint32_t> active_ids, matched;
      fs->ScanEventCount30d(now_, [&](CustomerId c, int64_t count) {
        auto id = DenseId(c);
        if (!id) return;
        if (zero_matches) active_ids.push_back(*id);
        if (CompareNumber(n.op, static_cast<double>(count), n.values)) matched.push_back(*id);
      });
      out = BitmapOfIds(matched);
      if (zero_matches) out |= d_.live - BitmapOfIds(active_ids);
      return Restrict(out & d_.live, within);
    }
    // Live customers the feature store has not seen yet have no orders and no events: they match only when the
    // empty value does (e.g. `order_count = 0`), and only then are the seen ids worth collecting.
    const bool empty_matches = FeatureMatches(n, ReadFeature(n.field_id, features::CustomerFeatures{}), now_ms_);
    std::vector<uint32_t> seen_ids, matched;
    // One loop per field (the lambda is a template argument), so the per-row work is the column read and the
    // comparison: no switch on the field and no optional-holding value per row.
    auto scan = [&](auto matches) {
      fs->ReadColumns([&](const features::FeatureColumns& c) {
        const size_t universe = d_.live_flag.size();
        for (size_t i = 0; i < c.size(); ++i) {
          if (c.live[i] != features::FeatureColumns::kLive) continue;
          const int64_t customer = c.customer_id[i];  // the dense id (DenseId) when it is in the index
          if (customer <= 0 || static_cast<uint64_t>(customer) >= universe || !d_.live_flag[customer]) continue;
          const auto id = static_cast<uint32_t>(customer);
          if (empty_matches) seen_ids.push_back(id);
          if (matches(c, i)) matched.push_back(id);
        }
      });
    };
    using Columns = features::FeatureColumns;
    auto number = [&](double x) { return CompareNumber(n.op, x, n.values); };
    auto time = [&](int64_t ms) { return ms != Columns::kNoTime && CompareTime(n.op, ms, n.values, now_ms_); };
    switch (n.field_id) {
      case FieldId::kTotalSpend:
        scan([&](const Columns& c, size_t i) { return number(static_cast<double>(c.total_spend_base_minor[i])); });
        break;
      case FieldId::kOrderCount:
        scan([&](const Columns& c, size_t i) { return number(static_cast<double>(c.order_count[i])); });
        break;
      case FieldId::kEventCount:
        scan([&](const Columns& c, size_t i) { return number(static_cast<double>(c.event_count[i])); });
        break;
      case FieldId::kFirstOrder: scan([&](const Columns& c, size_t i) { return time(c.first_order_ms[i]); }); break;
      case FieldId::kLastOrder: scan([&](const Columns& c, size_t i) { return time(c.last_order_ms[i]); }); break;
      case FieldId::kLastEvent: scan([&](const Columns& c, size_t i) { return time(c.last_event_ms[i]); }); break;
      case FieldId::kAvgDaysBetweenOrders:
        scan([&](const Columns& c, size_t i) {
          if (c.order_count[i] <= 1) return false;  // no gap below two orders; the same arithmetic as FeatureStore::Get
          const double span_days = static_cast<double>(c.last_order_ms[i] - c.first_order_ms[i]) / kDayMs;
          return number(span_days / static_cast<double>(c.order_count[i] - 1));
        });
        break;
      default: return Error::Internal("feature without a column scan: " + n.field);
    }
    // Slots are mostly in id order (Rebuild creates them so), but merges and late customers need not be.
    out = BitmapOfIds(matched);
    if (empty_matches) out |= d_.live - BitmapOfIds(seen_ids);
    return Restrict(std::move(out), within);
  }

  bool ConsentGranted(const Node& n, uint32_t id) const {
    const auto* consents = index_.sources_.consents;
    if (n.path.size() == 2) return consents->MaySend(CustomerId(id), n.path[0], n.path[1]);
    return consents->MayProcess(CustomerId(id), n.path[0]);
  }

  Result<bool> OneCompare(const Node& n, uint32_t id) {
    const Profile& p = d_.rows[id];
    switch (n.field_id) {
      case FieldId::kConsent:
        if (!index_.sources_.consents) return MissingSource("consents are", n);
        return ConsentGranted(n, id);
      case FieldId::kMetric: {
        if (!index_.sources_.metrics) return MissingSource("rfm and lifecycle metrics are", n);
        ASSIGN_OR_RETURN(auto v, index_.sources_.metrics->Get(n.path[0], CustomerId(id), now_));
        return v && MetricMatches(n, *v);
      }
      default: break;
    }
    if (IsFeature(n.field_id)) {
      const auto* fs = index_.sources_.features;
      if (fs == nullptr) return MissingSource("order and event features are", n);
      auto f = fs->Get(CustomerId(id), now_).value_or(features::CustomerFeatures{});
      return FeatureMatches(n, ReadFeature(n.field_id, f), now_ms_);
    }
    return ProfileMatches(n, p);
  }

  // Calls `fn` once per event of the `did` that passes its window and filters (up to now).
  Result<void> ScanDid(const Node& n, std::optional<CustomerId> customer, const std::function<void(CustomerId)>& fn) {
    const Timestamp from = n.window_ms > 0 ? now_ - std::chrono::milliseconds(n.window_ms)
                                           : FromUnixMillis(std::numeric_limits<int64_t>::min());
    return index_.store_.ScanEventsByName(n.event, from, now_, customer, [&](const storage::Store::NamedEventFact& e) {
      if (n.where.empty() || PropertiesMatch(n.where, e.properties_json)) fn(e.customer);
    });
  }

  Result<Bitmap> FullDid(const Node& n) {
    std::unordered_map<uint32_t, int64_t> counts;
    RETURN_IF_ERROR(ScanDid(n, std::nullopt, [&](CustomerId c) {
      if (auto id = DenseId(c)) ++counts[*id];
    }));
    Bitmap out, seen;
    for (const auto& [id, count] : counts) {
      seen.add(id);
      if (CountMatches(n, count)) out.add(id);
    }
    if (CountMatches(n, 0)) out |= d_.live - seen;
    return out & d_.live;
  }

  const AudienceIndex& index_;
  const AudienceData& d_;
  Timestamp now_;
  int64_t now_ms_;
  const ResolvedSegments& segments_;
  Civil today_;
};

AudienceIndex::AudienceIndex(storage::Store& store, AudienceSources sources)
    : store_(store), sources_(sources), data_(std::make_unique<internal::AudienceData>()) {}

AudienceIndex::~AudienceIndex() = default;

Result<void> AudienceIndex::Rebuild() {
  auto fresh = std::make_unique<internal::AudienceData>();
  storage::CustomerQuery query;
  query.limit = 1000;
  while (true) {
    ASSIGN_OR_RETURN(auto page, store_.ListCustomers(query));
    for (const auto& c : page) {
      auto id = DenseId(c.id);
      if (!id) return Error::FailedPrecondition("customer id " + c.id.ToString() + " is above 2^32-1");
      AddRow(*fresh, *id, ToProfile(c));
    }
    if (page.size() < static_cast<size_t>(query.limit)) break;
    query.after_id = page.back().id.value();
  }
  fresh->live.runOptimize();
  std::unique_lock lock(mutex_);
  data_ = std::move(fresh);
  return Ok();
}

Result<void> AudienceIndex::OnCustomerChanged(CustomerId customer) {
  auto id = DenseId(customer);
  if (!id) return Error::InvalidField("customer_id", "not a valid customer id: " + customer.ToString());
  auto record = store_.GetCustomer(customer);
  if (!record && record.error().code() != ErrorCode::kNotFound) return record.error();
  std::unique_lock lock(mutex_);
  RemoveRow(*data_, *id);
  if (record && !record->merged_into) AddRow(*data_, *id, ToProfile(*record));
  return Ok();
}

void AudienceIndex::PutCustomerForTest(const storage::CustomerRecord& customer) {
  auto id = DenseId(customer.id);
  if (!id) return;
  std::unique_lock lock(mutex_);
  RemoveRow(*data_, *id);
  AddRow(*data_, *id, ToProfile(customer));
}

void AudienceIndex::OnEvent(CustomerId, std::string_view, Timestamp) {}
void AudienceIndex::OnOrder(CustomerId, Timestamp, int64_t) {}

void AudienceIndex::OnMerge(CustomerId from, CustomerId) { OnErase(from); }

void AudienceIndex::OnErase(CustomerId customer) {
  auto id = DenseId(customer);
  if (!id) return;
  std::unique_lock lock(mutex_);
  RemoveRow(*data_, *id);
}

namespace {

// Resolves every `segment` reference before the index lock is taken, so a resolver may itself evaluate rules on
// this index.
Result<ResolvedSegments> ResolveSegments(const CompiledRule& rule, const SegmentResolver& segments) {
  ResolvedSegments out;
  if (rule.segment_refs().empty()) return out;
  if (!segments) return Error::FailedPrecondition("segment references are not available here");
  for (const auto& name : rule.segment_refs()) {
    ASSIGN_OR_RETURN(Bitmap members, segments(name));
    out.emplace(name, std::move(members));
  }
  return out;
}

}  // namespace

Result<Bitmap> AudienceIndex::Evaluate(const CompiledRule& rule, Timestamp now, const SegmentResolver& segments) const {
  ASSIGN_OR_RETURN(ResolvedSegments resolved, ResolveSegments(rule, segments));
  std::shared_lock lock(mutex_);
  Evaluator evaluator(*this, *data_, now, resolved);
  ASSIGN_OR_RETURN(Bitmap out, evaluator.Full(rule.root()));
  out &= data_->live;
  return out;
}

Result<bool> AudienceIndex::Matches(const CompiledRule& rule, CustomerId customer, Timestamp now,
                                    const SegmentResolver& segments) const {
  auto id = DenseId(customer);
  ASSIGN_OR_RETURN(ResolvedSegments resolved, ResolveSegments(rule, segments));
  std::shared_lock lock(mutex_);
  if (!id || !data_->live.contains(*id)) return false;
  Evaluator evaluator(*this, *data_, now, resolved);
  return evaluator.One(rule.root(), *id);
}

Bitmap AudienceIndex::All() const {
  std::shared_lock lock(mutex_);
  return data_->live;
}

int64_t AudienceIndex::size() const {
  std::shared_lock lock(mutex_);
  return static_cast<int64_t>(data_->live.cardinality());
}

std::vector<std::string> AudienceIndex::KnownValues(std::string_view field, size_t limit) const {
  std::shared_lock lock(mutex_);
  const std::unordered_map<std::string, Bitmap>* index = field == "country" ? &data_->country
                                                       : field == "city"    ? &data_->city
                                                       : field == "gender"  ? &data_->gender
                                                       : field == "tags"    ? &data_->tags
                                                                            : nullptr;
  if (index == nullptr) return {};
  std::vector<std::pair<uint64_t, std::string>> counted;
  for (const auto& [key, bitmap] : *index) {
    if (!key.empty()) counted.emplace_back(bitmap.cardinality(), key);
  }
  std::sort(counted.begin(), counted.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::vector<std::string> out;
  for (size_t i = 0; i < counted.size() && i < limit; ++i) out.push_back(std::move(counted[i].second));
  return out;
}

}  // namespace panorama::segments
