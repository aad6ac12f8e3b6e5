#include "core/money.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

namespace panorama {

int CurrencyExponent(std::string_view c) {
  static constexpr std::string_view kZero[] = {"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", "PYG"};
  static constexpr std::string_view kThree[] = {"KWD", "BHD", "OMR", "JOD", "TND", "IQD", "LYD"};
  for (auto z : kZero) {
    if (c == z) return 0;
  }
  for (auto t : kThree) {
    if (c == t) return 3;
  }
  return 2;
}

Result<std::string> NormalizeCurrency(std::string_view currency) {
  if (currency.size() != 3) return Error::InvalidArgument("currency must be a three-letter ISO 4217 code");
  std::string out(currency);
  for (char& ch : out) {
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    if (ch < 'A' || ch > 'Z') return Error::InvalidArgument("currency must be a three-letter ISO 4217 code");
  }
  return out;
}

Result<int64_t> DecimalToMinor(double major_amount, std::string_view currency) {
  if (!std::isfinite(major_amount)) return Error::InvalidArgument("amount must be a finite number");
  double scaled = major_amount * std::pow(10.0, CurrencyExponent(currency));
  if (std::fabs(scaled) > 9e15) return Error::InvalidArgument("amount is out of range");
  return static_cast<int64_t>(std::llround(scaled));
}

Result<int64_t> DecimalStringToMinor(std::string_view text, std::string_view currency) {
  std::string trimmed;
  for (char ch : text) {
    if (ch != ',' && ch != ' ') trimmed.push_back(ch);  // "1,299.00" as written in spreadsheets
  }
  if (trimmed.empty()) return Error::InvalidArgument("amount is empty");
  double value = 0;
  auto [ptr, ec] = std::from_chars(trimmed.data(), trimmed.data() + trimmed.size(), value);
  if (ec != std::errc() || ptr != trimmed.data() + trimmed.size()) {
    return Error::InvalidArgument("amount is not a number");
  }
  return DecimalToMinor(value, currency);
}

std::string FormatMinor(int64_t minor, std::string_view currency) {
  int exp = CurrencyExponent(currency);
  bool negative = minor < 0;
  uint64_t abs = negative ? static_cast<uint64_t>(-(minor + 1)) + 1 : static_cast<uint64_t>(minor);
  uint64_t scale = 1;
  for (int i = 0; i < exp; ++i) scale *= 10;
  std::string out = negative ? "-" : "";
  out += std::to_string(abs / scale);
  if (exp > 0) {
    std::string fraction = std::to_string(abs % scale);
    out.push_back('.');
    out.append(static_cast<size_t>(exp) - fraction.size(), '0');
    out += fraction;
  }
  return out;
}

ExchangeRates::ExchangeRates() {
  // Reference rates (units of CNY per unit), used when an operator has not loaded a rates table.
  rates_ = {{"CNY", 1.0},  {"USD", 7.1},  {"EUR", 7.7},  {"GBP", 9.0},  {"JPY", 0.048}, {"HKD", 0.91},
            {"TWD", 0.22}, {"SGD", 5.3},  {"KRW", 0.0052}, {"AUD", 4.7}, {"CAD", 5.2},  {"CHF", 8.0}};
}

void ExchangeRates::SetRate(std::string_view currency, double rate) {
  for (auto& e : rates_) {
    if (e.code == currency) {
      e.rate = rate;
      return;
    }
  }
  rates_.push_back({std::string(currency), rate});
}

Result<int64_t> ExchangeRates::ToBase(const Money& money) const {
  for (const auto& e : rates_) {
    if (e.code == money.currency) {
      if (money.currency == base_) return money.minor;
      double major = static_cast<double>(money.minor) / std::pow(10.0, CurrencyExponent(money.currency));
      return DecimalToMinor(major * e.rate, base_);
    }
  }
  return Error::InvalidArgument("no exchange rate for currency " + money.currency);
}

}  // namespace panorama
