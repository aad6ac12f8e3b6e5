// The real server on 127.0.0.1 (port 0) driven by a real HTTP client.

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/router.h"
#include "http/server.h"
#include "tests/support/http_client.h"

namespace panorama::http {
namespace {

using ::panorama::test::HttpClient;
using ::panorama::test::HttpResponse;
using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

void WriteFile(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    temp_dir_ = fs::temp_directory_path() /
                ("panorama_http_e2e_" + std::to_string(::getpid()) + "_" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(temp_dir_);
    WriteFile(temp_dir_ / "www" / "index.html", kIndexHtml);
    WriteFile(temp_dir_ / "www" / "assets" / "app.3f9a1c.js", "console.log('hi');");
    WriteFile(temp_dir_ / "www" / "robots.txt", "User-agent: *\n");
    WriteFile(temp_dir_ / "secret.txt", kSecret);
    fs::create_symlink(temp_dir_ / "secret.txt", temp_dir_ / "www" / "leak.txt");

    router_.Add(Method::kGet, "/api/v1/customers/{id}", Public([](Request& request) {
      return Response::Json(200, "{\"id\":\"" + std::string(request.PathParam("id")) + "\"}");
    }));
    router_.Add(Method::kGet, "/api/v1/customers/search", Public([](Request& request) {
      return Response::Json(200, "{\"q\":\"" + std::string(request.Query("q").value_or("")) + "\"}");
    }));
    router_.Add(Method::kPost, "/api/v1/echo", Public([](Request& request) {
      return Response::Json(200, "{\"bytes\":" + std::to_string(request.body.size()) + "}");
    }));
    router_.Add(Method::kDelete, "/api/v1/customers/{id}/tags/{tag}",Public(
                [](Request&) { return Response::NoContent(); }));
    router_.Add(Method::kPost, "/v1/batch", Public([](Request&) { return Response::Json(200, "{}"); }));
    router_.Add(Method::kGet, "/api/v1/boom", Public([](Request&) -> Response {
      throw std::runtime_error("secret detail from a broken handler");
    }));
    router_.Add(Method::kGet, "/api/v1/slow", Public([this](Request&) {
      slow_started_.set_value();
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      return Response::Json(200, "{\"slow\":true}");
    }));
    router_.AddAsync(Method::kGet, "/api/v1/async", PublicAsync([this](Request&, Responder respond) {
      auto handler_thread = std::this_thread::get_id();
      std::lock_guard lock(threads_mutex_);
      answer_threads_.emplace_back([respond, handler_thread] {
        bool same = std::this_thread::get_id() == handler_thread;
        respond(Response::Json(200, same ? "{\"other_thread\":false}" : "{\"other_thread\":true}"));
      });
    }));
    router_.AddAsync(Method::kGet, "/api/v1/forgetful", PublicAsync([](Request&, Responder) {}));

    ServerOptions options;
    options.static_dir = (temp_dir_ / "www").string();
    options.body_limits = {{"/v1/", 500 * 1000}};
    options.stop_timeout = std::chrono::seconds(5);
    StartServer(options);
  }

  void TearDown() override {
    {
      std::lock_guard lock(threads_mutex_);
      for (std::thread& thread : answer_threads_) {
        thread.join();
      }
    }
    if (server_) {
      server_->Stop();
    }
    fs::remove_all(temp_dir_);
  }

  void StartServer(ServerOptions options) {
    auto server = Server::Start(std::move(options), router_);
    ASSERT_TRUE(server.has_value()) << server.error().message();
    server_ = std::move(server).value();
  }

  // Restarts the server with the short deadlines a slowloris (R17) test provokes; the idle timeout stays long so
  // that it cannot be what closes the connection.
  void RestartWithTimeouts(std::chrono::milliseconds header_timeout, std::chrono::milliseconds read_timeout) {
    server_->Stop();
    ServerOptions options;
    options.header_timeout = header_timeout;
    options.read_timeout = read_timeout;
    options.idle_timeout = std::chrono::seconds(20);
    StartServer(options);
  }

  HttpClient Client() { return HttpClient("127.0.0.1", server_->port()); }

  static constexpr char kIndexHtml[] = "<!doctype html><title>Panorama</title>";
  static constexpr char kSecret[] = "root:x:0:0:secret";

  fs::path temp_dir_;
  Router router_;
  std::unique_ptr<Server> server_;
  std::promise<void> slow_started_;
  std::mutex threads_mutex_;
  std::vector<std::thread> answer_threads_;  // guarded by threads_mutex_
};

TEST_F(HttpServerTest, RoutesWithPathParams) {
  HttpClient client = Client();

  HttpResponse response = client.Request("GET", "/api/v1/customers/42");

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{\"id\":\"42\"}");
  EXPECT_EQ(response.Header("Content-Type"), "application/json");
}

TEST_F(HttpServerTest, LiteralSegmentBeatsParamAndQueryIsDecoded) {
  HttpClient client = Client();

  HttpResponse response = client.Request("GET", "/api/v1/customers/search?q=a%20b");

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{\"q\":\"a b\"}");
}

TEST_F(HttpServerTest, UnknownApiPathIsNotFoundProblem) {
  HttpClient client = Client();

  HttpResponse response = client.Request("GET", "/api/v1/nothing-here");

  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.Header("Content-Type"), "application/problem+json");
  EXPECT_THAT(response.body, HasSubstr("\"status\":404"));
}

TEST_F(HttpServerTest, NoContentKeepsTheConnectionUsable) {
  HttpClient client = Client();

  HttpResponse deleted = client.Request("DELETE", "/api/v1/customers/42/tags/vip");
  HttpResponse after = client.Request("GET", "/api/v1/customers/42");

  EXPECT_EQ(deleted.status, 204);
  EXPECT_EQ(deleted.body, "");
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(client.connect_count(), 1);
}

TEST_F(HttpServerTest, WrongMethodIsMethodNotAllowedWithAllow) {
  HttpClient client = Client();

  HttpResponse response = client.Request("DELETE", "/api/v1/customers/42");

  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.Header("Allow"), "GET, HEAD");
  EXPECT_THAT(response.body, HasSubstr("\"status\":405"));
}

