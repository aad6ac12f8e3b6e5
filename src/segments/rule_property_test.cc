// Randomized property test: random customers, orders, events and consents in a real SQLite store; random rules
// from a generator. For every rule, full evaluation (AudienceIndex::Evaluate), per-customer evaluation
// (Matches) and a brute-force oracle that walks the AST over plain structs must name the same customers.
// The oracle is written independently of audience_index.cc (std::chrono calendar, its own feature sums).

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>

#include "features/feature_store.h"
#include "privacy/consent_service.h"
#include "segments/audience_index.h"
#include "segments/metric_provider.h"
#include "storage/store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/result_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_crypto.h"

namespace panorama::segments {
namespace {

using namespace std::chrono_literals;
namespace chr = std::chrono;

const Timestamp kNow = FromUnixMillis(1'767'225'600'000 + 13 * 3'600'000LL);  // 2026-01-01T13:00:00Z
constexpr int64_t kDay = 86'400'000;

struct PlainEvent {
  std::string name;
  int64_t ts;
  std::string category;  // "" = absent
  std::optional<int> price;
};

struct PlainCustomer {
  CustomerId id;
  std::string country, city, gender, birthday;  // birthday "YYYY-MM-DD" or ""
  std::set<std::string> tags;
  std::optional<std::string> plan;
  std::optional<int> score;
  int64_t created_ms = 0;
  std::vector<std::pair<int64_t, int64_t>> orders;  // (placed ms, base minor)
  std::vector<PlainEvent> events;
  bool consent_email = false;
  bool consent_marketing = false;
  bool marketing_withdrawn = false;  // a purpose-level withdrawal: no channel may send either
  bool restricted = false;           // GDPR Art. 18: no consent counts
  std::optional<std::string> rfm_segment;
  std::optional<double> rfm_r;
  bool in_s1 = false;
};

class FakeMetrics final : public MetricProvider {
 public:
  explicit FakeMetrics(const std::vector<PlainCustomer>& customers) : customers_(customers) {}
  // MetricProvider
  Result<void> Scan(std::string_view metric, Timestamp,
                    const std::function<void(CustomerId, const MetricValue&)>& fn) const override {
    for (const auto& c : customers_) {
      if (auto v = Value(metric, c)) fn(c.id, *v);
    }
    return Ok();
  }
  Result<std::optional<MetricValue>> Get(std::string_view metric, CustomerId id, Timestamp) const override {
    for (const auto& c : customers_) {
      if (c.id == id) return Value(metric, c);
    }
    return std::optional<MetricValue>();
  }

