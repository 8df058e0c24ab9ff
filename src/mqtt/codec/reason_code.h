// MQTT reason codes: every MQTT 5.0 reason code (spec §2.4, 0x00..0xA2), the MQTT 3.1.1 CONNACK
// return codes, which codes each v5 packet may carry, and the mapping between the two versions.
// Decode errors (decoder.h) carry a ReasonCode too, so the broker can answer with the code the
// specification asks for (0x81 Malformed Packet, 0x82 Protocol Error, 0x95 Packet too large, ...).
// Thread-safety: pure functions.
// Invariants: ReasonCode values are the wire bytes of MQTT 5.0; ConnectReturnCode values are the
// wire bytes of the MQTT 3.1.1 CONNACK; to_reason_code(to_connect_return_code(c)) == c for every
// reason code c that to_reason_code can return.
#pragma once

#include <cstdint>
#include <string_view>

#include "mqtt/codec/types.h"

namespace imet::mqtt {

enum class ReasonCode : uint8_t {
  kSuccess = 0x00,  // also Normal disconnection, Granted QoS 0
  kNormalDisconnection = 0x00,
  kGrantedQos0 = 0x00,
  kGrantedQos1 = 0x01,
  kGrantedQos2 = 0x02,
  kDisconnectWithWillMessage = 0x04,
  kNoMatchingSubscribers = 0x10,
  kNoSubscriptionExisted = 0x11,
  kContinueAuthentication = 0x18,
  kReAuthenticate = 0x19,
  kUnspecifiedError = 0x80,
  kMalformedPacket = 0x81,
  kProtocolError = 0x82,
  kImplementationSpecificError = 0x83,
  kUnsupportedProtocolVersion = 0x84,
  kClientIdentifierNotValid = 0x85,
  kBadUserNameOrPassword = 0x86,
  kNotAuthorized = 0x87,
  kServerUnavailable = 0x88,
  kServerBusy = 0x89,
  kBanned = 0x8A,
  kServerShuttingDown = 0x8B,
  kBadAuthenticationMethod = 0x8C,
  kKeepAliveTimeout = 0x8D,
  kSessionTakenOver = 0x8E,
  kTopicFilterInvalid = 0x8F,
  kTopicNameInvalid = 0x90,
  kPacketIdentifierInUse = 0x91,
  kPacketIdentifierNotFound = 0x92,
  kReceiveMaximumExceeded = 0x93,
  kTopicAliasInvalid = 0x94,
  kPacketTooLarge = 0x95,
  kMessageRateTooHigh = 0x96,
  kQuotaExceeded = 0x97,
  kAdministrativeAction = 0x98,
  kPayloadFormatInvalid = 0x99,
  kRetainNotSupported = 0x9A,
  kQosNotSupported = 0x9B,
  kUseAnotherServer = 0x9C,
  kServerMoved = 0x9D,
  kSharedSubscriptionsNotSupported = 0x9E,
  kConnectionRateExceeded = 0x9F,
  kMaximumConnectTime = 0xA0,
  kSubscriptionIdentifiersNotSupported = 0xA1,
  kWildcardSubscriptionsNotSupported = 0xA2,
};

// The specification's name ("Success", "Malformed Packet", ...); "Unknown reason code" for bytes
// that are not reason codes.
std::string_view reason_code_name(ReasonCode code);

// True if `code` is one of the reason codes defined by MQTT 5.0.
bool is_reason_code(uint8_t byte);

// True if an MQTT 5.0 packet of `type` may carry `code` (spec tables in §3.2.2.2, §3.4.2.1, ...,
// §3.15.2.1). CONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, PINGREQ and PINGRESP carry none.
bool reason_code_allowed(PacketType type, ReasonCode code);

// MQTT 3.1.1 CONNACK return codes (§3.2.2.3). 6..255 are reserved.
enum class ConnectReturnCode : uint8_t {
  kAccepted = 0x00,
  kUnacceptableProtocolVersion = 0x01,
  kIdentifierRejected = 0x02,
  kServerUnavailable = 0x03,
  kBadUserNameOrPassword = 0x04,
  kNotAuthorized = 0x05,
};

std::string_view connect_return_code_name(ConnectReturnCode code);

// v5 reason code -> 3.1.1 return code, total: 0x84 -> 1, 0x85 -> 2, 0x86/0x8C -> 4,
// 0x87/0x8A -> 5, 0x00 -> 0, anything else -> 3 (server unavailable).
ConnectReturnCode to_connect_return_code(ReasonCode code);
// 3.1.1 return code -> v5 reason code: 0 -> 0x00, 1 -> 0x84, 2 -> 0x85, 3 -> 0x88, 4 -> 0x86,
// 5 -> 0x87.
ReasonCode to_reason_code(ConnectReturnCode code);

}  // namespace imet::mqtt
