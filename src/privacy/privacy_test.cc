// Privacy on a real SQLite file: consent gate (S15), DSAR export and erasure (S14), retention (S16) and the
// pseudonymised export (S19) of the security test plan (SECURITY.md §3, see docs/security.md).

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sodium.h>
#include <sqlite3.h>

#include <chrono>
#include <map>
#include <regex>
#include <set>

#include "features/feature_store.h"
#include "privacy/consent_service.h"
#include "privacy/dsar_service.h"
#include "privacy/public_requests.h"
#include "privacy/pseudonymised_export.h"
#include "privacy/retention.h"
#include "privacy/subject_bundle.h"
#include "storage/store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/raw_sqlite.h"
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

  void ExecRaw(const std::string& sql) { testing::RawSql(dir_.File("p.db"), sql); }

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
      storage::VerificationCodeRecord code;
      code.request_id = 1000 + id.value();
      code.customer = id;
      code.channel = "email";
      code.code_hash = "00";
      code.expires_at = code.created_at = kNow;
      RETURN_IF_ERROR(txn.PutVerificationCode(code));
      storage::OutboxRecord message;
      message.channel = "email";
      message.customer = id;
      message.template_name = "dsar_verification";
      message.payload_json = "{}";
      message.created_at = kNow;
      RETURN_IF_ERROR(Status(txn.InsertOutbox(message)));
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

TEST_F(PrivacyTest, PermittedListsExactlyTheCustomersMaySendAndMayProcessAllow) {
  std::vector<CustomerId> ids;
  for (int i = 0; i < 8; ++i) ids.push_back(AddCustomer());
  ASSERT_OK(consents_.Record(ids[0], {Consent("marketing", "email", true)}));
  ASSERT_OK(consents_.Record(ids[1], {Consent("marketing", "email", true), Consent("marketing", "", false)}));
  ASSERT_OK(consents_.Record(ids[2], {Consent("marketing", "email", true), Consent("marketing", "", true)}));
  ASSERT_OK(consents_.Record(ids[3], {Consent("marketing", "email", true)}));
  ASSERT_OK(consents_.Record(ids[3], {Consent("marketing", "email", false)}));
  ASSERT_OK(consents_.Record(ids[4], {Consent("marketing", "sms", true), Consent("profiling", "", true)}));
  ASSERT_OK(consents_.Record(ids[5], {Consent("marketing", "email", true), Consent("marketing", "", true)}));
  ASSERT_OK(dsar_.SetFlags(ids[5], std::nullopt, true));  // restricted

  for (auto [purpose, channel] : {std::pair<const char*, const char*>{"marketing", "email"}, {"marketing", ""},
                                  {"marketing", "sms"}, {"profiling", ""}, {"sensitive", ""}}) {
    std::set<int64_t> want;
    for (CustomerId id : ids) {
      const bool may = *channel == '\0' ? consents_.MayProcess(id, purpose) : consents_.MaySend(id, purpose, channel);
      if (may) want.insert(id.value());
    }
    std::set<int64_t> got;
    for (CustomerId id : consents_.Permitted(purpose, channel)) got.insert(id.value());
    EXPECT_EQ(got, want) << purpose << "." << channel;
  }
  EXPECT_EQ(consents_.Permitted("marketing", "email").size(), 2u);  // ids[0] and ids[2]
  EXPECT_TRUE(consents_.Permitted("marketing", "fax").empty());
  EXPECT_FALSE(consents_.MaySend(ids[2], "marketing", "fax"));  // an unknown channel is not the purpose level
  EXPECT_TRUE(consents_.Permitted("nonsense", "").empty());
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

// Every file of a ZIP, by name (read back with libarchive, independent of the writer's bookkeeping).
std::map<std::string, std::string> Unzip(const std::string& zip) {
  std::map<std::string, std::string> files;
  archive* a = archive_read_new();
  archive_read_support_format_zip(a);
  EXPECT_EQ(archive_read_open_memory(a, zip.data(), zip.size()), ARCHIVE_OK) << archive_error_string(a);
  archive_entry* entry = nullptr;
  while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
    std::string bytes;
    char buf[8192];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) bytes.append(buf, static_cast<size_t>(n));
    files[archive_entry_pathname(entry)] = std::move(bytes);
  }
  archive_read_free(a);
  return files;
}

std::string Sha256(const std::string& data) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

