// The audience index on a real SQLite store: a small known dataset, each kind of condition, per-customer
// evaluation agreeing with full evaluation, incremental updates, missing sources.

#include "segments/audience_index.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "features/feature_store.h"
#include "privacy/consent_service.h"
#include "segments/metric_provider.h"
#include "storage/store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/result_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_crypto.h"

namespace panorama::segments {
namespace {

using namespace std::chrono_literals;
using storage::CustomerRecord;

const Timestamp kNow = FromUnixMillis(1'767'225'600'000);  // 2026-01-01T00:00:00Z

class FakeMetrics final : public MetricProvider {
 public:
  std::map<int64_t, std::map<std::string, MetricValue>> values;

  // MetricProvider
  Result<void> Scan(std::string_view metric, Timestamp,
                    const std::function<void(CustomerId, const MetricValue&)>& fn) const override {
    for (const auto& [id, metrics] : values) {
      auto it = metrics.find(std::string(metric));
      if (it != metrics.end()) fn(CustomerId(id), it->second);
    }
    return Ok();
  }
  Result<std::optional<MetricValue>> Get(std::string_view metric, CustomerId customer, Timestamp) const override {
    auto c = values.find(customer.value());
    if (c == values.end()) return std::optional<MetricValue>();
    auto it = c->second.find(std::string(metric));
    if (it == c->second.end()) return std::optional<MetricValue>();
    return std::optional<MetricValue>(it->second);
  }
};

class AudienceIndexTest : public ::testing::Test {
 protected:
  AudienceIndexTest() {
    crypto_ = testing::MakeTestCrypto(dir_.File("keystore.db"), /*durable=*/false);
    auto opened = storage::OpenSqliteStore({.path = dir_.File("p.db"), .crypto = crypto_.get(), .synchronous_full = false});
    if (!opened) std::abort();
    store_ = std::move(*opened);
    consents_ = std::make_unique<privacy::ConsentService>(*store_, clock_);
    index_ = std::make_unique<AudienceIndex>(
        *store_, AudienceSources{.features = &features_, .consents = consents_.get(), .metrics = &metrics_});
  }

  void SetUp() override {
    ASSERT_OK(consents_->Load());
    c1_ = AddCustomer("王小明", "CN", "上海", "male", "1990-01-05", {"vip"}, R"({"plan":"pro","score":5})",
                      kNow - 400 * 24h);
    c2_ = AddCustomer("Jane", "US", "New York", "female", "2000-02-29", {}, R"({"plan":"free","langs":["en"]})",
                      kNow - 100 * 24h);
    c3_ = AddCustomer("李华", "CN", "北京", "female", "", {"vip", "new"}, "{}", kNow - 900 * 24h);
    AddOrder(c1_, kNow - 10 * 24h, 60000);
    AddOrder(c1_, kNow - 40 * 24h, 60000);
    AddOrder(c2_, kNow - 200 * 24h, 10000);
    for (int i = 0; i < 3; ++i) AddEvent(c1_, "Product Viewed", kNow - (i + 1) * 24h, R"({"category":"shoes"})");
    AddEvent(c1_, "Product Viewed", kNow - 20 * 24h, R"({"category":"hats"})");
    AddEvent(c2_, "Product Viewed", kNow - 2 * 24h, R"({"category":"shoes","price":120})");
    AddEvent(c3_, "Signed Up", kNow - 800 * 24h, "{}");
    Grant(c1_, "marketing", "email");
    Grant(c3_, "marketing", "");
    metrics_.values[c1_.value()] = {{"rfm.segment", std::string("Champions")}, {"rfm.r", 5.0}};
    metrics_.values[c2_.value()] = {{"rfm.segment", std::string("At Risk")}, {"rfm.r", 1.0}};
    ASSERT_OK(features_.Rebuild(*store_));
    ASSERT_OK(index_->Rebuild());
  }

