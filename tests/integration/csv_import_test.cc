// CSV import and export through a real SQLite store: mapping, per-row errors, idempotent re-import, dry run.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "ingest/csv_importer.h"
#include "ingest/ingest_pipeline.h"
#include "storage/store.h"
#include "tests/support/result_matchers.h"
#include "tests/support/test_crypto.h"
#include "tests/support/temp_dir.h"

namespace panorama::ingest {
namespace {

const Timestamp kNow = FromUnixMillis(1'750'000'000'000);

constexpr std::string_view kCustomers =
    "编号,姓名,邮箱,手机,城市,国家,标签\n"
    "C1,王芳,Fang@QQ.com,138 0013 8000,上海,中国,vip;newsletter\n"
    "C2,Jane Doe,jane@example.com,+1 415 555 2671,San Francisco,US,\n"
    "C3,欧阳娜娜,,13912345678,北京,CN,\n";
constexpr std::string_view kMapping = "external_id=编号,name=姓名,email=邮箱,phone=手机,city=城市,country=国家,tags=标签";

class CsvImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto_ = testing::MakeTestCrypto(dir_.File("keystore.db"));
    store_ = std::move(storage::OpenSqliteStore({.path = dir_.File("import.db"), .crypto = crypto_.get()})).value();
  }

  Result<ImportReport> Import(std::string_view bytes, ImportOptions options) {
    return ImportCsv(*store_, bytes, options, rates_, kNow);
  }
  ImportOptions Customers() { return {.kind = ImportKind::kCustomers, .mapping = std::string(kMapping)}; }

  testing::TempDir dir_;
  std::unique_ptr<security::FieldEncryptor> crypto_;
  ExchangeRates rates_;
  std::unique_ptr<storage::Store> store_;
};

TEST_F(CsvImportTest, ImportsCustomersThroughAColumnMapping) {
  auto report = Import(kCustomers, Customers());

  ASSERT_OK(report);
  EXPECT_TRUE(report->applied);
  EXPECT_EQ(report->created, 3);
  EXPECT_TRUE(report->errors.empty());
  auto wang = store_->FindIdentity("external_id", "C1");
  ASSERT_TRUE(wang->has_value());
  auto customer = store_->GetCustomer(**wang);
  EXPECT_EQ(customer->name, "王芳");
  EXPECT_EQ(customer->email, "fang@qq.com");
  EXPECT_EQ(customer->phone, "+8613800138000");
  EXPECT_EQ(customer->country, "CN");
  EXPECT_EQ(customer->tags, (std::vector<std::string>{"vip", "newsletter"}));
}

TEST_F(CsvImportTest, ReimportingTheSameFileCreatesNoDuplicates) {
  ASSERT_OK(Import(kCustomers, Customers()));

  auto again = Import(kCustomers, Customers());

  ASSERT_OK(again);
  EXPECT_EQ(again->created, 0);
  EXPECT_EQ(again->updated, 3);
  EXPECT_EQ(store_->CountCustomers().value(), 3);
  auto wang = store_->GetCustomer(**store_->FindIdentity("external_id", "C1"));
  EXPECT_EQ(wang->tags.size(), 2u);
}

// Collects what an import tells its observer after the commit.
class RecordingObserver final : public IngestObserver {
 public:
  void OnCustomerCreated(CustomerId c) override { created.push_back(c); }
  void OnMerged(CustomerId, CustomerId) override {}
  void OnEvent(CustomerId, Timestamp) override {}
  void OnOrder(CustomerId, Timestamp, int64_t) override {}
  void OnCustomersUpdated(const std::vector<CustomerId>& customers) override {
    ++update_batches;
    updated.insert(updated.end(), customers.begin(), customers.end());
  }
  std::vector<CustomerId> created;
  std::vector<CustomerId> updated;
  int update_batches = 0;
};

