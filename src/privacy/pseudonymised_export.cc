#include "privacy/pseudonymised_export.h"

#include <sodium.h>

#include <chrono>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

#include "privacy/internal/json_text.h"
#include "storage/store.h"

namespace panorama::privacy {
namespace {

using internal::AppendJsonString;

std::string Hmac(std::string_view key, std::string_view message, size_t bytes) {
  crypto_auth_hmacsha256_state state;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()), message.size());
  crypto_auth_hmacsha256_final(&state, mac);
  return std::string(reinterpret_cast<const char*>(mac), bytes);
}

std::string Hex(std::string_view bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  out.pop_back();
  return out;
}

std::string RecipientKey(std::string_view secret, std::string_view recipient) {
  return Hmac(secret, "pano-pseudo-v1:" + std::string(recipient), crypto_auth_hmacsha256_BYTES);
}

std::string PseudonymWithKey(std::string_view recipient_key, std::string_view kind, int64_t id) {
  return Hex(Hmac(recipient_key, std::string(kind) + ":" + std::to_string(id), 16));
}

std::string CsvField(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string AgeBand(std::string_view birthday, Timestamp now) {
  using namespace std::chrono;
  int y = 0;
  unsigned m = 0, d = 0;
  if (birthday.size() != 10 || std::sscanf(std::string(birthday).c_str(), "%d-%u-%u", &y, &m, &d) != 3) {
    return "unknown";
  }
  year_month_day born{year{y}, month{m}, day{d}};
  if (!born.ok()) return "unknown";
  year_month_day today{floor<days>(now)};
  int age = static_cast<int>(today.year()) - y;
  if (today.month() < born.month() || (today.month() == born.month() && today.day() < born.day())) --age;
  if (age < 0 || age > 130) return "unknown";
  if (age < 18) return "<18";
  if (age < 25) return "18-24";
  if (age < 35) return "25-34";
  if (age < 45) return "35-44";
  if (age < 55) return "45-54";
  if (age < 65) return "55-64";
  return "65+";
}

std::string Pseudonym(std::string_view server_secret, std::string_view recipient, std::string_view kind, int64_t id) {
  return PseudonymWithKey(RecipientKey(server_secret, recipient), kind, id);
}

Result<PseudonymisedExport> BuildPseudonymisedExport(storage::Store& store, std::string_view server_secret,
                                                     const PseudonymisedExportOptions& options, Timestamp now) {
  const auto& r = options.recipient;
  if (r.empty() || r.size() > 64 ||
      r.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != std::string::npos) {
    return Error::InvalidField("recipient", "must be 1 to 64 characters of A-Z a-z 0-9 . _ -");
  }
  if (options.k < 2 || options.k > 1000) return Error::InvalidField("k", "must be between 2 and 1000");
  std::string key = RecipientKey(server_secret, r);

  PseudonymisedExport out;
  out.recipient = r;
  out.k = options.k;
  struct Row {
    int64_t id;
    PseudonymisedCustomer c;
  };
  std::vector<Row> rows;
  std::map<std::tuple<std::string, std::string, std::string>, int> groups;
  storage::CustomerQuery q;
  q.limit = 1000;
  while (true) {
    ASSIGN_OR_RETURN(auto page, store.ListCustomers(q));
    for (const auto& c : page) {
      PseudonymisedCustomer p;
      p.pseudonym = PseudonymWithKey(key, "customer", c.id.value());
      p.age_band = AgeBand(c.birthday, now);
      p.gender = c.gender;
      p.city = c.city;
      p.country = c.country;
      std::string created = FormatIso8601(c.created_at);
      p.created_month = created.substr(0, 7);
      ++groups[{p.age_band, p.city, p.gender}];
      rows.push_back({c.id.value(), std::move(p)});
    }
    if (static_cast<int>(page.size()) < q.limit) break;
    q.after_id = page.back().id.value();
  }
  std::unordered_map<int64_t, std::string> kept;  // customer id → pseudonym
  for (auto& row : rows) {
    if (groups[{row.c.age_band, row.c.city, row.c.gender}] < options.k) {
      ++out.suppressed_customers;
      continue;
    }
    kept.emplace(row.id, row.c.pseudonym);
    out.customers.push_back(std::move(row.c));
  }

  storage::PageQuery oq;
  oq.limit = 1000;
  while (true) {
    ASSIGN_OR_RETURN(auto page, store.ListOrders(oq));
    for (const auto& o : page) {
      auto it = kept.find(o.customer.value());
      if (it == kept.end()) continue;
      int64_t items = 0;
      for (const auto& item : o.items) items += item.quantity;
      out.orders.push_back({PseudonymWithKey(key, "order", o.id.value()), it->second,
                            FormatIso8601(o.placed_at).substr(0, 10), o.total_base_minor, o.status, items});
    }
    if (static_cast<int>(page.size()) < oq.limit) break;
    oq.after_id = page.back().id.value();
  }
  RETURN_IF_ERROR(store.ScanEventFacts([&](const storage::Store::EventFact& e) {
    auto it = kept.find(e.customer.value());
    if (it != kept.end()) out.events.push_back({it->second, FormatIso8601(e.timestamp).substr(0, 10)});
  }));
  return out;
}

std::string PseudonymisedExport::ToJson() const {
  std::string out = "{\"format\":\"panorama-pseudonymised/1\",\"recipient\":";
  AppendJsonString(out, recipient);
  out += ",\"k\":" + std::to_string(k) + ",\"suppressed_customers\":" + std::to_string(suppressed_customers);
  out += ",\"customers\":[";
  for (size_t i = 0; i < customers.size(); ++i) {
    const auto& c = customers[i];
    if (i) out += ',';
    out += "{\"pseudonym\":";
    AppendJsonString(out, c.pseudonym);
    out += ",\"age_band\":";
    AppendJsonString(out, c.age_band);
    out += ",\"gender\":";
    AppendJsonString(out, c.gender);
    out += ",\"city\":";
    AppendJsonString(out, c.city);
    out += ",\"country\":";
    AppendJsonString(out, c.country);
    out += ",\"created_month\":";
    AppendJsonString(out, c.created_month);
    out += '}';
  }
  out += "],\"orders\":[";
  for (size_t i = 0; i < orders.size(); ++i) {
    const auto& o = orders[i];
    if (i) out += ',';
    out += "{\"pseudonym\":";
    AppendJsonString(out, o.pseudonym);
    out += ",\"customer\":";
    AppendJsonString(out, o.customer);
    out += ",\"placed_date\":";
    AppendJsonString(out, o.placed_date);
    out += ",\"total_base_minor\":" + std::to_string(o.total_base_minor) + ",\"status\":";
    AppendJsonString(out, o.status);
    out += ",\"items\":" + std::to_string(o.items) + "}";
  }
  out += "],\"events\":[";
  for (size_t i = 0; i < events.size(); ++i) {
    if (i) out += ',';
    out += "{\"customer\":";
    AppendJsonString(out, events[i].customer);
    out += ",\"date\":";
    AppendJsonString(out, events[i].date);
    out += '}';
  }
  return out + "]}";
}

Result<std::string> PseudonymisedExport::ToCsv(std::string_view dataset) const {
  std::string out;
  if (dataset == "customers") {
    out = "pseudonym,age_band,gender,city,country,created_month\n";
    for (const auto& c : customers) {
      out += c.pseudonym + "," + CsvField(c.age_band) + "," + CsvField(c.gender) + "," + CsvField(c.city) + "," +
             CsvField(c.country) + "," + c.created_month + "\n";
    }
  } else if (dataset == "orders") {
    out = "pseudonym,customer,placed_date,total_base_minor,status,items\n";
    for (const auto& o : orders) {
      out += o.pseudonym + "," + o.customer + "," + o.placed_date + "," + std::to_string(o.total_base_minor) + "," +
             CsvField(o.status) + "," + std::to_string(o.items) + "\n";
    }
  } else if (dataset == "events") {
    out = "customer,date\n";
    for (const auto& e : events) out += e.customer + "," + e.date + "\n";
  } else {
    return Error::InvalidField("dataset", "must be customers, orders or events");
  }
  return out;
}

}  // namespace panorama::privacy
