// R5 (SECURITY.md §3): a representative write — creating a customer with its email and phone identities, as
// POST /api/v1/customers does — is run against a fault VFS that fails its Nth I/O operation, for every N from 1
// to the number of operations the write performs. Each time the write must fail cleanly (kUnavailable, which
// http/ answers with 503), leave no partial row, keep the database intact, and the next write must succeed —
// also after the store is reopened (WAL recovery must not resurrect the failed write).

#include <gtest/gtest.h>

#include <iostream>
#include <string>

#include "storage/store.h"
#include "tests/support/customer_fixture.h"
#include "tests/support/fault_vfs.h"
#include "tests/support/result_matchers.h"
#include "tests/support/test_crypto.h"
#include "tests/support/temp_dir.h"

namespace panorama {
namespace {

constexpr const char* kVfsName = "panorama-fault";

storage::StoreOptions Options(const testing::TempDir& dir, storage::FieldCrypto* crypto) {
  return {.path = dir.File("panorama.db"), .crypto = crypto, .read_connections = 1, .vfs = kVfsName};
}

// The write under test (shared with the R7 and R3 sweeps).
const testing::TestCustomers kCustomers("wang", "+861380013");

Result<void> CreateCustomer(storage::Store& store, int n) { return kCustomers.Create(store, n); }

// Rows the write touches, counted through the Store so a half-applied write shows up.
struct Counts {
  int64_t customers = 0;
  bool email_identity = false;
  bool phone_identity = false;
};

Counts CountFor(storage::Store& store, int n) {
  Counts counts;
  auto customers = store.CountCustomers();
  counts.customers = customers ? *customers : -1;
  auto email = store.FindIdentity("email", kCustomers.Email(n));
  counts.email_identity = email && email->has_value();
  auto phone = store.FindIdentity("phone", kCustomers.Phone(n));
  counts.phone_identity = phone && phone->has_value();
  return counts;
}

TEST(IoFaultSweep, EveryFailedOperationLeavesNoPartialWriteAndTheNextWriteSucceeds) {
  auto& vfs = testing::FaultVfs::Register(kVfsName);
  int64_t total_ops = 0;
  {
    testing::TempDir dir;
    auto crypto = testing::MakeTestCrypto(dir.File("keystore.db"));
    auto store = storage::OpenSqliteStore(Options(dir, crypto.get()));
    ASSERT_OK(store);
    ASSERT_OK(CreateCustomer(**store, 0));
    vfs.Arm(0);
    ASSERT_OK(CreateCustomer(**store, 1));
    total_ops = vfs.Disarm();
  }
  ASSERT_GT(total_ops, 2) << "the VFS saw no I/O: is it wired into the store?";
  std::cout << "[ io-fault ] one customer create performs " << total_ops << " counted I/O operations\n";

  for (int64_t n = 1; n <= total_ops; ++n) {
    SCOPED_TRACE("failing operation " + std::to_string(n) + " of " + std::to_string(total_ops));
    testing::TempDir dir;  // fresh database per N
    auto crypto = testing::MakeTestCrypto(dir.File("keystore.db"));  // the keystore is not under the fault VFS
    {
      auto store = storage::OpenSqliteStore(Options(dir, crypto.get()));
      ASSERT_OK(store);
      ASSERT_OK(CreateCustomer(**store, 0));

      vfs.Arm(n);
      auto failed = CreateCustomer(**store, 1);
      vfs.Disarm();

      ASSERT_TRUE(vfs.fired());
      EXPECT_ERROR_CODE(failed, ErrorCode::kUnavailable);
      Counts after = CountFor(**store, 1);
      EXPECT_EQ(after.customers, 1);
      EXPECT_FALSE(after.email_identity);
      EXPECT_FALSE(after.phone_identity);
      EXPECT_OK((*store)->CheckIntegrity());

      ASSERT_OK(CreateCustomer(**store, 2));
      EXPECT_EQ(CountFor(**store, 2).customers, 2);
    }
    // Reopen: recovery must neither lose the acknowledged writes nor bring back the failed one.
    auto reopened = storage::OpenSqliteStore(Options(dir, crypto.get()));
    ASSERT_OK(reopened);
    EXPECT_OK((*reopened)->CheckIntegrity());
    EXPECT_EQ(CountFor(**reopened, 2).customers, 2);
    EXPECT_FALSE(CountFor(**reopened, 1).email_identity);
    EXPECT_TRUE(CountFor(**reopened, 2).phone_identity);
  }
}

}  // namespace
}  // namespace panorama
