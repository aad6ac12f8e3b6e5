#include "ingest/segment_message.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>

#include "ingest/normalize.h"
#include "privacy/consent_service.h"

namespace panorama::ingest {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

constexpr std::string_view kTypes[] = {"identify", "track", "page", "screen", "group", "alias"};

// Collects violations across a whole request so the caller sees every problem at once.
class Violations {
 public:
  void Add(std::string field, std::string reason) { error_.AddViolation(std::move(field), std::move(reason)); }
  bool empty() const { return error_.violations().empty(); }
  Error Take() && {
    const auto& first = error_.violations().front();
    std::string message = first.field + ": " + first.reason;
    if (error_.violations().size() > 1) {
      message += " (and " + std::to_string(error_.violations().size() - 1) + " more)";
    }
    return Error(ErrorCode::kInvalidArgument, std::move(message), error_.violations());
  }

 private:
  Error error_ = Error::InvalidArgument("");
};

std::optional<element> Field(object obj, std::string_view key) {
  element value;
  if (obj[key].get(value) != simdjson::SUCCESS || value.is_null()) return std::nullopt;
  return value;
}

// Ids may arrive as strings or numbers (some SDKs send numeric user ids); both become strings.
bool ReadId(object obj, std::string_view key, std::string& out, const std::string& path, Violations& v) {
  auto value = Field(obj, key);
  if (!value) return false;
  switch (value->type()) {
    case element_type::STRING:
      out = std::string(value->get_string().value());
      break;
    case element_type::INT64:
      out = std::to_string(value->get_int64().value());
      break;
    case element_type::UINT64:
      out = std::to_string(value->get_uint64().value());
      break;
    default:
      v.Add(path + std::string(key), "must be a string");
      return false;
  }
  if (out.size() > 255) {
    v.Add(path + std::string(key), "must be at most 255 characters");
    out.clear();
    return false;
  }
  return !out.empty();
}

bool ReadString(object obj, std::string_view key, std::string& out, const std::string& path, Violations& v,
                size_t max_len = 1024) {
  auto value = Field(obj, key);
  if (!value) return false;
  std::string_view text;
  if (value->get_string().get(text) != simdjson::SUCCESS) {
    v.Add(path + std::string(key), "must be a string");
    return false;
  }
  if (text.size() > max_len) {
    v.Add(path + std::string(key), "must be at most " + std::to_string(max_len) + " bytes");
    return false;
  }
  out = std::string(text);
  return true;
}

std::optional<Timestamp> ReadTime(object obj, std::string_view key, const std::string& path, Violations& v) {
  auto value = Field(obj, key);
  if (!value) return std::nullopt;
  std::string_view text;
  if (value->get_string().get(text) != simdjson::SUCCESS) {
    v.Add(path + std::string(key), "must be an ISO 8601 string");
    return std::nullopt;
  }
  auto parsed = ParseIso8601(text);
  if (!parsed) {
    v.Add(path + std::string(key), "is not an ISO 8601 timestamp");
    return std::nullopt;
  }
  return *parsed;
}

// JSON object member as minified text; a non-object is a violation.
std::string ReadObjectJson(object obj, std::string_view key, const std::string& path, Violations& v) {
  auto value = Field(obj, key);
  if (!value) return "{}";
  if (value->type() != element_type::OBJECT) {
    v.Add(path + std::string(key), "must be an object");
    return "{}";
  }
  return simdjson::minify(*value);
}

std::optional<double> ReadNumber(element value) {
  double d;
  if (value.get_double().get(d) == simdjson::SUCCESS) return d;
  int64_t i;
  if (value.get_int64().get(i) == simdjson::SUCCESS) return static_cast<double>(i);
  uint64_t u;
  if (value.get_uint64().get(u) == simdjson::SUCCESS) return static_cast<double>(u);
  std::string_view s;  // "12.50" as a string is common in hand-written integrations
  if (value.get_string().get(s) == simdjson::SUCCESS) {
    double parsed = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), parsed);
    if (ec == std::errc() && ptr == s.data() + s.size()) return parsed;
  }
  return std::nullopt;
}

