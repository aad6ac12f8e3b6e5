#include "ingest/normalize.h"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>
#include <unicode/locid.h>
#include <unicode/uloc.h>
#include <unicode/unistr.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <unordered_map>
#include <vector>

#include "ingest/internal/utf8.h"

namespace panorama::ingest {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

constexpr size_t kMaxPhoneInputBytes = 64;
constexpr size_t kMaxEmailBytes = 254;  // RFC 5321 §4.5.3.1.3 path limit minus the angle brackets

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
char AsciiUpper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

// Byte length of a multi-byte white-space code point we trim at s[i], or 0.
size_t UnicodeSpaceAt(std::string_view s, size_t i) {
  static constexpr std::string_view kSpaces[] = {
      "\xC2\xA0",      // U+00A0 NO-BREAK SPACE
      "\xE3\x80\x80",  // U+3000 IDEOGRAPHIC SPACE
      "\xEF\xBB\xBF",  // U+FEFF BOM / ZERO WIDTH NO-BREAK SPACE
      "\xE2\x80\x8B",  // U+200B ZERO WIDTH SPACE
  };
  for (std::string_view sp : kSpaces) {
    if (s.substr(i, sp.size()) == sp) {
      return sp.size();
    }
  }
  return 0;
}

size_t UnicodeSpaceEndingAt(std::string_view s, size_t end) {
  for (size_t len : {size_t{2}, size_t{3}}) {
    if (end >= len && UnicodeSpaceAt(s, end - len) == len) {
      return len;
    }
  }
  return 0;
}

std::string AsciiLowerString(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = AsciiLower(c);
  }
  return out;
}

bool IsAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return false;
    }
  }
  return true;
}

// ICU's root-locale lower-casing (not case folding, which would turn "ß" into "ss" and change the
// address).
std::string UnicodeLower(std::string_view s) {
  if (IsAscii(s)) {
    return AsciiLowerString(s);
  }
  std::string out;
  icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())))
      .toLower(icu::Locale::getRoot())
      .toUTF8String(out);
  return out;
}

Error PhoneError(std::string reason) { return Error::InvalidField("phone", std::move(reason)); }
Error EmailError(std::string reason) { return Error::InvalidField("email", std::move(reason)); }

// RFC 5322 §3.2.3 atext, without the characters ("/", "|", "`", "{", "}") that no mail provider
// accepts and that mostly appear when a field separator leaked into the cell.
bool IsLocalPartChar(char c) {
  static constexpr std::string_view kSpecials = "!#$%&'*+=?^_~-";
  return IsAlpha(c) || IsDigit(c) || kSpecials.find(c) != std::string_view::npos ||
         static_cast<unsigned char>(c) >= 0x80;  // RFC 6531 internationalised local parts
}

Result<void> CheckDomain(std::string_view domain) {
  if (domain.empty()) {
    return EmailError("domain is empty");
  }
  if (domain.back() == '.') {
    domain.remove_suffix(1);  // the root label: "example.com." is "example.com"
  }
  size_t label_count = 0;
  std::string_view last_label;
  size_t start = 0;
  while (start <= domain.size()) {
    size_t dot = domain.find('.', start);
    if (dot == std::string_view::npos) {
      dot = domain.size();
    }
    std::string_view label = domain.substr(start, dot - start);
    if (label.empty()) {
      return EmailError("domain has an empty label");
    }
    if (label.size() > 63) {
      return EmailError("domain label is longer than 63 bytes");
    }
    if (label.front() == '-' || label.back() == '-') {
      return EmailError("domain label starts or ends with a hyphen");
    }
    for (size_t i = 0; i < label.size(); ++i) {
      const char c = label[i];
      if (!(IsAlpha(c) || IsDigit(c) || c == '-' || static_cast<unsigned char>(c) >= 0x80)) {
        return EmailError("domain contains a character that is not allowed");
      }
      // Non-ASCII is allowed for internationalised names, but not a Unicode space (U+00A0, U+3000, …): it would
      // also make the canonical form change when normalised again (fuzz_normalize found "…\u00a0." ).
      if (static_cast<unsigned char>(c) >= 0x80 && UnicodeSpaceAt(label, i) != 0) {
        return EmailError("domain contains a space");
      }
    }
    ++label_count;
    last_label = label;
    start = dot + 1;
  }
  if (label_count < 2) {
    return EmailError("domain needs at least two labels");
  }
  bool all_digits = true;
  for (char c : last_label) {
    all_digits = all_digits && IsDigit(c);
  }
  if (all_digits) {
    return EmailError("top-level domain is numeric");
  }
  return Ok();
}