TEST_F(HttpServerTest, HeadUsesGetRouteWithoutBody) {
  HttpClient client = Client();

  HttpResponse response = client.Request("HEAD", "/api/v1/customers/42");

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "");
  EXPECT_EQ(response.Header("Content-Length"), "11");
}

TEST_F(HttpServerTest, EveryResponseCarriesSecureHeaders) {
  HttpClient client = Client();

  for (const char* target : {"/api/v1/customers/1", "/api/v1/nothing-here", "/"}) {
    HttpResponse response = client.Request("GET", target);

    EXPECT_EQ(response.Header("X-Content-Type-Options"), "nosniff") << target;
    EXPECT_EQ(response.Header("Referrer-Policy"), "no-referrer") << target;
    EXPECT_EQ(response.Header("X-Frame-Options"), "DENY") << target;
    EXPECT_THAT(std::string(response.Header("Content-Security-Policy")),
                HasSubstr("default-src 'self'")) << target;
  }
}

TEST_F(HttpServerTest, KeepAliveReusesOneConnection) {
  HttpClient client = Client();

  int ok = 0;
  for (int i = 0; i < 50; ++i) {
    ok += client.Request("GET", "/api/v1/customers/" + std::to_string(i)).status == 200 ? 1 : 0;
  }

  EXPECT_EQ(ok, 50);
  EXPECT_EQ(client.connect_count(), 1);
  EXPECT_EQ(server_->ConnectionCountForTest(), 1u);
}

TEST_F(HttpServerTest, BodyUnderDefaultLimitIsAccepted) {
  HttpClient client = Client();

  HttpResponse response = client.Request("POST", "/api/v1/echo", std::string(900 * 1024, 'x'));

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{\"bytes\":921600}");
}

TEST_F(HttpServerTest, OversizeBodyIsPayloadTooLarge) {
  HttpClient client = Client();

  HttpResponse response = client.Request("POST", "/api/v1/echo", std::string(2 * 1024 * 1024, 'x'));

  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.Header("Content-Type"), "application/problem+json");
  EXPECT_EQ(response.Header("Connection"), "close");
}

TEST_F(HttpServerTest, PrefixBodyLimitRejectsBatchOver500KB) {
  HttpClient client = Client();

  HttpResponse small = client.Request("POST", "/v1/batch", std::string(400 * 1000, 'x'));
  HttpResponse big = client.Request("POST", "/v1/batch", std::string(600 * 1000, 'x'));

  EXPECT_EQ(small.status, 200);
  EXPECT_EQ(big.status, 413);
}

TEST_F(HttpServerTest, ChunkedBodyOverLimitIsPayloadTooLarge) {
  HttpClient client = Client();
  std::string chunk(300 * 1000, 'x');
  std::string raw = "POST /v1/batch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 2; ++i) {
    char size[32];
    std::snprintf(size, sizeof(size), "%zx\r\n", chunk.size());
    raw += size + chunk + "\r\n";
  }
  raw += "0\r\n\r\n";

  HttpResponse response = client.SendRaw(raw);

  EXPECT_EQ(response.status, 413);
}

