// Privacy on a real SQLite file: consent gate (S15), DSAR export and erasure (S14), retention (S16) and the
// pseudonymised export (S19) of the security test plan (SECURITY.md §3, see docs/security.md).

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <map>
#include <regex>
#include <set>

#include "features/feature_store.h"
#include "privacy/consent_service.h"
#include "privacy/dsar_service.h"
#include "privacy/pseudonymised_export.h"
#include "privacy/retention.h"
#include "storage/store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/result_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_crypto.h"

namespace panorama::privacy {
namespace {

using namespace std::chrono_literals;
using storage::ConsentRecord;
using storage::CustomerRecord;

const Timestamp kNow = FromUnixMillis(1'767'225'600'000);  // 2026-01-01T00:00:00Z
template <typename T>
Result<void> Status(const Result<T>& r) {
  if (r) return Ok();
  return r.error();
}

constexpr std::string_view kSecret = "test-server-secret-32-bytes-long";

ConsentRecord Consent(std::string purpose, std::string channel, bool granted) {
  ConsentRecord c;
  c.purpose = std::move(purpose);
  c.channel = std::move(channel);
  c.granted = granted;
  c.lawful_basis = "consent";
  c.source = "api";
  c.policy_version = "2026-01";
  c.actor = "user:1";
  return c;
}

class PrivacyTest : public ::testing::Test {
 protected:
  static std::unique_ptr<storage::Store> Open(const testing::TempDir& dir) {
    // One field encryptor per directory, kept for the whole run, so a reopened store finds its keys.
    static std::map<std::string, std::unique_ptr<security::FieldEncryptor>> cryptos;
    auto& crypto = cryptos[dir.File("keystore.db")];
    if (!crypto) crypto = testing::MakeTestCrypto(dir.File("keystore.db"), /*durable=*/false);
    auto opened = storage::OpenSqliteStore({.path = dir.File("p.db"), .crypto = crypto.get(), .synchronous_full = false});
    if (!opened) std::abort();
    return std::move(*opened);
  }

  void SetUp() override { ASSERT_OK(consents_.Load()); }

