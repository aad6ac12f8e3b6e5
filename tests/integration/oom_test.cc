// R7 (SECURITY.md §3): SQLite's allocator is wrapped (sqlite3_config(SQLITE_CONFIG_MALLOC), installed before
// SQLite initialises) so that its Nth allocation fails. A representative write — a customer with its email and
// phone identities, as POST /api/v1/customers does — is run once for every N from 1 to the number of
// allocations it makes. Each time the process must not crash, the write must fail cleanly (kUnavailable, 503)
// or succeed whole, leave no partial row, keep the database intact, and the next write must succeed. Under
// scripts/sanitize.sh the same test also proves no allocation leaks on the failure paths.

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <iostream>
#include <string>

#include <gtest/gtest.h>

#include "storage/store.h"
#include "tests/support/customer_fixture.h"
#include "tests/support/result_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_crypto.h"

namespace panorama {
namespace {

// Counts allocations and reallocations while armed and fails the chosen one (only that one: SQLite must then
// recover on its own, as after a transient shortage).
class FailingAllocator {
 public:
  static void Install() {
    sqlite3_config(SQLITE_CONFIG_GETMALLOC, &base_);
    sqlite3_mem_methods wrapped = base_;
    wrapped.xMalloc = &Malloc;
    wrapped.xRealloc = &Realloc;
    installed_ = sqlite3_config(SQLITE_CONFIG_MALLOC, &wrapped) == SQLITE_OK;
  }
  static bool installed() { return installed_; }
  static void Arm(int64_t fail_at) {
    seen_ = 0;
    fired_ = false;
    fail_at_ = fail_at;
    armed_ = true;
  }
  static int64_t Disarm() {
    armed_ = false;
    return seen_;
  }
  static bool fired() { return fired_; }

 private:
  static bool ShouldFail() {
    if (!armed_) return false;
    if (++seen_ == fail_at_) {
      fired_ = true;
      return true;
    }
    return false;
  }
  static void* Malloc(int n) { return ShouldFail() ? nullptr : base_.xMalloc(n); }
  static void* Realloc(void* p, int n) { return ShouldFail() ? nullptr : base_.xRealloc(p, n); }

  static inline sqlite3_mem_methods base_{};
  static inline bool installed_ = false;
  static inline std::atomic<bool> armed_{false};
  static inline std::atomic<bool> fired_{false};
  static inline std::atomic<int64_t> seen_{0};
  static inline std::atomic<int64_t> fail_at_{0};
};

// Before main(), hence before anything initialises SQLite (sqlite3_config is refused afterwards).
const bool kInstalled = (FailingAllocator::Install(), true);

// The write under test (shared with the R5 and R3 sweeps).
const testing::TestCustomers kCustomers("oom", "+861390013");

Result<void> CreateCustomer(storage::Store& store, int n) { return kCustomers.Create(store, n); }
bool HasIdentities(storage::Store& store, int n) { return kCustomers.IdentitiesFound(store, n) == 2; }
bool HasAnyIdentity(storage::Store& store, int n) { return kCustomers.IdentitiesFound(store, n) != 0; }

TEST(OomSweep, EveryFailedAllocationFailsTheWriteCleanlyOrNotAtAll) {
  ASSERT_TRUE(kInstalled && FailingAllocator::installed()) << "sqlite3_config ran after SQLite initialised";
  testing::TempDir dir;
  auto crypto = testing::MakeTestCrypto(dir.File("keystore.db"));
  auto store = storage::OpenSqliteStore({.path = dir.File("panorama.db"), .crypto = crypto.get(), .read_connections = 1});
  ASSERT_OK(store);
  ASSERT_OK(CreateCustomer(**store, 0));
  FailingAllocator::Arm(0);
  ASSERT_OK(CreateCustomer(**store, 1));
  int64_t total = FailingAllocator::Disarm();
  ASSERT_GT(total, 2) << "no SQLite allocation seen: is the wrapper installed?";
  std::cout << "[ oom ] one customer create makes " << total << " SQLite allocations\n";

  int failures = 0;
  int next = 2;
  for (int64_t n = 1; n <= total; ++n, ++next) {
    SCOPED_TRACE("failing allocation " + std::to_string(n) + " of " + std::to_string(total));
    int64_t before = *(*store)->CountCustomers();

    FailingAllocator::Arm(n);
    auto result = CreateCustomer(**store, next);
    FailingAllocator::Disarm();

    if (result) {  // SQLite retried or did without the allocation: the write is whole
      EXPECT_EQ(*(*store)->CountCustomers(), before + 1);
      EXPECT_TRUE(HasIdentities(**store, next));
    } else {
      ++failures;
      EXPECT_ERROR_CODE(result, ErrorCode::kUnavailable);
      EXPECT_EQ(*(*store)->CountCustomers(), before);
      EXPECT_FALSE(HasAnyIdentity(**store, next));
    }
    ASSERT_OK((*store)->CheckIntegrity());
    ++next;
    ASSERT_OK(CreateCustomer(**store, next));  // the store recovers at once
  }
  std::cout << "[ oom ] " << failures << " of " << total << " failed allocations failed the write\n";
  EXPECT_GT(failures, 0);
}

}  // namespace
}  // namespace panorama
