// AES-256-GCM as the deployment's field cipher, end to end (SECURITY.md §2.2, S12): a real Runtime serving real
// HTTP on 127.0.0.1 with `field_cipher` set, and the real binary with `serve --field-cipher` and
// `key rotate --customer --field-cipher`. Sentinel values go in through the API and Segment ingestion, come back
// through the API, and never appear in any file of the data directory; the envelopes on disk carry the alg byte
// of the cipher in force when they were written, and values under either cipher read after a switch.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "app/runtime.h"
#include "security/field_encryptor.h"
#include "storage/store.h"
#include "tests/support/codecs.h"
#include "tests/support/http_client.h"
#include "tests/support/raw_sqlite.h"
#include "tests/support/relax_mfa.h"
#include "tests/support/serve_process.h"
#include "tests/support/temp_dir.h"

#ifndef PANORAMA_BINARY
#error "PANORAMA_BINARY must name the panorama executable"
#endif
#ifndef PANORAMA_TEST_LOG_DIR
#error "PANORAMA_TEST_LOG_DIR must name the directory for server logs"
#endif

namespace panorama {
namespace {

namespace fs = std::filesystem;
using security::FieldCipher;
using test::HttpResponse;

constexpr const char* kMasterKey = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";  // test-only master key
constexpr const char* kPassword = "field-cipher-e2e-admin-password";
// Given, so that serve does not generate one and print it (S17 would find a pwk_ token in the log).
constexpr const char* kWriteKey = "field-cipher-e2e-write-key-01";

// How often `needle` occurs in the bytes of every file under `dir`.
size_t OccurrencesInFiles(const fs::path& dir, const std::string& needle) {
  size_t n = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::string bytes = testing::ReadFile(entry.path().string());
    for (size_t pos = bytes.find(needle); pos != std::string::npos; pos = bytes.find(needle, pos + 1)) ++n;
  }
  return n;
}

class FieldCipherE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("PANORAMA_MASTER_KEY", kMasterKey, 1);
    setenv("PANORAMA_ADMIN_PASSWORD", kPassword, 1);
    setenv("PANORAMA_WRITE_KEY", kWriteKey, 1);
  }
  void TearDown() override { Stop(); }

  void Start(std::optional<FieldCipher> cipher) {
    app::RuntimeOptions options;
    options.data_dir = dir_.path().string();
    options.field_cipher = cipher;
    auto runtime = app::Runtime::Open(options);
    ASSERT_TRUE(runtime.has_value()) << runtime.error().message();
    runtime_ = std::move(runtime).value();
    ASSERT_TRUE(runtime_->Bootstrap().has_value());
    testing::RelaxMfaForAllRoles(runtime_->auth());
    auto server = runtime_->Start({.listen = "127.0.0.1:0", .access_log = false, .retention_job = false});
    ASSERT_TRUE(server.has_value()) << server.error().message();
    server_ = std::move(*server);
    client_ = std::make_unique<test::HttpClient>("127.0.0.1", server_->port());
    HttpResponse login = client_->Request("POST", "/api/v1/auth/login",
                                          std::string(R"({"username":"admin","password":")") + kPassword + "\"}");
    ASSERT_EQ(login.status, 200) << login.body;
    token_ = std::string(parser_.parse(login.body).value()["token"].get_string().value());
  }
  void Stop() {
    if (server_) server_->Stop();
    server_.reset();
    client_.reset();
    runtime_.reset();
  }

  HttpResponse Api(std::string_view method, std::string_view target, std::string_view body = {}) {
    return client_->Request(method, target, body, {{"Authorization", "Bearer " + token_}});
  }
  int64_t CreateCustomer(const std::string& body) {
    HttpResponse created = Api("POST", "/api/v1/customers", body);
    EXPECT_EQ(created.status, 201) << created.body;
    return created.status == 201 ? parser_.parse(created.body).value()["id"].get_int64().value() : 0;
  }
  // The customer's (name, email) as the API returns them.
  std::pair<std::string, std::string> Read(int64_t id) {
    HttpResponse read = Api("GET", "/api/v1/customers/" + std::to_string(id));
    EXPECT_EQ(read.status, 200) << read.body;
    if (read.status != 200) return {};
    auto doc = parser_.parse(read.body).value();
    return {std::string(doc["name"].get_string().value()), std::string(doc["email"].get_string().value())};
  }
  // "01" (XChaCha20-Poly1305) or "02" (AES-256-GCM): the alg byte of the customer's stored name envelope.
  std::string NameAlg(int64_t id) {
    return testing::RawText(dir_.File("panorama.db"),
                            "SELECT hex(substr(name, 2, 1)) FROM customers WHERE id = " + std::to_string(id));
  }
  std::string RecordedCipher() {
    return testing::RawText(dir_.File("keystore.db"), "SELECT value FROM keystore_meta WHERE name = 'field_cipher'");
  }

  testing::TempDir dir_;
  std::unique_ptr<app::Runtime> runtime_;
  std::unique_ptr<app::Runtime::RunningServer> server_;
  std::unique_ptr<test::HttpClient> client_;
  std::string token_;
  simdjson::dom::parser parser_;
};

