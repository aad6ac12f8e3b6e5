// panorama_http_load: a wrk-like HTTP/1.1 load generator (closed loop, keep-alive, one request in flight
// per connection) for bounded runs against 127.0.0.1. Not Google Benchmark: load runs report latency
// percentiles and throughput of a server in another process, which the benchmark library does not model.
//
//   panorama_http_load --port 8080 --path /api/v1/hello --connections 64 --duration 10s [--json]
//   panorama_http_load --port 8080 --requests-file reqs.txt --header 'Authorization: Bearer x'
//
// A requests file has one request per line, "METHOD PATH [@bodyfile]"; connections cycle through them.
// Blank lines and lines starting with '#' are skipped.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "http/json.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int connections = 64;
  int threads = 1;
  std::chrono::milliseconds duration = std::chrono::seconds(10);
  std::chrono::milliseconds timeout = std::chrono::seconds(5);
  std::string requests_file;
  std::string method = "GET";
  std::string path = "/";
  std::string body_file;
  std::vector<std::pair<std::string, std::string>> headers;
  bool json = false;
};

struct RequestSpec {
  std::string method;
  std::string target;
  std::string body;
};

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "panorama_http_load: %s\n", message.c_str());
  std::exit(2);
}

void PrintUsage() {
  std::puts(
      "usage: panorama_http_load --port N [--host 127.0.0.1] [--connections 64] [--threads 1]\n"
      "         [--duration 10s] [--timeout 5s] [--header 'K: V']... [--json]\n"
      "         (--requests-file FILE | [--method GET] [--path /] [--body-file FILE])\n"
      "requests file lines: METHOD PATH [@bodyfile]\n"
      "durations: 500ms, 10s, 2m");
}

std::chrono::milliseconds ParseDuration(const std::string& text) {
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  std::string unit(end);
  double ms = 0;
  if (unit == "ms") {
    ms = value;
  } else if (unit == "s" || unit.empty()) {
    ms = value * 1000;
  } else if (unit == "m") {
    ms = value * 60000;
  } else {
    Fail("bad duration: " + text);
  }
  if (!(ms > 0)) {
    Fail("duration must be positive: " + text);
  }
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Fail("cannot read " + path);
  }
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Options ParseArgs(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        Fail(arg + " needs a value");
      }
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      PrintUsage();
      std::exit(0);
    } else if (arg == "--host") {
      options.host = next();
    } else if (arg == "--port") {
      options.port = std::atoi(next().c_str());
    } else if (arg == "--connections" || arg == "-c") {
      options.connections = std::atoi(next().c_str());
    } else if (arg == "--threads" || arg == "-t") {
      options.threads = std::atoi(next().c_str());
    } else if (arg == "--duration" || arg == "-d") {
      options.duration = ParseDuration(next());
    } else if (arg == "--timeout") {
      options.timeout = ParseDuration(next());
    } else if (arg == "--requests-file") {
      options.requests_file = next();
    } else if (arg == "--method") {
      options.method = next();
    } else if (arg == "--path") {
      options.path = next();
    } else if (arg == "--body-file") {
      options.body_file = next();
    } else if (arg == "--header" || arg == "-H") {
      std::string header = next();
      size_t colon = header.find(':');
      if (colon == std::string::npos) {
        Fail("header must be 'Name: value': " + header);
      }
      std::string value = header.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      options.headers.emplace_back(header.substr(0, colon), value);
    } else if (arg == "--json") {
      options.json = true;
    } else {
      Fail("unknown option " + arg + " (see --help)");
    }
  }
  if (options.port <= 0 || options.port > 65535) {
    Fail("--port is required (1-65535)");
  }
  if (options.connections <= 0 || options.threads <= 0) {
    Fail("--connections and --threads must be positive");
  }
  return options;
}

