#include "analytics/lifecycle.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "features/feature_store.h"
#include "storage/store.h"

namespace panorama::analytics {
namespace {

constexpr int64_t kDayMs = 86'400'000;

int64_t DaysBetween(int64_t from_ms, int64_t to_ms) {
  int64_t diff = to_ms - from_ms;
  return diff <= 0 ? 0 : diff / kDayMs;
}

int64_t MonthStartMs(int index) {
  int year = index / 12;
  unsigned month = static_cast<unsigned>(index % 12 + 1);
  return DaysFromCivil(year, month, 1) * kDayMs;
}

std::string MonthText(int index) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d", index / 12, index % 12 + 1);
  return buf;
}

}  // namespace

const char* StageName(Stage stage) {
  switch (stage) {
    case Stage::kProspect: return "prospect";
    case Stage::kNew: return "new";
    case Stage::kActive: return "active";
    case Stage::kLoyal: return "loyal";
    case Stage::kAtRisk: return "at_risk";
    case Stage::kChurned: return "churned";
  }
  return "prospect";
}

Result<void> ValidateThresholds(const LifecycleThresholds& t) {
  Error error = Error::InvalidArgument("invalid lifecycle thresholds");
  if (t.new_days < 1 || t.new_days > 3650) error.AddViolation("new_days", "must be 1..3650");
  if (t.active_days < 1 || t.active_days > 3650) {
    error.AddViolation("active_days", "must be 1..3650");
  } else if (t.active_days < t.new_days) {
    error.AddViolation("active_days", "must not be below new_days");
  }
  if (t.churned_days < 1 || t.churned_days > 3650) {
    error.AddViolation("churned_days", "must be 1..3650");
  } else if (t.churned_days <= t.active_days) {
    error.AddViolation("churned_days", "must exceed active_days");
  }
  if (t.loyal_min_orders < 2 || t.loyal_min_orders > 1000) {
    error.AddViolation("loyal_min_orders", "must be 2..1000");
  }
  if (!error.violations().empty()) {
    const FieldViolation& first = error.violations().front();
    return Error(ErrorCode::kInvalidArgument, first.field + ": " + first.reason, error.violations());
  }
  return Ok();
}

std::string EncodeThresholds(const LifecycleThresholds& t) {
  return "new_days=" + std::to_string(t.new_days) + "\nactive_days=" + std::to_string(t.active_days) +
         "\nloyal_min_orders=" + std::to_string(t.loyal_min_orders) +
         "\nchurned_days=" + std::to_string(t.churned_days) + "\n";
}

Result<LifecycleThresholds> DecodeThresholds(std::string_view text) {
  LifecycleThresholds t;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return Error::InvalidField(kThresholdsSettingKey, "stored value is corrupt");
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    int v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size()) {
      return Error::InvalidField(kThresholdsSettingKey, "stored value is corrupt");
    }
    if (key == "new_days") {
      t.new_days = v;
    } else if (key == "active_days") {
      t.active_days = v;
    } else if (key == "loyal_min_orders") {
      t.loyal_min_orders = v;
    } else if (key == "churned_days") {
      t.churned_days = v;
    }
  }
  RETURN_IF_ERROR(ValidateThresholds(t));
  return t;
}

Stage ClassifyStage(int64_t order_count, int64_t first_ms, int64_t last_ms, int64_t as_of_ms,
                    const LifecycleThresholds& t) {
  if (order_count <= 0) return Stage::kProspect;
  const int64_t since_last = DaysBetween(last_ms, as_of_ms);
  if (since_last > t.churned_days) return Stage::kChurned;
  if (since_last > t.active_days) return Stage::kAtRisk;
  if (DaysBetween(first_ms, as_of_ms) <= t.new_days) return Stage::kNew;
  if (order_count >= t.loyal_min_orders) return Stage::kLoyal;
  return Stage::kActive;
}

Result<YearMonth> YearMonth::Parse(std::string_view text, const std::string& field) {
  auto bad = [&] { return Error::InvalidField(field, "must be a month as YYYY-MM"); };
  if (text.size() != 7 || text[4] != '-') return bad();
  int year = 0, month = 0;
  auto y = std::from_chars(text.data(), text.data() + 4, year);
  auto m = std::from_chars(text.data() + 5, text.data() + 7, month);
  if (y.ec != std::errc() || y.ptr != text.data() + 4 || m.ec != std::errc() || m.ptr != text.data() + 7) {
    return bad();
  }
  if (year < 1970 || year > 9999 || month < 1 || month > 12) return bad();
  return YearMonth{year, month};
}

LifecycleService::LifecycleService(storage::Store& store, const features::FeatureStore& features,
                                   const Clock& clock)
    : store_(store), features_(features), clock_(clock) {}

Result<void> LifecycleService::Load() {
  ASSIGN_OR_RETURN(auto stored, store_.GetAnalyticsSetting(kThresholdsSettingKey));
  LifecycleThresholds t;
  if (stored) {
    ASSIGN_OR_RETURN(t, DecodeThresholds(stored->value));
  }
  std::lock_guard lock(mutex_);
  thresholds_ = t;
  return Ok();
}

LifecycleThresholds LifecycleService::thresholds() const {
  std::lock_guard lock(mutex_);
  return thresholds_;
}

