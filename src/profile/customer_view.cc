#include "profile/customer_view.h"

#include <map>

#include <charconv>
#include <unordered_map>

#include "storage/store.h"

namespace panorama::profile {
namespace {

bool ParseInt(std::string_view text, int64_t& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

std::string TimelineCursor::Encode() const {
  return std::to_string(ToUnixMillis(at)) + "." + kind + "." + std::to_string(id);
}

Result<TimelineCursor> TimelineCursor::Decode(std::string_view text) {
  auto bad = [] { return Error::InvalidField("timeline_cursor", "is not a cursor returned by this API"); };
  size_t first = text.find('.');
  size_t second = first == std::string_view::npos ? first : text.find('.', first + 1);
  if (second == std::string_view::npos) return bad();
  TimelineCursor cursor;
  int64_t at = 0;
  if (!ParseInt(text.substr(0, first), at) || !ParseInt(text.substr(second + 1), cursor.id)) return bad();
  cursor.at = FromUnixMillis(at);
  cursor.kind = std::string(text.substr(first + 1, second - first - 1));
  if (cursor.kind != "event" && cursor.kind != "order" && cursor.kind != "interaction") return bad();
  return cursor;
}

const char* TimelineItem::kind() const {
  switch (record.index()) {
    case 0: return "event";
    case 1: return "order";
    default: return "interaction";
  }
}

CustomerViewService::CustomerViewService(storage::Store& store, const features::FeatureStore& features,
                                         const Clock& clock, std::string base_currency)
    : store_(store), features_(features), clock_(clock), base_currency_(std::move(base_currency)) {}

Result<CustomerView> CustomerViewService::Get(CustomerId id, const ViewQuery& query) const {
  if (query.timeline_limit < 1 || query.timeline_limit > 200) {
    return Error::InvalidField("timeline_limit", "must be between 1 and 200");
  }
  // The view is several reads, each of the newest committed state. An identity merge committed between
  // resolving the customer and reading its timeline has moved every row to the survivor, and the view would
  // show the merged-away record with a timeline missing them (R12: a read without appends acknowledged before
  // it began). A merge is never undone, so a record still live after the reads was live during all of them;
  // one merged away meanwhile is read again, from its survivor.
  constexpr int kAttempts = 4;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    ASSIGN_OR_RETURN(CustomerView view, Read(id, query));
    ASSIGN_OR_RETURN(storage::CustomerRecord now, store_.GetCustomer(view.customer.id));
    if (!now.merged_into) return view;
  }
  return Error::Unavailable("customer " + id.ToString() + " was merged while its view was read; retry");
}

Result<CustomerView> CustomerViewService::Read(CustomerId id, const ViewQuery& query) const {
  CustomerView view;
  ASSIGN_OR_RETURN(view.customer, store_.GetCustomer(id));
  if (view.customer.merged_into) {
    ASSIGN_OR_RETURN(view.customer, store_.GetCustomer(*view.customer.merged_into));
  }
  CustomerId customer = view.customer.id;
  ASSIGN_OR_RETURN(view.identities, store_.ListIdentities(customer));
  ASSIGN_OR_RETURN(view.merges, store_.ListMerges(customer));
  ASSIGN_OR_RETURN(auto consent_history, store_.ListConsents(customer));
  std::map<std::pair<std::string, std::string>, storage::ConsentRecord> newest;
  for (auto& c : consent_history) newest[{c.purpose, c.channel}] = std::move(c);
  for (auto& [key, c] : newest) view.consents.push_back(std::move(c));
  view.aggregates = features_.Get(customer, clock_.Now()).value_or(features::CustomerFeatures{});
  view.base_currency = base_currency_;

  if (before_timeline_read_) before_timeline_read_();

  storage::TimelineQuery timeline{.customer = customer, .limit = query.timeline_limit + 1};
  if (query.cursor) {
    timeline.before_at = query.cursor->at;
    timeline.before_kind = query.cursor->kind;
    timeline.before_id = query.cursor->id;
  }
  ASSIGN_OR_RETURN(auto entries, store_.ListTimeline(timeline));
  bool more = entries.size() > static_cast<size_t>(query.timeline_limit);
  if (more) entries.resize(static_cast<size_t>(query.timeline_limit));

  std::vector<int64_t> event_ids, order_ids, interaction_ids;
  for (const auto& e : entries) {
    (e.kind == "event" ? event_ids : e.kind == "order" ? order_ids : interaction_ids).push_back(e.id);
  }
  ASSIGN_OR_RETURN(auto events, store_.GetEvents(event_ids));
  ASSIGN_OR_RETURN(auto orders, store_.GetOrders(order_ids));
  ASSIGN_OR_RETURN(auto interactions, store_.GetInteractions(interaction_ids));
  std::unordered_map<int64_t, storage::EventRecord*> event_by_id;
  std::unordered_map<int64_t, storage::OrderRecord*> order_by_id;
  std::unordered_map<int64_t, storage::InteractionRecord*> interaction_by_id;
  for (auto& e : events) event_by_id[e.id.value()] = &e;
  for (auto& o : orders) order_by_id[o.id.value()] = &o;
  for (auto& i : interactions) interaction_by_id[i.id.value()] = &i;
  for (const auto& e : entries) {
    if (e.kind == "event") {
      if (auto it = event_by_id.find(e.id); it != event_by_id.end()) view.timeline.push_back({*it->second, e.at});
    } else if (e.kind == "order") {
      if (auto it = order_by_id.find(e.id); it != order_by_id.end()) view.timeline.push_back({*it->second, e.at});
    } else if (auto it = interaction_by_id.find(e.id); it != interaction_by_id.end()) {
      view.timeline.push_back({*it->second, e.at});
    }
  }
  if (more && !entries.empty()) view.next_cursor = TimelineCursor{entries.back().at, entries.back().kind, entries.back().id};
  return view;
}

}  // namespace panorama::profile