TEST_F(HttpServerTest, OversizeHeaderIsHeaderFieldsTooLarge) {
  HttpClient client = Client();

  HttpResponse response =
      client.Request("GET", "/api/v1/customers/1", "", {{"X-Padding", std::string(20 * 1024, 'a')}});

  EXPECT_EQ(response.status, 431);
  EXPECT_EQ(response.Header("Content-Type"), "application/problem+json");
}

TEST_F(HttpServerTest, MalformedRequestsAreBadRequest) {
  const std::vector<std::string> cases = {
      "GARBAGE\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
      "GET /api/v1/customers/%zz HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET http://elsewhere/ HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
  };
  for (const std::string& raw : cases) {
    HttpClient client = Client();

    HttpResponse response = client.SendRaw(raw);

    EXPECT_EQ(response.status, 400) << raw;
    EXPECT_EQ(response.Header("Content-Type"), "application/problem+json") << raw;
  }
}

TEST_F(HttpServerTest, HandlerExceptionIsLoggedInternalErrorProblem) {
  HttpClient client = Client();

  HttpResponse response = client.Request("GET", "/api/v1/boom");
  HttpResponse after = client.Request("GET", "/api/v1/customers/7");

  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.Header("Content-Type"), "application/problem+json");
  EXPECT_THAT(response.body, Not(HasSubstr("secret detail")));
  EXPECT_EQ(after.status, 200);
}

TEST_F(HttpServerTest, AsyncHandlerIsAnsweredFromAnotherThread) {
  HttpClient client = Client();

  HttpResponse response = client.Request("GET", "/api/v1/async");

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{\"other_thread\":true}");
}

TEST_F(HttpServerTest, AsyncHandlerThatDropsItsResponderAnswers500) {
  HttpClient client = Client();

  HttpResponse response = client.Request("GET", "/api/v1/forgetful");

  EXPECT_EQ(response.status, 500);
}

TEST_F(HttpServerTest, ServesStaticFilesWithContentTypes) {
  HttpClient client = Client();

  HttpResponse index = client.Request("GET", "/");
  HttpResponse robots = client.Request("GET", "/robots.txt");

  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, kIndexHtml);
  EXPECT_EQ(index.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.Header("Cache-Control"), "no-cache");
  EXPECT_EQ(robots.Header("Content-Type"), "text/plain; charset=utf-8");
}

TEST_F(HttpServerTest, HashedAssetsAreImmutable) {
  HttpClient client = Client();

  HttpResponse response = client.Request("GET", "/assets/app.3f9a1c.js");

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.Header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(response.Header("Cache-Control"), "public, max-age=31536000, immutable");
}

TEST_F(HttpServerTest, ClientSideRoutesFallBackToIndex) {
  HttpClient client = Client();

  HttpResponse route = client.Request("GET", "/customers/42/timeline");
  HttpResponse missing_asset = client.Request("GET", "/assets/missing.js");
  HttpResponse api = client.Request("GET", "/api/v1/unknown");

  EXPECT_EQ(route.status, 200);
  EXPECT_EQ(route.body, kIndexHtml);
  EXPECT_EQ(missing_asset.status, 404);
  EXPECT_EQ(api.status, 404);
  EXPECT_EQ(api.Header("Content-Type"), "application/problem+json");
}

TEST_F(HttpServerTest, PathTraversalIsRefused) {
  const std::vector<std::string> targets = {
      "/../../etc/passwd",          "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc%2fpasswd",
      "/assets/../../secret.txt",   "/%2E%2E/secret.txt",        "/assets/..%2F..%2Fsecret.txt",
      "/..\\..\\secret.txt",        "/%2e%2e%5csecret.txt",      "/index.html%00.txt",
      "/%252e%252e/%252e%252e/etc/passwd", "/leak.txt",
  };
  for (const std::string& target : targets) {
    HttpClient client = Client();

    HttpResponse response = client.Request("GET", target);

    EXPECT_NE(response.status, 0) << target << " " << response.error;
    EXPECT_THAT(response.body, Not(HasSubstr("root:"))) << target;
    if (response.status == 200) {
      EXPECT_EQ(response.body, kIndexHtml) << target;
    }
  }
}

TEST_F(HttpServerTest, DotDotSegmentsAreBadRequest) {
  HttpClient client = Client();

  HttpResponse plain = client.Request("GET", "/../../etc/passwd");
  HttpResponse encoded = client.Request("GET", "/%2e%2e/%2e%2e/etc/passwd");

  EXPECT_EQ(plain.status, 400);
  EXPECT_EQ(encoded.status, 400);
}

TEST_F(HttpServerTest, SymlinkOutOfRootIsNotFound) {
  HttpClient client = Client();

  HttpResponse response = client.Request("GET", "/leak.txt");

  EXPECT_EQ(response.status, 404);
}

