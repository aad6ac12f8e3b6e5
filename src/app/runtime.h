#pragma once
// The composition root (STYLE.md §1): the only place that names concrete implementations (the SQLite store, the
// system clock) and wires the contexts together. Commands open a Runtime over a data directory and use what
// they need; `serve` runs the HTTP server on it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/money.h"
#include "core/result.h"
#include "core/time.h"
#include "security/keys.h"
#include "security/rate_limiter.h"
#include "privacy/retention.h"

namespace panorama::storage {
class Store;
}
namespace panorama::features {
class FeatureStore;
}
namespace panorama::audit {
class LedgeredStore;
class LedgerSigner;
class LedgerService;
struct VerifyReport;
}
namespace panorama::security {
class AuthService;
class FieldEncryptor;
class SecretSealer;
class PasswordPepper;
enum class FieldCipher : unsigned char;
}
namespace panorama::ingest {
class IngestPipeline;
class IngestObserver;
class FeatureObserver;
}
namespace panorama::backup {
class DataDirLock;
struct BackupResult;
enum class BackupKind : uint8_t;
}
namespace panorama::profile {
class CustomerViewService;
}
namespace panorama::privacy {
class ConsentService;
class DsarService;
class PublicRequestService;
class DataClassCatalogue;
}
namespace panorama::analytics {
class RfmService;
class LifecycleService;
class SegmentMetrics;
}
namespace panorama::segments {
class AudienceIndex;
class AudienceRuleEngine;
class SegmentService;
struct EvaluationReport;
}
namespace panorama::behaviour {
class BehaviourService;
}

