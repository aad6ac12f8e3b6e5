// /api/v1/segments: saved segments (CRUD, preview, fields, members, export, combine, overlap, the entered/exited
// feed) and /api/v1/customers/{id}/segments. Registered only when services.segments is set.

#include <simdjson.h>

#include <charconv>

#include "http/handlers/handler_util.h"
#include "http/handlers/routes.h"
#include "http/router.h"
#include "ingest/csv.h"
#include "security/access/masking.h"
#include "segments/service/rule_engine.h"
#include "segments/service/segment_service.h"
#include "segments/service/xlsx_table.h"
#include "storage/store.h"

namespace panorama::http {
namespace {

using segments::RuleDiagnostic;
using segments::SegmentService;

constexpr size_t kMaxRuleBytes = 10 * 1024;

std::string ActorName(const security::Principal& p) {
  if (p.user) return "user:" + p.user->ToString();
  if (p.key) return "key:" + p.key->ToString();
  return "unknown";
}

void WriteSegment(JsonWriter& w, const storage::SegmentRecord& s) {
  w.StartObject().Key("id").Int64(s.id.value()).Key("name").String(s.name).Key("description").String(s.description);
  w.Key("rule").String(s.rule).Key("size").Int64(s.size);
  w.Key("created_at").String(FormatIso8601(s.created_at)).Key("updated_at").String(FormatIso8601(s.updated_at));
  w.Key("evaluated_at");
  WriteOptionalTime(w, s.evaluated_at);
  w.Key("created_by").String(s.created_by).EndObject();
}

std::string SegmentJson(const storage::SegmentRecord& s) {
  JsonWriter w;
  WriteSegment(w, s);
  return w.TakeString();
}

// A rule error: problem+json whose error object carries the line and column (1-based) and a message that
// starts with "line:column: ", as the builder highlights the place.
Response RuleProblem(const Error& error, const RuleDiagnostic& where) {
  if (where.line <= 0 || error.code() != ErrorCode::kInvalidArgument) return Response::Problem(error);
  std::string message = std::to_string(where.line) + ":" + std::to_string(where.column) + ": " + where.message;
  JsonWriter w;
  w.StartObject().Key("type").String("about:blank").Key("title").String(StatusReason(400)).Key("status").Int64(400);
  w.Key("detail").String("rule: " + message).Key("code").String(ErrorCodeName(error.code()));
  w.Key("errors").StartArray().StartObject().Key("field").String("rule").Key("reason").String(message);
  w.Key("message").String(message).Key("line").Int64(where.line).Key("column").Int64(where.column);
  w.EndObject().EndArray().EndObject();
  Response r;
  r.status = 400;
  r.content_type = "application/problem+json";
  r.body = w.TakeString();
  return r;
}

// S3: a rule over a field the caller sees masked would reveal it one count at a time (`city = "上海"`,
// `birthday within next 7d`, `age = 34`): 403 naming the field, before anything is evaluated or stored. A
// rule that does not compile is the usual 400 with line and column. References to saved segments are
// allowed: their size and (masked) members are visible to the caller anyway (docs/security.md).
std::optional<Response> CheckRuleFields(ApiServices& s, std::string_view rule, const security::Principal& who) {
  RuleDiagnostic where;
  auto fields = s.segments->RuleFields(rule, &where);
  if (!fields) return RuleProblem(fields.error(), where);
  for (const std::string& field : *fields) {
    const security::access::FieldRule* source = security::access::SourceCustomerField(field);
    if (source == nullptr || security::access::CanRead(who.permissions, source->data_class)) continue;
    std::string data_class(security::access::DataClassName(source->data_class));
    std::string reason = field == source->field
                             ? "is " + data_class + " data, which this role may not read"
                             : "reads " + std::string(source->field) + " (" + data_class +
                                   " data), which this role may not read";
    return Response::Problem(
        Error(ErrorCode::kPermissionDenied, "rule: field " + field + " " + reason, {{field, reason}}));
  }
  return std::nullopt;
}

Result<SegmentId> PathSegmentId(const Request& request) {
  std::string_view text = request.PathParam("id");
  int64_t id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || ptr != text.data() + text.size() || id <= 0) {
    return Error::InvalidField("id", "must be a positive integer segment id");
  }
  return SegmentId(id);
}

Response ListSegments(ApiServices& s, Request& request) {
  auto page = ReadPageParams(request, 50, 500);
  if (!page) return Response::Problem(page.error());
  std::vector<storage::SegmentRecord> out;
  bool more = false;
  for (auto& segment : s.segments->List()) {
    if (segment.id.value() <= page->after_id) continue;
    if (static_cast<int>(out.size()) == page->limit) {
      more = true;
      break;
    }
    out.push_back(std::move(segment));
  }
  return Response::Json(200, PageJson(out, more, out.empty() ? "" : out.back().id.ToString(), WriteSegment));
}

Response CreateSegment(ApiServices& s, Request& request, const security::Principal& who) {
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"name", "description", "rule"});
  segments::SegmentInput input;
  input.name = body->String("name", 400, true).value_or("");
  input.description = body->String("description", 2000).value_or("");
  input.rule = body->String("rule", kMaxRuleBytes, true).value_or("");
  input.actor = ActorName(who);
  if (!body->ok()) return Response::Problem(body->TakeError());
  if (auto refused = CheckRuleFields(s, input.rule, who)) return std::move(*refused);
  RuleDiagnostic where;
  auto created = s.segments->Create(input, &where);
  if (!created) return RuleProblem(created.error(), where);
  return Response::Json(201, SegmentJson(*created));
}

