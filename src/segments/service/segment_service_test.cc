// SegmentService on a real SQLite file (through the audit ledger decorator) with the test rule engine:
// storage, validation, dependency order, incremental diffs, restart, erasure, set operations, and the
// randomized check that incremental bookkeeping ends equal to a full evaluation and to a brute-force oracle.

#include "segments/service/segment_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "audit/ledgered_store.h"
#include "features/feature_store.h"
#include "privacy/consent_service.h"
#include "privacy/dsar_service.h"
#include "segments/audience_index.h"
#include "segments/rule.h"
#include "segments/service/audience_rule_engine.h"
#include "segments/service/fake_rule_engine.h"
#include "storage/store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/result_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_crypto.h"

namespace panorama::segments {
namespace {

using namespace std::chrono_literals;
using storage::SegmentEventRecord;
using testing::FakeCustomer;
using testing::FakeRuleEngine;

const Timestamp kNow = FromUnixMillis(1'767'225'600'000);  // 2026-01-01T00:00:00Z

class SegmentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto_ = ::panorama::testing::MakeTestCrypto(dir_.File("keystore.db"), /*durable=*/false);
    Reopen();
  }

  void Reopen() {
    service_.reset();
    store_.reset();
    auto sqlite = storage::OpenSqliteStore({.path = dir_.File("p.db"), .crypto = crypto_.get(), .synchronous_full = false});
    ASSERT_OK(sqlite);
    auto ledgered = audit::LedgeredStore::Open(std::move(*sqlite), clock_);
    ASSERT_OK(ledgered);
    store_ = std::move(*ledgered);
    service_ = std::make_unique<SegmentService>(*store_, engine_, clock_);
    ASSERT_OK(service_->Load());
  }

  // A real customer row (so erasure has something to erase) mirrored in the engine.
  CustomerId AddCustomer(FakeCustomer c) {
    storage::CustomerRecord record;
    record.created_at = record.updated_at = clock_.Now();
    CustomerId id;
    EXPECT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
      ASSIGN_OR_RETURN(id, txn.InsertCustomer(record));
      return Ok();
    }));
    engine_.Put(id, std::move(c));
    return id;
  }

  storage::SegmentRecord Create(const std::string& name, const std::string& rule) {
    auto created = service_->Create({name, "", rule, "user:1"});
    EXPECT_OK(created);
    return created ? *created : storage::SegmentRecord{};
  }

  std::vector<SegmentEventRecord> Events(SegmentId id) {
    auto events = store_->ListSegmentEvents({id, 0, 1000});
    EXPECT_OK(events);
    return events ? *events : std::vector<SegmentEventRecord>{};
  }

  std::vector<int64_t> MemberIds(SegmentId id) {
    auto members = service_->Members(id, CustomerId(0), 100000);
    EXPECT_OK(members);
    std::vector<int64_t> out;
    if (members) {
      for (CustomerId c : *members) out.push_back(c.value());
    }
    return out;
  }

  std::vector<int64_t> StoredMemberIds(SegmentId id) {
    std::vector<int64_t> out;
    EXPECT_OK(store_->ScanSegmentMembers(id, [&](const storage::SegmentMemberRecord& m) {
      out.push_back(m.customer.value());
    }));
    return out;
  }

  ::panorama::testing::TempDir dir_;
  ::panorama::testing::FakeClock clock_{kNow};
  FakeRuleEngine engine_;
  std::unique_ptr<security::FieldEncryptor> crypto_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<SegmentService> service_;
};

TEST_F(SegmentServiceTest, CreateEvaluatesMembersAndRecordsEnteredEvents) {
  CustomerId a = AddCustomer({{"vip"}, 5});
  AddCustomer({{}, 1});

  storage::SegmentRecord vip = Create("VIP", "tag \"vip\"");

  EXPECT_EQ(vip.size, 1);
  EXPECT_EQ(vip.created_by, "user:1");
  ASSERT_TRUE(vip.evaluated_at.has_value());
  EXPECT_EQ(MemberIds(vip.id), std::vector<int64_t>{a.value()});
  EXPECT_EQ(StoredMemberIds(vip.id), std::vector<int64_t>{a.value()});
  auto events = Events(vip.id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].customer, a);
  EXPECT_EQ(events[0].kind, "entered");
}