TEST_F(CsvImportTest, TellsTheObserverWhichExistingCustomersWereUpdatedInOneBatch) {
  ASSERT_OK(Import(kCustomers, Customers()));
  RecordingObserver observer;
  RecordingObserver dry_observer;
  std::string file = std::string(kCustomers.substr(0, kCustomers.find('\n') + 1)) +
                     "C1,王芳,,,上海,GB,\nC3,欧阳娜娜,,,北京,GB,\nC9,新客户,,,北京,CN,\n";
  ImportOptions dry = Customers();
  dry.dry_run = true;

  auto preview = ImportCsv(*store_, file, dry, rates_, kNow, &dry_observer);
  auto report = ImportCsv(*store_, file, Customers(), rates_, kNow, &observer);

  ASSERT_OK(preview);
  EXPECT_TRUE(dry_observer.updated.empty());  // a dry run commits nothing, so tells nothing
  EXPECT_EQ(dry_observer.update_batches, 0);
  ASSERT_OK(report);
  EXPECT_EQ(report->updated, 2);
  EXPECT_EQ(observer.update_batches, 1);
  EXPECT_EQ(observer.updated, (std::vector<CustomerId>{**store_->FindIdentity("external_id", "C1"),
                                                       **store_->FindIdentity("external_id", "C3")}));
  ASSERT_EQ(observer.created.size(), 1u);
  EXPECT_EQ(store_->GetCustomer(observer.updated[0])->country, "GB");
}

TEST_F(CsvImportTest, BrokenRowsAreReportedWithLineAndFieldAndNothingIsWritten) {
  std::string file = std::string(kCustomers) +
                     "C4,坏邮箱,not-an-email,,上海,CN,\n"
                     "C5,坏电话,,12,上海,CN,\n"
                     ",没有标识,,,上海,CN,\n";

  auto report = Import(file, Customers());

  ASSERT_OK(report);
  EXPECT_FALSE(report->applied);
  ASSERT_EQ(report->errors.size(), 3u);
  EXPECT_EQ(report->errors[0].line, 5);
  EXPECT_EQ(report->errors[0].field, "email");
  EXPECT_EQ(report->errors[1].line, 6);
  EXPECT_EQ(report->errors[1].field, "phone");
  EXPECT_EQ(report->errors[2].line, 7);
  EXPECT_EQ(store_->CountCustomers().value(), 0);
}

TEST_F(CsvImportTest, SkipInvalidImportsTheGoodRowsAndReportsTheRest) {
  std::string file = std::string(kCustomers) + "C4,坏邮箱,not-an-email,,上海,CN,\n";
  ImportOptions options = Customers();
  options.skip_invalid = true;

  auto report = Import(file, options);

  ASSERT_OK(report);
  EXPECT_TRUE(report->applied);
  EXPECT_EQ(report->errors.size(), 1u);
  EXPECT_EQ(store_->CountCustomers().value(), 3);
}

TEST_F(CsvImportTest, DryRunReportsButWritesNothing) {
  ImportOptions options = Customers();
  options.dry_run = true;

  auto report = Import(kCustomers, options);

  ASSERT_OK(report);
  EXPECT_FALSE(report->applied);
  EXPECT_EQ(report->created, 3);
  EXPECT_EQ(store_->CountCustomers().value(), 0);
}

TEST_F(CsvImportTest, Utf8BomIsTolerated) {
  std::string file = "\xEF\xBB\xBF" + std::string(kCustomers);

  auto report = Import(file, Customers());

  ASSERT_OK(report);
  EXPECT_EQ(report->created, 3);
}

TEST_F(CsvImportTest, UnknownMappingColumnIsRejectedNamingTheMapping) {
  ImportOptions options{.kind = ImportKind::kCustomers, .mapping = "name=Nonexistent"};

  auto report = Import(kCustomers, options);

  EXPECT_ERROR_CODE(report, ErrorCode::kInvalidArgument);
  EXPECT_FIELD_ERROR(report, "mapping");
  EXPECT_EQ(store_->CountCustomers().value(), 0);
}