// Known profile traits are type-checked and normalised; everything else is kept as custom traits.
ProfilePatch ReadProfile(object traits, const std::string& path, const ParseOptions& options, Violations& v) {
  static constexpr std::string_view kKnown[] = {"email", "phone", "name", "firstName", "lastName", "first_name",
                                                "last_name", "gender", "birthday", "address", "city", "country",
                                                "consent"};
  ProfilePatch patch;
  std::string text;
  if (ReadString(traits, "email", text, path, v, 320)) {
    auto email = NormalizeEmail(text);
    if (email) {
      patch.email = *email;
    } else {
      v.Add(path + "email", "is not a valid email address");
    }
  }
  if (auto phone = Field(traits, "phone")) {
    std::string raw;
    if (phone->type() == element_type::STRING) {
      raw = std::string(phone->get_string().value());
    } else if (phone->type() == element_type::INT64 || phone->type() == element_type::UINT64) {
      raw = simdjson::minify(*phone);
    } else {
      v.Add(path + "phone", "must be a string");
    }
    if (!raw.empty()) {
      auto normalised = NormalizePhone(raw, options.default_phone_region);
      if (normalised) {
        patch.phone = *normalised;
      } else {
        v.Add(path + "phone", "is not a valid phone number");
      }
    }
  }
  if (ReadString(traits, "name", text, path, v, 200)) {
    patch.name = text;
  } else {
    std::string first, last;
    bool has_first = ReadString(traits, "firstName", first, path, v, 100) ||
                     ReadString(traits, "first_name", first, path, v, 100);
    bool has_last = ReadString(traits, "lastName", last, path, v, 100) ||
                    ReadString(traits, "last_name", last, path, v, 100);
    if (has_first || has_last) {
      auto is_ascii = [](const std::string& s) {
        return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
      };
      // Chinese names are written family name first without a space (李 + 雷 = 李雷).
      if (!is_ascii(first) || !is_ascii(last)) {
        patch.name = last + first;
      } else {
        patch.name = first.empty() ? last : last.empty() ? first : first + " " + last;
      }
    }
  }
  if (ReadString(traits, "gender", text, path, v, 32)) {
    auto gender = NormalizeGender(text);
    if (gender) {
      patch.gender = *gender;
    } else {
      v.Add(path + "gender", "must be male, female or other");
    }
  }
  if (ReadString(traits, "birthday", text, path, v, 64)) {
    // Segment sends birthday as an ISO date or date-time; keep the calendar date.
    auto date = NormalizeDate(text.substr(0, std::min<size_t>(text.size(), 10)));
    if (date) {
      patch.birthday = *date;
    } else {
      v.Add(path + "birthday", "is not a date");
    }
  }
  auto read_place = [&](object obj, const std::string& at) {
    if (ReadString(obj, "city", text, at, v, 100)) patch.city = text;
    if (ReadString(obj, "country", text, at, v, 100)) {
      auto country = NormalizeCountry(text);
      if (country) {
        patch.country = *country;
      } else {
        v.Add(at + "country", "is not a known country");
      }
    }
  };
  read_place(traits, path);
  if (auto address = Field(traits, "address")) {
    object address_obj;
    if (address->get_object().get(address_obj) == simdjson::SUCCESS) {
      read_place(address_obj, path + "address.");
    } else {
      v.Add(path + "address", "must be an object");
    }
  }
  std::string custom = "{";
  for (auto [key, value] : traits) {
    if (std::find(std::begin(kKnown), std::end(kKnown), key) != std::end(kKnown)) continue;
    if (custom.size() > 1) custom += ',';
    std::string key_json = "\"";
    for (char c : key) {
      if (c == '"' || c == '\\') key_json += '\\';
      if (static_cast<unsigned char>(c) < 0x20) continue;
      key_json += c;
    }
    custom += key_json + "\":" + simdjson::minify(value);
  }
  patch.custom_traits_json = custom + "}";
  return patch;
}