  CustomerId AddCustomer(CustomerRecord c = {}) {
    c.created_at = c.updated_at = clock_.Now();
    CustomerId id;
    EXPECT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
      ASSIGN_OR_RETURN(id, txn.InsertCustomer(c));
      return Ok();
    }));
    features_.OnCustomer(id);
    return id;
  }

  // Rows referring to `id` counted straight from the file, independent of the Store's walker.
  std::map<std::string, int64_t> DirectCounts(CustomerId id) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(dir_.File("p.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    std::map<std::string, int64_t> out;
    auto count = [&](const std::string& sql) {
      sqlite3_stmt* s = nullptr;
      sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr);
      sqlite3_bind_int64(s, 1, id.value());
      int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
      sqlite3_finalize(s);
      return n;
    };
    sqlite3_stmt* t = nullptr;
    sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &t, nullptr);
    std::vector<std::string> tables;
    while (sqlite3_step(t) == SQLITE_ROW) tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(t, 0)));
    sqlite3_finalize(t);
    for (const auto& table : tables) {
      // Erasure tombstones: kept on purpose after an erasure (they are what keeps the subject erased when an
      // older keystore is restored) and hold nothing but the id.
      if (table == "erasures") continue;
      sqlite3_stmt* cols = nullptr;
      sqlite3_prepare_v2(db, ("SELECT name FROM pragma_table_info('" + table + "') WHERE name = 'customer_id'").c_str(),
                         -1, &cols, nullptr);
      bool has = sqlite3_step(cols) == SQLITE_ROW;
      sqlite3_finalize(cols);
      if (has) out[table] = count("SELECT count(*) FROM \"" + table + "\" WHERE customer_id = ?1");
    }
    out["customers"] = count("SELECT count(*) FROM customers WHERE id = ?1 OR merged_into = ?1");
    out["merges"] = count("SELECT count(*) FROM merges WHERE from_customer = ?1 OR into_customer = ?1");
    sqlite3_close(db);
    return out;
  }

  void ExecRaw(const std::string& sql) {
    sqlite3* db = nullptr;
    sqlite3_open(dir_.File("p.db").c_str(), &db);
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }

  // A subject with rows in every table that refers to customers: identities, events, an order with items, an
  // interaction, consents, a privacy request, flags, and a second record merged into it.
  CustomerId AddFullSubject(const std::string& email) {
    CustomerId id = AddCustomer({.name = "王小明", .email = email, .phone = "+8613800138000", .external_id = "X-1"});
    CustomerId dup = AddCustomer({.name = "Wang X", .email = "dup-" + email});
    EXPECT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
      RETURN_IF_ERROR(txn.AddIdentity({"email", email, id, kNow}));
      RETURN_IF_ERROR(txn.AddIdentity({"email", "dup-" + email, dup, kNow}));
      RETURN_IF_ERROR(txn.MergeCustomers({dup, id, "email shared", kNow}));
      storage::EventRecord e;
      e.customer = id;
      e.message_id = "m-" + email;
      e.type = "track";
      e.name = "Viewed";
      e.timestamp = e.received_at = kNow;
      RETURN_IF_ERROR(Status(txn.InsertEvent(e)));
      storage::OrderRecord o;
      o.customer = id;
      o.external_id = "O-" + email;
      o.total = Money{1000, "CNY"};
      o.total_base_minor = 1000;
      o.placed_at = kNow;
      o.items.push_back({std::nullopt, "SKU1", "Tea", 2, 500});
      RETURN_IF_ERROR(Status(txn.InsertOrder(o)));
      RETURN_IF_ERROR(Status(txn.InsertInteraction({InteractionId(0), id, "note", "s", "b", "", kNow, std::nullopt})));
      RETURN_IF_ERROR(txn.InsertReveal({kNow, "user:1", id, {"phone"}}));
      storage::SegmentRecord segment;
      segment.name = "S-" + email;
      segment.rule = "country = \"CN\"";
      segment.created_at = segment.updated_at = kNow;
      ASSIGN_OR_RETURN(SegmentId segment_id, txn.InsertSegment(segment));
      RETURN_IF_ERROR(txn.ApplySegmentChanges({segment_id, {id}, {}, kNow, 1}));
      return txn.PutPrivacyFlags({id, false, false, kNow});
    }));
    EXPECT_OK(consents_.Record(id, {Consent("marketing", "email", true)}));
    EXPECT_OK(dsar_.Open(id, "access", "gdpr", ""));
    features_.OnOrder(id, kNow, 1000);
    return id;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_{kNow};
  std::unique_ptr<storage::Store> store_ = Open(dir_);
  features::FeatureStore features_{clock_};
  ConsentService consents_{*store_, clock_};
  DsarService dsar_{*store_, features_, consents_, clock_, std::string(kSecret)};
};

// ---- S15: consent ----

TEST_F(PrivacyTest, MaySendIsFalseExactlyForTheCustomersWithoutConsent) {
  std::vector<CustomerId> ids;
  ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
    for (int i = 0; i < 10000; ++i) {
      CustomerRecord c;
      c.created_at = c.updated_at = kNow;
      ASSIGN_OR_RETURN(CustomerId id, txn.InsertCustomer(c));
      ids.push_back(id);
      // 30% never consented; of those, a third refused explicitly.
      if (i % 10 < 3) {
        if (i % 10 == 0) {
          ConsentRecord refused = Consent("marketing", "email", false);
          refused.customer = id;
          refused.at = kNow;
          RETURN_IF_ERROR(Status(txn.InsertConsent(refused)));
        }
        continue;
      }
      ConsentRecord granted = Consent("marketing", "email", true);
      granted.customer = id;
      granted.at = kNow;
      RETURN_IF_ERROR(Status(txn.InsertConsent(granted)));
    }
    return Ok();
  }));
  ASSERT_OK(consents_.Load());

  int allowed = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    bool may = consents_.MaySend(ids[i], "marketing", "email");
    EXPECT_EQ(may, i % 10 >= 3) << "customer index " << i;
    allowed += may;
    EXPECT_FALSE(consents_.MaySend(ids[i], "marketing", "sms"));
  }

  EXPECT_EQ(allowed, 7000);
}

