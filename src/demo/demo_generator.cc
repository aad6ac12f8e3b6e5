#include "demo/demo_generator.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include "core/money.h"
#include "demo/internal/demo_data.h"
#include "demo/internal/random.h"
#include "storage/store.h"

namespace panorama::demo {
namespace {

using internal::City;
using internal::Rng;

constexpr int64_t kMillisPerMinute = 60'000;
constexpr int64_t kMillisPerDay = 86'400'000;
// Phone and e-mail numbers are drawn without repetition from ranges of 10^7 (Singapore, Hong Kong).
constexpr int64_t kMaxCustomers = 10'000'000;
constexpr int64_t kHistoryDays = 3 * 365;
constexpr size_t kMaxOrdersPerCustomer = 400;
constexpr double kProspectShare = 0.08;  // registered, never bought
// Customers [k·1024, (k+1)·1024) draw, in index order, from one stream seeded by (seed, k). Seeding
// a mt19937_64 costs about as much as generating a customer, so one stream per customer would
// double the run time; streams per fixed block keep the output independent of the write batch size
// all the same.
constexpr int64_t kCustomersPerStream = 1024;

// Buying behaviour follows the BG/NBD story (Fader, Hardie & Lee 2005, "Counting your customers the
// easy way", Marketing Science 24(2)): while active, a customer buys as a Poisson process with rate
// λ ~ Gamma(r, α), and after each purchase becomes inactive for good with probability p ~ Beta(a,
// b). Time is in days here; the paper's α is a rate, so our Gamma scale is 1/α. The values give ≈10
// orders per customer over a history of up to three years, with a long tail of heavy buyers and a
// visible share of churned customers.
constexpr double kRateShape = 1.4;           // r
constexpr double kRateScaleDays = 1.0 / 36;  // 1/α: mean λ = r/α ≈ one purchase every 26 days
constexpr double kDropoutA = 1.6;
constexpr double kDropoutB = 24.0;

// The reference rates of core::ExchangeRates, used only to set list prices abroad; the order's
// total_base_minor comes from ExchangeRates itself.
double CnyPerUnit(std::string_view currency) {
  static constexpr std::pair<std::string_view, double> kRates[] = {
      {"CNY", 1.0},  {"USD", 7.1}, {"EUR", 7.7}, {"GBP", 9.0}, {"JPY", 0.048},
      {"HKD", 0.91}, {"SGD", 5.3}, {"AUD", 4.7}, {"CAD", 5.2}, {"KRW", 0.0052}};
  for (const auto& [code, rate] : kRates) {
    if (code == currency) {
      return rate;
    }
  }
  return 1.0;
}

// A bijection on [0, modulus): distinct customers get distinct phone digits and e-mail numbers
// without a set of used values. x ↦ (A·x + B) mod M is one whenever gcd(A, M) = 1; A near M/φ (the
// golden ratio) spreads consecutive customers over the whole range, so neighbours do not get
// neighbouring numbers. index < 10^7 and A < 10^9 keep the product far below 2^64.
int64_t Scramble(int64_t index, int64_t modulus, uint64_t salt) {
  const auto m = static_cast<uint64_t>(modulus);
  auto a = static_cast<uint64_t>(static_cast<double>(m) * 0.6180339887498949);
  while (std::gcd(a, m) != 1) {
    ++a;
  }
  return static_cast<int64_t>((static_cast<uint64_t>(index) * a % m + salt % m) % m);
}

void AppendInt(std::string& out, int64_t value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}

void AppendPadded(std::string& out, int64_t value, int width) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(static_cast<size_t>(std::max<ptrdiff_t>(0, width - (end - buffer))), '0');
  out.append(buffer, end);
}

// Civil date for days since 1970-01-01 (Howard Hinnant's civil_from_days), as "YYYY-MM-DD".
std::string CivilDate(int64_t days) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  std::string out;
  AppendPadded(out, y, 4);
  out.push_back('-');
  AppendPadded(out, m, 2);
  out.push_back('-');
  AppendPadded(out, d, 2);
  return out;
}

template <typename T>
std::vector<double> WeightsOf(const T* items, size_t count) {
  std::vector<double> weights;
  for (size_t i = 0; i < count; ++i) {
    weights.push_back(items[i].weight);
  }
  return internal::Cumulative(weights);
}

struct Product {
  ProductId id;
  std::string sku;
  std::string name;
  size_t category = 0;
  int64_t price_cny_minor = 0;
};

