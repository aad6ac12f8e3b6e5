// GET /api/v1/audit: search of the audit ledger for the admin and auditor roles (SECURITY.md §2.6).

#include "audit/ledger_entry.h"
#include "http/handlers/handler_util.h"
#include "http/handlers/routes.h"
#include "http/router.h"
#include "storage/store.h"

namespace panorama::http {
namespace {

// The route requires audit.read (admin and auditor roles, or a custom role granting it); people only, since
// an API key acting as an auditor would be an unattributed reader of the ledger.
Response SearchAudit(ApiServices& s, Request& request, const security::Principal& who) {
  if (who.kind != security::Principal::Kind::kUser) {
    return Response::Problem(Error::PermissionDenied("the audit ledger is searched by signed-in staff only"));
  }
  auto page = ReadPageParams(request, 50, 500);
  if (!page) return Response::Problem(page.error());
  storage::LedgerQuery query;
  query.limit = page->limit + 1;
  query.before_seq = page->after_id;
  struct TextFilter {
    const char* name;
    std::string* into;
  };
  for (TextFilter f : {TextFilter{"actor", &query.actor}, TextFilter{"action", &query.action},
                       TextFilter{"object_type", &query.object_type}, TextFilter{"object_id", &query.object_id}}) {
    if (auto value = request.Query(f.name)) {
      if (value->size() > 200) return Response::Problem(Error::InvalidField(f.name, "must be at most 200 bytes"));
      *f.into = std::string(*value);
    }
  }
  for (auto [name, into] : {std::pair{"from", &query.from}, std::pair{"to", &query.to}}) {
    if (auto value = request.Query(name); value && !value->empty()) {
      auto at = ParseIso8601(*value);
      if (!at) return Response::Problem(Error::InvalidField(name, "must be an ISO 8601 time"));
      *into = *at;
    }
  }
  if (query.from && query.to && *query.to <= *query.from) {
    return Response::Problem(Error::InvalidField("to", "must be after from"));
  }
  auto rows = s.store.ListLedger(query);
  if (!rows) return Response::Problem(rows.error());
  bool more = rows->size() > static_cast<size_t>(page->limit);
  if (more) rows->resize(static_cast<size_t>(page->limit));
  std::string next = rows->empty() ? "" : std::to_string(rows->back().seq);
  return Response::Json(200, PageJson(*rows, more, next, [](JsonWriter& w, const storage::LedgerRow& row) {
    auto e = audit::ParseCanonicalJson(row.body);
    w.StartObject().Key("seq").Int64(row.seq);
    if (e) {
      w.Key("at").String(FormatIso8601(e->at)).Key("actor").String(e->actor).Key("action").String(e->action);
      w.Key("object_type").String(e->object_type).Key("object_id").String(e->object_id);
      w.Key("fields").StartArray();
      for (const auto& f : e->fields) w.String(f);
      w.EndArray().Key("ids").StartArray();
      for (const auto& id : e->ids) w.String(id);
      w.EndArray();
      w.Key("request_id").String(e->request_id).Key("ip").String(e->ip).Key("outcome").String(e->outcome);
    } else {
      // A body that no longer parses has been tampered with; show it as such rather than hide it.
      w.Key("action").String("integrity.alert").Key("outcome").String("unreadable entry");
    }
    w.Key("entry_hash").String(row.entry_hash).EndObject();
  }));
}

}  // namespace

void RegisterAuditRoutes(Router& router, ApiServices& s) {
  router.Add(Method::kGet, "/api/v1/audit", Read(s, Permission::kAuditRead, SearchAudit));
}

}  // namespace panorama::http
