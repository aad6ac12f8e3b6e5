// The Store contract suite: one parameterized suite every backend must pass unchanged (STYLE.md §7).

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "storage/store.h"
#include "tests/support/result_matchers.h"
#include "tests/support/test_crypto.h"
#include "tests/support/temp_dir.h"

namespace panorama::storage {
namespace {

using StoreFactory = std::function<std::unique_ptr<Store>(const testing::TempDir&)>;

// The store with real field encryption; the keystore sits beside the database. The encryptor is kept per
// directory so a reopened store finds the same one.
std::unique_ptr<Store> OpenSqlite(const testing::TempDir& dir) {
  static std::map<std::string, std::unique_ptr<security::FieldEncryptor>> cryptos;
  auto& crypto = cryptos[dir.File("keystore.db")];
  if (!crypto) crypto = testing::MakeTestCrypto(dir.File("keystore.db"));
  auto store = OpenSqliteStore({.path = dir.File("store.db"), .crypto = crypto.get()});
  PANORAMA_CHECK(store.has_value());
  return std::move(store).value();
}

Timestamp At(int64_t seconds) { return FromUnixMillis(seconds * 1000); }

class StoreContractTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override { store_ = GetParam()(dir_); }

  CustomerId AddCustomer(const std::string& name, const std::string& email = "", const std::string& phone = "") {
    CustomerRecord c;
    c.name = name;
    c.email = email;
    c.phone = phone;
    c.created_at = c.updated_at = At(1000);
    CustomerId id;
    auto written = store_->Write([&](WriteTxn& txn) -> Result<void> {
      ASSIGN_OR_RETURN(id, txn.InsertCustomer(c));
      return Ok();
    });
    PANORAMA_CHECK(written.has_value());
    return id;
  }