// traits.consent: {"policy_version"?: string, <purpose>: bool | {<channel>: bool}}; names from privacy/.
std::vector<ConsentTrait> ReadConsentTraits(object traits, const std::string& path, Violations& v) {
  std::vector<ConsentTrait> out;
  auto consent = Field(traits, "consent");
  if (!consent) return out;
  std::string at = path + "consent";
  object obj;
  if (consent->get_object().get(obj) != simdjson::SUCCESS) {
    v.Add(at, "must be an object of purpose: true|false or purpose: {channel: true|false}");
    return out;
  }
  std::string policy;
  if (auto p = Field(obj, "policy_version")) {
    std::string_view text;
    if (p->get_string().get(text) != simdjson::SUCCESS || text.size() > 64) {
      v.Add(at + ".policy_version", "must be a string of at most 64 bytes");
    } else {
      policy = std::string(text);
    }
  }
  auto valid_purpose = [](std::string_view p) {
    return std::find(privacy::kPurposes.begin(), privacy::kPurposes.end(), p) != privacy::kPurposes.end();
  };
  for (auto [key, value] : obj) {
    if (key == "policy_version") continue;
    std::string field = at + "." + std::string(key);
    if (!valid_purpose(key)) {
      v.Add(field, "is not a purpose (marketing, profiling, third_party_sharing, sensitive, cross_border)");
      continue;
    }
    bool granted = false;
    if (value.get_bool().get(granted) == simdjson::SUCCESS) {
      out.push_back({std::string(key), "", granted, policy});
      continue;
    }
    object channels;
    if (value.get_object().get(channels) != simdjson::SUCCESS) {
      v.Add(field, "must be true, false or an object of channel: true|false");
      continue;
    }
    for (auto [channel, flag] : channels) {
      storage::ConsentRecord check;
      check.purpose = std::string(key);
      check.channel = std::string(channel);
      check.granted = true;
      check.lawful_basis = "consent";
      check.source = "ingest";
      if (auto valid = privacy::ValidateConsent(check); !valid) {
        v.Add(field + "." + std::string(channel), valid.error().violations().empty()
                                                      ? valid.error().message()
                                                      : valid.error().violations().front().reason);
        continue;
      }
      if (flag.get_bool().get(granted) != simdjson::SUCCESS) {
        v.Add(field + "." + std::string(channel), "must be true or false");
        continue;
      }
      out.push_back({std::string(key), std::string(channel), granted, policy});
    }
  }
  return out;
}

std::optional<OrderFromEvent> ReadOrder(object properties, const std::string& path, const ParseOptions& options,
                                        Violations& v) {
  OrderFromEvent order;
  if (!ReadId(properties, "order_id", order.order_id, path, v)) {
    v.Add(path + "order_id", "is required for Order Completed");
    return std::nullopt;
  }
  std::string currency = options.default_currency;
  std::string raw_currency;
  if (ReadString(properties, "currency", raw_currency, path, v, 8)) {
    auto normalised = NormalizeCurrency(raw_currency);
    if (!normalised) {
      v.Add(path + "currency", "must be a three-letter ISO 4217 code");
      return std::nullopt;
    }
    currency = *normalised;
  }
  order.total.currency = currency;
  bool bad = false;
  int64_t items_sum = 0;
  if (auto products = Field(properties, "products")) {
    simdjson::dom::array list;
    if (products->get_array().get(list) != simdjson::SUCCESS) {
      v.Add(path + "products", "must be an array");
      return std::nullopt;
    }
    size_t index = 0;
    for (element item : list) {
      std::string at = path + "products[" + std::to_string(index++) + "].";
      object p;
      if (item.get_object().get(p) != simdjson::SUCCESS) {
        v.Add(at.substr(0, at.size() - 1), "must be an object");
        bad = true;
        continue;
      }
      OrderFromEvent::Line line;
      if (!ReadId(p, "sku", line.sku, at, v) && !ReadId(p, "product_id", line.sku, at, v)) {
        v.Add(at + "sku", "sku or product_id is required");
        bad = true;
      }
      ReadString(p, "name", line.name, at, v, 200);
      ReadString(p, "category", line.category, at, v, 100);
      if (auto q = Field(p, "quantity")) {
        auto n = ReadNumber(*q);
        if (!n || *n < 1 || *n != std::floor(*n) || *n > 1e6) {
          v.Add(at + "quantity", "must be a positive whole number");
          bad = true;
        } else {
          line.quantity = static_cast<int64_t>(*n);
        }
      }
      if (auto price = Field(p, "price")) {
        auto n = ReadNumber(*price);
        auto minor = n ? DecimalToMinor(*n, currency) : Result<int64_t>(Error::InvalidArgument("price"));
        if (!minor || *minor < 0) {
          v.Add(at + "price", "must be a non-negative number");
          bad = true;
        } else {
          line.unit_price_minor = *minor;
        }
      }
      items_sum += line.unit_price_minor * line.quantity;
      order.lines.push_back(std::move(line));
    }
  }
  std::optional<element> total = Field(properties, "total");
  if (!total) total = Field(properties, "revenue");
  if (total) {
    auto n = ReadNumber(*total);
    auto minor = n ? DecimalToMinor(*n, currency) : Result<int64_t>(Error::InvalidArgument("total"));
    if (!minor || *minor < 0) {
      v.Add(path + "total", "must be a non-negative number");
      bad = true;
    } else {
      order.total.minor = *minor;
    }
  } else {
    order.total.minor = items_sum;
  }
  if (bad) return std::nullopt;
  return order;
}