Response GetSegment(ApiServices& s, Request& request) {
  auto id = PathSegmentId(request);
  if (!id) return Response::Problem(id.error());
  auto segment = s.segments->Get(*id);
  if (!segment) return Response::Problem(segment.error());
  return Response::Json(200, SegmentJson(*segment));
}

Response PatchSegment(ApiServices& s, Request& request, const security::Principal& who) {
  auto id = PathSegmentId(request);
  if (!id) return Response::Problem(id.error());
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"name", "description", "rule"});
  segments::SegmentPatch patch;
  if (body->Has("name")) patch.name = body->String("name", 400, true);
  // An empty description clears it (as creating without one does); name and rule may not be empty.
  if (body->Has("description")) patch.description = body->String("description", 2000).value_or("");
  if (body->Has("rule")) patch.rule = body->String("rule", kMaxRuleBytes, true);
  if (!body->ok()) return Response::Problem(body->TakeError());
  // Only a new rule is checked: renaming or describing a segment whose stored rule uses a field the caller
  // cannot read reveals nothing (the caller sees its rule text and size already).
  if (patch.rule) {
    if (auto refused = CheckRuleFields(s, *patch.rule, who)) return std::move(*refused);
  }
  RuleDiagnostic where;
  auto updated = s.segments->Update(*id, patch, &where);
  if (!updated) return RuleProblem(updated.error(), where);
  return Response::Json(200, SegmentJson(*updated));
}

Response DeleteSegment(ApiServices& s, Request& request) {
  auto id = PathSegmentId(request);
  if (!id) return Response::Problem(id.error());
  if (auto deleted = s.segments->Delete(*id); !deleted) return Response::Problem(deleted.error());
  return Response::NoContent();
}

void WriteSample(JsonWriter& w, const segments::AudienceSample& sample) {
  w.Key("size").Int64(sample.size).Key("elapsed_ms").Int64(sample.elapsed_ms).Key("sample").StartArray();
  for (CustomerId id : sample.sample) w.Int64(id.value());
  w.EndArray();
}

