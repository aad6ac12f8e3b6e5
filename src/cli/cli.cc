#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/runtime.h"
#include "demo/demo_generator.h"
#include "features/feature_store.h"
#include "ingest/csv_importer.h"
#include "ingest/feature_observer.h"
#include "privacy/pseudonymised_export.h"
#include "privacy/retention.h"
#include "security/auth_service.h"
#include "storage/store.h"

namespace panorama::cli {
namespace {

int Fail(const Error& error) {
  std::fprintf(stderr, "error: %s\n", error.message().c_str());
  for (const auto& v : error.violations()) {
    if (error.message().find(v.field) == std::string::npos) std::fprintf(stderr, "  %s: %s\n", v.field.c_str(), v.reason.c_str());
  }
  return 1;
}

void PrintBootstrap(const app::BootstrapInfo& info) {
  if (!info.admin_password.empty()) {
    std::printf("admin login: %s / %s%s\n", info.admin_username.c_str(), info.admin_password.c_str(),
                info.admin_created ? "   (shown once; keep it safe)" : "");
  } else {
    std::printf("admin login: %s (password set earlier; reset with `panorama user password %s`)\n",
                info.admin_username.c_str(), info.admin_username.c_str());
  }
  if (!info.write_key.empty()) {
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

int Serve(const std::string& data, const app::ServeOptions& options) {
  auto runtime = app::Runtime::Open({.data_dir = data});
  if (!runtime) return Fail(runtime.error());
  auto info = (*runtime)->Bootstrap();
  if (!info) return Fail(info.error());
  auto served = (*runtime)->Serve(options, [&](uint16_t port) {
    std::string host = options.listen.substr(0, options.listen.rfind(':'));
    std::printf("listening on http://%s:%u\n", host.c_str(), port);
    std::printf("console: http://%s:%u/\n", host.c_str(), port);
    PrintBootstrap(*info);
    std::fflush(stdout);
  });
  if (!served) return Fail(served.error());
  std::printf("stopped\n");
  return 0;
}

int Demo(const std::string& data, int64_t customers, uint64_t seed) {
  auto runtime = app::Runtime::Open({.data_dir = data, .bulk_load = true});
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
  PrintBootstrap(*info);
  return 0;
}

int Import(const std::string& data, const std::string& kind, const std::string& file, ingest::ImportOptions options) {
  options.kind = kind == "orders" ? ingest::ImportKind::kOrders : ingest::ImportKind::kCustomers;
  auto bytes = ReadFile(file);
  if (!bytes) return Fail(bytes.error());
  auto runtime = app::Runtime::Open({.data_dir = data});
  if (!runtime) return Fail(runtime.error());
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

int Export(const std::string& data, const std::string& kind, const std::string& output) {
  auto runtime = app::Runtime::Open({.data_dir = data});
  if (!runtime) return Fail(runtime.error());
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

int ExportPseudonymised(const std::string& data, const PseudonymisedArgs& args, const std::string& output) {
  auto runtime = app::Runtime::Open({.data_dir = data});
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

int RunRetentionCommand(const std::string& data, const std::vector<privacy::RetentionPolicy>& policies) {
  auto runtime = app::Runtime::Open({.data_dir = data});
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

}  // namespace

int Run(int argc, char** argv) {
  CLI::App cli{"Panorama: customer data and relationship platform (one binary: API, console, ingestion)"};
  cli.require_subcommand(1);
  std::string data = "./panorama-data";
  auto add_data = [&](CLI::App* cmd) {
    cmd->add_option("--data", data, "data directory (holds panorama.db)")->capture_default_str();
  };

  app::ServeOptions serve_options;
  auto* serve = cli.add_subcommand("serve", "run the API, the console and Segment-compatible ingestion");
  add_data(serve);
  serve->add_option("--listen", serve_options.listen, "host:port to listen on (port 0: any free port)")
      ->capture_default_str();
  serve->add_option("--static-dir", serve_options.static_dir, "console build directory (default ./web/dist)");
  serve->add_option("--worker-threads", serve_options.worker_threads, "threads for API handlers")->capture_default_str();
  serve->add_flag("!--no-access-log", serve_options.access_log, "do not log each request");

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
  serve->add_flag("!--no-retention-job", serve_options.retention_job, "do not run the daily retention job");

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

  auto* key = cli.add_subcommand("key", "manage API keys and ingestion write keys");
  add_data(key);
  key->require_subcommand(1);
  std::string key_name, key_kind = "api", key_scope = "read";
  int64_t key_id = 0;
  auto* key_create = key->add_subcommand("create", "create a key; the secret is printed once");
  key_create->add_option("--name", key_name, "what the key is for")->required();
  key_create->add_option("--kind", key_kind, "api | write")->capture_default_str()->check(CLI::IsMember({"api", "write"}));
  key_create->add_option("--scope", key_scope, "read | read-write | ingest (write keys: ingest)")->capture_default_str();
  auto* key_list = key->add_subcommand("list", "list keys (never their secrets)");
  auto* key_revoke = key->add_subcommand("revoke", "revoke a key");
  key_revoke->add_option("id", key_id)->required();

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : 2;
  }
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);

  if (serve->parsed()) return Serve(data, serve_options);
  if (demo->parsed()) return Demo(data, customers, seed);
  if (import->parsed()) {
    auto order = ingest::ParseDateOrder(date_order);
    if (order) import_options.rows.date_order = *order;
    return Import(data, import_kind, import_file, import_options);
  }
  if (exporter->parsed()) {
    if (pseudonymised) {
      if (!export_kind.empty()) return Fail(Error::InvalidField("kind", "is not used with --pseudonymised"));
      return ExportPseudonymised(data, pseudo, export_output);
    }
    if (export_kind.empty()) return Fail(Error::InvalidField("kind", "customers or orders is required"));
    return Export(data, export_kind, export_output);
  }
  if (retention_run->parsed()) {
    policies[0].anonymise = events_action == "anonymise";
    policies[1].anonymise = interactions_action == "anonymise";
    return RunRetentionCommand(data, policies);
  }

  auto runtime = app::Runtime::Open({.data_dir = data});
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
    auto created = auth.CreateApiKey(key_name, key_kind, key_scope);
    if (!created) return Fail(created.error());
    std::printf("key %lld (%s, %s): %s\n", static_cast<long long>(created->id.value()), key_kind.c_str(),
                key_scope.c_str(), created->secret.c_str());
    return 0;
  }
  if (key_list->parsed()) {
    auto keys = store.ListApiKeys();
    if (!keys) return Fail(keys.error());
    for (const auto& k : *keys) {
      std::printf("%lld\t%s\t%s\t%s\t%s…\t%s\n", static_cast<long long>(k.id.value()), k.name.c_str(), k.kind.c_str(),
                  k.scope.c_str(), k.prefix.c_str(), k.revoked ? "revoked" : "active");
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