TEST_F(HttpServerTest, TooManyConnectionsIsServiceUnavailable) {
  server_->Stop();
  ServerOptions options;
  options.max_connections = 1;
  StartServer(options);
  HttpClient first = Client();
  ASSERT_EQ(first.Request("GET", "/api/v1/customers/1").status, 200);
  HttpClient second = Client();

  HttpResponse response = second.Request("GET", "/api/v1/customers/2");

  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.Header("Content-Type"), "application/problem+json");
}

// R17 slowloris: opens a raw connection, sends `first` at once, then trickles `trickle` one byte every 50 ms
// (repeating it) until the server closes the connection. Returns the seconds from the first trickled byte to
// the close, or -1 when the server still had it open after `give_up`.
double TrickleUntilClosed(uint16_t port, const std::string& first, const std::string& trickle,
                          std::chrono::milliseconds give_up, std::string* answered = nullptr) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    if (fd >= 0) ::close(fd);
    return -2;
  }
  auto start = std::chrono::steady_clock::now();
  bool closed = !first.empty() && ::send(fd, first.data(), first.size(), MSG_NOSIGNAL) < 0;
  for (size_t i = 0; !closed && std::chrono::steady_clock::now() - start < give_up; ++i) {
    if (::send(fd, &trickle[i % trickle.size()], 1, MSG_NOSIGNAL) < 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) {
      char buffer[4096];
      ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      if (answered) answered->append(buffer, static_cast<size_t>(n));
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::close(fd);
  return std::chrono::steady_clock::now() - start >= give_up ? -1 : seconds;
}

TEST_F(HttpServerTest, TrickledHeaderIsClosedAfterHeaderTimeout) {
  RestartWithTimeouts(/*header_timeout=*/std::chrono::milliseconds(600), /*read_timeout=*/std::chrono::seconds(20));

  double seconds = TrickleUntilClosed(server_->port(), "", "GET /api/v1/customers/1 HTTP/1.1\r\nX-A: b\r\n",
                                      std::chrono::seconds(10));

  EXPECT_GE(seconds, 0.5);  // bytes kept arriving, yet the header's deadline held
  EXPECT_LT(seconds, 3.0);
}

TEST_F(HttpServerTest, TrickledHeaderOnKeptAliveConnectionIsClosedAfterHeaderTimeout) {
  RestartWithTimeouts(/*header_timeout=*/std::chrono::milliseconds(600), /*read_timeout=*/std::chrono::seconds(20));
  std::string answered;

  double seconds = TrickleUntilClosed(server_->port(), "GET /api/v1/customers/7 HTTP/1.1\r\nHost: x\r\n\r\n",
                                      "GET /api/v1/customers/1 HTTP/1.1\r\nX-A: b\r\n", std::chrono::seconds(10),
                                      &answered);

  EXPECT_THAT(answered, HasSubstr("{\"id\":\"7\"}"));  // the first request was served
  EXPECT_GE(seconds, 0.5);
  EXPECT_LT(seconds, 3.0);  // not the 20 s idle timeout
}

TEST_F(HttpServerTest, TrickledBodyIsClosedAfterReadTimeout) {
  RestartWithTimeouts(/*header_timeout=*/std::chrono::seconds(20), /*read_timeout=*/std::chrono::milliseconds(800));
  std::string answered;

  double seconds = TrickleUntilClosed(
      server_->port(), "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", "{",
      std::chrono::seconds(10), &answered);

  EXPECT_GE(seconds, 0.7);
  EXPECT_LT(seconds, 3.0);
  EXPECT_THAT(answered, Not(HasSubstr("\"bytes\"")));  // never handled
}

TEST_F(HttpServerTest, BindFailureIsUnavailableNamingTheAddress) {
  ServerOptions options;
  options.port = server_->port();

  auto second = Server::Start(options, router_);

  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(second.error().message(), HasSubstr("127.0.0.1:" + std::to_string(server_->port())));
}

TEST_F(HttpServerTest, GracefulStopLetsSlowRequestFinish) {
  HttpClient idle = Client();
  ASSERT_EQ(idle.Request("GET", "/api/v1/customers/1").status, 200);
  std::future<HttpResponse> slow = std::async(std::launch::async, [port = server_->port()] {
    HttpClient client("127.0.0.1", port);
    return client.Request("GET", "/api/v1/slow");
  });
  slow_started_.get_future().wait();

  server_->Stop();
  HttpResponse response = slow.get();

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{\"slow\":true}");
  EXPECT_EQ(response.Header("Connection"), "close");
  EXPECT_EQ(server_->ConnectionCountForTest(), 0u);
  EXPECT_EQ(HttpClient("127.0.0.1", server_->port()).Request("GET", "/api/v1/customers/1").status, 0);
}

}  // namespace
}  // namespace panorama::http