 private:
  static std::optional<MetricValue> Value(std::string_view metric, const PlainCustomer& c) {
    if (metric == "rfm.segment" && c.rfm_segment) return MetricValue(*c.rfm_segment);
    if (metric == "rfm.r" && c.rfm_r) return MetricValue(*c.rfm_r);
    return std::nullopt;
  }
  const std::vector<PlainCustomer>& customers_;
};

// ---- The oracle ----

chr::year_month_day Ymd(int64_t ms) { return chr::year_month_day(chr::floor<chr::days>(FromUnixMillis(ms))); }

std::optional<chr::year_month_day> Birthday(const PlainCustomer& c) {
  if (c.birthday.empty()) return std::nullopt;
  int y = 0, m = 0, d = 0;
  std::sscanf(c.birthday.c_str(), "%d-%d-%d", &y, &m, &d);
  return chr::year_month_day(chr::year(y), chr::month(static_cast<unsigned>(m)), chr::day(static_cast<unsigned>(d)));
}

double Num(const Value& v) { return v.kind == Value::Kind::kMoney ? static_cast<double>(v.minor) : v.number; }

bool NumOp(Op op, double x, const std::vector<Value>& vs) {
  switch (op) {
    case Op::kEq: return x == Num(vs[0]);
    case Op::kNe: return x != Num(vs[0]);
    case Op::kLt: return x < Num(vs[0]);
    case Op::kLe: return x <= Num(vs[0]);
    case Op::kGt: return x > Num(vs[0]);
    case Op::kGe: return x >= Num(vs[0]);
    case Op::kBetween: return Num(vs[0]) <= x && x <= Num(vs[1]);
    case Op::kIn:
      for (const auto& v : vs) {
        if (Num(v) == x) return true;
      }
      return false;
    case Op::kNotIn: return !NumOp(Op::kIn, x, vs);
    default: ADD_FAILURE() << "oracle: number op"; return false;
  }
}

bool StrOp(Op op, const std::string& x, const std::vector<Value>& vs) {
  switch (op) {
    case Op::kEq: return x == vs[0].text;
    case Op::kNe: return x != vs[0].text;
    case Op::kContains: return x.find(vs[0].text) != std::string::npos;
    case Op::kIn:
      for (const auto& v : vs) {
        if (v.text == x) return true;
      }
      return false;
    case Op::kNotIn: return !StrOp(Op::kIn, x, vs);
    default: ADD_FAILURE() << "oracle: string op"; return false;
  }
}

bool TimeOp(Op op, std::optional<int64_t> t, const std::vector<Value>& vs, int64_t now) {
  if (!t) return false;
  const int64_t ref = vs[0].relative ? now - vs[0].ms : vs[0].ms;
  switch (op) {
    case Op::kBefore: return *t < ref;
    case Op::kAfter: return *t > ref;
    case Op::kWithinLast: return now - vs[0].ms <= *t && *t <= now;
    case Op::kWithinNext: return now <= *t && *t <= now + vs[0].ms;
    default: ADD_FAILURE() << "oracle: time op"; return false;
  }
}

// An optional scalar trait/property: absent matches nothing; numbers only match number literals.
bool OptionalStrOp(Op op, const std::optional<std::string>& x, const std::vector<Value>& vs) {
  if (!x) return false;
  for (const auto& v : vs) {
    if (v.kind != Value::Kind::kString && op != Op::kNe && op != Op::kNotIn) return false;
  }
  if (op == Op::kNe && vs[0].kind != Value::Kind::kString) return true;
  return StrOp(op, *x, vs);
}

bool OptionalNumOp(Op op, const std::optional<int>& x, const std::vector<Value>& vs) {
  if (!x) return false;
  if (op == Op::kNe && vs[0].kind != Value::Kind::kNumber) return true;
  if (op == Op::kContains) return false;
  if (op == Op::kIn || op == Op::kNotIn) {
    bool found = false;
    for (const auto& v : vs) found = found || (v.kind == Value::Kind::kNumber && v.number == *x);
    return found == (op == Op::kIn);
  }
  if (vs[0].kind != Value::Kind::kNumber) return false;
  return NumOp(op, *x, vs);
}

class Oracle {
 public:
  Oracle(int64_t now, const std::set<int64_t>& s1) : now_(now), s1_(s1) {}

  bool Eval(const Node& n, const PlainCustomer& c) const {
    switch (n.kind) {
      case Node::Kind::kAnd:
        for (const auto& ch : n.children) {
          if (!Eval(ch, c)) return false;
        }
        return true;
      case Node::Kind::kOr:
        for (const auto& ch : n.children) {
          if (Eval(ch, c)) return true;
        }
        return false;
      case Node::Kind::kNot: return !Eval(n.children[0], c);
      case Node::Kind::kSegment: return s1_.count(c.id.value()) == 1;
      case Node::Kind::kDid: return Did(n, c);
      case Node::Kind::kCompare: return Compare(n, c);
    }
    return false;
  }

 private:
  bool Did(const Node& n, const PlainCustomer& c) const {
    int64_t count = 0;
    for (const auto& e : c.events) {
      if (e.name != n.event || e.ts > now_) continue;
      if (n.window_ms > 0 && e.ts < now_ - n.window_ms) continue;
      bool pass = true;
      for (const auto& f : n.where) {
        if (f.path[0] == "category") {
          pass = pass && OptionalStrOp(f.op, e.category.empty() ? std::nullopt : std::optional(e.category), f.values);
        } else {
          pass = pass && OptionalNumOp(f.op, e.price, f.values);
        }
      }
      if (pass) ++count;
    }
    switch (n.count_op) {
      case Op::kEq: return count == n.count_min;
      case Op::kNe: return count != n.count_min;
      case Op::kLt: return count < n.count_min;
      case Op::kLe: return count <= n.count_min;
      case Op::kGt: return count > n.count_min;
      case Op::kGe: return count >= n.count_min;
      case Op::kBetween: return n.count_min <= count && count <= n.count_max;
      default: return false;
    }
  }