  CustomerId AddCustomer(std::string name, std::string country, std::string city, std::string gender,
                         std::string birthday, std::vector<std::string> tags, std::string traits, Timestamp created) {
    CustomerRecord c;
    c.name = std::move(name);
    c.country = std::move(country);
    c.city = std::move(city);
    c.gender = std::move(gender);
    c.birthday = std::move(birthday);
    c.tags = std::move(tags);
    c.traits_json = std::move(traits);
    c.created_at = c.updated_at = created;
    CustomerId id;
    EXPECT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
      ASSIGN_OR_RETURN(id, txn.InsertCustomer(c));
      return Ok();
    }));
    return id;
  }

  void AddOrder(CustomerId customer, Timestamp at, int64_t total_minor) {
    storage::OrderRecord o;
    o.customer = customer;
    o.external_id = "o" + std::to_string(++serial_);
    o.total = Money{total_minor, "CNY"};
    o.total_base_minor = total_minor;
    o.placed_at = at;
    EXPECT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> { return Status(txn.InsertOrder(o)); }));
  }

  void AddEvent(CustomerId customer, std::string name, Timestamp at, std::string properties) {
    storage::EventRecord e;
    e.customer = customer;
    e.message_id = "m" + std::to_string(++serial_);
    e.type = "track";
    e.name = std::move(name);
    e.properties_json = std::move(properties);
    e.timestamp = e.received_at = at;
    EXPECT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> { return Status(txn.InsertEvent(e)); }));
  }

  void Grant(CustomerId customer, std::string purpose, std::string channel) {
    storage::ConsentRecord c;
    c.purpose = std::move(purpose);
    c.channel = std::move(channel);
    c.granted = true;
    c.lawful_basis = "consent";
    c.source = "api";
    c.policy_version = "2026-01";
    c.actor = "user:1";
    EXPECT_OK(consents_->Record(customer, {c}));
  }

  template <typename T>
  static Result<void> Status(const Result<T>& r) {
    if (r) return Ok();
    return r.error();
  }

  // Members by full evaluation, checked against per-customer evaluation of every customer.
  std::set<int64_t> Members(std::string_view text, Timestamp now = kNow, const SegmentResolver& segments = nullptr) {
    auto rule = Compile(text);
    EXPECT_TRUE(rule.has_value()) << text << ": " << rule.error().message();
    if (!rule) return {};
    auto bitmap = index_->Evaluate(**rule, now, segments);
    EXPECT_TRUE(bitmap.has_value()) << text << ": " << bitmap.error().message();
    if (!bitmap) return {};
    std::set<int64_t> out;
    for (uint32_t id : *bitmap) out.insert(id);
    for (CustomerId c : {c1_, c2_, c3_}) {
      auto one = index_->Matches(**rule, c, now, segments);
      EXPECT_TRUE(one.has_value()) << text;
      if (one) {
        EXPECT_EQ(*one, out.count(c.value()) == 1) << text << " for customer " << c.value();
      }
    }
    return out;
  }
  std::set<int64_t> Ids(std::initializer_list<CustomerId> ids) {
    std::set<int64_t> out;
    for (auto id : ids) out.insert(id.value());
    return out;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_{kNow};
  std::unique_ptr<security::FieldEncryptor> crypto_;
  std::unique_ptr<storage::Store> store_;
  features::FeatureStore features_{clock_};
  std::unique_ptr<privacy::ConsentService> consents_;
  FakeMetrics metrics_;
  std::unique_ptr<AudienceIndex> index_;
  CustomerId c1_, c2_, c3_;
  int serial_ = 0;
};

TEST_F(AudienceIndexTest, EvaluatesProfileComparisons) {
  EXPECT_EQ(Members(R"(country = "CN")"), Ids({c1_, c3_}));
  EXPECT_EQ(Members(R"(city in ("上海", "北京"))"), Ids({c1_, c3_}));
  EXPECT_EQ(Members(R"(gender != "female")"), Ids({c1_}));
  EXPECT_EQ(Members(R"(city contains "York")"), Ids({c2_}));
  EXPECT_EQ(Members(R"(country not in ("US"))"), Ids({c1_, c3_}));
  EXPECT_EQ(Members(R"(tags contains "vip")"), Ids({c1_, c3_}));
  EXPECT_EQ(Members("age >= 30"), Ids({c1_}));
  EXPECT_EQ(Members("created_at before 1000d ago"), Ids({}));
}

TEST_F(AudienceIndexTest, CombinesWithAndOrNot) {
  EXPECT_EQ(Members(R"(country = "CN" and not tags contains "new")"), Ids({c1_}));
  EXPECT_EQ(Members(R"(country = "US" or city = "北京")"), Ids({c2_, c3_}));
  EXPECT_EQ(Members(R"(not (country = "US" or city = "北京"))"), Ids({c1_}));
}

TEST_F(AudienceIndexTest, EvaluatesDates) {
  EXPECT_EQ(Members("created_at before 2024-01-01"), Ids({c3_}));
  EXPECT_EQ(Members("created_at within 200d"), Ids({c2_}));
  EXPECT_EQ(Members("created_at after 500d ago"), Ids({c1_, c2_}));
}

