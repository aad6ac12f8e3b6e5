// Field encryption at rest on a real SQLite store and keystore (SECURITY.md §2, tests S12 and R10): sentinel
// scan of the database files, blind-index search, key rotation, erasure by crypto-shredding, and restores of
// older database or keystore copies.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "app/runtime.h"
#include "ingest/ingest_pipeline.h"
#include "ingest/segment_message.h"
#include "privacy/data_class_catalogue.h"
#include "security/field_encryptor.h"
#include "storage/field_crypto.h"
#include "storage/store.h"
#include "tests/support/codecs.h"
#include "tests/support/raw_sqlite.h"
#include "tests/support/result_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_crypto.h"

namespace panorama {
namespace {

namespace fs = std::filesystem;
using storage::CustomerRecord;
using storage::WriteTxn;

Timestamp At(int64_t seconds) { return FromUnixMillis(seconds * 1000); }

std::string ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

size_t CountOccurrences(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) ++n;
  return n;
}

class EncryptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ring_ = testing::RandomRing();
    Open();
  }

  void Open() {
    store_.reset();
    crypto_.reset();
    auto crypto = testing::OpenTestCrypto(dir_.File("keystore.db"), testing::CopyRing(ring_));
    ASSERT_TRUE(crypto.has_value()) << crypto.error().message();
    crypto_ = std::move(crypto).value();
    auto store = storage::OpenSqliteStore({.path = dir_.File("panorama.db"), .crypto = crypto_.get()});
    ASSERT_TRUE(store.has_value()) << store.error().message();
    store_ = std::move(store).value();
  }

  void Close() {
    store_.reset();
    crypto_.reset();
  }

  CustomerId Add(const std::string& name, const std::string& email, const std::string& phone,
                 const std::string& note = "", const std::string& external_id = "") {
    CustomerRecord c;
    c.name = name;
    c.email = email;
    c.phone = phone;
    c.birthday = "1990-05-17";
    c.address = "88 Nanjing Road, 200001";
    c.external_id = external_id;
    c.created_at = c.updated_at = At(1000);
    CustomerId id;
    auto written = store_->Write([&](WriteTxn& txn) -> Result<void> {
      ASSIGN_OR_RETURN(id, txn.InsertCustomer(c));
      if (!email.empty()) RETURN_IF_ERROR(txn.AddIdentity({"email", email, id, At(1000)}));
      if (!note.empty()) {
        RETURN_IF_ERROR(txn.InsertInteraction({.customer = id, .kind = "note", .subject = note, .body = note,
                                               .occurred_at = At(1001)}));
      }
      return Ok();
    });
    PANORAMA_CHECK(written.has_value());
    return id;
  }

  size_t Found(storage::CustomerQuery q) {
    auto found = store_->ListCustomers(q);
    PANORAMA_CHECK(found.has_value());
    return found->size();
  }

  testing::TempDir dir_;
  security::MasterKeyRing ring_;
  std::unique_ptr<security::FieldEncryptor> crypto_;
  std::unique_ptr<storage::Store> store_;
};

