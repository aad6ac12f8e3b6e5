// R8 (backup round trip) and R9 (tamper refusal) on real SQLite files: a live store keeps writing while the
// backup is taken; restores are compared with canonical dumps of the source; every damaged or wrong-key
// restore is refused and leaves the target directory byte-for-byte as it was.

#include <gtest/gtest.h>
#include <sodium.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "audit/ledger_service.h"
#include "audit/ledgered_store.h"
#include "app/runtime.h"
#include "audit/merkle.h"
#include "backup/backup.h"
#include "backup/backup_scheduler.h"
#include "backup/data_dir_lock.h"
#include "storage/sqlite/sqlite_backup.h"
#include "storage/store.h"
#include "tests/support/codecs.h"
#include "tests/support/fake_clock.h"
#include "tests/support/raw_sqlite.h"
#include "tests/support/result_matchers.h"
#include "tests/support/test_crypto.h"
#include "tests/support/temp_dir.h"

namespace panorama::backup {
namespace {

namespace fs = std::filesystem;

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  char hex[2 * sizeof digest + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every file under `dir` (recursively) with its content hash: "untouched" means this map is unchanged.
std::map<std::string, std::string> DirFingerprint(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    out[fs::relative(entry.path(), dir).string()] = entry.is_regular_file() ? Sha256Hex(ReadAll(entry.path())) : "dir";
  }
  return out;
}

std::string DumpHash(const fs::path& db) {
  auto dump = storage::SqliteCanonicalDump(db.string());
  EXPECT_OK(dump);
  return dump ? Sha256Hex(*dump) : "";
}

Result<void> InsertCustomer(storage::WriteTxn& txn, int n) {
  storage::CustomerRecord c;
  c.name = "客户 " + std::to_string(n);
  c.email = "c" + std::to_string(n) + "@example.com";
  c.created_at = c.updated_at = FromUnixMillis(1'700'000'000'000 + n);
  ASSIGN_OR_RETURN(CustomerId id, txn.InsertCustomer(c));
  return txn.AddIdentity({.type = "email", .value = c.email, .customer = id, .first_seen = c.created_at});
}

// Customers from..to in one transaction (a fixture's bulk data without one fsync per row).
Result<void> AddCustomers(storage::Store& store, int from, int to) {
  return store.Write([&](storage::WriteTxn& txn) -> Result<void> {
    for (int n = from; n <= to; ++n) RETURN_IF_ERROR(InsertCustomer(txn, n));
    return Ok();
  });
}

// One transaction: a customer and its email identity, so a consistent snapshot never has one without the other.
Result<void> AddCustomer(storage::Store& store, int n) { return AddCustomers(store, n, n); }

class BackupRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(sodium_init() >= 0, true);
    ASSERT_OK(GenerateKeyPair(keys_.path().string()));
    data_ = root_.path() / "data";
    fs::create_directories(data_);
    // The keystore lives outside data_ here, so each test controls exactly which files the data dir holds.
    crypto_ = testing::MakeTestCrypto((root_.path() / "test-keystore.db").string());
    auto store = storage::OpenSqliteStore({.path = (data_ / kDatabaseFile).string(), .crypto = crypto_.get()});
    ASSERT_OK(store);
    store_ = std::move(store).value();
  }

  Result<BackupResult> Backup(int64_t at_ms = 1'800'000'000'000, int keep = 0) {
    return CreateBackup({.data_dir = data_.string(),
                         .to_dir = (root_.path() / "backups").string(),
                         .public_key_file = keys_.File("backup.pub"),
                         .keep = keep,
                         .now = FromUnixMillis(at_ms)});
  }
  Result<RestoreResult> Restore(const std::string& file, const fs::path& into) {
    return RestoreBackup({.from_file = file, .secret_key_file = keys_.File("backup.sec"), .data_dir = into.string()});
  }

  testing::TempDir root_, keys_;
  std::unique_ptr<security::FieldEncryptor> crypto_;
  fs::path data_;
  std::unique_ptr<storage::Store> store_;
};

TEST_F(BackupRestoreTest, WriteBackupWriteRestoreGivesExactlyTheFirstState) {
  for (int i = 1; i <= 200; ++i) ASSERT_OK(AddCustomer(*store_, i));
  // The dump through a second connection sees every commit (WAL), as the backup does.
  std::string at_backup = DumpHash(data_ / kDatabaseFile);
  auto made = Backup();
  ASSERT_OK(made);
  for (int i = 201; i <= 300; ++i) ASSERT_OK(AddCustomer(*store_, i));
  ASSERT_NE(DumpHash(data_ / kDatabaseFile), at_backup);

  auto restored = Restore(made->path, root_.path() / "empty");

  ASSERT_OK(restored);
  EXPECT_EQ(DumpHash(root_.path() / "empty" / kDatabaseFile), at_backup);
  EXPECT_OK(storage::SqliteVerifyFile((root_.path() / "empty" / kDatabaseFile).string()));
}

