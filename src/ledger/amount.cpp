#include "ledger/amount.h"

namespace imet::ledger {

using detail::U128;

util::Result<Amount> parse_amount(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return util::invalid_argument("invalid amount '" + std::string(text) + "': " + why);
  };
  if (text.empty()) return bad("empty");
  size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  if (whole.empty()) return bad("write a digit before the decimal point (0.5, not .5)");
  if (dot != std::string_view::npos && frac.empty())
    return bad("no digits after the decimal point");
  if (frac.size() > 8) return bad("more than 8 decimal places (1 unit = 0.00000001 IMET)");
  U128 units = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return bad("only digits and one '.' are allowed");
    units = units * 10 + static_cast<unsigned>(c - '0');
    if (units > UINT64_MAX) return bad("too large");
  }
  units *= kUnitsPerImet;
  uint64_t scale = kUnitsPerImet / 10;
  for (char c : frac) {
    if (c < '0' || c > '9') return bad("only digits and one '.' are allowed");
    units += static_cast<unsigned>(c - '0') * scale;
    scale /= 10;
  }
  if (units > UINT64_MAX) return bad("too large");
  return static_cast<Amount>(units);
}

std::string format_amount(Amount units) {
  std::string out = std::to_string(units / kUnitsPerImet);
  Amount frac = units % kUnitsPerImet;
  if (frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(0, 8 - digits.size(), '0');
    while (digits.back() == '0')
      digits.pop_back();
    out += "." + digits;
  }
  return out;
}

std::optional<Amount> add(Amount a, Amount b) {
  Amount r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<Amount> sub(Amount a, Amount b) {
  if (b > a) return std::nullopt;
  return a - b;
}

std::optional<Amount> mul_div(Amount a, uint64_t num, uint64_t den) {
  if (den == 0) return std::nullopt;
  U128 r = static_cast<U128>(a) * num / den;
  if (r > UINT64_MAX) return std::nullopt;
  return static_cast<Amount>(r);
}

}  // namespace imet::ledger
