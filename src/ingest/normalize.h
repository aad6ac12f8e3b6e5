#pragma once
// Field normalisers for data coming in through imports and the tracking API (DESIGN.md §1 "Collect and
// unify"): each takes what a person typed into a spreadsheet or form and returns the one canonical spelling
// the Store keeps, or kInvalidArgument with a single FieldViolation naming the field ("phone", "email",
// "country", "gender", "date") and the reason. Reasons never repeat the rejected value (it may be personal
// data); callers that need an excerpt mask it with MaskValue().
//
// All functions are pure and thread-safe. Input is UTF-8.

#include <string>
#include <string_view>

#include "core/result.h"
#include "core/time.h"

namespace panorama::ingest {

// Removes leading and trailing white space: ASCII space, tab, CR, LF, VT, FF, NBSP (U+00A0), the
// ideographic space (U+3000) that Chinese input methods produce, and the BOM / zero-width space
// (U+FEFF, U+200B) that copy-paste leaves behind. Returns a view into `text`.
std::string_view TrimUtf8(std::string_view text);

// Replaces full-width ASCII forms (U+FF01..U+FF5E, e.g. "１３８", "＠") by their ASCII equivalents and the
// ideographic space by a space; everything else is copied unchanged.
std::string FoldFullWidth(std::string_view text);

// Phone number to E.164 ("+8613800138000") via libphonenumber. `default_region` (ISO 3166-1 alpha-2) is
// used for numbers written without a country code; "+86…", "0086…" and full-width digits are understood.
// Errors (kInvalidArgument, field "phone"): empty, not a number, unknown country code, too short, too long,
// or not a valid number for its region.
Result<std::string> NormalizePhone(std::string_view raw, std::string_view default_region = "CN");

// The ASCII digits of a phone number as typed (full-width digits folded), for "search by the digits I
// remember": "+86 138-0013-8000" → "8613800138000". Never fails; may return "".
std::string PhoneDigits(std::string_view raw);

// Trims, folds full-width forms, lower-cases (ASCII, and non-ASCII via ICU so IDN domains such as
// "例子.公司" stay UTF-8 in lower case) and checks the syntax: one "@", a local part of 1..64 bytes of
// RFC 5322 atext and dots (no leading, trailing or doubled dot), a domain of at least two labels of 1..63
// bytes of letters, digits and hyphens (no leading or trailing hyphen), at most 254 bytes in all.
// Quoted local parts and IP-literal domains are rejected: real customers do not have them.
// Errors: kInvalidArgument, field "email".
Result<std::string> NormalizeEmail(std::string_view raw);

// ISO 3166-1 alpha-2 ("CN") from an alpha-2 or alpha-3 code in any case, an English name ("China",
// "United States", "UK"), or a Chinese name in simplified or traditional script ("中国", "中国大陆", "美國",
// "香港"). Names come from ICU's locale display names plus a small table of common aliases.
// Errors: kInvalidArgument, field "country" ("unknown country").
Result<std::string> NormalizeCountry(std::string_view raw);

// "male" | "female" | "other", or "" for an explicit "unknown"/"未知"/"prefer not to say". Accepts
// m/f/o, male/female/man/woman, 男/女/男性/女性/先生/女士/小姐, 其他, and similar. Case-insensitive.
// Errors: kInvalidArgument, field "gender".
Result<std::string> NormalizeGender(std::string_view raw);

// The order of day, month and year in dates that do not start with a four-digit year.
enum class DateOrder { kYmd, kMdy, kDmy };

// "ymd" | "mdy" | "dmy" → DateOrder. Errors: kInvalidArgument, field "date_order".
Result<DateOrder> ParseDateOrder(std::string_view text);

// A calendar date to "YYYY-MM-DD". Accepts "2024-05-01", "2024/5/1", "2024.5.1", "20240501" and
// "2024年5月1日" always; "5/1/2024" (or with - or .) as month/day/year when `order` is kMdy and as
// day/month/year when kDmy. Full-width digits are folded. The date must exist (no 2023-02-29).
// Errors: kInvalidArgument, field "date".
Result<std::string> NormalizeDate(std::string_view raw, DateOrder order = DateOrder::kYmd);

// A date and time to a UTC Timestamp. Accepts everything ParseIso8601 does, the dates NormalizeDate
// accepts followed by a time "H:MM", "HH:MM:SS" or "HH:MM:SS.fff" after a space or "T", and a date alone
// (midnight). A trailing "Z" or "+08:00"/"-0500" offset wins; otherwise the text is local time at
// `utc_offset_minutes` east of UTC (480 for China). Errors: kInvalidArgument, field "placed_at".
Result<Timestamp> ParseLocalDateTime(std::string_view raw, DateOrder order, int utc_offset_minutes);

// An identifier copied out of a spreadsheet: trimmed, and an integer that the spreadsheet turned into a
// float ("17850.0", "17850.00") back to the integer ("17850"), so the same customer matches across files.
std::string NormalizeExternalId(std::string_view raw);

// A short excerpt of a value that is safe to show in an error report: emails keep the first character of
// the local part and the domain ("j***@example.com"), phone-like values keep the last four digits
// ("***8000"), anything else is cut to 32 characters (never inside a UTF-8 sequence) with "…".
std::string MaskValue(std::string_view field, std::string_view value);

}  // namespace panorama::ingest