TEST_F(SegmentServiceTest, DefinitionWritesAreInTheAuditLedger) {
  storage::SegmentRecord s = Create("All", "score >= 0");
  ASSERT_OK(service_->Update(s.id, {.description = "everyone"}));
  ASSERT_OK(service_->Delete(s.id));

  auto rows = store_->ListLedger({.object_type = "segment", .limit = 10});
  ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_NE((*rows)[0].body.find("segment.delete"), std::string::npos);
  EXPECT_NE((*rows)[2].body.find("segment.create"), std::string::npos);
}

TEST_F(SegmentServiceTest, RejectsBadDefinitionsAndChangesNothing) {
  AddCustomer({{"vip"}, 5});
  Create("VIP", "tag \"vip\"");
  struct Case {
    std::string name, rule, field;
    ErrorCode code;
  };
  const Case cases[] = {
      {"", "tag \"x\"", "name", ErrorCode::kInvalidArgument},
      {std::string(101, 'n'), "tag \"x\"", "name", ErrorCode::kInvalidArgument},
      {"Bad", "", "rule", ErrorCode::kInvalidArgument},
      {"Bad", "tag \"x\" and", "rule", ErrorCode::kInvalidArgument},
      {"Bad", "segment \"Nope\"", "rule", ErrorCode::kInvalidArgument},
      {"Self", "segment \"Self\"", "rule", ErrorCode::kInvalidArgument},
      {"VIP", "tag \"x\"", "", ErrorCode::kAlreadyExists},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name + " / " + c.rule);
    auto created = service_->Create({c.name, "", c.rule, "user:1"});
    EXPECT_ERROR_CODE(created, c.code);
    if (!c.field.empty()) EXPECT_FIELD_ERROR(created, c.field);
  }

  EXPECT_EQ(service_->List().size(), 1u);
  auto stored = store_->ListSegments();
  ASSERT_OK(stored);
  EXPECT_EQ(stored->size(), 1u);
}

TEST_F(SegmentServiceTest, AcceptsAHundredChineseCharactersAsAName) {
  std::string name;
  for (int i = 0; i < 100; ++i) name += "客";

  auto created = service_->Create({name, "", "score >= 1", "cli"});

  EXPECT_OK(created);
}

TEST_F(SegmentServiceTest, RuleErrorCarriesLineAndColumn) {
  RuleDiagnostic diagnostic;

  auto created = service_->Create({"Bad", "", "tag \"x\" and", "user:1"}, &diagnostic);

  EXPECT_FIELD_ERROR(created, "rule");
  EXPECT_EQ(diagnostic.line, 1);
  EXPECT_EQ(diagnostic.column, 12);
}

TEST_F(SegmentServiceTest, RefusesACycleOfReferences) {
  storage::SegmentRecord a = Create("A", "score >= 1");
  Create("B", "segment \"A\" and tag \"x\"");

  auto cyclic = service_->Update(a.id, {.rule = "segment \"B\""});

  EXPECT_FIELD_ERROR(cyclic, "rule");
  EXPECT_NE(cyclic.error().message().find("cycle"), std::string::npos);
  auto stored = service_->Get(a.id);
  ASSERT_OK(stored);
  EXPECT_EQ(stored->rule, "score >= 1");
}

TEST_F(SegmentServiceTest, RefusesToDeleteOrRenameAReferencedSegment) {
  storage::SegmentRecord a = Create("A", "score >= 1");
  Create("B", "segment \"A\"");

  EXPECT_ERROR_CODE(service_->Delete(a.id), ErrorCode::kFailedPrecondition);
  EXPECT_ERROR_CODE(service_->Update(a.id, {.name = "A2"}), ErrorCode::kFailedPrecondition);
  EXPECT_ERROR_CODE(service_->Delete(SegmentId(999)), ErrorCode::kNotFound);
}

TEST_F(SegmentServiceTest, IncrementalUpdateEmitsEnteredThenExited) {
  CustomerId c = AddCustomer({{}, 0});
  storage::SegmentRecord vip = Create("VIP", "tag \"vip\"");
  ASSERT_TRUE(Events(vip.id).empty());

  engine_.Put(c, {{"vip"}, 0});
  service_->OnCustomerChanged(c);
  ASSERT_OK(service_->Flush());
  clock_.Advance(1h);
  engine_.Put(c, {{}, 0});
  service_->OnCustomerChanged(c);
  ASSERT_OK(service_->Flush());

  auto events = Events(vip.id);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, "entered");
  EXPECT_EQ(events[1].kind, "exited");
  EXPECT_EQ(events[1].at, kNow + 1h);
  EXPECT_TRUE(MemberIds(vip.id).empty());
}