// S12: 10,000 customers with sentinel names, emails, phones, addresses and notes; none of the sentinels may
// appear in the database, its WAL or its shared-memory file, nor in the keystore.
TEST_F(EncryptionTest, S12SentinelsNeverReachTheDatabaseFiles) {
  constexpr int kCustomers = 10'000;
  for (int batch = 0; batch < kCustomers / 1000; ++batch) {
    auto written = store_->Write([&](WriteTxn& txn) -> Result<void> {
      for (int i = batch * 1000; i < (batch + 1) * 1000; ++i) {
        std::string n = std::to_string(i);
        CustomerRecord c;
        c.name = "Zqsentinelname" + n + " Zqsentinelsurname";
        c.email = "zqsentinelmail" + n + "@example.com";
        c.phone = "+8613" + std::string(9 - n.size(), '0') + n;
        c.address = "Zqsentineladdress " + n;
        c.birthday = "1988-02-29";
        c.traits_json = R"({"nickname":"Zqsentineltrait)" + n + R"("})";
        c.external_id = "ZQSENTINELEXT" + n;
        c.created_at = c.updated_at = At(1000);
        ASSIGN_OR_RETURN(CustomerId id, txn.InsertCustomer(c));
        RETURN_IF_ERROR(txn.AddIdentity({"email", c.email, id, At(1000)}));
        RETURN_IF_ERROR(txn.AddIdentity({"phone", c.phone, id, At(1000)}));
        RETURN_IF_ERROR(txn.InsertInteraction({.customer = id, .kind = "note", .subject = "Zqsentinelnote " + n,
                                               .body = "Zqsentinelbody " + n, .occurred_at = At(1001)}));
      }
      return Ok();
    });
    ASSERT_OK(written);
  }

  // Files as they are on disk while the store is open (WAL not checkpointed), then after closing.
  std::string files;
  for (const char* name : {"panorama.db", "panorama.db-wal", "panorama.db-shm", "keystore.db", "keystore.db-wal"}) {
    if (fs::exists(dir_.path() / name)) files += ReadBytes(dir_.path() / name);
  }
  auto sample = store_->GetCustomer(CustomerId(5001));
  Close();
  for (const char* name : {"panorama.db", "keystore.db"}) files += ReadBytes(dir_.path() / name);

  ASSERT_GT(files.size(), 1'000'000u);
  EXPECT_EQ(CountOccurrences(files, "sentinel"), 0u);
  EXPECT_EQ(CountOccurrences(files, "SENTINEL"), 0u);
  EXPECT_EQ(CountOccurrences(files, "+8613000005000"), 0u);
  EXPECT_EQ(CountOccurrences(files, "1988-02-29"), 0u);
  ASSERT_OK(sample);
  EXPECT_EQ(sample->name, "Zqsentinelname5000 Zqsentinelsurname");
  EXPECT_EQ(sample->address, "Zqsentineladdress 5000");
  EXPECT_EQ(sample->traits_json, R"({"nickname":"Zqsentineltrait5000"})");
}

