// /api/v1/customers: list and search, CRUD, and the 360° view.

#include <algorithm>
#include <charconv>

#include "features/feature_store.h"
#include "http/handlers/analytics_json.h"
#include "http/handlers/handler_util.h"
#include "http/handlers/routes.h"
#include "http/router.h"
#include "ingest/event_privacy.h"
#include "ingest/identity/identity_resolver.h"
#include "ingest/normalize.h"
#include "privacy/consent_service.h"
#include "profile/customer_view.h"
#include "segments/service/segment_service.h"
#include "security/access/masking.h"
#include "storage/store.h"

namespace panorama::http {
namespace {


// Reads the customer fields present in `body` into `c` (a PATCH leaves absent fields alone; null clears).
void ReadCustomerFields(JsonBody& body, storage::CustomerRecord& c, const std::string& region,
                        const security::Principal& who) {
  body.AllowOnly({"name", "email", "phone", "gender", "birthday", "city", "country", "address", "tags", "traits",
                  "external_id", "owner_id", "team_id"});
  // Reassigning a record is its own permission: without it the fields are refused, not ignored.
  for (const char* key : {"owner_id", "team_id"}) {
    if (!body.Has(key)) continue;
    if (!who.Can(Permission::kCustomersAssign)) {
      body.Reject(key, "may only be set with the permission customers.assign");
    } else if (body.IsNull(key)) {
      std::string_view(key) == "owner_id" ? c.owner.reset() : c.team.reset();
    } else if (auto value = body.Int(key, 1, int64_t{1} << 53)) {
      if (std::string_view(key) == "owner_id") {
        c.owner = UserId(*value);
      } else {
        c.team = TeamId(*value);
      }
    }
  }
  auto text_field = [&](std::string_view key, std::string& target, size_t max,
                        Result<std::string> (*normalise)(std::string_view)) {
    if (body.IsNull(key)) {
      target.clear();
      return;
    }
    auto value = body.String(key, max);
    if (!value) return;
    std::string trimmed(ingest::TrimUtf8(*value));
    if (trimmed.empty() || !normalise) {
      target = trimmed;
      return;
    }
    auto normalised = normalise(trimmed);
    if (!normalised) {
      const auto& v = normalised.error().violations();
      body.Reject(std::string(key), v.empty() ? normalised.error().message() : v.front().reason);
      return;
    }
    target = *normalised;
  };
  text_field("name", c.name, 200, nullptr);
  text_field("email", c.email, 320, [](std::string_view s) { return ingest::NormalizeEmail(s); });
  text_field("gender", c.gender, 32, [](std::string_view s) { return ingest::NormalizeGender(s); });
  text_field("birthday", c.birthday, 32, [](std::string_view s) { return ingest::NormalizeDate(s); });
  text_field("city", c.city, 100, nullptr);
  text_field("address", c.address, 500, nullptr);
  text_field("country", c.country, 100, [](std::string_view s) { return ingest::NormalizeCountry(s); });
  text_field("external_id", c.external_id, 255, nullptr);
  if (body.IsNull("phone")) {
    c.phone.clear();
  } else if (auto phone = body.String("phone", 64)) {
    if (ingest::TrimUtf8(*phone).empty()) {
      c.phone.clear();
    } else if (auto normalised = ingest::NormalizePhone(*phone, region)) {
      c.phone = *normalised;
    } else {
      body.Reject("phone", "is not a valid phone number");
    }
  }
  if (body.IsNull("tags")) {
    c.tags.clear();
  } else if (auto tags = body.StringArray("tags", 50, 64)) {
    c.tags = *tags;
  }
  if (body.IsNull("traits")) {
    c.traits_json = "{}";
  } else if (auto traits = body.Object("traits")) {
    if (traits->size() > 16 * 1024) {
      body.Reject("traits", "must be at most 16 KB");
    } else {
      c.traits_json = ingest::MergeJsonObjects(c.traits_json.empty() ? "{}" : c.traits_json, *traits);
    }
  }
}

// The owner and team named in a write must exist; kInvalidArgument naming the field otherwise.
Result<void> CheckAssignment(ApiServices& s, const storage::CustomerRecord& c) {
  if (c.owner) {
    auto user = s.store.GetUser(*c.owner);
    if (!user) {
      if (user.error().code() == ErrorCode::kNotFound) return Error::InvalidField("owner_id", "no such user");
      return std::move(user.error());
    }
  }
  if (c.team) {
    ASSIGN_OR_RETURN(auto teams, s.store.ListTeams());
    bool found = std::any_of(teams.begin(), teams.end(), [&](const auto& t) { return t.id == *c.team; });
    if (!found) return Error::InvalidField("team_id", "no such team");
  }
  return Ok();
}

// Claims the customer's email, phone and external id as identities; another customer's identifier is a 409.
Result<void> ClaimIdentities(storage::WriteTxn& txn, const storage::CustomerRecord& c, Timestamp at) {
  std::pair<const char*, const std::string*> keys[] = {
      {"email", &c.email}, {"phone", &c.phone}, {"external_id", &c.external_id}};
  for (auto [type, value] : keys) {
    if (value->empty()) continue;
    ASSIGN_OR_RETURN(auto owner, txn.FindIdentity(type, *value));
    if (owner && *owner != c.id) {
      return Error(ErrorCode::kAlreadyExists, std::string(type) + " already belongs to customer " + owner->ToString(),
                   {{type, "already belongs to customer " + owner->ToString()}});
    }
    if (!owner) RETURN_IF_ERROR(txn.AddIdentity({type, *value, c.id, at}));
  }
  return Ok();
}

std::string CustomerJson(ApiServices& s, const storage::CustomerRecord& c, const security::Principal& who) {
  JsonWriter w;
  auto f = s.features.Get(c.id, s.clock.Now()).value_or(features::CustomerFeatures{});
  WriteCustomer(w, c, &f, s.rates.base(), who.permissions);
  return w.TakeString();
}

// A filter on a field the caller sees masked would reveal it one guess at a time: 403 naming the filter.
Result<void> CheckFilters(const Request& request, const security::Principal& who) {
  struct Filter {
    const char* param;
    std::initializer_list<const char*> fields;
  };
  static const Filter kFilters[] = {{"q", {"name", "email", "phone"}}, {"city", {"city"}},
                                    {"country", {"country"}},         {"tag", {"tags"}}};
  for (const Filter& filter : kFilters) {
    if (!request.Query(filter.param)) continue;
    for (const char* field : filter.fields) {
      if (!security::access::CanReadField(who.permissions, field)) {
        return Error(ErrorCode::kPermissionDenied,
                     std::string("filter ") + filter.param + " uses " + field + ", which this role may not read",
                     {{filter.param, std::string("uses ") + field + ", which this role may not read"}});
      }
    }
  }
  return Ok();
}

// PIPL 29 / GDPR 9: traits holding sensitive personal information need the separate `sensitive` consent
// (privacy::ConsentService::CheckSensitiveWrite); only the traits written by this request are checked.
Result<void> CheckSensitiveTraits(ApiServices& s, JsonBody& body, std::optional<CustomerId> customer) {
  if (s.consents == nullptr || !body.Has("traits") || body.IsNull("traits")) return Ok();
  auto traits = body.Object("traits");
  if (!traits) return Ok();
  std::optional<CustomerId> subject = customer;
  if (customer) {
    auto record = s.store.GetCustomer(*customer);
    if (record && record->merged_into) subject = *record->merged_into;
  }
  return s.consents->CheckSensitiveWrite(subject, *traits);
}

Response ListCustomers(ApiServices& s, Request& request, const security::Principal& who) {
  auto page = ReadPageParams(request, 50, 1000);
  if (!page) return Response::Problem(page.error());
  if (auto allowed = CheckFilters(request, who); !allowed) return Response::Problem(allowed.error());
  storage::CustomerQuery query;
  query.scope = ScopeOf(who);
  query.limit = page->limit + 1;
  query.after_id = page->after_id;
  if (auto q = request.Query("q")) {
    std::string text(ingest::TrimUtf8(*q));
    if (text.size() > 200) return Response::Problem(Error::InvalidField("q", "must be at most 200 bytes"));
    if (text.find('\0') != std::string::npos) {
      return Response::Problem(Error::InvalidField("q", "must not contain NUL characters"));
    }
    if (!text.empty()) {
      query.text = text;
      // Phone searches in any common format ("138 0013 8000", "+86-138…") meet the stored E.164 form.
      std::string digits = ingest::PhoneDigits(text);
      if (digits.size() >= 5) {
        if (auto phone = ingest::NormalizePhone(text, s.default_phone_region)) query.phone_e164 = *phone;
      }
      if (text.find('@') != std::string::npos) {
        if (auto email = ingest::NormalizeEmail(text)) query.text = *email;
      }
    }
  }
  if (auto country = request.Query("country")) query.country = std::string(*country);
  if (auto city = request.Query("city")) query.city = std::string(*city);
  if (auto tag = request.Query("tag")) query.tag = std::string(*tag);
  auto customers = s.store.ListCustomers(query);
  if (!customers) return Response::Problem(customers.error());
  bool more = customers->size() > static_cast<size_t>(page->limit);
  if (more) customers->resize(static_cast<size_t>(page->limit));
  Timestamp now = s.clock.Now();
  std::string next = customers->empty() ? "" : customers->back().id.ToString();
  std::vector<std::string> read_ids;
  for (const auto& c : *customers) read_ids.push_back(c.id.ToString());
  RecordRead(s, "customer.list", "customer", "", std::move(read_ids));
  return Response::Json(200, PageJson(*customers, more, next, [&](JsonWriter& w, const storage::CustomerRecord& c) {
    auto f = s.features.Get(c.id, now).value_or(features::CustomerFeatures{});
    WriteCustomer(w, c, &f, s.rates.base(), who.permissions);
  }));
}

Response GetCustomer(ApiServices& s, Request& request, const security::Principal& who) {
  auto id = PathCustomerId(request);
  if (!id) return Response::Problem(id.error());
  auto customer = GetCustomerFor(s, who, *id);
  if (!customer) return Response::Problem(customer.error());
  RecordRead(s, "customer.read", "customer", id->ToString());
  return Response::Json(200, CustomerJson(s, *customer, who));
}

Response CreateCustomer(ApiServices& s, Request& request, const security::Principal& who) {
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  storage::CustomerRecord c;
  // Staff own what they create (and their team shares it); records from keys stay unowned.
  if (who.kind == security::Principal::Kind::kUser) {
    c.owner = who.user;
    c.team = who.team;
  }
  ReadCustomerFields(*body, c, s.default_phone_region, who);
  if (!body->ok()) return Response::Problem(body->TakeError());
  if (auto assigned = CheckAssignment(s, c); !assigned) return Response::Problem(assigned.error());
  if (auto sensitive = CheckSensitiveTraits(s, *body, std::nullopt); !sensitive) {
    return Response::Problem(409, sensitive.error());
  }
  if (c.name.empty() && c.email.empty() && c.phone.empty() && c.external_id.empty()) {
    return Response::Problem(Error::InvalidField("name", "a customer needs a name, email, phone or external_id"));
  }
  c.created_at = c.updated_at = s.clock.Now();
  auto written = s.store.Write([&](storage::WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(c.id, txn.InsertCustomer(c));
    return ClaimIdentities(txn, c, c.created_at);
  });
  if (!written) return Response::Problem(written.error());
  s.features.OnCustomer(c.id);
  if (s.segments != nullptr) s.segments->OnCustomerChanged(c.id);
  Response response = Response::Json(201, CustomerJson(s, c, who));
  response.headers.emplace_back("Location", "/api/v1/customers/" + c.id.ToString());
  return response;
}

Response UpdateCustomer(ApiServices& s, Request& request, const security::Principal& who) {
  auto id = PathCustomerId(request);
  if (!id) return Response::Problem(id.error());
  if (auto visible = GetCustomerFor(s, who, *id); !visible) return Response::Problem(visible.error());
  auto body = JsonBody::Parse(request.body);
  if (!body) return Response::Problem(body.error());
  if (auto sensitive = CheckSensitiveTraits(s, *body, *id); !sensitive) {
    return Response::Problem(409, sensitive.error());
  }
  storage::CustomerRecord updated;
  auto written = s.store.Write([&](storage::WriteTxn& txn) -> Result<void> {
    ASSIGN_OR_RETURN(updated, txn.GetCustomer(*id));
    if (updated.merged_into) {
      return Error::FailedPrecondition("customer " + id->ToString() + " was merged into " +
                                       updated.merged_into->ToString());
    }
    ReadCustomerFields(*body, updated, s.default_phone_region, who);
    if (!body->ok()) return body->TakeError();
    RETURN_IF_ERROR(CheckAssignment(s, updated));
    updated.updated_at = s.clock.Now();
    RETURN_IF_ERROR(txn.UpdateCustomer(updated));
    return ClaimIdentities(txn, updated, updated.updated_at);
  });
  if (!written) return Response::Problem(written.error());
  if (s.segments != nullptr) s.segments->OnCustomerChanged(*id);
  return Response::Json(200, CustomerJson(s, updated, who));
}

Response DeleteCustomer(ApiServices& s, Request& request, const security::Principal& who) {
  auto id = PathCustomerId(request);
  if (!id) return Response::Problem(id.error());
  if (auto visible = GetCustomerFor(s, who, *id); !visible) return Response::Problem(visible.error());
  auto written = s.store.Write([&](storage::WriteTxn& txn) { return txn.DeleteCustomer(*id); });
  if (!written) return Response::Problem(written.error());
  s.features.OnErase(*id);
  if (s.segments != nullptr) s.segments->OnCustomerChanged(*id);  // deleted: it exits its segments
  return Response::NoContent();
}

void WriteTimelineItem(JsonWriter& w, const profile::TimelineItem& item,
                       const security::access::PermissionSet& permissions) {
  w.StartObject();
  w.Key("kind").String(item.kind());
  w.Key("at").String(FormatIso8601(item.at));
  if (const auto* event = std::get_if<storage::EventRecord>(&item.record)) {
    storage::EventRecord masked_event = *event;
    // Personal property values (sealed at ingest): clear for personal.read, null otherwise.
    ingest::RestoreEventData(masked_event,
                             security::access::CanRead(permissions, security::access::DataClass::kPersonal));
    security::access::MaskEvent(masked_event, permissions);
    const auto* e = &masked_event;
    w.Key("id").Int64(e->id.value());
    w.Key("type").String(e->type);
    w.Key("name").String(e->name);
    w.Key("properties").RawJson(e->properties_json.empty() ? "{}" : e->properties_json);
    w.Key("context").RawJson(e->context_json.empty() ? "{}" : e->context_json);
  } else if (const auto* o = std::get_if<storage::OrderRecord>(&item.record)) {
    w.Key("id").Int64(o->id.value());
    w.Key("external_id").String(o->external_id);
    w.Key("total_minor").Int64(o->total.minor);
    w.Key("currency").String(o->total.currency);
    w.Key("status").String(o->status);
    w.Key("items").StartArray();
    for (const auto& line : o->items) {
      w.StartObject();
      w.Key("sku").String(line.sku);
      w.Key("name").String(line.name);
      w.Key("quantity").Int64(line.quantity);
      w.Key("unit_price_minor").Int64(line.unit_price_minor);
      w.EndObject();
    }
    w.EndArray();
  } else if (const auto* interaction = std::get_if<storage::InteractionRecord>(&item.record)) {
    storage::InteractionRecord masked_interaction = *interaction;
    security::access::MaskInteraction(masked_interaction, permissions);
    const auto* i = &masked_interaction;
    w.Key("id").Int64(i->id.value());
    w.Key("interaction_kind").String(i->kind);
    w.Key("subject").String(i->subject);
    w.Key("body").String(i->body);
    w.Key("direction").String(i->direction);
  }
  w.EndObject();
}

Response Customer360(ApiServices& s, Request& request, const security::Principal& who) {
  auto id = PathCustomerId(request);
  if (!id) return Response::Problem(id.error());
  if (auto visible = GetCustomerFor(s, who, *id); !visible) return Response::Problem(visible.error());
  profile::ViewQuery query;
  if (auto limit = request.Query("timeline_limit")) {
    int n = 0;
    auto [ptr, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (ec != std::errc() || ptr != limit->data() + limit->size()) {
      return Response::Problem(Error::InvalidField("timeline_limit", "must be an integer between 1 and 200"));
    }
    query.timeline_limit = n;
  }
  if (auto cursor = request.Query("timeline_cursor"); cursor && !cursor->empty()) {
    auto decoded = profile::TimelineCursor::Decode(*cursor);
    if (!decoded) return Response::Problem(decoded.error());
    query.cursor = *decoded;
  }
  auto view = s.views.Get(*id, query);
  if (!view) return Response::Problem(view.error());
  // A merged-away id shows its survivor, which must be in scope too.
  if (view->customer.id != *id) {
    if (auto visible = GetCustomerFor(s, who, view->customer.id); !visible) {
      return Response::Problem(Error::NotFound("customer " + id->ToString() + " not found"));
    }
  }
  RecordRead(s, "customer.view360", "customer", id->ToString());
  JsonWriter w;
  w.StartObject();
  w.Key("customer");
  WriteCustomer(w, view->customer, &view->aggregates, view->base_currency, who.permissions);
  w.Key("identities").StartArray();
  for (const auto& identity : view->identities) {
    w.StartObject();
    w.Key("type").String(identity.type);
    w.Key("value").String(security::access::MaskIdentity(identity.type, identity.value, who.permissions));
    w.Key("first_seen").String(FormatIso8601(identity.first_seen));
    w.EndObject();
  }
  w.EndArray();
  if (s.segments != nullptr) {
    // Memberships of the customer shown (the survivor of a merge), with when each began.
    w.Key("segments").StartArray();
    if (auto mine = s.segments->CustomerSegments(view->customer.id)) {
      for (const auto& m : *mine) {
        w.StartObject().Key("id").Int64(m.id.value()).Key("name").String(m.name);
        w.Key("entered_at").String(FormatIso8601(m.entered_at)).EndObject();
      }
    }
    w.EndArray();
  }
  w.Key("merges").StartArray();
  for (const auto& m : view->merges) {
    w.StartObject();
    w.Key("from").Int64(m.from.value());
    w.Key("into").Int64(m.into.value());
    w.Key("reason").String(m.reason);
    w.Key("at").String(FormatIso8601(m.at));
    w.EndObject();
  }
  w.EndArray();
  w.Key("consents").StartArray();
  for (const auto& c : view->consents) {
    w.StartObject().Key("purpose").String(c.purpose).Key("channel");
    if (c.channel.empty()) {
      w.Null();
    } else {
      w.String(c.channel);
    }
    w.Key("granted").Bool(c.granted).Key("source").String(c.source).Key("policy_version").String(c.policy_version);
    w.Key("at").String(FormatIso8601(c.at)).EndObject();
  }
  w.EndArray();
  w.Key("aggregates");
  WriteAggregates(w, view->aggregates, view->base_currency);
  if (s.rfm != nullptr && s.lifecycle != nullptr) {
    w.Key("rfm");
    WriteCustomerRfm(w, s, view->customer.id, std::nullopt, /*null_when_unscored=*/true);
    w.Key("lifecycle");
    WriteCustomerLifecycle(w, s, view->customer.id, std::nullopt);
  }
  w.Key("timeline").StartObject().Key("data").StartArray();
  for (const auto& item : view->timeline) WriteTimelineItem(w, item, who.permissions);
  w.EndArray().Key("next_cursor");
  if (view->next_cursor) {
    w.String(view->next_cursor->Encode());
  } else {
    w.Null();
  }
  w.EndObject();
  w.EndObject();
  return Response::Json(200, w.TakeString());
}

}  // namespace

void RegisterCustomerRoutes(Router& router, ApiServices& s) {
  router.Add(Method::kGet, "/api/v1/customers", Read(s, Permission::kCustomersRead, ListCustomers));
  router.Add(Method::kPost, "/api/v1/customers", Write(s, Permission::kCustomersWrite, CreateCustomer));
  router.Add(Method::kGet, "/api/v1/customers/{id}", Read(s, Permission::kCustomersRead, GetCustomer));
  router.Add(Method::kPatch, "/api/v1/customers/{id}", Write(s, Permission::kCustomersWrite, UpdateCustomer));
  router.Add(Method::kDelete, "/api/v1/customers/{id}", Write(s, Permission::kCustomersDelete, DeleteCustomer));
  router.Add(Method::kGet, "/api/v1/customers/{id}/360", Read(s, Permission::kCustomersRead, Customer360));
}

}  // namespace panorama::http