// Key under which country names are looked up: lower case, without spaces and punctuation, so that
// "United States", "united-states" and "U.S." meet.
std::string CountryKey(std::string_view raw) {
  std::string lower = UnicodeLower(FoldFullWidth(raw));
  std::string key;
  static constexpr std::string_view kDropped = " \t.,-_'()&·";
  for (char c : lower) {
    if (kDropped.find(c) == std::string_view::npos) {
      key.push_back(c);
    }
  }
  return key;
}

std::unordered_map<std::string, std::string> BuildCountryIndex() {
  std::unordered_map<std::string, std::string> index;
  // Codes first so that a name can never shadow a code.
  std::vector<std::string> codes;
  for (const char* const* p = uloc_getISOCountries(); *p != nullptr; ++p) {
    codes.emplace_back(*p);
  }
  for (const std::string& code : codes) {
    index.emplace(AsciiLowerString(code), code);
    std::string locale = "und_" + code;
    std::string alpha3 = uloc_getISO3Country(locale.c_str());
    if (!alpha3.empty()) {
      index.emplace(AsciiLowerString(alpha3), code);
    }
  }
  // Display names in the languages our users write: English, simplified and traditional Chinese.
  for (const char* display_locale : {"en", "zh", "zh_Hant"}) {
    for (const std::string& code : codes) {
      std::string locale = "und_" + code;
      std::array<UChar, 128> buffer{};
      UErrorCode status = U_ZERO_ERROR;
      int32_t length = uloc_getDisplayCountry(locale.c_str(), display_locale, buffer.data(),
                                              static_cast<int32_t>(buffer.size()), &status);
      if (U_FAILURE(status) || status == U_USING_DEFAULT_WARNING || length <= 0) {
        continue;
      }
      std::string name;
      icu::UnicodeString(buffer.data(), length).toUTF8String(name);
      std::string key = CountryKey(name);
      if (!key.empty() && key != AsciiLowerString(code)) {
        index.emplace(key, code);
      }
    }
  }
  // What people write that ICU does not list: short forms, constituent countries, older names, and
  // the Chinese usages for mainland China, Hong Kong, Macao and Taiwan.
  static constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
      {"uk", "GB"},
      {"greatbritain", "GB"},
      {"britain", "GB"},
      {"england", "GB"},
      {"scotland", "GB"},
      {"wales", "GB"},
      {"northernireland", "GB"},
      {"unitedstatesofamerica", "US"},
      {"america", "US"},
      {"prc", "CN"},
      {"mainlandchina", "CN"},
      {"chinamainland", "CN"},
      {"peoplesrepublicofchina", "CN"},
      {"hongkong", "HK"},
      {"macau", "MO"},
      {"macao", "MO"},
      {"taiwan", "TW"},
      {"korea", "KR"},
      {"southkorea", "KR"},
      {"republicofkorea", "KR"},
      {"northkorea", "KP"},
      {"russia", "RU"},
      {"vietnam", "VN"},
      {"turkey", "TR"},
      {"czechrepublic", "CZ"},
      {"holland", "NL"},
      {"uae", "AE"},
      {"eire", "IE"},
      {"rsa", "ZA"},
      {"ivorycoast", "CI"},
      {"中国大陆", "CN"},
      {"大陆", "CN"},
      {"内地", "CN"},
      {"中华人民共和国", "CN"},
      {"中國大陸", "CN"},
      {"香港", "HK"},
      {"中国香港", "HK"},
      {"中國香港", "HK"},
      {"澳门", "MO"},
      {"澳門", "MO"},
      {"中国澳门", "MO"},
      {"台湾", "TW"},
      {"台灣", "TW"},
      {"中国台湾", "TW"},
      {"中華民國", "TW"},
      {"韩国", "KR"},
      {"南韩", "KR"},
      {"韓國", "KR"},
      {"朝鲜", "KP"},
      {"英國", "GB"},
      {"美國", "US"},
      {"阿联酋", "AE"},
      {"澳洲", "AU"},
  };
  for (const auto& [alias, code] : kAliases) {
    index.emplace(CountryKey(alias), std::string(code));
  }
  return index;
}