TEST_F(SegmentServiceTest, DependentSegmentFollowsItsReferenceInOneUpdate) {
  CustomerId c = AddCustomer({{}, 9});
  storage::SegmentRecord vip = Create("VIP", "tag \"vip\"");
  storage::SegmentRecord rich_vip = Create("Rich VIP", "segment \"VIP\" and score >= 5");

  engine_.Put(c, {{"vip"}, 9});
  ASSERT_OK(service_->UpdateCustomers({c}));

  EXPECT_TRUE(service_->Contains(vip.id, c));
  EXPECT_TRUE(service_->Contains(rich_vip.id, c));
}

TEST_F(SegmentServiceTest, RuleChangeReevaluatesItAndItsDependents) {
  CustomerId c = AddCustomer({{"vip"}, 9});
  storage::SegmentRecord top = Create("Top", "tag \"vip\"");
  storage::SegmentRecord under = Create("Under", "segment \"Top\"");

  ASSERT_OK(service_->Update(top.id, {.rule = "tag \"gold\""}));

  EXPECT_FALSE(service_->Contains(top.id, c));
  EXPECT_FALSE(service_->Contains(under.id, c));
  EXPECT_EQ(Events(under.id).back().kind, "exited");
}

TEST_F(SegmentServiceTest, MembershipsSurviveARestartWithoutReemittingEvents) {
  AddCustomer({{"vip"}, 0});
  CustomerId later = AddCustomer({{}, 0});
  storage::SegmentRecord vip = Create("VIP", "tag \"vip\"");
  ASSERT_EQ(Events(vip.id).size(), 1u);

  Reopen();
  engine_.Put(later, {{"vip"}, 0});  // changed while the server was down
  auto report = service_->EvaluateAll();

  ASSERT_OK(report);
  EXPECT_EQ(report->entered, 1);
  EXPECT_EQ(report->exited, 0);
  auto events = Events(vip.id);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].customer, later);
  auto reloaded = service_->Get(vip.id);
  ASSERT_OK(reloaded);
  EXPECT_EQ(reloaded->size, 2);
}

TEST_F(SegmentServiceTest, ErasingACustomerRemovesTheirMembershipsAndEvents) {
  CustomerId gone = AddCustomer({{"vip"}, 0});
  CustomerId kept = AddCustomer({{"vip"}, 0});
  storage::SegmentRecord vip = Create("VIP", "tag \"vip\"");
  features::FeatureStore features(clock_);
  privacy::ConsentService consents(*store_, clock_);
  ASSERT_OK(consents.Load());

  ASSERT_OK(privacy::EraseSubject(*store_, features, consents, gone, 1, clock_.Now(), "suppress-key"));
  engine_.Remove(gone);
  ASSERT_OK(service_->EvaluateAll());  // before OnErased: the erasure guard keeps the exit out of the outbox

  EXPECT_EQ(StoredMemberIds(vip.id), std::vector<int64_t>{kept.value()});
  for (const auto& e : Events(vip.id)) EXPECT_NE(e.customer, gone);
  auto left = store_->ListCustomerSegments(gone);
  ASSERT_OK(left);
  EXPECT_TRUE(left->empty());
  service_->OnErased(gone);
  EXPECT_FALSE(service_->Contains(vip.id, gone));
}