TEST_F(PrivacyTest, WithdrawalIsEffectiveForTheNextSend) {
  CustomerId id = AddCustomer();
  ASSERT_OK(consents_.Record(id, {Consent("marketing", "sms", true)}));
  ASSERT_TRUE(consents_.MaySend(id, "marketing", "sms"));

  ASSERT_OK(consents_.Record(id, {Consent("marketing", "sms", false)}));

  EXPECT_FALSE(consents_.MaySend(id, "marketing", "sms"));
}

TEST_F(PrivacyTest, PurposeLevelWithdrawalBlocksEveryChannel) {
  CustomerId id = AddCustomer();
  ASSERT_OK(consents_.Record(id, {Consent("marketing", "email", true), Consent("marketing", "wechat", true)}));

  ASSERT_OK(consents_.Record(id, {Consent("marketing", "", false)}));

  EXPECT_FALSE(consents_.MaySend(id, "marketing", "email"));
  EXPECT_FALSE(consents_.MaySend(id, "marketing", "wechat"));
}

TEST_F(PrivacyTest, HistoryKeepsEveryChangeAndCurrentIsTheNewest) {
  CustomerId id = AddCustomer();
  ASSERT_OK(consents_.Record(id, {Consent("marketing", "email", true)}));
  clock_.Advance(1s);
  ASSERT_OK(consents_.Record(id, {Consent("marketing", "email", false)}));

  auto history = consents_.History(id);
  auto current = consents_.Current(id);

  ASSERT_OK(history);
  ASSERT_EQ(history->size(), 2u);
  EXPECT_TRUE((*history)[0].granted);
  ASSERT_OK(current);
  ASSERT_EQ(current->size(), 1u);
  EXPECT_FALSE((*current)[0].granted);
}

TEST_F(PrivacyTest, IndexReloadedFromTheLedgerGivesTheSameAnswers) {
  CustomerId id = AddCustomer();
  ASSERT_OK(consents_.Record(id, {Consent("profiling", "", true), Consent("marketing", "push", true)}));
  ConsentService reloaded(*store_, clock_);

  ASSERT_OK(reloaded.Load());

  EXPECT_TRUE(reloaded.MayProcess(id, "profiling"));
  EXPECT_TRUE(reloaded.MaySend(id, "marketing", "push"));
  EXPECT_FALSE(reloaded.MayProcess(id, "sensitive"));
}

TEST_F(PrivacyTest, RestrictionBlocksSendingAndProcessing) {
  CustomerId id = AddCustomer();
  ASSERT_OK(consents_.Record(id, {Consent("profiling", "", true), Consent("marketing", "email", true)}));

  ASSERT_OK(dsar_.SetFlags(id, std::nullopt, true));

  EXPECT_FALSE(consents_.MayProcess(id, "profiling"));
  EXPECT_FALSE(consents_.MaySend(id, "marketing", "email"));
}

TEST_F(PrivacyTest, SensitiveTraitsNeedSeparateConsent) {
  CustomerId id = AddCustomer();

  EXPECT_ERROR_CODE(consents_.CheckSensitiveWrite(id, R"({"health":{"diabetes":true}})"), ErrorCode::kAborted);
  EXPECT_ERROR_CODE(consents_.CheckSensitiveWrite(std::nullopt, R"({"religion":"x"})"), ErrorCode::kAborted);
  EXPECT_OK(consents_.CheckSensitiveWrite(id, R"({"vip":"health"})"));
  ASSERT_OK(consents_.Record(id, {Consent("sensitive", "", true)}));
  EXPECT_OK(consents_.CheckSensitiveWrite(id, R"({"health":{"diabetes":true}})"));
}

