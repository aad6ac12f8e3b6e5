#include "cli/behaviour_commands.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "analytics/behaviour/behaviour_service.h"
#include "app/runtime.h"
#include "cli/cli_fail.h"

namespace panorama::cli {
namespace {

namespace bh = behaviour;

Result<std::optional<Timestamp>> OptionalTime(const std::string& text, const std::string& field) {
  if (text.empty())
    return std::optional<Timestamp>();
  auto at = ParseIso8601(text);
  if (!at)
    return Error::InvalidField(field, "must be an ISO 8601 time");
  return std::optional<Timestamp>(*at);
}

void PrintSteps(const std::vector<bh::FunnelStepResult>& steps, const char* indent) {
  for (size_t i = 0; i < steps.size(); ++i) {
    const auto& s = steps[i];
    std::printf("%s%zu. %-30s %8lld  %6.1f%% of start  %6.1f%% of previous", indent, i + 1,
                s.event.c_str(), static_cast<long long>(s.customers), 100 * s.conversion_from_start,
                100 * s.conversion_from_previous);
    if (s.median_seconds_from_previous)
      std::printf("  median %.0f s", *s.median_seconds_from_previous);
    std::printf("\n");
  }
}

}  // namespace

struct BehaviourCommands::Impl {
  CLI::App* cohorts = nullptr;
  CLI::App* funnel = nullptr;
  CLI::App* paths = nullptr;
  std::string from, to, as_of, window = "7d", breakdown, from_event, to_event;
  int months = 12;
  int max_steps = 5;
  int limit = 10;
  int min_group_size = bh::kDefaultMinGroupSize;
  std::vector<std::string> steps;
  std::vector<std::string> where;

  Result<bh::FunnelQuery> FunnelQuery() const {
    bh::FunnelQuery q;
    for (const auto& s : steps) q.steps.push_back({s, {}});
    // --where STEP:properties.KEY=VALUE, STEP 1-based.
    for (const auto& w : where) {
      size_t colon = w.find(':');
      size_t equals = w.find('=', colon == std::string::npos ? 0 : colon);
      int step = 0;
      if (colon != std::string::npos)
        step = std::atoi(w.substr(0, colon).c_str());
      if (colon == std::string::npos || equals == std::string::npos || step < 1 ||
          step > static_cast<int>(q.steps.size())) {
        return Error::InvalidField("where", "must be STEP:properties.KEY=VALUE with STEP 1.." +
                                                std::to_string(q.steps.size()));
      }
      q.steps[static_cast<size_t>(step - 1)].where.emplace_back(
          w.substr(colon + 1, equals - colon - 1), w.substr(equals + 1));
    }
    ASSIGN_OR_RETURN(q.window, bh::ParseWindow(window, "window"));
    ASSIGN_OR_RETURN(q.from, OptionalTime(from, "from"));
    ASSIGN_OR_RETURN(q.to, OptionalTime(to, "to"));
    ASSIGN_OR_RETURN(q.as_of, OptionalTime(as_of, "as-of"));
    q.breakdown = breakdown;
    q.min_group_size = min_group_size;
    return q;
  }

  int RunCohorts(bh::BehaviourService& service) {
    bh::CohortQuery q;
    q.months = months;
    if (!from.empty()) {
      auto m = bh::ParseMonth(from, "from");
      if (!m)
        return Fail(m.error());
      q.from = *m;
    }
    if (!to.empty()) {
      auto m = bh::ParseMonth(to, "to");
      if (!m)
        return Fail(m.error());
      q.to = *m;
    }
    auto at = OptionalTime(as_of, "as-of");
    if (!at)
      return Fail(at.error());
    q.as_of = *at;
    auto matrix = service.Cohorts(q);
    if (!matrix)
      return Fail(matrix.error());
    std::printf("%-8s %7s", "cohort", "size");
    for (int k = 0; k < matrix->months; ++k) std::printf(" %6s", ("M" + std::to_string(k)).c_str());
    std::printf("\n");
    for (const auto& row : matrix->cohorts) {
      std::printf("%-8s %7lld", bh::FormatMonth(row.cohort).c_str(),
                  static_cast<long long>(row.size));
      for (double r : row.retention) std::printf(" %5.1f%%", 100 * r);
      std::printf("\n");
    }
    if (matrix->through)
      std::printf("complete months through %s\n", bh::FormatMonth(*matrix->through).c_str());
    return 0;
  }