TEST_F(BackupRestoreTest, RestoreOverAStoppedDataDirReplacesItAndItsLog) {
  for (int i = 1; i <= 50; ++i) ASSERT_OK(AddCustomer(*store_, i));
  std::string at_backup = DumpHash(data_ / kDatabaseFile);
  auto made = Backup();
  ASSERT_OK(made);
  for (int i = 51; i <= 80; ++i) ASSERT_OK(AddCustomer(*store_, i));
  store_.reset();

  ASSERT_OK(Restore(made->path, data_));

  EXPECT_EQ(DumpHash(data_ / kDatabaseFile), at_backup);
  auto reopened = storage::OpenSqliteStore({.path = (data_ / kDatabaseFile).string(), .crypto = crypto_.get()});
  ASSERT_OK(reopened);
  EXPECT_EQ(*(*reopened)->CountCustomers(), 50);
}

TEST_F(BackupRestoreTest, OnlineBackupUnderContinuousWritesIsOneConsistentCommit) {
  for (int i = 1; i <= 100; ++i) ASSERT_OK(AddCustomer(*store_, i));
  // A second store on the same file writes as a running server would, while the backup copies.
  auto writer_store = storage::OpenSqliteStore({.path = (data_ / kDatabaseFile).string(), .crypto = crypto_.get()});
  ASSERT_OK(writer_store);
  std::atomic<bool> stop{false};
  std::atomic<int> written{100};
  std::thread writer([&] {
    for (int i = 101; !stop.load() && i < 100'000; ++i) {
      if (!AddCustomer(**writer_store, i)) return;
      written.store(i);
    }
  });
  while (written.load() < 150) std::this_thread::yield();
  int before = written.load();

  auto made = Backup();
  int after = written.load();
  stop.store(true);
  writer.join();

  ASSERT_OK(made);
  fs::path restored_dir = root_.path() / "restored";
  ASSERT_OK(Restore(made->path, restored_dir));
  auto restored = storage::OpenSqliteStore({.path = (restored_dir / kDatabaseFile).string(), .crypto = crypto_.get()});
  ASSERT_OK(restored);
  int64_t count = *(*restored)->CountCustomers();
  EXPECT_GE(count, before);
  EXPECT_LE(count, after + 1);
  // One commit's state: customers 1..count, each with the identity written in its transaction (identity values
  // are encrypted, so they are read back through the store rather than from a dump).
  for (int64_t i = 1; i <= count; ++i) {
    auto found = (*restored)->FindIdentity("email", "c" + std::to_string(i) + "@example.com");
    ASSERT_OK(found);
    EXPECT_TRUE(found->has_value()) << "identity of customer " << i;
  }
  auto next = (*restored)->FindIdentity("email", "c" + std::to_string(count + 1) + "@example.com");
  ASSERT_OK(next);
  EXPECT_FALSE(next->has_value());
}