TEST_F(PrivacyTest, InvalidConsentsAreRejectedAndNothingIsWritten) {
  CustomerId id = AddCustomer();
  struct Case {
    ConsentRecord consent;
    std::string field;
  };
  ConsentRecord bundled = Consent("sensitive", "email", true);
  ConsentRecord basis = Consent("marketing", "email", true);
  basis.lawful_basis = "because";
  ConsentRecord source = Consent("marketing", "email", true);
  source.source = "fax";
  ConsentRecord hash = Consent("marketing", "email", true);
  hash.text_sha256 = "ABC";
  ConsentRecord sensitive_basis = Consent("sensitive", "", true);
  sensitive_basis.lawful_basis = "contract";
  std::vector<Case> cases = {{Consent("spam", "", true), "consents[1].purpose"},
                             {Consent("marketing", "fax", true), "consents[1].channel"},
                             {bundled, "consents[1].channel"},
                             {basis, "consents[1].lawful_basis"},
                             {source, "consents[1].source"},
                             {hash, "consents[1].text_sha256"},
                             {sensitive_basis, "consents[1].lawful_basis"}};
  for (const auto& c : cases) {
    auto result = consents_.Record(id, {Consent("marketing", "email", true), c.consent});

    EXPECT_FIELD_ERROR(result, c.field);
  }
  EXPECT_ERROR_CODE(consents_.Record(CustomerId(999999), {Consent("marketing", "email", true)}), ErrorCode::kNotFound);
  auto history = consents_.History(id);
  ASSERT_OK(history);
  EXPECT_TRUE(history->empty());
  EXPECT_FALSE(consents_.MaySend(id, "marketing", "email"));
}

// ---- S14: DSAR ----

TEST_F(PrivacyTest, ExportCoversEveryTableThatRefersToTheSubject) {
  CustomerId id = AddFullSubject("a@example.com");
  AddFullSubject("other@example.com");
  auto direct = DirectCounts(id);

  auto rows = store_->ExportSubjectRows(id);

  ASSERT_OK(rows);
  std::map<std::string, int64_t> exported;
  for (const auto& t : *rows) exported[t.table] = static_cast<int64_t>(t.rows.size());
  for (const auto& [table, count] : direct) {
    // The fixture puts at least one row in every table holding customer_id: a new table fails here until
    // AddFullSubject writes to it, so the export is proven to cover it.
    EXPECT_GT(count, 0) << "no test rows for table " << table;
    EXPECT_EQ(exported[table], count) << "table " << table;
  }
  EXPECT_EQ(exported.size(), direct.size());
}

TEST_F(PrivacyTest, ExportFindsATableAddedLater) {
  CustomerId id = AddFullSubject("a@example.com");
  ExecRaw("CREATE TABLE loyalty_points (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, points INTEGER);"
          "INSERT INTO loyalty_points (customer_id, points) VALUES (" + std::to_string(id.value()) + ", 42)");

  auto json = dsar_.Export(id);

  ASSERT_OK(json);
  EXPECT_NE(json->find("\"loyalty_points\":[{\"id\":1,\"customer_id\":" + std::to_string(id.value()) +
                       ",\"points\":42}]"),
            std::string::npos)
      << *json;
}

TEST_F(PrivacyTest, EraseLeavesNoRowAnywhereAndTheCertificateCountsMatch) {
  CustomerId id = AddFullSubject("a@example.com");
  CustomerId other = AddFullSubject("other@example.com");
  auto before = DirectCounts(id);
  auto other_before = DirectCounts(other);
  auto request = dsar_.Open(id, "erase", "gdpr", "by email");
  ASSERT_OK(request);
  ASSERT_OK(dsar_.Verify(request->id, "id_document", "user:1"));

  auto certificate = dsar_.Fulfil(request->id);

  ASSERT_OK(certificate);
  auto after = DirectCounts(id);
  for (const auto& [table, count] : after) {
    if (table == "privacy_requests") continue;
    EXPECT_EQ(count, 0) << "table " << table;
    EXPECT_NE(certificate->find("\"" + table + "\":" + std::to_string(before[table])), std::string::npos)
        << table << " in " << *certificate;
  }
  EXPECT_FALSE(features_.Get(id, kNow).has_value());
  EXPECT_TRUE(features_.Get(other, kNow).has_value());
  EXPECT_EQ(DirectCounts(other), other_before);
  EXPECT_EQ(certificate->find("a@example.com"), std::string::npos);
  auto suppressed = dsar_.IsSuppressed("email", "a@example.com");
  ASSERT_OK(suppressed);
  EXPECT_TRUE(*suppressed);
  auto stored = dsar_.Get(request->id);
  ASSERT_OK(stored);
  EXPECT_EQ(stored->status, "completed");
  EXPECT_EQ(stored->result_json, *certificate);
}