std::vector<std::string> Lines(const std::string& text, const std::string& eol = "\n") {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t end; (end = text.find(eol, start)) != std::string::npos; start = end + eol.size()) {
    out.push_back(text.substr(start, end - start));
  }
  EXPECT_EQ(start, text.size()) << "text does not end with a line break";
  return out;
}

TEST_F(PrivacyTest, AccessBundleMatchesItsManifestAndTheJsonExport) {
  CustomerId id = AddFullSubject("a@example.com");
  AddFullSubject("other@example.com");
  auto request = dsar_.Open(id, "portability", "gdpr", "");
  ASSERT_OK(request);
  ASSERT_OK(dsar_.Verify(request->id, "account", "user:1"));
  auto json = dsar_.Export(id);
  ASSERT_OK(json);

  auto zip = dsar_.Fulfil(request->id, ExportFormat::kBundle);

  ASSERT_OK(zip);
  EXPECT_EQ(zip->substr(0, 4), std::string("PK\x03\x04", 4));
  auto files = Unzip(*zip);
  ASSERT_TRUE(files.contains("manifest.json"));
  simdjson::dom::parser manifest_parser, export_parser, line_parser;
  auto manifest = manifest_parser.parse(files["manifest.json"]).value();
  auto exported = export_parser.parse(*json).value();
  EXPECT_EQ(std::string(manifest["format"].get_string().value()), kSubjectBundleFormat);
  EXPECT_EQ(manifest["subject_id"].get_int64().value(), id.value());
  EXPECT_EQ(std::string(manifest["generated_at"].get_string().value()), FormatIso8601(kNow));
  std::set<std::string> listed;
  for (auto file : manifest["files"].get_array()) {
    std::string name(file["name"].get_string().value());
    listed.insert(name);
    ASSERT_TRUE(files.contains(name)) << name;
    EXPECT_EQ(std::string(file["sha256"].get_string().value()), Sha256(files[name])) << name;
    int64_t rows = file["rows"].get_int64().value();
    bool jsonl = name.ends_with(".jsonl");
    std::string table = name.substr(7, name.rfind('.') - 7);  // "tables/<table>.<ext>"
    auto expected_rows = exported["tables"][table].get_array();
    ASSERT_FALSE(expected_rows.error()) << table << " missing from the JSON export";
    EXPECT_EQ(static_cast<size_t>(rows), expected_rows.size()) << name;
    if (jsonl) {
      auto lines = Lines(files[name]);
      ASSERT_EQ(lines.size(), static_cast<size_t>(rows)) << name;
      size_t i = 0;
      for (auto row : expected_rows.value()) {
        EXPECT_EQ(simdjson::minify(line_parser.parse(lines[i]).value()), simdjson::minify(row)) << name << " row " << i;
        ++i;
      }
    } else {
      EXPECT_EQ(Lines(files[name], "\r\n").size(), static_cast<size_t>(rows) + 1) << name;  // + header
    }
  }
  size_t tables = 0;
  for ([[maybe_unused]] auto t : exported["tables"].get_object()) ++tables;
  EXPECT_EQ(listed.size(), tables * 2);  // a JSON Lines and a CSV file per table
  EXPECT_EQ(files.size(), listed.size() + 1);
  for (const auto& [name, bytes] : files) EXPECT_EQ(bytes.find("other@example.com"), std::string::npos) << name;
  EXPECT_EQ(dsar_.Get(request->id)->status, "completed");
}

TEST_F(PrivacyTest, BundleIsOnlyForAccessAndPortability) {
  CustomerId id = AddFullSubject("a@example.com");
  auto request = dsar_.Open(id, "restrict", "gdpr", "");
  ASSERT_OK(request);
  ASSERT_OK(dsar_.Verify(request->id, "account", "user:1"));

  EXPECT_FIELD_ERROR(dsar_.Fulfil(request->id, ExportFormat::kBundle), "format");

  EXPECT_EQ(dsar_.Get(request->id)->status, "open");
}

