#include "mqtt/auth/encoding.h"

#include <sodium.h>

#include "crypto/sodium.h"

namespace imet::mqtt::auth::detail {

namespace {

std::optional<util::Bytes> decode(std::string_view text, int variant) {
  crypto::ensure_init();
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

}  // namespace imet::mqtt::auth::detail