// The scheduler's own thread runs backups every few milliseconds while three threads call RunNow() and
// Status() and a second store keeps writing: runs never overlap (run_mu_), every run is counted once in the
// status and seen once by the observer, and every file they wrote restores. Also an R13 TSan suite.
TEST_F(BackupRestoreTest, ScheduledAndManualRunsAreSerialisedAndEachCountedOnce) {
  ASSERT_OK(AddCustomers(*store_, 1, 50));
  auto writer_store = storage::OpenSqliteStore({.path = (data_ / kDatabaseFile).string(), .crypto = crypto_.get()});
  ASSERT_OK(writer_store);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 51; !stop.load() && i < 100'000; ++i) {
      if (!AddCustomer(**writer_store, i)) return;
    }
  });
  testing::FakeClock clock(FromUnixMillis(1'800'000'000'000));
  std::atomic<int> in_run{0}, overlaps{0}, observed{0}, failed{0};
  // every = 5 ms: far below the 1 minute --backup-every allows, to get many scheduled runs in a short test.
  BackupScheduler scheduler({.data_dir = data_.string(),
                             .to_dir = (root_.path() / "backups").string(),
                             .public_key_file = keys_.File("backup.pub"),
                             .every = std::chrono::milliseconds(5),
                             .keep = 10'000},
                            clock, [&](const Result<BackupResult>& result) {
                              if (in_run.fetch_add(1) != 0) ++overlaps;
                              if (!result) ++failed;
                              ++observed;
                              clock.Advance(std::chrono::seconds(1));  // the next run's file gets its own name
                              in_run.fetch_sub(1);
                            });
  scheduler.Start();
  // Three callers at once beside the scheduled runs: unserialised runs would read the same clock, so they
  // would write the same file name and fail or overwrite each other's file.
  std::atomic<int> manual_failed{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 3; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < 4; ++i) {
        if (!scheduler.RunNow()) ++manual_failed;
        (void)scheduler.Status();
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  const int manual = 12;
  EXPECT_EQ(manual_failed.load(), 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (observed.load() < manual + 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  scheduler.Stop();
  stop.store(true);
  writer.join();

  const BackupStatus status = scheduler.Status();
  EXPECT_GE(observed.load(), manual + 3) << "the scheduled runs did not happen";
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(status.failures, 0);
  EXPECT_EQ(status.successes, observed.load());
  auto files = ListBackups((root_.path() / "backups").string(), BackupKind::kData);
  ASSERT_OK(files);
  EXPECT_EQ(static_cast<int64_t>(files->size()), status.successes);
  ASSERT_FALSE(files->empty());
  ASSERT_OK(Restore(files->back(), root_.path() / "restored"));
  EXPECT_OK(storage::SqliteVerifyFile((root_.path() / "restored" / kDatabaseFile).string()));
}

TEST_F(BackupRestoreTest, DataBackupHoldsOnlyTheMainDatabase) {
  ASSERT_OK(AddCustomer(*store_, 1));
  {
    ASSERT_OK(testing::OpenTestCrypto((data_ / kKeystoreFile).string(), testing::RandomRing()));
    std::ofstream(data_ / "backup.sec") << "SECRET-SENTINEL";
  }
  auto made = Backup();
  ASSERT_OK(made);
  fs::path restored_dir = root_.path() / "restored";

  ASSERT_OK(Restore(made->path, restored_dir));

  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(restored_dir)) names.insert(e.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{kDatabaseFile, "panorama.lock"}));
  EXPECT_EQ(made->header.kind, BackupKind::kData);
}

TEST_F(BackupRestoreTest, KeystoreIsBackedUpSeparatelyAndRestoredToItsOwnFile) {
  {
    // A real keystore with one data key in it.
    auto keystore = testing::OpenTestCrypto((data_ / kKeystoreFile).string(), testing::RandomRing());
    ASSERT_OK(keystore);
    ASSERT_OK((*keystore)->Seal({"customers", "name", 7, CustomerId(7)}, "sentinel"));
    ASSERT_OK((*keystore)->Flush());
  }
  std::string keystore_hash = DumpHash(data_ / kKeystoreFile);
  auto made = CreateBackup({.data_dir = data_.string(),
                            .to_dir = (root_.path() / "keystore-backups").string(),
                            .public_key_file = keys_.File("backup.pub"),
                            .kind = BackupKind::kKeystore,
                            .now = FromUnixMillis(1'800'000'000'000)});
  ASSERT_OK(made);
  EXPECT_TRUE(fs::path(made->path).filename().string().starts_with("keystore-"));

  fs::path restored_dir = root_.path() / "restored";
  ASSERT_OK(Restore(made->path, restored_dir));

  EXPECT_EQ(DumpHash(restored_dir / kKeystoreFile), keystore_hash);
  EXPECT_FALSE(fs::exists(restored_dir / kDatabaseFile));
}

TEST_F(BackupRestoreTest, RotationKeepsTheNewestN) {
  ASSERT_OK(AddCustomer(*store_, 1));
  std::vector<std::string> made;
  for (int i = 0; i < 5; ++i) {
    auto b = Backup(1'800'000'000'000 + i * 60'000, 3);
    ASSERT_OK(b);
    made.push_back(b->path);
  }

  auto left = ListBackups((root_.path() / "backups").string(), BackupKind::kData);

  ASSERT_OK(left);
  EXPECT_EQ(*left, (std::vector<std::string>{made[2], made[3], made[4]}));
}

// Backups in the same millisecond get -1, -2… suffixes; "-" sorts before ".", so by plain name order rotation
// would have deleted the newer backups and kept the first. Ten of them also checks "-10" after "-9".
TEST_F(BackupRestoreTest, BackupsInTheSameMillisecondSortInCreationOrderAndRotationKeepsTheNewest) {
  ASSERT_OK(AddCustomer(*store_, 1));
  std::vector<std::string> made;
  for (int i = 0; i < 11; ++i) {
    auto b = Backup(1'800'000'000'000, i == 10 ? 3 : 0);
    ASSERT_OK(b);
    made.push_back(b->path);
  }
  EXPECT_TRUE(made[10].ends_with("-10.pnbk")) << made[10];

  auto left = ListBackups((root_.path() / "backups").string(), BackupKind::kData);

  ASSERT_OK(left);
  EXPECT_EQ(*left, (std::vector<std::string>{made[8], made[9], made[10]}));
}

// Keystore backups age out after 35 days (SECURITY.md §2.7) at every keystore backup run, whatever --keep says;
// a lower max age is allowed, a higher one is not. Driven by a fake clock through the scheduler's RunNow().
TEST_F(BackupRestoreTest, KeystoreBackupsOlderThanTheMaxAgeAreDeletedAtEachRun) {
  ASSERT_OK(testing::OpenTestCrypto((data_ / kKeystoreFile).string(), testing::RandomRing()));
  const fs::path dir = root_.path() / "keystore-backups";
  const auto day = std::chrono::hours(24);
  testing::FakeClock clock(FromUnixMillis(1'800'000'000'000));
  BackupScheduler scheduler({.data_dir = data_.string(), .to_dir = dir.string(),
                             .public_key_file = keys_.File("backup.pub"), .every = day, .keep = 10'000,
                             .kind = BackupKind::kKeystore},
                            clock, nullptr);
  auto run = [&]() -> std::string {
    auto r = scheduler.RunNow();
    EXPECT_OK(r);
    return r ? r->path : "";
  };
  std::string day0 = run();
  clock.Advance(20 * day);
  std::string day20 = run();
  clock.Advance(15 * day);  // day 35: day0 is exactly 35 days old, still kept
  std::string day35 = run();
  EXPECT_EQ(*ListBackups(dir.string(), BackupKind::kKeystore), (std::vector<std::string>{day0, day20, day35}));

  clock.Advance(std::chrono::milliseconds(1));
  auto aged = scheduler.RunNow();

  ASSERT_OK(aged);
  EXPECT_EQ(aged->aged_out, std::vector<std::string>{day0});
  EXPECT_EQ(*ListBackups(dir.string(), BackupKind::kKeystore), (std::vector<std::string>{day20, day35, aged->path}));

  // `panorama backup --keystore --max-age 10d`: lower is allowed and applies to the whole directory; a data
  // backup in the same directory is not touched by the keystore age-out.
  ASSERT_OK(CreateBackup({.data_dir = data_.string(), .to_dir = dir.string(),
                          .public_key_file = keys_.File("backup.pub"), .now = clock.Now()}));
  clock.Advance(11 * day);
  auto lower = CreateBackup({.data_dir = data_.string(), .to_dir = dir.string(),
                             .public_key_file = keys_.File("backup.pub"), .kind = BackupKind::kKeystore,
                             .now = clock.Now(), .max_age = 10 * day});
  ASSERT_OK(lower);
  EXPECT_EQ(lower->aged_out, (std::vector<std::string>{day20, day35, aged->path}));
  EXPECT_EQ(*ListBackups(dir.string(), BackupKind::kKeystore), std::vector<std::string>{lower->path});
  EXPECT_EQ(ListBackups(dir.string(), BackupKind::kData)->size(), 1u);
  EXPECT_FIELD_ERROR(CreateBackup({.data_dir = data_.string(), .to_dir = dir.string(),
                                   .public_key_file = keys_.File("backup.pub"), .kind = BackupKind::kKeystore,
                                   .now = clock.Now(), .max_age = 36 * day}),
                     "max-age");
}

// The keystore schedule's own validation: flags named keystore-backup-*, keep × every within the max age, and
// apart from the data schedule (directory and key).
TEST_F(BackupRestoreTest, KeystoreScheduleOptionsAreValidatedNamingTheFlag) {
  ASSERT_OK(GenerateKeyPair((root_.path() / "other-keys").string()));
  const auto day = std::chrono::hours(24);
  ScheduleOptions ok{.data_dir = data_.string(), .to_dir = (root_.path() / "ks").string(),
                     .public_key_file = (root_.path() / "other-keys" / "backup.pub").string(), .every = day,
                     .keep = 35, .kind = BackupKind::kKeystore};
  ScheduleOptions data{.data_dir = data_.string(), .to_dir = (root_.path() / "backups").string(),
                       .public_key_file = keys_.File("backup.pub")};
  auto with = [&](auto change) {
    ScheduleOptions o = ok;
    change(o);
    auto valid = ValidateSchedule(o);
    return valid ? ValidateSeparateSchedules(data, o) : valid;
  };
  EXPECT_OK(with([](ScheduleOptions&) {}));
  EXPECT_FIELD_ERROR(with([](ScheduleOptions& o) { o.keep = 36; }), "keystore-backup-keep");
  EXPECT_FIELD_ERROR(with([&](ScheduleOptions& o) { o.keep = 2; o.every = 18 * day; }), "keystore-backup-keep");
  EXPECT_FIELD_ERROR(with([&](ScheduleOptions& o) { o.keep = 11; o.max_age = 10 * day; }), "keystore-backup-keep");
  EXPECT_OK(with([&](ScheduleOptions& o) { o.keep = 10; o.max_age = 10 * day; }));
  EXPECT_FIELD_ERROR(with([&](ScheduleOptions& o) { o.max_age = 36 * day; }), "keystore-backup-max-age");
  EXPECT_FIELD_ERROR(with([](ScheduleOptions& o) { o.keep = 0; }), "keystore-backup-keep");
  EXPECT_FIELD_ERROR(with([](ScheduleOptions& o) { o.every = std::chrono::milliseconds(0); }),
                     "keystore-backup-every");
  EXPECT_FIELD_ERROR(with([](ScheduleOptions& o) { o.to_dir.clear(); }), "keystore-backup-dir");
  EXPECT_FIELD_ERROR(with([&](ScheduleOptions& o) { o.to_dir = data_.string(); }), "keystore-backup-dir");
  EXPECT_FIELD_ERROR(with([&](ScheduleOptions& o) { o.to_dir = data.to_dir; }), "keystore-backup-dir");
  EXPECT_FIELD_ERROR(with([&](ScheduleOptions& o) { o.to_dir = data.to_dir + "/"; }), "keystore-backup-dir");
  EXPECT_FIELD_ERROR(with([&](ScheduleOptions& o) { o.public_key_file = data.public_key_file; }),
                     "keystore-backup-public-key");
  // The same key under another file name is still the same key.
  fs::copy_file(data.public_key_file, root_.path() / "copy.pub");
  EXPECT_FIELD_ERROR(with([&](ScheduleOptions& o) { o.public_key_file = (root_.path() / "copy.pub").string(); }),
                     "keystore-backup-public-key");
  EXPECT_FIELD_ERROR(with([&](ScheduleOptions& o) { o.public_key_file.clear(); }), "keystore-backup-public-key");
  EXPECT_FIELD_ERROR(ParseBackupInterval("36d", "keystore-backup-max-age", kKeystoreRetentionCap),
                     "keystore-backup-max-age");
  EXPECT_EQ(*ParseBackupInterval("35d", "keystore-backup-max-age", kKeystoreRetentionCap), kKeystoreRetentionCap);
}

TEST_F(BackupRestoreTest, NoPlaintextIsLeftBehind) {
  ASSERT_OK(AddCustomer(*store_, 1));
  auto before = DirFingerprint(data_);

  ASSERT_OK(Backup());
  auto bad = CreateBackup({.data_dir = data_.string(), .to_dir = "/proc/no-such-dir/x",
                           .public_key_file = keys_.File("backup.pub")});

  EXPECT_FALSE(bad.has_value());
  for (const auto& e : fs::directory_iterator(data_)) {
    EXPECT_FALSE(e.path().filename().string().starts_with(".backup-")) << e.path();
  }
  for (const auto& e : fs::directory_iterator(root_.path() / "backups")) {
    EXPECT_TRUE(e.path().extension() == ".pnbk") << e.path();
  }
}

TEST_F(BackupRestoreTest, BadOptionsNameTheField) {
  EXPECT_FIELD_ERROR(CreateBackup({.data_dir = data_.string(), .to_dir = (root_.path() / "b").string(),
                                   .public_key_file = keys_.File("backup.sec")}),
                     "public-key");
  EXPECT_FIELD_ERROR(CreateBackup({.data_dir = data_.string(), .to_dir = "",
                                   .public_key_file = keys_.File("backup.pub")}),
                     "to");
  EXPECT_FIELD_ERROR(CreateBackup({.data_dir = data_.string(), .to_dir = (root_.path() / "b").string(),
                                   .public_key_file = keys_.File("backup.pub"), .keep = -1}),
                     "keep");
  EXPECT_FIELD_ERROR(Restore((root_.path() / "missing.pnbk").string(), data_), "from");
  EXPECT_FIELD_ERROR(RestoreBackup({.from_file = keys_.File("backup.pub"), .secret_key_file = keys_.File("backup.pub"),
                                    .data_dir = data_.string()}),
                     "secret-key");
}

// Format 2 headers name the keystore a backup belongs to; restore refuses a backup of another data dir's keystore
// and reports erasures the next start re-applies. Real runtimes (keystore inside the data dir, ledgered store).
class KeystoreBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(sodium_init() >= 0, true);
    ASSERT_OK(GenerateKeyPair(keys_.path().string()));
  }
  app::RuntimeOptions Options(const std::string& data) {
    app::RuntimeOptions o;
    o.data_dir = (root_.path() / data).string();
    o.master_key.env_value = testing::Base64(std::string(32, '\x07'));
    return o;
  }
  // Starts the runtime of `data`, adds customers from..to, erases `erase` (0: none), stops.
  void Session(const std::string& data, int from, int to, int64_t erase = 0) {
    auto runtime = app::Runtime::Open(Options(data));
    ASSERT_OK(runtime);
    if (to >= from) ASSERT_OK(AddCustomers((*runtime)->store(), from, to));
    if (erase != 0) {
      ASSERT_OK((*runtime)->store().Write([&](storage::WriteTxn& txn) -> Result<void> {
        return txn.EraseCustomer(CustomerId(erase)).has_value() ? Ok() : Result<void>(Error::Internal("erase"));
      }));
    }
  }
  Result<BackupResult> Backup(const std::string& data, BackupKind kind, int64_t at_ms = 1'800'000'000'000) {
    return CreateBackup({.data_dir = (root_.path() / data).string(),
                         .to_dir = (root_.path() / (kind == BackupKind::kData ? "backups" : "keystore-backups")).string(),
                         .public_key_file = keys_.File("backup.pub"),
                         .kind = kind,
                         .now = FromUnixMillis(at_ms)});
  }
  Result<RestoreResult> Restore(const std::string& file, const std::string& data) {
    return RestoreBackup({.from_file = file, .secret_key_file = keys_.File("backup.sec"),
                          .data_dir = (root_.path() / data).string()});
  }
  std::string KeystoreId(const std::string& data) {
    return testing::RawText((root_.path() / data / kKeystoreFile).string(),
                            "SELECT value FROM keystore_meta WHERE name = 'keystore_id'");
  }
  testing::TempDir root_, keys_;
};

