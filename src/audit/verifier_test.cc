// S13 (SECURITY.md §3): the ledger is edited, rows deleted, inserted and reordered with raw SQLite behind the
// store's back, and `audit verify` must name the first broken seq every time; tail truncation after a shipped
// checkpoint is caught through the witness file.

#include "audit/verifier.h"

#include <sodium.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include <gtest/gtest.h>

#include "audit/ledger_service.h"
#include "audit/ledgered_store.h"
#include "audit/merkle.h"
#include "tests/support/fake_clock.h"
#include "tests/support/raw_sqlite.h"
#include "tests/support/result_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_crypto.h"

namespace panorama::audit {
namespace {

constexpr int kEntries = 50;
constexpr int kCheckpointAt = 40;

using testing::RawText;

// Runs SQL on the database file directly, as an intruder with file access would. No fsync: the file is a
// throwaway copy, and 400 trials must stay within seconds.
void RawSql(const std::string& path, const std::string& sql) {
  testing::RawSql(path, "PRAGMA synchronous=OFF;" + sql);
}

class LedgerTamperTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_GE(sodium_init(), 0);
    dir_ = new testing::TempDir();
    auto signer = LedgerSigner::LoadOrCreate(dir_->File("ledger-signing.key"));
    ASSERT_OK(signer);
    public_key_ = new std::string(signer->PublicKeyHex());
    testing::FakeClock clock(FromUnixMillis(1700000000000));
    static auto crypto = testing::MakeTestCrypto(dir_->File("keystore.db"));
    auto inner = storage::OpenSqliteStore({.path = Base(), .crypto = crypto.get()});
    ASSERT_OK(inner);
    auto store = LedgeredStore::Open(std::move(*inner), clock);
    ASSERT_OK(store);
    LedgerService service(**store, *signer, {.witness_path = dir_->File("witness.jsonl")});
    auto append = [&](int from, int to) {
      std::vector<LedgerEntry> entries;
      for (int i = from; i <= to; ++i) {
        LedgerEntry e;
        e.actor = "user:" + std::to_string(i % 3 + 1);
        e.action = i % 2 ? "customer.update" : "customer.read";
        e.object_type = "customer";
        e.object_id = std::to_string(i);
        e.fields = {"city"};
        entries.push_back(e);
      }
      ASSERT_OK((*store)->AppendEntries(entries));
    };
    append(1, kCheckpointAt);
    ASSERT_OK(service.CheckpointNow());
    append(kCheckpointAt + 1, kEntries);
  }
  static void TearDownTestSuite() {
    delete public_key_;
    delete dir_;
  }

  static std::string Base() { return dir_->File("base.db"); }

  // A fresh copy of the untouched ledger.
  std::string Copy(const std::string& name) {
    std::string path = trial_dir_.File(name);
    std::filesystem::copy_file(Base(), path, std::filesystem::copy_options::overwrite_existing);
    return path;
  }

  Result<VerifyReport> Verify(const std::string& path, const std::string& witness = "") {
    auto store = storage::OpenSqliteStore({.path = path, .read_connections = 1, .ledger_only = true});
    if (!store) return std::move(store.error());
    return VerifyLedger(**store, {.public_key_hex = *public_key_, .witness_path = witness});
  }

  void ExpectBrokenAt(const Result<VerifyReport>& result, int64_t seq, const std::string& what) {
    ASSERT_FALSE(result.has_value()) << what << ": tampering not detected";
    EXPECT_EQ(result.error().code(), ErrorCode::kFailedPrecondition) << what;
    std::string expected = "ledger broken at seq " + std::to_string(seq) + ":";
    EXPECT_EQ(result.error().message().rfind(expected, 0), 0u) << what << ": " << result.error().message();
  }

  static uint32_t Seed() {
    if (const char* fixed = std::getenv("PANORAMA_TEST_SEED")) return static_cast<uint32_t>(std::stoul(fixed));
    return std::random_device{}();
  }

  static testing::TempDir* dir_;
  static std::string* public_key_;
  testing::TempDir trial_dir_;
};

testing::TempDir* LedgerTamperTest::dir_ = nullptr;
std::string* LedgerTamperTest::public_key_ = nullptr;

TEST_F(LedgerTamperTest, AnUntouchedLedgerVerifies) {
  auto report = Verify(Copy("clean.db"), dir_->File("witness.jsonl"));

  ASSERT_OK(report);
  EXPECT_EQ(report->entries, kEntries);
  EXPECT_EQ(report->checkpoints, 1);
  EXPECT_EQ(report->witness_checkpoints, 1);
}

