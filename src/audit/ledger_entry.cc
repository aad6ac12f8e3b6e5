#include "audit/ledger_entry.h"

#include <sodium.h>

#include <charconv>

namespace panorama::audit {
namespace {

constexpr std::string_view kDomain = "pano-ledger-v1";

void AppendString(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void AppendArray(std::string& out, const std::vector<std::string>& items) {
  out += '[';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    AppendString(out, items[i]);
  }
  out += ']';
}

// A cursor over exactly the documents CanonicalJson writes; anything else is rejected.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  bool Consume(std::string_view token) {
    if (text_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }
  bool Key(std::string_view key, bool first) {
    if (!first && !Consume(",")) return false;
    return Consume("\"") && Consume(key) && Consume("\":");
  }
  std::optional<std::string> String() {
    if (!Consume("\"")) return std::nullopt;
    std::string out;
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) return std::nullopt;
      char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned value = 0;
          if (pos_ + 4 > text_.size()) return std::nullopt;
          auto [p, ec] = std::from_chars(text_.data() + pos_, text_.data() + pos_ + 4, value, 16);
          if (ec != std::errc() || p != text_.data() + pos_ + 4 || value >= 0x20) return std::nullopt;
          out += static_cast<char>(value);
          pos_ += 4;
          break;
        }
        default: return std::nullopt;
      }
    }
    return std::nullopt;
  }
  std::optional<std::vector<std::string>> Array() {
    if (!Consume("[")) return std::nullopt;
    std::vector<std::string> out;
    if (Consume("]")) return out;
    while (true) {
      auto s = String();
      if (!s) return std::nullopt;
      out.push_back(std::move(*s));
      if (Consume("]")) return out;
      if (!Consume(",")) return std::nullopt;
    }
  }
  std::optional<int64_t> Int() {
    int64_t value = 0;
    auto [p, ec] = std::from_chars(text_.data() + pos_, text_.data() + text_.size(), value);
    if (ec != std::errc()) return std::nullopt;
    pos_ = static_cast<size_t>(p - text_.data());
    return value;
  }
  bool AtEnd() const { return pos_ == text_.size(); }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

std::string CanonicalJson(const LedgerEntry& e) {
  std::string out;
  out.reserve(256);
  out += "{\"action\":";
  AppendString(out, e.action);
  out += ",\"actor\":";
  AppendString(out, e.actor);
  out += ",\"at\":" + std::to_string(ToUnixMillis(e.at));
  out += ",\"fields\":";
  AppendArray(out, e.fields);
  out += ",\"ids\":";
  AppendArray(out, e.ids);
  out += ",\"ip\":";
  AppendString(out, e.ip);
  out += ",\"object_id\":";
  AppendString(out, e.object_id);
  out += ",\"object_type\":";
  AppendString(out, e.object_type);
  out += ",\"outcome\":";
  AppendString(out, e.outcome);
  out += ",\"request_id\":";
  AppendString(out, e.request_id);
  out += ",\"seq\":" + std::to_string(e.seq);
  out += '}';
  return out;
}

Result<LedgerEntry> ParseCanonicalJson(std::string_view json) {
  Reader r(json);
  LedgerEntry e;
  auto string_field = [&](std::string_view key, std::string& into, bool first = false) -> Result<void> {
    if (!r.Key(key, first)) return Error::InvalidField(std::string(key), "is missing or out of order");
    auto s = r.String();
    if (!s) return Error::InvalidField(std::string(key), "is not a string");
    into = std::move(*s);
    return Ok();
  };
  auto array_field = [&](std::string_view key, std::vector<std::string>& into) -> Result<void> {
    if (!r.Key(key, false)) return Error::InvalidField(std::string(key), "is missing or out of order");
    auto a = r.Array();
    if (!a) return Error::InvalidField(std::string(key), "is not an array of strings");
    into = std::move(*a);
    return Ok();
  };
  if (!r.Consume("{")) return Error::InvalidField("body", "is not a JSON object");
  RETURN_IF_ERROR(string_field("action", e.action, true));
  RETURN_IF_ERROR(string_field("actor", e.actor));
  if (!r.Key("at", false)) return Error::InvalidField("at", "is missing or out of order");
  auto at = r.Int();
  if (!at) return Error::InvalidField("at", "is not an integer");
  e.at = FromUnixMillis(*at);
  RETURN_IF_ERROR(array_field("fields", e.fields));
  RETURN_IF_ERROR(array_field("ids", e.ids));
  RETURN_IF_ERROR(string_field("ip", e.ip));
  RETURN_IF_ERROR(string_field("object_id", e.object_id));
  RETURN_IF_ERROR(string_field("object_type", e.object_type));
  RETURN_IF_ERROR(string_field("outcome", e.outcome));
  RETURN_IF_ERROR(string_field("request_id", e.request_id));
  if (!r.Key("seq", false)) return Error::InvalidField("seq", "is missing or out of order");
  auto seq = r.Int();
  if (!seq) return Error::InvalidField("seq", "is not an integer");
  e.seq = *seq;
  if (!r.Consume("}") || !r.AtEnd()) return Error::InvalidField("body", "has trailing content");
  return e;
}

Hash Sha256(std::string_view data) {
  Hash out;
  crypto_hash_sha256(out.data(), reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return out;
}

Hash EntryHash(const Hash& prev_hash, std::string_view canonical_json) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(kDomain.data()), kDomain.size());
  crypto_hash_sha256_update(&state, prev_hash.data(), prev_hash.size());
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(canonical_json.data()),
                            canonical_json.size());
  Hash out;
  crypto_hash_sha256_final(&state, out.data());
  return out;
}

std::string ToHex(const Hash& hash) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(64, '0');
  for (size_t i = 0; i < hash.size(); ++i) {
    out[2 * i] = kDigits[hash[i] >> 4];
    out[2 * i + 1] = kDigits[hash[i] & 0xF];
  }
  return out;
}

std::optional<Hash> HashFromHex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  Hash out;
  for (size_t i = 0; i < 32; ++i) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, value, 16);
    if (ec != std::errc() || p != hex.data() + 2 * i + 2) return std::nullopt;
    out[i] = static_cast<unsigned char>(value);
  }
  return out;
}

}  // namespace panorama::audit