TEST_F(KeystoreBackupTest, HeadersCarryTheKeystoreIdAndEpoch) {
  Session("a", 1, 3, /*erase=*/2);
  std::string id = KeystoreId("a");
  ASSERT_EQ(id.size(), 32u);

  auto data = Backup("a", BackupKind::kData);
  auto keystore = Backup("a", BackupKind::kKeystore);

  ASSERT_OK(data);
  ASSERT_OK(keystore);
  for (const auto& header : {data->header, *ReadHeader(keystore->path)}) {
    EXPECT_EQ(header.format_version, 2);
    EXPECT_EQ(header.keystore_id, id);
    EXPECT_EQ(header.keystore_epoch, std::optional<int64_t>(1));  // one shred
  }
}

TEST_F(KeystoreBackupTest, RestoreRefusesABackupOfAnotherDataDirsKeystoreAndChangesNothing) {
  Session("a", 1, 3);
  Session("b", 1, 3, /*erase=*/1);
  auto a_data = Backup("a", BackupKind::kData);
  auto a_keystore = Backup("a", BackupKind::kKeystore);
  ASSERT_OK(a_data);
  ASSERT_OK(a_keystore);
  auto before = DirFingerprint(root_.path() / "b");

  auto data_into_b = Restore(a_data->path, "b");
  auto keystore_into_b = Restore(a_keystore->path, "b");

  for (auto* refused : {&data_into_b, &keystore_into_b}) {
    EXPECT_ERROR_CODE(*refused, ErrorCode::kFailedPrecondition);
    if (refused->has_value()) continue;
    EXPECT_NE(refused->error().message().find(KeystoreId("a")), std::string::npos) << refused->error().message();
    EXPECT_NE(refused->error().message().find(KeystoreId("b")), std::string::npos) << refused->error().message();
    EXPECT_NE(refused->error().message().find("nothing was changed"), std::string::npos);
  }
  EXPECT_EQ(DirFingerprint(root_.path() / "b"), before);
  // Into its own data dir (and into a new one) each restores.
  EXPECT_OK(Restore(a_data->path, "a"));
  EXPECT_OK(Restore(a_keystore->path, "a"));
  EXPECT_OK(Restore(a_keystore->path, "fresh"));
}