// S12 for event properties (SECURITY.md §2.3): Segment events carrying sentinel emails and phones in properties,
// identify traits and context.traits, ingested through the real pipeline. No sentinel and no full client IP
// reaches the database files; the store gives the values back (timeline, DSAR export) and survives a key
// rotation and a merge; after erasure the sealed column does not decrypt any more.
TEST_F(EncryptionTest, S12EventPropertySentinelsAreSealedAndShreddedWithTheCustomer) {
  constexpr const char* kEmail = "zqpropmail@example.cn";
  constexpr const char* kPhone = "13912340987";
  ExchangeRates rates;
  ingest::IngestPipeline pipeline(*store_, rates, nullptr);
  // The default catalogue plus nested paths: `user.email`, everything under `buyer.contact`, and paths through
  // arrays: the email of each object in `contacts`, the phone of each object in the arrays of `groups`.
  privacy::DataClassCatalogue catalogue(*store_);
  auto entries = privacy::DefaultEventPropertyClasses();
  entries.push_back({"user.email", "personal"});
  entries.push_back({"buyer.contact", "personal-sensitive"});
  entries.push_back({"contacts.email", "personal"});
  entries.push_back({"groups.phone", "personal"});
  ASSERT_OK(catalogue.Replace(entries, "test", At(1000)));
  pipeline.set_catalogue(&catalogue);
  pipeline.Start();
  std::string batch = std::string(R"({"batch":[)") +
      R"({"type":"track","userId":"ep-1","messageId":"m1","event":"Signed Up","properties":{"plan":"pro",)"
      R"("email":")" + kEmail + R"(","Phone":")" + kPhone + R"(","user":{"email":"zqnestmail@example.cn"},)"
      R"("contacts":[{"email":"zqarrmail1@example.cn","role":"cto"},"loose",{"email":"zqarrmail2@example.cn"}],)"
      R"("groups":[[{"phone":"Zqarrphone","id":1}],[]]},)"
      R"("context":{"ip":"203.0.113.77","traits":{"name":"Zqpropname","buyer":{"contact":{"id":"Zqnestid"}},)"
      R"("contacts":[{"email":"zqarrctx@example.cn"}]}}},)"
      R"({"type":"identify","userId":"ep-1","messageId":"m2","traits":{"email":")" + kEmail +
      R"(","身份证":"Zqpropidnumber","tier":"gold"}},)"
      R"({"type":"page","userId":"ep-1","messageId":"m3","name":"Home","properties":{"path":"/"},)"
      R"("context":{"ip":"2001:db8:85a3:8d3:1319:8a2e:370:7348"}}]})";
  auto messages = ingest::ParseSegmentRequest(batch, "batch", At(5000));
  ASSERT_OK(messages);
  ASSERT_OK(pipeline.SubmitAndWait(std::move(*messages)));
  pipeline.Stop();
  auto id = store_->FindIdentity("user_id", "ep-1");
  ASSERT_OK(id);
  ASSERT_TRUE(id->has_value());
  CustomerId customer = **id;

  std::string files;
  for (const char* name : {"panorama.db", "panorama.db-wal", "panorama.db-shm", "keystore.db", "keystore.db-wal"}) {
    if (fs::exists(dir_.path() / name)) files += ReadBytes(dir_.path() / name);
  }
  EXPECT_EQ(CountOccurrences(files, "zqpropmail"), 0u);
  EXPECT_EQ(CountOccurrences(files, kPhone), 0u);
  EXPECT_EQ(CountOccurrences(files, "Zqprop"), 0u);
  EXPECT_EQ(CountOccurrences(files, "zqnestmail"), 0u);  // nested paths of the catalogue
  EXPECT_EQ(CountOccurrences(files, "Zqnestid"), 0u);
  EXPECT_EQ(CountOccurrences(files, "zqarr"), 0u);  // values inside arrays
  EXPECT_EQ(CountOccurrences(files, "Zqarr"), 0u);
  EXPECT_GT(CountOccurrences(files, R"("contacts":[{"role":"cto"},"loose",{}])"), 0u);  // elements keep their places
  EXPECT_EQ(CountOccurrences(files, "203.0.113.77"), 0u);
  EXPECT_EQ(CountOccurrences(files, "8a2e:370:7348"), 0u);
  EXPECT_GT(CountOccurrences(files, "203.0.113.0/24"), 0u);  // the truncated form is kept
  EXPECT_GT(CountOccurrences(files, R"("plan":"pro")"), 0u);  // non-personal properties stay plain

  // Key rotation re-seals the column; the events still read back with their personal values.
  ASSERT_OK(store_->RotateCustomerKey(customer));
  auto timeline = store_->ListTimeline({.customer = customer, .limit = 10});
  ASSERT_OK(timeline);
  std::vector<int64_t> ids;
  for (const auto& entry : *timeline) {
    if (entry.kind == "event") ids.push_back(entry.id);
  }
  auto events = store_->GetEvents(ids);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 3u);
  std::string personal;
  for (const auto& e : *events) personal += e.personal_json + "\n";
  EXPECT_NE(personal.find(kEmail), std::string::npos) << personal;
  EXPECT_NE(personal.find(kPhone), std::string::npos) << personal;
  EXPECT_NE(personal.find("Zqpropidnumber"), std::string::npos) << personal;
  EXPECT_NE(personal.find("Zqpropname"), std::string::npos) << personal;
  EXPECT_NE(personal.find(R"("user":{"email":"zqnestmail@example.cn"})"), std::string::npos) << personal;
  EXPECT_NE(personal.find(R"("buyer":{"contact":{"id":"Zqnestid"}})"), std::string::npos) << personal;
  EXPECT_NE(personal.find(R"("contacts":[{"email":"zqarrmail1@example.cn"},null,{"email":"zqarrmail2@example.cn"}])"),
            std::string::npos)
      << personal;
  EXPECT_NE(personal.find(R"("groups":[[{"phone":"Zqarrphone"}]])"), std::string::npos) << personal;
  EXPECT_NE(personal.find(R"("contacts":[{"email":"zqarrctx@example.cn"}])"), std::string::npos) << personal;

  // The data-subject export (schema walker) carries the decrypted values.
  auto exported = store_->ExportSubjectRows(customer);
  ASSERT_OK(exported);
  bool exported_email = false;
  bool exported_nested = false;
  bool exported_in_array = false;
  for (const auto& table : *exported) {
    if (table.table != "events") continue;
    for (const auto& row : table.rows) {
      for (const auto& value : row) {
        const auto* text = std::get_if<std::string>(&value);
        if (text && text->find(kEmail) != std::string::npos) exported_email = true;
        if (text && text->find("zqnestmail@example.cn") != std::string::npos) exported_nested = true;
        if (text && text->find("zqarrmail2@example.cn") != std::string::npos) exported_in_array = true;
      }
    }
  }
  EXPECT_TRUE(exported_email);
  EXPECT_TRUE(exported_nested);
  EXPECT_TRUE(exported_in_array);

  // Sealed column as stored, then erasure: the ciphertext no longer decrypts (its key is destroyed).
  std::vector<std::pair<int64_t, std::string>> sealed;
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(dir_.File("panorama.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT id, personal FROM events WHERE personal IS NOT NULL", -1, &st, nullptr);
    while (sqlite3_step(st) == SQLITE_ROW) {
      sealed.emplace_back(sqlite3_column_int64(st, 0),
                          std::string(static_cast<const char*>(sqlite3_column_blob(st, 1)),
                                      static_cast<size_t>(sqlite3_column_bytes(st, 1))));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  ASSERT_EQ(sealed.size(), 2u);  // track and identify; the page event had nothing personal
  for (const auto& [row, blob] : sealed) {
    EXPECT_OK(crypto_->Open({"events", "personal", row, customer}, blob));
    EXPECT_FALSE(crypto_->Open({"events", "personal", row, CustomerId(customer.value() + 1)}, blob).has_value());
  }
  ASSERT_OK(store_->Write([&](WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(auto report, txn.EraseCustomer(customer));
    return report.events == 3 ? Ok() : Result<void>(Error::Internal("events not erased"));
  }));
  for (const auto& [row, blob] : sealed) {
    EXPECT_FALSE(crypto_->Open({"events", "personal", row, customer}, blob).has_value());
  }
  auto gone = store_->GetEvents(ids);
  ASSERT_OK(gone);
  EXPECT_TRUE(gone->empty());
}

TEST_F(EncryptionTest, BlindIndexSearchFindsByEmailPhoneFullNameSurnameExternalIdAndLast4) {
  CustomerId wang = Add("王小明", "xiaoming@qq.com", "+8613912345678", "", "EXT-1");
  CustomerId jane = Add("Jane Doe", "jane@example.com", "+14155552671");
  Add("John Roe", "john@example.com", "+14155550000");

  auto by_email = store_->ListCustomers({.text = " Jane@Example.COM"});
  auto by_phone = store_->ListCustomers({.phone_e164 = "+8613912345678"});
  auto by_name = store_->ListCustomers({.text = "jane  doe"});
  auto by_surname = store_->ListCustomers({.text = "DOE"});
  auto by_cjk_surname = store_->ListCustomers({.text = "王"});
  auto by_last4 = store_->ListCustomers({.text = "2671"});
  auto by_external = store_->ListCustomers({.text = "EXT-1"});

  ASSERT_OK(by_email);
  ASSERT_EQ(by_email->size(), 1u);
  EXPECT_EQ(by_email->front().id, jane);
  ASSERT_EQ(by_phone->size(), 1u);
  EXPECT_EQ(by_phone->front().id, wang);
  ASSERT_EQ(by_name->size(), 1u);
  EXPECT_EQ(by_name->front().id, jane);
  ASSERT_EQ(by_surname->size(), 1u);
  EXPECT_EQ(by_surname->front().id, jane);
  ASSERT_EQ(by_cjk_surname->size(), 1u);
  EXPECT_EQ(by_cjk_surname->front().id, wang);
  ASSERT_EQ(by_last4->size(), 1u);
  EXPECT_EQ(by_last4->front().id, jane);
  ASSERT_EQ(by_external->size(), 1u);
  EXPECT_EQ(by_external->front().id, wang);
}

TEST_F(EncryptionTest, SearchIsEqualityOnlyNoSubstrings) {
  Add("Jane Doe", "jane@example.com", "+14155552671");

  EXPECT_EQ(Found({.text = "jan"}), 0u);
  EXPECT_EQ(Found({.text = "jane@example"}), 0u);
  EXPECT_EQ(Found({.text = "555"}), 0u);
}

TEST_F(EncryptionTest, Last4CandidatesAreConfirmedAfterDecryptionAndPagesStayFull) {
  // 400 phones; the 16-bit last-4 index has collisions only by chance, but every result must really end in the
  // digits asked for, and paging by id must return every match exactly once.
  for (int i = 0; i < 400; ++i) {
    std::string n = std::to_string(1000 + (i * 37) % 500);
    Add("P" + std::to_string(i), "", "+861380000" + n);
  }
  size_t expected = 0;
  for (int i = 0; i < 400; ++i) expected += (1000 + (i * 37) % 500) == 1234;

  std::vector<CustomerRecord> all;
  int64_t after = 0;
  while (true) {
    auto page = store_->ListCustomers({.text = "1234", .after_id = after, .limit = 1});
    ASSERT_OK(page);
    if (page->empty()) break;
    after = page->back().id.value();
    all.insert(all.end(), page->begin(), page->end());
  }

  EXPECT_GT(expected, 0u);
  EXPECT_EQ(all.size(), expected);
  for (const auto& c : all) EXPECT_EQ(c.phone.substr(c.phone.size() - 4), "1234");
}

TEST_F(EncryptionTest, IdentityLookupConfirmsByDecryption) {
  CustomerId jane = Add("Jane Doe", "jane@example.com", "");

  auto found = store_->FindIdentity("email", "jane@example.com");
  auto other_type = store_->FindIdentity("user_id", "jane@example.com");
  auto missing = store_->FindIdentity("email", "jane@example.org");

  ASSERT_OK(found);
  EXPECT_EQ(found->value(), jane);
  EXPECT_FALSE(other_type->has_value());
  EXPECT_FALSE(missing->has_value());
}

TEST_F(EncryptionTest, CustomerKeyRotationReencryptsAndDestroysTheOldKey) {
  CustomerId jane = Add("Jane Doe", "jane@example.com", "+14155552671", "called about an order");

  ASSERT_OK(store_->RotateCustomerKey(jane));
  Open();

  auto keys = crypto_->keystore().GetKeys("c:" + std::to_string(jane.value()));
  ASSERT_OK(keys);
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ(keys->front().key_version, 2);
  EXPECT_EQ(store_->GetCustomer(jane)->email, "jane@example.com");
  EXPECT_EQ(store_->GetInteractions({1})->front().body, "called about an order");
  EXPECT_EQ(store_->FindIdentity("email", "jane@example.com")->value(), jane);
  EXPECT_ERROR_CODE(store_->RotateCustomerKey(CustomerId(999)), ErrorCode::kNotFound);
}

TEST_F(EncryptionTest, MasterRotationKeepsEverythingReadableWithOnlyTheNewKey) {
  CustomerId jane = Add("Jane Doe", "jane@example.com", "+14155552671", "note");
  ring_.Add(2, security::RandomKey());
  Open();

  auto report = crypto_->RotateMaster(2);
  ASSERT_OK(report);
  security::MasterKeyRing only_new;
  only_new.Add(2, std::move(ring_.keys().at(2)));
  ring_ = std::move(only_new);
  Open();

  EXPECT_EQ(store_->GetCustomer(jane)->name, "Jane Doe");
  EXPECT_EQ(Found({.text = "jane@example.com"}), 1u);
  EXPECT_EQ(store_->GetInteractions({1})->front().subject, "note");
}

TEST_F(EncryptionTest, EraseShredsKeysDeletesRowsAndNeverReusesTheId) {
  CustomerId keep = Add("Keep Me", "keep@example.com", "+14155550001");
  CustomerId jane = Add("Jane Doe", "jane@example.com", "+14155552671", "note");
  CustomerId old_jane = Add("J. Doe", "j@example.com", "");
  ASSERT_OK(store_->Write([&](WriteTxn& txn) { return txn.MergeCustomers({old_jane, jane, "shared identifier", At(2000)}); }));

  storage::ErasureReport report;
  ASSERT_OK(store_->Write([&](WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(report, txn.EraseCustomer(jane));
    return Ok();
  }));
  CustomerId next = Add("New Person", "", "");

  EXPECT_EQ(report.customers, 2);  // jane and the record merged into her
  EXPECT_EQ(report.identities, 2);
  EXPECT_EQ(report.interactions, 1);
  EXPECT_EQ(report.shredded.size(), 2u);
  EXPECT_ERROR_CODE(store_->GetCustomer(jane), ErrorCode::kNotFound);
  EXPECT_FALSE(store_->FindIdentity("email", "jane@example.com")->has_value());
  EXPECT_FALSE(store_->FindIdentity("email", "j@example.com")->has_value());
  EXPECT_EQ(Found({.text = "Jane Doe"}), 0u);
  EXPECT_EQ(store_->GetCustomer(keep)->name, "Keep Me");
  EXPECT_GT(next.value(), old_jane.value());
  EXPECT_EQ(store_->ListErasures()->size(), 2u);
  auto again = store_->Write([&](WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(auto second, txn.EraseCustomer(jane));
    return second.already_erased ? Ok() : Result<void>(Error::Internal("erased twice"));
  });
  EXPECT_OK(again);
  EXPECT_ERROR_CODE(store_->Write([&](WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(auto r, txn.EraseCustomer(CustomerId(12345)));
    (void)r;
    return Ok();
  }), ErrorCode::kNotFound);
}

// Reads a customer row straight from a database file and tries to decrypt every personal column.
int DecryptableFields(const std::string& db_path, storage::FieldCrypto& crypto, CustomerId id) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "SELECT name, email, phone, birthday, traits, external_id, address FROM customers WHERE id = ?",
                     -1, &s, nullptr);
  sqlite3_bind_int64(s, 1, id.value());
  int readable = 0;
  if (sqlite3_step(s) == SQLITE_ROW) {
    const char* columns[] = {"name", "email", "phone", "birthday", "traits", "external_id", "address"};
    for (int i = 0; i < 7; ++i) {
      std::string blob(static_cast<const char*>(sqlite3_column_blob(s, i)) ? static_cast<const char*>(sqlite3_column_blob(s, i)) : "",
                       static_cast<size_t>(sqlite3_column_bytes(s, i)));
      if (blob.empty()) continue;
      readable += crypto.Open({"customers", columns[i], id.value(), id}, blob).has_value();
    }
  } else {
    readable = -1;  // row absent
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return readable;
}

