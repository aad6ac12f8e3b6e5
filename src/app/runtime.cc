#include "app/runtime.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "analytics/behaviour/behaviour_service.h"
#include "analytics/lifecycle.h"
#include "analytics/rfm_service.h"
#include "analytics/segment_metrics.h"
#include "audit/checkpoint_sinks.h"
#include "audit/ledger_service.h"
#include "audit/ledgered_store.h"
#include "audit/merkle.h"
#include "audit/verifier.h"
#include "backup/backup_scheduler.h"
#include "backup/data_dir_lock.h"
#include "core/periodic_task.h"
#include "features/feature_store.h"
#include "http/handlers/api_services.h"
#include "http/router.h"
#include "http/server.h"
#include "http/tls_certificate.h"
#include "http/webhook_client.h"
#include "ingest/feature_observer.h"
#include "segments/audience_index.h"
#include "segments/service/audience_rule_engine.h"
#include "segments/service/segment_service.h"
#include "ingest/ingest_pipeline.h"
#include "privacy/consent_service.h"
#include "privacy/dsar_service.h"
#include "privacy/data_class_catalogue.h"
#include "privacy/public_requests.h"
#include "profile/customer_view.h"
#include "security/aes_gcm.h"
#include "security/auth_service.h"
#include "security/secret_sealer.h"
#include "security/crypto_util.h"
#include "security/field_encryptor.h"
#include "security/password_pepper.h"
#include "storage/keystore.h"
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

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

// The ledger form of a security event: the detail (ids and settings, e.g. "role sales mfa relaxed") is the object
// id; refusals and alarms are not "ok".
audit::LedgerEntry SecurityLedgerEntry(const security::SecurityEvent& e) {
  audit::LedgerEntry entry;
  entry.at = e.at;
  entry.actor = e.actor;
  entry.action = "security." + e.action;
  entry.object_type = "security";
  entry.object_id = e.detail;
  if (e.action == "step_up_failed" || e.action == "mfa_throttled") entry.outcome = "denied";
  if (e.action == "refresh_token_reuse" || e.action == "throttle_not_saved") entry.outcome = "alert";
  return entry;
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
  RuntimeObserver(ingest::FeatureObserver& features, privacy::ConsentService& consents, analytics::RfmService& rfm,
                  segments::SegmentService& segments)
      : features_(features), consents_(consents), rfm_(rfm), segments_(segments) {}
  // IngestObserver (segments last: they read the feature store, RFM and the consent index)
  void OnCustomerCreated(CustomerId customer) override {
    features_.OnCustomerCreated(customer);
    segments_.OnCustomerChanged(customer);
  }
  void OnMerged(CustomerId from, CustomerId into) override {
    features_.OnMerged(from, into);
    consents_.OnMerged(from, into);
    segments_.OnMerged(from, into);
  }
  void OnEvent(CustomerId customer, Timestamp at) override {
    features_.OnEvent(customer, at);
    segments_.OnEvent(customer, at);
  }
  void OnOrder(CustomerId customer, Timestamp at, int64_t total) override {
    features_.OnOrder(customer, at, total);
    rfm_.OnOrder(customer);  // after the feature store, whose aggregates it rescores
    segments_.OnOrder(customer, at, total);
  }
  void OnConsent(const storage::ConsentRecord& change) override {
    consents_.OnCommitted(change);
    segments_.OnCustomerChanged(change.customer);
  }

 private:
  ingest::FeatureObserver& features_;
  privacy::ConsentService& consents_;
  analytics::RfmService& rfm_;
  segments::SegmentService& segments_;
};

}  // namespace

Runtime::~Runtime() {
  if (ingest_) ingest_->Stop();
  if (segments_) segments_->Stop();
  if (ledger_service_) ledger_service_->Stop();
}

namespace {
std::string SigningKeyPath(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "ledger-signing.key").string();
}
std::string DatabasePath(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "panorama.db").string();
}
}  // namespace