TEST_F(KeystoreBackupTest, FormatOneBackupsStillRestore) {
  Session("a", 1, 3);
  // A format 1 file: the same copy, encrypted with the old header (no keystore fields).
  auto made = Backup("a", BackupKind::kData);
  ASSERT_OK(made);
  fs::path plain = root_.path() / "plain.db";
  ASSERT_OK(DecryptFile(made->path, plain.string(), *ReadSecretKey(keys_.File("backup.sec"))));
  BackupHeader v1 = made->header;
  v1.format_version = 1;
  fs::path old_file = root_.path() / "panorama-v1.pnbk";
  ASSERT_OK(EncryptFile(plain.string(), old_file.string(), v1, *ReadPublicKey(keys_.File("backup.pub"))));

  auto restored = Restore(old_file.string(), "b");

  ASSERT_OK(restored);
  EXPECT_EQ(restored->header.format_version, 1);
  EXPECT_EQ(restored->header.keystore_id, "");
  EXPECT_EQ(DumpHash(root_.path() / "b" / kDatabaseFile), DumpHash(plain));
}

// R10 end to end: a keystore backup taken before an erasure, restored, and the next start destroys the key again.
TEST_F(KeystoreBackupTest, AnOlderKeystoreRestoredGetsTheLaterErasureReappliedAtStart) {
  Session("a", 1, 3);
  auto made = Backup("a", BackupKind::kKeystore);
  ASSERT_OK(made);
  Session("a", 1, 0, /*erase=*/2);

  auto restored = Restore(made->path, "a");

  ASSERT_OK(restored);
  EXPECT_EQ(restored->erasures_to_reapply, 1);
  EXPECT_EQ(restored->header.keystore_epoch, std::optional<int64_t>(0));
  EXPECT_EQ(restored->replaced_keystore_epoch, std::optional<int64_t>(1));
  // The restored keystore still holds customer 2's key until the next start.
  std::string keystore = (root_.path() / "a" / kKeystoreFile).string();
  EXPECT_EQ(testing::RawText(keystore, "SELECT count(*) FROM wrapped_keys WHERE subject = 'c:2'"), "1");

  auto runtime = app::Runtime::Open(Options("a"));

  ASSERT_OK(runtime);
  storage::Store& store = (*runtime)->store();
  EXPECT_ERROR_CODE(store.GetCustomer(CustomerId(2)), ErrorCode::kNotFound);
  EXPECT_EQ(store.GetCustomer(CustomerId(1))->email, "c1@example.com");
  auto keys = (*runtime)->encryptor().keystore().GetKeys("c:2");
  ASSERT_OK(keys);
  EXPECT_TRUE(keys->empty()) << "the erased customer's restored key must be destroyed again";
  auto shredded = (*runtime)->encryptor().ShreddedSubjects();
  auto erasures = store.ListErasures();
  ASSERT_OK(shredded);
  ASSERT_OK(erasures);
  EXPECT_EQ(*shredded, std::vector<CustomerId>{CustomerId(2)});
  EXPECT_EQ(*erasures, *shredded);
  int ledgered = 0;
  ASSERT_OK(store.ScanLedger(0, [&](const storage::LedgerRow& row) {
    if (row.body.find("\"customer.erase\"") != std::string::npos) ++ledgered;
  }));
  EXPECT_EQ(ledgered, 1) << "the ledger records the one erasure the keystore and database agree on";
}

