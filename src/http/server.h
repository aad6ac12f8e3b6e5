#pragma once
// Server: the HTTP/1.1 listener. Beast and Asio stay behind the pimpl (STYLE.md §10).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace panorama::http {

class Router;

// A body limit for every path starting with `prefix`; the longest matching prefix wins over
// ServerOptions::max_body_bytes (the Segment routes under "/v1/" take 500 KB batches).
struct BodyLimit {
  std::string prefix;
  size_t max_body_bytes = 0;
};

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: an ephemeral port; read it back with Server::port()
  int io_threads = 2;
  int worker_threads = 32;  // sync handlers run here and may block on the database
  size_t max_body_bytes = 1024 * 1024;
  size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds read_timeout = std::chrono::seconds(30);  // one whole request
  // R17 slowloris: a request's header must be complete this long after its first byte (on a new connection:
  // after accept); read_timeout then covers the body. Trickling bytes does not extend either deadline.
  std::chrono::milliseconds header_timeout = std::chrono::seconds(10);
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);  // keep-alive between requests
  size_t max_connections = 10000;
  std::string static_dir;  // the console's files; empty serves none
  bool access_log = true;
  std::vector<BodyLimit> body_limits;
  // HTTPS when both are set: PEM certificate chain and private key. TLS 1.2/1.3 with ECDHE+AEAD suites only,
  // no compression or renegotiation; every response then carries HSTS (max-age=63072000; includeSubDomains).
  std::string tls_cert_file;
  std::string tls_key_file;
  // How long Stop() lets in-flight requests finish before closing their connections.
  std::chrono::milliseconds stop_timeout = std::chrono::seconds(10);
};

// Serves a Router over HTTP/1.1 (or HTTPS, see ServerOptions::tls_cert_file) with keep-alive (no pipelining).
//
// Sync handlers run on a pool of `worker_threads`; async handlers are invoked on an I/O thread, must not
// block, and may call their Responder once from any thread (a responder dropped uncalled answers 500).
// Every response carries the secure headers (nosniff, no-referrer, DENY framing, a same-origin CSP with
// frame-ancestors 'none'), text types their charset, and /api/ and /v1/ answers Cache-Control: no-store.
// Limits are answered with problem+json and the connection closed: body too large 413, header too large
// 431, malformed request 400, more than max_connections 503. A handler that throws gets a logged 500.
// When static_dir is set, GET and HEAD requests that match no route and are not under /api/ or /v1/ are
// served from it (see StaticFiles). The access log (spdlog, info level) records method, path without the
// query, status, response bytes and microseconds; never bodies, queries or headers.
//
// The router must outlive the server and must not change while it runs. Every Responder must be called
// or destroyed before the Server is destroyed (Stop() closes a connection whose responder is still
// pending after stop_timeout, but the responder itself still refers to the server's I/O context). Stop() and Wait() are safe from
// any thread except the server's own handlers.
class Server {
 public:
  // Binds and starts serving. kUnavailable naming the address when it cannot bind or listen;
  // kInvalidArgument for an unparsable address or an unusable TLS certificate or key (naming tls-cert or
  // tls-key); kNotFound when static_dir is not a directory.
  static Result<std::unique_ptr<Server>> Start(ServerOptions options, Router& router);
  ~Server();  // Stop()s if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const;

  // Graceful: stops accepting, closes idle keep-alive connections, lets requests in flight finish and
  // answers them with "Connection: close", and after stop_timeout closes whatever remains. Returns when
  // all threads have finished. Idempotent.
  void Stop();
  // Blocks until Stop() has completed (from another thread, e.g. a signal handler's).
  void Wait();

  // The number of open client connections.
  size_t ConnectionCountForTest() const;

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace panorama::http