const std::unordered_map<std::string, std::string>& CountryIndex() {
  static const auto* const index =
      new std::unordered_map<std::string, std::string>(BuildCountryIndex());
  return *index;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

struct CivilDate {
  int year = 0;
  int month = 0;
  int day = 0;
};

bool AllDigits(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!IsDigit(c)) {
      return false;
    }
  }
  return true;
}

int ToInt(std::string_view digits) {
  int v = 0;
  for (char c : digits) {
    v = v * 10 + (c - '0');
  }
  return v;
}

Error DateError(std::string reason) { return Error::InvalidField("date", std::move(reason)); }

// Parses the date forms NormalizeDate documents; `text` is already trimmed and folded to ASCII
// digits.
Result<CivilDate> ParseCivilDate(std::string_view text, DateOrder order) {
  std::string s(text);
  // "2024年5月1日": the Chinese form is always year-month-day.
  for (std::string_view marker : {std::string_view("年"), std::string_view("月")}) {
    size_t at = s.find(marker);
    if (at != std::string::npos) {
      s.replace(at, marker.size(), "-");
    }
  }
  std::string_view day_marker = "日";
  if (s.size() >= day_marker.size() && s.ends_with(day_marker)) {
    s.resize(s.size() - day_marker.size());
  }

  std::vector<std::string_view> parts;
  std::string_view view = s;
  if (AllDigits(view) && view.size() == 8) {
    parts = {view.substr(0, 4), view.substr(4, 2), view.substr(6, 2)};
  } else {
    char separator = 0;
    size_t start = 0;
    for (size_t i = 0; i <= view.size(); ++i) {
      if (i == view.size() || view[i] == '-' || view[i] == '/' || view[i] == '.') {
        if (i < view.size()) {
          if (separator != 0 && view[i] != separator) {
            return DateError("mixes separators");
          }
          separator = view[i];
        }
        parts.push_back(view.substr(start, i - start));
        start = i + 1;
      }
    }
  }
  if (parts.size() != 3) {
    return DateError("is not a date (expected YYYY-MM-DD)");
  }
  for (std::string_view p : parts) {
    if (!AllDigits(p)) {
      return DateError("is not a date (expected YYYY-MM-DD)");
    }
  }
  std::string_view y, m, d;
  if (parts[0].size() == 4) {
    y = parts[0], m = parts[1], d = parts[2];
  } else if (parts[2].size() == 4 && order == DateOrder::kMdy) {
    m = parts[0], d = parts[1], y = parts[2];
  } else if (parts[2].size() == 4 && order == DateOrder::kDmy) {
    d = parts[0], m = parts[1], y = parts[2];
  } else if (parts[2].size() == 4) {
    return DateError(
        "day and month order is ambiguous; write YYYY-MM-DD or set the date order to mdy or dmy");
  } else {
    return DateError("year must have four digits");
  }
  if (m.size() > 2 || d.size() > 2) {
    return DateError("is not a date (expected YYYY-MM-DD)");
  }
  CivilDate date{ToInt(y), ToInt(m), ToInt(d)};
  if (date.year < 1) {
    return DateError("year is out of range");
  }
  if (date.month < 1 || date.month > 12) {
    return DateError("month is out of range");
  }
  if (date.day < 1 || date.day > DaysInMonth(date.year, date.month)) {
    return DateError("day does not exist in that month");
  }
  return date;
}

}  // namespace