  bool Compare(const Node& n, const PlainCustomer& c) const {
    const std::string& f = n.field;
    if (f == "country") return StrOp(n.op, c.country, n.values);
    if (f == "city") return StrOp(n.op, c.city, n.values);
    if (f == "gender") return StrOp(n.op, c.gender, n.values);
    if (f == "tags") return c.tags.count(n.values[0].text) == 1;
    if (f == "age") {
      auto b = Birthday(c);
      if (!b) return false;
      const auto today = Ymd(now_);
      int age = static_cast<int>(today.year()) - static_cast<int>(b->year());
      if (chr::month_day(today.month(), today.day()) < chr::month_day(b->month(), b->day())) --age;
      return NumOp(n.op, age, n.values);
    }
    if (f == "birthday") {
      auto b = Birthday(c);
      if (!b) return false;
      if (n.op != Op::kWithinNext) {
        return TimeOp(n.op, chr::sys_days(*b).time_since_epoch().count() * kDay, n.values, now_);
      }
      const auto today = chr::floor<chr::days>(FromUnixMillis(now_));
      for (int64_t k = 0; k <= n.values[0].ms / kDay; ++k) {
        const chr::year_month_day d(today + chr::days(k));
        if (d.month() == b->month() && d.day() == b->day()) return true;
        if (b->month() == chr::February && b->day() == chr::day(29) && d.month() == chr::February &&
            d.day() == chr::day(28) && !d.year().is_leap()) {
          return true;
        }
      }
      return false;
    }
    if (f == "created_at") return TimeOp(n.op, c.created_ms, n.values, now_);
    if (f == "traits.plan") return OptionalStrOp(n.op, c.plan, n.values);
    if (f == "traits.score") return OptionalNumOp(n.op, c.score, n.values);
    if (f == "consent.marketing.email") return c.consent_email && !c.marketing_withdrawn && !c.restricted;
    if (f == "consent.marketing") return c.consent_marketing && !c.restricted;
    if (f == "rfm.segment") return c.rfm_segment && StrOp(n.op, *c.rfm_segment, n.values);
    if (f == "rfm.r") return c.rfm_r && NumOp(n.op, *c.rfm_r, n.values);
    // Order and event aggregates, summed here from the raw rows.
    std::optional<int64_t> first, last, last_event;
    int64_t spend = 0, events_30d = 0;
    for (const auto& [at, total] : c.orders) {
      spend += total;
      first = first ? std::min(*first, at) : at;
      last = last ? std::max(*last, at) : at;
    }
    const auto today = chr::floor<chr::days>(FromUnixMillis(now_));
    for (const auto& e : c.events) {
      last_event = last_event ? std::max(*last_event, e.ts) : e.ts;
      const auto day = chr::floor<chr::days>(FromUnixMillis(e.ts));
      if (day <= today && day >= today - chr::days(29)) ++events_30d;
    }
    const auto orders = static_cast<double>(c.orders.size());
    if (f == "total_spend") return NumOp(n.op, static_cast<double>(spend), n.values);
    if (f == "order_count") return NumOp(n.op, orders, n.values);
    if (f == "event_count") return NumOp(n.op, static_cast<double>(c.events.size()), n.values);
    if (f == "event_count_30d") return NumOp(n.op, static_cast<double>(events_30d), n.values);
    if (f == "first_order") return TimeOp(n.op, first, n.values, now_);
    if (f == "last_order") return TimeOp(n.op, last, n.values, now_);
    if (f == "last_event") return TimeOp(n.op, last_event, n.values, now_);
    if (f == "avg_days_between_orders") {
      if (c.orders.size() < 2) return false;
      return NumOp(n.op, static_cast<double>(*last - *first) / kDay / (orders - 1), n.values);
    }
    ADD_FAILURE() << "oracle: unknown field " << f;
    return false;
  }

  int64_t now_;
  const std::set<int64_t>& s1_;
};

// ---- The generators ----

class RuleGenerator {
 public:
  explicit RuleGenerator(std::mt19937& rng) : rng_(rng) {}

  std::string Rule(int depth = 0) {
    const int pick = Int(0, depth >= 3 ? 0 : 9);
    if (pick <= 4) return Leaf();
    if (pick == 5) return "not " + Rule(depth + 1);
    if (pick == 6) return "(" + Rule(depth + 1) + ")";
    std::string joiner = pick == 7 ? " or " : " and ";
    std::string out = Rule(depth + 1);
    for (int i = Int(1, 2); i > 0; --i) out += joiner + Rule(depth + 1);
    return pick == 9 ? "(" + out + ")" : out;
  }