// R10 (database side): an old copy of the database restored with the current keystore.
TEST_F(EncryptionTest, R10ErasedCustomerStaysUnreadableAfterRestoringAnOlderDatabase) {
  CustomerId keep = Add("Keep Me", "keep@example.com", "+14155550001", "kept note");
  CustomerId jane = Add("Jane Doe", "jane@example.com", "+14155552671", "erased note");
  Close();
  fs::copy_file(dir_.path() / "panorama.db", dir_.path() / "backup.db");  // the "old backup" (WAL checkpointed)
  Open();
  ASSERT_OK(store_->Write([&](WriteTxn& txn) -> Result<void> { return txn.EraseCustomer(jane).has_value() ? Ok() : Result<void>(Error::Internal("erase")); }));
  Close();

  fs::remove(dir_.path() / "panorama.db");
  fs::remove(dir_.path() / "panorama.db-wal");
  fs::remove(dir_.path() / "panorama.db-shm");
  fs::copy_file(dir_.path() / "backup.db", dir_.path() / "panorama.db");
  auto crypto = testing::OpenTestCrypto(dir_.File("keystore.db"), testing::CopyRing(ring_));
  ASSERT_OK(crypto);
  int jane_readable = DecryptableFields(dir_.File("panorama.db"), **crypto, jane);
  int keep_readable = DecryptableFields(dir_.File("panorama.db"), **crypto, keep);
  crypto->reset();
  Open();  // start-up reconciliation removes the erased customer's rows from the restored copy

  EXPECT_EQ(jane_readable, 0) << "the old backup still holds the row, but no field of it decrypts";
  EXPECT_EQ(keep_readable, 5);  // name, email, phone, birthday, address (traits and external id are empty)
  EXPECT_ERROR_CODE(store_->GetCustomer(jane), ErrorCode::kNotFound);
  EXPECT_FALSE(store_->FindIdentity("email", "jane@example.com")->has_value());
  EXPECT_EQ(store_->ListErasures()->size(), 1u);
  EXPECT_EQ(store_->GetCustomer(keep)->email, "keep@example.com");
  EXPECT_EQ(store_->ListInteractions({})->size(), 1u);
}