TEST_F(FieldCipherE2eTest, S12AesGcmDeploymentReadsBackThroughTheApiAndKeepsSentinelsOffDisk) {
  Start(FieldCipher::kAes256Gcm);
  int64_t created = CreateCustomer(
      R"({"name":"Zqsentinelname One","email":"zqsentinelmail1@example.com","phone":"+8613800138001",)"
      R"("address":"Zqsentineladdress 1"})");
  HttpResponse ack = client_->Request(
      "POST", "/v1/batch",
      R"({"batch":[{"type":"identify","userId":"gcm-buyer-2","messageId":"g1",)"
      R"("traits":{"name":"Zqsentinelname Two","email":"zqsentinelmail2@example.com"}}]})",
      {{"Authorization", testing::BasicAuth(kWriteKey)}});
  ASSERT_EQ(ack.status, 200) << ack.body;
  auto owner = runtime_->store().FindIdentity("user_id", "gcm-buyer-2");
  ASSERT_TRUE(owner.has_value() && owner->has_value());
  int64_t ingested = (*owner)->value();

  EXPECT_EQ(Read(created), std::make_pair(std::string("Zqsentinelname One"), std::string("zqsentinelmail1@example.com")));
  EXPECT_EQ(Read(ingested), std::make_pair(std::string("Zqsentinelname Two"), std::string("zqsentinelmail2@example.com")));
  Stop();

  EXPECT_EQ(NameAlg(created), "02");
  EXPECT_EQ(NameAlg(ingested), "02");
  EXPECT_EQ(RecordedCipher(), "aes-256-gcm");
  EXPECT_EQ(OccurrencesInFiles(dir_.path(), "sentinel"), 0u);
}

TEST_F(FieldCipherE2eTest, SwitchingCiphersKeepsEveryValueReadableThroughTheApi) {
  Start(FieldCipher::kAes256Gcm);
  int64_t under_gcm = CreateCustomer(R"({"name":"Gcm Customer","email":"gcm@example.com"})");
  Stop();
  Start(FieldCipher::kXChaCha20Poly1305);
  int64_t under_chacha = CreateCustomer(R"({"name":"Chacha Customer","email":"chacha@example.com"})");

  EXPECT_EQ(Read(under_gcm), std::make_pair(std::string("Gcm Customer"), std::string("gcm@example.com")));
  EXPECT_EQ(Read(under_chacha), std::make_pair(std::string("Chacha Customer"), std::string("chacha@example.com")));
  Stop();
  EXPECT_EQ(NameAlg(under_gcm), "02");
  EXPECT_EQ(NameAlg(under_chacha), "01");
  Start(std::nullopt);  // no option: the recorded cipher stays
  EXPECT_EQ(Read(under_gcm).first, "Gcm Customer");
  Stop();
  EXPECT_EQ(RecordedCipher(), "xchacha20-poly1305");
}

// The real binary: the flag is refused before anything is created when bad, recorded and logged when good, and
// `key rotate --customer --field-cipher` re-encrypts that customer under the newly chosen cipher.
TEST_F(FieldCipherE2eTest, BinaryServeAndKeyRotateTakeTheFieldCipherFlag) {
  const std::string data = dir_.File("data");
  const std::string log_path = testing::FreshLog(PANORAMA_TEST_LOG_DIR, "field_cipher.log");
  const std::string env = std::string("PANORAMA_MASTER_KEY=") + kMasterKey + " PANORAMA_WRITE_KEY=" + kWriteKey;
  auto run = [&](const std::string& args, std::string* output) {
    FILE* pipe = popen((env + " " + PANORAMA_BINARY + " " + args + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return -1;
    char buffer[4096];
    for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) output->append(buffer, n);
    int status = pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };

  std::string refused;
  EXPECT_EQ(run("serve --data " + data + " --listen 127.0.0.1:0 --field-cipher aes-128-gcm", &refused), 1);
  EXPECT_NE(refused.find("field-cipher: must be xchacha20-poly1305 or aes-256-gcm, not \"aes-128-gcm\""),
            std::string::npos) << refused;
  EXPECT_FALSE(fs::exists(data)) << "a bad option must be refused before the data directory is created";

  testing::ServeProcess server =
      testing::StartServe(PANORAMA_BINARY, data, log_path,
                          {{"PANORAMA_MASTER_KEY", kMasterKey}, {"PANORAMA_ADMIN_PASSWORD", kPassword},
                           {"PANORAMA_WRITE_KEY", kWriteKey}},
                          {"--field-cipher", "aes-256-gcm"});
  ASSERT_NE(server.port, 0) << "server did not start; see " << log_path;
  test::HttpClient client("127.0.0.1", server.port);
  HttpResponse ack = client.Request(
      "POST", "/v1/batch",
      R"({"batch":[{"type":"identify","userId":"bin-1","messageId":"m1","traits":{"name":"Binary Buyer"}}]})",
      {{"Authorization", testing::BasicAuth(kWriteKey)}});
  ASSERT_EQ(ack.status, 200) << ack.body;
  ASSERT_TRUE(testing::KillServe(server));
  const std::string db = data + "/panorama.db";
  const std::string id = testing::RawText(db, "SELECT id FROM customers ORDER BY id LIMIT 1");
  ASSERT_FALSE(id.empty());
  const std::string alg_sql = "SELECT hex(substr(name, 2, 1)) FROM customers WHERE id = " + id;
  EXPECT_NE(testing::ReadFile(log_path).find("field encryption: new values sealed with aes-256-gcm"),
            std::string::npos);
  EXPECT_EQ(testing::RawText(db, alg_sql), "02");

  std::string rotated;
  EXPECT_EQ(run("key --data " + data + " rotate --customer " + id + " --field-cipher xchacha20-poly1305", &rotated), 0)
      << rotated;

  EXPECT_EQ(testing::RawText(db, alg_sql), "01");
  EXPECT_EQ(testing::RawText(data + "/keystore.db", "SELECT value FROM keystore_meta WHERE name = 'field_cipher'"),
            "xchacha20-poly1305");
}

}  // namespace
}  // namespace panorama
