// R14: the field normalisers every import and API write goes through. Each result is checked for the
// property the Store relies on (idempotence of the canonical form, no personal data in error reasons).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ingest/normalize.h"

using namespace panorama::ingest;

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // inputs come from bounded fields; keeps each run well under 1 s
  std::string_view raw(reinterpret_cast<const char*>(data), size);

  (void)TrimUtf8(raw);
  (void)FoldFullWidth(raw);
  (void)PhoneDigits(raw);
  (void)NormalizeExternalId(raw);
  (void)MaskValue("email", raw);
  (void)MaskValue("phone", raw);
  std::string masked = MaskValue("name", raw);
  Check(masked.size() <= 32 * 4 + 3);

  if (auto phone = NormalizePhone(raw, "CN")) {
    Check(!phone->empty() && (*phone)[0] == '+');
    auto again = NormalizePhone(*phone, "CN");
    Check(again && *again == *phone);
  }
  if (auto email = NormalizeEmail(raw)) {
    Check(email->size() <= 254 && email->find('@') != std::string::npos);
    auto again = NormalizeEmail(*email);
    Check(again && *again == *email);
  } else if (size >= 8 && size < 100 && raw.find('@') != std::string_view::npos) {
    // Reasons never repeat a rejected address. Only inputs that look like one are checked: a short word such
    // as "email" legitimately appears in the message as the field name (fuzz/corpus/fuzz_normalize/field-name).
    Check(email.error().message().find(std::string(raw)) == std::string::npos);
  }
  if (auto country = NormalizeCountry(raw)) Check(country->size() == 2);
  (void)NormalizeGender(raw);
  for (DateOrder order : {DateOrder::kYmd, DateOrder::kMdy, DateOrder::kDmy}) {
    if (auto date = NormalizeDate(raw, order)) {
      Check(date->size() == 10);
      auto again = NormalizeDate(*date, DateOrder::kYmd);
      Check(again && *again == *date);
    }
    (void)ParseLocalDateTime(raw, order, 480);
  }
  return 0;
}
