// Operational security through the real server on 127.0.0.1 (docs/security.md): per-customer data key
// rotation online (POST /api/v1/customers/{id}/rotate-key) and scheduled backups inside the server.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "backup/backup.h"
#include "backup/backup_scheduler.h"
#include "storage/records.h"
#include "storage/store.h"
#include "tests/support/result_matchers.h"
#include "tests/support/served_runtime.h"

namespace panorama {
namespace {

using test::HttpResponse;

class KeyRotationApiTest : public test::ServedRuntimeTest {
 protected:
  // The customer's data key versions in the keystore, read as a file (the wrapped keys, never their values).
  std::string KeyVersions(int64_t id) {
    sqlite3* db = nullptr;
    std::string path = (dir_.path() / "keystore.db").string();
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    std::string sql = "SELECT group_concat(key_version, ',') FROM (SELECT key_version FROM wrapped_keys WHERE "
                      "subject = 'c:" + std::to_string(id) + "' ORDER BY key_version)";
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW &&
        sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return out;
  }
};

TEST_F(KeyRotationApiTest, AdminRotatesACustomersKeyTheDataStaysReadableAndTheRotationIsLedgered) {
  int64_t id = CreateCustomer(R"({"name":"王芳","email":"fang@example.com","phone":"+8613800138000"})");
  HttpResponse before = Api("GET", "/api/v1/customers/" + std::to_string(id));
  ASSERT_EQ(before.status, 200) << before.body;
  std::string versions_before = KeyVersions(id);
  ASSERT_FALSE(versions_before.empty());

  HttpResponse rotated = Api("POST", "/api/v1/customers/" + std::to_string(id) + "/rotate-key");

  ASSERT_EQ(rotated.status, 200) << rotated.body;
  EXPECT_EQ(Json(rotated)["rotated"].get_bool().value(), true);
  std::string versions_after = KeyVersions(id);
  EXPECT_NE(versions_after, versions_before);
  EXPECT_EQ(versions_after.find(','), std::string::npos) << "old key versions are destroyed: " << versions_after;
  HttpResponse after = Api("GET", "/api/v1/customers/" + std::to_string(id));
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(after.body, before.body);
  // A write after the rotation is sealed under the new key and reads back.
  HttpResponse patched = Api("PATCH", "/api/v1/customers/" + std::to_string(id), R"({"email":"fang2@example.com"})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_NE(Api("GET", "/api/v1/customers/" + std::to_string(id)).body.find("fang2@example.com"), std::string::npos);

  auto entries = runtime_->store().ListLedger({.action = "customer.key_rotate", .object_id = std::to_string(id)});
  ASSERT_TRUE(entries.has_value()) << entries.error().message();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_NE(entries->front().body.find("\"actor\":\"user:"), std::string::npos) << entries->front().body;
}

TEST_F(KeyRotationApiTest, BadIdsAndBodiesAreRefusedNamingTheFieldAndChangeNothing) {
  int64_t id = CreateCustomer(R"({"name":"Jane Doe","email":"jane@example.com"})");
  std::string versions = KeyVersions(id);

  HttpResponse bad_id = Api("POST", "/api/v1/customers/abc/rotate-key");
  EXPECT_EQ(bad_id.status, 400) << bad_id.body;
  EXPECT_NE(bad_id.body.find("\"id\""), std::string::npos) << bad_id.body;
  HttpResponse body = Api("POST", "/api/v1/customers/" + std::to_string(id) + "/rotate-key", R"({"force":true})");
  EXPECT_EQ(body.status, 400) << body.body;
  EXPECT_NE(body.body.find("\"body\""), std::string::npos) << body.body;
  HttpResponse missing = Api("POST", "/api/v1/customers/999999/rotate-key");
  EXPECT_EQ(missing.status, 404) << missing.body;
  HttpResponse anonymous = client_->Request("POST", "/api/v1/customers/" + std::to_string(id) + "/rotate-key");
  EXPECT_EQ(anonymous.status, 401);

  EXPECT_EQ(KeyVersions(id), versions);
  auto entries = runtime_->store().ListLedger({.action = "customer.key_rotate"});
  ASSERT_TRUE(entries.has_value());
  EXPECT_TRUE(entries->empty());
}

namespace fs = std::filesystem;

// `panorama serve --backup-dir --backup-every --backup-keep --backup-public-key`, with an interval of a fraction
// of a second (the option struct allows it; the command line's minimum is one minute).
class ScheduledBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("PANORAMA_ADMIN_PASSWORD", "backup-admin-password-123", 1);
    setenv("PANORAMA_WRITE_KEY", "backup-write-key-0123456789", 1);
    ASSERT_OK(backup::GenerateKeyPair(keys_.path().string()));
    data_ = dir_.path() / "data";
    backups_ = dir_.path() / "backups";
    runtime_ = std::move(app::Runtime::Open({.data_dir = data_.string()})).value();
    ASSERT_OK(runtime_->Bootstrap());
    ASSERT_OK(runtime_->store().Write([](storage::WriteTxn& txn) -> Result<void> {
      storage::CustomerRecord c;
      c.name = "李雷";
      c.email = "lilei@example.com";
      c.created_at = c.updated_at = FromUnixMillis(1'700'000'000'000);
      return txn.InsertCustomer(c).has_value() ? Ok() : Result<void>(Error::Internal("insert failed"));
    }));
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  app::ServeOptions Options(std::chrono::milliseconds every, int keep) {
    return {.listen = "127.0.0.1:0", .access_log = false, .retention_job = false,
            .backup_dir = backups_.string(), .backup_public_key = keys_.File("backup.pub"),
            .backup_every = every, .backup_keep = keep};
  }

  simdjson::dom::element Ready() {
    test::HttpResponse r = client_->Request("GET", "/readyz");
    EXPECT_EQ(r.status, 200) << r.body;
    ready_body_ = r.body;
    return parser_.parse(ready_body_).value();
  }

  std::vector<std::string> BackupFiles() {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(backups_)) {
      if (e.path().extension() == ".pnbk") out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::vector<storage::LedgerRow> BackupEntries() {
    auto rows = runtime_->store().ListLedger({.action = "backup.create", .limit = 1000});
    EXPECT_TRUE(rows.has_value());
    return rows ? *rows : std::vector<storage::LedgerRow>{};
  }

  testing::TempDir dir_, keys_;
  fs::path data_, backups_;
  std::unique_ptr<app::Runtime> runtime_;
  std::unique_ptr<app::Runtime::RunningServer> server_;
  std::unique_ptr<test::HttpClient> client_;
  simdjson::dom::parser parser_;
  std::string ready_body_;
};

TEST_F(ScheduledBackupTest, RunsOnItsTimerRotatesToTheNewestNLedgersEachRunAndABackupRestores) {
  auto server = runtime_->Start(Options(std::chrono::milliseconds(150), 2));
  ASSERT_OK(server);
  server_ = std::move(*server);
  client_ = std::make_unique<test::HttpClient>("127.0.0.1", server_->port());

  // Every file name the server reported as its newest backup, in order.
  std::vector<std::string> seen;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (seen.size() < 4 && std::chrono::steady_clock::now() < deadline) {
    auto backup = Ready()["backup"];
    std::string_view file = backup["last_file"].get_string().value();
    if (!file.empty() && (seen.empty() || seen.back() != file)) seen.emplace_back(file);
    // Requests are served while backups run on their own thread.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  server_->Stop();
  server_.reset();

  ASSERT_GE(seen.size(), 4u) << ready_body_;
  auto status = parser_.parse(ready_body_).value()["backup"];
  EXPECT_EQ(status["failures"].get_int64().value(), 0);
  EXPECT_TRUE(status["last_success"].is_string());
  std::vector<std::string> files = BackupFiles();
  ASSERT_EQ(files.size(), 2u) << "rotation keeps the newest 2";
  EXPECT_EQ(std::count(files.begin(), files.end(), seen.front()), 0) << "the oldest was deleted";
  EXPECT_EQ(files.back(), *std::max_element(seen.begin(), seen.end()));
  auto entries = BackupEntries();
  EXPECT_GE(entries.size(), seen.size());
  for (const auto& row : entries) {
    EXPECT_NE(row.body.find("\"outcome\":\"ok\""), std::string::npos) << row.body;
    EXPECT_NE(row.body.find("\"actor\":\"system\""), std::string::npos) << row.body;
  }

  // The newest backup restores through the ordinary restore path, ledger and signatures checked.
  fs::path target = dir_.path() / "restored";
  fs::create_directories(target);
  fs::copy_file(data_ / backup::kLedgerSigningKeyFile, target / backup::kLedgerSigningKeyFile);
  auto restored = backup::RestoreBackup({.from_file = (backups_ / files.back()).string(),
                                         .secret_key_file = keys_.File("backup.sec"),
                                         .data_dir = target.string()});
  ASSERT_OK(restored);
  EXPECT_TRUE(restored->ledger_signatures_checked);
  EXPECT_GT(restored->ledger_entries, 0);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((target / backup::kDatabaseFile).c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM customers", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 1);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_F(ScheduledBackupTest, AFailedRunIsReportedAndLedgeredAndTheServerKeepsServing) {
  auto server = runtime_->Start(Options(std::chrono::milliseconds(100), 3));
  ASSERT_OK(server);
  server_ = std::move(*server);
  client_ = std::make_unique<test::HttpClient>("127.0.0.1", server_->port());
  // The backup directory becomes a file: every run from now on fails.
  fs::remove_all(backups_);
  { std::ofstream(backups_) << "not a directory"; }

  int64_t failures = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (failures < 2 && std::chrono::steady_clock::now() < deadline) {
    failures = Ready()["backup"]["failures"].get_int64().value();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GE(failures, 2) << ready_body_;
  EXPECT_TRUE(Ready()["backup"]["last_failure"].is_string()) << ready_body_;
  EXPECT_EQ(ready_body_.find("not a directory"), std::string::npos) << "reasons stay in the log";
  server_->Stop();
  server_.reset();
  auto entries = BackupEntries();
  ASSERT_FALSE(entries.empty());
  EXPECT_NE(entries.front().body.find("\"outcome\":\"failed\""), std::string::npos) << entries.front().body;
}

TEST_F(ScheduledBackupTest, EveryBadOptionIsRefusedNamingItBeforeAnythingStarts) {
  auto with = [&](auto change) {
    app::ServeOptions options = Options(std::chrono::hours(24), 7);
    change(options);
    return runtime_->Start(options);
  };
  EXPECT_FIELD_ERROR(with([](app::ServeOptions& o) { o.backup_public_key.clear(); }), "backup-public-key");
  EXPECT_FIELD_ERROR(with([&](app::ServeOptions& o) { o.backup_public_key = keys_.File("backup.sec"); }),
                     "backup-public-key");
  EXPECT_FIELD_ERROR(with([&](app::ServeOptions& o) { o.backup_public_key = keys_.File("missing.pub"); }),
                     "backup-public-key");
  EXPECT_FIELD_ERROR(with([](app::ServeOptions& o) { o.backup_keep = 0; }), "backup-keep");
  EXPECT_FIELD_ERROR(with([](app::ServeOptions& o) { o.backup_every = std::chrono::milliseconds(0); }),
                     "backup-every");
  EXPECT_FIELD_ERROR(with([](app::ServeOptions& o) { o.backup_dir.clear(); }), "backup-dir");
  EXPECT_FIELD_ERROR(with([&](app::ServeOptions& o) { o.backup_dir = data_.string(); }), "backup-dir");
  { std::ofstream(dir_.path() / "a-file") << "x"; }
  EXPECT_FIELD_ERROR(with([&](app::ServeOptions& o) { o.backup_dir = (dir_.path() / "a-file").string(); }),
                     "backup-dir");
  EXPECT_FALSE(fs::exists(backups_)) << "nothing was created";

  for (const char* bad : {"", "10", "0h", "59s", "1w", "31d", "1.5h", "-1h", "h", "24 h", "99999999999999999999d"}) {
    EXPECT_FIELD_ERROR(backup::ParseBackupInterval(bad, "backup-every"), "backup-every");
  }
  EXPECT_EQ(backup::ParseBackupInterval("24h", "backup-every").value(), std::chrono::hours(24));
  EXPECT_EQ(backup::ParseBackupInterval("60s", "backup-every").value(), std::chrono::minutes(1));
  EXPECT_EQ(backup::ParseBackupInterval("7d", "backup-every").value(), std::chrono::hours(24 * 7));
}

}  // namespace
}  // namespace panorama