constexpr std::array<std::string_view, 7> kCategories = {"服装", "鞋",   "美妆", "数码",
                                                         "家居", "食品", "运动"};
constexpr std::array<double, 7> kCategoryWeights = {25, 12, 20, 12, 12, 10, 9};
constexpr std::array<std::string_view, 10> kCurrencies = {"CNY", "USD", "EUR", "GBP", "JPY",
                                                          "HKD", "SGD", "AUD", "CAD", "KRW"};
constexpr int kProductCount = 200;

size_t CurrencyIndex(std::string_view currency) {
  for (size_t i = 0; i < kCurrencies.size(); ++i) {
    if (kCurrencies[i] == currency) {
      return i;
    }
  }
  return 0;
}

// Charm prices as shops set them: ¥199, $27.99, ¥3,480.
int64_t LocalPriceMinor(int64_t cny_minor, std::string_view currency) {
  if (currency == "CNY") {
    return cny_minor;
  }
  const double major = static_cast<double>(cny_minor) / 100.0 / CnyPerUnit(currency);
  if (CurrencyExponent(currency) == 0) {
    const double step = currency == "KRW" ? 1000.0 : 10.0;
    return static_cast<int64_t>(std::ceil(major / step) * step);
  }
  return static_cast<int64_t>(std::ceil(major)) * 100 - 1;
}

struct Catalogue {
  std::vector<Product> products;
  std::vector<double> popularity;                               // cumulative, over all products
  std::vector<std::vector<size_t>> by_category;                 // product indexes per category
  std::vector<std::vector<double>> category_popularity;         // cumulative, per category
  std::vector<double> category_weights;                         // cumulative
  std::vector<std::array<int64_t, kCurrencies.size()>> prices;  // product × currency, minor units
};

Catalogue BuildCatalogue(uint64_t seed) {
  Rng rng(internal::SplitMix64(seed ^ 0x5eedca7a10ull));
  Catalogue c;
  c.by_category.resize(kCategories.size());
  c.category_popularity.resize(kCategories.size());
  std::vector<int> per_code(internal::kProductKindCount, 0);
  std::vector<double> popularity;
  for (int s = 0; s < kProductCount; ++s) {
    const size_t kind_index = static_cast<size_t>(s) % internal::kProductKindCount;
    const internal::ProductKind& kind = internal::kProductKinds[kind_index];
    Product p;
    p.sku = "PN-";
    p.sku += kind.code;
    p.sku.push_back('-');
    AppendPadded(p.sku, ++per_code[kind_index] + static_cast<int>(kind_index) * 10, 3);
    p.name = internal::kProductSeries[rng.Next() % internal::kProductSeriesCount];
    p.name += kind.item;
    p.name += " · ";
    p.name += internal::kProductVariants[rng.Next() % internal::kProductVariantCount];
    const int64_t yuan = rng.UniformInt(kind.min_price_cny, kind.max_price_cny);
    p.price_cny_minor = (std::max<int64_t>(1, (yuan + 5) / 10) * 10 - 1) * 100;  // ¥199, ¥259
    p.category = static_cast<size_t>(
        std::find(kCategories.begin(), kCategories.end(), kind.category) - kCategories.begin());
    // Popularity falls off like Zipf's law with exponent 0.9 over a shuffled rank.
    const double rank = static_cast<double>(rng.UniformInt(1, kProductCount));
    const double weight = 1.0 / std::pow(rank, 0.9);
    popularity.push_back(weight);
    c.by_category[p.category].push_back(c.products.size());
    c.category_popularity[p.category].push_back(weight);
    std::array<int64_t, kCurrencies.size()> prices{};
    for (size_t k = 0; k < kCurrencies.size(); ++k) {
      prices[k] = LocalPriceMinor(p.price_cny_minor, kCurrencies[k]);
    }
    c.prices.push_back(prices);
    c.products.push_back(std::move(p));
  }
  c.popularity = internal::Cumulative(popularity);
  for (auto& weights : c.category_popularity) {
    weights = internal::Cumulative(weights);
  }
  c.category_weights =
      internal::Cumulative(std::vector<double>(kCategoryWeights.begin(), kCategoryWeights.end()));
  return c;
}

void AppendLower(std::string& out, std::string_view text) {
  for (char ch : text) {
    out.push_back(ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch);
  }
}

void AppendJsonPrice(std::string& out, int64_t minor, std::string_view currency) {
  out += FormatMinor(minor, currency);
}