TEST_F(PrivacyTest, EraseLeavesNoRowAnywhereAndTheCertificateCountsMatch) {
  CustomerId id = AddFullSubject("a@example.com");
  CustomerId other = AddFullSubject("other@example.com");
  auto before = DirectCounts(id);
  auto other_before = DirectCounts(other);
  ASSERT_OK(dsar_.set_erasure_grace(std::chrono::days{0}));  // at once
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

// ---- Erasure grace period (SECURITY.md §2.7) ----

int64_t OpenVerifiedErase(DsarService& dsar, CustomerId id) {
  auto request = dsar.Open(id, "erase", "gdpr", "");
  EXPECT_OK(request);
  EXPECT_OK(dsar.Verify(request->id, "email", "user:1"));
  return request->id;
}

TEST_F(PrivacyTest, ErasureWaitsForItsGracePeriodRestrictsMeanwhileAndRunsWhenDue) {
  CustomerId id = AddFullSubject("a@example.com");
  CustomerId other = AddFullSubject("other@example.com");
  ASSERT_TRUE(consents_.MaySend(id, "marketing", "email"));
  int64_t request = OpenVerifiedErase(dsar_, id);
  auto before = DirectCounts(id);

  auto scheduled = dsar_.Fulfil(request);

  ASSERT_OK(scheduled);
  EXPECT_NE(scheduled->find("\"status\":\"scheduled\""), std::string::npos) << *scheduled;
  EXPECT_NE(scheduled->find("2026-01-08T00:00:00"), std::string::npos) << *scheduled;
  auto stored = dsar_.Get(request);
  ASSERT_OK(stored);
  EXPECT_EQ(stored->status, "scheduled");
  ASSERT_TRUE(stored->scheduled_for.has_value());
  EXPECT_EQ(*stored->scheduled_for, kNow + std::chrono::days{7});
  EXPECT_EQ(DirectCounts(id), before);
  EXPECT_FALSE(consents_.MaySend(id, "marketing", "email"));  // restricted during the grace period
  EXPECT_FALSE(consents_.MayProcess(id, "profiling"));
  EXPECT_TRUE(consents_.MaySend(other, "marketing", "email"));
  EXPECT_ERROR_CODE(dsar_.Fulfil(request), ErrorCode::kFailedPrecondition);  // not twice

  clock_.Advance(std::chrono::days{7} - 1ms);
  auto early = dsar_.RunDueErasures();
  ASSERT_OK(early);
  EXPECT_TRUE(early->erased.empty());
  EXPECT_EQ(DirectCounts(id), before);

  clock_.Advance(1ms);
  auto due = dsar_.RunDueErasures();
  ASSERT_OK(due);
  EXPECT_EQ(due->erased, std::vector<int64_t>{request});
  EXPECT_TRUE(due->failed.empty());
  for (const auto& [table, count] : DirectCounts(id)) {
    if (table != "privacy_requests") {
      EXPECT_EQ(count, 0) << table;
    }
  }
  auto done = dsar_.Get(request);
  ASSERT_OK(done);
  EXPECT_EQ(done->status, "completed");
  EXPECT_NE(done->result_json.find("\"tables\":{"), std::string::npos) << done->result_json;
  EXPECT_NE(done->result_json.find("\"events\":" + std::to_string(before["events"])), std::string::npos)
      << done->result_json;
  EXPECT_EQ(done->result_json.find("a@example.com"), std::string::npos);
  EXPECT_TRUE(*dsar_.IsSuppressed("email", "a@example.com"));
  EXPECT_TRUE(features_.Get(other, clock_.Now()).has_value());
  auto again = dsar_.RunDueErasures();
  ASSERT_OK(again);
  EXPECT_TRUE(again->erased.empty());
}

TEST_F(PrivacyTest, CancelDuringTheGracePeriodKeepsEverythingAndLiftsOnlyItsOwnRestriction) {
  CustomerId id = AddFullSubject("a@example.com");
  CustomerId restricted = AddFullSubject("r@example.com");
  ASSERT_OK(dsar_.SetFlags(restricted, std::nullopt, true));
  int64_t request = OpenVerifiedErase(dsar_, id);
  int64_t request2 = OpenVerifiedErase(dsar_, restricted);
  auto before = DirectCounts(id);
  ASSERT_OK(dsar_.Fulfil(request));
  ASSERT_OK(dsar_.Fulfil(request2));
  clock_.Advance(std::chrono::days{3});

  auto cancelled = dsar_.Cancel(request, "user:9");
  ASSERT_OK(dsar_.Cancel(request2, "user:9"));

  ASSERT_OK(cancelled);
  EXPECT_EQ(cancelled->status, "cancelled");
  EXPECT_NE(cancelled->result_json.find("\"cancelled_by\":\"user:9\""), std::string::npos) << cancelled->result_json;
  EXPECT_EQ(dsar_.Get(request)->status, "cancelled");
  EXPECT_TRUE(consents_.MaySend(id, "marketing", "email"));
  EXPECT_FALSE(store_->GetPrivacyFlags(id)->restricted);
  EXPECT_TRUE(store_->GetPrivacyFlags(restricted)->restricted);  // restricted before the request: stays so
  EXPECT_FALSE(consents_.MaySend(restricted, "marketing", "email"));
  clock_.Advance(std::chrono::days{30});
  auto due = dsar_.RunDueErasures();
  ASSERT_OK(due);
  EXPECT_TRUE(due->erased.empty());
  EXPECT_EQ(DirectCounts(id), before);
  EXPECT_ERROR_CODE(dsar_.Cancel(request, "user:9"), ErrorCode::kFailedPrecondition);
  EXPECT_ERROR_CODE(dsar_.Fulfil(request), ErrorCode::kFailedPrecondition);
  EXPECT_ERROR_CODE(dsar_.Cancel(987654, "user:9"), ErrorCode::kNotFound);
  auto open = dsar_.Open(id, "access", "gdpr", "");
  ASSERT_OK(open);
  EXPECT_ERROR_CODE(dsar_.Cancel(open->id, "user:9"), ErrorCode::kFailedPrecondition);  // not scheduled
}

TEST_F(PrivacyTest, AScheduledErasureSurvivesARestart) {
  CustomerId id = AddFullSubject("a@example.com");
  int64_t request = OpenVerifiedErase(dsar_, id);
  ASSERT_OK(dsar_.Fulfil(request));
  clock_.Advance(std::chrono::days{8});

  // A new process: everything rebuilt from the same files, nothing carried over in memory.
  auto store = Open(dir_);
  features::FeatureStore features{clock_};
  ASSERT_OK(features.Rebuild(*store));
  ConsentService consents{*store, clock_};
  ASSERT_OK(consents.Load());
  DsarService dsar{*store, features, consents, clock_, std::string(kSecret)};
  EXPECT_FALSE(consents.MaySend(id, "marketing", "email"));  // the restriction is in the database
  auto due = dsar.RunDueErasures();

  ASSERT_OK(due);
  EXPECT_EQ(due->erased, std::vector<int64_t>{request});
  EXPECT_EQ(DirectCounts(id)["customers"], 0);
  EXPECT_EQ(dsar.Get(request)->status, "completed");
  EXPECT_FALSE(features.Get(id, clock_.Now()).has_value());
}

TEST_F(PrivacyTest, ALegalHoldSetDuringTheGracePeriodStopsTheErasureAndItStaysScheduled) {
  CustomerId id = AddFullSubject("a@example.com");
  int64_t request = OpenVerifiedErase(dsar_, id);
  ASSERT_OK(dsar_.Fulfil(request));
  ASSERT_OK(dsar_.SetFlags(id, true, std::nullopt));
  clock_.Advance(std::chrono::days{8});
  auto before = DirectCounts(id);

  auto due = dsar_.RunDueErasures();

  ASSERT_OK(due);
  EXPECT_TRUE(due->erased.empty());
  ASSERT_EQ(due->failed.size(), 1u);
  EXPECT_NE(due->failed[0].find("legal hold"), std::string::npos) << due->failed[0];
  EXPECT_EQ(DirectCounts(id), before);
  EXPECT_EQ(dsar_.Get(request)->status, "scheduled");
}

TEST_F(PrivacyTest, GracePeriodOutsideZeroToNinetyDaysIsRejectedNamingTheOption) {
  EXPECT_FIELD_ERROR(dsar_.set_erasure_grace(std::chrono::days{91}), "erasure-grace-days");
  EXPECT_FIELD_ERROR(dsar_.set_erasure_grace(std::chrono::days{-1}), "erasure-grace-days");
  EXPECT_EQ(dsar_.erasure_grace(), kDefaultErasureGrace);
  ASSERT_OK(dsar_.set_erasure_grace(std::chrono::days{90}));
  EXPECT_EQ(dsar_.erasure_grace(), std::chrono::days{90});
}

// ---- Self-service requests: single-use codes ----

// The code of the newest outbox message of `id` (what the messaging module would send).
std::string LastCode(storage::Store& store, CustomerId id) {
  auto outbox = store.ListOutbox(id);
  if (!outbox || outbox->empty()) return "";
  const std::string& payload = outbox->back().payload_json;
  auto at = payload.find("\"code\":\"");
  return at == std::string::npos ? "" : payload.substr(at + 8, 6);
}

std::string WrongCode(const std::string& code) {
  std::string wrong = code;
  wrong[0] = static_cast<char>('0' + (wrong[0] - '0' + 1) % 10);
  return wrong;
}

TEST_F(PrivacyTest, SelfServiceCodeIsHashedSingleUseAndExpiresAfterADay) {
  CustomerId id = AddFullSubject("a@example.com");
  PublicRequestService requests{*store_, clock_, "code-key"};
  ASSERT_OK(requests.Submit("erase", "email", "a@example.com", "gdpr"));
  auto list = store_->ListPrivacyRequests({.customer = id});
  ASSERT_OK(list);
  const auto& opened = list->back();
  EXPECT_EQ(opened.kind, "erase");
  EXPECT_EQ(opened.verification, "unverified");
  std::string code = LastCode(*store_, id);
  ASSERT_EQ(code.size(), 6u);
  auto stored = store_->GetVerificationCode(opened.id);
  ASSERT_OK(stored);
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->code_hash, requests.CodeHash(opened.id, code));
  EXPECT_EQ((*stored)->code_hash.find(code), std::string::npos);
  EXPECT_EQ((*stored)->expires_at, kNow + std::chrono::hours(24));
  auto outbox = store_->ListOutbox(id);
  EXPECT_EQ(outbox->back().template_name, "dsar_verification");
  EXPECT_EQ(outbox->back().channel, "email");
  EXPECT_FALSE(outbox->back().sent_at.has_value());

  clock_.Advance(std::chrono::hours(24));
  EXPECT_FIELD_ERROR(requests.Verify(opened.id, code), "code");  // expired
  EXPECT_EQ(dsar_.Get(opened.id)->verification, "unverified");
  clock_.Set(kNow + std::chrono::hours(1));
  auto verified = requests.Verify(opened.id, code);
  ASSERT_OK(verified);
  EXPECT_EQ(verified->verification, "verified");
  EXPECT_EQ(verified->verification_method, "email");
  EXPECT_EQ(verified->verified_by, "requester");
  EXPECT_FIELD_ERROR(requests.Verify(opened.id, code), "code");  // reused
}