TEST_F(AudienceIndexTest, MatchesUpcomingBirthdaysAcrossYearEndAndLeapDay) {
  EXPECT_EQ(Members("birthday within next 7d"), Ids({c1_}));
  EXPECT_EQ(Members("birthday within next 3d"), Ids({}));
  EXPECT_EQ(Members("birthday within next 7d", kNow - 3 * 24h), Ids({c1_}));  // 29 December → 5 January
  EXPECT_EQ(Members("birthday within next 6d", kNow - 3 * 24h), Ids({}));
  // 2027-02-27: 29 February is celebrated on the 28th in a common year.
  const Timestamp feb27 = FromUnixMillis(DaysFromCivil(2027, 2, 27) * 86'400'000);
  EXPECT_EQ(Members("birthday within next 1d", feb27), Ids({c2_}));
  EXPECT_EQ(Members("birthday within next 0d", feb27), Ids({}));
}

TEST_F(AudienceIndexTest, EvaluatesTraits) {
  EXPECT_EQ(Members(R"(traits.plan = "pro")"), Ids({c1_}));
  EXPECT_EQ(Members(R"(traits.plan != "pro")"), Ids({c2_}));
  EXPECT_EQ(Members("traits.score >= 5"), Ids({c1_}));
  EXPECT_EQ(Members(R"(traits.langs contains "en")"), Ids({c2_}));
}

TEST_F(AudienceIndexTest, EvaluatesOrderFeatures) {
  EXPECT_EQ(Members("total_spend > 1000 CNY"), Ids({c1_}));
  EXPECT_EQ(Members("total_spend between 50 CNY and 1000 CNY"), Ids({c2_}));
  EXPECT_EQ(Members("order_count >= 2"), Ids({c1_}));
  EXPECT_EQ(Members("order_count = 0"), Ids({c3_}));
  EXPECT_EQ(Members("last_order within 30d"), Ids({c1_}));
  EXPECT_EQ(Members("first_order before 30d ago"), Ids({c1_, c2_}));
  EXPECT_EQ(Members("event_count_30d > 3"), Ids({c1_}));
  EXPECT_EQ(Members("avg_days_between_orders = 30"), Ids({c1_}));
}

TEST_F(AudienceIndexTest, EvaluatesBehaviour) {
  EXPECT_EQ(Members(R"(did "Product Viewed" >= 3 times within 7d where properties.category = "shoes")"), Ids({c1_}));
  EXPECT_EQ(Members(R"(did "Product Viewed" within 7d)"), Ids({c1_, c2_}));
  EXPECT_EQ(Members(R"(not did "Product Viewed")"), Ids({c3_}));
  EXPECT_EQ(Members(R"(did "Product Viewed" = 0 times within 30d)"), Ids({c3_}));
  EXPECT_EQ(Members(R"(did "Product Viewed" between 1 and 2 times)"), Ids({c2_}));
  EXPECT_EQ(Members(R"(did "Product Viewed" where properties.price > 100)"), Ids({c2_}));
  EXPECT_EQ(Members(R"(did "Product Viewed" where properties.category in ("hats", "caps"))"), Ids({c1_}));
  EXPECT_EQ(Members(R"(did "Signed Up")"), Ids({c3_}));
  EXPECT_EQ(Members(R"(did "Signed Up" within 90d)"), Ids({}));
}

TEST_F(AudienceIndexTest, EvaluatesConsentsMetricsAndSegments) {
  EXPECT_EQ(Members("consent.marketing.email"), Ids({c1_}));
  EXPECT_EQ(Members("consent.marketing"), Ids({c3_}));
  EXPECT_EQ(Members(R"(rfm.segment in ("Champions", "Loyal"))"), Ids({c1_}));
  EXPECT_EQ(Members("rfm.r <= 2"), Ids({c2_}));
  Bitmap vip;
  vip.add(static_cast<uint32_t>(c2_.value()));
  SegmentResolver resolver = [&](std::string_view name) -> Result<Bitmap> {
    if (name == "VIP") return vip;
    return Error::NotFound("segment not found");
  };
  EXPECT_EQ(Members(R"(segment "VIP" or country = "CN")", kNow, resolver), Ids({c1_, c2_, c3_}));
  EXPECT_EQ(Members(R"(not segment "VIP")", kNow, resolver), Ids({c1_, c3_}));
}