std::vector<RequestSpec> LoadRequests(const Options& options) {
  std::vector<RequestSpec> specs;
  if (options.requests_file.empty()) {
    specs.push_back({options.method, options.path,
                     options.body_file.empty() ? std::string() : ReadFile(options.body_file)});
    return specs;
  }
  std::istringstream lines(ReadFile(options.requests_file));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    std::istringstream fields(line);
    RequestSpec spec;
    std::string body_ref;
    fields >> spec.method >> spec.target >> body_ref;
    if (spec.method.empty() || spec.target.empty()) {
      Fail("bad request line: " + line);
    }
    if (!body_ref.empty()) {
      if (body_ref[0] != '@') {
        Fail("body must be @file: " + line);
      }
      spec.body = ReadFile(body_ref.substr(1));
    }
    specs.push_back(std::move(spec));
  }
  if (specs.empty()) {
    Fail("no requests in " + options.requests_file);
  }
  return specs;
}

struct Stats {
  std::vector<uint32_t> latencies_us;
  uint64_t errors = 0;
  uint64_t non_2xx = 0;
  uint64_t bytes = 0;
  uint64_t connects = 0;
};

// One connection running requests back to back until the deadline. Everything runs on its strand.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& ioc, const Options& options, const tcp::endpoint& endpoint,
             const std::vector<bhttp::request<bhttp::string_body>>& requests, size_t first,
             Clock::time_point deadline)
      : options_(options),
        endpoint_(endpoint),
        requests_(requests),
        next_(first),
        deadline_(deadline),
        stream_(asio::make_strand(ioc)),
        retry_timer_(stream_.get_executor()) {}

  void Start() { Connect(); }
  Stats& stats() { return stats_; }

 private:
  void Connect() {
    if (Clock::now() >= deadline_) {
      return;
    }
    ++stats_.connects;
    stream_.expires_after(options_.timeout);
    stream_.async_connect(endpoint_, [self = shared_from_this()](beast::error_code ec) {
      if (ec) {
        // Refused or timed out: back off briefly rather than spin on a server that is not there.
        ++self->stats_.errors;
        self->retry_timer_.expires_after(std::chrono::milliseconds(10));
        self->retry_timer_.async_wait([self](beast::error_code) { self->Reconnect(); });
        return;
      }
      beast::error_code ignored;
      self->stream_.socket().set_option(tcp::no_delay(true), ignored);
      self->Send();
    });
  }

  void Reconnect() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
    buffer_.clear();
    Connect();
  }

  void Send() {
    if (Clock::now() >= deadline_) {
      beast::error_code ignored;
      stream_.socket().close(ignored);
      return;
    }
    const auto& request = requests_[next_ % requests_.size()];
    ++next_;
    head_ = request.method() == bhttp::verb::head;
    start_ = Clock::now();
    stream_.expires_after(options_.timeout);
    bhttp::async_write(stream_, request, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        ++self->stats_.errors;
        self->Reconnect();
        return;
      }
      self->Receive();
    });
  }

  void Receive() {
    parser_.emplace();
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    parser_->skip(head_);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t bytes) {
                        self->OnResponse(ec, bytes);
                      });
  }

  void OnResponse(beast::error_code ec, size_t bytes) {
    if (ec) {
      ++stats_.errors;
      Reconnect();
      return;
    }
    auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start_);
    stats_.latencies_us.push_back(static_cast<uint32_t>(std::min<int64_t>(elapsed.count(), UINT32_MAX)));
    stats_.bytes += bytes;
    unsigned status = parser_->get().result_int();
    if (status < 200 || status >= 300) {
      ++stats_.non_2xx;
    }
    if (!parser_->get().keep_alive()) {
      Reconnect();
      return;
    }
    Send();
  }

  const Options& options_;
  tcp::endpoint endpoint_;
  const std::vector<bhttp::request<bhttp::string_body>>& requests_;
  size_t next_;
  Clock::time_point deadline_;
  beast::tcp_stream stream_;
  asio::steady_timer retry_timer_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  Clock::time_point start_;
  bool head_ = false;
  Stats stats_;
};

double Percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) {
    return 0;
  }
  size_t index = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options = ParseArgs(argc, argv);
  std::vector<RequestSpec> specs = LoadRequests(options);

  beast::error_code ec;
  auto address = asio::ip::make_address(options.host, ec);
  if (ec) {
    Fail("--host must be an ip address: " + options.host);
  }
  tcp::endpoint endpoint(address, static_cast<uint16_t>(options.port));
  std::string host_header = options.host + ":" + std::to_string(options.port);

  std::vector<bhttp::request<bhttp::string_body>> requests;
  for (const RequestSpec& spec : specs) {
    bhttp::request<bhttp::string_body> request;
    request.method_string(spec.method);
    request.target(spec.target);
    request.version(11);
    request.set(bhttp::field::host, host_header);
    request.set(bhttp::field::user_agent, "panorama_http_load");
    bool has_content_type = false;
    for (const auto& [name, value] : options.headers) {
      request.insert(name, value);
      has_content_type = has_content_type || beast::iequals(name, "content-type");
    }
    if (!spec.body.empty() && !has_content_type) {
      request.set(bhttp::field::content_type, "application/json");
    }
    request.body() = spec.body;
    request.prepare_payload();
    requests.push_back(std::move(request));
  }

  asio::io_context ioc(options.threads);
  Clock::time_point begin = Clock::now();
  Clock::time_point deadline = begin + options.duration;
  std::vector<std::shared_ptr<Connection>> connections;
  for (int i = 0; i < options.connections; ++i) {
    connections.push_back(std::make_shared<Connection>(ioc, options, endpoint, requests,
                                                       static_cast<size_t>(i), deadline));
    connections.back()->Start();
  }
  std::vector<std::thread> threads;
  for (int i = 1; i < options.threads; ++i) {
    threads.emplace_back([&ioc] { ioc.run(); });
  }
  ioc.run();
  for (std::thread& thread : threads) {
    thread.join();
  }
  double seconds = std::chrono::duration<double>(Clock::now() - begin).count();

  Stats total;
  for (auto& connection : connections) {
    Stats& stats = connection->stats();
    total.latencies_us.insert(total.latencies_us.end(), stats.latencies_us.begin(),
                              stats.latencies_us.end());
    total.errors += stats.errors;
    total.non_2xx += stats.non_2xx;
    total.bytes += stats.bytes;
    total.connects += stats.connects;
  }
  std::sort(total.latencies_us.begin(), total.latencies_us.end());
  uint64_t completed = total.latencies_us.size();
  double rps = completed / seconds;
  double p50 = Percentile(total.latencies_us, 50);
  double p90 = Percentile(total.latencies_us, 90);
  double p99 = Percentile(total.latencies_us, 99);
  double max = total.latencies_us.empty() ? 0 : total.latencies_us.back() / 1000.0;

  if (options.json) {
    panorama::http::JsonWriter json;
    json.StartObject();
    json.Key("connections").Int64(options.connections);
    json.Key("threads").Int64(options.threads);
    json.Key("seconds").Double(seconds);
    json.Key("requests").Uint64(completed);
    json.Key("requests_per_second").Double(rps);
    json.Key("latency_ms").StartObject();
    json.Key("p50").Double(p50).Key("p90").Double(p90).Key("p99").Double(p99).Key("max").Double(max);
    json.EndObject();
    json.Key("errors").Uint64(total.errors);
    json.Key("non_2xx").Uint64(total.non_2xx);
    json.Key("connects").Uint64(total.connects);
    json.Key("bytes_read").Uint64(total.bytes);
    json.EndObject();
    std::puts(json.TakeString().c_str());
  } else {
    std::printf("%llu requests in %.2f s over %d connections (%d thread%s)\n",
                static_cast<unsigned long long>(completed), seconds, options.connections,
                options.threads, options.threads == 1 ? "" : "s");
    std::printf("requests/s: %.0f\n", rps);
    std::printf("latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", p50, p90, p99, max);
    std::printf("errors: %llu  non-2xx: %llu  connects: %llu  bytes read: %llu\n",
                static_cast<unsigned long long>(total.errors),
                static_cast<unsigned long long>(total.non_2xx),
                static_cast<unsigned long long>(total.connects),
                static_cast<unsigned long long>(total.bytes));
  }
  return total.errors == 0 ? 0 : 1;
}