TEST_F(PrivacyTest, LegalHoldBlocksErasure) {
  CustomerId id = AddFullSubject("a@example.com");
  ASSERT_OK(dsar_.SetFlags(id, true, std::nullopt));
  auto request = dsar_.Open(id, "erase", "pipl", "");
  ASSERT_OK(request);
  ASSERT_OK(dsar_.Verify(request->id, "account", "user:1"));
  auto before = DirectCounts(id);

  EXPECT_ERROR_CODE(dsar_.Fulfil(request->id), ErrorCode::kFailedPrecondition);

  EXPECT_EQ(DirectCounts(id)["events"], before["events"]);
}

TEST_F(PrivacyTest, AnUnverifiedRequestIsNotFulfilledAndNothingIsErased) {
  CustomerId id = AddFullSubject("a@example.com");
  auto request = dsar_.Open(id, "erase", "gdpr", "");
  ASSERT_OK(request);
  EXPECT_EQ(request->verification, "unverified");
  auto before = DirectCounts(id);

  auto fulfilled = dsar_.Fulfil(request->id);

  EXPECT_ERROR_CODE(fulfilled, ErrorCode::kFailedPrecondition);
  EXPECT_NE(fulfilled.error().message().find("not verified"), std::string::npos);
  EXPECT_EQ(DirectCounts(id), before);
  EXPECT_EQ(dsar_.Get(request->id)->status, "open");
}

TEST_F(PrivacyTest, VerificationRecordsMethodActorAndTimeOnce) {
  CustomerId id = AddFullSubject("a@example.com");
  auto request = dsar_.Open(id, "access", "gdpr", "");
  ASSERT_OK(request);

  auto verified = dsar_.Verify(request->id, "email", "user:7");

  ASSERT_OK(verified);
  auto stored = dsar_.Get(request->id);
  ASSERT_OK(stored);
  EXPECT_EQ(stored->verification, "verified");
  EXPECT_EQ(stored->verification_method, "email");
  EXPECT_EQ(stored->verified_by, "user:7");
  ASSERT_TRUE(stored->verified_at.has_value());
  EXPECT_ERROR_CODE(dsar_.Verify(request->id, "email", "user:7"), ErrorCode::kFailedPrecondition);
  EXPECT_OK(dsar_.Fulfil(request->id));
}

TEST_F(PrivacyTest, VerificationRejectsBadMethodsAndUnknownOrClosedRequests) {
  CustomerId id = AddFullSubject("a@example.com");
  auto request = dsar_.Open(id, "access", "gdpr", "");
  ASSERT_OK(request);

  for (const char* bad : {"", "ID_DOCUMENT", "trust me", "' OR 1=1 --"}) {
    EXPECT_FIELD_ERROR(dsar_.Verify(request->id, bad, "user:1"), "method");
  }
  EXPECT_EQ(dsar_.Get(request->id)->verification, "unverified");
  EXPECT_ERROR_CODE(dsar_.Verify(999, "email", "user:1"), ErrorCode::kNotFound);
  ASSERT_OK(dsar_.Reject(request->id, "could not confirm identity"));
  EXPECT_ERROR_CODE(dsar_.Verify(request->id, "email", "user:1"), ErrorCode::kFailedPrecondition);
}

TEST_F(PrivacyTest, DeadlinesFollowTheJurisdiction) {
  auto jan31 = ParseIso8601("2027-01-31T10:00:00Z");
  ASSERT_OK(jan31);

  EXPECT_EQ(FormatIso8601(*RequestDeadline("gdpr", *jan31)), FormatIso8601(*ParseIso8601("2027-02-28T10:00:00Z")));
  EXPECT_EQ(*RequestDeadline("pipl", *jan31), *jan31 + std::chrono::days{15});
  EXPECT_EQ(*RequestDeadline("ccpa", *jan31), *jan31 + std::chrono::days{45});
  EXPECT_FIELD_ERROR(RequestDeadline("lgpd", *jan31), "jurisdiction");
}

