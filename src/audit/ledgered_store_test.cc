#include "audit/ledgered_store.h"

#include <sodium.h>

#include <gtest/gtest.h>

#include "audit/ledger_service.h"
#include "audit/merkle.h"
#include "audit/verifier.h"
#include "core/actor_context.h"
#include "tests/support/fake_clock.h"
#include "tests/support/result_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_crypto.h"

namespace panorama::audit {
namespace {

using storage::WriteTxn;

template <typename T>
Result<void> Done(Result<T> r) {
  if (!r) return std::move(r.error());
  return Ok();
}

class LedgeredStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    Reopen();
  }

  void Reopen() {
    store_.reset();
    if (!crypto_) crypto_ = testing::MakeTestCrypto(dir_.File("keystore.db"));
    auto inner = storage::OpenSqliteStore({.path = dir_.File("panorama.db"), .crypto = crypto_.get()});
    ASSERT_OK(inner);
    auto ledgered = LedgeredStore::Open(std::move(*inner), clock_);
    ASSERT_OK(ledgered);
    store_ = std::move(*ledgered);
  }

  std::vector<LedgerEntry> Entries() {
    std::vector<LedgerEntry> out;
    auto scanned = store_->ScanLedger(0, [&](const storage::LedgerRow& row) {
      auto e = ParseCanonicalJson(row.body);
      EXPECT_TRUE(e.has_value()) << row.body;
      if (e) out.push_back(*e);
    });
    EXPECT_TRUE(scanned.has_value());
    return out;
  }

  CustomerId AddCustomer() {
    CustomerId id;
    storage::CustomerRecord c;
    c.name = "王芳";
    c.email = "wang@example.com";
    c.created_at = c.updated_at = clock_.Now();
    auto r = store_->Write([&](WriteTxn& txn) -> Result<void> {
      ASSIGN_OR_RETURN(id, txn.InsertCustomer(c));
      return Ok();
    });
    EXPECT_TRUE(r.has_value());
    return id;
  }

  testing::FakeClock clock_{FromUnixMillis(1700000000000)};
  testing::TempDir dir_;
  std::unique_ptr<security::FieldEncryptor> crypto_;
  std::unique_ptr<LedgeredStore> store_;
};

TEST_F(LedgeredStoreTest, EachWriteKindAppendsItsEntryWithFieldNamesOnly) {
  ActorScope scope({.actor = "user:3", .request_id = "req-9", .ip = "10.1.2.0/24"});
  CustomerId id = AddCustomer();
  ASSERT_OK(store_->Write([&](WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(auto c, txn.GetCustomer(id));
    c.city = "上海";
    RETURN_IF_ERROR(txn.UpdateCustomer(c));
    RETURN_IF_ERROR(txn.AddIdentity({"email", "wang@example.com", id, clock_.Now()}));
    storage::OrderRecord o;
    o.customer = id;
    o.external_id = "A1";
    o.total = Money{100, "CNY"};
    o.status = "completed";
    o.placed_at = clock_.Now();
    RETURN_IF_ERROR(Done(txn.InsertOrder(o)));
    return Ok();
  }));

  auto entries = Entries();

  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].action, "customer.create");
  EXPECT_EQ(entries[0].fields, (std::vector<std::string>{"name", "email"}));
  EXPECT_EQ(entries[1].action, "customer.update");
  EXPECT_EQ(entries[1].fields, (std::vector<std::string>{"city"}));
  EXPECT_EQ(entries[2].action, "identity.add");
  EXPECT_EQ(entries[3].action, "order.create");
  for (const auto& e : entries) {
    EXPECT_EQ(e.actor, "user:3");
    EXPECT_EQ(e.request_id, "req-9");
    EXPECT_EQ(e.ip, "10.1.2.0/24");
    EXPECT_EQ(CanonicalJson(e).find("wang@example.com"), std::string::npos);
    EXPECT_EQ(CanonicalJson(e).find("王芳"), std::string::npos);
  }
  EXPECT_EQ(entries[3].seq, 4);
}

TEST_F(LedgeredStoreTest, AnIngestedEventEntryCarriesTheCustomerAndTheSegmentMessageId) {
  CustomerId id = AddCustomer();
  storage::EventRecord e;
  e.customer = id;
  e.type = "track";
  e.name = "Order Completed";
  e.message_id = "ajs-next-1234";
  e.timestamp = clock_.Now();
  e.received_at = clock_.Now();

  ASSERT_OK(store_->Write([&](WriteTxn& txn) { return Done(txn.InsertEvent(e)); }));

  auto entries = Entries();
  ASSERT_EQ(entries.back().action, "event.ingest");
  EXPECT_EQ(entries.back().ids, (std::vector<std::string>{id.ToString(), "message:ajs-next-1234"}));
}

TEST_F(LedgeredStoreTest, ARolledBackWriteLeavesNoEntryAndTheChainContinues) {
  auto failed = store_->Write([&](WriteTxn& txn) -> Result<void> {
    storage::CustomerRecord c;
    c.name = "x";
    RETURN_IF_ERROR(Done(txn.InsertCustomer(c)));
    return Error::Aborted("changed my mind");
  });
  AddCustomer();

  EXPECT_ERROR_CODE(failed, ErrorCode::kAborted);
  auto entries = Entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].seq, 1);
  ASSERT_OK(VerifyLedger(*store_, {}));
}