Response PreviewSegment(ApiServices& s, Request& request, const security::Principal& who) {
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  body->AllowOnly({"rule"});
  std::string rule = body->String("rule", kMaxRuleBytes, true).value_or("");
  if (!body->ok()) return Response::Problem(body->TakeError());
  if (auto refused = CheckRuleFields(s, rule, who)) return std::move(*refused);
  RuleDiagnostic where;
  auto preview = s.segments->Preview(rule, &where);
  if (!preview) return RuleProblem(preview.error(), where);
  JsonWriter w;
  w.StartObject().Key("valid").Bool(true);
  WriteSample(w, *preview);
  w.EndObject();
  return Response::Json(200, w.TakeString());
}

Response SegmentFields(ApiServices& s, Request&, const security::Principal& who) {
  segments::BuilderCatalogue catalogue = s.segments->Fields();
  JsonWriter w;
  w.StartObject().Key("fields").StartArray();
  for (const auto& f : catalogue.fields) {
    w.StartObject().Key("name").String(f.name).Key("type").String(f.type).Key("description").String(f.description);
    // The known values of a field the caller may not read (the cities customers live in) are left out.
    const security::access::FieldRule* source = security::access::SourceCustomerField(f.name);
    bool readable = source == nullptr || security::access::CanRead(who.permissions, source->data_class);
    if (!f.values.empty() && readable) {
      w.Key("values").StartArray();
      for (const auto& v : f.values) w.String(v);
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndArray().Key("events").StartArray();
  for (const auto& e : catalogue.events) w.String(e);
  w.EndArray().EndObject();
  return Response::Json(200, w.TakeString());
}

// The member columns of lists and exports, masked for the caller as the customer API masks them.
struct MemberRow {
  int64_t id = 0;
  std::optional<std::string> name, email, city;
  std::string country;
};

MemberRow MaskedMember(storage::CustomerRecord c, const security::access::PermissionSet& permissions) {
  std::vector<std::string> masked = security::access::MaskCustomer(c, permissions);
  auto shown = [&](const char* key, std::string value) -> std::optional<std::string> {
    const auto* rule = security::access::FindCustomerField(key);
    bool hidden = rule != nullptr && rule->when_masked == security::access::MaskStyle::kHide &&
                  std::find(masked.begin(), masked.end(), key) != masked.end();
    if (hidden) return std::nullopt;
    return value;
  };
  return {c.id.value(), shown("name", c.name), shown("email", c.email), shown("city", c.city), c.country};
}

// Members the caller may see, after `after`, up to `limit`. Out-of-scope and vanished customers are skipped;
// at most 20 × limit ids are looked at per page so a sparse scope cannot make one request scan everything
// (the cursor then moves past what was looked at).
Result<std::vector<MemberRow>> VisibleMembers(ApiServices& s, const security::Principal& who, SegmentId id,
                                              int64_t after, size_t limit, bool* more, int64_t* last_seen) {
  std::vector<MemberRow> out;
  *more = false;
  *last_seen = after;
  size_t budget = std::max<size_t>(limit * 20, 1000);
  while (out.size() < limit && budget > 0) {
    bool has_more = false;
    ASSIGN_OR_RETURN(auto ids, s.segments->Members(id, CustomerId(*last_seen), std::min(limit - out.size(), budget),
                                                   &has_more));
    budget -= std::min(budget, ids.size());
    for (CustomerId customer : ids) {
      *last_seen = customer.value();
      auto record = GetCustomerFor(s, who, customer);
      if (!record) {
        if (record.error().code() == ErrorCode::kNotFound) continue;
        return std::move(record.error());
      }
      out.push_back(MaskedMember(std::move(*record), who.permissions));
    }
    *more = has_more;
    if (!has_more) break;
  }
  return out;
}

void WriteOptionalString(JsonWriter& w, const std::optional<std::string>& value) {
  if (value) {
    w.String(*value);
  } else {
    w.Null();
  }
}

Response SegmentMembers(ApiServices& s, Request& request, const security::Principal& who) {
  auto id = PathSegmentId(request);
  if (!id) return Response::Problem(id.error());
  auto page = ReadPageParams(request, 50, 500);
  if (!page) return Response::Problem(page.error());
  bool more = false;
  int64_t last = 0;
  auto rows = VisibleMembers(s, who, *id, page->after_id, static_cast<size_t>(page->limit), &more, &last);
  if (!rows) return Response::Problem(rows.error());
  std::vector<std::string> ids;
  for (const auto& r : *rows) ids.push_back(std::to_string(r.id));
  RecordRead(s, "segment.members", "segment", id->ToString(), std::move(ids));
  return Response::Json(200, PageJson(*rows, more, std::to_string(last), [](JsonWriter& w, const MemberRow& r) {
    w.StartObject().Key("id").Int64(r.id).Key("name");
    WriteOptionalString(w, r.name);
    w.Key("email");
    WriteOptionalString(w, r.email);
    w.Key("country").String(r.country).Key("city");
    WriteOptionalString(w, r.city);
    w.EndObject();
  }));
}

Response ExportSegment(ApiServices& s, Request& request, const security::Principal& who) {
  auto id = PathSegmentId(request);
  if (!id) return Response::Problem(id.error());
  std::string format = std::string(request.Query("format").value_or("csv"));
  if (format != "csv" && format != "xlsx") return Response::Problem(Error::InvalidField("format", "must be csv or xlsx"));
  auto segment = s.segments->Get(*id);
  if (!segment) return Response::Problem(segment.error());
  std::vector<std::vector<std::string>> rows;
  int64_t after = 0;
  while (true) {
    bool more = false;
    int64_t last = after;
    auto page = VisibleMembers(s, who, *id, after, 1000, &more, &last);
    if (!page) return Response::Problem(page.error());
    for (auto& r : *page) {
      rows.push_back({std::to_string(r.id), r.name.value_or(""), r.email.value_or(""), r.country, r.city.value_or("")});
    }
    if (!more || last == after) break;
    after = last;
  }
  RecordRead(s, "export.segment", "segment", id->ToString());
  const std::vector<std::string> header = {"id", "name", "email", "country", "city"};
  std::string filename = "segment-" + id->ToString() + "." + format;
  Response response;
  response.status = 200;
  if (format == "csv") {
    std::string csv = "\xEF\xBB\xBF";  // BOM: Excel reads UTF-8 (Chinese names) correctly
    auto line = [&](const std::vector<std::string>& cells) {
      for (size_t i = 0; i < cells.size(); ++i) csv += (i ? "," : "") + ingest::EscapeCsvCell(cells[i]);
      csv += "\r\n";
    };
    line(header);
    for (const auto& r : rows) line(r);
    response.content_type = "text/csv; charset=utf-8";
    response.body = std::move(csv);
  } else {
    auto xlsx = segments::XlsxTable("members", header, rows);
    if (!xlsx) return Response::Problem(xlsx.error());
    response.content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    response.body = std::move(*xlsx);
  }
  response.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + filename + "\"");
  return response;
}

Result<segments::CombineOp> ParseOp(std::string_view op) {
  if (op == "and") return segments::CombineOp::kAnd;
  if (op == "or") return segments::CombineOp::kOr;
  if (op == "minus") return segments::CombineOp::kMinus;
  return Error::InvalidField("op", "must be and, or or minus");
}

Response CombineSegments(ApiServices& s, Request& request, const security::Principal& who) {
  simdjson::dom::parser parser;
  simdjson::padded_string text(request.body);
  simdjson::dom::object root;
  if (parser.parse(text).get(root)) return Response::Problem(Error::InvalidField("body", "must be a JSON object"));
  std::vector<FieldViolation> violations;
  std::string_view op_text;
  std::optional<segments::CombineOp> op;
  if (root["op"].get(op_text)) {
    violations.push_back({"op", "is required: and, or or minus"});
  } else if (auto parsed = ParseOp(op_text); parsed) {
    op = *parsed;
  } else {
    violations.push_back({"op", "must be and, or or minus"});
  }
  std::vector<SegmentId> ids;
  simdjson::dom::array list;
  if (root["segments"].get(list)) {
    violations.push_back({"segments", "is required: a list of 2..20 segment ids"});
  } else {
    for (auto element : list) {
      int64_t v = 0;
      if (element.get(v) || v <= 0) {
        violations.push_back({"segments", "must hold positive integer segment ids"});
        break;
      }
      ids.emplace_back(v);
    }
    if (ids.size() < 2 || ids.size() > 20) violations.push_back({"segments", "must list 2..20 segment ids"});
  }
  std::optional<std::string> save_as;
  if (auto member = root["save_as"]; member.error() == simdjson::SUCCESS) {
    std::string_view name;
    if (member.get(name)) {
      violations.push_back({"save_as", "must be a string"});
    } else {
      save_as = std::string(name);
    }
  }
  for (auto field : root) {
    if (field.key != "op" && field.key != "segments" && field.key != "save_as") {
      violations.push_back({std::string(field.key), "is not a known field"});
    }
  }
  if (!violations.empty()) {
    Error error = Error::InvalidArgument("invalid combine request");
    for (auto& v : violations) error.AddViolation(std::move(v.field), std::move(v.reason));
    return Response::Problem(error);
  }
  if (save_as) {
    if (!who.Can(Permission::kSegmentsManage) || !who.CanWrite()) {
      return Response::Problem(Error::PermissionDenied("save_as needs the segments.manage permission"));
    }
    auto rule = s.segments->CombinedRule(*op, ids);
    if (!rule) return Response::Problem(rule.error());
    RuleDiagnostic where;
    auto created = s.segments->Create({*save_as, "", *rule, ActorName(who)}, &where);
    if (!created) {
      // The name is the caller's input here; the rule was built by us.
      if (created.error().code() == ErrorCode::kInvalidArgument) {
        Error error = Error::InvalidArgument(created.error().message());
        for (const auto& v : created.error().violations()) {
          error.AddViolation(v.field == "name" ? "save_as" : v.field, v.reason);
        }
        return Response::Problem(error);
      }
      return Response::Problem(created.error());
    }
    return Response::Json(201, SegmentJson(*created));
  }
  auto combined = s.segments->Combine(*op, ids);
  if (!combined) return Response::Problem(combined.error());
  JsonWriter w;
  w.StartObject();
  WriteSample(w, *combined);
  w.EndObject();
  return Response::Json(200, w.TakeString());
}

Response OverlapSegments(ApiServices& s, Request& request) {
  std::string_view text = request.Query("ids").value_or("");
  std::vector<SegmentId> ids;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (ec != std::errc() || ptr != part.data() + part.size() || v <= 0) {
      return Response::Problem(Error::InvalidField("ids", "must be a comma-separated list of segment ids"));
    }
    ids.emplace_back(v);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) return Response::Problem(Error::InvalidField("ids", "must not end with a comma"));
  }
  auto matrix = s.segments->Overlap(ids);
  if (!matrix) return Response::Problem(matrix.error());
  JsonWriter w;
  w.StartObject().Key("segments").StartArray();
  for (SegmentId id : ids) {
    auto segment = s.segments->Get(id);
    if (!segment) return Response::Problem(segment.error());
    w.StartObject().Key("id").Int64(id.value()).Key("name").String(segment->name).Key("size").Int64(segment->size);
    w.EndObject();
  }
  w.EndArray().Key("matrix").StartArray();
  for (const auto& row : *matrix) {
    w.StartArray();
    for (int64_t n : row) w.Int64(n);
    w.EndArray();
  }
  w.EndArray().EndObject();
  return Response::Json(200, w.TakeString());
}

