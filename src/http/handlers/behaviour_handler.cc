// /api/v1/analytics/cohorts, /funnel and /paths: behaviour analytics (docs/segments.md), aggregates
// only.

#include <simdjson.h>

#include <charconv>

#include "analytics/behaviour/behaviour_service.h"
#include "http/handlers/handler_util.h"
#include "http/handlers/routes.h"
#include "http/router.h"
#include "security/access/masking.h"

namespace panorama::http {
namespace {

namespace bh = behaviour;

Result<std::optional<Timestamp>> TimeParam(const Request& request, const char* name) {
  auto value = request.Query(name);
  if (!value || value->empty())
    return std::optional<Timestamp>();
  auto at = ParseIso8601(*value);
  if (!at)
    return Error::InvalidField(name, "must be an ISO 8601 time");
  return std::optional<Timestamp>(*at);
}

Result<std::optional<int>> IntParam(const Request& request, const char* name, int min, int max) {
  auto value = request.Query(name);
  if (!value || value->empty())
    return std::optional<int>();
  int n = 0;
  auto parsed = std::from_chars(value->data(), value->data() + value->size(), n);
  if (parsed.ec != std::errc() || parsed.ptr != value->data() + value->size() || n < min ||
      n > max) {
    return Error::InvalidField(
        name, "must be an integer between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return std::optional<int>(n);
}

Response Cohorts(ApiServices& s, Request& request) {
  bh::CohortQuery query;
  for (auto [name, into] : {std::pair{"from", &query.from}, std::pair{"to", &query.to}}) {
    if (auto value = request.Query(name); value && !value->empty()) {
      auto month = bh::ParseMonth(*value, name);
      if (!month)
        return Response::Problem(month.error());
      *into = *month;
    }
  }
  auto months = IntParam(request, "months", 1, bh::kMaxCohortMonths);
  if (!months)
    return Response::Problem(months.error());
  query.months = months->value_or(12);
  auto as_of = TimeParam(request, "as_of");
  if (!as_of)
    return Response::Problem(as_of.error());
  query.as_of = *as_of;
  auto matrix = s.behaviour->Cohorts(query);
  if (!matrix)
    return Response::Problem(matrix.error());
  JsonWriter w;
  w.StartObject().Key("as_of").String(FormatIso8601(query.as_of.value_or(s.clock.Now())));
  w.Key("cohorts").StartArray();
  for (const auto& row : matrix->cohorts) {
    w.StartObject().Key("cohort").String(bh::FormatMonth(row.cohort)).Key("size").Int64(row.size);
    w.Key("active").StartArray();
    for (int64_t a : row.active) w.Int64(a);
    w.EndArray().Key("retention").StartArray();
    for (double r : row.retention) w.Double(r);
    w.EndArray().EndObject();
  }
  w.EndArray().Key("months").Int64(matrix->months);
  // The last complete month counted: the month holding as_of is left out (docs/segments.md).
  w.Key("through").String(matrix->through ? bh::FormatMonth(*matrix->through) : "").EndObject();
  return Response::Json(200, w.TakeString());
}

void WriteSteps(JsonWriter& w, const std::vector<bh::FunnelStepResult>& steps) {
  w.StartArray();
  for (const auto& step : steps) {
    w.StartObject().Key("event").String(step.event).Key("customers").Int64(step.customers);
    w.Key("conversion_from_start").Double(step.conversion_from_start);
    w.Key("conversion_from_previous").Double(step.conversion_from_previous);
    w.Key("median_seconds_from_previous");
    if (step.median_seconds_from_previous) {
      w.Double(*step.median_seconds_from_previous);
    } else {
      w.Null();
    }
    w.EndObject();
  }
  w.EndArray();
}

// "where": {"properties.<path>": string | number | boolean}; numbers compare as written, booleans
// as 1/0 (how the store renders them).
void ReadWhere(JsonBody& step, std::vector<std::pair<std::string, std::string>>& out) {
  if (!step.Has("where") || step.IsNull("where"))
    return;
  auto text = step.Object("where");
  if (!text) {
    step.Reject("where", "must be an object of property filters");
    return;
  }
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(*text).get_object().get(object) != simdjson::SUCCESS) {
    step.Reject("where", "must be an object of property filters");
    return;
  }
  for (auto [key, value] : object) {
    std::string name(key);
    std::string_view s;
    bool b = false;
    if (value.get_string().get(s) == simdjson::SUCCESS) {
      out.emplace_back(name, std::string(s));
    } else if (value.get_bool().get(b) == simdjson::SUCCESS) {
      out.emplace_back(name, b ? "1" : "0");
    } else if (value.is_number()) {
      out.emplace_back(name, simdjson::minify(value));
    } else {
      step.Reject("where", "values must be strings, numbers or booleans (" + name + ")");
    }
  }
}

Response Funnel(ApiServices& s, Request& request, const security::Principal& who) {
  auto body = JsonBody::Parse(request.body);
  if (!body)
    return Response::Problem(body.error());
  body->AllowOnly({"steps", "window", "from", "to", "breakdown", "min_group_size", "as_of"});
  bh::FunnelQuery query;
  body->Objects("steps", bh::kMaxFunnelSteps, true, [&](JsonBody& step, const std::string&) {
    step.AllowOnly({"event", "where"});
    bh::FunnelStepSpec spec;
    spec.event = step.String("event", 200, true).value_or("");
    ReadWhere(step, spec.where);
    query.steps.push_back(std::move(spec));
  });
  if (auto window = body->String("window", 16)) {
    auto parsed = bh::ParseWindow(*window, "window");
    if (parsed) {
      query.window = *parsed;
    } else {
      body->Reject("window", parsed.error().violations().front().reason);
    }
  }
  for (auto [name, into] : {std::pair{"from", &query.from}, std::pair{"to", &query.to},
                            std::pair{"as_of", &query.as_of}}) {
    if (auto value = body->String(name, 64)) {
      auto at = ParseIso8601(*value);
      if (at) {
        *into = *at;
      } else {
        body->Reject(name, "must be an ISO 8601 time");
      }
    }
  }
  query.breakdown = body->String("breakdown", 200).value_or("");
  query.min_group_size = static_cast<int>(
      body->Int("min_group_size", 1, bh::kMaxMinGroupSize).value_or(bh::kDefaultMinGroupSize));
  if (!body->ok())
    return Response::Problem(body->TakeError());
  // S3: a breakdown by a profile field the caller sees masked (city, gender) would list its values:
  // 403 naming the field. Event properties are not classified (docs/security.md).
  if (const auto* source = security::access::SourceCustomerField(query.breakdown);
      source != nullptr && !security::access::CanRead(who.permissions, source->data_class)) {
    std::string reason = "uses " + query.breakdown + " (" +
                         std::string(security::access::DataClassName(source->data_class)) +
                         " data), which this role may not read";
    return Response::Problem(
        Error(ErrorCode::kPermissionDenied, "breakdown " + reason, {{"breakdown", reason}}));
  }
  auto result = s.behaviour->Funnel(query);
  if (!result)
    return Response::Problem(result.error());
  JsonWriter w;
  w.StartObject().Key("steps");
  WriteSteps(w, result->steps);
  w.Key("breakdown").StartArray();  // empty without a breakdown
  for (const auto& row : result->breakdown) {
    w.StartObject().Key("value").String(row.value).Key("steps");
    WriteSteps(w, row.steps);
    w.EndObject();
  }
  w.EndArray().EndObject();
  return Response::Json(200, w.TakeString());
}

Response Paths(ApiServices& s, Request& request) {
  bh::PathsQuery query;
  query.from_event = std::string(request.Query("from_event").value_or(""));
  query.to_event = std::string(request.Query("to_event").value_or(""));
  auto max_steps = IntParam(request, "max_steps", 1, bh::kMaxPathSteps);
  if (!max_steps)
    return Response::Problem(max_steps.error());
  query.max_steps = max_steps->value_or(5);
  auto limit = IntParam(request, "limit", 1, bh::kMaxPathLimit);
  if (!limit)
    return Response::Problem(limit.error());
  query.limit = limit->value_or(10);
  if (auto window = request.Query("window"); window && !window->empty()) {
    auto parsed = bh::ParseWindow(*window, "window");
    if (!parsed)
      return Response::Problem(parsed.error());
    query.window = *parsed;
  }
  auto from = TimeParam(request, "from");
  if (!from)
    return Response::Problem(from.error());
  query.from = *from;
  auto as_of = TimeParam(request, "as_of");
  if (!as_of)
    return Response::Problem(as_of.error());
  query.as_of = *as_of;
  auto result = s.behaviour->Paths(query);
  if (!result)
    return Response::Problem(result.error());
  JsonWriter w;
  w.StartObject().Key("paths").StartArray();
  for (const auto& path : result->paths) {
    w.StartObject().Key("steps").StartArray();
    for (const auto& step : path.steps) w.String(step);
    w.EndArray().Key("customers").Int64(path.customers).Key("share").Double(path.share).EndObject();
  }
  w.EndArray().Key("total").Int64(result->total).EndObject();
  return Response::Json(200, w.TakeString());
}

}  // namespace

void RegisterBehaviourRoutes(Router& router, ApiServices& s) {
  if (s.behaviour == nullptr)
    return;
  router.Add(Method::kGet, "/api/v1/analytics/cohorts",
             Read(s, Permission::kAnalyticsRead, Cohorts));
  router.Add(Method::kPost, "/api/v1/analytics/funnel",
             Read(s, Permission::kAnalyticsRead, Funnel));
  router.Add(Method::kGet, "/api/v1/analytics/paths", Read(s, Permission::kAnalyticsRead, Paths));
}

}  // namespace panorama::http
