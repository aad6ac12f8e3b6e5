// S4 (SECURITY.md §3): SQL injection, NUL bytes and path traversal into every string the customer API reads —
// the create/patch body fields, the list query parameters (q, country, city, tag, cursor, limit), the timeline
// cursor, the path id and the Idempotency-Key header — against the real server on 127.0.0.1. Pass: no 5xx, no
// response slower than 1 s (time-based probes), row counts change only by the intended create, and what is
// stored comes back byte for byte.
//
// S17: the same server writes its access log to <build>/test-logs/injection_e2e.log (scanned by
// scripts/check-logs.sh), and CR/LF smuggled into a request must never split a log line.

#include <gtest/gtest.h>
#include <simdjson.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "app/runtime.h"
#include "security/auth_service.h"
#include "ingest/normalize.h"
#include "storage/store.h"
#include "tests/support/http_client.h"
#include "tests/support/relax_mfa.h"
#include "tests/support/temp_dir.h"

#ifndef PANORAMA_TEST_LOG_DIR
#error "PANORAMA_TEST_LOG_DIR must name the directory for server logs"
#endif

namespace panorama {
namespace {

using test::HttpClient;
using test::HttpResponse;

constexpr const char* kPassword = "injection-admin-password-42";
constexpr const char* kWriteKey = "injection-write-key-0123456789";

// SECURITY.md §5: classic, blind, stacked, time-based, comment and encoding tricks, NUL, traversal.
const std::vector<std::string>& Payloads() {
  static const std::vector<std::string> payloads = {
      "'", "''", "\"", "`", "\\", "';", "' --", "'--", "' #", "'/*", "*/", "' OR '1'='1", "' OR 1=1--",
      "\" OR \"\"=\"", "1' OR '1'='1' /*", "') OR ('a'='a", "admin'--", "1; DROP TABLE customers", "'; DROP TABLE customers;--",
      "1); DELETE FROM customers;--", "' UNION SELECT 1,2,3--", "' UNION ALL SELECT name, sql FROM sqlite_master--",
      "' UNION SELECT password_hash FROM users--", "1 AND 1=2 UNION SELECT NULL--", "' AND 1=(SELECT COUNT(*) FROM sqlite_master)--",
      "' AND randomblob(500000000)--", "' OR 1=like('ABCDEFG',upper(hex(randomblob(500000000/2))))--",
      "1' AND sleep(5)#", "'; WAITFOR DELAY '0:0:5'--", "' || pg_sleep(5)--", "'; SELECT pg_sleep(5);--",
      "1 OR 1=1", "-1 OR 1=1", "0x27", "%27", "%2527", "&#39;", "\u02bc OR 1=1", "＇ OR １=１",
      "' AND substr(sqlite_version(),1,1)='3", "'; ATTACH DATABASE '/tmp/x.db' AS x;--", "'; PRAGMA writable_schema=1;--",
      "load_extension('/tmp/evil')", "' || (SELECT group_concat(tbl_name) FROM sqlite_master) || '", "%", "_", "%_%", "*",
      "name MATCH '*'", "\"a\" OR \"b\"", "NEAR(a b)", "a\" OR name MATCH \"*", "x' ESCAPE '\\",
      std::string("nul\0byte", 8), std::string("\0", 1), "../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/passwd%00.png",
      "....//....//etc/passwd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "file:///etc/passwd", "\r\nX-Injected: 1", "${jndi:ldap://x/a}",
      "<script>alert(1)</script>", "{{7*7}}", "=cmd|'/C calc'!A0", "王' OR '1'='1", std::string(99, '\''),
  };
  return payloads;
}

std::string JsonString(std::string_view raw) {
  std::string out = "\"";
  for (unsigned char c : raw) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string UrlEncode(std::string_view raw) {
  std::string out;
  for (unsigned char c : raw) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

class InjectionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::filesystem::create_directories(PANORAMA_TEST_LOG_DIR);
    log_path_ = std::string(PANORAMA_TEST_LOG_DIR) + "/injection_e2e.log";
    std::filesystem::remove(log_path_);
    auto logger = spdlog::basic_logger_mt("injection-e2e", log_path_);
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
    logger->flush_on(spdlog::level::info);
    previous_logger_ = spdlog::default_logger();
    spdlog::set_default_logger(logger);
  }
  static void TearDownTestSuite() {
    spdlog::set_default_logger(previous_logger_);
    spdlog::drop("injection-e2e");
  }

  void SetUp() override {
    setenv("PANORAMA_ADMIN_PASSWORD", kPassword, 1);
    setenv("PANORAMA_WRITE_KEY", kWriteKey, 1);
    runtime_ = std::move(app::Runtime::Open({.data_dir = dir_.path().string()})).value();
    ASSERT_TRUE(runtime_->Bootstrap().has_value());
    testing::RelaxMfaForAllRoles(runtime_->auth());
    auto server = runtime_->Start({.listen = "127.0.0.1:0", .access_log = true});
    ASSERT_TRUE(server.has_value()) << server.error().message();
    server_ = std::move(*server);
    client_ = std::make_unique<HttpClient>("127.0.0.1", server_->port());
    HttpResponse login = client_->Request("POST", "/api/v1/auth/login",
                                          std::string(R"({"username":"admin","password":")") + kPassword + "\"}");
    ASSERT_EQ(login.status, 200) << login.body;
    token_ = std::string(parser_.parse(login.body)["token"].get_string().value());
    HttpResponse seed = Api("POST", "/api/v1/customers", R"({"name":"Alice Seed","email":"alice@example.org","country":"GB","city":"Leeds","tags":["seed"]})");
    ASSERT_EQ(seed.status, 201) << seed.body;
    seed_id_ = parser_.parse(seed.body)["id"].get_int64().value();
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  // Sends the request and checks the two properties every probe shares: no 5xx and no slow answer.
  HttpResponse Api(std::string_view method, std::string_view target, std::string_view body = {},
                   test::HeaderList headers = {}) {
    headers.emplace_back("Authorization", "Bearer " + token_);
    auto start = std::chrono::steady_clock::now();
    HttpResponse response = client_->Request(method, target, body, headers);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_GT(response.status, 0) << method << " " << target << ": " << response.error;
    EXPECT_LT(response.status, 500) << method << " " << target << ": " << response.body;
    EXPECT_LT(seconds, 1.0) << method << " " << target << " took " << seconds << " s";
    return response;
  }

  int64_t CustomerCount() { return runtime_->store().CountCustomers().value(); }

  testing::TempDir dir_;
  std::unique_ptr<app::Runtime> runtime_;
  std::unique_ptr<app::Runtime::RunningServer> server_;
  std::unique_ptr<HttpClient> client_;
  std::string token_;
  int64_t seed_id_ = 0;
  simdjson::dom::parser parser_;
  static inline std::string log_path_;
  static inline std::shared_ptr<spdlog::logger> previous_logger_;
};

TEST_F(InjectionTest, FreeTextFieldsStoreEveryPayloadByteExactAndCreateExactlyOneRow) {
  for (const std::string& payload : Payloads()) {
    SCOPED_TRACE("payload " + JsonString(payload));
    int64_t before = CustomerCount();
    std::string body = "{\"name\":" + JsonString(payload) + ",\"city\":" + JsonString(payload) +
                       ",\"external_id\":" + JsonString("ext" + payload + std::to_string(before)) +
                       ",\"tags\":[" + JsonString(payload.substr(0, 64)) + "],\"traits\":{\"note\":" +
                       JsonString(payload) + "}}";

    HttpResponse created = Api("POST", "/api/v1/customers", body);

    std::string expected(ingest::TrimUtf8(payload));
    if (expected.empty()) {
      EXPECT_EQ(created.status, 400) << created.body;  // only whitespace or nothing: no name to know them by
      EXPECT_EQ(CustomerCount(), before);
      continue;
    }
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(CustomerCount(), before + 1);
    int64_t id = parser_.parse(created.body)["id"].get_int64().value();
    HttpResponse read = Api("GET", "/api/v1/customers/" + std::to_string(id));
    ASSERT_EQ(read.status, 200);
    auto customer = parser_.parse(read.body);
    EXPECT_EQ(customer["name"].get_string().value(), expected);
    EXPECT_EQ(customer["city"].get_string().value(), expected);
    EXPECT_EQ(customer["tags"].at(0).get_string().value(), payload.substr(0, 64));
    EXPECT_EQ(customer["traits"]["note"].get_string().value(), payload);
    auto stored = runtime_->store().GetCustomer(CustomerId(id));
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->name, expected);
  }
  EXPECT_TRUE(runtime_->store().CheckIntegrity().has_value());
}

TEST_F(InjectionTest, NormalisedFieldsRejectPayloadsWithTheFieldNameAndWriteNothing) {
  for (const char* field : {"email", "phone", "gender", "birthday", "country"}) {
    for (const std::string& payload : Payloads()) {
      if (ingest::TrimUtf8(payload).empty()) continue;
      SCOPED_TRACE(std::string(field) + " = " + JsonString(payload));
      int64_t before = CustomerCount();

      HttpResponse response =
          Api("POST", "/api/v1/customers", std::string("{\"name\":\"n\",\"") + field + "\":" + JsonString(payload) + "}");

      EXPECT_EQ(response.status, 400) << response.body;
      EXPECT_NE(response.body.find(std::string("\"") + field + "\""), std::string::npos) << response.body;
      EXPECT_EQ(CustomerCount(), before);
    }
  }
}

TEST_F(InjectionTest, PatchWithPayloadsChangesOnlyThatCustomer) {
  HttpResponse other = Api("POST", "/api/v1/customers", R"({"name":"Bystander","city":"York"})");
  ASSERT_EQ(other.status, 201);
  int64_t other_id = parser_.parse(other.body)["id"].get_int64().value();
  for (const std::string& payload : Payloads()) {
    std::string expected(ingest::TrimUtf8(payload));
    if (expected.empty()) continue;
    SCOPED_TRACE("payload " + JsonString(payload));

    HttpResponse patched = Api("PATCH", "/api/v1/customers/" + std::to_string(seed_id_),
                               "{\"city\":" + JsonString(payload) + "}");

    ASSERT_EQ(patched.status, 200) << patched.body;
    EXPECT_EQ(runtime_->store().GetCustomer(CustomerId(seed_id_))->city, expected);
    EXPECT_EQ(runtime_->store().GetCustomer(CustomerId(other_id))->city, "York");
    EXPECT_EQ(CustomerCount(), 2);
  }
}

TEST_F(InjectionTest, ListQueryParametersNeverWidenTheResultOrFail) {
  Api("POST", "/api/v1/customers", R"({"name":"Bob Other","country":"US","city":"Boston","tags":["other"]})");
  for (const std::string& payload : Payloads()) {
    for (const char* param : {"q", "country", "city", "tag", "cursor", "limit"}) {
      SCOPED_TRACE(std::string(param) + " = " + JsonString(payload));

      HttpResponse response = Api("GET", std::string("/api/v1/customers?") + param + "=" + UrlEncode(payload));

      if (response.status == 200) {
        // No stored name, city, tag or country contains any payload, so a payload widening the filter (an
        // injected OR 1=1) would show up as rows.
        EXPECT_EQ(parser_.parse(response.body)["data"].get_array().size(), 0u) << response.body;
      } else {
        EXPECT_EQ(response.status, 400) << response.body;
        EXPECT_NE(response.body.find(std::string("\"") + param + "\""), std::string::npos) << response.body;
      }
    }
  }
  EXPECT_EQ(CustomerCount(), 2);
}

TEST_F(InjectionTest, TimelineCursorAndPathIdPayloadsAreRejectedAsBadInput) {
  for (const std::string& payload : Payloads()) {
    SCOPED_TRACE("payload " + JsonString(payload));
    std::string cursors[] = {payload, "1700000000000." + payload + ".1", "1700000000000.event." + payload};
    for (const auto& cursor : cursors) {
      HttpResponse view = Api("GET", "/api/v1/customers/" + std::to_string(seed_id_) + "/360?timeline_cursor=" +
                                         UrlEncode(cursor));
      EXPECT_TRUE(view.status == 400 || view.status == 200) << view.status << " " << view.body;
      if (view.status == 200) {
        EXPECT_EQ(parser_.parse(view.body)["timeline"].get_array().size(), 0u);
      }
    }
    HttpResponse by_id = Api("GET", "/api/v1/customers/" + UrlEncode(payload));
    EXPECT_TRUE(by_id.status == 400 || by_id.status == 404) << by_id.status << " " << by_id.body;
  }
  EXPECT_EQ(CustomerCount(), 1);
}

TEST_F(InjectionTest, IdempotencyKeyPayloadsReplayOrAreRejectedButNeverDuplicate) {
  int n = 0;
  for (const std::string& payload : Payloads()) {
    if (payload.find_first_of(std::string("\r\n\0", 3)) != std::string::npos) continue;  // not a valid header value
    SCOPED_TRACE("Idempotency-Key " + JsonString(payload));
    int64_t before = CustomerCount();
    std::string body = "{\"name\":\"idem " + std::to_string(n++) + "\"}";

    HttpResponse first = Api("POST", "/api/v1/customers", body, {{"Idempotency-Key", payload}});
    HttpResponse again = Api("POST", "/api/v1/customers", body, {{"Idempotency-Key", payload}});

    if (first.status == 201) {
      EXPECT_EQ(again.status, 201);
      EXPECT_EQ(again.body, first.body);
      EXPECT_EQ(CustomerCount(), before + 1);
    } else {
      EXPECT_EQ(first.status, 400) << first.body;
      EXPECT_EQ(CustomerCount(), before);
    }
  }
}

// S17: CR/LF (encoded, since HTTP/1.1 framing forbids it raw in the request line) and other control bytes in
// the logged request target stay on one access-log line.
TEST_F(InjectionTest, ControlCharactersInRequestsNeverSplitAnAccessLogLine) {
  const std::string marker = "FORGEDLOGLINE";
  std::vector<std::string> targets = {"/api/v1/customers/%0d%0a" + marker, "/api/v1/customers/%0A" + marker,
                                      "/v1/%0d%0a2026-01-01T00:00:00.000Z info " + marker,
                                      "/api/v1/customers?q=%0d%0a" + marker};
  for (const auto& target : targets) Api("GET", target);
  auto raw = client_->SendRaw("GET /api/v1/customers/\x1b[2J" + marker + " HTTP/1.1\r\nHost: x\r\n\r\n");
  server_->Stop();
  server_.reset();

  std::ifstream log(log_path_);
  std::string line;
  int lines_with_marker = 0;
  while (std::getline(log, line)) {
    if (line.find(marker) == std::string::npos) continue;
    ++lines_with_marker;
    EXPECT_EQ(line.rfind("20", 0), 0u) << "a log line starts with request data: " << line;
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
  }
  EXPECT_GE(lines_with_marker, 3) << "the access log did not record the requests; see " << log_path_;
}

}  // namespace
}  // namespace panorama