namespace panorama::app {

struct RuntimeOptions {
  std::string data_dir = "./panorama-data";
  bool bulk_load = false;  // fsync off: only for `panorama demo` filling a fresh store
  int read_connections = 4;  // SQLite read connections; API workers beyond this wait for one
  std::string audit_witness;  // off-box JSON-lines file each signed ledger checkpoint is appended to
  // Further off-box copies of each checkpoint (the witness line): syslog(3) with LOG_AUTHPRIV, and an HTTP POST to
  // https://… (or http:// to loopback), retried from the ledger thread with backoff starting at the given delay.
  bool audit_syslog = false;
  std::string audit_webhook;
  std::chrono::milliseconds audit_webhook_first_backoff = std::chrono::seconds(1);
  // The master key (file, command, or PANORAMA_MASTER_KEY when both are empty). Without one Open refuses,
  // unless insecure_dev: then a throw-away key is kept in <data>/insecure-dev-master.key (beside the data, so
  // it protects nothing) and a warning says so.
  security::MasterKeySource master_key;
  bool insecure_dev = false;
  // The cipher of new field envelopes (`--field-cipher`), recorded in the keystore; empty: keep the recorded one
  // (XChaCha20-Poly1305 for a new keystore). Values sealed under either cipher always open.
  std::optional<security::FieldCipher> field_cipher;
  // Hold the data directory's lock (backup/data_dir_lock.h) while the runtime lives: `serve` sets it, so a
  // second server or `panorama restore` on the same directory is refused (kFailedPrecondition).
  bool lock_data_dir = false;
};

struct ServeOptions {
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks a free one
  std::string static_dir;                 // the console build (web/dist); empty: ./web/dist if present
  // Measured at 1M customers on 2 cores: 4 workers beat 32 (7.0k vs 6.0k req/s, p99 19 vs 44 ms; docs/benchmarks.md).
  int worker_threads = 4;
  // R17: seconds a request's header (from its first byte) and then its body may take; slower clients are closed.
  int header_timeout_seconds = 10;
  int body_timeout_seconds = 30;
  bool access_log = true;
  // HTTPS: PEM certificate chain and key; or a self-signed P-256 certificate kept in the data directory
  // (tls-self-signed.crt/.key, 0600, created on first use) for local use.
  std::string tls_cert;
  std::string tls_key;
  bool tls_self_signed = false;
  // Allows plain HTTP on a non-loopback address; without it Start() refuses (kFailedPrecondition).
  bool insecure_dev = false;
  // Per API key, user and client IP token buckets for /api/v1 (429 + Retry-After). Off for load benchmarks.
  security::RateLimitOptions rate_limits;
  // How recent a password check sensitive operations need (seconds, 1..3600); 0: the default (5 minutes).
  // Development and browser tests only (`serve --step-up-window-seconds`), so a session goes stale quickly.
  int step_up_window_seconds = 0;
  // Retention: the daily job runs these policies once after start and then every 24 h (privacy/retention.h).
  bool retention_job = true;
  std::vector<privacy::RetentionPolicy> retention = privacy::DefaultRetentionPolicies();
  // Erasure grace period in days (0..90; 0 erases at once): a fulfilled erase request runs this much later
  // (`serve --erasure-grace-days`). The erasure job runs due erasures at start and then every 10 minutes.
  int erasure_grace_days = 7;
  bool erasure_job = true;
  // Scheduled backups (backup/backup_scheduler.h), on when backup_dir is set: the same encrypted online backup
  // as `panorama backup` every backup_every on its own thread, keeping the newest backup_keep files.
  std::string backup_dir;
  std::string backup_public_key;
  std::chrono::milliseconds backup_every = std::chrono::hours(24);
  int backup_keep = 7;
  // Scheduled keystore backups, on when keystore_backup_dir is set: `panorama backup --keystore` on a schedule of
  // its own, into another directory, to another key pair; each run also deletes keystore backups older than
  // keystore_backup_max_age (zero: 35 days, the most allowed), and keep × every may not exceed that age.
  std::string keystore_backup_dir;
  std::string keystore_backup_public_key;
  std::chrono::milliseconds keystore_backup_every = std::chrono::hours(24);
  int keystore_backup_keep = 7;
  std::chrono::milliseconds keystore_backup_max_age{0};
  // Run as root (effective uid 0): on a loopback address Start() only warns; on any other address it refuses
  // (kFailedPrecondition) unless allow_root. Nothing here needs root (docs/security.md "Hardening").
  bool allow_root = false;
};

// What bootstrap created or found: secrets are only known when created now or given by the environment.
struct BootstrapInfo {
  std::string admin_username = "admin";
  std::string admin_password;  // empty when the admin existed and no password was given
  bool admin_created = false;
  std::string write_key;       // empty when one existed and none was given
  bool write_key_created = false;
  // The operator chose these through PANORAMA_ADMIN_PASSWORD / PANORAMA_WRITE_KEY: they are never echoed (the
  // output of `serve` ends up in service logs, SECURITY.md S17); only generated secrets are shown, once.
  bool admin_password_from_env = false;
  bool write_key_from_env = false;
};

class Runtime {
 public:
  // Loads the master key and checks it against <data>/keystore.db before touching anything (a wrong key is
  // kFailedPrecondition and leaves both files unchanged), then opens the store. Core dumps are switched off.
  static Result<std::unique_ptr<Runtime>> Open(const RuntimeOptions& options);
  ~Runtime();

  storage::Store& store() { return *store_; }
  security::FieldEncryptor& encryptor() { return *encryptor_; }
  features::FeatureStore& features() { return *features_; }
  security::AuthService& auth() { return *auth_; }
  ingest::IngestPipeline& ingest() { return *ingest_; }
  ingest::FeatureObserver& feature_observer() { return *feature_observer_; }
  privacy::ConsentService& consents() { return *consents_; }
  privacy::DsarService& dsar() { return *dsar_; }
  privacy::PublicRequestService& public_requests() { return *public_requests_; }
  privacy::DataClassCatalogue& catalogue() { return *catalogue_; }
  // RFM and lifecycle over the feature store (Rebuild the feature store before reading them outside Start()).
  analytics::RfmService& rfm() { return *rfm_; }
  analytics::LifecycleService& lifecycle() { return *lifecycle_; }
  // Saved segments over the audience index; memberships are loaded at Open, evaluated by Start or by
  // EvaluateSegments (which first rebuilds the feature store and the index, for commands).
  segments::SegmentService& segments() { return *segments_; }
  Result<segments::EvaluationReport> EvaluateSegments();
  behaviour::BehaviourService& behaviour() { return *behaviour_; }
  // Server secret (data_dir/privacy.key, created on first use) from which pseudonym keys derive.
  const std::string& privacy_secret() const { return privacy_secret_; }
  const ExchangeRates& rates() const { return rates_; }
  const Clock& clock() const { return clock_; }
  const std::string& data_dir() const { return data_dir_; }
  audit::LedgeredStore& ledger() { return *ledger_; }
  audit::LedgerService& ledger_service() { return *ledger_service_; }