TEST_F(PrivacyTest, FiveWrongTriesBurnTheCode) {
  CustomerId id = AddFullSubject("a@example.com");
  PublicRequestService requests{*store_, clock_, "code-key"};
  ASSERT_OK(requests.Submit("access", "email", "a@example.com", "pipl"));
  int64_t request = store_->ListPrivacyRequests({.customer = id})->back().id;
  std::string code = LastCode(*store_, id);

  for (int i = 0; i < 5; ++i) EXPECT_FIELD_ERROR(requests.Verify(request, WrongCode(code)), "code");
  auto burned = requests.Verify(request, code);

  EXPECT_FIELD_ERROR(burned, "code");
  EXPECT_NE(burned.error().message().find("too many"), std::string::npos) << burned.error().message();
  EXPECT_EQ((*store_->GetVerificationCode(request))->attempts, 5);
  EXPECT_EQ(dsar_.Get(request)->verification, "unverified");
}

TEST_F(PrivacyTest, SelfServiceForAnUnknownIdentifierStoresNothingAndBadInputIsRejected) {
  CustomerId id = AddFullSubject("a@example.com");
  PublicRequestService requests{*store_, clock_, "code-key"};
  size_t before = store_->ListPrivacyRequests({})->size();

  ASSERT_OK(requests.Submit("access", "email", "nobody@example.com", "gdpr"));

  EXPECT_EQ(store_->ListPrivacyRequests({})->size(), before);
  EXPECT_EQ(store_->ListOutbox(id)->size(), 1u);  // the fixture's own message only
  EXPECT_FIELD_ERROR(requests.Submit("nuke", "email", "a@example.com", "gdpr"), "type");
  EXPECT_FIELD_ERROR(requests.Submit("access", "fax", "a@example.com", "gdpr"), "channel");
  EXPECT_FIELD_ERROR(requests.Submit("access", "email", "a@example.com", "mars"), "jurisdiction");
  EXPECT_EQ(store_->ListPrivacyRequests({})->size(), before);
  EXPECT_FIELD_ERROR(requests.Verify(999999, "123456"), "code");  // unknown id: like a wrong code
  EXPECT_FIELD_ERROR(requests.Verify(1, "12ab56"), "code");
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