Result<SegmentMessage> ReadMessage(element value, std::string_view forced_type, const std::string& path,
                                   Timestamp received_at, std::optional<Timestamp> batch_sent_at,
                                   const std::string& batch_context, const ParseOptions& options, Violations& v) {
  object obj;
  if (value.get_object().get(obj) != simdjson::SUCCESS) {
    v.Add(path.empty() ? "body" : path.substr(0, path.size() - 1), "must be a JSON object");
    return Error::InvalidArgument("message");
  }
  if (simdjson::minify(value).size() > kMaxMessageBytes) {
    return Error::ResourceExhausted((path.empty() ? std::string("message") : path.substr(0, path.size() - 1)) +
                                    " is larger than 32 KB");
  }
  SegmentMessage m;
  m.received_at = received_at;
  if (forced_type.empty()) {
    if (!ReadString(obj, "type", m.type, path, v, 16)) {
      v.Add(path + "type", "is required");
    } else if (std::find(std::begin(kTypes), std::end(kTypes), m.type) == std::end(kTypes)) {
      v.Add(path + "type", "must be one of identify, track, page, screen, group, alias");
    }
  } else {
    m.type = std::string(forced_type);
  }
  ReadId(obj, "userId", m.user_id, path, v);
  ReadId(obj, "anonymousId", m.anonymous_id, path, v);
  ReadId(obj, "messageId", m.message_id, path, v);
  if (m.type == "alias") {
    if (!ReadId(obj, "previousId", m.previous_id, path, v)) v.Add(path + "previousId", "is required for alias");
    if (m.user_id.empty()) v.Add(path + "userId", "is required for alias");
  } else if (m.user_id.empty() && m.anonymous_id.empty()) {
    v.Add(path + "userId", "userId or anonymousId is required");
  }
  if (m.type == "track") {
    if (!ReadString(obj, "event", m.event, path, v, 200) || m.event.empty()) v.Add(path + "event", "is required");
  }
  if (m.type == "page" || m.type == "screen") ReadString(obj, "name", m.name, path, v, 200);
  if (m.type == "group" && !ReadId(obj, "groupId", m.group_id, path, v)) v.Add(path + "groupId", "is required");
  m.properties_json = ReadObjectJson(obj, "properties", path, v);
  m.traits_json = ReadObjectJson(obj, "traits", path, v);
  m.context_json = ReadObjectJson(obj, "context", path, v);
  if (m.context_json == "{}" && !batch_context.empty()) m.context_json = batch_context;

  auto timestamp = ReadTime(obj, "timestamp", path, v);
  auto original = ReadTime(obj, "originalTimestamp", path, v);
  m.sent_at = ReadTime(obj, "sentAt", path, v);
  if (!m.sent_at) m.sent_at = batch_sent_at;
  Timestamp happened = timestamp ? *timestamp : original ? *original : received_at;
  // Segment's clock-skew correction: a device clock that is off shifts sentAt by the same amount, so move the
  // event by (receivedAt - sentAt) when the two disagree by more than a minute.
  if (m.sent_at && !timestamp && original) {
    auto skew = received_at - *m.sent_at;
    if (skew > std::chrono::minutes(1) || skew < -std::chrono::minutes(1)) happened += skew;
  }
  m.timestamp = happened;
  if (m.message_id.empty()) {
    // Without a messageId retries cannot be recognised; derive a stable one from the content, as a retry of the
    // same message carries the same content.
    m.message_id = "derived-" + std::to_string(std::hash<std::string>{}(simdjson::minify(value)));
  }

  object traits;
  element traits_value;
  if (m.type == "identify" || m.type == "group") {
    if (obj["traits"].get(traits_value) == simdjson::SUCCESS && traits_value.get_object().get(traits) == simdjson::SUCCESS &&
        m.type == "identify") {
      m.profile = ReadProfile(traits, path + "traits.", options, v);
      m.consents = ReadConsentTraits(traits, path + "traits.", v);
    }
  } else {
    element context;
    if (obj["context"].get(context) == simdjson::SUCCESS && context["traits"].get(traits_value) == simdjson::SUCCESS &&
        traits_value.get_object().get(traits) == simdjson::SUCCESS) {
      m.profile = ReadProfile(traits, path + "context.traits.", options, v);
      m.consents = ReadConsentTraits(traits, path + "context.traits.", v);
    }
  }
  if (m.type == "track" && m.event == "Order Completed") {
    object properties;
    element properties_value;
    if (obj["properties"].get(properties_value) == simdjson::SUCCESS &&
        properties_value.get_object().get(properties) == simdjson::SUCCESS) {
      m.order = ReadOrder(properties, path + "properties.", options, v);
    } else {
      v.Add(path + "properties.order_id", "is required for Order Completed");
    }
  }
  return m;
}

}  // namespace