Result<audit::VerifyReport> Runtime::VerifyLedger(const std::string& data_dir, const std::string& witness_path,
                                                  const std::string& public_key_hex) {
  if (!security::InitCrypto()) return Error::Internal("libsodium failed to initialise");
  if (!std::filesystem::exists(DatabasePath(data_dir))) {
    return Error::InvalidField("data", "no database in " + data_dir);
  }
  std::string key = public_key_hex;
  if (key.empty()) {
    auto signer = audit::LedgerSigner::Load(SigningKeyPath(data_dir));
    if (signer) {
      key = signer->PublicKeyHex();
    } else if (signer.error().code() != ErrorCode::kNotFound) {
      return std::move(signer.error());
    }
  }
  ASSIGN_OR_RETURN(auto store, storage::OpenSqliteStore({.path = DatabasePath(data_dir), .read_connections = 1, .ledger_only = true}));
  return audit::VerifyLedger(*store, {.public_key_hex = key, .witness_path = witness_path});
}

Result<std::string> Runtime::LedgerPublicKey(const std::string& data_dir) {
  if (!security::InitCrypto()) return Error::Internal("libsodium failed to initialise");
  umask(077);
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Error::InvalidField("data", "cannot create " + data_dir + ": " + ec.message());
  ASSIGN_OR_RETURN(auto signer, audit::LedgerSigner::LoadOrCreate(SigningKeyPath(data_dir)));
  return signer.PublicKeyHex();
}

