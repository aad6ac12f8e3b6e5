#include "security/access/masking.h"

#include <array>

namespace panorama::security::access {
namespace {

constexpr std::array<FieldRule, 16> kCustomerFields = {{
    {"id", DataClass::kInternal, MaskStyle::kNone},
    {"name", DataClass::kPersonal, MaskStyle::kPartial},
    {"email", DataClass::kPersonal, MaskStyle::kPartial},
    {"phone", DataClass::kPersonal, MaskStyle::kPartial},
    {"gender", DataClass::kPersonal, MaskStyle::kHide},
    {"birthday", DataClass::kPersonalSensitive, MaskStyle::kHide},
    {"city", DataClass::kPersonal, MaskStyle::kHide},
    {"address", DataClass::kPersonal, MaskStyle::kHide},
    {"country", DataClass::kInternal, MaskStyle::kNone},
    {"tags", DataClass::kInternal, MaskStyle::kNone},
    {"traits", DataClass::kPersonal, MaskStyle::kHide},  // free-form: may hold anything
    {"external_id", DataClass::kInternal, MaskStyle::kNone},
    {"owner_id", DataClass::kInternal, MaskStyle::kNone},
    {"team_id", DataClass::kInternal, MaskStyle::kNone},
    {"created_at", DataClass::kInternal, MaskStyle::kNone},
    {"updated_at", DataClass::kInternal, MaskStyle::kNone},
}};

// Splits UTF-8 text into code points (as byte strings); invalid bytes count as one each.
std::vector<std::string_view> CodePoints(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    n = std::min(n, text.size() - i);
    out.push_back(text.substr(i, n));
    i += n;
  }
  return out;
}

std::string Stars(size_t n) { return std::string(n, '*'); }

}  // namespace

std::string_view DataClassName(DataClass c) {
  switch (c) {
    case DataClass::kPublic:
      return "public";
    case DataClass::kInternal:
      return "internal";
    case DataClass::kPersonal:
      return "personal";
    case DataClass::kPersonalSensitive:
      return "personal-sensitive";
    case DataClass::kSecret:
      return "secret";
  }
  return "secret";
}

std::span<const FieldRule> CustomerFieldCatalogue() { return kCustomerFields; }

const FieldRule* FindCustomerField(std::string_view field) {
  for (const FieldRule& rule : kCustomerFields) {
    if (rule.field == field)
      return &rule;
  }
  return nullptr;
}

const FieldRule* SourceCustomerField(std::string_view name) {
  if (name == "age")
    return FindCustomerField("birthday");
  if (name.starts_with("traits."))
    return FindCustomerField("traits");
  return FindCustomerField(name);
}

bool CanRead(const PermissionSet& permissions, DataClass c) {
  switch (c) {
    case DataClass::kPublic:
    case DataClass::kInternal:
      return true;
    case DataClass::kPersonal:
      return permissions.Has(Permission::kPersonalRead);
    case DataClass::kPersonalSensitive:
      return permissions.Has(Permission::kPersonalRead) &&
             permissions.Has(Permission::kSensitiveRead);
    case DataClass::kSecret:
      return false;
  }
  return false;
}

bool CanReadField(const PermissionSet& permissions, std::string_view field) {
  const FieldRule* rule = FindCustomerField(field);
  return rule != nullptr && CanRead(permissions, rule->data_class);
}

std::string MaskPhone(std::string_view e164) {
  std::string digits;
  for (char c : e164) {
    if (c >= '0' && c <= '9')
      digits += c;
  }
  // Chinese mobiles are shown in their national form, the way staff read them (138****5678).
  std::string prefix;
  if (digits.size() == 13 && digits.starts_with("86")) {
    digits = digits.substr(2);
  } else if (!e164.empty() && e164.front() == '+') {
    prefix = "+";
  }
  if (digits.size() < 8)
    return prefix + Stars(digits.size() > 2 ? digits.size() - 2 : 0) +
           digits.substr(digits.size() > 2 ? digits.size() - 2 : 0);
  return prefix + digits.substr(0, 3) + Stars(digits.size() - 7) + digits.substr(digits.size() - 4);
}

std::string MaskEmail(std::string_view email) {
  size_t at = email.rfind('@');
  if (at == std::string_view::npos || at == 0)
    return Stars(3);
  auto local = CodePoints(email.substr(0, at));
  return std::string(local.front()) + "***" + std::string(email.substr(at));
}

std::string MaskName(std::string_view name) {
  std::string out;
  bool word_start = true;
  for (std::string_view cp : CodePoints(name)) {
    if (cp == " ") {
      out += ' ';
      word_start = true;
    } else if (word_start) {
      out += cp;
      word_start = false;
    } else {
      out += '*';
    }
  }
  return out;
}

std::vector<std::string> MaskCustomer(storage::CustomerRecord& c,
                                      const PermissionSet& permissions) {
  std::vector<std::string> masked;
  auto apply = [&](std::string_view field, std::string& value,
                   std::string (*partial)(std::string_view)) {
    const FieldRule* rule = FindCustomerField(field);
    if (CanRead(permissions, rule->data_class))
      return;
    masked.emplace_back(field);
    if (value.empty())
      return;
    value = rule->when_masked == MaskStyle::kPartial && partial != nullptr ? partial(value)
                                                                           : std::string();
  };
  apply("name", c.name, MaskName);
  apply("email", c.email, MaskEmail);
  apply("phone", c.phone, MaskPhone);
  apply("gender", c.gender, nullptr);
  apply("birthday", c.birthday, nullptr);
  apply("city", c.city, nullptr);
  apply("address", c.address, nullptr);
  if (!CanReadField(permissions, "traits")) {
    masked.emplace_back("traits");
    c.traits_json = "{}";
  }
  return masked;
}

std::string MaskIdentity(std::string_view type, std::string_view value,
                         const PermissionSet& permissions) {
  if (CanRead(permissions, DataClass::kPersonal))
    return std::string(value);
  if (type == "email")
    return MaskEmail(value);
  if (type == "phone")
    return MaskPhone(value);
  // user ids and anonymous ids are the source system's keys; they may still be e-mail-like, so
  // shorten them.
  auto cps = CodePoints(value);
  if (cps.size() <= 4)
    return Stars(cps.size());
  return std::string(cps[0]) + std::string(cps[1]) + Stars(cps.size() - 4) +
         std::string(cps[cps.size() - 2]) + std::string(cps.back());
}

void MaskEvent(storage::EventRecord& event, const PermissionSet& permissions) {
  if (CanRead(permissions, DataClass::kPersonal))
    return;
  event.context_json = "{}";
  if (event.type == "identify" || event.type == "group" || event.type == "alias")
    event.properties_json = "{}";
  event.anonymous_id = MaskIdentity("anonymous_id", event.anonymous_id, permissions);
  event.user_id = MaskIdentity("user_id", event.user_id, permissions);
}

void MaskInteraction(storage::InteractionRecord& interaction, const PermissionSet& permissions) {
  if (CanRead(permissions, DataClass::kPersonal))
    return;
  interaction.subject.clear();
  interaction.body.clear();
}

}  // namespace panorama::security::access