std::string_view TrimUtf8(std::string_view text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end) {
    if (IsAsciiSpace(text[begin])) {
      ++begin;
    } else if (size_t n = UnicodeSpaceAt(text, begin); n != 0) {
      begin += n;
    } else {
      break;
    }
  }
  while (end > begin) {
    if (IsAsciiSpace(text[end - 1])) {
      --end;
    } else if (size_t n = UnicodeSpaceEndingAt(text, end); n != 0 && end - n >= begin) {
      end -= n;
    } else {
      break;
    }
  }
  return text.substr(begin, end - begin);
}

std::string FoldFullWidth(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    // U+FF01..U+FF5E are EF BC 81..EF BC BF and EF BD 80..EF BD 9E; they map to U+0021..U+007E.
    if (i + 2 < text.size() && static_cast<unsigned char>(text[i]) == 0xEF) {
      auto b1 = static_cast<unsigned char>(text[i + 1]);
      auto b2 = static_cast<unsigned char>(text[i + 2]);
      uint32_t cp = ((0xEFu & 0x0F) << 12) | ((b1 & 0x3Fu) << 6) | (b2 & 0x3Fu);
      if ((b1 == 0xBC || b1 == 0xBD) && b2 >= 0x80 && b2 <= 0xBF && cp >= 0xFF01 && cp <= 0xFF5E) {
        out.push_back(static_cast<char>(cp - 0xFF01 + 0x21));
        i += 3;
        continue;
      }
    }
    if (text.substr(i, 3) == "\xE3\x80\x80") {
      out.push_back(' ');
      i += 3;
      continue;
    }
    out.push_back(text[i]);
    ++i;
  }
  return out;
}

// libphonenumber's PhoneNumberUtil is a process-wide singleton created under pthread_once on Linux
// (base/memory/singleton_posix.h); its const methods are documented thread-safe, so no lock is
// needed here.
Result<std::string> NormalizePhone(std::string_view raw, std::string_view default_region) {
  std::string input = FoldFullWidth(TrimUtf8(raw));
  if (input.empty()) {
    return PhoneError("is empty");
  }
  if (input.size() > kMaxPhoneInputBytes) {
    return PhoneError("is too long");
  }
  std::string region;
  for (char c : default_region) {
    region.push_back(AsciiUpper(c));
  }

  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  switch (util.Parse(input, region, &number)) {
    case PhoneNumberUtil::NO_PARSING_ERROR:
      break;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
      return PhoneError(
          "has no valid country code (add +<country code> or set the default region)");
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
    case PhoneNumberUtil::TOO_SHORT_NSN:
      return PhoneError("is too short");
    case PhoneNumberUtil::TOO_LONG_NSN:
      return PhoneError("is too long");
    default:
      return PhoneError("is not a phone number");
  }
  if (!util.IsValidNumber(number)) {
    switch (util.IsPossibleNumberWithReason(number)) {
      case PhoneNumberUtil::TOO_SHORT:
        return PhoneError("is too short for its country");
      case PhoneNumberUtil::TOO_LONG:
        return PhoneError("is too long for its country");
      case PhoneNumberUtil::INVALID_COUNTRY_CODE:
        return PhoneError("has an unknown country code");
      default:
        return PhoneError("is not a valid number for its country");
    }
  }
  std::string e164;
  util.Format(number, PhoneNumberUtil::E164, &e164);
  return e164;
}

std::string PhoneDigits(std::string_view raw) {
  std::string digits;
  for (char c : FoldFullWidth(raw)) {
    if (IsDigit(c)) {
      digits.push_back(c);
    }
  }
  return digits;
}

Result<std::string> NormalizeEmail(std::string_view raw) {
  std::string folded =
      FoldFullWidth(TrimUtf8(raw));  // "＠" typed with a Chinese IME is still an "@"
  if (folded.empty()) {
    return EmailError("is empty");
  }
  if (folded.size() > kMaxEmailBytes) {
    return EmailError("is longer than 254 bytes");
  }
  if (!internal::IsValidUtf8(folded)) {
    return EmailError("is not valid UTF-8");
  }
  size_t at = folded.find('@');
  if (at == std::string::npos) {
    return EmailError("has no @");
  }
  if (folded.find('@', at + 1) != std::string::npos) {
    return EmailError("has more than one @");
  }
  std::string email = UnicodeLower(folded);
  at = email.find('@');
  std::string_view local = std::string_view(email).substr(0, at);
  std::string_view domain = std::string_view(email).substr(at + 1);
  if (local.empty()) {
    return EmailError("local part is empty");
  }
  if (local.size() > 64) {
    return EmailError("local part is longer than 64 bytes");
  }
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return EmailError("local part has a misplaced dot");
  }
  for (char c : local) {
    if (c != '.' && !IsLocalPartChar(c)) {
      return EmailError("local part contains a character that is not allowed");
    }
  }
  RETURN_IF_ERROR(CheckDomain(domain));
  if (email.back() == '.') {
    email.pop_back();
  }
  return email;
}