TEST_F(LedgerTamperTest, NamesTheFirstBrokenSeqInOneHundredRandomTrialsOfEachTampering) {
  uint32_t seed = Seed();
  std::cout << "S13 seed " << seed << " (rerun with PANORAMA_TEST_SEED=" << seed << ")\n";
  RecordProperty("seed", std::to_string(seed));
  std::mt19937 rng(seed);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

  for (int trial = 0; trial < 100; ++trial) {
    std::string where = " (trial " + std::to_string(trial) + ", seed " + std::to_string(seed) + ")";
    {
      // Edit: rewrite one field inside the hashed body.
      int k = pick(1, kEntries);
      std::string path = Copy("edit.db");
      RawSql(path, "UPDATE ledger SET body = replace(body, '\"fields\":[\"city\"]', '\"fields\":[\"email\"]')"
                   " WHERE seq = " + std::to_string(k));
      ExpectBrokenAt(Verify(path), k, "edit of seq " + std::to_string(k) + where);
    }
    {
      // Delete: a row disappears from the middle (tail truncation is the witness test below).
      int k = pick(1, kEntries - 1);
      std::string path = Copy("delete.db");
      RawSql(path, "DELETE FROM ledger WHERE seq = " + std::to_string(k));
      ExpectBrokenAt(Verify(path), k, "delete of seq " + std::to_string(k) + where);
    }
    {
      // Insert: make room at k and forge a row that links to k - 1 with a correct hash of its own; the
      // chain then breaks at the row after it, which no longer links back.
      int k = pick(1, kEntries);
      std::string path = Copy("insert.db");
      std::string prev_hex = k == 1 ? ToHex(Hash{})
                                    : RawText(path, "SELECT entry_hash FROM ledger WHERE seq = " + std::to_string(k - 1));
      LedgerEntry forged;
      forged.seq = k;
      forged.actor = "user:1";
      forged.action = "customer.update";
      forged.object_type = "customer";
      forged.object_id = "999";
      std::string body = CanonicalJson(forged);
      std::string hash = ToHex(EntryHash(*HashFromHex(prev_hex), body));
      RawSql(path, "UPDATE ledger SET seq = -seq WHERE seq >= " + std::to_string(k) +
                       "; UPDATE ledger SET seq = 1 - seq WHERE seq < 0; INSERT INTO ledger (seq, body, prev_hash,"
                       " entry_hash) VALUES (" + std::to_string(k) + ", '" + body + "', '" + prev_hex + "', '" +
                       hash + "')");
      // A careful intruder also fills the search columns, so only the chain can give the forgery away.
      RawSql(path, "UPDATE ledger SET at = json_extract(body, '$.at'), actor = json_extract(body, '$.actor'), "
                   "action = json_extract(body, '$.action'), object_type = json_extract(body, '$.object_type'), "
                   "object_id = json_extract(body, '$.object_id') WHERE seq = " + std::to_string(k));
      ExpectBrokenAt(Verify(path), k + 1, "insert at seq " + std::to_string(k) + where);
    }
    {
      // Reorder: two rows swap places.
      int j = pick(1, kEntries - 1);
      int k = pick(j + 1, kEntries);
      std::string path = Copy("reorder.db");
      RawSql(path, "UPDATE ledger SET seq = -1 WHERE seq = " + std::to_string(j) + "; UPDATE ledger SET seq = " +
                       std::to_string(j) + " WHERE seq = " + std::to_string(k) + "; UPDATE ledger SET seq = " +
                       std::to_string(k) + " WHERE seq = -1");
      ExpectBrokenAt(Verify(path), j, "swap of seq " + std::to_string(j) + " and " + std::to_string(k) + where);
    }
  }
}

TEST_F(LedgerTamperTest, TailTruncationAfterACheckpointIsCaughtThroughTheWitness) {
  std::string path = Copy("truncated.db");
  RawSql(path, "DELETE FROM ledger WHERE seq > 35; DELETE FROM ledger_checkpoints");

  auto without_witness = Verify(path);
  auto with_witness = Verify(path, dir_->File("witness.jsonl"));

  // The chain alone cannot tell a cut tail from a short ledger; the shipped checkpoint can.
  EXPECT_OK(without_witness);
  ExpectBrokenAt(with_witness, 36, "truncation after seq 35");
}

TEST_F(LedgerTamperTest, ARewrittenChainIsCaughtByTheSignedCheckpoint) {
  // An intruder who recomputes every hash from seq 10 on keeps the chain whole; the signed root does not match.
  std::string path = Copy("rewritten.db");
  RawSql(path, "UPDATE ledger SET body = replace(body, '\"fields\":[\"city\"]', '\"fields\":[\"email\"]')"
               " WHERE seq = 10");
  {
    auto store = storage::OpenSqliteStore({.path = path, .read_connections = 1, .ledger_only = true});
    ASSERT_OK(store);
    Hash prev{};
    std::vector<storage::LedgerRow> rows;
    ASSERT_OK((*store)->ScanLedger(0, [&](const storage::LedgerRow& row) { rows.push_back(row); }));
    std::string sql;
    for (auto& row : rows) {
      Hash h = EntryHash(prev, row.body);
      sql += "UPDATE ledger SET prev_hash = '" + ToHex(prev) + "', entry_hash = '" + ToHex(h) +
             "' WHERE seq = " + std::to_string(row.seq) + ";";
      prev = h;
    }
    store->reset();
    RawSql(path, sql);
  }

  ExpectBrokenAt(Verify(path), 1, "rewritten chain");
}

TEST_F(LedgerTamperTest, AForgedCheckpointSignatureIsRejected) {
  std::string path = Copy("forged.db");
  RawSql(path, "UPDATE ledger_checkpoints SET signature = '" + std::string(128, '0') + "'");

  ExpectBrokenAt(Verify(path), 1, "forged signature");
}

TEST_F(LedgerTamperTest, AMalformedWitnessFileIsAnInputError) {
  std::string witness = trial_dir_.File("bad.jsonl");
  std::ofstream(witness) << "{\"to_seq\":\n";

  EXPECT_FIELD_ERROR(Verify(Copy("clean.db"), witness), "witness");
  EXPECT_FIELD_ERROR(Verify(Copy("clean.db"), trial_dir_.File("missing.jsonl")), "witness");
}

}  // namespace
}  // namespace panorama::audit