Result<std::unique_ptr<Runtime>> Runtime::Open(const RuntimeOptions& options) {
  if (!security::InitCrypto()) return Error::Internal("libsodium failed to initialise");
  // Options first: a bad one is refused before anything is created or opened.
  if (!options.audit_webhook.empty()) {
    if (auto url = http::ParseWebhookUrl(options.audit_webhook, "audit-webhook"); !url) return std::move(url.error());
  }
  // The data directory holds personal data and credentials' hashes: owner-only for everything created here.
  umask(077);
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) return Error::InvalidField("data", "cannot create " + options.data_dir + ": " + ec.message());
  // Keys live in this process's memory from here on: no core files.
  if (!security::DisableCoreDumps()) spdlog::warn("could not disable core dumps");
  // R6: under a file-size limit (RLIMIT_FSIZE) a write past it must fail with EFBIG ("storage full", 503), not
  // kill the server with SIGXFSZ.
  ::signal(SIGXFSZ, SIG_IGN);
  auto runtime = std::unique_ptr<Runtime>(new Runtime());
  runtime->data_dir_ = options.data_dir;
  if (options.lock_data_dir) {
    ASSIGN_OR_RETURN(backup::DataDirLock lock, backup::DataDirLock::Acquire(options.data_dir));
    runtime->lock_ = std::make_unique<backup::DataDirLock>(std::move(lock));
  }
  const std::filesystem::path dir(options.data_dir);
  security::MasterKeySource source = options.master_key;
  if (source.empty()) {
    if (const char* env = Env("PANORAMA_MASTER_KEY")) source.env_value = env;
  }
  if (source.empty() && options.insecure_dev) {
    source.file = (dir / "insecure-dev-master.key").string();
    if (!std::filesystem::exists(source.file)) {
      security::MasterKeyRing ring;
      ring.Add(1, security::RandomKey());
      RETURN_IF_ERROR(security::WriteMasterKeyFile(source.file, ring, /*replace=*/false));
    }
    std::fprintf(stderr,
                 "WARNING: --insecure-dev: the master key is %s, inside the data directory; field encryption "
                 "protects nothing here. Never use this for real data.\n",
                 source.file.c_str());
  }
  ASSIGN_OR_RETURN(security::MasterKeyRing ring, security::LoadMasterKeys(source));
  const std::string keystore_path = (dir / "keystore.db").string();
  const std::string db_path = (dir / "panorama.db").string();
  if (!std::filesystem::exists(keystore_path) && std::filesystem::exists(db_path)) {
    return Error::FailedPrecondition(
        "keystore.db is missing beside an existing panorama.db: restore the keystore from its backup (without it "
        "the encrypted data cannot be read); nothing was changed");
  }
  ASSIGN_OR_RETURN(auto keystore, storage::OpenSqliteKeyStore({.path = keystore_path,
                                                               .synchronous_full = !options.bulk_load}));
  ASSIGN_OR_RETURN(runtime->encryptor_,
                   security::FieldEncryptor::Open(std::move(ring), std::move(keystore),
                                                  {.reload = [source] { return security::LoadMasterKeys(source); },
                                                   .cipher = options.field_cipher}));
  ASSIGN_OR_RETURN(auto sqlite, storage::OpenSqliteStore({.path = db_path,
                                                          .crypto = runtime->encryptor_.get(),
                                                          .synchronous_full = !options.bulk_load,
                                                          .read_connections = options.read_connections}));
  // Every write of every command goes through the ledger decorator; the signing key and the checkpoint writer
  // run for CLI commands too, so a long import is checkpointed as it goes.
  ASSIGN_OR_RETURN(auto ledgered, audit::LedgeredStore::Open(std::move(sqlite), runtime->clock_));
  runtime->ledger_ = ledgered.get();
  runtime->store_ = std::move(ledgered);
  ASSIGN_OR_RETURN(auto signer, audit::LedgerSigner::LoadOrCreate(SigningKeyPath(options.data_dir)));
  runtime->signer_ = std::make_unique<audit::LedgerSigner>(std::move(signer));
  audit::LedgerServiceOptions ledger_options{.witness_path = options.audit_witness};
  if (options.audit_syslog) ledger_options.sinks.push_back(std::make_shared<audit::SyslogSink>());
  if (!options.audit_webhook.empty()) {
    ASSIGN_OR_RETURN(http::WebhookUrl url, http::ParseWebhookUrl(options.audit_webhook, "audit-webhook"));
    ledger_options.sinks.push_back(std::make_shared<audit::WebhookSink>(
        url.text, [url](const std::string& json) { return http::PostJson(url, json); },
        audit::WebhookSink::Options{.first_backoff = options.audit_webhook_first_backoff}));
  }
  runtime->ledger_service_ =
      std::make_unique<audit::LedgerService>(*runtime->ledger_, *runtime->signer_, std::move(ledger_options));
  runtime->ledger_service_->Start();
  runtime->features_ = std::make_unique<features::FeatureStore>(runtime->clock_);
  // TOTP seeds are sealed under the keystore's system data key `system:totp` (covered by master rotation).
  // <data>/system.key, the file key of earlier versions, is only opened when present, to reseal its seeds.
  {
    ASSIGN_OR_RETURN(auto system_sealer, runtime->encryptor_->SystemSealer("totp"));
    std::unique_ptr<security::SecretSealer> legacy;
    std::string legacy_path = (std::filesystem::path(options.data_dir) / "system.key").string();
    bool has_legacy = std::filesystem::exists(legacy_path);
    if (has_legacy) {
      ASSIGN_OR_RETURN(legacy, security::OpenFileKeySealer(legacy_path));
    }
    runtime->sealer_ = security::MakeMigratingSealer(std::move(system_sealer), std::move(legacy));
    // Passwords are peppered with another system data key (password_pepper.h): panorama.db alone allows no
    // offline guessing.
    ASSIGN_OR_RETURN(auto pepper_key, runtime->encryptor_->SystemKey(security::kPepperKeyPurpose));
    runtime->pepper_ = std::make_unique<security::PasswordPepper>(std::move(pepper_key));
    runtime->auth_ = std::make_unique<security::AuthService>(*runtime->store_, runtime->clock_,
                                                             security::AuthOptions{}, runtime->sealer_.get(),
                                                             runtime->pepper_.get());
    ASSIGN_OR_RETURN(int resealed, runtime->auth_->ResealLegacyMfaSeeds());
    if (resealed > 0) spdlog::info("resealed {} TOTP seeds under the keystore's system data key", resealed);
    if (has_legacy) {
      spdlog::info("{} is no longer used: every TOTP seed is under the keystore's system data key; delete it "
                   "(after a backup)", legacy_path);
    }
  }
  // Security events (MFA policy and resets, refresh-token reuse, throttled second factors, step-up, user and key
  // changes) go to the log and to the audit ledger as `security.<action>`: ids and settings only, never secrets.
  runtime->auth_->SetSecurityEventSink([ledger = runtime->ledger_](const security::SecurityEvent& e) {
    spdlog::warn("security: {} by {}: {}", e.action, e.actor, e.detail);
    if (auto recorded = ledger->AppendEntries({SecurityLedgerEntry(e)}); !recorded) {
      spdlog::error("could not ledger the security event {}: {}", e.action, recorded.error().message());
    }
  });
  runtime->feature_observer_ = std::make_unique<ingest::FeatureObserver>(*runtime->features_);
  ASSIGN_OR_RETURN(runtime->privacy_secret_,
                   LoadOrCreatePrivacySecret(std::filesystem::path(options.data_dir) / "privacy.key"));
  runtime->consents_ = std::make_unique<privacy::ConsentService>(*runtime->store_, runtime->clock_);
  RETURN_IF_ERROR(runtime->consents_->Load());
  // Suppression hashes use their own key, derived from the secret, so they never equal a pseudonym.
  runtime->dsar_ = std::make_unique<privacy::DsarService>(*runtime->store_, *runtime->features_, *runtime->consents_,
                                                          runtime->clock_,
                                                          security::Sha256Hex("pano-suppress-v1:" + runtime->privacy_secret_));
  runtime->public_requests_ = std::make_unique<privacy::PublicRequestService>(
      *runtime->store_, runtime->clock_, security::Sha256Hex("pano-dsar-code-v1:" + runtime->privacy_secret_));
  runtime->rfm_ = std::make_unique<analytics::RfmService>(*runtime->store_, *runtime->features_, runtime->clock_);
  RETURN_IF_ERROR(runtime->rfm_->Load());
  runtime->lifecycle_ = std::make_unique<analytics::LifecycleService>(*runtime->store_, *runtime->features_, runtime->clock_);
  RETURN_IF_ERROR(runtime->lifecycle_->Load());
  runtime->segment_metrics_ = std::make_unique<analytics::SegmentMetrics>(*runtime->rfm_, *runtime->lifecycle_);
  // The audience index reads through the undecorated store: its reads (events by name) need no ledger entry.
  runtime->audience_ = std::make_unique<segments::AudienceIndex>(
      runtime->ledger_->inner(), segments::AudienceSources{.features = runtime->features_.get(),
                                                           .consents = runtime->consents_.get(),
                                                           .metrics = runtime->segment_metrics_.get()});
  runtime->rule_engine_ =
      std::make_unique<segments::AudienceRuleEngine>(*runtime->audience_, runtime->ledger_->inner(), &runtime->rates_);
  runtime->segments_ = std::make_unique<segments::SegmentService>(*runtime->store_, *runtime->rule_engine_,
                                                                  runtime->clock_);
  RETURN_IF_ERROR(runtime->segments_->Load());
  runtime->dsar_->set_erasure_listener(
      [segments = runtime->segments_.get()](CustomerId erased) { segments->OnErased(erased); });
  runtime->observers_ = std::make_unique<RuntimeObserver>(*runtime->feature_observer_, *runtime->consents_,
                                                          *runtime->rfm_, *runtime->segments_);
  runtime->behaviour_ = std::make_unique<behaviour::BehaviourService>(*runtime->store_, runtime->clock_);
  runtime->ingest_ = std::make_unique<ingest::IngestPipeline>(*runtime->store_, runtime->rates_, runtime->observers_.get());
  runtime->ingest_->set_suppression(runtime->dsar_.get());  // erased subjects are not re-created by ingest
  runtime->catalogue_ = std::make_unique<privacy::DataClassCatalogue>(*runtime->store_);
  RETURN_IF_ERROR(runtime->catalogue_->Load());
  runtime->ingest_->set_catalogue(runtime->catalogue_.get());  // personal property values are sealed
  runtime->segments_->set_personal_property_check(
      [catalogue = runtime->catalogue_.get()](std::string_view key) { return catalogue->IsPersonal(key); });
  return runtime;
}