TEST_F(LedgeredStoreTest, AFailedSavepointTakesItsEntriesBackWithIt) {
  ASSERT_OK(store_->Write([&](WriteTxn& txn) -> Result<void> {
    storage::CustomerRecord c;
    c.name = "kept";
    RETURN_IF_ERROR(Done(txn.InsertCustomer(c)));
    auto nested = txn.Nested([&]() -> Result<void> {
      RETURN_IF_ERROR(Done(txn.InsertCustomer(c)));
      return Error::InvalidArgument("rolled back");
    });
    EXPECT_FALSE(nested.has_value());
    return Done(txn.InsertCustomer(c));
  }));

  auto entries = Entries();

  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].seq, 2);
  ASSERT_OK(VerifyLedger(*store_, {}));
}

TEST_F(LedgeredStoreTest, CallersCannotAppendRawLedgerRows) {
  auto r = store_->Write([&](WriteTxn& txn) { return txn.AppendLedger({1, "{}", "", ""}); });

  EXPECT_ERROR_CODE(r, ErrorCode::kPermissionDenied);
  EXPECT_TRUE(Entries().empty());
}

TEST_F(LedgeredStoreTest, TheChainHeadSurvivesAReopen) {
  AddCustomer();
  Reopen();
  AddCustomer();

  auto entries = Entries();

  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].seq, 2);
  ASSERT_OK(VerifyLedger(*store_, {}));
}

TEST_F(LedgeredStoreTest, WithoutAScopeTheActorIsSystem) {
  AddCustomer();

  EXPECT_EQ(Entries().at(0).actor, "system");
}

TEST_F(LedgeredStoreTest, QueuedReadsAreAppendedAsOneEntryPerRequestAndCheckpointed) {
  auto signer = LedgerSigner::LoadOrCreate(dir_.File("ledger-signing.key"));
  ASSERT_OK(signer);
  LedgerService service(*store_, *signer, {.witness_path = dir_.File("witness.jsonl")});
  {
    ActorScope scope({.actor = "user:5", .request_id = "r1"});
    LedgerEntry read;
    read.action = "customer.list";
    read.object_type = "customer";
    read.ids = {"1", "2", "3"};
    service.RecordRead(read);
  }

  EXPECT_TRUE(Entries().empty());  // queued, not yet written
  ASSERT_OK(service.Flush());
  ASSERT_OK(service.CheckpointNow());

  auto entries = Entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].actor, "user:5");
  EXPECT_EQ(entries[0].ids, (std::vector<std::string>{"1", "2", "3"}));
  auto checkpoints = store_->ListCheckpoints();
  ASSERT_OK(checkpoints);
  ASSERT_EQ(checkpoints->size(), 1u);
  EXPECT_EQ(checkpoints->at(0).to_seq, 1);
  auto report = VerifyLedger(*store_, {.public_key_hex = signer->PublicKeyHex(),
                                       .witness_path = dir_.File("witness.jsonl")});
  ASSERT_OK(report);
  EXPECT_EQ(report->witness_checkpoints, 1);
}

TEST_F(LedgeredStoreTest, TheBackgroundWriterFlushesReadsWithinItsWindow) {
  auto signer = LedgerSigner::LoadOrCreate(dir_.File("ledger-signing.key"));
  ASSERT_OK(signer);
  LedgerService service(*store_, *signer, {.flush_interval = std::chrono::milliseconds(10)});
  service.Start();
  LedgerEntry read;
  read.action = "customer.read";
  service.RecordRead(read);

  for (int i = 0; i < 200 && Entries().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  service.Stop();

  EXPECT_EQ(Entries().size(), 1u);
}

TEST_F(LedgeredStoreTest, RefusesToSignATailEditedWhileTheServerWasDown) {
  auto signer = LedgerSigner::LoadOrCreate(dir_.File("ledger-signing.key"));
  ASSERT_OK(signer);
  AddCustomer();
  AddCustomer();
  store_.reset();
  {
    auto raw = storage::OpenSqliteStore({.path = dir_.File("panorama.db"), .crypto = crypto_.get()});
    ASSERT_OK(raw);
    // Through the inner store's own transaction, i.e. behind the ledger's back.
    ASSERT_OK((*raw)->Write([](WriteTxn& txn) {
      return txn.AppendLedger({3, R"({"action":"forged"})", std::string(64, '0'), std::string(64, '0')});
    }));
  }
  Reopen();

  auto checkpoint = store_->Checkpoint(*signer);

  EXPECT_ERROR_CODE(checkpoint, ErrorCode::kFailedPrecondition);
  EXPECT_NE(checkpoint.error().message().find("seq 3"), std::string::npos) << checkpoint.error().message();
}

TEST(TruncateIp, KeepsOnlyTheNetwork) {
  EXPECT_EQ(TruncateIp("203.0.113.77"), "203.0.113.0/24");
  EXPECT_EQ(TruncateIp("2001:db8:abcd:12:1:2:3:4"), "2001:db8:abcd::/48");
  EXPECT_EQ(TruncateIp(""), "");
}

}  // namespace
}  // namespace panorama::audit
