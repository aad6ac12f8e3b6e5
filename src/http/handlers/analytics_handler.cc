// /api/v1/rfm and /api/v1/lifecycle (docs/segments.md, docs/api.md "RFM and lifecycle"): RFM summary and
// per-customer scores, the score map, recompute, lifecycle stage counts, month-end history and thresholds.

#include <simdjson.h>

#include <string>

#include "analytics/lifecycle.h"
#include "analytics/rfm_service.h"
#include "http/handlers/analytics_json.h"
#include "http/handlers/handler_util.h"
#include "http/handlers/routes.h"
#include "http/router.h"

namespace panorama::http {
namespace {

using analytics::LifecycleThresholds;
using analytics::RfmSummary;
using analytics::ScoreMap;

// The optional `as_of` query parameter: the instant to compute against (default: the server clock).
Result<std::optional<Timestamp>> AsOf(const Request& request) {
  auto text = request.Query("as_of");
  if (!text) return std::optional<Timestamp>{};
  auto parsed = ParseIso8601(*text);
  if (!parsed) return Error::InvalidField("as_of", "must be an ISO 8601 time such as 2011-12-10T00:00:00Z");
  return std::optional<Timestamp>{*parsed};
}

void WriteCuts(JsonWriter& w, const char* key, const std::array<int64_t, 4>& cuts) {
  w.Key(key).StartArray();
  for (int64_t c : cuts) w.Int64(c);
  w.EndArray();
}

std::string SummaryJson(const RfmSummary& s, const std::string& currency) {
  JsonWriter w;
  w.StartObject().Key("as_of").String(FormatIso8601(s.as_of)).Key("currency").String(currency);
  w.Key("customers").Int64(s.customers).Key("scored").Int64(s.scored);
  w.Key("cuts").StartObject();
  WriteCuts(w, "recency_days", s.cuts.recency_days);
  WriteCuts(w, "frequency", s.cuts.frequency);
  WriteCuts(w, "monetary_minor", s.cuts.monetary_minor);
  w.EndObject();
  w.Key("grid").StartArray();
  for (int r = 1; r <= 5; ++r) {
    for (int f = 1; f <= 5; ++f) {
      const auto& cell = s.grid[(r - 1) * 5 + (f - 1)];
      w.StartObject().Key("r").Int64(r).Key("f").Int64(f).Key("customers").Int64(cell.customers);
      w.Key("revenue_minor").Int64(cell.revenue_minor).EndObject();
    }
  }
  w.EndArray().Key("segments").StartArray();
  for (const auto& seg : s.segments) {
    w.StartObject().Key("name").String(seg.name).Key("customers").Int64(seg.customers);
    w.Key("revenue_minor").Int64(seg.revenue_minor);
    w.Key("share").Double(s.scored > 0 ? static_cast<double>(seg.customers) / static_cast<double>(s.scored) : 0.0);
    w.EndObject();
  }
  w.EndArray().Key("computed_at").String(FormatIso8601(s.computed_at)).EndObject();
  return w.TakeString();
}

std::string ScoreMapJson(const ScoreMap& map) {
  JsonWriter w;
  w.StartObject().Key("rules").StartArray();
  for (const auto& rule : map.rules) {
    w.StartObject().Key("segment").String(rule.segment);
    for (auto [key, range] : {std::pair{"r", rule.r}, std::pair{"f", rule.f}, std::pair{"m", rule.m}}) {
      w.Key(key).StartArray().Int64(range.min).Int64(range.max).EndArray();
    }
    w.EndObject();
  }
  w.EndArray().Key("default_segment").String(map.default_segment).EndObject();
  return w.TakeString();
}

// {"rules": [{"segment", "r": [min, max], "f": …, "m": …}], "default_segment"}; shape errors name the field,
// then ValidateScoreMap checks the ranges and names.
Result<ScoreMap> ParseScoreMap(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::padded_string text(body);
  simdjson::dom::element root;
  if (parser.parse(text).get(root) != simdjson::SUCCESS) return Error::InvalidField("body", "is not valid JSON");
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) return Error::InvalidField("body", "must be a JSON object");
  Error error = Error::InvalidArgument("invalid score map");
  ScoreMap map;
  bool has_rules = false, has_default = false;
  for (auto [key, value] : object) {
    if (key == "default_segment") {
      std::string_view name;
      if (value.get_string().get(name) != simdjson::SUCCESS) {
        error.AddViolation("default_segment", "must be a string");
      } else {
        map.default_segment = std::string(name);
        has_default = true;
      }
    } else if (key == "rules") {
      simdjson::dom::array rules;
      if (value.get_array().get(rules) != simdjson::SUCCESS) {
        error.AddViolation("rules", "must be an array");
        continue;
      }
      has_rules = true;
      size_t i = 0;
      for (simdjson::dom::element item : rules) {
        const std::string prefix = "rules[" + std::to_string(i++) + "].";
        if (i > analytics::kMaxScoreMapRules) {
          error.AddViolation("rules", "at most " + std::to_string(analytics::kMaxScoreMapRules) + " rules");
          break;
        }
        simdjson::dom::object rule_object;
        if (item.get_object().get(rule_object) != simdjson::SUCCESS) {
          error.AddViolation(prefix.substr(0, prefix.size() - 1), "must be an object");
          continue;
        }
        analytics::RfmRule rule;
        bool seen[4] = {false, false, false, false};
        for (auto [rule_key, rule_value] : rule_object) {
          if (rule_key == "segment") {
            std::string_view name;
            if (rule_value.get_string().get(name) != simdjson::SUCCESS) {
              error.AddViolation(prefix + "segment", "must be a string");
            }
            rule.segment = std::string(name);
            seen[0] = true;
            continue;
          }
          analytics::ScoreRange* range = rule_key == "r" ? &rule.r
                                         : rule_key == "f" ? &rule.f
                                         : rule_key == "m" ? &rule.m
                                                           : nullptr;
          if (range == nullptr) {
            error.AddViolation(prefix + std::string(rule_key), "unknown field");
            continue;
          }
          seen[rule_key == "r" ? 1 : rule_key == "f" ? 2 : 3] = true;
          simdjson::dom::array bounds;
          int64_t lo = 0, hi = 0;
          if (rule_value.get_array().get(bounds) != simdjson::SUCCESS || bounds.size() != 2 ||
              bounds.at(0).get_int64().get(lo) != simdjson::SUCCESS ||
              bounds.at(1).get_int64().get(hi) != simdjson::SUCCESS) {
            error.AddViolation(prefix + std::string(rule_key), "must be [min, max] with integer scores 1..5");
            continue;
          }
          range->min = static_cast<int>(std::clamp<int64_t>(lo, -1, 99));
          range->max = static_cast<int>(std::clamp<int64_t>(hi, -1, 99));
        }
        const char* names[4] = {"segment", "r", "f", "m"};
        for (int k = 0; k < 4; ++k) {
          if (!seen[k]) error.AddViolation(prefix + names[k], "is required");
        }
        map.rules.push_back(std::move(rule));
      }
    } else {
      error.AddViolation(std::string(key), "unknown field");
    }
  }
  if (!has_rules) error.AddViolation("rules", "is required");
  if (!has_default) error.AddViolation("default_segment", "is required");
  if (!error.violations().empty()) {
    const auto& first = error.violations().front();
    return Error(ErrorCode::kInvalidArgument, first.field + ": " + first.reason, error.violations());
  }
  RETURN_IF_ERROR(analytics::ValidateScoreMap(map));
  return map;
}

std::string ThresholdsJson(const LifecycleThresholds& t) {
  JsonWriter w;
  w.StartObject().Key("new_days").Int64(t.new_days).Key("active_days").Int64(t.active_days);
  w.Key("loyal_min_orders").Int64(t.loyal_min_orders).Key("churned_days").Int64(t.churned_days).EndObject();
  return w.TakeString();
}

Response GetRfm(ApiServices& s, Request& request) {
  auto as_of = AsOf(request);
  if (!as_of) return Response::Problem(as_of.error());
  return Response::Json(200, SummaryJson(s.rfm->Summary(*as_of), s.rates.base()));
}

Response RecomputeRfm(ApiServices& s, Request& request) {
  auto as_of = AsOf(request);
  if (!as_of) return Response::Problem(as_of.error());
  return Response::Json(200, SummaryJson(s.rfm->Recompute(*as_of), s.rates.base()));
}

Response GetCustomerRfm(ApiServices& s, Request& request, const security::Principal& who) {
  auto as_of = AsOf(request);
  if (!as_of) return Response::Problem(as_of.error());
  auto id = PathCustomerId(request);
  if (!id) return Response::Problem(id.error());
  auto customer = GetCustomerFor(s, who, *id);
  if (!customer) return Response::Problem(customer.error());
  JsonWriter w;
  WriteCustomerRfm(w, s, customer->merged_into.value_or(customer->id), *as_of);
  return Response::Json(200, w.TakeString());
}

Response GetScoreMap(ApiServices& s, Request&) { return Response::Json(200, ScoreMapJson(s.rfm->score_map())); }

Response PutScoreMap(ApiServices& s, Request& request, const security::Principal& who) {
  auto map = ParseScoreMap(request.body);
  if (!map) return Response::Problem(map.error());
  auto stored = s.rfm->PutScoreMap(*map, ActorOf(request, who).actor);
  if (!stored) return Response::Problem(stored.error());
  return Response::Json(200, ScoreMapJson(*stored));
}

Response GetLifecycle(ApiServices& s, Request& request) {
  auto as_of = AsOf(request);
  if (!as_of) return Response::Problem(as_of.error());
  const Timestamp at = as_of->value_or(s.clock.Now());
  analytics::StageCounts counts = s.lifecycle->Counts(at);
  JsonWriter w;
  w.StartObject().Key("as_of").String(FormatIso8601(at)).Key("stages").StartArray();
  for (int k = 0; k < analytics::kStageCount; ++k) {
    w.StartObject().Key("stage").String(analytics::StageName(static_cast<analytics::Stage>(k)));
    w.Key("customers").Int64(counts.counts[k]).EndObject();
  }
  w.EndArray().Key("thresholds").RawJson(ThresholdsJson(s.lifecycle->thresholds())).EndObject();
  return Response::Json(200, w.TakeString());
}

Response GetLifecycleHistory(ApiServices& s, Request& request) {
  const Timestamp now = s.clock.Now();
  const auto today = std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(now));
  analytics::YearMonth to{static_cast<int>(today.year()), static_cast<int>(static_cast<unsigned>(today.month()))};
  if (auto text = request.Query("to")) {
    auto parsed = analytics::YearMonth::Parse(*text, "to");
    if (!parsed) return Response::Problem(parsed.error());
    to = *parsed;
  }
  int from_index = to.Index() - 11;
  analytics::YearMonth from{from_index / 12, from_index % 12 + 1};
  if (auto text = request.Query("from")) {
    auto parsed = analytics::YearMonth::Parse(*text, "from");
    if (!parsed) return Response::Problem(parsed.error());
    from = *parsed;
  }
  auto points = s.lifecycle->History(from, to);
  if (!points) return Response::Problem(points.error());
  JsonWriter w;
  w.StartObject().Key("points").StartArray();
  for (const auto& p : *points) {
    w.StartObject().Key("month").String(p.month).Key("at").String(FormatIso8601(p.at)).Key("counts").StartObject();
    for (int k = 0; k < analytics::kStageCount; ++k) {
      w.Key(analytics::StageName(static_cast<analytics::Stage>(k))).Int64(p.counts.counts[k]);
    }
    w.EndObject().EndObject();
  }
  w.EndArray().EndObject();
  return Response::Json(200, w.TakeString());
}

