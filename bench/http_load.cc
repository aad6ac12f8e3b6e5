// panorama_http_load: a wrk-like HTTP/1.1 load generator (closed loop, keep-alive, one request in flight
// per connection) for bounded runs against 127.0.0.1. Not Google Benchmark: load runs report latency
// percentiles and throughput of a server in another process, which the benchmark library does not model.
//
//   panorama_http_load --port 8080 --path /api/v1/hello --connections 64 --duration 10s [--json]
//   panorama_http_load --port 8080 --requests-file reqs.txt --header 'Authorization: Bearer x'
//
// A requests file has one request per line, "METHOD PATH [@bodyfile]"; connections cycle through them.
// Blank lines and lines starting with '#' are skipped. The client itself lives in load_client.{h,cc}.

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "http/json.h"
#include "load_client.h"

namespace {

using panorama::bench::Fail;
using panorama::bench::HttpRequest;
using panorama::bench::LoadOptions;
using panorama::bench::LoadStats;
using panorama::bench::RequestSource;

const char* const kProgram = "panorama_http_load";

struct Options {
  LoadOptions load;
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

void PrintUsage() {
  std::puts(
      "usage: panorama_http_load --port N [--host 127.0.0.1] [--connections 64] [--threads 1]\n"
      "         [--duration 10s] [--timeout 5s] [--header 'K: V']... [--json]\n"
      "         (--requests-file FILE | [--method GET] [--path /] [--body-file FILE])\n"
      "requests file lines: METHOD PATH [@bodyfile]\n"
      "durations: 500ms, 10s, 2m");
}

Options ParseArgs(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        Fail(kProgram, arg + " needs a value");
      }
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      PrintUsage();
      std::exit(0);
    } else if (panorama::bench::ParseLoadOption(kProgram, arg, next, options.load)) {
    } else if (arg == "--requests-file") {
      options.requests_file = next();
    } else if (arg == "--method") {
      options.method = next();
    } else if (arg == "--path") {
      options.path = next();
    } else if (arg == "--body-file") {
      options.body_file = next();
    } else if (arg == "--header" || arg == "-H") {
      options.headers.push_back(panorama::bench::ParseHeader(kProgram, next()));
    } else if (arg == "--json") {
      options.json = true;
    } else {
      Fail(kProgram, "unknown option " + arg + " (see --help)");
    }
  }
  panorama::bench::CheckLoadOptions(kProgram, options.load);
  return options;
}

std::vector<RequestSpec> LoadRequests(const Options& options) {
  std::vector<RequestSpec> specs;
  if (options.requests_file.empty()) {
    specs.push_back({options.method, options.path,
                     options.body_file.empty() ? std::string()
                                               : panorama::bench::ReadFile(kProgram, options.body_file)});
    return specs;
  }
  std::istringstream lines(panorama::bench::ReadFile(kProgram, options.requests_file));
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
      Fail(kProgram, "bad request line: " + line);
    }
    if (!body_ref.empty()) {
      if (body_ref[0] != '@') {
        Fail(kProgram, "body must be @file: " + line);
      }
      spec.body = panorama::bench::ReadFile(kProgram, body_ref.substr(1));
    }
    specs.push_back(std::move(spec));
  }
  if (specs.empty()) {
    Fail(kProgram, "no requests in " + options.requests_file);
  }
  return specs;
}

// Connection i starts at request i and steps through the list; every connection owns its own cursor.
class CyclingSource : public RequestSource {
 public:
  CyclingSource(std::vector<HttpRequest> requests, size_t connections)
      : requests_(std::move(requests)), next_(connections) {
    for (size_t i = 0; i < connections; ++i) {
      next_[i] = i;
    }
  }
  Outgoing Next(size_t connection) override {
    const HttpRequest& request = requests_[next_[connection]++ % requests_.size()];
    return {&request, 1};
  }

 private:
  std::vector<HttpRequest> requests_;
  std::vector<size_t> next_;
};

}  // namespace

int main(int argc, char** argv) {
  Options options = ParseArgs(argc, argv);
  std::vector<HttpRequest> requests;
  for (RequestSpec& spec : LoadRequests(options)) {
    requests.push_back(panorama::bench::MakeRequest(options.load, spec.method, spec.target, options.headers,
                                                    std::move(spec.body), kProgram));
  }
  CyclingSource source(std::move(requests), static_cast<size_t>(options.load.connections));
  LoadStats total = panorama::bench::RunLoad(options.load, source);

  uint64_t completed = total.latencies_us.size();
  double rps = completed / total.seconds;
  double p50 = total.Percentile(50);
  double p90 = total.Percentile(90);
  double p99 = total.Percentile(99);
  double max = total.MaxMs();

  if (options.json) {
    panorama::http::JsonWriter json;
    json.StartObject();
    json.Key("connections").Int64(options.load.connections);
    json.Key("threads").Int64(options.load.threads);
    json.Key("seconds").Double(total.seconds);
    json.Key("requests").Uint64(completed);
    json.Key("requests_per_second").Double(rps);
    json.Key("latency_ms").StartObject();
    json.Key("p50").Double(p50).Key("p90").Double(p90).Key("p99").Double(p99).Key("max").Double(max);
    json.EndObject();
    json.Key("errors").Uint64(total.errors);
    json.Key("non_2xx").Uint64(total.non_2xx);
    json.Key("statuses").StartObject();
    for (const auto& [status, count] : total.statuses) {
      json.Key(std::to_string(status)).Uint64(count);
    }
    json.EndObject();
    json.Key("connects").Uint64(total.connects);
    json.Key("bytes_read").Uint64(total.bytes);
    json.EndObject();
    std::puts(json.TakeString().c_str());
  } else {
    std::printf("%llu requests in %.2f s over %d connections (%d thread%s)\n",
                static_cast<unsigned long long>(completed), total.seconds, options.load.connections,
                options.load.threads, options.load.threads == 1 ? "" : "s");
    std::printf("requests/s: %.0f\n", rps);
    std::printf("latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", p50, p90, p99, max);
    std::printf("errors: %llu  non-2xx: %llu  connects: %llu  bytes read: %llu\n",
                static_cast<unsigned long long>(total.errors), static_cast<unsigned long long>(total.non_2xx),
                static_cast<unsigned long long>(total.connects), static_cast<unsigned long long>(total.bytes));
  }
  return total.errors == 0 ? 0 : 1;
}