class BackupTamperTest : public BackupRestoreTest {
 protected:
  void SetUp() override {
    BackupRestoreTest::SetUp();
    ASSERT_OK(AddCustomers(*store_, 1, 2000));  // a few 64 KiB chunks
    auto made = Backup();
    ASSERT_OK(made);
    backup_ = made->path;
    original_ = ReadAll(backup_);
    ASSERT_GT(original_.size(), 3 * kChunkBytes);
    // The target: an existing data dir with its own database and a stale log, which a refusal must not touch.
    target_ = root_.path() / "target";
    fs::create_directories(target_);
    std::string old = (target_ / kDatabaseFile).string();
    auto other = storage::OpenSqliteStore({.path = old, .crypto = crypto_.get()});
    ASSERT_OK(other);
    ASSERT_OK(AddCustomer(**other, 99));
    other_ = std::move(other).value();  // kept open: its -wal and -shm stay in the directory
    fingerprint_ = DirFingerprint(target_);
  }

  void ExpectRefusedUntouched(const std::string& bytes, const std::string& what) {
    fs::path file = root_.path() / "tampered.pnbk";
    { std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes; }
    auto result = Restore(file.string(), target_);
    ASSERT_FALSE(result.has_value()) << what;
    EXPECT_EQ(result.error().code(), ErrorCode::kFailedPrecondition) << what << ": " << result.error().message();
    EXPECT_EQ(DirFingerprint(target_), fingerprint_) << what;
  }