TEST_F(SegmentServiceTest, CombinesAndOverlapsSegments) {
  CustomerId both = AddCustomer({{"a", "b"}, 0});
  CustomerId only_a = AddCustomer({{"a"}, 0});
  CustomerId only_b = AddCustomer({{"b"}, 0});
  storage::SegmentRecord a = Create("A", "tag \"a\"");
  storage::SegmentRecord b = Create("B \"quoted\"", "tag \"b\"");

  auto inter = service_->Combine(CombineOp::kAnd, {a.id, b.id});
  auto uni = service_->Combine(CombineOp::kOr, {a.id, b.id});
  auto minus = service_->Combine(CombineOp::kMinus, {a.id, b.id});
  auto matrix = service_->Overlap({a.id, b.id});
  auto rule = service_->CombinedRule(CombineOp::kMinus, {a.id, b.id});

  ASSERT_OK(inter);
  EXPECT_EQ(inter->sample, std::vector<CustomerId>{both});
  ASSERT_OK(uni);
  EXPECT_EQ(uni->size, 3);
  ASSERT_OK(minus);
  EXPECT_EQ(minus->sample, std::vector<CustomerId>{only_a});
  ASSERT_OK(matrix);
  EXPECT_EQ(*matrix, (std::vector<std::vector<int64_t>>{{2, 1}, {1, 2}}));
  ASSERT_OK(rule);
  EXPECT_EQ(*rule, "segment \"A\" and not segment \"B \\\"quoted\\\"\"");
  auto saved = service_->Create({"A minus B", "", *rule, "user:1"});
  ASSERT_OK(saved);
  EXPECT_EQ(saved->size, 1);
  (void)only_b;
  EXPECT_ERROR_CODE(service_->Combine(CombineOp::kAnd, {a.id}), ErrorCode::kInvalidArgument);
  EXPECT_ERROR_CODE(service_->Combine(CombineOp::kAnd, {a.id, SegmentId(999)}), ErrorCode::kNotFound);
}

TEST_F(SegmentServiceTest, CustomerSegmentsListsMembershipsWithEntryTime) {
  CustomerId c = AddCustomer({{"vip"}, 0});
  storage::SegmentRecord vip = Create("VIP", "tag \"vip\"");
  Create("Nobody", "tag \"none\"");

  auto mine = service_->CustomerSegments(c);

  ASSERT_OK(mine);
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].id, vip.id);
  EXPECT_EQ((*mine)[0].name, "VIP");
  EXPECT_EQ((*mine)[0].entered_at, kNow);
}

TEST_F(SegmentServiceTest, MembersPageByCursor) {
  std::vector<CustomerId> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(AddCustomer({{"x"}, 0}));
  storage::SegmentRecord x = Create("X", "tag \"x\"");

  bool more = false;
  auto first = service_->Members(x.id, CustomerId(0), 2, &more);
  ASSERT_OK(first);
  EXPECT_TRUE(more);
  auto second = service_->Members(x.id, first->back(), 10, &more);

  ASSERT_OK(second);
  EXPECT_FALSE(more);
  EXPECT_EQ(second->size(), 3u);
  EXPECT_EQ(second->front(), ids[2]);
}

TEST_F(SegmentServiceTest, BackgroundWorkerAppliesIngestedChanges) {
  CustomerId c = AddCustomer({{}, 0});
  storage::SegmentRecord vip = Create("VIP", "tag \"vip\"");
  service_->Start();

  engine_.Put(c, {{"vip"}, 0});
  service_->OnEvent(c, clock_.Now());
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!service_->Contains(vip.id, c) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  service_->Stop();

  EXPECT_TRUE(service_->Contains(vip.id, c));
  EXPECT_EQ(Events(vip.id).size(), 1u);
}