 private:
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) { return v[static_cast<size_t>(Int(0, static_cast<int>(v.size()) - 1))]; }
  std::string Q(const std::string& s) { return "\"" + s + "\""; }
  std::string StrList(const std::vector<std::string>& pool) {
    std::string out = "(";
    for (int i = Int(1, 3); i > 0; --i) out += Q(Pick(pool)) + (i > 1 ? ", " : "");
    return out + ")";
  }
  std::string NumCmp() { return Pick<std::string>({"=", "!=", "<", "<=", ">", ">="}); }
  std::string Dur() { return std::to_string(Int(1, 60)) + Pick<std::string>({"d", "d", "h", "w"}); }
  std::string Time() {
    if (Int(0, 1) == 0) return Dur() + " ago";
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", Int(2023, 2025), Int(1, 12), Int(1, 28));
    return buf;
  }
  std::string DateOp() {
    switch (Int(0, 3)) {
      case 0: return "before " + Time();
      case 1: return "after " + Time();
      case 2: return "within " + Dur();
      default: return "within next " + Dur();
    }
  }
  std::string StrOpText(const std::vector<std::string>& pool) {
    switch (Int(0, 4)) {
      case 0: return "= " + Q(Pick(pool));
      case 1: return "!= " + Q(Pick(pool));
      case 2: return "in " + StrList(pool);
      case 3: return "not in " + StrList(pool);
      default: {
        // The first character (one UTF-8 sequence) of a value.
        const std::string& v = Pick(pool);
        return "contains " + Q(v.substr(0, v.empty() ? 0 : static_cast<unsigned char>(v[0]) >= 0x80 ? 3 : 1));
      }
    }
  }

  std::string Leaf() {
    static const std::vector<std::string> kCountries = {"CN", "US", "JP", ""};
    static const std::vector<std::string> kCities = {"上海", "北京", "New York", ""};
    static const std::vector<std::string> kGenders = {"female", "male", "other", ""};
    switch (Int(0, 20)) {
      case 0: return "country " + StrOpText(kCountries);
      case 1: return "city " + StrOpText(kCities);
      case 2: return "gender " + StrOpText(kGenders);
      case 3: return "tags contains " + Q(Pick<std::string>({"vip", "new", "churn"}));
      case 4: return Int(0, 1) ? "age " + NumCmp() + " " + std::to_string(Int(10, 60))
                               : "age between " + std::to_string(Int(10, 35)) + " and " + std::to_string(Int(30, 60));
      case 5: return "birthday within next " + std::to_string(Int(0, 60)) + "d";
      case 6: return "created_at " + DateOp();
      case 7: return "traits.plan " + StrOpText({"pro", "free", "team"});
      case 8: return Int(0, 1) ? "traits.score " + NumCmp() + " " + std::to_string(Int(0, 10))
                               : "traits.score in (" + std::to_string(Int(0, 10)) + ", " + std::to_string(Int(0, 10)) + ")";
      case 9: return Int(0, 1) ? "total_spend " + NumCmp() + " " + std::to_string(Int(0, 3000)) + " CNY"
                               : "total_spend between " + std::to_string(Int(0, 500)) + " CNY and " +
                                     std::to_string(Int(500, 3000)) + " CNY";
      case 10: return "order_count " + NumCmp() + " " + std::to_string(Int(0, 4));
      case 11: return Pick<std::string>({"first_order ", "last_order ", "last_event "}) + DateOp();
      case 12: return Pick<std::string>({"event_count ", "event_count_30d "}) + NumCmp() + " " + std::to_string(Int(0, 6));
      case 13: return "avg_days_between_orders " + NumCmp() + " " + std::to_string(Int(0, 200));
      case 14: return Pick<std::string>({"consent.marketing.email", "consent.marketing", "consent.marketing = false"});
      case 15: return "rfm.segment " + StrOpText({"Champions", "Loyal", "At Risk"});
      case 16: return "rfm.r " + NumCmp() + " " + std::to_string(Int(1, 5));
      case 17: return "segment \"S1\"";
      default: return Did();
    }
  }

  std::string Did() {
    std::string out = "did " + Q(Pick<std::string>({"Product Viewed", "Order Completed", "Signed Up"}));
    switch (Int(0, 3)) {
      case 0: break;
      case 1: out += " " + NumCmp() + " " + std::to_string(Int(0, 4)) + " times"; break;
      case 2: out += " between " + std::to_string(Int(0, 2)) + " and " + std::to_string(Int(2, 5)) + " times"; break;
      default: out += " >= " + std::to_string(Int(1, 3)); break;
    }
    if (Int(0, 1)) out += " within " + Dur();
    if (Int(0, 2) == 0) {
      out += " where " + Filter();
      if (Int(0, 1)) out += " and " + Filter();
    }
    return out;
  }

