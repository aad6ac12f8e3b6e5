// Simultaneous requests from several clients across the services that keep state behind their own locks —
// sign-in (AuthService sessions), customers, consents (ConsentService and its bitmaps), data-subject requests
// (DsarService), the data-class catalogue, RFM settings and recompute — all through the real server's worker
// pool. Every answer must be the one a lone client gets, and the totals must add up. It is also the TSan
// (R13) check of those services' locking: scripts/tsan.sh --all runs this binary under ThreadSanitizer.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/runtime.h"
#include "privacy/consent_service.h"
#include "tests/support/http_client.h"
#include "tests/support/served_runtime.h"

namespace panorama {
namespace {

using test::HttpClient;
using test::HttpResponse;

class ConcurrentRequestsTest : public test::ServedRuntimeTest {};

TEST_F(ConcurrentRequestsTest, SimultaneousRequestsAcrossServicesAllSucceedAndAddUp) {
  constexpr int kClients = 4;
  constexpr int kRounds = 6;
  std::mutex mu;
  std::vector<std::string> failures;  // guarded by mu: "what: status body" of each unexpected answer
  std::vector<int64_t> created;       // guarded by mu
  std::atomic<bool> go{false};

  auto client_thread = [&](int client) {
    HttpClient http("127.0.0.1", server_->port());
    simdjson::dom::parser parser;  // one per thread: a parser is not thread-safe
    auto check = [&](const HttpResponse& r, int want, const std::string& what) {
      if (r.status == want) return true;
      std::lock_guard lock(mu);
      failures.push_back(what + ": " + std::to_string(r.status) + " " + r.body);
      return false;
    };
    while (!go.load()) std::this_thread::yield();
    // Each client signs in on its own: sessions are created while the others' requests are authenticated.
    HttpResponse login = http.Request("POST", "/api/v1/auth/login",
                                      std::string(R"({"username":"admin","password":")") + kPassword + "\"}");
    if (!check(login, 200, "login")) return;
    const std::string token(parser.parse(login.body).value()["token"].get_string().value());
    const test::HeaderList auth{{"Authorization", "Bearer " + token}};
    for (int round = 0; round < kRounds; ++round) {
      const std::string tag = std::to_string(client) + "-" + std::to_string(round);
      HttpResponse made = http.Request("POST", "/api/v1/customers",
                                       R"({"name":"Client )" + tag + R"(","email":"c)" + tag + R"(@example.com"})",
                                       auth);
      if (!check(made, 201, "create " + tag)) continue;
      const int64_t id = parser.parse(made.body).value()["id"].get_int64().value();
      {
        std::lock_guard lock(mu);
        created.push_back(id);
      }
      const std::string customer = "/api/v1/customers/" + std::to_string(id);
      check(http.Request("PUT", customer + "/consents",
                         R"({"consents":[{"purpose":"marketing","channel":"email","granted":true}]})", auth),
            200, "consent " + tag);
      check(http.Request("GET", customer, {}, auth), 200, "read " + tag);
      check(http.Request("GET", "/api/v1/privacy/catalogue", {}, auth), 200, "catalogue " + tag);
      check(http.Request("GET", "/api/v1/rfm/score-map", {}, auth), 200, "score map " + tag);
      if (round % 3 == 0) {
        check(http.Request("POST", "/api/v1/rfm/recompute", {}, auth), 200, "recompute " + tag);
      }
      if (round == kRounds - 1) {  // one pending erasure request per client, on its last customer
        check(http.Request("POST", "/api/v1/privacy/requests",
                           R"({"customer_id":)" + std::to_string(id) + R"(,"kind":"erase","jurisdiction":"pipl"})",
                           auth),
              201, "erasure request " + tag);
      }
      check(http.Request("GET", "/api/v1/me", {}, auth), 200, "me " + tag);
    }
  };
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) clients.emplace_back(client_thread, c);
  go.store(true);
  for (std::thread& t : clients) t.join();

  for (const std::string& f : failures) ADD_FAILURE() << f;
  ASSERT_EQ(created.size(), static_cast<size_t>(kClients * kRounds));
  for (int64_t id : created) {
    EXPECT_TRUE(runtime_->consents().MaySend(CustomerId(id), "marketing", "email")) << id;
  }
  HttpResponse requests = Api("GET", "/api/v1/privacy/requests");
  ASSERT_EQ(requests.status, 200) << requests.body;
  EXPECT_EQ(Json(requests)["data"].get_array().size(), static_cast<size_t>(kClients));
}

}  // namespace
}  // namespace panorama