// The issue's core check of the bookkeeping: random customers, random rules (with references), random
// changes applied one customer at a time through incremental updates; at the end the memberships equal a full
// re-evaluation, a brute-force oracle over the plain structs, the stored member rows, and the replay of the
// entered/exited outbox.
TEST_F(SegmentServiceTest, IncrementalUpdatesEqualFullEvaluationAndOracle) {
  std::mt19937 rng(20261123);
  const std::vector<std::string> tags = {"a", "b", "c", "d"};
  auto random_customer = [&] {
    FakeCustomer c;
    for (const auto& t : tags) {
      if (rng() % 3 == 0) c.tags.insert(t);
    }
    c.score = static_cast<int>(rng() % 10);
    return c;
  };
  std::vector<CustomerId> customers;
  for (int i = 0; i < 150; ++i) customers.push_back(AddCustomer(random_customer()));

  std::vector<std::string> names;
  std::function<std::string(int)> random_rule = [&](int depth) -> std::string {
    int pick = static_cast<int>(rng() % (depth > 2 ? 3 : 6));
    switch (pick) {
      case 0: return "tag \"" + tags[rng() % tags.size()] + "\"";
      case 1: return "score >= " + std::to_string(rng() % 10);
      case 2:
        if (!names.empty()) return "segment " + QuoteRuleString(names[rng() % names.size()]);
        return "tag \"a\"";
      case 3: return "not " + random_rule(depth + 1);
      case 4: return "(" + random_rule(depth + 1) + " and " + random_rule(depth + 1) + ")";
      default: return "(" + random_rule(depth + 1) + " or " + random_rule(depth + 1) + ")";
    }
  };
  std::vector<storage::SegmentRecord> segments;
  for (int i = 0; i < 12; ++i) {
    std::string name = "S" + std::to_string(i);
    segments.push_back(Create(name, random_rule(0)));
    names.push_back(name);
  }

  for (int step = 0; step < 400; ++step) {
    CustomerId c = customers[rng() % customers.size()];
    engine_.Put(c, random_customer());
    clock_.Advance(1min);
    ASSERT_OK(service_->UpdateCustomers({c}));
  }

  // Oracle: segments in creation order (references always point to earlier ones).
  std::map<std::string, MemberSet> oracle;
  SegmentLookup lookup = [&](std::string_view name) -> const MemberSet* {
    auto it = oracle.find(std::string(name));
    return it == oracle.end() ? nullptr : &it->second;
  };
  for (const auto& s : segments) {
    auto compiled = engine_.Compile(s.rule, nullptr);
    ASSERT_OK(compiled);
    const auto& root = static_cast<const FakeRuleEngine::Rule&>(**compiled).root();
    MemberSet members;
    for (CustomerId c : customers) {
      if (FakeRuleEngine::Eval(root, c.value(), engine_.Get(c), lookup)) members.add(static_cast<uint32_t>(c.value()));
    }
    oracle[s.name] = members;
  }
  std::map<int64_t, std::vector<int64_t>> incremental;
  for (const auto& s : segments) incremental[s.id.value()] = MemberIds(s.id);

  auto full = service_->EvaluateAll();
  ASSERT_OK(full);
  EXPECT_EQ(full->entered + full->exited, 0) << "the full evaluation found diffs the increments missed";
  for (const auto& s : segments) {
    SCOPED_TRACE(s.name + ": " + s.rule);
    std::vector<int64_t> expected;
    for (uint32_t v : oracle[s.name]) expected.push_back(v);
    EXPECT_EQ(incremental[s.id.value()], expected);
    EXPECT_EQ(MemberIds(s.id), expected);
    EXPECT_EQ(StoredMemberIds(s.id), expected);
    std::set<int64_t> replayed;
    for (const auto& e : Events(s.id)) {
      if (e.kind == "entered") {
        EXPECT_TRUE(replayed.insert(e.customer.value()).second) << "entered twice: " << e.customer.value();
      } else {
        EXPECT_EQ(replayed.erase(e.customer.value()), 1u) << "exited while out: " << e.customer.value();
      }
    }
    EXPECT_EQ(std::vector<int64_t>(replayed.begin(), replayed.end()), expected);
  }
}


