// Shared parts of the HTTP load programs (panorama_http_load, panorama_ingest_load): a closed-loop keep-alive
// Beast client with one request in flight per connection, latency percentiles and the command-line helpers.
// Bounded runs against 127.0.0.1 only.

#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace panorama::bench {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

[[noreturn]] void Fail(const std::string& program, const std::string& message);

// "500ms", "10s", "2m"; a bare number is seconds.
std::chrono::milliseconds ParseDuration(const std::string& program, const std::string& text);
std::string ReadFile(const std::string& program, const std::string& path);
// "Name: value" -> {"Name", "value"}.
std::pair<std::string, std::string> ParseHeader(const std::string& program, const std::string& header);

struct LoadOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  int connections = 64;
  int threads = 1;
  std::chrono::milliseconds duration = std::chrono::seconds(10);
  std::chrono::milliseconds timeout = std::chrono::seconds(5);
};

// The options every load program shares: --host, --port, --connections/-c, --threads/-t, --duration/-d,
// --timeout. `value` yields the option's argument. Returns false when `arg` is not one of them.
bool ParseLoadOption(const std::string& program, const std::string& arg, const std::function<std::string()>& value,
                     LoadOptions& load);
// Exits with a message naming the option when the port, connections or threads are out of range.
void CheckLoadOptions(const std::string& program, const LoadOptions& load);


// What each connection sends next. Next() is called for one connection at a time, but different connections
// may call it concurrently from different threads (--threads > 1); the request it returns must stay valid until
// the same connection calls Next() again.
class RequestSource {
 public:
  struct Outgoing {
    const HttpRequest* request;
    uint64_t units;  // items it carries (events in a batch); counted when the answer is 2xx
  };
  virtual ~RequestSource() = default;
  virtual Outgoing Next(size_t connection) = 0;
};

struct LoadStats {
  std::vector<uint32_t> latencies_us;  // every completed request, sorted after RunLoad
  uint64_t errors = 0;                 // connect, write, read or timeout failures
  uint64_t non_2xx = 0;
  std::map<unsigned, uint64_t> statuses;  // answers per HTTP status (R16 counts 2xx/429/503 against the rest)
  uint64_t units_2xx = 0;
  uint64_t bytes = 0;
  uint64_t connects = 0;
  double seconds = 0;

  double Percentile(double p) const;  // milliseconds
  double MaxMs() const;
};

LoadStats RunLoad(const LoadOptions& options, RequestSource& source);

// A request with the Host and User-Agent headers set and the given extra headers; the body gets a JSON
// Content-Type unless one of the headers names another.
HttpRequest MakeRequest(const LoadOptions& options, const std::string& method, const std::string& target,
                        const std::vector<std::pair<std::string, std::string>>& headers, std::string body,
                        const char* user_agent);

}  // namespace panorama::bench