Result<LifecycleThresholds> LifecycleService::PutThresholds(const LifecycleThresholds& t, const std::string& actor) {
  RETURN_IF_ERROR(ValidateThresholds(t));
  storage::AnalyticsSettingRecord record{kThresholdsSettingKey, EncodeThresholds(t), actor, clock_.Now()};
  RETURN_IF_ERROR(store_.Write([&](storage::WriteTxn& txn) { return txn.PutAnalyticsSetting(record); }));
  std::lock_guard lock(mutex_);
  thresholds_ = t;
  return t;
}

std::optional<CustomerLifecycle> LifecycleService::Get(CustomerId id, std::optional<Timestamp> as_of) const {
  const Timestamp now = as_of.value_or(clock_.Now());
  auto f = features_.Get(id, now);
  if (!f) return std::nullopt;
  const LifecycleThresholds t = thresholds();
  CustomerLifecycle out;
  if (f->order_count == 0 || !f->first_order_at || !f->last_order_at) return out;
  const int64_t first = ToUnixMillis(*f->first_order_at), last = ToUnixMillis(*f->last_order_at);
  out.stage = ClassifyStage(f->order_count, first, last, ToUnixMillis(now), t);
  switch (out.stage) {
    case Stage::kNew: out.since = *f->first_order_at; break;
    case Stage::kAtRisk: out.since = FromUnixMillis(last + (int64_t{t.active_days} + 1) * kDayMs); break;
    case Stage::kChurned: out.since = FromUnixMillis(last + (int64_t{t.churned_days} + 1) * kDayMs); break;
    default: break;
  }
  return out;
}

void LifecycleService::ReadStages(const std::function<void(CustomerId, Stage)>& fn,
                                  std::optional<Timestamp> as_of) const {
  const int64_t now = ToUnixMillis(as_of.value_or(clock_.Now()));
  const LifecycleThresholds t = thresholds();
  features_.ReadColumns([&](const features::FeatureColumns& c) {
    for (size_t i = 0; i < c.size(); ++i) {
      if (c.live[i] != features::FeatureColumns::kLive) continue;
      fn(CustomerId(c.customer_id[i]), ClassifyStage(c.order_count[i], c.first_order_ms[i], c.last_order_ms[i], now, t));
    }
  });
}

StageCounts LifecycleService::Counts(std::optional<Timestamp> as_of) const {
  StageCounts out;
  ReadStages([&](CustomerId, Stage stage) { ++out.counts[static_cast<int>(stage)]; }, as_of);
  return out;
}

Result<std::vector<MonthPoint>> LifecycleService::History(YearMonth from, YearMonth to) const {
  if (to.Index() < from.Index()) return Error::InvalidField("to", "must not be before from");
  if (to.Index() - from.Index() + 1 > kMaxHistoryMonths) {
    return Error::InvalidField("to", "at most " + std::to_string(kMaxHistoryMonths) + " months");
  }
  const LifecycleThresholds t = thresholds();
  // (customer, exists from ms) of live customers, ascending id. A merge keeps the survivor's row, so the
  // survivor existed as early as any record merged into it.
  std::vector<std::pair<int64_t, int64_t>> live;
  std::vector<std::pair<int64_t, int64_t>> merged;  // (survivor, created ms of a merged-away record)
  RETURN_IF_ERROR(store_.ScanCustomerFacts([&](const storage::Store::CustomerFact& c) {
    if (c.merged_into) {
      merged.emplace_back(c.merged_into->value(), ToUnixMillis(c.created_at));
    } else {
      live.emplace_back(c.customer.value(), ToUnixMillis(c.created_at));
    }
  }));
  std::sort(live.begin(), live.end());
  for (auto [survivor, created] : merged) {
    auto it = std::lower_bound(live.begin(), live.end(), std::pair{survivor, INT64_MIN});
    if (it != live.end() && it->first == survivor) it->second = std::min(it->second, created);
  }
  std::vector<std::pair<int64_t, int64_t>> orders;  // (customer, placed ms)
  RETURN_IF_ERROR(store_.ScanOrderFacts([&](const storage::Store::OrderFact& o) {
    orders.emplace_back(o.customer.value(), ToUnixMillis(o.placed_at));
  }));
  std::sort(orders.begin(), orders.end());

  std::vector<MonthPoint> points;
  std::vector<int64_t> ends;
  for (int index = from.Index(); index <= to.Index(); ++index) {
    const int64_t end = MonthStartMs(index + 1) - 1;
    points.push_back(MonthPoint{MonthText(index), FromUnixMillis(end), {}});
    ends.push_back(end);
  }
  // A customer is counted from the month end after it exists; without an order by then it is a prospect.
  size_t o = 0;
  for (auto [customer, created] : live) {
    while (o < orders.size() && orders[o].first < customer) ++o;  // orders of customers no longer live
    size_t begin = o;
    while (o < orders.size() && orders[o].first == customer) ++o;
    const int64_t exists_from = begin < o ? std::min(created, orders[begin].second) : created;
    // Walk the month ends and this customer's orders (ascending time) together.
    size_t k = begin;
    int64_t count = 0;
    for (size_t j = 0; j < ends.size(); ++j) {
      if (ends[j] < exists_from) continue;
      while (k < o && orders[k].second <= ends[j]) {
        ++count;
        ++k;
      }
      const int64_t first = count > 0 ? orders[begin].second : 0;
      const int64_t last = count > 0 ? orders[k - 1].second : 0;
      ++points[j].counts.counts[static_cast<int>(ClassifyStage(count, first, last, ends[j], t))];
    }
  }
  return points;
}

}  // namespace panorama::analytics
