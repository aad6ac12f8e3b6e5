// panorama_ingest_load: Segment-compatible ingestion load (POST /v1/batch) for bounded runs against 127.0.0.1.
// Every connection builds its own batches of track events with globally unique messageIds (run id + counter),
// so no event is a duplicate; the server answers 200 only after the group commit that holds the batch, so the
// latency reported is the durable-ack latency and events/s counts events in batches answered 2xx.
//
//   panorama_ingest_load --port 8080 --write-key KEY --connections 32 --duration 15s
//       [--batch-size 100] [--users 100000] [--users-file ids.txt --existing-fraction 0.5]
//       [--order-fraction 0.02] [--run-id ID] [--seed 1] [--json]
//
// Users: a message's userId is, with probability --existing-fraction, a line of --users-file (e.g. user ids of
// demo customers, so identity resolution finds them), otherwise "bench-u<n>" with n uniform in [0, --users):
// the first message of such a user creates a customer, later ones resolve to it.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "http/json.h"
#include "load_client.h"

namespace {

using panorama::bench::Fail;
using panorama::bench::HttpRequest;
using panorama::bench::LoadOptions;
using panorama::bench::LoadStats;
using panorama::bench::RequestSource;

const char* const kProgram = "panorama_ingest_load";

struct Options {
  LoadOptions load;
  std::string write_key;
  int batch_size = 100;
  int64_t users = 100000;
  std::string users_file;
  double existing_fraction = 0.5;
  double order_fraction = 0.02;
  std::string run_id;
  uint64_t seed = 1;
  bool json = false;
};

void PrintUsage() {
  std::puts(
      "usage: panorama_ingest_load --port N --write-key KEY [--host 127.0.0.1] [--connections 32]\n"
      "         [--threads 1] [--duration 10s] [--timeout 5s] [--batch-size 100] [--users 100000]\n"
      "         [--users-file FILE] [--existing-fraction 0.5] [--order-fraction 0.02]\n"
      "         [--run-id ID] [--seed 1] [--json]");
}

Options ParseArgs(int argc, char** argv) {
  Options options;
  options.load.connections = 32;
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
    } else if (arg == "--write-key") {
      options.write_key = next();
    } else if (arg == "--batch-size") {
      options.batch_size = std::atoi(next().c_str());
    } else if (arg == "--users") {
      options.users = std::atoll(next().c_str());
    } else if (arg == "--users-file") {
      options.users_file = next();
    } else if (arg == "--existing-fraction") {
      options.existing_fraction = std::atof(next().c_str());
    } else if (arg == "--order-fraction") {
      options.order_fraction = std::atof(next().c_str());
    } else if (arg == "--run-id") {
      options.run_id = next();
    } else if (arg == "--seed") {
      options.seed = std::strtoull(next().c_str(), nullptr, 10);
    } else if (arg == "--json") {
      options.json = true;
    } else {
      Fail(kProgram, "unknown option " + arg + " (see --help)");
    }
  }
  panorama::bench::CheckLoadOptions(kProgram, options.load);
  if (options.write_key.empty()) {
    Fail(kProgram, "--write-key is required");
  }
  if (options.batch_size <= 0 || options.batch_size > 1000 || options.users <= 0) {
    Fail(kProgram, "--batch-size must be 1-1000 (the server takes 500 KB per batch) and --users positive");
  }
  if (options.run_id.empty()) {
    // Unique across runs against the same data directory, so a rerun never sends a duplicate messageId.
    options.run_id = "r" + std::to_string(std::time(nullptr)) + "p" + std::to_string(getpid());
  }
  return options;
}

std::string Base64(const std::string& in) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {kAlphabet[n >> 18], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63], kAlphabet[n & 63]};
  }
  if (i + 1 == in.size()) {
    uint32_t n = uint8_t(in[i]) << 16;
    out += {kAlphabet[n >> 18], kAlphabet[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {kAlphabet[n >> 18], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63], '='};
  }
  return out;
}