Result<BootstrapInfo> Runtime::Bootstrap() {
  BootstrapInfo info;
  const char* password = Env("PANORAMA_ADMIN_PASSWORD");
  auto admin = store_->FindUserByName(info.admin_username);
  if (!admin) {
    if (admin.error().code() != ErrorCode::kNotFound) return std::move(admin.error());
    info.admin_password = password ? password : security::RandomToken(12);
    info.admin_password_from_env = password != nullptr;
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
    info.admin_password_from_env = true;
  }
  if (const char* key = Env("PANORAMA_WRITE_KEY")) {
    RETURN_IF_ERROR(auth_->EnsureWriteKey("bootstrap write key", key));
    info.write_key = key;
    info.write_key_from_env = true;
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

// A job of `serve`, started: it runs once right away, then every `interval`.
std::unique_ptr<PeriodicTask> StartJob(std::chrono::milliseconds interval, std::function<void()> work) {
  auto task = std::make_unique<PeriodicTask>(interval, PeriodicTask::FirstRun::kAtStart, std::move(work));
  task->Start();
  return task;
}

// The daily retention job: runs the policies once right after start, then every 24 hours, until stopped.
std::unique_ptr<PeriodicTask> StartRetentionJob(storage::Store& store, features::FeatureStore& features,
                                                const Clock& clock, std::vector<privacy::RetentionPolicy> policies) {
  return StartJob(std::chrono::hours(24), [&store, &features, &clock, policies = std::move(policies)] {
    auto report = privacy::RunRetention(store, policies, clock.Now());
    if (!report) {
      spdlog::error("retention run failed: {}", report.error().message());
      return;
    }
    spdlog::info("retention run: {} rows deleted or anonymised", report->total_rows);
    if (report->total_rows > 0) {
      if (auto rebuilt = features.Rebuild(store); !rebuilt) {
        spdlog::error("feature store rebuild after retention failed: {}", rebuilt.error().message());
      }
    }
  });
}

// Carries out scheduled erasures whose grace period is over: once right after start, then every 10 minutes.
std::unique_ptr<PeriodicTask> StartErasureJob(privacy::DsarService& dsar) {
  return StartJob(std::chrono::minutes(10), [&dsar] {
    auto due = dsar.RunDueErasures();
    if (!due) {
      spdlog::error("erasure run failed: {}", due.error().message());
      return;
    }
    if (!due->erased.empty()) spdlog::info("erasure run: {} scheduled erasures carried out", due->erased.size());
    for (const auto& failure : due->failed) spdlog::error("scheduled erasure not carried out: {}", failure);
  });
}

// Deletes expired sessions, devices, verification codes and old Idempotency-Key answers: at start, then hourly.
std::unique_ptr<PeriodicTask> StartHousekeepingJob(security::AuthService& auth) {
  return StartJob(std::chrono::hours(1), [&auth] {
    auto report = auth.PurgeExpired();
    if (!report) {
      spdlog::error("housekeeping run failed: {}", report.error().message());
    } else if (report->total() > 0) {
      spdlog::info("housekeeping run: {} expired rows deleted", report->total());
    }
  });
}

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
    for (auto& job : jobs_) job->Stop();  // each waits for a run in progress
    if (backups_) backups_->Stop();  // waits for a backup in progress
    if (keystore_backups_) keystore_backups_->Stop();
    server_->Stop();
    server_->Wait();
    server_.reset();
    ingest_.Stop();
  }

  http::Router& router() { return *router_; }
  void set_server(std::unique_ptr<http::Server> server) { server_ = std::move(server); }
  void add_job(std::unique_ptr<PeriodicTask> job) { jobs_.push_back(std::move(job)); }
  void set_backups(std::unique_ptr<backup::BackupScheduler> backups) { backups_ = std::move(backups); }
  void set_keystore_backups(std::unique_ptr<backup::BackupScheduler> backups) {
    keystore_backups_ = std::move(backups);
  }

 private:
  ingest::IngestPipeline& ingest_;
  std::unique_ptr<profile::CustomerViewService> views_;
  std::unique_ptr<http::ApiServices> services_;
  std::unique_ptr<http::Router> router_;
  std::unique_ptr<http::Server> server_;
  std::vector<std::unique_ptr<PeriodicTask>> jobs_;  // retention, erasures, housekeeping
  std::unique_ptr<backup::BackupScheduler> backups_;  // declared after services_, which points to it
  std::unique_ptr<backup::BackupScheduler> keystore_backups_;
};

}  // namespace