// R10 (keystore side): an old copy of the keystore (which still holds the erased customer's key) restored.
TEST_F(EncryptionTest, R10RestoringAnOlderKeystoreReappliesTheErasuresRecordedInTheDatabase) {
  CustomerId keep = Add("Keep Me", "keep@example.com", "+14155550001");
  CustomerId jane = Add("Jane Doe", "jane@example.com", "+14155552671");
  Close();
  fs::copy_file(dir_.path() / "keystore.db", dir_.path() / "keystore-backup.db");
  Open();
  ASSERT_OK(store_->Write([&](WriteTxn& txn) -> Result<void> { return txn.EraseCustomer(jane).has_value() ? Ok() : Result<void>(Error::Internal("erase")); }));
  Close();

  fs::remove(dir_.path() / "keystore.db");
  fs::remove(dir_.path() / "keystore.db-wal");
  fs::remove(dir_.path() / "keystore.db-shm");
  fs::copy_file(dir_.path() / "keystore-backup.db", dir_.path() / "keystore.db");
  Open();

  auto keys = crypto_->keystore().GetKeys("c:" + std::to_string(jane.value()));
  ASSERT_OK(keys);
  EXPECT_TRUE(keys->empty()) << "the restored key of an erased customer must be destroyed again";
  EXPECT_EQ(crypto_->ShreddedSubjects()->size(), 1u);
  EXPECT_EQ(store_->GetCustomer(keep)->name, "Keep Me");
}

