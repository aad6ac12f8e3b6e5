// R6 (SECURITY.md §3), the PRAGMA max_page_count half: the real Store is capped a few pages above its size (an
// SQLite auto extension sets max_page_count on its connections) and takes customer writes until the cap refuses
// one. Every refusal must be kUnavailable (503) with a Retry-After and a
// message naming "storage full", leave no partial row, keep the database intact and keep every acknowledged
// write; once the cap is gone ("space returns"), the next write succeeds. The RLIMIT_FSIZE half runs against
// the real server in tests/e2e/disk_full_test.cc.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <iostream>
#include <string>

#include "storage/store.h"
#include "tests/support/customer_fixture.h"
#include "tests/support/result_matchers.h"
#include "tests/support/test_crypto.h"
#include "tests/support/temp_dir.h"

namespace panorama {
namespace {

const testing::TestCustomers kCustomers("full", "+861360013");

// The page cap every new SQLite connection of this process gets (0: none). An auto extension sets it, so the
// real Store is capped without a test-only option in its interface.
int64_t g_max_pages = 0;

int CapPages(sqlite3* db, char**, const sqlite3_api_routines*) {
  if (g_max_pages > 0) {
    std::string pragma = "PRAGMA max_page_count=" + std::to_string(g_max_pages);
    sqlite3_exec(db, pragma.c_str(), nullptr, nullptr, nullptr);
  }
  return SQLITE_OK;
}

TEST(DiskFullStore, MaxPageCountRefusesCleanlyAsStorageFullAndWritesResumeWithSpace) {
  ASSERT_EQ(sqlite3_auto_extension(reinterpret_cast<void (*)()>(&CapPages)), SQLITE_OK);
  testing::TempDir dir;
  auto crypto = testing::MakeTestCrypto(dir.File("keystore.db"), /*durable=*/false);
  int next = 0;
  int64_t pages = 0;
  {
    auto store = storage::OpenSqliteStore({.path = dir.File("panorama.db"), .crypto = crypto.get()});
    ASSERT_OK(store);
    ASSERT_OK(kCustomers.Create(**store, next++));
  }
  // The store closed cleanly, so the file holds every page: its size is the page count.
  pages = static_cast<int64_t>(std::filesystem::file_size(dir.File("panorama.db")) / 4096);
  ASSERT_GT(pages, 0);
  int acknowledged = next;
  int refusals = 0;
  {
    g_max_pages = pages + 8;
    auto store = storage::OpenSqliteStore({.path = dir.File("panorama.db"), .crypto = crypto.get()});
    g_max_pages = 0;  // only this store's connections are capped
    ASSERT_OK(store);
    // Filling 8 pages takes a few dozen customers; 2,000 bounds the loop if the cap does not bite.
    for (int i = 0; i < 2000 && refusals < 3; ++i) {
      int n = next++;
      auto written = kCustomers.Create(**store, n);
      if (written) {
        ASSERT_EQ(refusals, 0) << "a write succeeded after the database was full";
        ++acknowledged;
        continue;
      }
      ++refusals;
      EXPECT_EQ(written.error().code(), ErrorCode::kUnavailable) << written.error().message();
      EXPECT_TRUE(written.error().message().starts_with("storage full")) << written.error().message();
      EXPECT_TRUE(written.error().retry_after_seconds().has_value());
      EXPECT_EQ(kCustomers.IdentitiesFound(**store, n), 0) << "a refused write left rows behind";
      EXPECT_EQ(*(*store)->CountCustomers(), acknowledged);
      EXPECT_OK((*store)->CheckIntegrity());
    }
  }
  ASSERT_GT(refusals, 0) << "max_page_count never refused a write";
  std::cout << "[ disk-full ] cap " << pages + 8 << " pages: " << acknowledged << " writes acknowledged, then "
            << refusals << " refused as storage full\n";

  // Space returns: reopened without the cap, nothing acknowledged is missing and writes go through at once.
  auto store = storage::OpenSqliteStore({.path = dir.File("panorama.db"), .crypto = crypto.get()});
  ASSERT_OK(store);
  EXPECT_OK((*store)->CheckIntegrity());
  EXPECT_EQ(*(*store)->CountCustomers(), acknowledged);
  for (int n = 0; n < acknowledged; ++n) EXPECT_EQ(kCustomers.IdentitiesFound(**store, n), 2) << "customer " << n;
  ASSERT_OK(kCustomers.Create(**store, next));
  EXPECT_EQ(kCustomers.IdentitiesFound(**store, next), 2);
}

}  // namespace
}  // namespace panorama