Result<std::unique_ptr<Runtime::RunningServer>> Runtime::Start(const ServeOptions& options) {
  if (options.step_up_window_seconds != 0 &&
      (options.step_up_window_seconds < 1 || options.step_up_window_seconds > 3600)) {
    return Error::InvalidField("step-up-window-seconds", "must be between 1 and 3600");
  }
  ASSIGN_OR_RETURN(auto address, ParseListen(options.listen));
  RETURN_IF_ERROR(dsar_->set_erasure_grace(std::chrono::days(options.erasure_grace_days)));
  std::unique_ptr<backup::BackupScheduler> backups;
  if (!options.backup_dir.empty() || !options.backup_public_key.empty()) {
    backup::ScheduleOptions schedule{.data_dir = data_dir_, .to_dir = options.backup_dir,
                                     .public_key_file = options.backup_public_key,
                                     .every = options.backup_every, .keep = options.backup_keep};
    RETURN_IF_ERROR(backup::ValidateSchedule(schedule));
    backups = std::make_unique<backup::BackupScheduler>(schedule, clock_, [this](const Result<backup::BackupResult>& r) {
      RecordBackupRun(backup::BackupKind::kData, r);
    });
  }
  std::unique_ptr<backup::BackupScheduler> keystore_backups;
  if (!options.keystore_backup_dir.empty() || !options.keystore_backup_public_key.empty()) {
    backup::ScheduleOptions schedule{.data_dir = data_dir_, .to_dir = options.keystore_backup_dir,
                                     .public_key_file = options.keystore_backup_public_key,
                                     .every = options.keystore_backup_every, .keep = options.keystore_backup_keep,
                                     .kind = backup::BackupKind::kKeystore,
                                     .max_age = options.keystore_backup_max_age};
    RETURN_IF_ERROR(backup::ValidateSchedule(schedule));
    if (backups) {
      RETURN_IF_ERROR(backup::ValidateSeparateSchedules(
          {.to_dir = options.backup_dir, .public_key_file = options.backup_public_key}, schedule));
    }
    keystore_backups = std::make_unique<backup::BackupScheduler>(
        schedule, clock_, [this](const Result<backup::BackupResult>& r) {
          RecordBackupRun(backup::BackupKind::kKeystore, r);
        });
  }
  std::string tls_cert = options.tls_cert, tls_key = options.tls_key;
  if (options.tls_self_signed) {
    if (!tls_cert.empty() || !tls_key.empty()) {
      return Error::InvalidField("tls-self-signed", "cannot be combined with --tls-cert/--tls-key");
    }
    tls_cert = (std::filesystem::path(data_dir_) / "tls-self-signed.crt").string();
    tls_key = (std::filesystem::path(data_dir_) / "tls-self-signed.key").string();
    if (!std::filesystem::exists(tls_cert) && !std::filesystem::exists(tls_key)) {
      RETURN_IF_ERROR(http::GenerateSelfSignedCertificate(tls_cert, tls_key));
      spdlog::info("generated a self-signed tls certificate {}", tls_cert);
    }
  }
  // Secure by default (SECURITY.md §2.7): personal data never crosses a network in clear text by accident.
  if (tls_cert.empty() && tls_key.empty() && !IsLoopback(address.first) && !options.insecure_dev) {
    return Error::FailedPrecondition("refusing plain http on non-loopback address " + address.first +
                                     ": use --tls-cert/--tls-key or --tls-self-signed (or --insecure-dev)");
  }
  // S20: a compromised root process owns the machine, the master key and the backup keys with it, and nothing
  // here needs root (ports from 1024 up, or CAP_NET_BIND_SERVICE). Refused where the network can reach us;
  // on loopback (a laptop, a demo, a container's tests) a warning.
  if (::geteuid() == 0) {
    if (!IsLoopback(address.first) && !options.allow_root) {
      return Error::FailedPrecondition("refusing to serve on non-loopback address " + address.first +
                                       " as root: run as an unprivileged service user (or --allow-root)");
    }
    spdlog::warn("running as root: run panorama as an unprivileged service user that owns the data directory");
  }
  if (options.step_up_window_seconds != 0) {
    auth_->SetStepUpWindow(std::chrono::seconds(options.step_up_window_seconds));
    spdlog::warn("step-up window is {} s (--step-up-window-seconds; default 300)", options.step_up_window_seconds);
  }
  auto started = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(auto relaxed, auth_->RelaxedRoles());
  if (!relaxed.empty()) {
    std::string roles;
    for (const auto& r : relaxed) roles += (roles.empty() ? "" : ", ") + r;
    spdlog::warn("MFA is relaxed for roles: {} (staff of these roles sign in with a password alone; "
                 "turn it back on with `panorama mfa require ROLE` or PUT /api/v1/security/mfa-policy/ROLE)", roles);
  }
  if (!options.rate_limits.enabled) spdlog::warn("API rate limits are off (--no-rate-limit)");
  // Logged by serve only: other commands print their results (CSV, keys) on the same stdout.
  const security::FieldCipher cipher = encryptor_->Cipher();
  spdlog::info("field encryption: new values sealed with {} (values under either cipher open)",
               security::FieldCipherName(cipher));
  if (cipher == security::FieldCipher::kAes256Gcm && !security::CpuHasAesInstructions()) {
    spdlog::warn("field encryption: this CPU has no AES instructions (AES-NI); OpenSSL's software AES is not "
                 "guaranteed constant-time here, so xchacha20-poly1305 is the safer --field-cipher");
  }
  limiter_ = std::make_unique<security::RateLimiter>(clock_, options.rate_limits);
  RETURN_IF_ERROR(features_->Rebuild(*store_));
  spdlog::info("feature store loaded: {} customers in {} ms, {} bytes", features_->size(),
               std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count(),
               features_->MemoryBytes());
  RETURN_IF_ERROR(audience_->Rebuild());
  if (auto evaluated = segments_->EvaluateAll(); evaluated) {
    spdlog::info("segments evaluated: {} segments, {} entered, {} exited in {} ms", evaluated->segments,
                 evaluated->entered, evaluated->exited, evaluated->elapsed_ms);
  } else {
    spdlog::error("segment evaluation at start failed: {}", evaluated.error().message());
  }
  ingest_->Start();

  auto views = std::make_unique<profile::CustomerViewService>(*store_, *features_, clock_, rates_.base());
  auto services = std::make_unique<http::ApiServices>(
      http::ApiServices{*store_, *auth_, *features_, *ingest_, *views, rates_, clock_, "CN", ledger_service_.get()});
  services->limiter = limiter_.get();
  services->consents = consents_.get();
  services->dsar = dsar_.get();
  services->public_requests = public_requests_.get();
  services->catalogue = catalogue_.get();
  services->rfm = rfm_.get();
  services->lifecycle = lifecycle_.get();
  services->behaviour = behaviour_.get();
  services->pseudonym_secret = privacy_secret_;
  services->segments = segments_.get();
  services->backups = backups.get();
  services->keystore_backups = keystore_backups.get();
  auto router = std::make_unique<http::Router>();
  http::RegisterApiRoutes(*router, *services);
  auto handle = std::make_unique<ServerHandle>(*ingest_, std::move(views), std::move(services), std::move(router));

  http::ServerOptions server_options;
  server_options.address = address.first;
  server_options.port = address.second;
  server_options.worker_threads = options.worker_threads;
  server_options.header_timeout = std::chrono::seconds(options.header_timeout_seconds);
  server_options.read_timeout = std::chrono::seconds(options.body_timeout_seconds);
  server_options.access_log = options.access_log;
  server_options.static_dir = options.static_dir;
  server_options.tls_cert_file = tls_cert;
  server_options.tls_key_file = tls_key;
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
  segments_->Start();  // stopped by ~Runtime (after the server, so no request sees it stopped)
  if (options.retention_job) {
    handle->add_job(StartRetentionJob(*store_, *features_, clock_, options.retention));
  }
  if (options.erasure_job) handle->add_job(StartErasureJob(*dsar_));
  handle->add_job(StartHousekeepingJob(*auth_));
  if (backups) {
    spdlog::info("scheduled backups every {} ms into {} (keeping {})", options.backup_every.count(), options.backup_dir,
                 options.backup_keep);
    backups->Start();
    handle->set_backups(std::move(backups));
  }
  if (keystore_backups) {
    spdlog::info("scheduled keystore backups every {} ms into {} (keeping {}, none older than {} h)",
                 options.keystore_backup_every.count(), options.keystore_backup_dir, options.keystore_backup_keep,
                 (options.keystore_backup_max_age.count() > 0 ? options.keystore_backup_max_age
                                                              : backup::kKeystoreRetentionCap).count() / 3'600'000);
    keystore_backups->Start();
    handle->set_keystore_backups(std::move(keystore_backups));
  }
  return std::unique_ptr<RunningServer>(std::move(handle));
}

