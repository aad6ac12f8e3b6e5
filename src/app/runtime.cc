#include "app/runtime.h"

#include <signal.h>
#include <sys/stat.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "features/feature_store.h"
#include "http/handlers/api_services.h"
#include "http/router.h"
#include "http/server.h"
#include "ingest/feature_observer.h"
#include "ingest/ingest_pipeline.h"
#include "privacy/consent_service.h"
#include "privacy/dsar_service.h"
#include "profile/customer_view.h"
#include "security/auth_service.h"
#include "security/crypto_util.h"
#include "storage/store.h"

namespace panorama::app {
namespace {

const char* Env(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? value : nullptr;
}

Result<std::pair<std::string, uint16_t>> ParseListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Error::InvalidField("listen", "must be host:port, e.g. 127.0.0.1:8080");
  }
  std::string host = listen.substr(0, colon);
  int port = 0;
  try {
    size_t used = 0;
    port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535) return Error::InvalidField("listen", "port must be 0 to 65535");
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return std::make_pair(host, static_cast<uint16_t>(port));
}

// The privacy secret: 32 random bytes (base64url) in data_dir/privacy.key, mode 0600 by the umask set in Open.
// Erasure suppression hashes and pseudonym keys derive from it, so losing it breaks re-import detection and
// pseudonym stability, not data.
Result<std::string> LoadOrCreatePrivacySecret(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) {
    std::ifstream in(file, std::ios::binary);
    std::string secret;
    std::getline(in, secret);
    if (secret.size() < 32) return Error::Internal("privacy key file " + file.string() + " is damaged");
    return secret;
  }
  std::string secret = security::RandomToken(32);
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << secret << '\n';
  out.close();
  if (!out) return Error::Unavailable("cannot write " + file.string());
  return secret;
}

// Forwards committed ingestion effects to the feature store and the consent index.
class RuntimeObserver final : public ingest::IngestObserver {
 public:
  RuntimeObserver(ingest::FeatureObserver& features, privacy::ConsentService& consents)
      : features_(features), consents_(consents) {}
  // IngestObserver
  void OnCustomerCreated(CustomerId customer) override { features_.OnCustomerCreated(customer); }
  void OnMerged(CustomerId from, CustomerId into) override {
    features_.OnMerged(from, into);
    consents_.OnMerged(from, into);
  }
  void OnEvent(CustomerId customer, Timestamp at) override { features_.OnEvent(customer, at); }
  void OnOrder(CustomerId customer, Timestamp at, int64_t total) override { features_.OnOrder(customer, at, total); }
  void OnConsent(const storage::ConsentRecord& change) override { consents_.OnCommitted(change); }

 private:
  ingest::FeatureObserver& features_;
  privacy::ConsentService& consents_;
};

}  // namespace

Runtime::~Runtime() {
  if (ingest_) ingest_->Stop();
}

Result<std::unique_ptr<Runtime>> Runtime::Open(const RuntimeOptions& options) {
  if (!security::InitCrypto()) return Error::Internal("libsodium failed to initialise");
  // The data directory holds personal data and credentials' hashes: owner-only for everything created here.
  umask(077);
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) return Error::InvalidField("data", "cannot create " + options.data_dir + ": " + ec.message());
  auto runtime = std::unique_ptr<Runtime>(new Runtime());
  runtime->data_dir_ = options.data_dir;
  ASSIGN_OR_RETURN(runtime->store_,
                   storage::OpenSqliteStore({.path = (std::filesystem::path(options.data_dir) / "panorama.db").string(),
                                             .synchronous_full = !options.bulk_load,
                                             .read_connections = options.read_connections}));
  runtime->features_ = std::make_unique<features::FeatureStore>(runtime->clock_);
  runtime->auth_ = std::make_unique<security::AuthService>(*runtime->store_, runtime->clock_);
  runtime->feature_observer_ = std::make_unique<ingest::FeatureObserver>(*runtime->features_);
  ASSIGN_OR_RETURN(runtime->privacy_secret_,
                   LoadOrCreatePrivacySecret(std::filesystem::path(options.data_dir) / "privacy.key"));
  runtime->consents_ = std::make_unique<privacy::ConsentService>(*runtime->store_, runtime->clock_);
  RETURN_IF_ERROR(runtime->consents_->Load());
  // Suppression hashes use their own key, derived from the secret, so they never equal a pseudonym.
  runtime->dsar_ = std::make_unique<privacy::DsarService>(*runtime->store_, *runtime->features_, *runtime->consents_,
                                                          runtime->clock_,
                                                          security::Sha256Hex("pano-suppress-v1:" + runtime->privacy_secret_));
  runtime->observers_ = std::make_unique<RuntimeObserver>(*runtime->feature_observer_, *runtime->consents_);
  runtime->ingest_ = std::make_unique<ingest::IngestPipeline>(*runtime->store_, runtime->rates_, runtime->observers_.get());
  return runtime;
}

Result<BootstrapInfo> Runtime::Bootstrap() {
  BootstrapInfo info;
  const char* password = Env("PANORAMA_ADMIN_PASSWORD");
  auto admin = store_->FindUserByName(info.admin_username);
  if (!admin) {
    if (admin.error().code() != ErrorCode::kNotFound) return std::move(admin.error());
    info.admin_password = password ? password : security::RandomToken(12);
    auto created = auth_->CreateUser(info.admin_username, info.admin_password, "admin", "Administrator");
    if (!created) {
      return Error::InvalidField("PANORAMA_ADMIN_PASSWORD", created.error().violations().empty()
                                                                ? created.error().message()
                                                                : created.error().violations().front().reason);
    }
    info.admin_created = true;
  } else if (password) {
    RETURN_IF_ERROR(auth_->SetPassword(info.admin_username, password));
    info.admin_password = password;
  }
  if (const char* key = Env("PANORAMA_WRITE_KEY")) {
    RETURN_IF_ERROR(auth_->EnsureWriteKey("bootstrap write key", key));
    info.write_key = key;
  } else {
    ASSIGN_OR_RETURN(auto keys, store_->ListApiKeys());
    bool any = std::any_of(keys.begin(), keys.end(), [](const auto& k) { return k.kind == "write" && !k.revoked; });
    if (!any) {
      ASSIGN_OR_RETURN(auto created, auth_->CreateApiKey("bootstrap write key", "write", "ingest"));
      info.write_key = created.secret;
      info.write_key_created = true;
    }
  }
  return info;
}

