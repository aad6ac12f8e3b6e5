// The audit ledger end to end: the real `panorama serve` takes writes and reads over HTTP, the auditor searches
// the ledger through the API, and after the database file is edited behind the running server's back
// `panorama audit verify` exits non-zero naming the edited entry's seq.

#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "core/result.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

#ifndef PANORAMA_BINARY
#error "PANORAMA_BINARY must name the panorama executable"
#endif

namespace panorama {
namespace {

constexpr const char* kPassword = "ledger-e2e-admin-password";

struct Server {
  pid_t pid = 0;
  uint16_t port = 0;
};

Server StartServer(const std::string& data_dir, const std::string& witness) {
  int out[2];
  PANORAMA_CHECK(pipe(out) == 0);
  pid_t pid = fork();
  PANORAMA_CHECK(pid >= 0);
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    setenv("PANORAMA_ADMIN_PASSWORD", kPassword, 1);
    execl(PANORAMA_BINARY, PANORAMA_BINARY, "serve", "--data", data_dir.c_str(), "--listen", "127.0.0.1:0",
          "--no-access-log", "--audit-witness", witness.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  FILE* stream = fdopen(out[0], "r");
  char line[512];
  uint16_t port = 0;
  while (port == 0 && std::fgets(line, sizeof line, stream)) {
    unsigned p = 0;
    if (std::sscanf(line, "listening on http://127.0.0.1:%u", &p) == 1) port = static_cast<uint16_t>(p);
  }
  PANORAMA_CHECK(port != 0);
  return {pid, port};
}

// Runs a panorama command; its exit status and combined output.
std::pair<int, std::string> RunPanorama(const std::string& args) {
  std::string command = std::string(PANORAMA_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  PANORAMA_CHECK(pipe != nullptr);
  std::string output;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe)) output += buf;
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(AuditLedgerE2e, VerifyNamesTheSeqEditedBehindTheRunningServersBack) {
  testing::TempDir dir;
  std::string data = dir.File("data");
  std::string witness = dir.File("witness.jsonl");
  // MFA has its own tests; here the admin signs in with a password (the change is itself a ledger entry).
  std::filesystem::create_directories(data);
  auto relaxed = RunPanorama("mfa --data " + data + " relax admin");
  ASSERT_EQ(relaxed.first, 0) << relaxed.second;
  Server server = StartServer(data, witness);
  test::HttpClient client("127.0.0.1", server.port);
  simdjson::dom::parser parser;
  auto login = client.Request("POST", "/api/v1/auth/login",
                              std::string(R"({"username":"admin","password":")") + kPassword + "\"}");
  ASSERT_EQ(login.status, 200) << login.body;
  std::string token(parser.parse(login.body).value()["token"].get_string().value());
  test::HeaderList auth = {{"Authorization", "Bearer " + token}};
  for (int i = 0; i < 3; ++i) {
    auto created = client.Request("POST", "/api/v1/customers",
                                  R"({"name":"客户)" + std::to_string(i) + R"(","email":"c)" + std::to_string(i) +
                                      R"(@example.com"})",
                                  auth);
    ASSERT_EQ(created.status, 201) << created.body;
  }
  ASSERT_EQ(client.Request("GET", "/api/v1/customers", {}, auth).status, 200);

  // The read entry is queued for at most 100 ms; poll the search until it is there.
  std::string search;
  for (int i = 0; i < 50; ++i) {
    search = client.Request("GET", "/api/v1/audit?action=customer.list", {}, auth).body;
    if (search.find("customer.list") != std::string::npos) break;
    usleep(20'000);
  }
  auto creates = client.Request("GET", "/api/v1/audit?action=customer.create&limit=10", {}, auth);
  ASSERT_EQ(creates.status, 200) << creates.body;
  auto rows = parser.parse(creates.body).value()["data"].get_array().value();
  ASSERT_EQ(rows.size(), 3u) << creates.body;
  int64_t edited_seq = rows.at(1)["seq"].get_int64().value();
  EXPECT_EQ(std::string(rows.at(1)["actor"].get_string().value()), "user:1");
  EXPECT_EQ(creates.body.find("example.com"), std::string::npos) << "personal values in the ledger";
  EXPECT_NE(search.find("customer.list"), std::string::npos) << search;
  EXPECT_EQ(client.Request("GET", "/api/v1/audit?from=yesterday", {}, auth).status, 400);

  auto clean = RunPanorama("audit verify --data " + data);
  EXPECT_EQ(clean.first, 0) << clean.second;

  // Behind the running server's back: rewrite who did it in the middle create entry.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.File("data/panorama.db").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  std::string sql = "UPDATE ledger SET body = replace(body, '\"actor\":\"user:1\"', '\"actor\":\"user:2\"') WHERE seq = " +
                    std::to_string(edited_seq);
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_changes(db), 1);
  sqlite3_close(db);

  auto tampered = RunPanorama("audit verify --data " + data + " --witness " + witness);
  kill(server.pid, SIGTERM);
  int status = 0;
  waitpid(server.pid, &status, 0);

  EXPECT_EQ(tampered.first, 1) << tampered.second;
  EXPECT_NE(tampered.second.find("ledger broken at seq " + std::to_string(edited_seq) + ": hash mismatch"),
            std::string::npos)
      << tampered.second;
}

TEST(AuditLedgerE2e, PubkeyPrintsTheSameKeyEachTime) {
  testing::TempDir dir;

  auto first = RunPanorama("audit pubkey --data " + dir.File("data"));
  auto second = RunPanorama("audit pubkey --data " + dir.File("data"));

  EXPECT_EQ(first.first, 0) << first.second;
  EXPECT_EQ(first.second.size(), 65u) << first.second;
  EXPECT_EQ(first.second, second.second);
}

}  // namespace
}  // namespace panorama