TEST_F(CsvImportTest, OrdersFromRealRetailDataImportOnceAndLinkCustomers) {
  std::ifstream in("tests/fixtures/online_retail_sample.csv", std::ios::binary);
  ASSERT_TRUE(in) << "fixture missing";
  std::stringstream buffer;
  buffer << in.rdbuf();
  ImportOptions options{.kind = ImportKind::kOrders,
                        .mapping = "order_id=InvoiceNo,sku=StockCode,product_name=Description,quantity=Quantity,"
                                   "placed_at=InvoiceDate,unit_price=UnitPrice,customer_external_id=CustomerID",
                        .rows = {.currency = "GBP"},
                        .skip_invalid = true};

  auto first = Import(buffer.str(), options);
  auto second = Import(buffer.str(), options);

  ASSERT_OK(first);
  EXPECT_EQ(first->created, 34);  // invoices in the fixture, counted with Python's csv module
  ASSERT_OK(second);
  EXPECT_EQ(second->created, 0);
  EXPECT_EQ(second->unchanged, 34);
  auto orders = store_->ListOrders({.limit = 100});
  ASSERT_EQ(orders->size(), 34u);
  auto invoice = std::find_if(orders->begin(), orders->end(), [](const auto& o) { return o.external_id == "536365"; });
  ASSERT_NE(invoice, orders->end());
  EXPECT_EQ(invoice->total, (Money{13912, "GBP"}));
  EXPECT_EQ(store_->GetCustomer(invoice->customer)->external_id, "17850");
}

TEST_F(CsvImportTest, ExportedOrdersReimportIntoAnEmptyStore) {
  ASSERT_OK(Import(kCustomers, Customers()));
  std::string orders =
      "order_id,customer_email,placed_at,currency,sku,product_name,quantity,unit_price,status\n"
      "SO-1,fang@qq.com,2025-01-02 10:00,CNY,TEE,T恤,2,99.90,completed\n"
      "SO-1,fang@qq.com,2025-01-02 10:00,CNY,SOCK,袜子,1,10,completed\n"
      "SO-2,jane@example.com,2025-01-03 11:00,USD,HAT,Hat,1,25,cancelled\n";
  ASSERT_OK(Import(orders, {.kind = ImportKind::kOrders}));
  auto exported = ExportOrdersCsv(*store_);
  ASSERT_OK(exported);
  testing::TempDir other;
  store_.reset();
  crypto_ = testing::MakeTestCrypto(other.File("keystore.db"));
  store_ = std::move(storage::OpenSqliteStore({.path = other.File("copy.db"), .crypto = crypto_.get()})).value();

  auto reimport = Import(*exported, {.kind = ImportKind::kOrders});

  ASSERT_OK(reimport);
  EXPECT_TRUE(reimport->errors.empty()) << reimport->errors.front().field << ": " << reimport->errors.front().reason;
  EXPECT_EQ(reimport->created, 2);
  auto copied = store_->ListOrders({});
  ASSERT_EQ(copied->size(), 2u);
  EXPECT_EQ(copied->front().total, (Money{20980, "CNY"}));
  EXPECT_EQ(copied->front().items.size(), 2u);
}

TEST_F(CsvImportTest, ExportWritesEveryCustomerAndReimportsCleanly) {
  ASSERT_OK(Import(kCustomers, Customers()));

  auto csv = ExportCustomersCsv(*store_);
  ASSERT_OK(csv);
  auto reimport = Import(*csv, {.kind = ImportKind::kCustomers});

  ASSERT_OK(reimport);
  EXPECT_TRUE(reimport->errors.empty()) << reimport->errors.front().reason;
  EXPECT_EQ(reimport->created, 0);
  EXPECT_NE(csv->find("欧阳娜娜"), std::string::npos);
}

}  // namespace
}  // namespace panorama::ingest