  int RunFunnel(bh::BehaviourService& service) {
    auto q = FunnelQuery();
    if (!q)
      return Fail(q.error());
    auto result = service.Funnel(*q);
    if (!result)
      return Fail(result.error());
    PrintSteps(result->steps, "");
    for (const auto& row : result->breakdown) {
      std::printf("%s:\n", row.value.c_str());
      PrintSteps(row.steps, "  ");
    }
    return 0;
  }

  int RunPaths(bh::BehaviourService& service) {
    bh::PathsQuery q{
        .from_event = from_event, .to_event = to_event, .max_steps = max_steps, .limit = limit};
    auto w = bh::ParseWindow(window, "window");
    if (!w)
      return Fail(w.error());
    q.window = *w;
    auto at = OptionalTime(as_of, "as-of");
    if (!at)
      return Fail(at.error());
    q.as_of = *at;
    auto result = service.Paths(q);
    if (!result)
      return Fail(result.error());
    std::printf("%lld customers with %s\n", static_cast<long long>(result->total),
                from_event.c_str());
    for (const auto& p : result->paths) {
      std::printf("%8lld  %5.1f%%  ", static_cast<long long>(p.customers), 100 * p.share);
      for (size_t i = 0; i < p.steps.size(); ++i)
        std::printf("%s%s", i == 0 ? "" : " → ", p.steps[i].c_str());
      std::printf("\n");
    }
    return 0;
  }
};

BehaviourCommands::BehaviourCommands(CLI::App& cli, const std::function<void(CLI::App*)>& add_data)
    : impl_(std::make_unique<Impl>()) {
  Impl& i = *impl_;
  i.cohorts = cli.add_subcommand("cohorts",
                                 "cohort retention by first-purchase month (table of retention %)");
  add_data(i.cohorts);
  i.cohorts->add_option("--from", i.from, "first cohort listed, YYYY-MM");
  i.cohorts->add_option("--to", i.to, "last cohort listed, YYYY-MM");
  i.cohorts->add_option("--months", i.months, "periods per cohort")
      ->capture_default_str()
      ->check(CLI::Range(1, 120));
  i.cohorts->add_option("--as-of", i.as_of, "ISO 8601 time: count the complete months before it (default now)");

  i.funnel = cli.add_subcommand(
      "funnel", "ordered funnel over events: customers per step, conversion, median time");
  add_data(i.funnel);
  i.funnel->add_option("--step", i.steps, "event name of a step, in order (2..10 times)")
      ->required();
  i.funnel->add_option("--where", i.where,
                       "STEP:properties.KEY=VALUE property filter of step STEP (1-based)");
  i.funnel->add_option("--window", i.window, "conversion window from step 1: <n>s|m|h|d|w")
      ->capture_default_str();
  i.funnel->add_option("--from", i.from, "ISO 8601: step-1 events at or after");
  i.funnel->add_option("--to", i.to, "ISO 8601: step-1 events before");
  i.funnel->add_option("--breakdown", i.breakdown, "properties.KEY, country, city or gender");
  i.funnel
      ->add_option("--min-group-size", i.min_group_size,
                   "breakdown values with fewer step-1 customers go to (other)")
      ->capture_default_str()
      ->check(CLI::Range(1, bh::kMaxMinGroupSize));
  i.funnel->add_option("--as-of", i.as_of, "ISO 8601 time: ignore later events (default now)");

  i.paths = cli.add_subcommand("paths",
                               "top event paths after an event (to another), share of customers");
  add_data(i.paths);
  i.paths->add_option("--from-event", i.from_event, "event the paths start with")->required();
  i.paths->add_option("--to-event", i.to_event, "event the paths end with (optional)");
  i.paths->add_option("--max-steps", i.max_steps, "events after --from-event")
      ->capture_default_str()
      ->check(CLI::Range(1, 20));
  i.paths->add_option("--limit", i.limit, "paths listed")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  i.paths->add_option("--window", i.window, "from the --from-event occurrence: <n>s|m|h|d|w")
      ->capture_default_str();
  i.paths->add_option("--as-of", i.as_of, "ISO 8601 time: ignore later events (default now)");
}

BehaviourCommands::~BehaviourCommands() = default;

bool BehaviourCommands::parsed() const {
  return impl_->cohorts->parsed() || impl_->funnel->parsed() || impl_->paths->parsed();
}

int BehaviourCommands::Run(const app::RuntimeOptions& options) {
  auto runtime = app::Runtime::Open(options);
  if (!runtime)
    return Fail(runtime.error());
  bh::BehaviourService& service = (*runtime)->behaviour();
  if (impl_->cohorts->parsed())
    return impl_->RunCohorts(service);
  if (impl_->funnel->parsed())
    return impl_->RunFunnel(service);
  return impl_->RunPaths(service);
}

}  // namespace panorama::cli
