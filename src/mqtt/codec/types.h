// Basic vocabulary of the MQTT wire protocol shared by the whole codec: protocol versions, control
// packet types, quality-of-service levels and the numeric limits of the fixed header.
// Thread-safety: constants and pure functions only.
// Invariants: PacketType values are the 4-bit type numbers of the fixed header (1..15); Version
// values are the "protocol level" byte of CONNECT (4 = MQTT 3.1.1, 5 = MQTT 5.0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace imet::mqtt {

// The protocol versions this codec speaks. MQTT 3.1 ("MQIsdp", level 3) is not supported: a CONNECT
// asking for it decodes to ReasonCode::kUnsupportedProtocolVersion (see decoder.h).
enum class Version : uint8_t {
  kV311 = 4,
  kV5 = 5,
};

// "3.1.1" or "5.0".
std::string_view version_name(Version version);

// Control packet types (fixed header bits 7..4). Type 0 is reserved in both versions; type 15
// (AUTH) exists only in MQTT 5.0 (it is reserved in 3.1.1).
enum class PacketType : uint8_t {
  kConnect = 1,
  kConnack = 2,
  kPublish = 3,
  kPuback = 4,
  kPubrec = 5,
  kPubrel = 6,
  kPubcomp = 7,
  kSubscribe = 8,
  kSuback = 9,
  kUnsubscribe = 10,
  kUnsuback = 11,
  kPingreq = 12,
  kPingresp = 13,
  kDisconnect = 14,
  kAuth = 15,
};

// "CONNECT", "PUBLISH", ...; "RESERVED" for values outside 1..15.
std::string_view packet_type_name(PacketType type);

// Largest value of a Variable Byte Integer (4 bytes of 7 bits): the largest remaining length and
// the largest subscription identifier.
inline constexpr uint32_t kMaxVarByteInt = 268'435'455;
inline constexpr uint32_t kMaxRemainingLength = kMaxVarByteInt;
// Largest possible packet: 1 type byte + 4 length bytes + the largest remaining length.
inline constexpr size_t kMaxPacketSize = 1 + 4 + size_t{kMaxRemainingLength};
// Largest UTF-8 string or binary data field (two-byte length prefix).
inline constexpr size_t kMaxFieldLength = 65'535;

}  // namespace imet::mqtt