Response GetThresholds(ApiServices& s, Request&) {
  return Response::Json(200, ThresholdsJson(s.lifecycle->thresholds()));
}

Response PutThresholds(ApiServices& s, Request& request, const security::Principal& who) {
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"new_days", "active_days", "loyal_min_orders", "churned_days"});
  LifecycleThresholds t;
  auto days = [&](const char* key, int& target) {
    if (auto v = body->Int(key, 1, 3650, true)) target = static_cast<int>(*v);
  };
  days("new_days", t.new_days);
  days("active_days", t.active_days);
  days("churned_days", t.churned_days);
  if (auto v = body->Int("loyal_min_orders", 2, 1000, true)) t.loyal_min_orders = static_cast<int>(*v);
  if (!body->ok()) return Response::Problem(body->TakeError());
  auto stored = s.lifecycle->PutThresholds(t, ActorOf(request, who).actor);
  if (!stored) return Response::Problem(stored.error());
  return Response::Json(200, ThresholdsJson(*stored));
}

}  // namespace

void WriteCustomerRfm(JsonWriter& w, ApiServices& s, CustomerId id, std::optional<Timestamp> as_of,
                      bool null_when_unscored) {
  auto rfm = s.rfm->Get(id, as_of);
  if (!rfm && null_when_unscored) {
    w.Null();
    return;
  }
  w.StartObject().Key("customer_id").Int64(id.value());
  if (rfm) {
    w.Key("recency_days").Int64(rfm->recency_days).Key("frequency").Int64(rfm->frequency);
    w.Key("monetary_minor").Int64(rfm->monetary_minor).Key("currency").String(s.rates.base());
    w.Key("r").Int64(rfm->r).Key("f").Int64(rfm->f).Key("m").Int64(rfm->m);
    w.Key("score").String(rfm->Score()).Key("segment").String(rfm->segment);
  } else {
    w.Key("recency_days").Null().Key("frequency").Int64(0).Key("monetary_minor").Int64(0);
    w.Key("currency").String(s.rates.base());
    w.Key("r").Null().Key("f").Null().Key("m").Null().Key("score").Null().Key("segment").Null();
  }
  w.EndObject();
}

