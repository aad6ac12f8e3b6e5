#pragma once
// A small synchronous HTTP/1.1 client for tests: one keep-alive connection, reconnecting when the server
// closes it. Beast stays in the .cc file.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace panorama::test {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;      // 0 when the exchange failed; `error` says why
  HeaderList headers;  // names lower-cased, in order
  std::string body;
  std::string error;

  // Empty when absent; `name` is matched case-insensitively.
  std::string_view Header(std::string_view name) const;
};

// Usage: HttpClient client("127.0.0.1", port);
//        HttpResponse r = client.Request("POST", "/path", body, {{"Authorization", "Bearer x"}});
// A non-empty body without a Content-Type header is sent as application/json. Each call waits at most
// `timeout` per network step. Not thread-safe: one client per thread.
class HttpClient {
 public:
  HttpClient(std::string host, uint16_t port,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse Request(std::string_view method, std::string_view target, std::string_view body = {},
                       const HeaderList& headers = {});
  // Writes `bytes` verbatim on the connection and reads one response (for malformed requests).
  HttpResponse SendRaw(std::string_view bytes);
  // Opens the connection now (Request does it on demand); false when it cannot connect.
  bool Connect();
  void Close();

  // How many TCP connections this client has opened; keep-alive tests expect 1.
  int connect_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace panorama::test
