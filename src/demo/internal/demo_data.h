#pragma once
// Reference tables for the demo company: names, places, products, interaction texts. Frequencies
// are approximate public figures (surnames: the 2020 census rankings published by China's Ministry
// of Public Security, rounded); they only need to look right in a console.

#include <string_view>

namespace panorama::demo::internal {

struct WeightedName {
  std::string_view text;   // UTF-8
  std::string_view latin;  // pinyin or ASCII, for e-mail local parts
  double weight;
};

struct GivenChar {
  std::string_view text;
  std::string_view pinyin;
};

struct City {
  std::string_view name;          // as customers write it: 北京, London
  std::string_view country;       // ISO 3166-1 alpha-2
  std::string_view currency;      // ISO 4217 of orders placed there
  std::string_view phone_prefix;  // country code and leading digits, e.g. "+861", "+447"
  std::string_view language;      // preferred_language trait
  int utc_offset_hours;
  double weight;
};

struct ProductKind {
  std::string_view category;  // 服装, 鞋, …
  std::string_view code;      // SKU segment
  std::string_view item;      // 羽绒服
  int min_price_cny;
  int max_price_cny;
};

struct InteractionText {
  std::string_view kind;  // note | call | email | meeting
  std::string_view subject;
  std::string_view body;
};

extern const WeightedName kChineseSurnames[];
extern const size_t kChineseSurnameCount;
extern const GivenChar kMaleGivenChars[];
extern const size_t kMaleGivenCharCount;
extern const GivenChar kFemaleGivenChars[];
extern const size_t kFemaleGivenCharCount;
extern const std::string_view kEnglishMaleNames[];
extern const size_t kEnglishMaleNameCount;
extern const std::string_view kEnglishFemaleNames[];
extern const size_t kEnglishFemaleNameCount;
extern const std::string_view kEnglishSurnames[];
extern const size_t kEnglishSurnameCount;

extern const City kDomesticCities[];
extern const size_t kDomesticCityCount;
extern const City kForeignCities[];
extern const size_t kForeignCityCount;

extern const WeightedName kDomesticEmailDomains[];
extern const size_t kDomesticEmailDomainCount;
extern const WeightedName kForeignEmailDomains[];
extern const size_t kForeignEmailDomainCount;

extern const ProductKind kProductKinds[];
extern const size_t kProductKindCount;
extern const std::string_view kProductSeries[];  // 云朵, 山野, …
extern const size_t kProductSeriesCount;
extern const std::string_view kProductVariants[];  // colours and editions
extern const size_t kProductVariantCount;

extern const std::string_view kChineseTags[];
extern const size_t kChineseTagCount;
extern const std::string_view kEnglishTags[];
extern const size_t kEnglishTagCount;
extern const WeightedName kMembershipChannels[];  // text: trait value; latin unused
extern const size_t kMembershipChannelCount;

extern const InteractionText kChineseInteractions[];
extern const size_t kChineseInteractionCount;
extern const InteractionText kEnglishInteractions[];
extern const size_t kEnglishInteractionCount;

}  // namespace panorama::demo::internal