TEST_F(PrivacyTest, OverdueListsOpenRequestsPastTheirDueTime) {
  CustomerId id = AddCustomer();
  auto pipl = dsar_.Open(id, "access", "pipl", "");
  auto gdpr = dsar_.Open(id, "access", "gdpr", "");
  ASSERT_OK(pipl);
  ASSERT_OK(gdpr);
  clock_.Advance(std::chrono::days{16});

  auto overdue = dsar_.Overdue();

  ASSERT_OK(overdue);
  ASSERT_EQ(overdue->size(), 1u);
  EXPECT_EQ((*overdue)[0].id, pipl->id);
}

TEST_F(PrivacyTest, InvalidRequestsAreRejected) {
  CustomerId id = AddCustomer();

  EXPECT_FIELD_ERROR(dsar_.Open(id, "delete-all", "gdpr", ""), "kind");
  EXPECT_FIELD_ERROR(dsar_.Open(id, "access", "mars", ""), "jurisdiction");
  EXPECT_ERROR_CODE(dsar_.Open(CustomerId(424242), "access", "gdpr", ""), ErrorCode::kNotFound);
  auto list = dsar_.List({});
  ASSERT_OK(list);
  EXPECT_TRUE(list->empty());
}

// ---- S16: retention ----

TEST_F(PrivacyTest, RetentionRemovesExpiredRowsSparesLegalHoldAndIsIdempotent) {
  CustomerId plain = AddCustomer();
  CustomerId held = AddCustomer();
  ASSERT_OK(dsar_.SetFlags(held, true, std::nullopt));
  ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
    int n = 0;
    for (CustomerId c : {plain, held}) {
      for (int age_days : {0, 100, 500}) {
        storage::EventRecord e;
        e.customer = c;
        e.message_id = "m" + std::to_string(++n);
        e.type = "track";
        e.properties_json = R"({"q":"x"})";
        e.timestamp = e.received_at = kNow - std::chrono::days{age_days};
        RETURN_IF_ERROR(Status(txn.InsertEvent(e)));
        RETURN_IF_ERROR(Status(txn.InsertInteraction({InteractionId(0), c, "note", "subject", "body text", "",
                                                      kNow - std::chrono::days{age_days}, std::nullopt})));
      }
    }
    return Ok();
  }));
  clock_.Advance(std::chrono::days{400});
  // Ages are now 400, 500 and 900 days.
  std::vector<RetentionPolicy> policies = {{"events", 450, false}, {"interactions", 450, true}};

  auto first = RunRetention(*store_, policies, clock_.Now());
  auto second = RunRetention(*store_, policies, clock_.Now());

  ASSERT_OK(first);
  // Expired: the 500- and 900-day-old rows of `plain` (2 events deleted, 2 interactions stripped).
  EXPECT_EQ(first->total_rows, 4);
  ASSERT_OK(second);
  EXPECT_EQ(second->total_rows, 0);
  EXPECT_EQ(DirectCounts(plain)["events"], 1);
  EXPECT_EQ(DirectCounts(held)["events"], 3);
  auto held_export = dsar_.Export(held);
  ASSERT_OK(held_export);
  EXPECT_NE(held_export->find("body text"), std::string::npos);
  auto plain_export = dsar_.Export(plain);
  ASSERT_OK(plain_export);
  EXPECT_EQ(plain_export->find("\"subject\":\"subject\",\"body\":\"body text\""),
            plain_export->rfind("\"subject\":\"subject\",\"body\":\"body text\""));
}

