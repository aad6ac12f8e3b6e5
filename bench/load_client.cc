#include "load_client.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace panorama::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// One connection running requests back to back until the deadline. Everything runs on its strand.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& ioc, const LoadOptions& options, const tcp::endpoint& endpoint,
             RequestSource& source, size_t index, Clock::time_point deadline)
      : options_(options),
        endpoint_(endpoint),
        source_(source),
        index_(index),
        deadline_(deadline),
        stream_(asio::make_strand(ioc)),
        retry_timer_(stream_.get_executor()) {}

  void Start() { Connect(); }
  LoadStats& stats() { return stats_; }

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
    RequestSource::Outgoing next = source_.Next(index_);
    units_ = next.units;
    head_ = next.request->method() == bhttp::verb::head;
    start_ = Clock::now();
    stream_.expires_after(options_.timeout);
    bhttp::async_write(stream_, *next.request, [self = shared_from_this()](beast::error_code ec, size_t) {
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
    ++stats_.statuses[status];
    if (status < 200 || status >= 300) {
      ++stats_.non_2xx;
      static std::atomic<int> shown{0};
      if (shown.fetch_add(1) < 5) {  // a few samples so a misconfigured run explains itself
        std::fprintf(stderr, "HTTP %u: %.300s\n", status, parser_->get().body().c_str());
      }
    } else {
      stats_.units_2xx += units_;
    }
    if (!parser_->get().keep_alive()) {
      Reconnect();
      return;
    }
    Send();
  }

  const LoadOptions& options_;
  tcp::endpoint endpoint_;
  RequestSource& source_;
  size_t index_;
  Clock::time_point deadline_;
  beast::tcp_stream stream_;
  asio::steady_timer retry_timer_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  Clock::time_point start_;
  uint64_t units_ = 0;
  bool head_ = false;
  LoadStats stats_;
};

}  // namespace

void Fail(const std::string& program, const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", program.c_str(), message.c_str());
  std::exit(2);
}

bool ParseLoadOption(const std::string& program, const std::string& arg, const std::function<std::string()>& value,
                     LoadOptions& load) {
  if (arg == "--host") {
    load.host = value();
  } else if (arg == "--port") {
    load.port = std::atoi(value().c_str());
  } else if (arg == "--connections" || arg == "-c") {
    load.connections = std::atoi(value().c_str());
  } else if (arg == "--threads" || arg == "-t") {
    load.threads = std::atoi(value().c_str());
  } else if (arg == "--duration" || arg == "-d") {
    load.duration = ParseDuration(program, value());
  } else if (arg == "--timeout") {
    load.timeout = ParseDuration(program, value());
  } else {
    return false;
  }
  return true;
}

void CheckLoadOptions(const std::string& program, const LoadOptions& load) {
  if (load.port <= 0 || load.port > 65535) {
    Fail(program, "--port is required (1-65535)");
  }
  if (load.connections <= 0 || load.threads <= 0) {
    Fail(program, "--connections and --threads must be positive");
  }
}

std::chrono::milliseconds ParseDuration(const std::string& program, const std::string& text) {
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
    Fail(program, "bad duration: " + text);
  }
  if (!(ms > 0)) {
    Fail(program, "duration must be positive: " + text);
  }
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

std::string ReadFile(const std::string& program, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Fail(program, "cannot read " + path);
  }
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::pair<std::string, std::string> ParseHeader(const std::string& program, const std::string& header) {
  size_t colon = header.find(':');
  if (colon == std::string::npos) {
    Fail(program, "header must be 'Name: value': " + header);
  }
  std::string value = header.substr(colon + 1);
  value.erase(0, value.find_first_not_of(' '));
  return {header.substr(0, colon), value};
}

double LoadStats::Percentile(double p) const {
  if (latencies_us.empty()) {
    return 0;
  }
  size_t index = static_cast<size_t>(p / 100.0 * static_cast<double>(latencies_us.size() - 1) + 0.5);
  return latencies_us[std::min(index, latencies_us.size() - 1)] / 1000.0;
}

double LoadStats::MaxMs() const { return latencies_us.empty() ? 0 : latencies_us.back() / 1000.0; }

HttpRequest MakeRequest(const LoadOptions& options, const std::string& method, const std::string& target,
                        const std::vector<std::pair<std::string, std::string>>& headers, std::string body,
                        const char* user_agent) {
  HttpRequest request;
  request.method_string(method);
  request.target(target);
  request.version(11);
  request.set(bhttp::field::host, options.host + ":" + std::to_string(options.port));
  request.set(bhttp::field::user_agent, user_agent);
  bool has_content_type = false;
  for (const auto& [name, value] : headers) {
    request.insert(name, value);
    has_content_type = has_content_type || beast::iequals(name, "content-type");
  }
  if (!body.empty() && !has_content_type) {
    request.set(bhttp::field::content_type, "application/json");
  }
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

LoadStats RunLoad(const LoadOptions& options, RequestSource& source) {
  beast::error_code ec;
  auto address = asio::ip::make_address(options.host, ec);
  if (ec) {
    Fail("load", "--host must be an ip address: " + options.host);
  }
  tcp::endpoint endpoint(address, static_cast<uint16_t>(options.port));

  asio::io_context ioc(options.threads);
  Clock::time_point begin = Clock::now();
  Clock::time_point deadline = begin + options.duration;
  std::vector<std::shared_ptr<Connection>> connections;
  for (int i = 0; i < options.connections; ++i) {
    connections.push_back(
        std::make_shared<Connection>(ioc, options, endpoint, source, static_cast<size_t>(i), deadline));
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

  LoadStats total;
  total.seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  for (auto& connection : connections) {
    LoadStats& stats = connection->stats();
    total.latencies_us.insert(total.latencies_us.end(), stats.latencies_us.begin(), stats.latencies_us.end());
    total.errors += stats.errors;
    total.non_2xx += stats.non_2xx;
    for (const auto& [status, count] : stats.statuses) {
      total.statuses[status] += count;
    }
    total.units_2xx += stats.units_2xx;
    total.bytes += stats.bytes;
    total.connects += stats.connects;
  }
  std::sort(total.latencies_us.begin(), total.latencies_us.end());
  return total;
}

}  // namespace panorama::bench