namespace {

// The daily retention job: runs the policies once right after start, then every 24 hours, until stopped.
class RetentionJob {
 public:
  RetentionJob(storage::Store& store, features::FeatureStore& features, const Clock& clock,
               std::vector<privacy::RetentionPolicy> policies)
      : store_(store), features_(features), clock_(clock), policies_(std::move(policies)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~RetentionJob() { Stop(); }
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      auto report = privacy::RunRetention(store_, policies_, clock_.Now());
      if (!report) {
        spdlog::error("retention run failed: {}", report.error().message());
      } else {
        spdlog::info("retention run: {} rows deleted or anonymised", report->total_rows);
        if (report->total_rows > 0) {
          if (auto rebuilt = features_.Rebuild(store_); !rebuilt) {
            spdlog::error("feature store rebuild after retention failed: {}", rebuilt.error().message());
          }
        }
      }
      lock.lock();
      wake_.wait_for(lock, std::chrono::hours(24), [this] { return stopping_; });
    }
  }

  storage::Store& store_;
  features::FeatureStore& features_;
  const Clock& clock_;
  std::vector<privacy::RetentionPolicy> policies_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

class ServerHandle final : public Runtime::RunningServer {
 public:
  ServerHandle(ingest::IngestPipeline& ingest, std::unique_ptr<profile::CustomerViewService> views,
               std::unique_ptr<http::ApiServices> services, std::unique_ptr<http::Router> router)
      : ingest_(ingest), views_(std::move(views)), services_(std::move(services)), router_(std::move(router)) {}
  ~ServerHandle() override { Stop(); }

  // RunningServer
  uint16_t port() const override { return server_->port(); }
  void Stop() override {
    if (!server_) return;
    if (retention_) retention_->Stop();
    server_->Stop();
    server_->Wait();
    server_.reset();
    ingest_.Stop();
  }

  http::Router& router() { return *router_; }
  void set_server(std::unique_ptr<http::Server> server) { server_ = std::move(server); }
  void set_retention(std::unique_ptr<RetentionJob> job) { retention_ = std::move(job); }

 private:
  ingest::IngestPipeline& ingest_;
  std::unique_ptr<profile::CustomerViewService> views_;
  std::unique_ptr<http::ApiServices> services_;
  std::unique_ptr<http::Router> router_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<RetentionJob> retention_;
};

}  // namespace

Result<std::unique_ptr<Runtime::RunningServer>> Runtime::Start(const ServeOptions& options) {
  ASSIGN_OR_RETURN(auto address, ParseListen(options.listen));
  auto started = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(features_->Rebuild(*store_));
  spdlog::info("feature store loaded: {} customers in {} ms, {} bytes", features_->size(),
               std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count(),
               features_->MemoryBytes());
  ingest_->Start();

  auto views = std::make_unique<profile::CustomerViewService>(*store_, *features_, clock_, rates_.base());
  auto services = std::make_unique<http::ApiServices>(
      http::ApiServices{*store_, *auth_, *features_, *ingest_, *views, rates_, clock_});
  services->consents = consents_.get();
  services->dsar = dsar_.get();
  services->pseudonym_secret = privacy_secret_;
  auto router = std::make_unique<http::Router>();
  http::RegisterApiRoutes(*router, *services);
  auto handle = std::make_unique<ServerHandle>(*ingest_, std::move(views), std::move(services), std::move(router));

  http::ServerOptions server_options;
  server_options.address = address.first;
  server_options.port = address.second;
  server_options.worker_threads = options.worker_threads;
  server_options.access_log = options.access_log;
  server_options.static_dir = options.static_dir;
  if (server_options.static_dir.empty() && std::filesystem::exists("web/dist/index.html")) {
    server_options.static_dir = "web/dist";
  }
  if (!server_options.static_dir.empty() &&
      !std::filesystem::exists(std::filesystem::path(server_options.static_dir) / "index.html")) {
    spdlog::warn("console not built: {} has no index.html; the API still runs", server_options.static_dir);
    server_options.static_dir.clear();
  }
  // Segment: 500 KB per batch; CSV imports may be large files.
  server_options.body_limits = {{"/v1/", 512 * 1024}, {"/api/v1/imports/", 64 * 1024 * 1024}};
  auto server = http::Server::Start(server_options, handle->router());
  if (!server) {
    ingest_->Stop();
    return std::move(server.error());
  }
  handle->set_server(std::move(*server));
  if (options.retention_job) {
    handle->set_retention(std::make_unique<RetentionJob>(*store_, *features_, clock_, options.retention));
  }
  return std::unique_ptr<RunningServer>(std::move(handle));
}

Result<void> Runtime::Serve(const ServeOptions& options, const std::function<void(uint16_t port)>& on_listening) {
  // Block the stop signals in every thread started from here on; this thread waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ASSIGN_OR_RETURN(auto server, Start(options));
  on_listening(server->port());
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("received signal {}, stopping", signal_number);
  server->Stop();
  return Ok();
}

}  // namespace panorama::app
