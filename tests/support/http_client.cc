#include "tests/support/http_client.h"

#include <limits>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace panorama::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

beast::string_view ToBeast(std::string_view text) { return {text.data(), text.size()}; }
std::string ToString(beast::string_view text) { return std::string(text.data(), text.size()); }

}  // namespace

std::string_view HttpResponse::Header(std::string_view name) const {
  std::string lower = Lower(name);
  for (const auto& [key, value] : headers) {
    if (key == lower) {
      return value;
    }
  }
  return {};
}

// Every step is an async operation run to completion on a private io_context, because tcp_stream's
// deadlines apply only to async operations and a test must never hang on a silent server.
struct HttpClient::Impl {
  std::string host;
  uint16_t port;
  std::chrono::milliseconds timeout;
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  int connects = 0;

  template <typename Start>
  beast::error_code Run(Start&& start) {
    beast::error_code result = asio::error::would_block;
    stream->expires_after(timeout);
    start([&](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  beast::error_code Connect() {
    stream.emplace(ioc);
    buffer.clear();
    beast::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) {
      return ec;
    }
    ++connects;
    return Run([&](auto handler) { stream->async_connect(tcp::endpoint(address, port), handler); });
  }

  void Close() {
    if (stream) {
      beast::error_code ignored;
      stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream->close();
      stream.reset();
    }
  }

  HttpResponse ReadResponse(bool head) {
    HttpResponse out;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // not none: see server.cc
    parser.skip(head);
    beast::error_code ec = Run([&](auto handler) { bhttp::async_read(*stream, buffer, parser, handler); });
    if (ec) {
      out.error = "read: " + ec.message();
      Close();
      return out;
    }
    auto message = parser.release();
    out.status = static_cast<int>(message.result_int());
    for (const auto& field : message) {
      out.headers.emplace_back(Lower(ToString(field.name_string())), ToString(field.value()));
    }
    out.body = std::move(message.body());
    if (!message.keep_alive()) {
      Close();
    }
    return out;
  }
};

HttpClient::HttpClient(std::string host, uint16_t port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->timeout = timeout;
}

HttpClient::~HttpClient() { impl_->Close(); }

bool HttpClient::Connect() {
  if (impl_->stream) {
    return true;
  }
  if (impl_->Connect()) {
    impl_->Close();
    return false;
  }
  return true;
}

void HttpClient::Close() { impl_->Close(); }

int HttpClient::connect_count() const { return impl_->connects; }

HttpResponse HttpClient::Request(std::string_view method, std::string_view target,
                                 std::string_view body, const HeaderList& headers) {
  bhttp::request<bhttp::string_body> request;
  request.method_string(ToBeast(method));
  request.target(ToBeast(target));
  request.version(11);
  request.set(bhttp::field::host, impl_->host + ":" + std::to_string(impl_->port));
  bool has_content_type = false;
  for (const auto& [name, value] : headers) {
    request.insert(ToBeast(name), ToBeast(value));
    has_content_type = has_content_type || Lower(name) == "content-type";
  }
  if (!body.empty() && !has_content_type) {
    request.set(bhttp::field::content_type, "application/json");
  }
  request.body() = std::string(body);
  request.prepare_payload();
  bool head = method == "HEAD";

  // A reused connection may have been closed by the server meanwhile; then retry once on a new one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = impl_->stream.has_value();
    if (!reused) {
      if (beast::error_code ec = impl_->Connect()) {
        impl_->Close();
        HttpResponse failed;
        failed.error = "connect: " + ec.message();
        return failed;
      }
    }
    beast::error_code ec =
        impl_->Run([&](auto handler) { bhttp::async_write(*impl_->stream, request, handler); });
    if (ec && reused) {
      impl_->Close();
      continue;
    }
    // Even after a failed write the server may have answered (413 before reading the whole body).
    HttpResponse response = impl_->ReadResponse(head);
    if (response.status == 0 && reused && attempt == 0) {
      continue;
    }
    return response;
  }
  HttpResponse failed;
  failed.error = "connection closed";
  return failed;
}

HttpResponse HttpClient::SendRaw(std::string_view bytes) {
  if (!impl_->stream) {
    if (beast::error_code ec = impl_->Connect()) {
      impl_->Close();
      HttpResponse failed;
      failed.error = "connect: " + ec.message();
      return failed;
    }
  }
  beast::error_code ignored = impl_->Run([&](auto handler) {
    asio::async_write(*impl_->stream, asio::buffer(bytes.data(), bytes.size()), handler);
  });
  (void)ignored;  // the answer, if any, is what the test checks
  return impl_->ReadResponse(false);
}

}  // namespace panorama::test
