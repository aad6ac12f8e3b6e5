// Operational security through the real server on 127.0.0.1 (docs/security.md): per-customer data key
// rotation online (POST /api/v1/customers/{id}/rotate-key) and scheduled backups inside the server.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "audit/ledger_service.h"
#include "backup/backup.h"
#include "backup/backup_scheduler.h"
#include "http/webhook_client.h"
#include "security/auth_service.h"
#include "security/field_encryptor.h"
#include "security/keys.h"
#include "security/password_pepper.h"
#include "security/secret_sealer.h"
#include "security/totp.h"
#include "storage/records.h"
#include "storage/store.h"
#include "tests/support/codecs.h"
#include "tests/support/raw_sqlite.h"
#include "tests/support/result_matchers.h"
#include "tests/support/served_runtime.h"

namespace panorama {
namespace {

using test::HttpResponse;

class KeyRotationApiTest : public test::ServedRuntimeTest {
 protected:
  // The customer's data key versions in the keystore, read as a file (the wrapped keys, never their values).
  std::string KeyVersions(int64_t id) {
    return testing::RawText((dir_.path() / "keystore.db").string(),
                            "SELECT group_concat(key_version, ',') FROM (SELECT key_version FROM wrapped_keys WHERE "
                            "subject = 'c:" + std::to_string(id) + "' ORDER BY key_version)");
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
  EXPECT_EQ(testing::RawText((target / backup::kDatabaseFile).string(), "SELECT count(*) FROM customers"), "1");
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

// Keystore backups on their own schedule beside the data backups: own directory, own key pair, reported under
// "keystore_backup" in /readyz, ledgered like the data backups, and each file names the data dir's keystore.
TEST_F(ScheduledBackupTest, KeystoreBackupsRunOnTheirOwnScheduleIntoTheirOwnDirectory) {
  ASSERT_OK(backup::GenerateKeyPair((dir_.path() / "keystore-keys").string()));
  fs::path keystore_backups = dir_.path() / "keystore-backups";
  app::ServeOptions options = Options(std::chrono::hours(24), 7);  // data backups configured, not due in the test
  options.keystore_backup_dir = keystore_backups.string();
  options.keystore_backup_public_key = (dir_.path() / "keystore-keys" / "backup.pub").string();
  options.keystore_backup_every = std::chrono::milliseconds(150);
  options.keystore_backup_keep = 2;
  auto server = runtime_->Start(options);
  ASSERT_OK(server);
  server_ = std::move(*server);
  client_ = std::make_unique<test::HttpClient>("127.0.0.1", server_->port());

  int64_t successes = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (successes < 3 && std::chrono::steady_clock::now() < deadline) {
    successes = Ready()["keystore_backup"]["successes"].get_int64().value();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  server_->Stop();
  server_.reset();

  ASSERT_GE(successes, 3) << ready_body_;
  auto status = parser_.parse(ready_body_).value();
  EXPECT_EQ(status["keystore_backup"]["failures"].get_int64().value(), 0);
  EXPECT_EQ(status["backup"]["successes"].get_int64().value(), 0) << "the data schedule is separate";
  std::string last_file(status["keystore_backup"]["last_file"].get_string().value());
  EXPECT_TRUE(last_file.starts_with("keystore-")) << last_file;
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(keystore_backups)) files.push_back(e.path().filename().string());
  EXPECT_EQ(files.size(), 2u) << "rotation keeps the newest 2";
  EXPECT_FALSE(fs::exists(backups_)) << "no data backup ran";
  auto header = backup::ReadHeader((keystore_backups / last_file).string());
  ASSERT_OK(header);
  EXPECT_EQ(header->kind, backup::BackupKind::kKeystore);
  EXPECT_EQ(header->keystore_id, testing::RawText((data_ / backup::kKeystoreFile).string(),
                                                  "SELECT value FROM keystore_meta WHERE name = 'keystore_id'"));
  int ledgered = 0;
  for (const auto& row : BackupEntries()) {
    EXPECT_NE(row.body.find("\"outcome\":\"ok\""), std::string::npos) << row.body;
    if (row.body.find("\"keystore-") != std::string::npos) ++ledgered;
  }
  EXPECT_GE(ledgered, 3);
  // The newest restores with the keystore key pair (and not with the data backups' secret key).
  EXPECT_FALSE(backup::RestoreBackup({.from_file = (keystore_backups / last_file).string(),
                                      .secret_key_file = keys_.File("backup.sec"),
                                      .data_dir = (dir_.path() / "restored").string()}).has_value());
  EXPECT_OK(backup::RestoreBackup({.from_file = (keystore_backups / last_file).string(),
                                   .secret_key_file = (dir_.path() / "keystore-keys" / "backup.sec").string(),
                                   .data_dir = (dir_.path() / "restored").string()}));
}

TEST_F(ScheduledBackupTest, EveryBadKeystoreBackupOptionIsRefusedNamingIt) {
  ASSERT_OK(backup::GenerateKeyPair((dir_.path() / "keystore-keys").string()));
  fs::path keystore_backups = dir_.path() / "keystore-backups";
  auto with = [&](auto change) {
    app::ServeOptions options = Options(std::chrono::hours(24), 7);
    options.keystore_backup_dir = keystore_backups.string();
    options.keystore_backup_public_key = (dir_.path() / "keystore-keys" / "backup.pub").string();
    options.keystore_backup_every = std::chrono::hours(24);
    options.keystore_backup_keep = 7;
    change(options);
    return runtime_->Start(options);
  };
  EXPECT_FIELD_ERROR(with([](app::ServeOptions& o) { o.keystore_backup_public_key.clear(); }),
                     "keystore-backup-public-key");
  EXPECT_FIELD_ERROR(with([&](app::ServeOptions& o) { o.keystore_backup_public_key = o.backup_public_key; }),
                     "keystore-backup-public-key");
  EXPECT_FIELD_ERROR(with([&](app::ServeOptions& o) {
                       o.keystore_backup_public_key = (dir_.path() / "keystore-keys" / "backup.sec").string();
                     }),
                     "keystore-backup-public-key");
  EXPECT_FIELD_ERROR(with([](app::ServeOptions& o) { o.keystore_backup_dir = o.backup_dir; }), "keystore-backup-dir");
  EXPECT_FIELD_ERROR(with([&](app::ServeOptions& o) { o.keystore_backup_dir = data_.string(); }),
                     "keystore-backup-dir");
  EXPECT_FIELD_ERROR(with([](app::ServeOptions& o) { o.keystore_backup_dir.clear(); }), "keystore-backup-dir");
  EXPECT_FIELD_ERROR(with([](app::ServeOptions& o) { o.keystore_backup_keep = 0; }), "keystore-backup-keep");
  EXPECT_FIELD_ERROR(with([](app::ServeOptions& o) { o.keystore_backup_keep = 36; }), "keystore-backup-keep");
  EXPECT_FIELD_ERROR(with([](app::ServeOptions& o) {
                       o.keystore_backup_keep = 5;
                       o.keystore_backup_max_age = std::chrono::hours(24 * 4);
                     }),
                     "keystore-backup-keep");
  EXPECT_FIELD_ERROR(with([](app::ServeOptions& o) { o.keystore_backup_max_age = std::chrono::hours(24 * 36); }),
                     "keystore-backup-max-age");
  EXPECT_FIELD_ERROR(with([](app::ServeOptions& o) { o.keystore_backup_every = std::chrono::milliseconds(0); }),
                     "keystore-backup-every");
  EXPECT_FALSE(fs::exists(keystore_backups)) << "nothing was created";
  EXPECT_FALSE(fs::exists(backups_));
}

// A little HTTP receiver on 127.0.0.1: answers the first `fail_first` requests with 503, then 200, and keeps
// every request body it answered with 200.
class WebhookReceiver {
 public:
  explicit WebhookReceiver(int fail_first) : fail_first_(fail_first) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~WebhookReceiver() {
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  int requests() const { return requests_; }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }

 private:
  void Serve() {
    while (!stopping_) {
      int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      std::string data;
      char buffer[4096];
      size_t body_at = std::string::npos, length = 0;
      while (true) {
        ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        data.append(buffer, static_cast<size_t>(n));
        if (body_at == std::string::npos && (body_at = data.find("\r\n\r\n")) != std::string::npos) {
          body_at += 4;
          auto header = data.find("Content-Length: ");
          if (header != std::string::npos) length = std::stoul(data.substr(header + 16));
        }
        if (body_at != std::string::npos && data.size() >= body_at + length) break;
      }
      int n = ++requests_;
      bool fail = n <= fail_first_;
      if (!fail && body_at != std::string::npos && data.starts_with("POST /hook ")) {
        std::lock_guard lock(mu_);
        bodies_.push_back(data.substr(body_at, length));
      }
      std::string answer = fail ? "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                                : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      (void)::send(client, answer.data(), answer.size(), MSG_NOSIGNAL);
      ::close(client);
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  int fail_first_;
  std::atomic<int> requests_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<std::string> bodies_;
  std::thread thread_;
};

class CheckpointShippingTest : public ::testing::Test {
 protected:
  std::string WitnessLines() {
    std::ifstream in(dir_.File("witness.jsonl"));
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  testing::TempDir dir_;
};

TEST_F(CheckpointShippingTest, EachCheckpointIsPostedAsTheWitnessLineAndRetriedAfterTheReceiverFailed) {
  WebhookReceiver receiver(/*fail_first=*/1);
  auto runtime = app::Runtime::Open({.data_dir = (dir_.path() / "data").string(),
                                     .audit_witness = dir_.File("witness.jsonl"),
                                     .audit_webhook = "http://127.0.0.1:" + std::to_string(receiver.port()) + "/hook",
                                     .audit_webhook_first_backoff = std::chrono::milliseconds(100)});
  ASSERT_OK(runtime);
  ASSERT_OK((*runtime)->Bootstrap());  // writes ledger entries (admin user, write key)

  // The receiver answers 503 first: the checkpoint is in the database and the witness file all the same.
  ASSERT_OK((*runtime)->ledger_service().CheckpointNow());
  EXPECT_EQ(receiver.requests(), 1);
  EXPECT_TRUE(receiver.bodies().empty());
  auto checkpoints = (*runtime)->store().ListCheckpoints();
  ASSERT_OK(checkpoints);
  EXPECT_EQ(checkpoints->size(), 1u);

  // The ledger thread retries after the backoff.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (receiver.bodies().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto bodies = receiver.bodies();
  ASSERT_EQ(bodies.size(), 1u);
  std::string witness = WitnessLines();
  EXPECT_EQ(bodies[0] + "\n", witness);
  EXPECT_NE(bodies[0].find("\"signature\":\""), std::string::npos);
}

TEST_F(CheckpointShippingTest, AWebhookUrlThatWouldLeakOrIsMalformedIsRefusedBeforeAnythingIsCreated) {
  for (const char* bad : {"http://example.com/hook", "http://10.0.0.1/hook", "ftp://127.0.0.1/x", "https://", "https:///x",
                          "https://user:pw@example.com/", "https://example.com:0/", "https://example.com:99999/",
                          "https://exa mple.com/", "https://example.com/a b", "https://example.com/#frag"}) {
    auto runtime = app::Runtime::Open({.data_dir = (dir_.path() / "data").string(), .audit_webhook = bad});
    EXPECT_FIELD_ERROR(runtime, "audit-webhook");
  }
  EXPECT_FALSE(fs::exists(dir_.path() / "data")) << "nothing was created";
  EXPECT_OK(http::ParseWebhookUrl("https://audit.example.com:8443/in?x=1", "audit-webhook"));
  EXPECT_OK(http::ParseWebhookUrl("http://[::1]:9000/hook", "audit-webhook"));
  EXPECT_OK(http::ParseWebhookUrl("http://localhost/hook", "audit-webhook"));
  // Nothing listens: the POST fails within its deadline, naming the step.
  auto url = http::ParseWebhookUrl("http://127.0.0.1:1/hook", "audit-webhook");
  ASSERT_OK(url);
  auto posted = http::PostJson(*url, "{}", std::chrono::milliseconds(500));
  ASSERT_FALSE(posted.has_value());
  EXPECT_EQ(posted.error().code(), ErrorCode::kUnavailable);
}

// TOTP seeds under the keystore's system data key `system:totp` (no more <data>/system.key).
class TotpSystemKeyTest : public ::testing::Test {
 protected:
  static constexpr const char* kUserPassword = "totp-user-password-123";

  void SetUp() override {
    security::MasterKeyRing ring;
    ring.Add(1, security::RandomKey());
    ASSERT_OK(security::WriteMasterKeyFile(key_file_, ring, /*replace=*/false));
  }
  Result<std::unique_ptr<app::Runtime>> Open() {
    return app::Runtime::Open({.data_dir = data_.string(), .master_key = {.file = key_file_}});
  }
  static std::string CodeNow(const std::string& seed, int offset) {
    return security::TotpCode(seed, security::TotpStep(ToUnixMillis(SystemClock().Now()) / 1000) + offset);
  }
  // Password, then the TOTP code: a session, or the error.
  static Result<void> SignIn(app::Runtime& runtime, const std::string& code) {
    ASSIGN_OR_RETURN(auto first, runtime.auth().Login("totp-user", kUserPassword));
    if (first.step != security::LoginResult::Step::kMfaRequired) return Error::Internal("expected an MFA step");
    ASSIGN_OR_RETURN(auto second, runtime.auth().VerifyMfa(first.mfa_token, code));
    if (!second.session) return Error::Internal("no session");
    return Ok();
  }
  static std::string SealedSeed(app::Runtime& runtime, UserId user) {
    auto mfa = runtime.store().GetMfa(user);
    return mfa && *mfa ? (*mfa)->seed_sealed : "";
  }

  testing::TempDir dir_;
  fs::path data_ = dir_.path() / "data";
  std::string key_file_ = dir_.File("master.key");
};

TEST_F(TotpSystemKeyTest, EnrolRestartRotateTheMasterKeyAndSignInWithoutAnySystemKeyFile) {
  UserId user;
  std::string seed;
  {
    auto runtime = Open();
    ASSERT_OK(runtime);
    auto created = (*runtime)->auth().CreateUser("totp-user", kUserPassword, "sales");
    ASSERT_OK(created);
    user = *created;
    auto enrolment = (*runtime)->auth().BeginMfaEnrolment(user);
    ASSERT_OK(enrolment);
    seed = testing::DecodeBase32(enrolment->secret_base32);
    ASSERT_OK((*runtime)->auth().ConfirmMfaEnrolment(user, CodeNow(seed, 0)));
    EXPECT_TRUE(SealedSeed(**runtime, user).starts_with("v2:")) << SealedSeed(**runtime, user);
    // The password is peppered with the keystore's system:password-pepper key, which the sign-in after the
    // master rotation below needs as much as the TOTP seed's key.
    auto stored = (*runtime)->store().FindUserByName("totp-user");
    ASSERT_OK(stored);
    EXPECT_TRUE(security::IsPeppered(stored->password_hash)) << stored->password_hash.substr(0, 12);
  }
  EXPECT_FALSE(fs::exists(data_ / "system.key")) << "no file key is created any more";

  // Rotate the master key as `panorama key rotate --master` does, and keep only the new version.
  {
    auto ring = security::LoadMasterKeys({.file = key_file_});
    ASSERT_OK(ring);
    ring->Add(2, security::RandomKey());
    ASSERT_OK(security::WriteMasterKeyFile(key_file_, *ring, /*replace=*/true));
    auto runtime = Open();
    ASSERT_OK(runtime);
    ASSERT_OK((*runtime)->encryptor().RotateMaster(2));
    auto left = (*runtime)->encryptor().keystore().CountKeysNotUnder(2);
    ASSERT_OK(left);
    EXPECT_EQ(*left, 0) << "system:totp was re-wrapped with every other key";
    security::MasterKeyRing only_new;
    only_new.Add(2, std::move(ring->keys().at(2)));
    ASSERT_OK(security::WriteMasterKeyFile(key_file_, only_new, /*replace=*/true));
  }
  auto runtime = Open();
  ASSERT_OK(runtime);
  EXPECT_OK(SignIn(**runtime, CodeNow(seed, 1)));
  auto wrong = SignIn(**runtime, "000000");
  EXPECT_FALSE(wrong.has_value());
}

TEST_F(TotpSystemKeyTest, SeedsSealedUnderTheOldSystemKeyFileAreResealedAtStartOnceAndTheFileIsThenNotNeeded) {
  std::string seed(security::kTotpSeedBytes, '\0');
  randombytes_buf(seed.data(), seed.size());
  UserId user;
  std::string legacy_value;
  {
    auto runtime = Open();
    ASSERT_OK(runtime);
    auto created = (*runtime)->auth().CreateUser("totp-user", kUserPassword, "sales");
    ASSERT_OK(created);
    user = *created;
    // What an earlier version stored: the seed sealed under <data>/system.key.
    auto legacy = security::OpenFileKeySealer((data_ / "system.key").string());
    ASSERT_OK(legacy);
    auto sealed = (*legacy)->Seal(seed, "mfa-seed:user:" + user.ToString());
    ASSERT_OK(sealed);
    legacy_value = *sealed;
    ASSERT_TRUE(security::IsLegacySealed(legacy_value));
    ASSERT_OK((*runtime)->store().Write([&](storage::WriteTxn& txn) {
      return txn.PutMfa({user, legacy_value, true, 0, SystemClock().Now()});
    }));
  }
  std::string resealed;
  {
    auto runtime = Open();  // reseals at start
    ASSERT_OK(runtime);
    resealed = SealedSeed(**runtime, user);
    EXPECT_TRUE(resealed.starts_with("v2:")) << resealed;
    EXPECT_OK(SignIn(**runtime, CodeNow(seed, 0)));
  }
  {
    auto runtime = Open();  // idempotent: nothing left to reseal
    ASSERT_OK(runtime);
    EXPECT_EQ(SealedSeed(**runtime, user), resealed);
  }
  fs::remove(data_ / "system.key");
  auto runtime = Open();
  ASSERT_OK(runtime);
  EXPECT_OK(SignIn(**runtime, CodeNow(seed, 1)));
  EXPECT_FALSE(fs::exists(data_ / "system.key"));
}

}  // namespace
}  // namespace panorama