TEST_F(AudienceIndexTest, ResolverMayEvaluateOtherRulesOnTheSameIndex) {
  auto china = Compile(R"(country = "CN")");
  ASSERT_OK(china);
  SegmentResolver resolver = [&](std::string_view name) -> Result<Bitmap> {
    if (name == "China") return index_->Evaluate(**china, kNow);
    return Error::NotFound("segment not found");
  };

  EXPECT_EQ(Members(R"(segment "China" and tags contains "new")", kNow, resolver), Ids({c3_}));
  auto unknown = Compile(R"(segment "Nope")");
  EXPECT_ERROR_CODE(index_->Evaluate(**unknown, kNow, resolver), ErrorCode::kNotFound);
}

std::string Trim(std::string s) {
  const auto first = s.find_first_not_of(" \t");
  const auto last = s.find_last_not_of(" \t\r");
  return first == std::string::npos ? "" : s.substr(first, last - first + 1);
}

TEST_F(AudienceIndexTest, RulesFromTestdataFile) {
  std::ifstream file("src/segments/testdata/rules.txt");
  ASSERT_TRUE(file.good()) << "run from the source directory (ctest sets it)";
  const std::map<std::string, CustomerId> names = {{"wang", c1_}, {"jane", c2_}, {"li", c3_}};
  std::string line;
  int cases = 0, number = 0;

  while (std::getline(file, line)) {
    ++number;
    if (Trim(line).empty() || Trim(line)[0] == '#') continue;
    const auto arrow = line.rfind("=>");
    ASSERT_NE(arrow, std::string::npos) << "line " << number << " has no =>";
    const std::string rule = Trim(line.substr(0, arrow));
    const std::string expected = Trim(line.substr(arrow + 2));
    SCOPED_TRACE("rules.txt:" + std::to_string(number) + ": " + rule);
    ++cases;
    if (expected.starts_with("error ")) {
      ParseResult parsed = ParseRule(rule);
      auto* error = std::get_if<RuleError>(&parsed);
      ASSERT_NE(error, nullptr);
      const std::string want = expected.substr(6);
      const std::string position = want.substr(0, want.find(' '));
      EXPECT_EQ(std::to_string(error->line) + ":" + std::to_string(error->column), position) << error->message;
      EXPECT_NE(error->message.find(Trim(want.substr(position.size()))), std::string::npos) << error->message;
      continue;
    }
    std::set<int64_t> want;
    if (expected != "none") {
      std::stringstream list(expected);
      std::string name;
      while (std::getline(list, name, ',')) {
        ASSERT_EQ(names.count(Trim(name)), 1u) << "unknown customer " << name;
        want.insert(names.at(Trim(name)).value());
      }
    }
    EXPECT_EQ(Members(rule), want);
  }

  EXPECT_GE(cases, 30);
}

TEST_F(AudienceIndexTest, EvaluatesWhileCustomersChangeOnOtherThreads) {
  auto rule = Compile(R"(country = "CN" and (tags contains "vip" or total_spend > 1 CNY))");
  ASSERT_OK(rule);
  std::atomic<bool> bad{false};

  std::thread writer([&] {
    for (int i = 0; i < 200; ++i) {
      if (!index_->OnCustomerChanged(i % 2 ? c2_ : c3_)) bad = true;
      if (i % 50 == 0) index_->OnErase(c3_);
    }
  });
  std::thread reader([&] {
    for (int i = 0; i < 200; ++i) {
      auto members = index_->Evaluate(**rule, kNow);
      // c1 never changes, so it is always a member; c2 (US) never is.
      if (!members || !members->contains(static_cast<uint32_t>(c1_.value())) ||
          members->contains(static_cast<uint32_t>(c2_.value()))) {
        bad = true;
      }
    }
  });
  writer.join();
  reader.join();

  EXPECT_FALSE(bad.load());
  EXPECT_EQ(Members(R"(country = "CN")"), Ids({c1_, c3_}));
}