Result<std::string> NormalizeCountry(std::string_view raw) {
  std::string_view trimmed = TrimUtf8(raw);
  if (trimmed.empty()) {
    return Error::InvalidField("country", "is empty");
  }
  if (trimmed.size() > 128) {
    return Error::InvalidField("country", "is too long");
  }
  const auto& index = CountryIndex();
  auto it = index.find(CountryKey(trimmed));
  if (it == index.end()) {
    return Error::InvalidField("country", "unknown country (use an ISO 3166-1 code or name)");
  }
  return it->second;
}

Result<std::string> NormalizeGender(std::string_view raw) {
  std::string key = UnicodeLower(FoldFullWidth(TrimUtf8(raw)));
  if (key.empty()) {
    return Error::InvalidField("gender", "is empty");
  }
  static constexpr std::pair<std::string_view, std::string_view> kTable[] = {
      {"m", "male"},
      {"male", "male"},
      {"man", "male"},
      {"boy", "male"},
      {"男", "male"},
      {"男性", "male"},
      {"先生", "male"},
      {"f", "female"},
      {"female", "female"},
      {"woman", "female"},
      {"girl", "female"},
      {"w", "female"},
      {"女", "female"},
      {"女性", "female"},
      {"女士", "female"},
      {"小姐", "female"},
      {"o", "other"},
      {"other", "other"},
      {"x", "other"},
      {"non-binary", "other"},
      {"nonbinary", "other"},
      {"diverse", "other"},
      {"其他", "other"},
      {"其它", "other"},
      {"u", ""},
      {"unknown", ""},
      {"n/a", ""},
      {"prefer not to say", ""},
      {"未知", ""},
      {"保密", ""},
  };
  for (const auto& [spelling, gender] : kTable) {
    if (key == spelling) {
      return std::string(gender);
    }
  }
  return Error::InvalidField("gender", "unknown gender (use male, female or other)");
}

Result<DateOrder> ParseDateOrder(std::string_view text) {
  std::string key = AsciiLowerString(TrimUtf8(text));
  if (key == "ymd") {
    return DateOrder::kYmd;
  }
  if (key == "mdy") {
    return DateOrder::kMdy;
  }
  if (key == "dmy") {
    return DateOrder::kDmy;
  }
  return Error::InvalidField("date_order", "must be ymd, mdy or dmy");
}

Result<std::string> NormalizeDate(std::string_view raw, DateOrder order) {
  std::string text = FoldFullWidth(TrimUtf8(raw));
  if (text.empty()) {
    return DateError("is empty");
  }
  if (text.size() > 32) {
    return DateError("is too long");
  }
  ASSIGN_OR_RETURN(CivilDate date, ParseCivilDate(text, order));
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", date.year, date.month, date.day);
  return std::string(buf);
}