void WriteCustomerLifecycle(JsonWriter& w, ApiServices& s, CustomerId id, std::optional<Timestamp> as_of) {
  auto stage = s.lifecycle->Get(id, as_of).value_or(analytics::CustomerLifecycle{});
  w.StartObject().Key("stage").String(analytics::StageName(stage.stage)).Key("since");
  WriteOptionalTime(w, stage.since);
  w.EndObject();
}

void RegisterAnalyticsRoutes(Router& router, ApiServices& s) {
  if (s.rfm == nullptr || s.lifecycle == nullptr) return;
  router.Add(Method::kGet, "/api/v1/rfm", Read(s, Permission::kAnalyticsRead, GetRfm));
  router.Add(Method::kGet, "/api/v1/customers/{id}/rfm", Read(s, Permission::kAnalyticsRead, GetCustomerRfm));
  router.Add(Method::kGet, "/api/v1/rfm/score-map", Read(s, Permission::kAnalyticsRead, GetScoreMap));
  router.Add(Method::kPut, "/api/v1/rfm/score-map", Write(s, Permission::kSegmentsManage, PutScoreMap));
  router.Add(Method::kPost, "/api/v1/rfm/recompute", Write(s, Permission::kSegmentsManage, RecomputeRfm));
  router.Add(Method::kGet, "/api/v1/lifecycle", Read(s, Permission::kAnalyticsRead, GetLifecycle));
  router.Add(Method::kGet, "/api/v1/lifecycle/history", Read(s, Permission::kAnalyticsRead, GetLifecycleHistory));
  router.Add(Method::kGet, "/api/v1/lifecycle/thresholds", Read(s, Permission::kAnalyticsRead, GetThresholds));
  router.Add(Method::kPut, "/api/v1/lifecycle/thresholds", Write(s, Permission::kSegmentsManage, PutThresholds));
}

}  // namespace panorama::http