// A writer grants and then withdraws consents in a fixed order while readers evaluate consent rules: every
// evaluation sees the consent bitmaps between two whole changes, so its members are always a prefix (granting)
// or a suffix (withdrawing) of that order, and never shrink while granting or grow while withdrawing.
TEST_F(AudienceIndexTest, ConsentRulesSeeWholeChangesWhileAWriterRecordsConsents) {
  std::vector<CustomerId> order;
  for (int i = 0; i < 40; ++i) {
    order.push_back(AddCustomer("c" + std::to_string(i), "DE", "Berlin", "", "", {"bulk"}, "{}", kNow - 24h));
  }
  ASSERT_OK(index_->Rebuild());
  std::map<int64_t, size_t> position;
  for (size_t i = 0; i < order.size(); ++i) position[order[i].value()] = i;
  auto plain = Compile("consent.marketing.email");
  auto narrowed = Compile(R"(tags contains "bulk" and consent.marketing.email)");  // the `within` path
  ASSERT_OK(plain);
  ASSERT_OK(narrowed);

  std::atomic<int> phase{0};  // 0 granting, 1 withdrawing, 2 done
  std::atomic<int> bad{0};  // the first failed check, for the message
  std::atomic<int> evaluations{0};
  std::thread writer([&] {
    storage::ConsentRecord c;
    c.lawful_basis = "consent";
    c.source = "api";
    c.purpose = "marketing";
    for (CustomerId id : order) {
      c.channel = "email";
      c.granted = true;
      if (!consents_->Record(id, {c})) bad = 1;
    }
    phase = 1;
    for (CustomerId id : order) {  // a purpose-level withdrawal overrides the channel grant
      c.channel = "";
      c.granted = false;
      if (!consents_->Record(id, {c})) bad = 2;
    }
    phase = 2;
  });
  auto read = [&](const CompiledRule& rule) {
    size_t last_count = 0;
    int last_seen = 0;
    while (true) {
      const int before = phase.load();
      auto members = index_->Evaluate(rule, kNow);
      if (!members) {
        bad = 3;
        return;
      }
      ++evaluations;
      std::vector<size_t> at;  // positions of the bulk members, ascending
      for (uint32_t id : *members) {
        auto it = position.find(id);
        if (it != position.end()) {
          at.push_back(it->second);
        } else if (id != c1_.value()) {
          bad = 4;  // c1 is the only other customer with the email consent
        }
      }
      const size_t n = at.size();
      const bool contiguous = n == 0 || at.back() - at.front() + 1 == n;
      const bool prefix = n == 0 || at.front() == 0;
      const bool suffix = n == 0 || at.back() == order.size() - 1;
      if (!contiguous || !(prefix || suffix)) bad = 5;
      // The evaluation's snapshot lies between the two loads: phase 0 after it means only grants were
      // visible; phase >= 1 before it means every grant was.
      const int seen = phase.load() == 0 ? 0 : before >= 1 ? 1 : -1;  // -1: around the switch
      if (seen == 0 && last_seen == 0 && n < last_count) bad = 6;
      if (seen == 1 && last_seen == 1 && n > last_count) bad = 7;
      last_count = n;
      last_seen = seen;
      if (before == 2) return;
    }
  };
  std::thread reader1([&] { read(**plain); });
  std::thread reader2([&] { read(**narrowed); });
  writer.join();
  reader1.join();
  reader2.join();

  EXPECT_EQ(bad.load(), 0);
  EXPECT_GE(evaluations.load(), 2);
  EXPECT_EQ(Members("consent.marketing.email"), Ids({c1_}));
  EXPECT_TRUE(Members(R"(tags contains "bulk" and consent.marketing.email)").empty());
}

TEST_F(AudienceIndexTest, FailsWithoutASource) {
  AudienceIndex bare(*store_);
  ASSERT_OK(bare.Rebuild());
  auto spend = Compile("total_spend > 1 CNY");
  auto consent = Compile("consent.marketing");
  auto segment = Compile(R"(segment "X")");
  ASSERT_OK(spend);

  EXPECT_ERROR_CODE(bare.Evaluate(**spend, kNow), ErrorCode::kFailedPrecondition);
  EXPECT_ERROR_CODE(bare.Evaluate(**consent, kNow), ErrorCode::kFailedPrecondition);
  EXPECT_ERROR_CODE(bare.Matches(**segment, c1_, kNow), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(bare.size(), 3);
}

TEST_F(AudienceIndexTest, ReloadsAChangedCustomerAndForgetsErasedOnes) {
  auto changed = store_->GetCustomer(c2_);
  ASSERT_OK(changed);
  changed->country = "CN";
  changed->tags = {"vip"};
  ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) { return txn.UpdateCustomer(*changed); }));

  ASSERT_OK(index_->OnCustomerChanged(c2_));
  index_->OnErase(c3_);

  EXPECT_EQ(Members(R"(country = "CN")"), Ids({c1_, c2_}));
  EXPECT_EQ(Members(R"(tags contains "vip")"), Ids({c1_, c2_}));
  EXPECT_EQ(index_->size(), 2);
  EXPECT_EQ(index_->KnownValues("country"), std::vector<std::string>{"CN"});
}

}  // namespace
}  // namespace panorama::segments