// Each scheduled backup is logged and ledgered (`backup.create`, actor system, the file name; outcome "failed"
// without the reason, which goes to the log and the readiness output).
void Runtime::RecordBackupRun(backup::BackupKind kind, const Result<backup::BackupResult>& result) {
  const char* what = kind == backup::BackupKind::kData ? "backup" : "keystore backup";
  audit::LedgerEntry entry;
  entry.actor = "system";
  entry.action = "backup.create";
  entry.object_type = "backup";
  if (result) {
    entry.object_id = std::filesystem::path(result->path).filename().string();
    spdlog::info("scheduled {} written: {} ({} bytes of database, {} older removed, {} aged out)", what,
                 result->path, result->header.plaintext_bytes, result->removed.size(), result->aged_out.size());
  } else {
    entry.outcome = "failed";
    // The ledger entry still tells the two schedules apart (the file names start panorama- or keystore-).
    entry.object_id = kind == backup::BackupKind::kData ? "panorama" : "keystore";
    spdlog::error("scheduled {} failed: {}", what, result.error().message());
  }
  if (auto recorded = ledger_->AppendEntries({std::move(entry)}); !recorded) {
    spdlog::error("could not ledger the scheduled backup: {}", recorded.error().message());
  }
}

Result<segments::EvaluationReport> Runtime::EvaluateSegments() {
  RETURN_IF_ERROR(features_->Rebuild(*store_));
  RETURN_IF_ERROR(audience_->Rebuild());
  return segments_->EvaluateAll();
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