Result<Timestamp> ParseLocalDateTime(std::string_view raw, DateOrder order,
                                     int utc_offset_minutes) {
  auto fail = [](std::string reason) {
    return Error::InvalidField("placed_at", std::move(reason));
  };
  std::string text = FoldFullWidth(TrimUtf8(raw));
  if (text.empty()) {
    return fail("is empty");
  }
  if (text.size() > 64) {
    return fail("is too long");
  }
  const int64_t offset_ms = int64_t{utc_offset_minutes} * 60'000;

  // Strict ISO 8601 first; it treats a time without a zone as UTC, so the source offset is applied
  // here.
  if (auto iso = ParseIso8601(text)) {
    bool has_zone = text.size() > 10 && text.find_first_of("Zz+-", 10) != std::string::npos;
    return has_zone ? *iso : *iso - std::chrono::milliseconds(offset_ms);
  }

  // Spreadsheet forms: "<date> H:MM[:SS]" with any date NormalizeDate accepts, always local time.
  std::string_view view = text;
  size_t split = view.find_first_of(" T");
  std::string_view date_part = view.substr(0, split);
  std::string_view time_part =
      split == std::string_view::npos ? std::string_view() : TrimUtf8(view.substr(split + 1));
  auto date = ParseCivilDate(date_part, order);
  if (!date) {
    return fail(date.error().violations().empty() ? "is not a date"
                                                  : date.error().violations()[0].reason);
  }

  int hour = 0, minute = 0, second = 0;
  if (!time_part.empty()) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    for (size_t i = 0; i <= time_part.size(); ++i) {
      if (i == time_part.size() || time_part[i] == ':') {
        parts.push_back(time_part.substr(start, i - start));
        start = i + 1;
      }
    }
    if (parts.size() < 2 || parts.size() > 3) {
      return fail("time is not H:MM or HH:MM:SS");
    }
    for (std::string_view p : parts) {
      if (!AllDigits(p) || p.size() > 2) {
        return fail("time is not H:MM or HH:MM:SS");
      }
    }
    hour = ToInt(parts[0]);
    minute = ToInt(parts[1]);
    second = parts.size() == 3 ? ToInt(parts[2]) : 0;
    if (parts[1].size() != 2 || (parts.size() == 3 && parts[2].size() != 2)) {
      return fail("time is not H:MM or HH:MM:SS");
    }
    if (hour > 23 || minute > 59 || second > 59) {
      return fail("time is out of range");
    }
  }
  int64_t days = DaysFromCivil(date->year, static_cast<unsigned>(date->month),
                               static_cast<unsigned>(date->day));
  int64_t ms = ((days * 24 + hour) * 60 + minute) * 60'000 + int64_t{second} * 1000 - offset_ms;
  return FromUnixMillis(ms);
}

std::string NormalizeExternalId(std::string_view raw) {
  std::string_view id = TrimUtf8(raw);
  // Excel and pandas write integer ids from a column with blanks as floats ("17850.0").
  size_t dot = id.find('.');
  if (dot != std::string_view::npos && dot > 0 && dot + 1 < id.size() &&
      AllDigits(id.substr(0, dot))) {
    std::string_view fraction = id.substr(dot + 1);
    if (fraction.find_first_not_of('0') == std::string_view::npos) {
      return std::string(id.substr(0, dot));
    }
  }
  return std::string(id);
}

std::string MaskValue(std::string_view field, std::string_view value) {
  value = TrimUtf8(value);
  size_t at = value.find('@');
  if (field.find("email") != std::string_view::npos || at != std::string_view::npos) {
    if (at == std::string_view::npos || at == 0) {
      return "***";
    }
    std::string masked(value.substr(0, internal::Utf8SequenceLength(value, 0) == 0
                                           ? 1
                                           : internal::Utf8SequenceLength(value, 0)));
    masked += "***";
    std::string_view domain = value.substr(at);
    masked += domain.size() > 40 ? std::string(domain.substr(0, 40)) + "…" : std::string(domain);
    return internal::IsValidUtf8(masked) ? masked : "***";
  }
  if (field.find("phone") != std::string_view::npos) {
    std::string digits = PhoneDigits(value);
    return digits.size() <= 4 ? "***" : "***" + digits.substr(digits.size() - 4);
  }
  constexpr size_t kMaxCodePoints = 32;
  std::string out;
  size_t code_points = 0;
  for (size_t i = 0; i < value.size();) {
    size_t n = internal::Utf8SequenceLength(value, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD: the excerpt must itself be valid UTF-8
      n = 1;
    } else {
      out.append(value.substr(i, n));
    }
    i += n;
    if (++code_points == kMaxCodePoints && i < value.size()) {
      out += "…";
      break;
    }
  }
  return out;
}

}  // namespace panorama::ingest
