// S18 (SECURITY.md §3): request smuggling and malformed HTTP against the real server over raw sockets. Each
// case sends a broken request with a valid, authenticated customer create pipelined behind it in the same
// write. The server must answer the broken one with a 4xx, close the connection, and never execute the
// follow-up: the customer count is unchanged. A control case proves the harness sees an executed follow-up.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/store.h"
#include "tests/support/served_runtime.h"

namespace panorama {
namespace {

using namespace std::string_literals;

struct RawExchange {
  std::string received;
  bool closed_by_server = false;  // EOF (or reset) seen before the deadline
};

// Writes `bytes` on a fresh connection and reads until the server closes it or `deadline` passes.
RawExchange SendRawAndReadUntilClose(uint16_t port, const std::string& bytes,
                                     std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
  RawExchange out;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return out;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return out;
  }
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close before reading everything; what it answered still counts
    sent += static_cast<size_t>(n);
  }
  auto until = std::chrono::steady_clock::now() + deadline;
  char buffer[16 * 1024];
  while (true) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      out.closed_by_server = true;
      break;
    }
    out.received.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

int FirstStatus(const std::string& received) {
  if (!received.starts_with("HTTP/1.1 ") || received.size() < 12) return 0;
  return std::stoi(received.substr(9, 3));
}

// Every answer starts with a status line; the problem+json and health bodies never contain one.
int ResponseCount(const std::string& received) {
  int count = 0;
  for (size_t at = received.find("HTTP/1.1 "); at != std::string::npos; at = received.find("HTTP/1.1 ", at + 1)) {
    ++count;
  }
  return count;
}

struct FramingCase {
  const char* name;
  std::string request;  // sent verbatim, immediately followed by the pipelined customer create
  int expected_status;
};

class HttpFramingTest : public test::ServedRuntimeTest {
 protected:
  // A write the server would do if it read this request: create one customer.
  std::string FollowUp() const {
    std::string body = R"({"name":"smuggled follow-up"})";
    return "POST /api/v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token_ +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
           body;
  }
  int64_t Customers() { return runtime_->store().CountCustomers().value(); }

  // The broken request is answered with `expected_status`, the connection is closed, nothing else is answered
  // and the follow-up never ran.
  void ExpectRefusedAndFollowUpNotRun(const FramingCase& c) {
    int64_t before = Customers();

    RawExchange exchange = SendRawAndReadUntilClose(server_->port(), c.request + FollowUp());

    EXPECT_EQ(FirstStatus(exchange.received), c.expected_status) << "CASE " << c.name << "\n" << exchange.received;
    EXPECT_TRUE(exchange.closed_by_server) << c.name;
    EXPECT_EQ(ResponseCount(exchange.received), 1) << c.name << "\n" << exchange.received;
    EXPECT_EQ(Customers(), before) << c.name << ": the pipelined customer create was executed";
  }
};

