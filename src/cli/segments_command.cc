#include "cli/segments_command.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>

#include "app/runtime.h"
#include "cli/cli_fail.h"
#include "ingest/csv.h"
#include "segments/service/segment_service.h"
#include "segments/service/xlsx_table.h"
#include "storage/store.h"

namespace panorama::cli {

struct SegmentsCommand::State {
  CLI::App* root = nullptr;
  CLI::App *list = nullptr, *show = nullptr, *create = nullptr, *remove = nullptr, *evaluate = nullptr,
           *exporter = nullptr;
  std::string name, description, rule, target, format = "csv", output;
};

namespace {

// A segment by id, or else by name.
Result<storage::SegmentRecord> Find(segments::SegmentService& service, const std::string& target) {
  char* end = nullptr;
  long long id = std::strtoll(target.c_str(), &end, 10);
  if (!target.empty() && end != nullptr && *end == '\0' && id > 0) return service.Get(SegmentId(id));
  return service.FindByName(target);
}

void Print(const storage::SegmentRecord& s) {
  std::printf("%lld\t%s\t%lld members\tevaluated %s\n", static_cast<long long>(s.id.value()), s.name.c_str(),
              static_cast<long long>(s.size), s.evaluated_at ? FormatIso8601(*s.evaluated_at).c_str() : "never");
}

}  // namespace

SegmentsCommand::SegmentsCommand(CLI::App& cli, const std::function<void(CLI::App*)>& add_data)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.root = cli.add_subcommand("segments", "saved segments: list, show, create, delete, evaluate, export");
  add_data(s.root);
  s.root->require_subcommand(1);
  s.list = s.root->add_subcommand("list", "list segments with their sizes");
  s.show = s.root->add_subcommand("show", "a segment's definition and its first members");
  s.show->add_option("segment", s.target, "segment id or name")->required();
  s.create = s.root->add_subcommand("create", "create a segment (evaluates its members)");
  s.create->add_option("--name", s.name, "segment name (1..100 characters)")->required();
  s.create->add_option("--rule", s.rule, "rule text (docs/segments.md)")->required();
  s.create->add_option("--description", s.description, "what the segment is for");
  s.remove = s.root->add_subcommand("delete", "delete a segment, its memberships and its events");
  s.remove->add_option("segment", s.target, "segment id or name")->required();
  s.evaluate = s.root->add_subcommand("evaluate", "re-evaluate every segment now (records entered/exited events)");
  s.exporter = s.root->add_subcommand("export", "export a segment's members (id, name, email, country, city)");
  s.exporter->add_option("segment", s.target, "segment id or name")->required();
  s.exporter->add_option("--format", s.format, "csv | xlsx")->capture_default_str()->check(CLI::IsMember({"csv", "xlsx"}));
  s.exporter->add_option("--output,-o", s.output, "file to write (default: standard output; required for xlsx)");
  for (CLI::App* sub : {s.list, s.show, s.create, s.remove, s.evaluate, s.exporter}) add_data(sub);
}

SegmentsCommand::~SegmentsCommand() = default;

bool SegmentsCommand::parsed() const { return state_->root->parsed(); }

int SegmentsCommand::Run(const app::RuntimeOptions& options) {
  State& s = *state_;
  if (s.exporter->parsed() && s.format == "xlsx" && (s.output.empty() || s.output == "-")) {
    return Fail(Error::InvalidField("output", "xlsx needs --output FILE"));
  }
  auto runtime = app::Runtime::Open(options);
  if (!runtime) return Fail(runtime.error());
  segments::SegmentService& service = (*runtime)->segments();

  if (s.list->parsed()) {
    for (const auto& segment : service.List()) Print(segment);
    return 0;
  }
  if (s.show->parsed()) {
    auto segment = Find(service, s.target);
    if (!segment) return Fail(segment.error());
    Print(*segment);
    std::printf("rule: %s\n", segment->rule.c_str());
    if (!segment->description.empty()) std::printf("description: %s\n", segment->description.c_str());
    bool more = false;
    auto members = service.Members(segment->id, CustomerId(0), 10, &more);
    if (!members) return Fail(members.error());
    std::printf("members:");
    for (CustomerId id : *members) std::printf(" %lld", static_cast<long long>(id.value()));
    std::printf("%s\n", more ? " …" : "");
    return 0;
  }
  if (s.create->parsed()) {
    // Memberships of a new segment need the current audience: load it as `serve` does at start.
    if (auto evaluated = (*runtime)->EvaluateSegments(); !evaluated) return Fail(evaluated.error());
    auto created = service.Create({s.name, s.description, s.rule, "cli"});
    if (!created) return Fail(created.error());
    Print(*created);
    return 0;
  }
  if (s.remove->parsed()) {
    auto segment = Find(service, s.target);
    if (!segment) return Fail(segment.error());
    if (auto deleted = service.Delete(segment->id); !deleted) return Fail(deleted.error());
    std::printf("deleted segment %lld\n", static_cast<long long>(segment->id.value()));
    return 0;
  }
  if (s.evaluate->parsed()) {
    auto report = (*runtime)->EvaluateSegments();
    if (!report) return Fail(report.error());
    std::printf("evaluated %d segments: %lld entered, %lld exited in %lld ms\n", report->segments,
                static_cast<long long>(report->entered), static_cast<long long>(report->exited),
                static_cast<long long>(report->elapsed_ms));
    return 0;
  }
  // export: the operator holds the master key, so values are in clear (as `panorama export customers`).
  auto segment = Find(service, s.target);
  if (!segment) return Fail(segment.error());
  const std::vector<std::string> header = {"id", "name", "email", "country", "city"};
  std::vector<std::vector<std::string>> rows;
  CustomerId after(0);
  while (true) {
    bool more = false;
    auto page = service.Members(segment->id, after, 1000, &more);
    if (!page) return Fail(page.error());
    for (CustomerId id : *page) {
      auto c = (*runtime)->store().GetCustomer(id);
      if (!c) {
        if (c.error().code() == ErrorCode::kNotFound) continue;
        return Fail(c.error());
      }
      rows.push_back({id.ToString(), c->name, c->email, c->country, c->city});
    }
    if (!more || page->empty()) break;
    after = page->back();
  }
  std::string bytes;
  if (s.format == "xlsx") {
    auto xlsx = segments::XlsxTable("members", header, rows);
    if (!xlsx) return Fail(xlsx.error());
    bytes = std::move(*xlsx);
  } else {
    bytes = "\xEF\xBB\xBF";
    rows.insert(rows.begin(), header);
    for (const auto& row : rows) {
      for (size_t i = 0; i < row.size(); ++i) bytes += (i ? "," : "") + ingest::EscapeCsvCell(row[i]);
      bytes += "\r\n";
    }
  }
  if (s.output.empty() || s.output == "-") {
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
  } else {
    std::ofstream out(s.output, std::ios::binary);
    out << bytes;
    if (!out) return Fail(Error::Unavailable("cannot write " + s.output));
  }
  std::fprintf(stderr, "exported %zu members of segment %lld\n", rows.size() - (s.format == "csv" ? 1 : 0),
               static_cast<long long>(segment->id.value()));
  return 0;
}

}  // namespace panorama::cli
