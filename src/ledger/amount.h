// Amounts of the IMET token: fixed point with 8 decimals (1 IMET = 10^8 units), held as uint64
// units. Parsing and printing use decimal IMET ("12.5"), never raw units, and all arithmetic is
// checked: an overflow or underflow is an error value, never a wrap-around.
// Thread-safety: pure functions. Invariants: format_amount(parse_amount(s)) is the canonical
// spelling of s (no trailing zeros, no leading zeros, "0" for zero); parse(format(a)) == a.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace imet::ledger {

using Amount = uint64_t;

namespace detail {
__extension__ typedef unsigned __int128 U128;  // for overflow-free intermediate products
}  // namespace detail

inline constexpr Amount kUnitsPerImet = 100'000'000;
inline constexpr Amount kTotalSupply = 100'000'000 * kUnitsPerImet;  // 10^16 units

constexpr Amount imet(uint64_t whole) {
  return whole * kUnitsPerImet;
}

// "12.5", "0.00000001", "100000000". Rejects signs, exponents, spaces, more than 8 decimals,
// and values above the total supply cap of uint64.
util::Result<Amount> parse_amount(std::string_view text);
std::string format_amount(Amount units);

// Checked arithmetic: nullopt on overflow/underflow.
std::optional<Amount> add(Amount a, Amount b);
std::optional<Amount> sub(Amount a, Amount b);
// a * num / den without intermediate overflow (128-bit), rounded down; nullopt if den == 0 or the
// result does not fit.
std::optional<Amount> mul_div(Amount a, uint64_t num, uint64_t den);

}  // namespace imet::ledger
