// panorama_http_hello: the Panorama HTTP server with one hello-JSON route, as the peer for
// panorama_http_load (DESIGN.md §5 compares with Beast's ≈110k req/s hello-JSON on 2 cores).
//
//   panorama_http_hello [--port 8080] [--io-threads 2] [--duration 15s]
//
// Prints the port it listens on, then serves GET /hello until the duration passes or SIGINT/SIGTERM.

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "http/router.h"
#include "http/server.h"

namespace {

std::atomic<bool> stop_requested{false};

void OnSignal(int) { stop_requested.store(true); }

}  // namespace

int main(int argc, char** argv) {
  panorama::http::ServerOptions options;
  options.access_log = false;
  long duration_s = 0;
  bool async = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    bool has_value = i + 1 < argc;
    if (arg == "--port" && has_value) {
      options.port = static_cast<uint16_t>(std::atoi(argv[++i]));
    } else if (arg == "--io-threads" && has_value) {
      options.io_threads = std::atoi(argv[++i]);
    } else if (arg == "--duration" && has_value) {
      duration_s = std::atol(argv[++i]);
    } else if (arg == "--async") {
      async = true;
    } else {
      std::fprintf(stderr,
                   "usage: panorama_http_hello [--port N] [--io-threads N] [--duration S] [--async]\n");
      return 2;
    }
  }

  panorama::http::Router router;
  if (async) {
    router.AddAsync(panorama::http::Method::kGet, "/hello",panorama::http::PublicAsync(
                    [](panorama::http::Request&, panorama::http::Responder respond) {
                      respond(panorama::http::Response::Json(200, "{\"hello\":\"world\"}"));
                    }));
  } else {
    router.Add(panorama::http::Method::kGet, "/hello", panorama::http::Public([](panorama::http::Request&) {
      return panorama::http::Response::Json(200, "{\"hello\":\"world\"}");
    }));
  }
  auto server = panorama::http::Server::Start(options, router);
  if (!server) {
    std::fprintf(stderr, "panorama_http_hello: %s\n", server.error().message().c_str());
    return 1;
  }
  std::printf("%u\n", (*server)->port());
  std::fflush(stdout);

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(duration_s);
  while (!stop_requested.load() &&
         (duration_s == 0 || std::chrono::steady_clock::now() < deadline)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  (*server)->Stop();
  return 0;
}
