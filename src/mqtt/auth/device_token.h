// Device-key login for MQTT: a device proves it holds the Ed25519 key registered for it on the
// ledger (DeviceRecord.device_key) by sending a signed, time-bound token as its MQTT password.
//
//   username = the device's address, "imet1…" (address_of(device public key), lowercase)
//   password = "imet-dt1." <expiry> "." <signature>
//     expiry    = Unix time in seconds, decimal, no sign, no leading zeros
//     signature = base64url without padding (86 characters) of the 64-byte Ed25519 signature of
//       u32le(len(D)) D || u32le(len(chain id)) chain id || u32le(len(client id)) client id ||
//       u32le(len(address)) address || u64le(expiry)
//     where D = "IMET/mqtt-device-token/v1" (domain separation: no other IMET signature can be
//     mistaken for a token) and the chain id makes a token useless on another network (SPEC §1).
//
// The node accepts a token when: it parses; now - 60 s <= expiry (not expired, with 60 s of
// clock skew); expiry <= now + max_lifetime + 60 s (no long-lived tokens); the address has a
// registered device key; that key's address is the username; and the signature verifies for this
// connection's client id. A token is a bearer credential until it expires: use TLS.
//
// Thread-safety: pure functions; the DeviceKeyLookup given to verify_device_token must be safe to
// call from the calling thread. Invariants: parse_device_token accepts exactly the canonical text
// that format_device_token produces.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/ed25519.h"
#include "util/clock.h"
#include "util/result.h"

namespace imet::mqtt::auth {

inline constexpr std::string_view kDeviceTokenPrefix = "imet-dt1.";
inline constexpr std::string_view kDeviceTokenDomain = "IMET/mqtt-device-token/v1";
inline constexpr int64_t kDeviceTokenClockSkewSeconds = 60;
// Largest expiry accepted (year ~2^40 s): keeps every sum below int64 overflow.
inline constexpr uint64_t kMaxDeviceTokenExpiry = uint64_t{1} << 40;

// The registered device key for an address, or nullopt if no device is registered under it.
// The node implements it from the ledger's DeviceRecord.device_key.
using DeviceKeyLookup = std::function<std::optional<crypto::PublicKey>(const std::string& address)>;

struct DeviceToken {
  uint64_t expiry_unix_s = 0;
  crypto::Signature signature{};
};

// True if `password` is meant as a device token (starts with kDeviceTokenPrefix).
bool looks_like_device_token(std::string_view password);

// The bytes the device signs.
util::Bytes device_token_message(std::string_view chain_id, std::string_view client_id,
                                 std::string_view address, uint64_t expiry_unix_s);

std::string format_device_token(const DeviceToken& token);
// Strict parse of the password text; errors (kInvalidArgument) say which part is wrong.
util::Result<DeviceToken> parse_device_token(std::string_view password);

// The password a device sends: signs the message for (chain_id, client_id, address, expiry).
// `address` should be crypto::address_of(key.public_key()).
std::string make_device_token(const crypto::SigningKey& key, std::string_view chain_id,
                              std::string_view client_id, std::string_view address,
                              uint64_t expiry_unix_s);

struct DeviceTokenPolicy {
  std::string chain_id;
  std::chrono::seconds max_lifetime{86400};
};

// Checks a token sent by `client_id` with username `address`. OK or kPermissionDenied with a
// log-friendly reason (never containing the token itself).
util::Status verify_device_token(std::string_view address, std::string_view client_id,
                                 std::string_view password, const DeviceKeyLookup& lookup,
                                 const DeviceTokenPolicy& policy, const util::Clock& clock);

}  // namespace imet::mqtt::auth
