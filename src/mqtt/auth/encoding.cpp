#include "mqtt/auth/encoding.h"

#include <sodium.h>

#include "crypto/sodium.h"

namespace imet::mqtt::auth::detail {

namespace {

bool is_alphanumeric(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// libsodium 1.0.18's decoder maps some bytes >= 0x80 to 6-bit values instead of rejecting them
// (found by fuzz/mqtt_auth_fuzz.cpp), so the alphabet is checked here first.
bool only_alphabet(std::string_view text, bool url_safe) {
  size_t end = text.size();
  while (!url_safe && end > 0 && text[end - 1] == '=')
    --end;  // padding: libsodium checks its amount
  for (size_t i = 0; i < end; ++i) {
    char c = text[i];
    bool ok = is_alphanumeric(c) || (url_safe ? (c == '-' || c == '_') : (c == '+' || c == '/'));
    if (!ok) return false;
  }
  return true;
}

std::optional<util::Bytes> decode(std::string_view text, int variant) {
  crypto::ensure_init();
  bool url_safe = variant == sodium_base64_VARIANT_URLSAFE ||
                  variant == sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  if (!only_alphabet(text, url_safe)) return std::nullopt;
  util::Bytes out(text.size() / 4 * 3 + 3);
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, &end,
                        variant) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

std::string encode(util::ByteSpan data, int variant) {
  crypto::ensure_init();
  std::string out(sodium_base64_encoded_len(data.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), data.data(), data.size(), variant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

}  // namespace

std::optional<util::Bytes> decode_base64(std::string_view text) {
  if (text.empty()) return util::Bytes{};
  bool padded = text.find('=') != std::string_view::npos;
  return decode(
      text, padded ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
}

std::string encode_base64(util::ByteSpan data) {
  return encode(data, sodium_base64_VARIANT_ORIGINAL);
}

std::optional<util::Bytes> decode_base64url(std::string_view text) {
  if (text.empty()) return util::Bytes{};
  return decode(text, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

std::string encode_base64url(util::ByteSpan data) {
  return encode(data, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t pos = text.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(text.substr(start));
      return out;
    }
    out.push_back(text.substr(start, pos - start));
    start = pos + 1;
  }
}

}  // namespace imet::mqtt::auth::detail
