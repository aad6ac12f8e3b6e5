#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "analytics/lifecycle.h"
#include "analytics/rfm_service.h"
#include "app/runtime.h"
#include "cli/segments_command.h"
#include "audit/ledger_service.h"
#include "audit/verifier.h"
#include "cli/access_commands.h"
#include "cli/behaviour_commands.h"
#include "cli/cli_fail.h"
#include "core/actor_context.h"
#include "backup/backup.h"
#include "backup/backup_scheduler.h"
#include "demo/demo_generator.h"
#include "features/feature_store.h"
#include "http/json.h"
#include "ingest/csv_importer.h"
#include "ingest/feature_observer.h"
#include "privacy/dsar_service.h"
#include "privacy/pseudonymised_export.h"
#include "privacy/retention.h"
#include "security/auth_service.h"
#include "security/field_encryptor.h"
#include "security/ip_allowlist.h"
#include "security/keys.h"
#include "storage/store.h"

namespace panorama::cli {
namespace {

void PrintBootstrap(const app::BootstrapInfo& info) {
  if (info.admin_password_from_env) {
    std::printf("admin login: %s (password from PANORAMA_ADMIN_PASSWORD)\n", info.admin_username.c_str());
  } else if (!info.admin_password.empty()) {
    std::printf("admin login: %s / %s%s\n", info.admin_username.c_str(), info.admin_password.c_str(),
                info.admin_created ? "   (shown once; keep it safe)" : "");
  } else {
    std::printf("admin login: %s (password set earlier; reset with `panorama user password %s`)\n",
                info.admin_username.c_str(), info.admin_username.c_str());
  }
  if (info.write_key_from_env) {
    std::printf("ingestion write key: from PANORAMA_WRITE_KEY\n");
  } else if (!info.write_key.empty()) {
    std::printf("ingestion write key: %s%s\n", info.write_key.c_str(),
                info.write_key_created ? "   (shown once; keep it safe)" : "");
  } else {
    std::printf("ingestion write key: created earlier (see `panorama key list`; create one with `panorama key create`)\n");
  }
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::InvalidField("file", "cannot read " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Reads a password from an environment variable or, when absent, from the first line of standard input.
Result<std::string> PasswordFrom(const char* env_name) {
  if (const char* value = std::getenv(env_name); value && *value) return std::string(value);
  std::fprintf(stderr, "password (or set %s): ", env_name);
  std::string line;
  if (!std::getline(std::cin, line) || line.empty()) return Error::InvalidField("password", "is required");
  return line;
}

int Serve(const app::RuntimeOptions& base, const app::ServeOptions& options) {
  auto runtime = app::Runtime::Open(base);
  if (!runtime) return Fail(runtime.error());
  auto info = (*runtime)->Bootstrap();
  if (!info) return Fail(info.error());
  auto served = (*runtime)->Serve(options, [&](uint16_t port) {
    std::string host = options.listen.substr(0, options.listen.rfind(':'));
    const char* scheme = options.tls_self_signed || !options.tls_cert.empty() ? "https" : "http";
    std::printf("listening on %s://%s:%u\n", scheme, host.c_str(), port);
    std::printf("console: %s://%s:%u/\n", scheme, host.c_str(), port);
    PrintBootstrap(*info);
    std::fflush(stdout);
  });
  if (!served) return Fail(served.error());
  std::printf("stopped\n");
  return 0;
}

int Demo(const app::RuntimeOptions& base, int64_t customers, uint64_t seed) {
  const std::string& data = base.data_dir;
  app::RuntimeOptions options_bulk = base;
  options_bulk.bulk_load = true;
  auto runtime = app::Runtime::Open(options_bulk);
  if (!runtime) return Fail(runtime.error());
  auto existing = (*runtime)->store().CountCustomers();
  if (!existing) return Fail(existing.error());
  if (*existing > 0) {
    return Fail(Error::FailedPrecondition(data + " already holds " + std::to_string(*existing) +
                                          " customers; use an empty --data directory for demo data"));
  }
  demo::DemoOptions options;
  options.customers = customers;
  options.seed = seed;
  options.now = (*runtime)->clock().Now();
  auto started = std::chrono::steady_clock::now();
  int64_t last_percent = -1;
  options.on_progress = [&](const demo::DemoProgress& p) {
    int64_t percent = p.customers_total ? p.customers_done * 100 / p.customers_total : 100;
    if (percent / 10 != last_percent / 10) {
      std::fprintf(stderr, "demo: %lld%% (%lld customers, %lld orders)\n", static_cast<long long>(percent),
                   static_cast<long long>(p.customers_done), static_cast<long long>(p.orders));
      last_percent = percent;
    }
  };
  auto summary = demo::GenerateDemo((*runtime)->store(), options);
  if (!summary) return Fail(summary.error());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("demo data in %s: %lld customers, %lld products, %lld orders, %lld events, %lld interactions (%.1f s)\n",
              data.c_str(), static_cast<long long>(summary->customers), static_cast<long long>(summary->products),
              static_cast<long long>(summary->orders), static_cast<long long>(summary->events),
              static_cast<long long>(summary->interactions), seconds);
  auto info = (*runtime)->Bootstrap();
  if (!info) return Fail(info.error());
  // A demo is for trying the product on one machine: staff sign in with a password alone until an admin
  // requires MFA again. `serve` warns about it at every start.
  for (const char* role : security::kRoles) {
    auto relaxed = (*runtime)->auth().SetRoleMfaRequired(role, false, "panorama demo");
    if (!relaxed) return Fail(relaxed.error());
  }
  PrintBootstrap(*info);
  std::printf("MFA is relaxed for every role in this demo data directory (`panorama mfa require ROLE` to change)\n");
  return 0;
}

int Import(const app::RuntimeOptions& base, const std::string& kind, const std::string& file, ingest::ImportOptions options) {
  options.kind = kind == "orders" ? ingest::ImportKind::kOrders : ingest::ImportKind::kCustomers;
  auto bytes = ReadFile(file);
  if (!bytes) return Fail(bytes.error());
  auto runtime = app::Runtime::Open(base);
  if (!runtime) return Fail(runtime.error());
  options.suppression = &(*runtime)->dsar();  // erased subjects are not re-created
  auto report = ingest::ImportCsv((*runtime)->store(), *bytes, options, (*runtime)->rates(), (*runtime)->clock().Now());
  if (!report) return Fail(report.error());
  for (const auto& e : report->errors) {
    std::fprintf(stderr, "%s:%d: %s: %s%s%s\n", file.c_str(), e.line, e.field.empty() ? "row" : e.field.c_str(),
                 e.reason.c_str(), e.value_excerpt.empty() ? "" : " (value: ", e.value_excerpt.empty() ? "" : (e.value_excerpt + ")").c_str());
  }
  std::printf("%s: %zu rows (%s), %lld created, %lld updated, %lld unchanged, %lld merged, %zu bad rows%s\n",
              options.dry_run ? "dry run" : report->applied ? "imported" : "not imported", report->rows_total,
              report->detected_encoding.c_str(), static_cast<long long>(report->created),
              static_cast<long long>(report->updated), static_cast<long long>(report->unchanged),
              static_cast<long long>(report->merged), report->errors.size(),
              !report->applied && !options.dry_run ? " — nothing was written; fix them or use --skip-invalid" : "");
  return report->applied || (options.dry_run && report->errors.empty()) ? 0 : 1;
}

int Export(const app::RuntimeOptions& base, const std::string& kind, const std::string& output) {
  auto runtime = app::Runtime::Open(base);
  if (!runtime) return Fail(runtime.error());
  audit::LedgerEntry read;
  read.action = kind == "orders" ? "export.orders" : "export.customers";
  read.object_type = kind == "orders" ? "order" : "customer";
  read.object_id = "*";
  (*runtime)->ledger_service().RecordRead(read);
  auto csv = kind == "orders" ? ingest::ExportOrdersCsv((*runtime)->store())
                              : ingest::ExportCustomersCsv((*runtime)->store());
  if (!csv) return Fail(csv.error());
  if (output.empty() || output == "-") {
    std::fwrite(csv->data(), 1, csv->size(), stdout);
  } else {
    std::ofstream out(output, std::ios::binary);
    out << *csv;
    if (!out) return Fail(Error::Unavailable("cannot write " + output));
  }
  return 0;
}

// `panorama rfm` and `panorama lifecycle`: the analytics over the data directory's feature store, rebuilt
// from the store first (as `serve` does at start).
struct AnalyticsArgs {
  std::string as_of;   // ISO 8601; empty: now
  std::string format = "table";
  std::string from, to;  // lifecycle history months (YYYY-MM), both or neither
};

Result<std::optional<Timestamp>> ParseAsOf(const std::string& text) {
  if (text.empty()) return std::optional<Timestamp>{};
  auto t = ParseIso8601(text);
  if (!t) return Error::InvalidField("as-of", "must be an ISO 8601 time such as 2011-12-10T00:00:00Z");
  return std::optional<Timestamp>{*t};
}

int Rfm(const app::RuntimeOptions& base, const AnalyticsArgs& args) {
  auto as_of = ParseAsOf(args.as_of);
  if (!as_of) return Fail(as_of.error());
  auto runtime = app::Runtime::Open(base);
  if (!runtime) return Fail(runtime.error());
  if (auto built = (*runtime)->features().Rebuild((*runtime)->store()); !built) return Fail(built.error());
  auto& rfm = (*runtime)->rfm();
  const std::string& currency = (*runtime)->rates().base();
  if (args.format == "csv") {
    std::printf("customer_id,recency_days,frequency,monetary_minor,r,f,m,score,segment\n");
    auto print = [](const analytics::RfmResult& result) {
      for (size_t i = 0; i < result.customer_id.size(); ++i) {
        analytics::CustomerRfm c = result.At(i);
        std::string segment = c.segment;
        if (segment.find_first_of(",\"") != std::string::npos) {
          std::string quoted = "\"";
          for (char ch : segment) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
          segment = quoted + "\"";
        }
        std::printf("%lld,%lld,%lld,%lld,%d,%d,%d,%s,%s\n", static_cast<long long>(c.customer.value()),
                    static_cast<long long>(c.recency_days), static_cast<long long>(c.frequency),
                    static_cast<long long>(c.monetary_minor), c.r, c.f, c.m, c.Score().c_str(), segment.c_str());
      }
    };
    rfm.ReadScores(print, *as_of);
    return 0;
  }
  const analytics::RfmSummary s = rfm.Recompute(*as_of);
  if (args.format == "json") {
    http::JsonWriter w;
    w.StartObject().Key("as_of").String(FormatIso8601(s.as_of)).Key("currency").String(currency);
    w.Key("customers").Int64(s.customers).Key("scored").Int64(s.scored).Key("grid").StartArray();
    for (int k = 0; k < 25; ++k) {
      w.StartObject().Key("r").Int64(k / 5 + 1).Key("f").Int64(k % 5 + 1).Key("customers").Int64(s.grid[k].customers);
      w.Key("revenue_minor").Int64(s.grid[k].revenue_minor).EndObject();
    }
    w.EndArray().Key("segments").StartArray();
    for (const auto& seg : s.segments) {
      w.StartObject().Key("name").String(seg.name).Key("customers").Int64(seg.customers);
      w.Key("revenue_minor").Int64(seg.revenue_minor).EndObject();
    }
    w.EndArray().EndObject();
    std::printf("%s\n", w.TakeString().c_str());
    return 0;
  }
  std::printf("RFM as of %s: %lld customers, %lld with orders\n", FormatIso8601(s.as_of).c_str(),
              static_cast<long long>(s.customers), static_cast<long long>(s.scored));
  auto cuts = [](const char* name, const std::array<int64_t, 4>& c) {
    std::printf("  cuts %-16s %lld %lld %lld %lld\n", name, static_cast<long long>(c[0]), static_cast<long long>(c[1]),
                static_cast<long long>(c[2]), static_cast<long long>(c[3]));
  };
  cuts("recency_days", s.cuts.recency_days);
  cuts("frequency", s.cuts.frequency);
  cuts(("monetary_" + currency).c_str(), s.cuts.monetary_minor);
  std::printf("\ncustomers by R (rows) and F (columns)\n     F=1     F=2     F=3     F=4     F=5\n");
  for (int r = 5; r >= 1; --r) {
    std::printf("R=%d", r);
    for (int f = 1; f <= 5; ++f) std::printf(" %7lld", static_cast<long long>(s.grid[(r - 1) * 5 + f - 1].customers));
    std::printf("\n");
  }
  std::printf("\n%-24s %10s %18s %7s\n", "segment", "customers", "revenue_minor", "share");
  for (const auto& seg : s.segments) {
    std::printf("%-24s %10lld %18lld %6.1f%%\n", seg.name.c_str(), static_cast<long long>(seg.customers),
                static_cast<long long>(seg.revenue_minor),
                s.scored > 0 ? 100.0 * static_cast<double>(seg.customers) / static_cast<double>(s.scored) : 0.0);
  }
  return 0;
}

int Lifecycle(const app::RuntimeOptions& base, const AnalyticsArgs& args) {
  auto as_of = ParseAsOf(args.as_of);
  if (!as_of) return Fail(as_of.error());
  if (args.from.empty() != args.to.empty()) return Fail(Error::InvalidField("from", "give both --from and --to"));
  std::optional<analytics::YearMonth> from, to;
  if (!args.from.empty()) {
    auto f = analytics::YearMonth::Parse(args.from, "from");
    if (!f) return Fail(f.error());
    auto t = analytics::YearMonth::Parse(args.to, "to");
    if (!t) return Fail(t.error());
    from = *f;
    to = *t;
  }
  auto runtime = app::Runtime::Open(base);
  if (!runtime) return Fail(runtime.error());
  if (auto built = (*runtime)->features().Rebuild((*runtime)->store()); !built) return Fail(built.error());
  auto& lifecycle = (*runtime)->lifecycle();
  const Timestamp at = as_of->value_or((*runtime)->clock().Now());
  if (from) {
    auto points = lifecycle.History(*from, *to);
    if (!points) return Fail(points.error());
    std::printf("month");
    for (int k = 0; k < analytics::kStageCount; ++k) {
      std::printf(args.format == "csv" ? ",%s" : "\t%s", analytics::StageName(static_cast<analytics::Stage>(k)));
    }
    std::printf("\n");
    for (const auto& p : *points) {
      std::printf("%s", p.month.c_str());
      for (int64_t n : p.counts.counts) std::printf(args.format == "csv" ? ",%lld" : "\t%lld", static_cast<long long>(n));
      std::printf("\n");
    }
    return 0;
  }
  if (args.format == "csv") {
    std::printf("customer_id,stage\n");
    lifecycle.ReadStages([](CustomerId id, analytics::Stage stage) {
      std::printf("%lld,%s\n", static_cast<long long>(id.value()), analytics::StageName(stage));
    }, at);
    return 0;
  }
  const analytics::StageCounts counts = lifecycle.Counts(at);
  const analytics::LifecycleThresholds t = lifecycle.thresholds();
  if (args.format == "json") {
    http::JsonWriter w;
    w.StartObject().Key("as_of").String(FormatIso8601(at)).Key("stages").StartArray();
    for (int k = 0; k < analytics::kStageCount; ++k) {
      w.StartObject().Key("stage").String(analytics::StageName(static_cast<analytics::Stage>(k)));
      w.Key("customers").Int64(counts.counts[k]).EndObject();
    }
    w.EndArray().Key("thresholds").StartObject().Key("new_days").Int64(t.new_days).Key("active_days").Int64(t.active_days);
    w.Key("loyal_min_orders").Int64(t.loyal_min_orders).Key("churned_days").Int64(t.churned_days).EndObject();
    w.EndObject();
    std::printf("%s\n", w.TakeString().c_str());
    return 0;
  }
  std::printf("lifecycle as of %s (new_days %d, active_days %d, loyal_min_orders %d, churned_days %d)\n",
              FormatIso8601(at).c_str(), t.new_days, t.active_days, t.loyal_min_orders, t.churned_days);
  for (int k = 0; k < analytics::kStageCount; ++k) {
    std::printf("  %-10s %10lld\n", analytics::StageName(static_cast<analytics::Stage>(k)),
                static_cast<long long>(counts.counts[k]));
  }
  return 0;
}

// `panorama key init --out FILE`: a new random master key (v1) in a new owner-only file.
int KeyInit(const std::string& out) {
  security::MasterKeyRing ring;
  ring.Add(1, security::RandomKey());
  auto written = security::WriteMasterKeyFile(out, ring, /*replace=*/false);
  if (!written) return Fail(written.error());
  std::printf("master key v1 written to %s (mode 0600). Keep it outside the data directory and its backups, and "
              "back it up on its own: without it the data cannot be read.\n", out.c_str());
  return 0;
}

// `panorama key rotate --master`: adds a new master key version to the key file, re-wraps every data key under
// it (online: a running server picks the new version up from the file when the keystore names it), then drops
// the old versions from the file once no key is wrapped under them.
int RotateMaster(app::RuntimeOptions base) {
  if (base.master_key.file.empty()) {
    return Fail(Error::InvalidField("master_key_file", "master key rotation needs --master-key-file (it writes the new key there)"));
  }
  auto ring = security::LoadMasterKeys({.file = base.master_key.file});
  if (!ring) return Fail(ring.error());
  int next = ring->CurrentVersion() + 1;
  ring->Add(next, security::RandomKey());
  auto both = security::WriteMasterKeyFile(base.master_key.file, *ring, /*replace=*/true);
  if (!both) return Fail(both.error());
  auto runtime = app::Runtime::Open(base);
  if (!runtime) return Fail(runtime.error());
  auto& encryptor = (*runtime)->encryptor();
  auto report = encryptor.RotateMaster(next);
  if (!report) return Fail(report.error());
  auto left = encryptor.keystore().CountKeysNotUnder(next);
  if (!left) return Fail(left.error());
  if (*left != 0) {
    return Fail(Error::FailedPrecondition(std::to_string(*left) + " keys are still under an old master key; run the "
                                          "rotation again (the key file keeps every version meanwhile)"));
  }
  security::MasterKeyRing only_new;
  only_new.Add(next, std::move(ring->keys().at(next)));
  auto written = security::WriteMasterKeyFile(base.master_key.file, only_new, /*replace=*/true);
  if (!written) return Fail(written.error());
  std::printf("master key rotated: v%d -> v%d, %lld data keys re-wrapped; %s now holds only v%d\n",
              report->from_version, next, static_cast<long long>(report->rewrapped), base.master_key.file.c_str(), next);
  return 0;
}

int BackupKeygen(const std::string& out) {
  if (out.empty()) return Fail(Error::InvalidField("out", "is required"));
  auto made = backup::GenerateKeyPair(out);
  if (!made) return Fail(made.error());
  std::printf("backup key pair written: %s/backup.pub (give it to the server) and %s/backup.sec (keep it offline)\n",
              out.c_str(), out.c_str());
  return 0;
}

// The keystore a backup belongs to (format 2 headers); restore refuses it for a data dir of another keystore.
void PrintKeystoreFields(const backup::BackupHeader& header) {
  if (header.keystore_id.empty()) {
    std::printf("keystore: unknown (format %u backup, or no keystore.db when it was taken)\n", header.format_version);
    return;
  }
  std::printf("keystore: %s, erasure epoch %lld\n", header.keystore_id.c_str(),
              static_cast<long long>(header.keystore_epoch.value_or(-1)));
}

int Backup(backup::BackupOptions options) {
  if (options.to_dir.empty()) return Fail(Error::InvalidField("to", "is required"));
  if (options.public_key_file.empty()) return Fail(Error::InvalidField("public-key", "is required"));
  options.now = SystemClock().Now();
  auto made = backup::CreateBackup(options);
  if (!made) return Fail(made.error());
  std::printf("backup written: %s (schema %u, %llu bytes of database)\n", made->path.c_str(),
              made->header.schema_version, static_cast<unsigned long long>(made->header.plaintext_bytes));
  PrintKeystoreFields(made->header);
  for (const auto& removed : made->removed) std::printf("rotated out: %s\n", removed.c_str());
  for (const auto& aged : made->aged_out) std::printf("aged out (older than the max age): %s\n", aged.c_str());
  return 0;
}

int Restore(const backup::RestoreOptions& options) {
  if (options.secret_key_file.empty()) return Fail(Error::InvalidField("secret-key", "is required"));
  auto restored = backup::RestoreBackup(options);
  if (!restored) return Fail(restored.error());
  std::printf("restored %s (schema %u, backup taken %s)\n", restored->restored_path.c_str(),
              restored->header.schema_version, FormatIso8601(restored->header.created).c_str());
  if (restored->header.kind == backup::BackupKind::kData) {
    std::printf("ledger ok: %lld entries, %lld checkpoints%s\n", static_cast<long long>(restored->ledger_entries),
                static_cast<long long>(restored->ledger_checkpoints),
                restored->ledger_signatures_checked ? ", signatures checked"
                                                    : "; signatures NOT checked (no signing key: give --ledger-pubkey)");
  }
  PrintKeystoreFields(restored->header);
  if (restored->header.kind == backup::BackupKind::kKeystore && restored->replaced_keystore_epoch &&
      restored->header.keystore_epoch && *restored->header.keystore_epoch < *restored->replaced_keystore_epoch) {
    std::printf("the restored keystore is older than the one it replaced (erasure epoch %lld < %lld)\n",
                static_cast<long long>(*restored->header.keystore_epoch),
                static_cast<long long>(*restored->replaced_keystore_epoch));
  }
  if (restored->erasures_to_reapply > 0) {
    std::printf(restored->header.kind == backup::BackupKind::kKeystore
                    ? "%lld erasures recorded in the database are missing from the restored keystore: they will be "
                      "re-applied (keys destroyed again) at the next start\n"
                    : "%lld customers erased in the keystore are not erased in the restored database: their rows "
                      "will be deleted at the next start\n",
                static_cast<long long>(restored->erasures_to_reapply));
  }
  return 0;
}

int WriteOutput(const std::string& text, const std::string& output) {
  if (output.empty() || output == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  std::ofstream out(output, std::ios::binary);
  out << text;
  if (!out) return Fail(Error::Unavailable("cannot write " + output));
  return 0;
}

struct PseudonymisedArgs {
  std::string recipient;
  std::string format = "json";
  std::string dataset = "customers";
  int k = 5;
};

int ExportPseudonymised(const app::RuntimeOptions& base, const PseudonymisedArgs& args, const std::string& output) {
  auto runtime = app::Runtime::Open(base);
  if (!runtime) return Fail(runtime.error());
  auto& rt = **runtime;
  auto out = privacy::BuildPseudonymisedExport(rt.store(), rt.privacy_secret(), {.recipient = args.recipient, .k = args.k},
                                               rt.clock().Now());
  if (!out) return Fail(out.error());
  std::fprintf(stderr, "pseudonymised export for %s: %zu customers, %zu orders, %zu events, %lld suppressed (k=%d)\n",
               args.recipient.c_str(), out->customers.size(), out->orders.size(), out->events.size(),
               static_cast<long long>(out->suppressed_customers), args.k);
  if (args.format == "json") return WriteOutput(out->ToJson(), output);
  auto csv = out->ToCsv(args.dataset);
  if (!csv) return Fail(csv.error());
  return WriteOutput(*csv, output);
}

int RunRetentionCommand(const app::RuntimeOptions& base, const std::vector<privacy::RetentionPolicy>& policies) {
  auto runtime = app::Runtime::Open(base);
  if (!runtime) return Fail(runtime.error());
  auto report = privacy::RunRetention((*runtime)->store(), policies, (*runtime)->clock().Now());
  if (!report) return Fail(report.error());
  for (const auto& line : report->lines) {
    std::printf("%s: %s %lld rows older than %s\n", line.data_class.c_str(),
                line.action == "delete" ? "deleted" : "anonymised", static_cast<long long>(line.rows),
                FormatIso8601(line.cutoff).c_str());
  }
  std::printf("retention: %lld rows changed\n", static_cast<long long>(report->total_rows));
  return 0;
}

// `panorama privacy run-due`: carries out the scheduled erasures whose grace period is over (serve does the
// same every 10 minutes). Exit 1 when one could not be carried out (it stays scheduled).
int RunDueErasuresCommand(const app::RuntimeOptions& base) {
  auto runtime = app::Runtime::Open(base);
  if (!runtime) return Fail(runtime.error());
  auto due = (*runtime)->dsar().RunDueErasures();
  if (!due) return Fail(due.error());
  for (int64_t id : due->erased) std::printf("erased: request %lld\n", static_cast<long long>(id));
  for (const auto& failure : due->failed) std::fprintf(stderr, "not erased: %s\n", failure.c_str());
  std::printf("run-due: %zu erased, %zu failed\n", due->erased.size(), due->failed.size());
  return due->failed.empty() ? 0 : 1;
}

}  // namespace

int Run(int argc, char** argv) {
  CLI::App cli{"Panorama: customer data and relationship platform (one binary: API, console, ingestion)"};
  cli.require_subcommand(1);
  std::string data = "./panorama-data";
  app::RuntimeOptions runtime_options;
  auto add_data = [&](CLI::App* cmd) {
    cmd->add_option("--data", data, "data directory (holds panorama.db)")->capture_default_str();
    cmd->add_option("--master-key-file", runtime_options.master_key.file,
                    "master key file (owner-only; `panorama key init`); default: PANORAMA_MASTER_KEY");
    cmd->add_option("--master-key-command", runtime_options.master_key.command,
                    "command printing the master key file format (Vault/KMS agents)");
    cmd->add_flag("--insecure-dev", runtime_options.insecure_dev,
                  "no master key: keep a throw-away key inside the data directory (development only)");
  };

  app::ServeOptions serve_options;
  auto* serve = cli.add_subcommand("serve", "run the API, the console and Segment-compatible ingestion");
  add_data(serve);
  serve->add_option("--listen", serve_options.listen, "host:port to listen on (port 0: any free port)")
      ->capture_default_str();
  serve->add_option("--static-dir", serve_options.static_dir, "console build directory (default ./web/dist)");
  serve->add_option("--worker-threads", serve_options.worker_threads, "threads for API handlers")->capture_default_str();
  serve->add_option("--header-timeout", serve_options.header_timeout_seconds,
                    "seconds a request header may take from its first byte (slow clients are closed)")
      ->capture_default_str()->check(CLI::Range(1, 3600));
  serve->add_option("--body-timeout", serve_options.body_timeout_seconds,
                    "seconds a request body (and a response write) may take")
      ->capture_default_str()->check(CLI::Range(1, 3600));
  serve->add_flag("!--no-access-log", serve_options.access_log, "do not log each request");
  serve->add_option("--tls-cert", serve_options.tls_cert, "HTTPS: PEM certificate chain file");
  serve->add_option("--tls-key", serve_options.tls_key, "HTTPS: PEM private key file");
  serve->add_flag("--tls-self-signed", serve_options.tls_self_signed,
                  "HTTPS with a self-signed certificate generated into the data directory (local use)");
  serve->add_flag("--allow-root", serve_options.allow_root,
                  "serve on a non-loopback address although running as root (refused by default)");
  serve->add_flag("!--no-rate-limit", serve_options.rate_limits.enabled, "no per key/user/IP API rate limits (benchmarks)");
  serve->add_option("--rate-limit-key", serve_options.rate_limits.per_key.per_second, "requests/s per API key (burst 2x)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  serve->add_option("--rate-limit-user", serve_options.rate_limits.per_user.per_second, "requests/s per signed-in user (burst 2x)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  serve->add_option("--rate-limit-ip", serve_options.rate_limits.per_ip.per_second, "requests/s per client IP (burst 2x)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  serve->add_option("--step-up-window-seconds", serve_options.step_up_window_seconds,
                    "development and tests only: seconds a password check lasts for sensitive operations (default 300)")
      ->check(CLI::Range(1, 3600));

  int64_t customers = 10000;
  uint64_t seed = 42;
  auto* demo = cli.add_subcommand("demo", "fill an empty data directory with a generated demo company");
  add_data(demo);
  demo->add_option("--customers", customers, "number of customers")->capture_default_str()->check(CLI::Range(1, 100'000'000));
  demo->add_option("--seed", seed, "random seed (same seed, same data)")->capture_default_str();

  ingest::ImportOptions import_options;
  std::string import_kind, import_file, date_order = "ymd";
  auto* import = cli.add_subcommand("import", "import customers or orders from a CSV file (UTF-8, BOM or GBK)");
  add_data(import);
  import->add_option("kind", import_kind, "customers | orders")->required()->check(CLI::IsMember({"customers", "orders"}));
  import->add_option("file", import_file, "CSV file")->required();
  import->add_option("--mapping", import_options.mapping, "target=Source Column,... (default: header names)");
  import->add_flag("--dry-run", import_options.dry_run, "validate and report, write nothing");
  import->add_flag("--skip-invalid", import_options.skip_invalid, "import the good rows, report the bad ones");
  import->add_option("--region", import_options.rows.default_region, "region of phones without a country code")->capture_default_str();
  import->add_option("--currency", import_options.rows.currency, "currency when the file has none");
  import->add_option("--date-order", date_order, "ymd | mdy | dmy for dates like 12/1/2010")->check(CLI::IsMember({"ymd", "mdy", "dmy"}));
  import->add_option("--utc-offset-minutes", import_options.rows.source_utc_offset_minutes,
                     "zone of times written without one (480 for China)");

  std::string export_kind, export_output;
  auto* exporter = cli.add_subcommand("export", "export customers or orders as CSV (UTF-8 with BOM, Excel-safe)");
  add_data(exporter);
  exporter->add_option("kind", export_kind, "customers | orders (not with --pseudonymised)")
      ->check(CLI::IsMember({"customers", "orders"}));
  exporter->add_option("--output,-o", export_output, "file to write (default: standard output)");
  bool pseudonymised = false;
  PseudonymisedArgs pseudo;
  exporter->add_flag("--pseudonymised", pseudonymised,
                     "analytics export: keyed pseudonyms, no direct identifiers, k-anonymity (docs/security.md)");
  exporter->add_option("--recipient", pseudo.recipient, "who receives the export (pseudonyms differ per recipient)");
  exporter->add_option("--format", pseudo.format, "json | csv")->capture_default_str()->check(CLI::IsMember({"json", "csv"}));
  exporter->add_option("--dataset", pseudo.dataset, "for csv: customers | orders | events")
      ->capture_default_str()->check(CLI::IsMember({"customers", "orders", "events"}));
  exporter->add_option("--k", pseudo.k, "minimum group size on (age band, city, gender)")->capture_default_str();

  auto* retention = cli.add_subcommand("retention", "retention policies (privacy)");
  add_data(retention);
  retention->require_subcommand(1);
  auto* retention_run = retention->add_subcommand("run", "delete or anonymise events and interactions past their age");
  add_data(retention_run);
  auto policies = privacy::DefaultRetentionPolicies();
  std::string interactions_action = policies[1].anonymise ? "anonymise" : "delete";
  std::string events_action = policies[0].anonymise ? "anonymise" : "delete";
  retention_run->add_option("--events-days", policies[0].max_age_days, "max age of raw events (0: keep)")
      ->capture_default_str()->check(CLI::Range(0, 36500));
  retention_run->add_option("--events-action", events_action, "delete | anonymise")
      ->capture_default_str()->check(CLI::IsMember({"delete", "anonymise"}));
  retention_run->add_option("--interactions-days", policies[1].max_age_days, "max age of interactions (0: keep)")
      ->capture_default_str()->check(CLI::Range(0, 36500));
  retention_run->add_option("--interactions-action", interactions_action, "delete | anonymise")
      ->capture_default_str()->check(CLI::IsMember({"delete", "anonymise"}));
  retention_run->add_option("--segment-events-days", policies[2].max_age_days,
                            "max age of the segments' entered/exited feed, deleted (0: keep)")
      ->capture_default_str()->check(CLI::Range(0, 36500));
  serve->add_flag("!--no-retention-job", serve_options.retention_job, "do not run the daily retention job");
  serve->add_option("--erasure-grace-days", serve_options.erasure_grace_days,
                    "days between fulfilling an erase request and the erasure (0..90; 0: at once)")
      ->capture_default_str();
  auto* privacy_cmd = cli.add_subcommand("privacy", "data-subject requests (privacy)");
  privacy_cmd->require_subcommand(1);
  auto* privacy_run_due =
      privacy_cmd->add_subcommand("run-due", "carry out scheduled erasures whose grace period is over");
  add_data(privacy_run_due);
  std::string backup_every;
  serve->add_option("--backup-dir", serve_options.backup_dir, "scheduled encrypted backups into this directory");
  serve->add_option("--backup-every", backup_every, "interval of scheduled backups: 30m, 24h, 7d (default 24h)");
  serve->add_option("--backup-keep", serve_options.backup_keep, "keep the newest N scheduled backups")
      ->capture_default_str();
  serve->add_option("--backup-public-key", serve_options.backup_public_key,
                    "backup.pub (panorama backup keygen) the scheduled backups are encrypted to");
  std::string keystore_backup_every, keystore_backup_max_age;
  serve->add_option("--keystore-backup-dir", serve_options.keystore_backup_dir,
                    "scheduled encrypted keystore backups into this directory (not --backup-dir, not the data dir)");
  serve->add_option("--keystore-backup-every", keystore_backup_every,
                    "interval of scheduled keystore backups: 30m, 24h, 7d (default 24h)");
  serve->add_option("--keystore-backup-keep", serve_options.keystore_backup_keep,
                    "keep the newest N keystore backups (keep x every at most the max age)")
      ->capture_default_str();
  serve->add_option("--keystore-backup-public-key", serve_options.keystore_backup_public_key,
                    "a separate backup.pub (not --backup-public-key's) the keystore backups are encrypted to");
  serve->add_option("--keystore-backup-max-age", keystore_backup_max_age,
                    "delete keystore backups older than this at each run: at most and by default 35d");

  AnalyticsArgs analytics_args;
  auto* rfm = cli.add_subcommand("rfm", "RFM scores: R×F grid and segments (table), per customer (csv), or json");
  add_data(rfm);
  rfm->add_option("--as-of", analytics_args.as_of, "the instant to score against, ISO 8601 (default: now)");
  rfm->add_option("--format", analytics_args.format, "table | csv | json")->capture_default_str()
      ->check(CLI::IsMember({"table", "csv", "json"}));
  auto* lifecycle = cli.add_subcommand("lifecycle", "lifecycle stage counts (table, json), per customer (csv), or history");
  add_data(lifecycle);
  lifecycle->add_option("--as-of", analytics_args.as_of, "the instant to classify at, ISO 8601 (default: now)");
  lifecycle->add_option("--format", analytics_args.format, "table | csv | json")->capture_default_str()
      ->check(CLI::IsMember({"table", "csv", "json"}));
  lifecycle->add_option("--from", analytics_args.from, "history: first month, YYYY-MM (with --to)");
  lifecycle->add_option("--to", analytics_args.to, "history: last month, YYYY-MM (at most 120 months)");
  BehaviourCommands behaviour_commands(cli, add_data);  // cohorts, funnel, paths

  auto* user = cli.add_subcommand("user", "manage staff users");
  add_data(user);
  user->require_subcommand(1);
  std::string username, role = "sales", display_name;
  auto* user_add = user->add_subcommand("add", "create a user (password from PANORAMA_USER_PASSWORD or stdin)");
  user_add->add_option("username", username)->required();
  user_add->add_option("--role", role, "admin | sales | marketing | support | analyst | auditor")->capture_default_str();
  user_add->add_option("--name", display_name, "display name");
  auto* user_list = user->add_subcommand("list", "list users");
  auto* user_password = user->add_subcommand("password", "set a user's password (PANORAMA_USER_PASSWORD or stdin)");
  user_password->add_option("username", username)->required();
  AccessCommands access_commands(cli, *user, add_data);  // role, team, user access

  auto* key = cli.add_subcommand("key", "manage API keys and ingestion write keys");
  add_data(key);
  key->require_subcommand(1);
  std::string key_name, key_kind = "api", key_scope = "read";
  int64_t key_id = 0;
  auto* key_create = key->add_subcommand("create", "create a key; the secret is printed once");
  key_create->add_option("--name", key_name, "what the key is for")->required();
  key_create->add_option("--kind", key_kind, "api | write")->capture_default_str()->check(CLI::IsMember({"api", "write"}));
  key_create->add_option("--scope", key_scope, "read | read-write | ingest (write keys: ingest)")->capture_default_str();
  std::vector<std::string> key_cidrs;
  key_create->add_option("--allow-cidr", key_cidrs,
                         "client network the key may be used from (CIDR, repeatable; default: any address)")
      ->allow_extra_args(false);
  auto* key_list = key->add_subcommand("list", "list keys (never their secrets)");
  auto* key_revoke = key->add_subcommand("revoke", "revoke a key");
  auto* mfa = cli.add_subcommand("mfa", "multi-factor authentication policy and resets");
  add_data(mfa);
  mfa->require_subcommand(1);
  std::string mfa_target;
  auto* mfa_require = mfa->add_subcommand("require", "require MFA for every user of a role (the default)");
  mfa_require->add_option("role", mfa_target)->required();
  auto* mfa_relax = mfa->add_subcommand("relax", "let a role sign in with a password alone (recorded, warned at start)");
  mfa_relax->add_option("role", mfa_target)->required();
  auto* mfa_reset = mfa->add_subcommand("reset", "remove a user's second factor; they enrol again at next sign-in");
  mfa_reset->add_option("username", mfa_target)->required();
  auto* mfa_status = mfa->add_subcommand("status", "show the MFA policy per role");
  key_revoke->add_option("id", key_id)->required();
  std::string key_out;
  auto* key_init = key->add_subcommand("init", "create a new master key file (field encryption)");
  key_init->add_option("--out", key_out, "file to create (mode 0600; keep it outside the data directory)")->required();
  bool rotate_master = false;
  int64_t rotate_customer = 0;
  auto* key_rotate = key->add_subcommand("rotate", "rotate the master key, or one customer's data key");
  key_rotate->add_flag("--master", rotate_master, "new master key version; re-wraps every data key online");
  key_rotate->add_option("--customer", rotate_customer, "re-encrypt this customer under a new data key");
  std::string field_cipher;
  const char* field_cipher_help =
      "cipher of new encrypted fields, recorded in the keystore: xchacha20-poly1305 (a new keystore's default) or "
      "aes-256-gcm; values under either cipher always decrypt";
  key_rotate->add_option("--field-cipher", field_cipher, field_cipher_help);

  auto* audit = cli.add_subcommand("audit", "check the tamper-evident audit ledger");
  audit->require_subcommand(1);
  std::string witness, public_key;
  auto* audit_verify = audit->add_subcommand(
      "verify", "recompute the hash chain and signed checkpoints; exit 1 naming the first broken seq");
  add_data(audit_verify);
  audit_verify->add_option("--witness", witness, "JSON-lines file of shipped checkpoints (serve --audit-witness)");
  audit_verify->add_option("--pubkey", public_key, "signing public key in hex (default: the data directory's)");
  auto* audit_pubkey = audit->add_subcommand("pubkey", "print the ledger signing key's public half (hex)");
  add_data(audit_pubkey);
  std::string audit_witness;
  serve->add_option("--audit-witness", audit_witness, "append each signed ledger checkpoint to this file (off-box)");
  serve->add_option("--field-cipher", field_cipher, field_cipher_help);
  serve->add_flag("--audit-syslog", runtime_options.audit_syslog,
                  "also send each signed ledger checkpoint to syslog (LOG_AUTHPRIV)");
  serve->add_option("--audit-webhook", runtime_options.audit_webhook,
                    "also POST each signed ledger checkpoint to this https:// URL (http:// only to loopback)");

  backup::BackupOptions backup_options;
  bool backup_keystore = false;
  std::string keygen_out;
  auto* backup_cmd = cli.add_subcommand("backup", "write an encrypted, consistent backup of a (running) data directory");
  add_data(backup_cmd);
  backup_cmd->require_subcommand(0, 1);
  backup_cmd->add_option("--to", backup_options.to_dir, "directory for backup files (created 0700)");
  backup_cmd->add_option("--public-key", backup_options.public_key_file, "backup.pub from `panorama backup keygen`");
  backup_cmd->add_option("--keep", backup_options.keep, "then keep only the newest N backups (0: keep all)")
      ->capture_default_str();
  backup_cmd->add_flag("--keystore", backup_keystore, "back up keystore.db (wrapped keys) instead of the data");
  std::string backup_max_age;
  backup_cmd->add_option("--max-age", backup_max_age,
                         "with --keystore: then delete keystore backups in --to older than this (at most and by "
                         "default 35d)");
  auto* backup_keygen = backup_cmd->add_subcommand("keygen", "create a backup key pair (backup.pub, backup.sec)");
  backup_keygen->add_option("--out", keygen_out, "directory for the key files")->required();

  backup::RestoreOptions restore_options;
  auto* restore = cli.add_subcommand("restore", "verify a backup and swap it in as the data directory's database");
  restore->add_option("--data", restore_options.data_dir, "data directory to restore into")->required();
  restore->add_option("--from", restore_options.from_file, "backup file (.pnbk)")->required();
  restore->add_option("--secret-key", restore_options.secret_key_file, "backup.sec")->required();
  restore->add_option("--ledger-pubkey", restore_options.ledger_public_key_hex,
                      "ledger signing public key in hex (default: the data directory's)");

  SegmentsCommand segments_command(cli, add_data);

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : 2;
  }
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);

  runtime_options.data_dir = data;
  runtime_options.audit_witness = audit_witness;
  // Writes made by this command's own thread are the operator's; HTTP requests set their own actor.
  ActorScope cli_actor({.actor = "cli"});
  if (!field_cipher.empty()) {
    // Before the data directory is opened: a bad value changes nothing.
    auto cipher = security::ParseFieldCipher(field_cipher, "field-cipher");
    if (!cipher) return Fail(cipher.error());
    runtime_options.field_cipher = *cipher;
  }
  if (key_init->parsed()) return KeyInit(key_out);
  if (key_rotate->parsed() && rotate_master) return RotateMaster(runtime_options);
  if (key_rotate->parsed() && rotate_customer <= 0) {
    return Fail(Error::InvalidField("customer", "give --master or --customer ID (a positive id)"));
  }
  for (auto* limit : {&serve_options.rate_limits.per_key, &serve_options.rate_limits.per_user,
                      &serve_options.rate_limits.per_ip}) {
    limit->burst = 2 * limit->per_second;
  }
  if (serve->parsed()) {
    if (!backup_every.empty()) {
      auto every = backup::ParseBackupInterval(backup_every, "backup-every");
      if (!every) return Fail(every.error());
      serve_options.backup_every = *every;
    }
    if (serve_options.backup_dir.empty() &&
        (!backup_every.empty() || serve->count("--backup-keep") > 0 || !serve_options.backup_public_key.empty())) {
      return Fail(Error::InvalidField("backup-dir", "is required with --backup-every/--backup-keep/--backup-public-key"));
    }
    if (!keystore_backup_every.empty()) {
      auto every = backup::ParseBackupInterval(keystore_backup_every, "keystore-backup-every");
      if (!every) return Fail(every.error());
      serve_options.keystore_backup_every = *every;
    }
    if (!keystore_backup_max_age.empty()) {
      auto age = backup::ParseBackupInterval(keystore_backup_max_age, "keystore-backup-max-age",
                                             backup::kKeystoreRetentionCap);
      if (!age) return Fail(age.error());
      serve_options.keystore_backup_max_age = *age;
    }
    if (serve_options.keystore_backup_dir.empty() &&
        (!keystore_backup_every.empty() || !keystore_backup_max_age.empty() ||
         serve->count("--keystore-backup-keep") > 0 || !serve_options.keystore_backup_public_key.empty())) {
      return Fail(Error::InvalidField("keystore-backup-dir", "is required with the other --keystore-backup-* flags"));
    }
    // Checked again by Start(); here so that a bad option is refused before the data directory is opened.
    if (!serve_options.backup_dir.empty()) {
      auto valid = backup::ValidateSchedule({.data_dir = data, .to_dir = serve_options.backup_dir,
                                             .public_key_file = serve_options.backup_public_key,
                                             .every = serve_options.backup_every, .keep = serve_options.backup_keep});
      if (!valid) return Fail(valid.error());
    }
    if (!serve_options.keystore_backup_dir.empty()) {
      backup::ScheduleOptions keystore{.data_dir = data, .to_dir = serve_options.keystore_backup_dir,
                                       .public_key_file = serve_options.keystore_backup_public_key,
                                       .every = serve_options.keystore_backup_every,
                                       .keep = serve_options.keystore_backup_keep,
                                       .kind = backup::BackupKind::kKeystore,
                                       .max_age = serve_options.keystore_backup_max_age};
      auto valid = backup::ValidateSchedule(keystore);
      if (valid && !serve_options.backup_dir.empty()) {
        valid = backup::ValidateSeparateSchedules(
            {.to_dir = serve_options.backup_dir, .public_key_file = serve_options.backup_public_key}, keystore);
      }
      if (!valid) return Fail(valid.error());
    }
    runtime_options.lock_data_dir = true;
    serve_options.insecure_dev = runtime_options.insecure_dev;  // one --insecure-dev: throw-away key, plain HTTP
    return Serve(runtime_options, serve_options);
  }
  if (backup_keygen->parsed()) return BackupKeygen(keygen_out);
  if (backup_cmd->parsed()) {
    backup_options.data_dir = data;
    backup_options.kind = backup_keystore ? backup::BackupKind::kKeystore : backup::BackupKind::kData;
    if (!backup_max_age.empty()) {
      if (!backup_keystore) return Fail(Error::InvalidField("max-age", "applies to --keystore backups only"));
      auto age = backup::ParseBackupInterval(backup_max_age, "max-age", backup::kKeystoreRetentionCap);
      if (!age) return Fail(age.error());
      backup_options.max_age = *age;
    }
    return Backup(backup_options);
  }
  if (restore->parsed()) return Restore(restore_options);
  if (audit_verify->parsed()) {
    auto started = std::chrono::steady_clock::now();
    auto report = app::Runtime::VerifyLedger(data, witness, public_key);
    if (!report) return Fail(report.error());
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    std::printf("ledger ok: %lld entries, %lld checkpoints, %lld witness checkpoints, %lld ms\n",
                static_cast<long long>(report->entries), static_cast<long long>(report->checkpoints),
                static_cast<long long>(report->witness_checkpoints), static_cast<long long>(ms.count()));
    return 0;
  }
  if (audit_pubkey->parsed()) {
    auto pubkey = app::Runtime::LedgerPublicKey(data);
    if (!pubkey) return Fail(pubkey.error());
    std::printf("%s\n", pubkey->c_str());
    return 0;
  }
  if (demo->parsed()) return Demo(runtime_options, customers, seed);
  if (rfm->parsed()) return Rfm(runtime_options, analytics_args);
  if (lifecycle->parsed()) return Lifecycle(runtime_options, analytics_args);
  if (import->parsed()) {
    auto order = ingest::ParseDateOrder(date_order);
    if (order) import_options.rows.date_order = *order;
    return Import(runtime_options, import_kind, import_file, import_options);
  }
  if (exporter->parsed()) {
    if (pseudonymised) {
      if (!export_kind.empty()) return Fail(Error::InvalidField("kind", "is not used with --pseudonymised"));
      return ExportPseudonymised(runtime_options, pseudo, export_output);
    }
    if (export_kind.empty()) return Fail(Error::InvalidField("kind", "customers or orders is required"));
    return Export(runtime_options, export_kind, export_output);
  }
  if (segments_command.parsed()) return segments_command.Run(runtime_options);
  if (behaviour_commands.parsed()) return behaviour_commands.Run(runtime_options);
  if (access_commands.parsed()) return access_commands.Run(runtime_options);
  if (retention_run->parsed()) {
    policies[0].anonymise = events_action == "anonymise";
    policies[1].anonymise = interactions_action == "anonymise";
    return RunRetentionCommand(runtime_options, policies);
  }
  if (privacy_run_due->parsed()) return RunDueErasuresCommand(runtime_options);

  // A running server may have cached the customer's old key and could still encrypt a write under it after the
  // rotation destroyed it: rotate from the CLI only while no server holds the data directory (else use the route).
  if (key_rotate->parsed()) runtime_options.lock_data_dir = true;
  auto runtime = app::Runtime::Open(runtime_options);
  if (!runtime && key_rotate->parsed() && runtime.error().code() == ErrorCode::kFailedPrecondition &&
      runtime.error().message().find("running server") != std::string::npos) {
    return Fail(Error::FailedPrecondition(runtime.error().message() +
                                          "; stop it, or rotate through the server: POST /api/v1/customers/" +
                                          std::to_string(rotate_customer) + "/rotate-key"));
  }
  if (!runtime) return Fail(runtime.error());
  auto& auth = (*runtime)->auth();
  auto& store = (*runtime)->store();
  if (user_add->parsed()) {
    auto password = PasswordFrom("PANORAMA_USER_PASSWORD");
    if (!password) return Fail(password.error());
    auto id = auth.CreateUser(username, *password, role, display_name);
    if (!id) return Fail(id.error());
    std::printf("created user %s (id %lld, role %s)\n", username.c_str(), static_cast<long long>(id->value()), role.c_str());
    return 0;
  }
  if (user_list->parsed()) {
    auto users = store.ListUsers();
    if (!users) return Fail(users.error());
    for (const auto& u : *users) {
      std::printf("%lld\t%s\t%s%s\n", static_cast<long long>(u.id.value()), u.username.c_str(), u.role.c_str(),
                  u.disabled ? "\tdisabled" : "");
    }
    return 0;
  }
  if (user_password->parsed()) {
    auto password = PasswordFrom("PANORAMA_USER_PASSWORD");
    if (!password) return Fail(password.error());
    auto set = auth.SetPassword(username, *password);
    if (!set) return Fail(set.error());
    std::printf("password of %s changed\n", username.c_str());
    return 0;
  }
  if (key_create->parsed()) {
    if (key_kind == "write") key_scope = "ingest";
    // Checked here first so a bad network is reported under the flag the operator typed.
    auto networks = security::NormaliseCidrs(key_cidrs, "--allow-cidr");
    if (!networks) return Fail(networks.error());
    auto created = auth.CreateApiKey(key_name, key_kind, key_scope, std::nullopt, std::nullopt, *networks);
    if (!created) return Fail(created.error());
    std::printf("key %lld (%s, %s): %s\n", static_cast<long long>(created->id.value()), key_kind.c_str(),
                key_scope.c_str(), created->secret.c_str());
    if (!created->allowed_cidrs.empty()) {
      std::string joined;
      for (const auto& c : created->allowed_cidrs) joined += (joined.empty() ? "" : ",") + c;
      std::printf("allowed from: %s\n", joined.c_str());
    }
    return 0;
  }
  if (key_list->parsed()) {
    auto keys = store.ListApiKeys();
    if (!keys) return Fail(keys.error());
    for (const auto& k : *keys) {
      std::string networks;
      for (const auto& c : k.allowed_cidrs) networks += (networks.empty() ? "" : ",") + c;
      std::printf("%lld\t%s\t%s\t%s\t%s…\t%s\t%s\n", static_cast<long long>(k.id.value()), k.name.c_str(),
                  k.kind.c_str(), k.scope.c_str(), k.prefix.c_str(), k.revoked ? "revoked" : "active",
                  networks.empty() ? "any address" : networks.c_str());
    }
    return 0;
  }
  if (key_rotate->parsed()) {
    auto rotated = store.RotateCustomerKey(CustomerId(rotate_customer));
    if (!rotated) return Fail(rotated.error());
    std::printf("customer %lld re-encrypted under a new data key; the old one is destroyed\n",
                static_cast<long long>(rotate_customer));
    return 0;
  }
  std::string actor = std::string("cli:") + (std::getenv("USER") ? std::getenv("USER") : "unknown");
  if (mfa_require->parsed() || mfa_relax->parsed()) {
    auto set = auth.SetRoleMfaRequired(mfa_target, mfa_require->parsed(), actor);
    if (!set) return Fail(set.error());
    std::printf("MFA %s for role %s\n", mfa_require->parsed() ? "required" : "relaxed", mfa_target.c_str());
    return 0;
  }
  if (mfa_reset->parsed()) {
    auto target = store.FindUserByName(mfa_target);
    if (!target) return Fail(target.error());
    auto reset = auth.ResetMfa(target->id, actor);
    if (!reset) return Fail(reset.error());
    std::printf("second factor of %s removed; they enrol again at next sign-in\n", mfa_target.c_str());
    return 0;
  }
  if (mfa_status->parsed()) {
    auto roles = auth.ListRoleMfa();
    if (!roles) return Fail(roles.error());
    for (const auto& r : *roles) {
      std::printf("%s\t%s%s%s\n", r.role.c_str(), r.mfa_required ? "required" : "relaxed",
                  r.changed_by.empty() ? "" : "\tby ", r.changed_by.c_str());
    }
    return 0;
  }
  if (key_revoke->parsed()) {
    auto revoked = store.Write([&](storage::WriteTxn& txn) { return txn.RevokeApiKey(ApiKeyId(key_id)); });
    if (!revoked) return Fail(revoked.error());
    std::printf("key %lld revoked\n", static_cast<long long>(key_id));
    return 0;
  }
  return 2;
}

}  // namespace panorama::cli
