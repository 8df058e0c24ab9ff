#include "util/bech32.h"

#include <cstdint>

namespace imet::util {

namespace {

constexpr char kCharset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
constexpr uint32_t kBech32mConst = 0x2bc830a3;
constexpr size_t kMaxLength = 90;

uint32_t polymod(const std::vector<uint8_t>& values) {
  constexpr uint32_t kGen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  uint32_t chk = 1;
  for (uint8_t v : values) {
    uint8_t top = static_cast<uint8_t>(chk >> 25);
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (int i = 0; i < 5; ++i) {
      if ((top >> i) & 1) chk ^= kGen[i];
    }
  }
  return chk;
}

std::vector<uint8_t> hrp_expand(std::string_view hrp) {
  std::vector<uint8_t> out;
  out.reserve(hrp.size() * 2 + 1);
  for (char c : hrp)
    out.push_back(static_cast<uint8_t>(c) >> 5);
  out.push_back(0);
  for (char c : hrp)
    out.push_back(static_cast<uint8_t>(c) & 31);
  return out;
}

// Regroups bits from `from`-bit to `to`-bit values. When decoding (pad == false) leftover bits must
// be fewer than `from` and zero, which makes the encoding canonical.
bool convert_bits(ByteSpan in, int from, int to, bool pad, std::vector<uint8_t>& out) {
  uint32_t acc = 0;
  int bits = 0;
  const uint32_t maxv = (1u << to) - 1;
  for (uint8_t v : in) {
    if ((v >> from) != 0) return false;
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push_back(static_cast<uint8_t>((acc >> bits) & maxv));
    }
  }
  if (pad) {
    if (bits > 0) out.push_back(static_cast<uint8_t>((acc << (to - bits)) & maxv));
  } else if (bits >= from || ((acc << (to - bits)) & maxv) != 0) {
    return false;
  }
  return true;
}

Status check_hrp(std::string_view hrp) {
  if (hrp.empty() || hrp.size() > 83) return invalid_argument("prefix must be 1..83 characters");
  for (char c : hrp) {
    if (c < 33 || c > 126) return invalid_argument("prefix has a non-printable character");
    if (c >= 'A' && c <= 'Z') return invalid_argument("prefix must be lowercase");
  }
  return {};
}

}  // namespace

Result<std::string> bech32m_encode(std::string_view hrp, ByteSpan data) {
  IMET_TRY(check_hrp(hrp));
  std::vector<uint8_t> values;
  convert_bits(data, 8, 5, true, values);
  if (hrp.size() + 1 + values.size() + 6 > kMaxLength) {
    return invalid_argument("data too long for a bech32m string");
  }
  std::vector<uint8_t> enc = hrp_expand(hrp);
  enc.insert(enc.end(), values.begin(), values.end());
  enc.insert(enc.end(), 6, 0);
  uint32_t mod = polymod(enc) ^ kBech32mConst;
  std::string out(hrp);
  out.push_back('1');
  for (uint8_t v : values)
    out.push_back(kCharset[v]);
  for (int i = 0; i < 6; ++i)
    out.push_back(kCharset[(mod >> (5 * (5 - i))) & 31]);
  return out;
}

Result<Bech32Decoded> bech32m_decode(std::string_view text) {
  if (text.size() > kMaxLength) {
    return invalid_argument("too long (" + std::to_string(text.size()) + " characters, max 90)");
  }
  bool lower = false, upper = false;
  for (char c : text) {
    if (c < 33 || c > 126) return invalid_argument("contains a space or non-printable character");
    if (c >= 'a' && c <= 'z') lower = true;
    if (c >= 'A' && c <= 'Z') upper = true;
  }
  if (lower && upper) return invalid_argument("mixes upper and lower case");
  size_t sep = text.rfind('1');
  if (sep == std::string_view::npos || sep == 0) return invalid_argument("missing prefix or '1'");
  if (sep + 7 > text.size()) return invalid_argument("too short to hold a checksum");
  std::string hrp;
  for (size_t i = 0; i < sep; ++i) {
    char c = text[i];
    hrp.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
  }
  std::vector<uint8_t> values;
  for (size_t i = sep + 1; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const char* p = nullptr;
    for (const char* q = kCharset; *q; ++q) {
      if (*q == c) p = q;
    }
    if (p == nullptr) {
      return invalid_argument(std::string("invalid character '") + text[i] + "' at position " +
                              std::to_string(i));
    }
    values.push_back(static_cast<uint8_t>(p - kCharset));
  }
  std::vector<uint8_t> chk = hrp_expand(hrp);
  chk.insert(chk.end(), values.begin(), values.end());
  if (polymod(chk) != kBech32mConst) {
    return invalid_argument("checksum mismatch (mistyped or damaged)");
  }
  values.resize(values.size() - 6);
  Bech32Decoded out{std::move(hrp), {}};
  if (!convert_bits(values, 5, 8, false, out.data)) {
    return invalid_argument("invalid padding");
  }
  return out;
}

}  // namespace imet::util