  // `panorama audit verify`: checks the ledger in `data_dir` without writing anything (no Runtime, so no
  // checkpoint is signed over a possibly tampered tail). The public key is `public_key_hex` when given, else
  // the one of <data_dir>/ledger-signing.key.
  static Result<audit::VerifyReport> VerifyLedger(const std::string& data_dir, const std::string& witness_path,
                                                  const std::string& public_key_hex);
  // `panorama audit pubkey`: the ledger signing key's public half (the key is created if absent).
  static Result<std::string> LedgerPublicKey(const std::string& data_dir);

  // Admin user and write key: from PANORAMA_ADMIN_PASSWORD / PANORAMA_WRITE_KEY when set (an existing admin's
  // password is reset to the given one), else generated on first use.
  Result<BootstrapInfo> Bootstrap();

  // A started server over this runtime; Stop() (also run by the destructor) finishes in-flight requests and
  // commits queued events before returning.
  class RunningServer {
   public:
    virtual ~RunningServer() = default;
    virtual uint16_t port() const = 0;
    virtual void Stop() = 0;
  };
  // Rebuilds the feature store, starts ingestion and the HTTP server. The runtime must outlive the result.
  Result<std::unique_ptr<RunningServer>> Start(const ServeOptions& options);

  // Start(), then `on_listening` with the bound port, then blocks until SIGINT or SIGTERM and stops gracefully.
  Result<void> Serve(const ServeOptions& options, const std::function<void(uint16_t port)>& on_listening);

 private:
  Runtime() = default;
  void RecordBackupRun(backup::BackupKind kind, const Result<backup::BackupResult>& result);

  std::unique_ptr<backup::DataDirLock> lock_;
  std::string data_dir_;
  SystemClock clock_;
  ExchangeRates rates_;
  std::unique_ptr<security::FieldEncryptor> encryptor_;  // outlives store_, which uses it
  std::unique_ptr<storage::Store> store_;  // the audit::LedgeredStore over SQLite
  audit::LedgeredStore* ledger_ = nullptr;  // store_, as its concrete decorator
  std::unique_ptr<audit::LedgerSigner> signer_;
  std::unique_ptr<audit::LedgerService> ledger_service_;
  std::unique_ptr<features::FeatureStore> features_;
  std::unique_ptr<security::SecretSealer> sealer_;  // the keystore's system:totp key (+ legacy system.key)
  std::unique_ptr<security::PasswordPepper> pepper_;  // the keystore's system:password-pepper key
  std::unique_ptr<security::AuthService> auth_;
  std::unique_ptr<security::RateLimiter> limiter_;
  std::unique_ptr<ingest::FeatureObserver> feature_observer_;
  std::string privacy_secret_;
  std::unique_ptr<privacy::ConsentService> consents_;
  std::unique_ptr<privacy::DsarService> dsar_;
  std::unique_ptr<privacy::PublicRequestService> public_requests_;
  std::unique_ptr<privacy::DataClassCatalogue> catalogue_;
  std::unique_ptr<analytics::RfmService> rfm_;
  std::unique_ptr<analytics::LifecycleService> lifecycle_;
  std::unique_ptr<analytics::SegmentMetrics> segment_metrics_;  // RFM and lifecycle as segment fields
  std::unique_ptr<segments::AudienceIndex> audience_;
  std::unique_ptr<segments::AudienceRuleEngine> rule_engine_;
  std::unique_ptr<segments::SegmentService> segments_;  // its worker stops before the store goes
  std::unique_ptr<ingest::IngestObserver> observers_;  // feature store + consent index + segments
  std::unique_ptr<behaviour::BehaviourService> behaviour_;
  std::unique_ptr<ingest::IngestPipeline> ingest_;
};

}  // namespace panorama::app