uint64_t SplitMix(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr const char* kCategories[] = {"shoes", "apparel", "outdoor", "kitchen", "books", "toys", "beauty", "garden"};
constexpr const char* kBrowsers[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15"};

// Builds each connection's next batch in place; the only shared state is the messageId counter.
class BatchSource : public RequestSource {
 public:
  BatchSource(const Options& options, std::vector<std::string> existing_users)
      : options_(options), existing_users_(std::move(existing_users)) {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Authorization", "Basic " + Base64(options.write_key + ":")}};
    for (int i = 0; i < options.load.connections; ++i) {
      requests_.push_back(panorama::bench::MakeRequest(options.load, "POST", "/v1/batch", headers, "{}", kProgram));
      rng_.push_back(options.seed * 1000003 + static_cast<uint64_t>(i));
    }
  }

  Outgoing Next(size_t connection) override {
    HttpRequest& request = requests_[connection];
    uint64_t& rng = rng_[connection];
    std::string& body = request.body();
    body.clear();
    body.reserve(static_cast<size_t>(options_.batch_size) * 420 + 64);
    char timestamp[32];
    std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    std::strftime(timestamp, sizeof timestamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
    uint64_t first = seq_.fetch_add(static_cast<uint64_t>(options_.batch_size), std::memory_order_relaxed);
    body += "{\"batch\":[";
    for (int i = 0; i < options_.batch_size; ++i) {
      if (i) body += ',';
      AppendEvent(body, rng, first + static_cast<uint64_t>(i), timestamp);
    }
    body += "],\"sentAt\":\"";
    body += timestamp;
    body += "\"}";
    request.prepare_payload();
    return {&request, static_cast<uint64_t>(options_.batch_size)};
  }

  uint64_t events_sent() const { return seq_.load(); }

 private:
  double Uniform(uint64_t& rng) { return static_cast<double>(SplitMix(rng) >> 11) * 0x1.0p-53; }

  void AppendEvent(std::string& out, uint64_t& rng, uint64_t seq, const char* timestamp) {
    out += "{\"type\":\"track\",\"userId\":\"";
    if (!existing_users_.empty() && Uniform(rng) < options_.existing_fraction) {
      out += existing_users_[SplitMix(rng) % existing_users_.size()];
    } else {
      out += "bench-u";
      out += std::to_string(SplitMix(rng) % static_cast<uint64_t>(options_.users));
    }
    uint64_t product = SplitMix(rng) % 5000;
    const char* category = kCategories[product % std::size(kCategories)];
    std::string sku = "BK-" + std::to_string(100000 + product);
    std::string price = std::to_string(5 + product % 195) + "." + std::to_string(10 + product % 90);
    bool order = Uniform(rng) < options_.order_fraction;
    out += "\",\"messageId\":\"";
    out += options_.run_id;
    out += '-';
    out += std::to_string(seq);
    out += "\",\"timestamp\":\"";
    out += timestamp;
    if (order) {
      out += "\",\"event\":\"Order Completed\",\"properties\":{\"order_id\":\"";
      out += options_.run_id;
      out += "-o";
      out += std::to_string(seq);
      out += "\",\"currency\":\"USD\",\"total\":";
      out += price;
      out += ",\"products\":[{\"sku\":\"";
      out += sku;
      out += "\",\"name\":\"Bench product ";
      out += std::to_string(product);
      out += "\",\"category\":\"";
      out += category;
      out += "\",\"price\":";
      out += price;
      out += ",\"quantity\":1}]}";
    } else {
      static constexpr const char* kEvents[] = {"Product Viewed", "Product Viewed", "Product Viewed",
                                                "Product Added", "Products Searched", "Checkout Started"};
      out += "\",\"event\":\"";
      out += kEvents[SplitMix(rng) % std::size(kEvents)];
      out += "\",\"properties\":{\"product_id\":\"";
      out += sku;
      out += "\",\"name\":\"Bench product ";
      out += std::to_string(product);
      out += "\",\"category\":\"";
      out += category;
      out += "\",\"price\":";
      out += price;
      out += ",\"currency\":\"USD\",\"url\":\"https://shop.example.com/p/";
      out += sku;
      out += "\"}";
    }
    out += ",\"context\":{\"ip\":\"203.0.113.";
    out += std::to_string(SplitMix(rng) % 250 + 1);
    out += "\",\"locale\":\"en-US\",\"userAgent\":\"";
    out += kBrowsers[SplitMix(rng) % std::size(kBrowsers)];
    out += "\"}}";
  }

  const Options& options_;
  std::vector<std::string> existing_users_;
  std::vector<HttpRequest> requests_;
  std::vector<uint64_t> rng_;
  std::atomic<uint64_t> seq_{0};
};

std::vector<std::string> ReadUsers(const std::string& path) {
  std::vector<std::string> users;
  if (path.empty()) {
    return users;
  }
  std::istringstream lines(panorama::bench::ReadFile(kProgram, path));
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.find_first_of("\"\\") == std::string::npos) {
      users.push_back(line);
    }
  }
  return users;
}

}  // namespace

int main(int argc, char** argv) {
  Options options = ParseArgs(argc, argv);
  BatchSource source(options, ReadUsers(options.users_file));
  LoadStats total = panorama::bench::RunLoad(options.load, source);

  uint64_t batches = total.latencies_us.size();
  double events_per_second = static_cast<double>(total.units_2xx) / total.seconds;
  double batches_per_second = static_cast<double>(batches) / total.seconds;
  double p50 = total.Percentile(50);
  double p90 = total.Percentile(90);
  double p99 = total.Percentile(99);
  double max = total.MaxMs();

  if (options.json) {
    panorama::http::JsonWriter json;
    json.StartObject();
    json.Key("run_id").String(options.run_id);
    json.Key("connections").Int64(options.load.connections);
    json.Key("batch_size").Int64(options.batch_size);
    json.Key("seconds").Double(total.seconds);
    json.Key("batches").Uint64(batches);
    json.Key("events_acked").Uint64(total.units_2xx);
    json.Key("events_per_second").Double(events_per_second);
    json.Key("batches_per_second").Double(batches_per_second);
    json.Key("ack_latency_ms").StartObject();
    json.Key("p50").Double(p50).Key("p90").Double(p90).Key("p99").Double(p99).Key("max").Double(max);
    json.EndObject();
    json.Key("errors").Uint64(total.errors);
    json.Key("non_2xx").Uint64(total.non_2xx);
    json.Key("connects").Uint64(total.connects);
    json.EndObject();
    std::puts(json.TakeString().c_str());
  } else {
    std::printf("run %s: %llu batches of %d events in %.2f s over %d connections\n", options.run_id.c_str(),
                static_cast<unsigned long long>(batches), options.batch_size, total.seconds,
                options.load.connections);
    std::printf("events/s (durably acked): %.0f   batches/s: %.0f\n", events_per_second, batches_per_second);
    std::printf("ack latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", p50, p90, p99, max);
    std::printf("errors: %llu  non-2xx: %llu  connects: %llu\n", static_cast<unsigned long long>(total.errors),
                static_cast<unsigned long long>(total.non_2xx), static_cast<unsigned long long>(total.connects));
  }
  return total.errors == 0 && total.non_2xx == 0 ? 0 : 1;
}