Response SegmentEvents(ApiServices& s, Request& request) {
  auto id = PathSegmentId(request);
  if (!id) return Response::Problem(id.error());
  auto page = ReadPageParams(request, 50, 500);
  if (!page) return Response::Problem(page.error());
  auto events = s.segments->Events(*id, page->after_id, page->limit + 1);
  if (!events) return Response::Problem(events.error());
  bool more = static_cast<int>(events->size()) > page->limit;
  if (more) events->resize(static_cast<size_t>(page->limit));
  std::string cursor = events->empty() ? "" : std::to_string(events->back().id);
  return Response::Json(200, PageJson(*events, more, cursor, [](JsonWriter& w, const storage::SegmentEventRecord& e) {
    w.StartObject().Key("id").Int64(e.id).Key("customer_id").Int64(e.customer.value()).Key("kind").String(e.kind);
    w.Key("at").String(FormatIso8601(e.at)).EndObject();
  }));
}

Response EvaluateSegments(ApiServices& s, Request&) {
  auto report = s.segments->EvaluateAll();
  if (!report) return Response::Problem(report.error());
  JsonWriter w;
  w.StartObject().Key("segments").Int64(report->segments).Key("entered").Int64(report->entered);
  w.Key("exited").Int64(report->exited).Key("elapsed_ms").Int64(report->elapsed_ms).EndObject();
  return Response::Json(200, w.TakeString());
}