  std::string backup_, original_;
  fs::path target_;
  std::unique_ptr<storage::Store> other_;
  std::map<std::string, std::string> fingerprint_;
};

TEST_F(BackupTamperTest, HundredRandomByteFlipsAreAllRefusedAndTheTargetIsUntouched) {
  unsigned seed = std::random_device{}();
  std::printf("tamper seed %u\n", seed);
  std::mt19937 rng(seed);
  for (int i = 0; i < 100; ++i) {
    std::string bytes = original_;
    size_t offset = rng() % bytes.size();
    bytes[offset] = static_cast<char>(bytes[offset] ^ (1 + rng() % 255));
    ExpectRefusedUntouched(bytes, "seed " + std::to_string(seed) + " offset " + std::to_string(offset));
  }
}

TEST_F(BackupTamperTest, TruncationAtTenPointsIsRefused) {
  for (int i = 0; i < 10; ++i) {
    size_t length = original_.size() * static_cast<size_t>(i) / 10 + (i % 3);
    ExpectRefusedUntouched(original_.substr(0, length), "length " + std::to_string(length));
  }
}

TEST_F(BackupTamperTest, WrongSecretKeyIsRefused) {
  testing::TempDir other_keys;
  ASSERT_OK(GenerateKeyPair(other_keys.path().string()));

  auto result = RestoreBackup({.from_file = backup_, .secret_key_file = other_keys.File("backup.sec"),
                               .data_dir = target_.string()});

  EXPECT_ERROR_CODE(result, ErrorCode::kFailedPrecondition);
  EXPECT_NE(result.error().message().find("wrong secret key"), std::string::npos);
  EXPECT_EQ(DirFingerprint(target_), fingerprint_);
}

TEST_F(BackupTamperTest, OlderAndUnknownFormatVersionsAreRefused) {
  for (int version : {0, 3, 65535}) {
    std::string bytes = original_;
    bytes[8] = static_cast<char>(version & 0xff);
    bytes[9] = static_cast<char>(version >> 8);
    ExpectRefusedUntouched(bytes, "version " + std::to_string(version));
  }
}

TEST_F(BackupTamperTest, RestoreOverARunningServersDataDirIsRefused) {
  auto lock = DataDirLock::Acquire(target_.string());
  ASSERT_OK(lock);
  fingerprint_ = DirFingerprint(target_);

  auto result = Restore(backup_, target_);

  EXPECT_ERROR_CODE(result, ErrorCode::kFailedPrecondition);
  EXPECT_NE(result.error().message().find("running server"), std::string::npos);
  EXPECT_EQ(DirFingerprint(target_), fingerprint_);
}