TEST_F(EncryptionTest, TamperedOrSwappedCiphertextIsAnIntegrityErrorNeverPartialData) {
  CustomerId a = Add("Alice A", "alice@example.com", "");
  CustomerId b = Add("Bob B", "bob@example.com", "");
  Close();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.File("panorama.db").c_str(), &db), SQLITE_OK);
  // Copy Alice's encrypted email into Bob's row.
  ASSERT_EQ(sqlite3_exec(db, "UPDATE customers SET email = (SELECT email FROM customers WHERE id = 1) WHERE id = 2",
                         nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  Open();

  auto bob = store_->GetCustomer(b);
  auto list = store_->ListCustomers({});

  EXPECT_ERROR_CODE(bob, ErrorCode::kInternal);
  EXPECT_EQ(bob.error().message().rfind("integrity error", 0), 0u) << bob.error().message();
  EXPECT_EQ(bob.error().message().find("alice"), std::string::npos);
  EXPECT_ERROR_CODE(list, ErrorCode::kInternal);
  EXPECT_EQ(store_->GetCustomer(a)->email, "alice@example.com");
}

TEST_F(EncryptionTest, StoreRefusesToOpenWithoutCrypto) {
  auto store = storage::OpenSqliteStore({.path = dir_.File("other.db")});

  EXPECT_FIELD_ERROR(store, "crypto");
}

TEST_F(EncryptionTest, DatabaseWithPlaintextCustomersFromBeforeEncryptionIsRefused) {
  testing::TempDir old;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(old.File("panorama.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL,"
                         " applied_at INTEGER NOT NULL);"
                         "INSERT INTO schema_migrations VALUES (1, 'initial', 0);"
                         "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);"
                         "CREATE TABLE identities (type TEXT, value TEXT);"
                         "CREATE TABLE interactions (id INTEGER PRIMARY KEY);"
                         "INSERT INTO customers (name) VALUES ('Plain Person');",
                         nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  std::string before = ReadBytes(old.path() / "panorama.db");

  auto store = storage::OpenSqliteStore({.path = old.File("panorama.db"), .crypto = crypto_.get()});

  EXPECT_ERROR_CODE(store, ErrorCode::kFailedPrecondition);
  EXPECT_NE(store.error().message().find("unencrypted"), std::string::npos) << store.error().message();
}

// Checklist #38 and "wrong master key refuses start and leaves files untouched", through the composition root.
class RuntimeKeyTest : public ::testing::Test {
 protected:
  static std::string KeyB64(unsigned char fill) {
    return testing::Base64(std::string(32, static_cast<char>(fill)));
  }
  app::RuntimeOptions Options(unsigned char fill, const std::string& data = "data") {
    app::RuntimeOptions o;
    o.data_dir = dir_.File(data);
    o.master_key.env_value = KeyB64(fill);
    return o;
  }
  std::map<std::string, std::string> Snapshot(const std::string& data = "data") {
    std::map<std::string, std::string> files;
    for (const auto& entry : fs::directory_iterator(dir_.path() / data)) {
      files[entry.path().filename().string()] = ReadBytes(entry.path());
    }
    return files;
  }
  testing::TempDir dir_;
};

TEST_F(RuntimeKeyTest, WrongMasterKeyRefusesStartAndLeavesEveryFileUntouched) {
  {
    auto runtime = app::Runtime::Open(Options(1));
    ASSERT_OK(runtime);
    ASSERT_OK((*runtime)->store().Write([&](WriteTxn& txn) -> Result<void> {
      CustomerRecord c;
      c.name = "Jane Doe";
      return txn.InsertCustomer(c).has_value() ? Ok() : Result<void>(Error::Internal("insert"));
    }));
  }
  auto before = Snapshot();

  auto wrong = app::Runtime::Open(Options(2));

  EXPECT_ERROR_CODE(wrong, ErrorCode::kFailedPrecondition);
  EXPECT_NE(wrong.error().message().find("wrong master key"), std::string::npos) << wrong.error().message();
  EXPECT_EQ(Snapshot(), before);
  auto right = app::Runtime::Open(Options(1));
  ASSERT_OK(right);
  EXPECT_EQ((*right)->store().GetCustomer(CustomerId(1))->name, "Jane Doe");
}

TEST_F(RuntimeKeyTest, RefusesToStartWithoutAMasterKeyUnlessInsecureDev) {
  app::RuntimeOptions none;
  none.data_dir = dir_.File("data");
  unsetenv("PANORAMA_MASTER_KEY");
  app::RuntimeOptions dev = none;
  dev.insecure_dev = true;

  auto refused = app::Runtime::Open(none);
  bool created_before_dev = fs::exists(dir_.path() / "data" / "panorama.db");
  auto started = app::Runtime::Open(dev);

  EXPECT_ERROR_CODE(refused, ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(created_before_dev);
  ASSERT_OK(started);
  EXPECT_TRUE(fs::exists(dir_.path() / "data" / "insecure-dev-master.key"));
}

TEST_F(RuntimeKeyTest, MissingKeystoreBesideAnExistingDatabaseIsRefused) {
  { ASSERT_OK(app::Runtime::Open(Options(1))); }
  fs::remove(dir_.path() / "data" / "keystore.db");

  auto reopened = app::Runtime::Open(Options(1));

  EXPECT_ERROR_CODE(reopened, ErrorCode::kFailedPrecondition);
  EXPECT_NE(reopened.error().message().find("keystore.db is missing"), std::string::npos);
}

// A keystore.db moved in from another data directory (same master key, so the key check passes) would make
// start-up reconciliation delete our customers whose ids are tombstoned there: the pairing refuses it first.
TEST_F(RuntimeKeyTest, KeystoreFromAnotherDataDirIsRefusedAndNeitherDirChanges) {
  for (const std::string data : {"a", "b"}) {
    auto runtime = app::Runtime::Open(Options(1, data));
    ASSERT_OK(runtime);
    ASSERT_OK((*runtime)->store().Write([&](WriteTxn& txn) -> Result<void> {
      CustomerRecord c;
      c.name = "Customer of " + data;
      ASSIGN_OR_RETURN(CustomerId id, txn.InsertCustomer(c));
      return data == "b" ? txn.EraseCustomer(id).has_value() ? Ok() : Result<void>(Error::Internal("erase")) : Ok();
    }));
  }
  fs::rename(dir_.path() / "a" / "keystore.db", dir_.path() / "keystore-a.db");
  fs::rename(dir_.path() / "b" / "keystore.db", dir_.path() / "a" / "keystore.db");
  fs::rename(dir_.path() / "keystore-a.db", dir_.path() / "b" / "keystore.db");
  auto before_a = Snapshot("a");
  auto before_b = Snapshot("b");

  auto a = app::Runtime::Open(Options(1, "a"));
  auto b = app::Runtime::Open(Options(1, "b"));

  for (auto* refused : {&a, &b}) {
    EXPECT_ERROR_CODE(*refused, ErrorCode::kFailedPrecondition);
    EXPECT_NE(refused->error().message().find("keystore.db belongs to another database"), std::string::npos)
        << refused->error().message();
    EXPECT_NE(refused->error().message().find("nothing was changed"), std::string::npos);
  }
  EXPECT_EQ(Snapshot("a"), before_a);
  EXPECT_EQ(Snapshot("b"), before_b);
  // Swapped back, both start and a's customer (id 1, erased in b's keystore) is still there.
  fs::rename(dir_.path() / "a" / "keystore.db", dir_.path() / "keystore-b.db");
  fs::rename(dir_.path() / "b" / "keystore.db", dir_.path() / "a" / "keystore.db");
  fs::rename(dir_.path() / "keystore-b.db", dir_.path() / "b" / "keystore.db");
  auto a_again = app::Runtime::Open(Options(1, "a"));
  ASSERT_OK(a_again);
  EXPECT_EQ((*a_again)->store().GetCustomer(CustomerId(1))->name, "Customer of a");
}

// Keystores from before ids get one at their first open, and the database records it then.
TEST_F(RuntimeKeyTest, AKeystoreWithoutAnIdGetsOneAndTheDatabaseIsPairedWithIt) {
  { ASSERT_OK(app::Runtime::Open(Options(1))); }
  std::string keystore = dir_.File("data/keystore.db");
  std::string db = dir_.File("data/panorama.db");
  testing::RawSql(keystore, "DELETE FROM keystore_meta WHERE name = 'keystore_id'");
  testing::RawSql(db, "DELETE FROM keystore_pairing");

  { ASSERT_OK(app::Runtime::Open(Options(1))); }

  std::string id = testing::RawText(keystore, "SELECT value FROM keystore_meta WHERE name = 'keystore_id'");
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  EXPECT_EQ(testing::RawText(db, "SELECT keystore_id FROM keystore_pairing"), id);
}

}  // namespace
}  // namespace panorama
