#include "mqtt/auth/device_token.h"

#include <charconv>

#include "crypto/address.h"
#include "mqtt/auth/encoding.h"

namespace imet::mqtt::auth {

namespace {

void put_u32le(util::Bytes& out, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
}

// Appends u32le(len) || bytes without vector::insert of a span (GCC 12 -Warray-bounds).
void put_field(util::Bytes& out, size_t& at, std::string_view field) {
  put_u32le(out, at, static_cast<uint32_t>(field.size()));
  at += 4;
  std::copy(field.begin(), field.end(), out.begin() + static_cast<std::ptrdiff_t>(at));
  at += field.size();
}

}  // namespace

bool looks_like_device_token(std::string_view password) {
  return password.starts_with(kDeviceTokenPrefix);
}

util::Bytes device_token_message(std::string_view chain_id, std::string_view client_id,
                                 std::string_view address, uint64_t expiry_unix_s) {
  size_t size =
      4 * 4 + kDeviceTokenDomain.size() + chain_id.size() + client_id.size() + address.size() + 8;
  util::Bytes out(size);
  size_t at = 0;
  put_field(out, at, kDeviceTokenDomain);
  put_field(out, at, chain_id);
  put_field(out, at, client_id);
  put_field(out, at, address);
  for (int i = 0; i < 8; ++i)
    out[at + static_cast<size_t>(i)] = static_cast<uint8_t>(expiry_unix_s >> (8 * i));
  return out;
}

std::string format_device_token(const DeviceToken& token) {
  return std::string(kDeviceTokenPrefix) + std::to_string(token.expiry_unix_s) + "." +
         detail::encode_base64url(token.signature);
}

util::Result<DeviceToken> parse_device_token(std::string_view password) {
  if (!looks_like_device_token(password)) {
    return util::invalid_argument("not a device token (it must start with 'imet-dt1.')");
  }
  std::string_view rest = password.substr(kDeviceTokenPrefix.size());
  size_t dot = rest.find('.');
  if (dot == std::string_view::npos) {
    return util::invalid_argument("malformed device token: expected imet-dt1.<expiry>.<signature>");
  }
  std::string_view expiry_text = rest.substr(0, dot);
  std::string_view sig_text = rest.substr(dot + 1);
  DeviceToken token;
  bool digits_only = !expiry_text.empty() && expiry_text.size() <= 19 &&
                     expiry_text.find_first_not_of("0123456789") == std::string_view::npos;
  if (!digits_only || (expiry_text.size() > 1 && expiry_text[0] == '0')) {
    return util::invalid_argument("malformed device token: the expiry is not a decimal number");
  }
  std::from_chars(expiry_text.data(), expiry_text.data() + expiry_text.size(), token.expiry_unix_s);
  if (token.expiry_unix_s > kMaxDeviceTokenExpiry) {
    return util::invalid_argument("device token expiry is out of range");
  }
  auto sig = detail::decode_base64url(sig_text);
  if (!sig || sig->size() != token.signature.size()) {
    return util::invalid_argument(
        "malformed device token: the signature is not 64 bytes of unpadded base64url");
  }
  std::copy(sig->begin(), sig->end(), token.signature.begin());
  return token;
}

std::string make_device_token(const crypto::SigningKey& key, std::string_view chain_id,
                              std::string_view client_id, std::string_view address,
                              uint64_t expiry_unix_s) {
  DeviceToken token;
  token.expiry_unix_s = expiry_unix_s;
  token.signature = key.sign(device_token_message(chain_id, client_id, address, expiry_unix_s));
  return format_device_token(token);
}

util::Status verify_device_token(std::string_view address, std::string_view client_id,
                                 std::string_view password, const DeviceKeyLookup& lookup,
                                 const DeviceTokenPolicy& policy, const util::Clock& clock) {
  auto parsed_address = crypto::parse_address(address);
  if (!parsed_address.ok()) {
    return util::permission_denied("username is not a valid IMET address: " +
                                   parsed_address.status().message());
  }
  if (crypto::encode_address(*parsed_address) != address) {
    return util::permission_denied("username must be the address in its canonical lowercase form");
  }
  auto token = parse_device_token(password);
  if (!token.ok()) return util::permission_denied(token.status().message());
  int64_t now = clock.now_unix_ms() / 1000;
  auto expiry = static_cast<int64_t>(token->expiry_unix_s);
  if (expiry + kDeviceTokenClockSkewSeconds < now) {
    return util::permission_denied("device token expired " + std::to_string(now - expiry) +
                                   " s ago");
  }
  int64_t latest = now + policy.max_lifetime.count() + kDeviceTokenClockSkewSeconds;
  if (expiry > latest) {
    return util::permission_denied("device token expires in " + std::to_string(expiry - now) +
                                   " s, more than the allowed lifetime of " +
                                   std::to_string(policy.max_lifetime.count()) + " s");
  }
  if (!lookup) return util::permission_denied("device-key login is not available on this node");
  std::optional<crypto::PublicKey> key = lookup(std::string(address));
  if (!key) return util::permission_denied("no device is registered under " + std::string(address));
  if (crypto::address_bytes_of(*key) != *parsed_address) {
    return util::permission_denied("the registered device key does not belong to " +
                                   std::string(address));
  }
  util::Bytes msg = device_token_message(policy.chain_id, client_id, address, token->expiry_unix_s);
  if (!crypto::verify(*key, msg, token->signature)) {
    return util::permission_denied(
        "device token signature does not verify (wrong key, client id or chain id)");
  }
  return {};
}

}  // namespace imet::mqtt::auth