TEST_F(BackupTamperTest, FailedRestoreIntoANewDirLeavesNoDir) {
  std::string bytes = original_;
  bytes[bytes.size() / 2] ^= 1;
  { std::ofstream(root_.path() / "t.pnbk", std::ios::binary) << bytes; }

  auto result = Restore((root_.path() / "t.pnbk").string(), root_.path() / "fresh");

  EXPECT_ERROR_CODE(result, ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(fs::exists(root_.path() / "fresh"));
}

// Restore checks the audit ledger of a data backup before the swap (SECURITY.md §2.5): a backup whose ledger
// was edited behind the store's back is refused naming the first broken seq, and the target stays untouched.
class BackupLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    ASSERT_OK(GenerateKeyPair(keys_.path().string()));
    data_ = root_.path() / "data";
    fs::create_directories(data_);
    crypto_ = testing::MakeTestCrypto((root_.path() / "test-keystore.db").string());
    auto signer = audit::LedgerSigner::LoadOrCreate((data_ / kLedgerSigningKeyFile).string());
    ASSERT_OK(signer);
    public_key_ = signer->PublicKeyHex();
    testing::FakeClock clock(FromUnixMillis(1'700'000'000'000));
    auto inner = storage::OpenSqliteStore({.path = (data_ / kDatabaseFile).string(), .crypto = crypto_.get()});
    ASSERT_OK(inner);
    auto store = audit::LedgeredStore::Open(std::move(*inner), clock);
    ASSERT_OK(store);
    audit::LedgerService service(**store, *signer);
    ASSERT_OK(AddCustomers(**store, 1, 10));  // ledger entries 1..20 (customer.create + identity.add)
    ASSERT_OK(service.CheckpointNow());
    for (int i = 11; i <= 15; ++i) ASSERT_OK(AddCustomer(**store, i));
    entries_ = std::stoll(RawText("SELECT count(*) FROM ledger"));
    ASSERT_GE(entries_, 25);
    // The target: a data dir with its own signing key and database, which a refusal must not touch.
    target_ = root_.path() / "target";
    fs::create_directories(target_);
    fs::copy_file(data_ / kLedgerSigningKeyFile, target_ / kLedgerSigningKeyFile);
  }

  std::string RawText(const std::string& sql) { return testing::RawText((data_ / kDatabaseFile).string(), sql); }

  // Edits the source database as an intruder with file access would, before the backup is taken.
  void RawSql(const std::string& sql) { testing::RawSql((data_ / kDatabaseFile).string(), sql); }

  Result<BackupResult> Backup() {
    return CreateBackup({.data_dir = data_.string(), .to_dir = (root_.path() / "backups").string(),
                         .public_key_file = keys_.File("backup.pub"), .now = FromUnixMillis(1'800'000'000'000)});
  }

  void ExpectRefusedAt(int64_t seq, const std::string& what) {
    auto made = Backup();
    ASSERT_OK(made);
    auto before = DirFingerprint(target_);
    auto result = RestoreBackup({.from_file = made->path, .secret_key_file = keys_.File("backup.sec"),
                                 .data_dir = target_.string()});
    ASSERT_FALSE(result.has_value()) << what;
    EXPECT_EQ(result.error().code(), ErrorCode::kFailedPrecondition) << what;
    EXPECT_EQ(result.error().message().rfind("backup refused: ledger broken at seq " + std::to_string(seq) + ":", 0), 0u)
        << what << ": " << result.error().message();
    EXPECT_EQ(DirFingerprint(target_), before) << what;
  }

  testing::TempDir root_, keys_;
  std::unique_ptr<security::FieldEncryptor> crypto_;
  fs::path data_, target_;
  std::string public_key_;
  int64_t entries_ = 0;
};

TEST_F(BackupLedgerTest, AnIntactLedgerIsVerifiedWithSignaturesBeforeTheSwap) {
  auto made = Backup();
  ASSERT_OK(made);

  auto restored = RestoreBackup({.from_file = made->path, .secret_key_file = keys_.File("backup.sec"),
                                 .data_dir = target_.string()});

  ASSERT_OK(restored);
  EXPECT_EQ(restored->ledger_entries, entries_);
  EXPECT_EQ(restored->ledger_checkpoints, 1);
  EXPECT_TRUE(restored->ledger_signatures_checked);
  EXPECT_TRUE(fs::exists(target_ / kDatabaseFile));
}

TEST_F(BackupLedgerTest, AnEditedEntryIsRefusedNamingItsSeq) {
  RawSql("UPDATE ledger SET body = replace(body, '\"customer.create\"', '\"customer.delete\"') WHERE seq = 23");
  ExpectRefusedAt(23, "edited entry after the checkpoint");
}

TEST_F(BackupLedgerTest, ADeletedEntryIsRefusedNamingItsSeq) {
  RawSql("DELETE FROM ledger WHERE seq = 7");
  ExpectRefusedAt(7, "deleted entry");
}

TEST_F(BackupLedgerTest, AReSignedCheckpointUnderAnotherKeyIsRefused) {
  RawSql("UPDATE ledger_checkpoints SET signature = '" + std::string(128, '0') + "'");
  ExpectRefusedAt(1, "forged checkpoint signature");
}

TEST_F(BackupLedgerTest, WithoutASigningKeyTheChainIsStillCheckedAndAWrongPublicKeyIsRefused) {
  fs::remove(target_ / kLedgerSigningKeyFile);
  auto made = Backup();
  ASSERT_OK(made);
  auto unsigned_check = RestoreBackup({.from_file = made->path, .secret_key_file = keys_.File("backup.sec"),
                                       .data_dir = target_.string()});
  ASSERT_OK(unsigned_check);
  EXPECT_FALSE(unsigned_check->ledger_signatures_checked);
  EXPECT_EQ(unsigned_check->ledger_entries, entries_);

  auto wrong_key = RestoreBackup({.from_file = made->path, .secret_key_file = keys_.File("backup.sec"),
                                  .data_dir = target_.string(), .ledger_public_key_hex = std::string(64, 'a')});
  ASSERT_FALSE(wrong_key.has_value());
  EXPECT_NE(wrong_key.error().message().find("bad signature"), std::string::npos) << wrong_key.error().message();
  EXPECT_FIELD_ERROR(RestoreBackup({.from_file = made->path, .secret_key_file = keys_.File("backup.sec"),
                                    .data_dir = target_.string(), .ledger_public_key_hex = "xyz"}),
                     "ledger-pubkey");
}

}  // namespace
}  // namespace panorama::backup