// The same bookkeeping check with the real engine (rule language + AudienceIndex over the SQLite store):
// random profiles, random rules over country, gender and tags with references, random profile edits written to
// the store and applied one customer at a time; the memberships end equal to a full re-evaluation, to an
// oracle over the plain records, and to the replay of the outbox.
TEST_F(SegmentServiceTest, IncrementalUpdatesWithTheRealEngineEqualFullEvaluationAndOracle) {
  features::FeatureStore features(clock_);
  privacy::ConsentService consents(*store_, clock_);
  ASSERT_OK(consents.Load());
  AudienceIndex index(*store_, {.features = &features, .consents = &consents});
  AudienceRuleEngine engine(index, *store_);
  SegmentService service(*store_, engine, clock_);
  ASSERT_OK(service.Load());

  std::mt19937 rng(4);
  const std::vector<std::string> countries = {"CN", "US", "DE"};
  const std::vector<std::string> genders = {"female", "male", ""};
  const std::vector<std::string> tags = {"vip", "new", "b2b"};
  std::map<int64_t, storage::CustomerRecord> people;
  auto randomize = [&](storage::CustomerRecord& c) {
    c.country = countries[rng() % countries.size()];
    c.gender = genders[rng() % genders.size()];
    c.tags.clear();
    for (const auto& t : tags) {
      if (rng() % 2 == 0) c.tags.push_back(t);
    }
    c.updated_at = clock_.Now();
  };
  for (int i = 0; i < 80; ++i) {
    storage::CustomerRecord c;
    c.name = "c" + std::to_string(i);
    c.created_at = clock_.Now();
    randomize(c);
    ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
      ASSIGN_OR_RETURN(c.id, txn.InsertCustomer(c));
      return Ok();
    }));
    people[c.id.value()] = c;
  }
  ASSERT_OK(index.Rebuild());

  // Rules as (text, predicate) pairs built together, so the oracle never parses.
  using Pred = std::function<bool(const storage::CustomerRecord&)>;
  struct Generated {
    std::string text;
    Pred pred;
  };
  std::map<std::string, std::set<int64_t>> oracle;
  std::function<Generated(int)> gen = [&](int depth) -> Generated {
    int pick = static_cast<int>(rng() % (depth > 2 ? 4 : 7));
    switch (pick) {
      case 0: {
        std::string v = countries[rng() % countries.size()];
        return {"country = \"" + v + "\"", [v](const auto& c) { return c.country == v; }};
      }
      case 1: {
        std::string v = genders[rng() % 2];
        return {"gender != \"" + v + "\"", [v](const auto& c) { return c.gender != v; }};
      }
      case 2: {
        std::string v = tags[rng() % tags.size()];
        return {"tags contains \"" + v + "\"",
                [v](const auto& c) { return std::find(c.tags.begin(), c.tags.end(), v) != c.tags.end(); }};
      }
      case 3: {
        if (oracle.empty()) return gen(depth);
        auto it = oracle.begin();
        std::advance(it, static_cast<long>(rng() % oracle.size()));
        std::string name = it->first;
        return {"segment " + QuoteRuleString(name),
                [&oracle, name](const auto& c) { return oracle[name].count(c.id.value()) > 0; }};
      }
      case 4: {
        Generated inner = gen(depth + 1);
        return {"not (" + inner.text + ")", [p = inner.pred](const auto& c) { return !p(c); }};
      }
      case 5: {
        Generated a = gen(depth + 1), b = gen(depth + 1);
        return {"(" + a.text + " and " + b.text + ")", [p = a.pred, q = b.pred](const auto& c) { return p(c) && q(c); }};
      }
      default: {
        Generated a = gen(depth + 1), b = gen(depth + 1);
        return {"(" + a.text + " or " + b.text + ")", [p = a.pred, q = b.pred](const auto& c) { return p(c) || q(c); }};
      }
    }
  };
  std::vector<std::pair<storage::SegmentRecord, Pred>> segments;
  for (int i = 0; i < 10; ++i) {
    Generated g = gen(0);
    std::string name = "R" + std::to_string(i);
    auto created = service.Create({name, "", g.text, "test"});
    ASSERT_OK(created);
    segments.emplace_back(*created, g.pred);
    oracle[name];  // referable from now on (its oracle members are computed at the end, in this order)
  }

  for (int step = 0; step < 150; ++step) {
    auto it = people.begin();
    std::advance(it, static_cast<long>(rng() % people.size()));
    clock_.Advance(1min);
    randomize(it->second);
    ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) { return txn.UpdateCustomer(it->second); }));
    ASSERT_OK(service.UpdateCustomers({it->second.id}));
  }

  for (const auto& [record, pred] : segments) {
    auto& members = oracle[record.name];
    members.clear();
    for (const auto& [id, c] : people) {
      if (pred(c)) members.insert(id);
    }
  }
  std::map<int64_t, std::vector<int64_t>> incremental;
  for (const auto& [record, pred] : segments) {
    auto ids = service.Members(record.id, CustomerId(0), 1000);
    ASSERT_OK(ids);
    for (CustomerId c : *ids) incremental[record.id.value()].push_back(c.value());
  }
  auto full = service.EvaluateAll();
  ASSERT_OK(full);
  EXPECT_EQ(full->entered + full->exited, 0) << "the full evaluation found diffs the increments missed";
  for (const auto& [record, pred] : segments) {
    SCOPED_TRACE(record.name + ": " + record.rule);
    std::vector<int64_t> expected(oracle[record.name].begin(), oracle[record.name].end());
    EXPECT_EQ(incremental[record.id.value()], expected);
    EXPECT_EQ(StoredMemberIds(record.id), expected);
    std::set<int64_t> replayed;
    for (const auto& e : Events(record.id)) {
      if (e.kind == "entered") {
        replayed.insert(e.customer.value());
      } else {
        replayed.erase(e.customer.value());
      }
    }
    EXPECT_EQ(std::vector<int64_t>(replayed.begin(), replayed.end()), expected);
  }
}

}  // namespace
}  // namespace panorama::segments