Response CustomerSegments(ApiServices& s, Request& request, const security::Principal& who) {
  auto id = PathCustomerId(request);
  if (!id) return Response::Problem(id.error());
  if (auto visible = GetCustomerFor(s, who, *id); !visible) return Response::Problem(visible.error());
  auto mine = s.segments->CustomerSegments(*id);
  if (!mine) return Response::Problem(mine.error());
  JsonWriter w;
  w.StartObject().Key("data").StartArray();
  for (const auto& m : *mine) {
    w.StartObject().Key("id").Int64(m.id.value()).Key("name").String(m.name);
    w.Key("entered_at").String(FormatIso8601(m.entered_at)).EndObject();
  }
  w.EndArray().EndObject();
  return Response::Json(200, w.TakeString());
}

}  // namespace

void RegisterSegmentRoutes(Router& router, ApiServices& s) {
  if (s.segments == nullptr) return;
  router.Add(Method::kGet, "/api/v1/segments", Read(s, Permission::kAnalyticsRead, ListSegments));
  router.Add(Method::kPost, "/api/v1/segments", Write(s, Permission::kSegmentsManage, CreateSegment));
  router.Add(Method::kGet, "/api/v1/segments/fields", Read(s, Permission::kAnalyticsRead, SegmentFields));
  router.Add(Method::kPost, "/api/v1/segments/preview", Read(s, Permission::kAnalyticsRead, PreviewSegment));
  router.Add(Method::kPost, "/api/v1/segments/combine", Read(s, Permission::kAnalyticsRead, CombineSegments));
  router.Add(Method::kGet, "/api/v1/segments/overlap", Read(s, Permission::kAnalyticsRead, OverlapSegments));
  router.Add(Method::kPost, "/api/v1/segments/evaluate", Write(s, Permission::kSegmentsManage, EvaluateSegments));
  router.Add(Method::kGet, "/api/v1/segments/{id}", Read(s, Permission::kAnalyticsRead, GetSegment));
  router.Add(Method::kPatch, "/api/v1/segments/{id}", Write(s, Permission::kSegmentsManage, PatchSegment));
  router.Add(Method::kDelete, "/api/v1/segments/{id}", Write(s, Permission::kSegmentsManage, DeleteSegment));
  router.Add(Method::kGet, "/api/v1/segments/{id}/members", Read(s, Permission::kCustomersRead, SegmentMembers));
  router.Add(Method::kGet, "/api/v1/segments/{id}/export", Read(s, Permission::kExport, ExportSegment));
  router.Add(Method::kGet, "/api/v1/segments/{id}/events", Read(s, Permission::kAnalyticsRead, SegmentEvents));
  router.Add(Method::kGet, "/api/v1/customers/{id}/segments", Read(s, Permission::kCustomersRead, CustomerSegments));
}

}  // namespace panorama::http
