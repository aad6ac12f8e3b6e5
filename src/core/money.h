#pragma once
// Money is an amount in minor units plus an ISO 4217 code, never a double (STYLE.md §3).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace panorama {

struct Money {
  int64_t minor = 0;       // e.g. fen for CNY, cents for USD
  std::string currency;    // ISO 4217, upper case, e.g. "CNY"
  friend bool operator==(const Money&, const Money&) = default;
};

// Digits after the decimal point for a currency (JPY 0, KWD 3, most 2).
int CurrencyExponent(std::string_view currency);

// "CNY", "usd" → upper-cased code; rejects anything that is not three ASCII letters.
Result<std::string> NormalizeCurrency(std::string_view currency);

// Converts a decimal amount ("12.5", "-3", "1e2") in major units to minor units, rounding half away from zero.
Result<int64_t> DecimalToMinor(double major_amount, std::string_view currency);
Result<int64_t> DecimalStringToMinor(std::string_view text, std::string_view currency);

// Adds two amounts, clamping at the int64 range: a running spend total that cannot be represented stays at the
// extreme instead of wrapping to the opposite sign (no real customer gets near 9.2e16 CNY; fuzzed input does).
inline int64_t SaturatingAddMinor(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) {
    return b > 0 ? INT64_MAX : INT64_MIN;
  }
  return sum;
}

// "12.50" for 1250 CNY; "100" for 100 JPY.
std::string FormatMinor(int64_t minor, std::string_view currency);

// Converts between currencies with a fixed table of rates to the base currency (CNY). Unknown currencies fail.
class ExchangeRates {
 public:
  ExchangeRates();  // built-in reference rates; SetRate overrides
  void SetRate(std::string_view currency, double units_of_base_per_unit);
  Result<int64_t> ToBase(const Money& money) const;
  const std::string& base() const { return base_; }

 private:
  std::string base_ = "CNY";
  struct Entry {
    std::string code;
    double rate;
  };
  std::vector<Entry> rates_;
};

}  // namespace panorama