// Writes one batch of customers; reuses its record buffers across customers so the hot path does
// not allocate.
class CustomerWriter {
 public:
  CustomerWriter(const DemoOptions& options, const Catalogue& catalogue, const ExchangeRates& rates)
      : options_(options),
        catalogue_(catalogue),
        rates_(rates),
        now_ms_(ToUnixMillis(options.now)),
        domestic_cities_(WeightsOf(internal::kDomesticCities, internal::kDomesticCityCount)),
        foreign_cities_(WeightsOf(internal::kForeignCities, internal::kForeignCityCount)),
        surnames_(WeightsOf(internal::kChineseSurnames, internal::kChineseSurnameCount)),
        domestic_domains_(
            WeightsOf(internal::kDomesticEmailDomains, internal::kDomesticEmailDomainCount)),
        foreign_domains_(
            WeightsOf(internal::kForeignEmailDomains, internal::kForeignEmailDomainCount)),
        channels_(WeightsOf(internal::kMembershipChannels, internal::kMembershipChannelCount)) {}

  // Customers must be written in increasing index order, without gaps.
  Result<void> Write(storage::WriteTxn& txn, int64_t index, DemoSummary& counts);

 private:
  struct Person {
    const City* city = nullptr;
    bool domestic = false;
    bool chinese_name = false;
    std::string latin_given;
    std::string latin_family;
  };

  void MakePerson(Rng& rng, Person& person);
  void PlanPurchases(Rng& rng, int64_t created_ms_hint);
  void MakePhone(Rng& rng, int64_t index, const City& city, std::string& out) const;
  void MakeEmail(Rng& rng, int64_t index, const Person& person, std::string& out) const;
  size_t PickProduct(Rng& rng, size_t preferred_category) const;
  Result<void> WriteOrders(storage::WriteTxn& txn, Rng& rng, int64_t index, CustomerId id,
                           const Person& person, size_t preferred_category, DemoSummary& counts);
  Result<void> WriteEvents(storage::WriteTxn& txn, Rng& rng, int64_t index, CustomerId id,
                           const Person& person, DemoSummary& counts);
  Result<void> WriteInteractions(storage::WriteTxn& txn, Rng& rng, CustomerId id,
                                 const Person& person, DemoSummary& counts);

  const DemoOptions& options_;
  const Catalogue& catalogue_;
  const ExchangeRates& rates_;
  const int64_t now_ms_;
  const std::vector<double> domestic_cities_, foreign_cities_, surnames_, domestic_domains_,
      foreign_domains_, channels_;

  // Per-customer scratch, reused.
  storage::CustomerRecord customer_;
  storage::IdentityRecord identity_;
  storage::OrderRecord order_;
  storage::EventRecord event_;
  storage::InteractionRecord interaction_;
  Rng rng_{0};
  int64_t stream_ = -1;
  std::vector<int64_t> purchases_ms_;
  std::vector<size_t> order_first_product_;
  std::string user_id_, anonymous_id_, scratch_;
};

void CustomerWriter::MakePerson(Rng& rng, Person& person) {
  person.domestic = rng.Bernoulli(0.70);
  person.city = person.domestic ? &internal::kDomesticCities[rng.Pick(domestic_cities_)]
                                : &internal::kForeignCities[rng.Pick(foreign_cities_)];
  // Abroad, Chinese names are common in Singapore and Hong Kong and present elsewhere: ≈75%
  // overall.
  const bool chinese_city = person.city->country == "SG" || person.city->country == "HK";
  person.chinese_name = person.domestic || rng.Bernoulli(chinese_city ? 0.4 : 0.1);

  const double g = rng.Uniform();
  customer_.gender = g < 0.55 ? "female" : (g < 0.99 ? "male" : "");
  const bool female =
      customer_.gender == "female" || (customer_.gender.empty() && rng.Bernoulli(0.5));

  customer_.name.clear();
  person.latin_given.clear();
  person.latin_family.clear();
  if (person.chinese_name) {
    const internal::WeightedName& surname = internal::kChineseSurnames[rng.Pick(surnames_)];
    customer_.name += surname.text;
    person.latin_family += surname.latin;
    const int given_length = rng.Bernoulli(0.3) ? 1 : 2;
    for (int k = 0; k < given_length; ++k) {
      const internal::GivenChar& ch =
          female ? internal::kFemaleGivenChars[rng.Next() % internal::kFemaleGivenCharCount]
                 : internal::kMaleGivenChars[rng.Next() % internal::kMaleGivenCharCount];
      customer_.name += ch.text;
      person.latin_given += ch.pinyin;
    }
  } else {
    std::string_view given =
        female ? internal::kEnglishFemaleNames[rng.Next() % internal::kEnglishFemaleNameCount]
               : internal::kEnglishMaleNames[rng.Next() % internal::kEnglishMaleNameCount];
    std::string_view family =
        internal::kEnglishSurnames[rng.Next() % internal::kEnglishSurnameCount];
    customer_.name.append(given).append(" ").append(family);
    AppendLower(person.latin_given, given);
    AppendLower(person.latin_family, family);
  }
}

