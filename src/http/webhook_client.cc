#include "http/webhook_client.h"

#include <openssl/ssl.h>

#include <charconv>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace panorama::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

// Runs one async step on `ioc` to completion or until the stream's deadline (tcp_stream deadlines apply to
// async operations only).
template <typename Start>
beast::error_code RunStep(asio::io_context& ioc, Start&& start) {
  beast::error_code result = asio::error::would_block;
  start([&](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

template <typename Stream>
Result<void> Exchange(asio::io_context& ioc, Stream& stream, const WebhookUrl& url, const std::string& json) {
  bhttp::request<bhttp::string_body> request{bhttp::verb::post, url.target, 11};
  request.set(bhttp::field::host, url.host);
  request.set(bhttp::field::user_agent, "panorama-audit");
  request.set(bhttp::field::content_type, "application/json");
  request.body() = json;
  request.prepare_payload();
  if (auto ec = RunStep(ioc, [&](auto h) { bhttp::async_write(stream, request, h); })) {
    return Error::Unavailable("write: " + ec.message());
  }
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> response;
  if (auto ec = RunStep(ioc, [&](auto h) { bhttp::async_read(stream, buffer, response, h); })) {
    return Error::Unavailable("read: " + ec.message());
  }
  int status = static_cast<int>(response.result_int());
  if (status < 200 || status > 299) return Error::Unavailable("status " + std::to_string(status));
  return Ok();
}

}  // namespace

Result<WebhookUrl> ParseWebhookUrl(std::string_view url, const std::string& field) {
  WebhookUrl out;
  out.text = std::string(url);
  std::string_view rest;
  if (url.starts_with("https://")) {
    out.tls = true;
    rest = url.substr(8);
    out.port = 443;
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
    out.port = 80;
  } else {
    return Error::InvalidField(field, "must start with https:// (or http:// to a loopback address)");
  }
  if (url.find('#') != std::string_view::npos) return Error::InvalidField(field, "must not have a fragment");
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.find('@') != std::string_view::npos) return Error::InvalidField(field, "must not carry user info");
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with("[")) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Error::InvalidField(field, "has an unclosed [IPv6] host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(":")) return Error::InvalidField(field, "has junk after the [IPv6] host");
      port = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return Error::InvalidField(field, "has no host");
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == ':';
    if (!ok) return Error::InvalidField(field, "has an invalid host");
  }
  out.host = std::string(host);
  if (!port.empty() || authority.ends_with(":")) {
    int value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || value < 1 || value > 65535) {
      return Error::InvalidField(field, "port must be 1 to 65535");
    }
    out.port = static_cast<uint16_t>(value);
  }
  for (char c : out.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return Error::InvalidField(field, "has a space or control character");
  }
  if (!out.tls && !IsLoopbackHost(out.host)) {
    return Error::InvalidField(field, "http:// only to a loopback address; use https:// for " + out.host);
  }
  return out;
}

Result<void> PostJson(const WebhookUrl& url, const std::string& json, std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  beast::tcp_stream tcp_stream(ioc);
  tcp_stream.expires_after(timeout);  // one deadline for every step below
  tcp::resolver resolver(ioc);
  tcp::resolver::results_type endpoints;
  if (auto ec = RunStep(ioc, [&](auto h) {
        resolver.async_resolve(url.host, std::to_string(url.port),
                               [&, h](beast::error_code e, tcp::resolver::results_type r) {
                                 endpoints = std::move(r);
                                 h(e);
                               });
      })) {
    return Error::Unavailable("resolve " + url.host + ": " + ec.message());
  }
  if (auto ec = RunStep(ioc, [&](auto h) { tcp_stream.async_connect(endpoints, h); })) {
    return Error::Unavailable("connect: " + ec.message());
  }
  if (!url.tls) {
    auto result = Exchange(ioc, tcp_stream, url, json);
    beast::error_code ignored;
    tcp_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return result;
  }
  asio::ssl::context context(asio::ssl::context::tls_client);
  context.set_default_verify_paths();
  context.set_verify_mode(asio::ssl::verify_peer);
  context.set_verify_callback(asio::ssl::host_name_verification(url.host));
  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), context);
  beast::get_lowest_layer(stream).expires_after(timeout);
  if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
    return Error::Unavailable("tls: cannot set the server name");
  }
  if (auto ec = RunStep(ioc, [&](auto h) { stream.async_handshake(asio::ssl::stream_base::client, h); })) {
    return Error::Unavailable("tls handshake: " + ec.message());
  }
  return Exchange(ioc, stream, url, json);
}

}  // namespace panorama::http