  Result<void> AddEvent(CustomerId customer, const std::string& message_id, int64_t at_seconds) {
    return store_->Write([&](WriteTxn& txn) -> Result<void> {
      EventRecord e;
      e.customer = customer;
      e.message_id = message_id;
      e.type = "track";
      e.name = "Product Viewed";
      e.timestamp = At(at_seconds);
      e.received_at = At(at_seconds);
      return txn.InsertEvent(e).has_value() ? Ok() : Result<void>(txn.InsertEvent(e).error());
    });
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreContractTest, InsertedCustomerReadsBackWithEveryField) {
  CustomerRecord c;
  c.name = "王小明";
  c.email = "xm@example.com";
  c.phone = "+8613800138000";
  c.gender = "male";
  c.birthday = "1990-05-01";
  c.city = "上海";
  c.country = "CN";
  c.tags = {"vip", "含\"引号"};
  c.traits_json = R"({"plan":"gold"})";
  c.external_id = "crm-1";
  c.created_at = At(10);
  c.updated_at = At(20);
  CustomerId id;
  ASSERT_OK(store_->Write([&](WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(id, txn.InsertCustomer(c));
    return Ok();
  }));

  auto got = store_->GetCustomer(id);

  ASSERT_OK(got);
  EXPECT_EQ(got->name, "王小明");
  EXPECT_EQ(got->phone, "+8613800138000");
  EXPECT_EQ(got->tags, c.tags);
  EXPECT_EQ(got->traits_json, c.traits_json);
  EXPECT_EQ(got->external_id, "crm-1");
  EXPECT_EQ(got->created_at, At(10));
  EXPECT_FALSE(got->merged_into.has_value());
}

// Regression: S4 injection test — a NUL in the search text made the SQLite backend's full-text query fail.
TEST_P(StoreContractTest, SearchTextWithNulAndQueryMetacharactersFindsNothingAndNeverFails) {
  AddCustomer("Alice Seedling");

  for (std::string text : {std::string("nul\0byte", 8), std::string("\"a\" OR \"b\""), std::string("' OR 1=1--"),
                           std::string("NEAR(a b)"), std::string("*")}) {
    auto found = store_->ListCustomers({.text = text});

    ASSERT_OK(found);
    EXPECT_TRUE(found->empty());
  }
}

TEST_P(StoreContractTest, UnknownCustomerIsNotFound) {
  EXPECT_ERROR_CODE(store_->GetCustomer(CustomerId(999)), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, FailedWriteLeavesNothingBehind) {
  auto result = store_->Write([&](WriteTxn& txn) -> Result<void> {
    CustomerRecord c;
    c.name = "half written";
    RETURN_IF_ERROR(txn.InsertCustomer(c));
    return Error::InvalidArgument("second step failed");
  });

  EXPECT_ERROR_CODE(result, ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->CountCustomers().value(), 0);
}

TEST_P(StoreContractTest, NestedFailureRollsBackOnlyItsOwnPart) {
  ASSERT_OK(store_->Write([&](WriteTxn& txn) -> Result<void> {
    RETURN_IF_ERROR(txn.Nested([&]() -> Result<void> {
      CustomerRecord kept;
      kept.name = "kept";
      return txn.InsertCustomer(kept).has_value() ? Ok() : Result<void>(Error::Internal("insert"));
    }));
    auto failed = txn.Nested([&]() -> Result<void> {
      CustomerRecord dropped;
      dropped.name = "dropped";
      (void)txn.InsertCustomer(dropped);
      return Error::InvalidArgument("bad message");
    });
    EXPECT_FALSE(failed.has_value());
    return Ok();
  }));

  auto all = store_->ListCustomers({});
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().name, "kept");
}

TEST_P(StoreContractTest, IdentityBelongsToOneCustomer) {
  CustomerId a = AddCustomer("A");
  CustomerId b = AddCustomer("B");
  ASSERT_OK(store_->Write([&](WriteTxn& txn) { return txn.AddIdentity({"email", "a@x.com", a, At(1)}); }));

  auto same = store_->Write([&](WriteTxn& txn) { return txn.AddIdentity({"email", "a@x.com", a, At(2)}); });
  auto other = store_->Write([&](WriteTxn& txn) { return txn.AddIdentity({"email", "a@x.com", b, At(2)}); });

  EXPECT_OK(same);
  EXPECT_ERROR_CODE(other, ErrorCode::kAlreadyExists);
  EXPECT_EQ(store_->FindIdentity("email", "a@x.com").value(), std::optional<CustomerId>(a));
}

TEST_P(StoreContractTest, MergeMovesEverythingAndRecordsLineage) {
  CustomerId from = AddCustomer("anonymous");
  CustomerId into = AddCustomer("Jane");
  ASSERT_OK(store_->Write([&](WriteTxn& txn) { return txn.AddIdentity({"anonymous_id", "anon-1", from, At(1)}); }));
  ASSERT_OK(AddEvent(from, "m1", 100));

  ASSERT_OK(store_->Write([&](WriteTxn& txn) { return txn.MergeCustomers({from, into, "identify", At(200)}); }));

  EXPECT_EQ(store_->FindIdentity("anonymous_id", "anon-1").value(), std::optional<CustomerId>(into));
  auto timeline = store_->ListTimeline({.customer = into});
  ASSERT_OK(timeline);
  ASSERT_EQ(timeline->size(), 1u);
  EXPECT_EQ(store_->GetCustomer(from)->merged_into, std::optional<CustomerId>(into));
  auto merges = store_->ListMerges(into);
  ASSERT_OK(merges);
  ASSERT_EQ(merges->size(), 1u);
  EXPECT_EQ(merges->front().from, from);
  EXPECT_EQ(store_->CountCustomers().value(), 1);
}

TEST_P(StoreContractTest, CustomerFactsGiveCreationTimesAndTheSurvivorOfAMerge) {
  CustomerId from = AddCustomer("early duplicate");
  CustomerId into = AddCustomer("Jane");
  ASSERT_OK(store_->Write([&](WriteTxn& txn) { return txn.MergeCustomers({from, into, "identify", At(200)}); }));
  std::vector<Store::CustomerFact> facts;

  ASSERT_OK(store_->ScanCustomerFacts([&](const Store::CustomerFact& f) { facts.push_back(f); }));

  ASSERT_EQ(facts.size(), 2u);
  EXPECT_EQ(facts[0].customer, from);  // ascending id
  EXPECT_EQ(facts[0].merged_into, std::optional<CustomerId>(into));
  EXPECT_EQ(facts[1].customer, into);
  EXPECT_FALSE(facts[1].merged_into.has_value());
  EXPECT_EQ(facts[1].created_at, At(1000));
}

TEST_P(StoreContractTest, EventsByNameAreScannedInTheirWindowPerCustomerWithProperties) {
  CustomerId a = AddCustomer("A");
  CustomerId b = AddCustomer("B");
  auto add = [&](CustomerId c, std::string id, std::string name, int64_t at, std::string props) {
    return store_->Write([&](WriteTxn& txn) -> Result<void> {
      EventRecord e;
      e.customer = c;
      e.message_id = std::move(id);
      e.type = "track";
      e.name = std::move(name);
      e.properties_json = std::move(props);
      e.timestamp = e.received_at = At(at);
      RETURN_IF_ERROR(txn.InsertEvent(e));
      return Ok();
    });
  };
  ASSERT_OK(add(a, "m1", "Viewed", 10, R"({"category":"shoes"})"));
  ASSERT_OK(add(b, "m2", "Viewed", 20, "{}"));
  ASSERT_OK(add(a, "m3", "Viewed", 30, "{}"));
  ASSERT_OK(add(a, "m4", "Bought", 20, "{}"));
  std::vector<std::pair<int64_t, std::string>> all, of_a;

  ASSERT_OK(store_->ScanEventsByName("Viewed", At(10), At(20), std::nullopt, [&](const Store::NamedEventFact& e) {
    all.emplace_back(e.customer.value(), e.properties_json);
  }));
  ASSERT_OK(store_->ScanEventsByName("Viewed", At(0), At(100), a, [&](const Store::NamedEventFact& e) {
    of_a.emplace_back(ToUnixMillis(e.timestamp), e.properties_json);
  }));

  EXPECT_EQ(all, (std::vector<std::pair<int64_t, std::string>>{{a.value(), R"({"category":"shoes"})"}, {b.value(), "{}"}}));
  EXPECT_EQ(of_a, (std::vector<std::pair<int64_t, std::string>>{{ToUnixMillis(At(10)), R"({"category":"shoes"})"},
                                                                {ToUnixMillis(At(30)), "{}"}}));
  EXPECT_EQ(store_->ListEventNames(10).value(), (std::vector<std::string>{"Bought", "Viewed"}));
}

TEST_P(StoreContractTest, RepeatedMessageIdIsRejectedAsDuplicate) {
  CustomerId c = AddCustomer("A");
  ASSERT_OK(AddEvent(c, "same-id", 1));

  auto again = store_->Write([&](WriteTxn& txn) -> Result<void> {
    EventRecord e;
    e.customer = c;
    e.message_id = "same-id";
    e.type = "track";
    e.timestamp = e.received_at = At(2);
    RETURN_IF_ERROR(txn.InsertEvent(e));
    return Ok();
  });

  EXPECT_ERROR_CODE(again, ErrorCode::kAlreadyExists);
}

// ScanEvents (behaviour analytics): customer order, name and time filters, property extraction as text.
TEST_P(StoreContractTest, ScanEventsFiltersOrdersAndExtractsPropertiesAsText) {
  CustomerId a = AddCustomer("A");
  CustomerId b = AddCustomer("B");
  ASSERT_OK(store_->Write([&](WriteTxn& txn) -> Result<void> {
    int n = 0;
    auto add = [&](CustomerId who, const char* name, int64_t at, const char* properties) -> Result<void> {
      EventRecord e;
      e.customer = who;
      e.message_id = "scan-" + std::to_string(++n);
      e.type = "track";
      e.name = name;
      e.properties_json = properties;
      e.timestamp = e.received_at = At(at);
      return txn.InsertEvent(e).has_value() ? Ok() : Result<void>(Error::Internal("insert"));
    };
    RETURN_IF_ERROR(add(b, "View", 5, R"({"size":42,"gift":true,"cart":{"total":1.5}})"));
    RETURN_IF_ERROR(add(a, "View", 9, R"({"category":"鞋"})"));
    RETURN_IF_ERROR(add(a, "Buy", 7, "{}"));
    RETURN_IF_ERROR(add(a, "Other", 8, "{}"));
    return add(a, "View", 100, "{}");
  }));
  Store::EventScan scan{.names = {"View", "Buy"}, .to = At(50),
                        .properties = {"category", "size", "gift", "cart.total"}};
  std::vector<std::string> seen;

  ASSERT_OK(store_->ScanEvents(scan, [&](const Store::EventRow& row) {
    std::string line = std::to_string(row.customer.value()) + " " + std::string(row.name);
    for (const auto& v : *row.properties) line += " " + v.value_or("-");
    seen.push_back(line);
  }));

  std::string ida = std::to_string(a.value());
  std::string idb = std::to_string(b.value());
  EXPECT_EQ(seen, (std::vector<std::string>{ida + " Buy - - - -", ida + " View 鞋 - - -", idb + " View - 42 1 1.5"}));
  scan.properties = {"bad key"};
  EXPECT_ERROR_CODE(store_->ScanEvents(scan, [](const Store::EventRow&) {}), ErrorCode::kInvalidArgument);
}

// Ownership is enforced in the queries: a scope sees its owner's and its team's rows, nothing else.
TEST_P(StoreContractTest, RecordScopeLimitsCustomersAndOrdersToOwnerAndTeam) {
  CustomerId mine = AddCustomer("mine");
  CustomerId team = AddCustomer("team");
  CustomerId other = AddCustomer("other");
  CustomerId unowned = AddCustomer("unowned");
  ASSERT_OK(store_->Write([&](WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(CustomerRecord a, txn.GetCustomer(mine));
    a.owner = UserId(1);
    RETURN_IF_ERROR(txn.UpdateCustomer(a));
    ASSIGN_OR_RETURN(CustomerRecord b, txn.GetCustomer(team));
    b.owner = UserId(2);
    b.team = TeamId(7);
    RETURN_IF_ERROR(txn.UpdateCustomer(b));
    ASSIGN_OR_RETURN(CustomerRecord c, txn.GetCustomer(other));
    c.owner = UserId(3);
    c.team = TeamId(8);
    RETURN_IF_ERROR(txn.UpdateCustomer(c));
    for (CustomerId id : {mine, other}) {
      OrderRecord o;
      o.customer = id;
      o.external_id = "SO-" + id.ToString();
      o.total = Money{100, "CNY"};
      o.placed_at = At(10);
      RETURN_IF_ERROR(txn.InsertOrder(o));
    }
    return Ok();
  }));
  RecordScope scope{UserId(1), TeamId(7)};

  auto customers = store_->ListCustomers({.scope = scope});
  auto orders = store_->ListOrders({.scope = scope});

  ASSERT_OK(customers);
  ASSERT_EQ(customers->size(), 2u);
  EXPECT_EQ((*customers)[0].id, mine);
  EXPECT_EQ((*customers)[1].id, team);
  ASSERT_OK(orders);
  ASSERT_EQ(orders->size(), 1u);
  EXPECT_EQ((*orders)[0].customer, mine);
  EXPECT_OK(store_->GetCustomerInScope(team, scope));
  EXPECT_ERROR_CODE(store_->GetCustomerInScope(other, scope), ErrorCode::kNotFound);
  EXPECT_ERROR_CODE(store_->GetCustomerInScope(unowned, scope), ErrorCode::kNotFound);
  EXPECT_ERROR_CODE(store_->GetCustomerInScope(mine, RecordScope{UserId(9), std::nullopt}), ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, OrderWithItemsIsIdempotentByExternalId) {
  CustomerId c = AddCustomer("A");
  OrderRecord o;
  o.customer = c;
  o.external_id = "SO-1";
  o.total = Money{2500, "CNY"};
  o.total_base_minor = 2500;
  o.placed_at = At(50);
  o.items = {{std::nullopt, "SKU-1", "T恤", 2, 1000}, {std::nullopt, "SKU-2", "袜子", 1, 500}};
  auto insert = [&] {
    return store_->Write([&](WriteTxn& txn) -> Result<void> {
      RETURN_IF_ERROR(txn.InsertOrder(o));
      return Ok();
    });
  };

  ASSERT_OK(insert());
  EXPECT_ERROR_CODE(insert(), ErrorCode::kAlreadyExists);

  auto orders = store_->ListOrders({.customer = c});
  ASSERT_OK(orders);
  ASSERT_EQ(orders->size(), 1u);
  ASSERT_EQ(orders->front().items.size(), 2u);
  EXPECT_EQ(orders->front().items[0].name, "T恤");
  EXPECT_EQ(orders->front().total, (Money{2500, "CNY"}));
}

TEST_P(StoreContractTest, TimelineIsNewestFirstAndPagesWithoutGapsOrRepeats) {
  CustomerId c = AddCustomer("A");
  for (int i = 0; i < 7; ++i) ASSERT_OK(AddEvent(c, "e" + std::to_string(i), 100 + i % 3));
  ASSERT_OK(store_->Write([&](WriteTxn& txn) -> Result<void> {
    InteractionRecord note;
    note.customer = c;
    note.kind = "note";
    note.subject = "回访";
    note.occurred_at = At(101);
    RETURN_IF_ERROR(txn.InsertInteraction(note));
    return Ok();
  }));

  std::vector<TimelineEntry> seen;
  TimelineQuery q{.customer = c, .limit = 3};
  while (true) {
    auto page = store_->ListTimeline(q);
    ASSERT_OK(page);
    if (page->empty()) break;
    seen.insert(seen.end(), page->begin(), page->end());
    q.before_at = page->back().at;
    q.before_kind = page->back().kind;
    q.before_id = page->back().id;
  }

  ASSERT_EQ(seen.size(), 8u);
  for (size_t i = 1; i < seen.size(); ++i) {
    EXPECT_GE(seen[i - 1].at, seen[i].at);
    EXPECT_FALSE(seen[i - 1].kind == seen[i].kind && seen[i - 1].id == seen[i].id);
  }
}

// Personal fields are encrypted: search is equality on the full name or surname (no substrings), the email,
// the phone (see encryption_test.cc for every blind-indexed field).
TEST_P(StoreContractTest, SearchFindsChineseAndLatinFullNamesSurnameEmailAndPhone) {
  CustomerId wang = AddCustomer("王芳", "fang@qq.com", "+8613912345678");
  CustomerId ouyang = AddCustomer("欧阳娜娜");
  CustomerId jane = AddCustomer("Jane Doe", "jane@example.com");

  auto by_short = store_->ListCustomers({.text = "王芳"});
  auto by_long = store_->ListCustomers({.text = "欧阳娜娜"});
  auto by_latin = store_->ListCustomers({.text = "JANE DOE"});
  auto by_surname = store_->ListCustomers({.text = "doe"});
  auto by_substring = store_->ListCustomers({.text = "欧阳娜"});
  auto by_email = store_->ListCustomers({.text = "Jane@Example.com"});
  auto by_phone = store_->ListCustomers({.phone_e164 = "+8613912345678"});

  ASSERT_OK(by_short);
  ASSERT_EQ(by_short->size(), 1u);
  EXPECT_EQ(by_short->front().id, wang);
  ASSERT_EQ(by_long->size(), 1u);
  EXPECT_EQ(by_long->front().id, ouyang);
  ASSERT_EQ(by_latin->size(), 1u);
  EXPECT_EQ(by_latin->front().id, jane);
  ASSERT_EQ(by_surname->size(), 1u);
  EXPECT_EQ(by_surname->front().id, jane);
  EXPECT_TRUE(by_substring->empty());
  ASSERT_EQ(by_email->size(), 1u);
  EXPECT_EQ(by_email->front().id, jane);
  ASSERT_EQ(by_phone->size(), 1u);
  EXPECT_EQ(by_phone->front().id, wang);
}

TEST_P(StoreContractTest, SearchTextIsNeverParsedAsQuerySyntax) {
  AddCustomer("O'Brien \"Bob\"");

  auto hostile = store_->ListCustomers({.text = "\" OR 1=1 --"});
  auto quoted = store_->ListCustomers({.text = "\"Bob\""});

  ASSERT_OK(hostile);
  EXPECT_TRUE(hostile->empty());
  ASSERT_OK(quoted);
  EXPECT_EQ(quoted->size(), 1u);
}

TEST_P(StoreContractTest, ListPagesByIdCursor) {
  for (int i = 0; i < 5; ++i) AddCustomer("c" + std::to_string(i));

  auto first = store_->ListCustomers({.limit = 2});
  auto second = store_->ListCustomers({.after_id = first->back().id.value(), .limit = 2});

  ASSERT_EQ(first->size(), 2u);
  ASSERT_EQ(second->size(), 2u);
  EXPECT_EQ(second->front().name, "c2");
}

TEST_P(StoreContractTest, CommittedDataSurvivesReopen) {
  CustomerId id = AddCustomer("durable");
  int version = store_->SchemaVersion();
  store_.reset();

  store_ = GetParam()(dir_);

  EXPECT_EQ(store_->GetCustomer(id)->name, "durable");
  EXPECT_EQ(store_->SchemaVersion(), version);
  EXPECT_GE(version, 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest, ::testing::Values(StoreFactory(OpenSqlite)),
                         [](const auto&) { return std::string("Sqlite"); });

}  // namespace
}  // namespace panorama::storage