  std::string Filter() {
    switch (Int(0, 3)) {
      case 0: return "properties.category " + Pick<std::string>({"=", "!="}) + " " + Q(Pick<std::string>({"shoes", "hats"}));
      case 1: return "properties.category in (\"shoes\", \"bags\")";
      case 2: return "properties.category contains \"o\"";
      default: return "properties.price " + NumCmp() + " " + std::to_string(Int(0, 200));
    }
  }

  std::mt19937& rng_;
};

class RulePropertyTest : public ::testing::Test {
 protected:
  RulePropertyTest() {
    crypto_ = testing::MakeTestCrypto(dir_.File("keystore.db"), /*durable=*/false);
    auto opened = storage::OpenSqliteStore({.path = dir_.File("p.db"), .crypto = crypto_.get(), .synchronous_full = false});
    if (!opened) std::abort();
    store_ = std::move(*opened);
    consents_ = std::make_unique<privacy::ConsentService>(*store_, clock_);
  }

  void Generate(std::mt19937& rng, int count) {
    auto pick = [&](std::vector<std::string> v) { return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)]; };
    auto chance = [&](int percent) { return std::uniform_int_distribution<int>(0, 99)(rng) < percent; };
    auto between = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
    ASSERT_OK(consents_->Load());
    int serial = 0;
    for (int i = 0; i < count; ++i) {
      PlainCustomer p;
      p.country = pick({"CN", "US", "JP", ""});
      p.city = pick({"上海", "北京", "New York", ""});
      p.gender = pick({"female", "male", "other", ""});
      if (chance(80)) {
        // Birthdays cluster around now (and include 29 February) so the windows have something to find.
        const int64_t day = chance(30) ? ToUnixMillis(kNow) / kDay + between(-5, 60) : between(-20000, 10000);
        const chr::year_month_day ymd{chr::sys_days{chr::days{day}}};
        int year = static_cast<int>(ymd.year()) - static_cast<int>(between(15, 60));
        unsigned month = static_cast<unsigned>(ymd.month()), d = static_cast<unsigned>(ymd.day());
        if (chance(10)) {
          month = 2;
          d = 29;
          year = 1996;
        }
        char buf[16];
        std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", year, month, d);
        p.birthday = buf;
      }
      for (const char* tag : {"vip", "new", "churn"}) {
        if (chance(30)) p.tags.insert(tag);
      }
      if (chance(70)) p.plan = pick({"pro", "free", "team"});
      if (chance(60)) p.score = static_cast<int>(between(0, 10));
      p.created_ms = ToUnixMillis(kNow) - between(0, 1100) * kDay - between(0, kDay);
      storage::CustomerRecord c;
      c.name = "客户" + std::to_string(i);
      c.country = p.country;
      c.city = p.city;
      c.gender = p.gender;
      c.birthday = p.birthday;
      c.tags.assign(p.tags.begin(), p.tags.end());
      std::string traits = "{";
      if (p.plan) traits += "\"plan\":\"" + *p.plan + "\"";
      if (p.score) traits += std::string(p.plan ? "," : "") + "\"score\":" + std::to_string(*p.score);
      c.traits_json = traits + "}";
      c.created_at = c.updated_at = FromUnixMillis(p.created_ms);
      ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
        ASSIGN_OR_RETURN(p.id, txn.InsertCustomer(c));
        for (int64_t k = between(0, 4); k > 0; --k) {
          storage::OrderRecord o;
          o.customer = p.id;
          o.external_id = "o" + std::to_string(++serial);
          o.total_base_minor = between(0, 1500) * 100;
          o.total = Money{o.total_base_minor, "CNY"};
          o.placed_at = kNow - chr::milliseconds(between(0, 400 * kDay));
          p.orders.emplace_back(ToUnixMillis(o.placed_at), o.total_base_minor);
          RETURN_IF_ERROR(Status(txn.InsertOrder(o)));
        }
        for (int64_t k = between(0, 7); k > 0; --k) {
          PlainEvent pe{pick({"Product Viewed", "Order Completed", "Signed Up"}),
                        ToUnixMillis(kNow) - between(0, 70 * kDay), "", std::nullopt};
          std::string props = "{";
          if (chance(70)) pe.category = pick({"shoes", "hats", "bags"});
          if (chance(60)) pe.price = static_cast<int>(between(0, 200));
          if (!pe.category.empty()) props += "\"category\":\"" + pe.category + "\"";
          if (pe.price) props += std::string(pe.category.empty() ? "" : ",") + "\"price\":" + std::to_string(*pe.price);
          storage::EventRecord e;
          e.customer = p.id;
          e.message_id = "m" + std::to_string(++serial);
          e.type = "track";
          e.name = pe.name;
          e.properties_json = props + "}";
          e.timestamp = e.received_at = FromUnixMillis(pe.ts);
          p.events.push_back(pe);
          RETURN_IF_ERROR(Status(txn.InsertEvent(e)));
        }
        return Ok();
      }));
      auto grant = [&](const char* channel, bool granted = true) {
        storage::ConsentRecord r;
        r.purpose = "marketing";
        r.channel = channel;
        r.granted = granted;
        r.lawful_basis = "consent";
        r.source = "api";
        r.policy_version = "1";
        r.actor = "user:1";
        ASSERT_OK(consents_->Record(p.id, {r}));
      };
      if (chance(40)) {
        grant("email");
        p.consent_email = true;
      }
      if (chance(40)) {
        grant("");
        p.consent_marketing = true;
      }
      if (chance(15)) {
        grant("", /*granted=*/false);
        p.consent_marketing = false;
        p.marketing_withdrawn = true;
      }
      if (chance(10)) {
        consents_->OnRestricted(p.id, true);
        p.restricted = true;
      }
      if (!p.orders.empty()) {
        p.rfm_segment = pick({"Champions", "Loyal", "At Risk"});
        p.rfm_r = static_cast<double>(between(1, 5));
      }
      if (chance(30)) {
        p.in_s1 = true;
        s1_.insert(p.id.value());
      }
      customers_.push_back(std::move(p));
    }
  }

  template <typename T>
  static Result<void> Status(const Result<T>& r) {
    if (r) return Ok();
    return r.error();
  }

  testing::TempDir dir_;
  testing::FakeClock clock_{kNow};
  std::unique_ptr<security::FieldEncryptor> crypto_;
  std::unique_ptr<storage::Store> store_;
  features::FeatureStore features_{clock_};
  std::unique_ptr<privacy::ConsentService> consents_;
  std::vector<PlainCustomer> customers_;
  std::set<int64_t> s1_;
};