// The segments' entered/exited feed: its own age, delete only, legal hold respected, memberships kept.
TEST_F(PrivacyTest, RetentionDeletesOldSegmentEventsOnlyAndIsIdempotent) {
  CustomerId plain = AddCustomer();
  CustomerId held = AddCustomer();
  ASSERT_OK(dsar_.SetFlags(held, true, std::nullopt));
  storage::SegmentRecord segment{.name = "s", .rule = "country = \"CN\"", .created_by = "cli",
                                 .created_at = kNow, .updated_at = kNow};
  SegmentId id;
  ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(id, txn.InsertSegment(segment));
    // Per customer: entered 500 days ago, exited 200 days ago, entered again today.
    for (int age_days : {500, 200, 0}) {
      storage::SegmentChanges c{.segment = id, .at = kNow - std::chrono::days{age_days}, .size = 2};
      (age_days == 200 ? c.exited : c.entered) = {plain, held};
      RETURN_IF_ERROR(txn.ApplySegmentChanges(c));
    }
    return Ok();
  }));
  clock_.Advance(std::chrono::days{100});
  // Ages are now 600, 300 and 100 days; the default policy keeps 400 days.
  auto policies = DefaultRetentionPolicies();
  ASSERT_EQ(policies.back().data_class, "segment_events");
  ASSERT_EQ(policies.back().max_age_days, kDefaultSegmentEventsDays);

  auto first = RunRetention(*store_, policies, clock_.Now());
  auto second = RunRetention(*store_, policies, clock_.Now());

  ASSERT_OK(first);
  EXPECT_EQ(first->total_rows, 1);  // the 600-day-old "entered" of `plain`
  EXPECT_EQ(first->lines.back().data_class, "segment_events");
  EXPECT_EQ(first->lines.back().action, "delete");
  ASSERT_OK(second);
  EXPECT_EQ(second->total_rows, 0);
  EXPECT_EQ(DirectCounts(plain)["segment_events"], 2);
  EXPECT_EQ(DirectCounts(held)["segment_events"], 3);
  EXPECT_EQ(DirectCounts(plain)["segment_members"], 1);  // the current membership stays
  auto feed = store_->ListSegmentEvents({.segment = id, .limit = 10});
  ASSERT_OK(feed);
  EXPECT_EQ(feed->size(), 5u);
}

TEST_F(PrivacyTest, RetentionRejectsBadPolicies) {
  CustomerId c = AddCustomer();
  ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(SegmentId id, txn.InsertSegment({.name = "s", .rule = "age > 1", .created_by = "cli",
                                                      .created_at = kNow, .updated_at = kNow}));
    return txn.ApplySegmentChanges({.segment = id, .entered = {c}, .at = kNow - std::chrono::days{900}, .size = 1});
  }));

  EXPECT_FIELD_ERROR(RunRetention(*store_, {{"tickets", 30, false}}, kNow), "data_class");
  EXPECT_FIELD_ERROR(RunRetention(*store_, {{"events", -1, false}}, kNow), "max_age_days");
  EXPECT_FIELD_ERROR(RunRetention(*store_, {{"segment_events", 30, true}}, kNow), "anonymise");
  EXPECT_FIELD_ERROR(RunRetention(*store_, {{"segment_events", 36501, false}}, kNow), "max_age_days");
  EXPECT_EQ(DirectCounts(c)["segment_events"], 1);  // nothing changed
}

// ---- S19: pseudonymised export ----

class PseudonymisedExportTest : public PrivacyTest {
 protected:
  void SetUp() override {
    PrivacyTest::SetUp();
    struct Group {
      int count;
      const char* birthday;
      const char* city;
      const char* gender;
    };
    int n = 0;
    for (Group g : {Group{10, "1995-05-05", "上海", "female"}, Group{6, "1985-03-01", "北京", "male"},
                    Group{3, "2004-07-07", "杭州", "female"}}) {
      for (int i = 0; i < g.count; ++i) {
        ++n;
        CustomerId id = AddCustomer({.name = "客户" + std::to_string(n), .email = "c" + std::to_string(n) + "@ex.cn",
                                     .phone = "+861380013" + std::to_string(8000 + n), .gender = g.gender,
                                     .birthday = g.birthday, .city = g.city, .country = "CN",
                                     .external_id = "EXT-" + std::to_string(n)});
        ids_.push_back(id);
        ASSERT_OK(store_->Write([&](storage::WriteTxn& txn) -> Result<void> {
          storage::OrderRecord o;
          o.customer = id;
          o.external_id = "SHOP-" + std::to_string(n);
          o.total = Money{2500, "CNY"};
          o.total_base_minor = 2500;
          o.placed_at = kNow;
          return Status(txn.InsertOrder(o));
        }));
      }
    }
  }
  std::vector<CustomerId> ids_;
};