// Mobile numbers in E.164 that look right for their country; the subscriber digits come from
// Scramble, so no two customers share one.
void CustomerWriter::MakePhone(Rng& rng, int64_t index, const City& city, std::string& out) const {
  out.assign(city.phone_prefix);
  const uint64_t salt = options_.seed * 31 + 7;
  const std::string_view country = city.country;
  if (country == "CN") {
    static constexpr std::string_view kSecond[] = {"3", "5", "7", "8", "8", "9", "3", "5"};
    out += kSecond[rng.Next() % std::size(kSecond)];  // 13x, 15x, 17x, 18x, 19x
    AppendInt(out, rng.UniformInt(0, 9));
    AppendPadded(out, Scramble(index, 100'000'000, salt), 8);
  } else if (country == "SG" || country == "HK") {
    out += country == "SG" ? (rng.Bernoulli(0.5) ? "8" : "9") : (rng.Bernoulli(0.5) ? "6" : "9");
    AppendPadded(out, Scramble(index, 10'000'000, salt), 7);
  } else if (country == "US" || country == "CA") {
    static constexpr std::pair<std::string_view, std::string_view> kAreas[] = {
        {"New York", "212"},
        {"Los Angeles", "310"},
        {"San Francisco", "415"},
        {"Toronto", "416"},
        {"Vancouver", "604"}};
    std::string_view area = "646";
    for (const auto& [name, code] : kAreas) {
      if (name == city.name) {
        area = code;
      }
    }
    out += area;
    AppendInt(out, 2'000'000 + Scramble(index, 8'000'000, salt));  // exchange code starts 2–9
  } else if (country == "JP") {
    static constexpr std::string_view kMobile[] = {"90", "80", "70"};
    out += kMobile[rng.Next() % 3];
    AppendPadded(out, Scramble(index, 100'000'000, salt), 8);
  } else if (country == "FR") {
    out += rng.Bernoulli(0.7) ? "6" : "7";
    AppendPadded(out, Scramble(index, 100'000'000, salt), 8);
  } else if (country == "GB" || country == "DE") {
    AppendInt(out, rng.UniformInt(country == "GB" ? 4 : 0, 9));
    AppendPadded(out, Scramble(index, 100'000'000, salt), 8);
  } else {  // AU (+61 4), KR (+82 10): eight subscriber digits
    AppendPadded(out, Scramble(index, 100'000'000, salt), 8);
  }
}