TEST_F(RulePropertyTest, FullPerCustomerAndOracleAgreeOnRandomRules) {
  std::mt19937 rng(20261123);
  Generate(rng, 60);
  FakeMetrics metrics(customers_);
  ASSERT_OK(features_.Rebuild(*store_));
  AudienceIndex index(*store_, {.features = &features_, .consents = consents_.get(), .metrics = &metrics});
  ASSERT_OK(index.Rebuild());
  Bitmap s1;
  for (int64_t id : s1_) s1.add(static_cast<uint32_t>(id));
  SegmentResolver resolver = [&](std::string_view name) -> Result<Bitmap> {
    if (name == "S1") return s1;
    return Error::NotFound("no segment");
  };
  Oracle oracle(ToUnixMillis(kNow), s1_);
  RuleGenerator generator(rng);
  int nonempty = 0, partial = 0;

  for (int i = 0; i < 400; ++i) {
    const std::string text = generator.Rule();
    auto rule = Compile(text);
    ASSERT_OK(rule);
    auto full = index.Evaluate(**rule, kNow, resolver);
    ASSERT_OK(full);
    std::set<int64_t> expected;
    for (const auto& c : customers_) {
      const bool want = oracle.Eval((*rule)->root(), c);
      if (want) expected.insert(c.id.value());
      auto one = index.Matches(**rule, c.id, kNow, resolver);
      ASSERT_OK(one);
      ASSERT_EQ(*one, want) << "rule " << i << ": " << text << "\ncustomer " << c.id.value();
    }
    std::set<int64_t> got;
    for (uint32_t id : *full) got.insert(id);
    ASSERT_EQ(got, expected) << "rule " << i << ": " << text;
    nonempty += !got.empty();
    partial += !got.empty() && got.size() < customers_.size();
  }

  // The generator must produce discriminating rules, not only everyone or no one.
  EXPECT_GT(partial, 150);
  std::printf("rules with members: %d, neither empty nor everyone: %d of 400\n", nonempty, partial);
}

}  // namespace
}  // namespace panorama::segments