TEST_F(HttpFramingTest, ControlPipelinedFollowUpAfterAValidRequestIsExecuted) {
  int64_t before = Customers();
  std::string valid = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

  RawExchange exchange = SendRawAndReadUntilClose(server_->port(), valid + FollowUp() +
                                                  "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

  EXPECT_EQ(ResponseCount(exchange.received), 3) << exchange.received;
  EXPECT_NE(exchange.received.find("HTTP/1.1 201"), std::string::npos) << exchange.received;
  EXPECT_EQ(Customers(), before + 1);
}

TEST_F(HttpFramingTest, ContentLengthAndTransferEncodingTogetherAreRefused) {
  const std::vector<FramingCase> cases = {
      {"CL.TE", "POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"TE.CL", "POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                "Content-Length: 5\r\n\r\n0\r\n\r\n", 400},
      {"CL.TE with an empty body", "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                                   "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
  };
  for (const FramingCase& c : cases) {
    ExpectRefusedAndFollowUpNotRun(c);
  }
}

TEST_F(HttpFramingTest, ConflictingOrMalformedContentLengthIsRefused) {
  const std::vector<FramingCase> cases = {
      {"two different lengths", "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                                "Content-Length: 5\r\n\r\nhello", 400},
      {"two equal lengths", "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                            "Content-Length: 5\r\n\r\nhello", 400},
      {"a list of lengths", "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 0\r\n\r\nhello", 400},
      {"a list of equal lengths", "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello", 400},
      {"a signed length", "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello", 400},
      {"a negative length", "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
      {"a hex length", "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\nhello", 400},
      {"an overflowing length", "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\n"
                                "Content-Length: 99999999999999999999999\r\n\r\n", 400},
  };
  for (const FramingCase& c : cases) {
    ExpectRefusedAndFollowUpNotRun(c);
  }
}

TEST_F(HttpFramingTest, TransferEncodingOtherThanChunkedIsRefused) {
  const std::vector<FramingCase> cases = {
      {"chunked not last", "POST /api/v1/customers HTTP/1.1\r\nHost: x\r\n"
                           "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400},
      {"unknown coding", "POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n", 400},
      {"chunked twice", "POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"folded transfer-encoding", "POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n"
                                   " chunked\r\n\r\n0\r\n\r\n", 400},
      {"chunked on http/1.0", "POST /api/v1/customers HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                              "\r\n0\r\n\r\n", 400},
  };
  for (const FramingCase& c : cases) {
    ExpectRefusedAndFollowUpNotRun(c);
  }
}

TEST_F(HttpFramingTest, BadChunkSizesAreRefused) {
  const std::string head = "POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n";
  const std::vector<FramingCase> cases = {
      {"not hex", head + "zz\r\nhello\r\n0\r\n\r\n", 400},
      {"negative", head + "-5\r\nhello\r\n0\r\n\r\n", 400},
      {"overflowing", head + "fffffffffffffffffffff\r\nhello\r\n0\r\n\r\n", 400},
      {"0x prefix", head + "0x5\r\nhello\r\n0\r\n\r\n", 400},
      {"size shorter than the data", head + "2\r\nhello\r\n0\r\n\r\n", 400},
      {"no CRLF after the data", head + "5\r\nhelloX0\r\n\r\n", 400},
      {"bare LF after the size", head + "5\nhello\r\n0\r\n\r\n", 400},
  };
  for (const FramingCase& c : cases) {
    ExpectRefusedAndFollowUpNotRun(c);
  }
}

TEST_F(HttpFramingTest, MalformedHeaderLinesAreRefused) {
  const std::vector<FramingCase> cases = {
      {"obs-fold", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: one\r\n two\r\n\r\n", 400},
      {"obs-fold with a tab", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: one\r\n\ttwo\r\n\r\n", 400},
      {"space before the colon", "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello", 400},
      {"bare LF line ends", "GET /healthz HTTP/1.1\nHost: x\n\n", 400},
      {"bare LF in one header", "GET /healthz HTTP/1.1\r\nHost: x\nX-Note: y\r\n\r\n", 400},
      {"bare CR in a value", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\rb\r\n\r\n", 400},
      {"NUL in a value", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\0b\r\n\r\n"s, 400},
      {"no colon", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note\r\n\r\n", 400},
  };
  for (const FramingCase& c : cases) {
    ExpectRefusedAndFollowUpNotRun(c);
  }
}

TEST_F(HttpFramingTest, OversizedHeadersAreRefused) {
  const std::vector<FramingCase> cases = {
      {"one 20 KB header", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(20 * 1024, 'a') +
                           "\r\n\r\n", 431},
      {"2,000 small headers", [] {
         std::string r = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
         for (int i = 0; i < 2000; ++i) r += "X-H" + std::to_string(i) + ": v\r\n";
         return r + "\r\n";
       }(), 431},
      {"a 20 KB request target", "GET /healthz?" + std::string(20 * 1024, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n",
       431},
  };
  for (const FramingCase& c : cases) {
    ExpectRefusedAndFollowUpNotRun(c);
  }
}

TEST_F(HttpFramingTest, OtherProtocolVersionsAreRefused) {
  const std::vector<FramingCase> cases = {
      {"HTTP/0.9", "GET /healthz\r\n", 400},
      {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400},
      {"HTTP/1.2", "GET /healthz HTTP/1.2\r\nHost: x\r\n\r\n", 400},
      {"HTTP/9.9", "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 400},
      {"lower-case version", "GET /healthz http/1.1\r\nHost: x\r\n\r\n", 400},
      {"two spaces", "GET  /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
  };
  for (const FramingCase& c : cases) {
    ExpectRefusedAndFollowUpNotRun(c);
  }
}

TEST_F(HttpFramingTest, AbsurdMethodsAreRefused) {
  const std::vector<FramingCase> cases = {
      {"control byte in the method", "G\x01T /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"separator in the method", "GE(T /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"unknown method", "FROBNICATE /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 405},
      {"lower-case get", "get /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 405},
      {"TRACE", "TRACE /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 405},
      {"CONNECT", "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\n\r\n", 405},
      {"a 10 KB method", std::string(10 * 1024, 'A') + " /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 405},
  };
  for (const FramingCase& c : cases) {
    ExpectRefusedAndFollowUpNotRun(c);
  }
}

TEST_F(HttpFramingTest, BadRequestTargetsAreRefusedAndCloseTheConnection) {
  const std::vector<FramingCase> cases = {
      {"absolute form", "GET http://elsewhere/healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"bad percent-encoding", "GET /api/v1/%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"asterisk form", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 400},
  };
  for (const FramingCase& c : cases) {
    ExpectRefusedAndFollowUpNotRun(c);
  }
}

}  // namespace
}  // namespace panorama