Result<std::vector<SegmentMessage>> ParseSegmentRequest(std::string_view body, std::string_view type,
                                                        Timestamp received_at, const ParseOptions& options) {
  if (body.size() > kMaxBatchBytes) return Error::ResourceExhausted("request body is larger than 500 KB");
  bool batch = type == "batch" || type == "import";
  if (!batch && std::find(std::begin(kTypes), std::end(kTypes), type) == std::end(kTypes)) {
    return Error::NotFound("unknown message type " + std::string(type));
  }
  thread_local simdjson::dom::parser parser;  // a parser reuses its buffers; one per thread
  element root;
  if (auto error = parser.parse(body.data(), body.size()).get(root); error) {
    return Error::InvalidField("body", std::string("is not valid JSON: ") + simdjson::error_message(error));
  }
  Violations v;
  std::vector<SegmentMessage> messages;
  if (!batch) {
    auto m = ReadMessage(root, type, "", received_at, std::nullopt, "", options, v);
    if (!m && m.error().code() == ErrorCode::kResourceExhausted) return std::move(m.error());
    if (!v.empty()) return std::move(v).Take();
    messages.push_back(std::move(m).value());
    return messages;
  }
  object obj;
  simdjson::dom::array list;
  if (root.get_object().get(obj) != simdjson::SUCCESS) return Error::InvalidField("body", "must be a JSON object");
  if (obj["batch"].get_array().get(list) != simdjson::SUCCESS) {
    return Error::InvalidField("batch", "is required and must be an array");
  }
  auto sent_at = ReadTime(obj, "sentAt", "", v);
  std::string batch_context;
  if (auto context = Field(obj, "context"); context && context->type() == element_type::OBJECT) {
    batch_context = simdjson::minify(*context);
  }
  if (list.size() == 0) return Error::InvalidField("batch", "must not be empty");
  size_t index = 0;
  for (element item : list) {
    std::string path = "batch[" + std::to_string(index++) + "].";
    auto m = ReadMessage(item, "", path, received_at, sent_at, batch_context, options, v);
    if (!m) {
      if (m.error().code() == ErrorCode::kResourceExhausted) return std::move(m.error());
      continue;
    }
    messages.push_back(std::move(m).value());
  }
  if (!v.empty()) return std::move(v).Take();
  return messages;
}

}  // namespace panorama::ingest