// Local parts people actually use: QQ numbers at qq.com, pinyin or name forms elsewhere. Every name
// form ends in the customer's own scrambled number, so addresses never collide.
void CustomerWriter::MakeEmail(Rng& rng, int64_t index, const Person& person,
                               std::string& out) const {
  const internal::WeightedName& domain =
      person.domestic ? internal::kDomesticEmailDomains[rng.Pick(domestic_domains_)]
                      : internal::kForeignEmailDomains[rng.Pick(foreign_domains_)];
  out.clear();
  const uint64_t salt = options_.seed * 131 + 3;
  if (domain.text == "qq.com" && person.chinese_name && rng.Bernoulli(0.6)) {
    AppendInt(out, 100'000 + Scramble(index, 900'000'000, salt));
  } else {
    switch (rng.Next() % 4) {
      case 0:
        out.append(person.latin_family).append(person.latin_given);
        break;
      case 1:
        out.append(person.latin_given).append(".").append(person.latin_family);
        break;
      case 2:
        out.push_back(person.latin_given[0]);
        out.append(person.latin_family);
        break;
      default:
        out.append(person.latin_family).append("_").append(person.latin_given);
        break;
    }
    AppendInt(out, Scramble(index, kMaxCustomers, salt));
  }
  out.push_back('@');
  out.append(domain.text);
}

void CustomerWriter::PlanPurchases(Rng& rng, int64_t first_ms) {
  purchases_ms_.clear();
  const double rate_per_day = rng.Gamma(kRateShape, kRateScaleDays);
  const double dropout = rng.Beta(kDropoutA, kDropoutB);
  int64_t t = first_ms;
  while (t <= now_ms_ && purchases_ms_.size() < kMaxOrdersPerCustomer) {
    purchases_ms_.push_back(t);
    if (rng.Bernoulli(dropout)) {
      break;
    }
    t += static_cast<int64_t>(rng.Exponential(rate_per_day) * kMillisPerDay) + kMillisPerMinute;
  }
}

size_t CustomerWriter::PickProduct(Rng& rng, size_t preferred_category) const {
  if (rng.Bernoulli(0.65) && !catalogue_.by_category[preferred_category].empty()) {
    const auto& members = catalogue_.by_category[preferred_category];
    return members[rng.Pick(catalogue_.category_popularity[preferred_category])];
  }
  return rng.Pick(catalogue_.popularity);
}

Result<void> CustomerWriter::Write(storage::WriteTxn& txn, int64_t index, DemoSummary& counts) {
  if (index / kCustomersPerStream != stream_) {
    stream_ = index / kCustomersPerStream;
    rng_ = Rng(internal::SplitMix64(options_.seed ^
                                    internal::SplitMix64(static_cast<uint64_t>(stream_) + 1)));
  }
  Rng& rng = rng_;
  Person person;
  MakePerson(rng, person);
  const City& city = *person.city;

  // History: first purchase uniformly over the last three years, sign-up shortly before it.
  const bool prospect = rng.Bernoulli(kProspectShare);
  const int64_t first_ms =
      now_ms_ - static_cast<int64_t>(rng.Uniform() * kHistoryDays * kMillisPerDay);
  const int64_t created_ms = first_ms -
                             static_cast<int64_t>(rng.Exponential(1.0 / 5.0) * kMillisPerDay) -
                             17 * kMillisPerMinute;
  if (prospect) {
    purchases_ms_.clear();
  } else {
    PlanPurchases(rng, first_ms);
  }

  if (rng.Bernoulli(person.domestic ? 0.88 : 0.85)) {
    MakeEmail(rng, index, person, customer_.email);
  } else {
    customer_.email.clear();
  }
  if (rng.Bernoulli(person.domestic ? 0.93 : 0.7)) {
    MakePhone(rng, index, city, customer_.phone);
  } else {
    customer_.phone.clear();
  }
  const double age_years = 18.0 + std::min(50.0, rng.Gamma(3.0, 5.0));
  customer_.birthday =
      CivilDate((now_ms_ / kMillisPerDay) - static_cast<int64_t>(age_years * 365.25));
  customer_.city.assign(city.name);
  customer_.country.assign(city.country);
  customer_.tags.clear();
  const int64_t tag_count = std::min<int64_t>(3, rng.Poisson(0.8));
  for (int64_t k = 0; k < tag_count; ++k) {
    std::string_view tag = person.domestic
                               ? internal::kChineseTags[rng.Next() % internal::kChineseTagCount]
                               : internal::kEnglishTags[rng.Next() % internal::kEnglishTagCount];
    if (std::find(customer_.tags.begin(), customer_.tags.end(), tag) == customer_.tags.end()) {
      customer_.tags.emplace_back(tag);
    }
  }
  const size_t orders = purchases_ms_.size();
  std::string_view level = orders >= 20 ? "gold" : (orders >= 8 ? "silver" : "basic");
  static constexpr std::string_view kForeignChannels[] = {"website", "website", "app", "amazon"};
  std::string_view channel = person.domestic
                                 ? internal::kMembershipChannels[rng.Pick(channels_)].text
                                 : kForeignChannels[rng.Next() % std::size(kForeignChannels)];
  std::string_view language =
      person.chinese_name && city.language == "en" ? "zh-CN" : city.language;
  customer_.traits_json.assign("{\"membership_channel\":\"").append(channel);
  customer_.traits_json.append("\",\"preferred_language\":\"").append(language);
  customer_.traits_json.append("\",\"member_level\":\"").append(level).append("\"}");
  customer_.external_id.assign("M");
  AppendPadded(customer_.external_id, Scramble(index, 1'000'000'000, options_.seed), 9);
  customer_.created_at = FromUnixMillis(prospect ? first_ms : created_ms);
  customer_.updated_at =
      FromUnixMillis(orders > 0 ? purchases_ms_.back() : ToUnixMillis(customer_.created_at));

  ASSIGN_OR_RETURN(CustomerId id, txn.InsertCustomer(customer_));
  ++counts.customers;

  identity_.customer = id;
  identity_.first_seen = customer_.created_at;
  user_id_.assign("u");
  AppendInt(user_id_, 10'000'000 + Scramble(index, 90'000'000, options_.seed * 7 + 1));
  anonymous_id_.clear();
  if (rng.Bernoulli(0.4)) {
    // A UUID v4, as analytics.js makes them.
    static constexpr char kHex[] = "0123456789abcdef";
    uint64_t hi = rng.Next();
    uint64_t lo = rng.Next();
    for (int k = 0; k < 32; ++k) {
      if (k == 8 || k == 12 || k == 16 || k == 20) {
        anonymous_id_.push_back('-');
      }
      uint64_t nibble = k < 16 ? (hi >> (60 - 4 * k)) & 15 : (lo >> (60 - 4 * (k - 16))) & 15;
      if (k == 12) {
        nibble = 4;
      } else if (k == 16) {
        nibble = 8 | (nibble & 3);
      }
      anonymous_id_.push_back(kHex[nibble]);
    }
  }
  const std::pair<std::string_view, const std::string*> identities[] = {
      {"user_id", &user_id_},
      {"email", &customer_.email},
      {"phone", &customer_.phone},
      {"anonymous_id", &anonymous_id_}};
  for (const auto& [type, value] : identities) {
    if (value->empty()) {
      continue;
    }
    identity_.type.assign(type);
    identity_.value.assign(*value);
    RETURN_IF_ERROR(txn.AddIdentity(identity_));
    ++counts.identities;
  }

  const size_t preferred_category = rng.Pick(catalogue_.category_weights);
  RETURN_IF_ERROR(WriteOrders(txn, rng, index, id, person, preferred_category, counts));
  RETURN_IF_ERROR(WriteEvents(txn, rng, index, id, person, counts));
  return WriteInteractions(txn, rng, id, person, counts);
}

Result<void> CustomerWriter::WriteOrders(storage::WriteTxn& txn, Rng& rng, int64_t index,
                                         CustomerId id, const Person& person,
                                         size_t preferred_category, DemoSummary& counts) {
  const std::string_view currency = person.city->currency;
  const size_t currency_index = CurrencyIndex(currency);
  order_.customer = id;
  order_.total.currency.assign(currency);
  order_first_product_.clear();
  static constexpr double kItemCountWeights[] = {55, 80, 93, 100};  // 1–4 line items, cumulative
  for (size_t k = 0; k < purchases_ms_.size(); ++k) {
    order_.external_id.assign("PN");
    AppendInt(order_.external_id, (index + 1) * 1000 + static_cast<int64_t>(k));
    order_.placed_at = FromUnixMillis(purchases_ms_[k]);
    order_.status = rng.Bernoulli(0.03) ? "refunded" : "completed";
    const double u = rng.Uniform() * 100;
    size_t item_count = 1;
    while (item_count < 4 && u >= kItemCountWeights[item_count - 1]) {
      ++item_count;
    }
    order_.items.resize(item_count);
    std::array<size_t, 4> picked{};
    int64_t total = 0;
    for (size_t j = 0; j < item_count; ++j) {
      size_t product_index = PickProduct(rng, preferred_category);
      for (int retry = 0; retry < 3; ++retry) {
        if (std::find(picked.begin(), picked.begin() + static_cast<ptrdiff_t>(j), product_index) ==
            picked.begin() + static_cast<ptrdiff_t>(j)) {
          break;
        }
        product_index = PickProduct(rng, preferred_category);
      }
      picked[j] = product_index;
      const Product& product = catalogue_.products[product_index];
      storage::OrderItemRecord& item = order_.items[j];
      item.product = product.id;
      item.sku.assign(product.sku);
      item.name.assign(product.name);
      const double q = rng.Uniform();
      item.quantity = q < 0.85 ? 1 : (q < 0.96 ? 2 : 3);
      item.unit_price_minor = catalogue_.prices[product_index][currency_index];
      total += item.quantity * item.unit_price_minor;
      if (j == 0) {
        order_first_product_.push_back(product_index);
      }
    }
    order_.total.minor = total;
    ASSIGN_OR_RETURN(order_.total_base_minor, rates_.ToBase(order_.total));
    RETURN_IF_ERROR(txn.InsertOrder(order_));
    ++counts.orders;
    counts.order_items += static_cast<int64_t>(item_count);
  }
  return Ok();
}

// Web events around purchases (page → Product Viewed → Product Added → Order Completed, ending at
// the order) and browsing sessions (Signed In → page → Product Viewed), until the customer's event
// count is used up. Recent orders are likelier to have been tracked, as they would be after a
// tracking snippet went live.
Result<void> CustomerWriter::WriteEvents(storage::WriteTxn& txn, Rng& rng, int64_t index,
                                         CustomerId id, const Person& person, DemoSummary& counts) {
  int64_t remaining = rng.Poisson(options_.events_per_customer);
  if (remaining == 0) {
    return Ok();
  }
  const std::string_view currency = person.city->currency;
  const size_t currency_index = CurrencyIndex(currency);
  const std::string_view locale = person.chinese_name ? "zh-CN" : "en-US";
  event_.customer = id;
  event_.user_id = user_id_;
  event_.anonymous_id = anonymous_id_;
  event_.context_json.assign(
      "{\"library\":{\"name\":\"analytics.js\",\"version\":\"4.1.0\"},\"locale\":\"");
  event_.context_json.append(locale).append("\"}");
  int64_t sequence = 0;
  auto emit = [&](std::string_view type, std::string_view name, int64_t at_ms) -> Result<void> {
    event_.message_id.assign("dm-");
    AppendInt(event_.message_id, index + 1);
    event_.message_id.push_back('-');
    AppendInt(event_.message_id, sequence++);
    event_.type.assign(type);
    event_.name.assign(name);
    event_.timestamp = FromUnixMillis(at_ms);
    event_.sent_at = FromUnixMillis(at_ms + rng.UniformInt(5, 2000));
    event_.received_at = FromUnixMillis(at_ms + rng.UniformInt(2050, 4000));
    if (auto inserted = txn.InsertEvent(event_); !inserted) {
      return inserted.error();
    }
    ++counts.events;
    --remaining;
    return Ok();
  };
  auto product_properties = [&](size_t product_index) {
    const Product& p = catalogue_.products[product_index];
    event_.properties_json.assign("{\"sku\":\"")
        .append(p.sku)
        .append("\",\"name\":\"")
        .append(p.name);
    event_.properties_json.append("\",\"price\":");
    AppendJsonPrice(event_.properties_json, catalogue_.prices[product_index][currency_index],
                    currency);
    event_.properties_json.append(",\"currency\":\"").append(currency).append("\"}");
  };
  const size_t orders = purchases_ms_.size();
  while (remaining > 0) {
    if (orders > 0 && rng.Bernoulli(0.6)) {
      const size_t k = orders - 1 - static_cast<size_t>(rng.Next() % std::min<size_t>(orders, 5));
      const int64_t at = purchases_ms_[k];
      const size_t product_index = order_first_product_[k];
      event_.properties_json.assign("{\"path\":\"/products/")
          .append(catalogue_.products[product_index].sku);
      event_.properties_json.append("\"}");
      RETURN_IF_ERROR(emit("page", "Product", at - 12 * kMillisPerMinute));
      if (remaining == 0) {
        break;
      }
      product_properties(product_index);
      RETURN_IF_ERROR(emit("track", "Product Viewed", at - 10 * kMillisPerMinute));
      if (remaining == 0) {
        break;
      }
      RETURN_IF_ERROR(emit("track", "Product Added", at - 4 * kMillisPerMinute));
      if (remaining == 0) {
        break;
      }
      event_.properties_json.assign("{\"order_id\":\"PN");
      AppendInt(event_.properties_json, (index + 1) * 1000 + static_cast<int64_t>(k));
      event_.properties_json.append("\",\"currency\":\"").append(currency).append("\"}");
      RETURN_IF_ERROR(emit("track", "Order Completed", at));
    } else {
      const int64_t created_ms = ToUnixMillis(customer_.created_at);
      int64_t at = now_ms_ - static_cast<int64_t>(rng.Exponential(1.0 / 90.0) * kMillisPerDay);
      at = std::max(at, created_ms);
      event_.properties_json.assign("{\"method\":\"password\"}");
      RETURN_IF_ERROR(emit("track", "Signed In", at));
      if (remaining == 0) {
        break;
      }
      event_.properties_json.assign("{\"path\":\"/\"}");
      RETURN_IF_ERROR(emit("page", "Home", std::min(now_ms_, at + kMillisPerMinute)));
      if (remaining == 0) {
        break;
      }
      product_properties(rng.Pick(catalogue_.popularity));
      RETURN_IF_ERROR(
          emit("track", "Product Viewed", std::min(now_ms_, at + 3 * kMillisPerMinute)));
    }
  }
  return Ok();
}

Result<void> CustomerWriter::WriteInteractions(storage::WriteTxn& txn, Rng& rng, CustomerId id,
                                               const Person& person, DemoSummary& counts) {
  const int64_t count = rng.Poisson(options_.interactions_per_customer);
  const bool chinese = person.chinese_name && person.city->language != "en";
  const int64_t created_ms = ToUnixMillis(customer_.created_at);
  interaction_.customer = id;
  for (int64_t k = 0; k < count; ++k) {
    const internal::InteractionText& text =
        chinese ? internal::kChineseInteractions[rng.Next() % internal::kChineseInteractionCount]
                : internal::kEnglishInteractions[rng.Next() % internal::kEnglishInteractionCount];
    interaction_.kind.assign(text.kind);
    interaction_.subject.assign(text.subject);
    interaction_.body.assign(text.body);
    if (text.kind == "call" || text.kind == "email") {
      interaction_.direction = rng.Bernoulli(0.4) ? "inbound" : "outbound";
    } else {
      interaction_.direction.clear();
    }
    interaction_.occurred_at =
        FromUnixMillis(created_ms + static_cast<int64_t>(
                                        rng.Uniform() * static_cast<double>(now_ms_ - created_ms)));
    if (auto inserted = txn.InsertInteraction(interaction_); !inserted) {
      return inserted.error();
    }
    ++counts.interactions;
  }
  return Ok();
}

Result<void> Validate(const DemoOptions& options) {
  if (options.customers < 0 || options.customers > kMaxCustomers) {
    return Error::InvalidField("customers", "must be between 0 and 10000000");
  }
  if (options.batch < 1) {
    return Error::InvalidField("batch", "must be at least 1");
  }
  if (!(options.events_per_customer >= 0 && options.events_per_customer <= 1000)) {
    return Error::InvalidField("events_per_customer", "must be between 0 and 1000");
  }
  if (!(options.interactions_per_customer >= 0 && options.interactions_per_customer <= 100)) {
    return Error::InvalidField("interactions_per_customer", "must be between 0 and 100");
  }
  return Ok();
}

void Add(DemoSummary& total, const DemoSummary& part) {
  total.customers += part.customers;
  total.products += part.products;
  total.orders += part.orders;
  total.order_items += part.order_items;
  total.events += part.events;
  total.interactions += part.interactions;
  total.identities += part.identities;
  total.transactions += part.transactions;
}

}  // namespace

Result<DemoSummary> GenerateDemo(storage::Store& store, const DemoOptions& options) {
  RETURN_IF_ERROR(Validate(options));
  Catalogue catalogue = BuildCatalogue(options.seed);
  const ExchangeRates rates;
  DemoSummary summary;

  Result<void> catalogue_written = store.Write([&](storage::WriteTxn& txn) -> Result<void> {
    storage::ProductRecord record;
    for (Product& product : catalogue.products) {
      record.sku = product.sku;
      record.name = product.name;
      record.category = std::string(kCategories[product.category]);
      record.price = Money{product.price_cny_minor, "CNY"};
      ASSIGN_OR_RETURN(product.id, txn.UpsertProduct(record));
    }
    return Ok();
  });
  RETURN_IF_ERROR(catalogue_written);
  summary.products = static_cast<int64_t>(catalogue.products.size());
  summary.transactions = 1;

  CustomerWriter writer(options, catalogue, rates);
  for (int64_t begin = 0; begin < options.customers; begin += options.batch) {
    const int64_t end = std::min(options.customers, begin + options.batch);
    DemoSummary batch;
    Result<void> written = store.Write([&](storage::WriteTxn& txn) -> Result<void> {
      batch = DemoSummary{};
      for (int64_t index = begin; index < end; ++index) {
        RETURN_IF_ERROR(writer.Write(txn, index, batch));
      }
      return Ok();
    });
    RETURN_IF_ERROR(written);
    batch.transactions = 1;
    Add(summary, batch);
    if (options.on_progress) {
      options.on_progress(DemoProgress{.customers_done = end,
                                       .customers_total = options.customers,
                                       .orders = summary.orders,
                                       .events = summary.events});
    }
  }
  return summary;
}

}  // namespace panorama::demo