TEST_F(PseudonymisedExportTest, HasNoDirectIdentifiers) {
  auto out = BuildPseudonymisedExport(*store_, kSecret, {.recipient = "acme"}, kNow);

  ASSERT_OK(out);
  std::string json = out->ToJson();
  std::string csv = *out->ToCsv("customers") + *out->ToCsv("orders") + *out->ToCsv("events");
  for (const std::string& text : {json, csv}) {
    EXPECT_FALSE(std::regex_search(text, std::regex(R"([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+)"))) << "email";
    EXPECT_FALSE(std::regex_search(text, std::regex(R"(\+?86\d{6,})"))) << "phone";
    EXPECT_EQ(text.find("客户"), std::string::npos) << "name";
    EXPECT_EQ(text.find("EXT-"), std::string::npos) << "external id";
    EXPECT_EQ(text.find("SHOP-"), std::string::npos) << "order id";
    EXPECT_EQ(text.find("1995-05-05"), std::string::npos) << "birthday";
  }
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "pseudonym,age_band,gender,city,country,created_month");
}

TEST_F(PseudonymisedExportTest, PseudonymsAreStablePerRecipientAndDifferAcrossRecipients) {
  auto a1 = BuildPseudonymisedExport(*store_, kSecret, {.recipient = "acme"}, kNow);
  auto a2 = BuildPseudonymisedExport(*store_, kSecret, {.recipient = "acme"}, kNow);
  auto b = BuildPseudonymisedExport(*store_, kSecret, {.recipient = "bureau"}, kNow);

  ASSERT_OK(a1);
  ASSERT_OK(a2);
  ASSERT_OK(b);
  std::set<std::string> in_a, in_b;
  for (size_t i = 0; i < a1->customers.size(); ++i) {
    EXPECT_EQ(a1->customers[i].pseudonym, a2->customers[i].pseudonym);
    in_a.insert(a1->customers[i].pseudonym);
  }
  for (const auto& c : b->customers) in_b.insert(c.pseudonym);
  std::vector<std::string> shared;
  std::set_intersection(in_a.begin(), in_a.end(), in_b.begin(), in_b.end(), std::back_inserter(shared));
  EXPECT_EQ(in_a.size(), 16u);
  EXPECT_TRUE(shared.empty());
  EXPECT_EQ(a1->orders[0].customer, a1->customers[0].pseudonym);
}

TEST_F(PseudonymisedExportTest, SuppressesGroupsSmallerThanK) {
  auto out = BuildPseudonymisedExport(*store_, kSecret, {.recipient = "acme", .k = 5}, kNow);

  ASSERT_OK(out);
  std::map<std::tuple<std::string, std::string, std::string>, int> groups;
  for (const auto& c : out->customers) ++groups[{c.age_band, c.city, c.gender}];
  for (const auto& [key, count] : groups) EXPECT_GE(count, 5);
  EXPECT_EQ(out->suppressed_customers, 3);
  EXPECT_EQ(out->customers.size(), 16u);
  EXPECT_EQ(out->orders.size(), 16u);
  EXPECT_EQ(groups.size(), 2u);
  EXPECT_EQ(AgeBand("1995-05-05", kNow), "25-34");
}

TEST_F(PseudonymisedExportTest, RejectsBadOptions) {
  EXPECT_FIELD_ERROR(BuildPseudonymisedExport(*store_, kSecret, {.recipient = ""}, kNow), "recipient");
  EXPECT_FIELD_ERROR(BuildPseudonymisedExport(*store_, kSecret, {.recipient = "a b"}, kNow), "recipient");
  EXPECT_FIELD_ERROR(BuildPseudonymisedExport(*store_, kSecret, {.recipient = "a", .k = 1}, kNow), "k");
  auto out = BuildPseudonymisedExport(*store_, kSecret, {.recipient = "a"}, kNow);
  ASSERT_OK(out);
  EXPECT_FIELD_ERROR(out->ToCsv("users"), "dataset");
}

}  // namespace
}  // namespace panorama::privacy
