#include "mqtt/codec/reason_code.h"

#include <algorithm>
#include <array>

namespace imet::mqtt {

std::string_view reason_code_name(ReasonCode code) {
  switch (code) {
    case ReasonCode::kSuccess:
      return "Success";
    case ReasonCode::kGrantedQos1:
      return "Granted QoS 1";
    case ReasonCode::kGrantedQos2:
      return "Granted QoS 2";
    case ReasonCode::kDisconnectWithWillMessage:
      return "Disconnect with Will Message";
    case ReasonCode::kNoMatchingSubscribers:
      return "No matching subscribers";
    case ReasonCode::kNoSubscriptionExisted:
      return "No subscription existed";
    case ReasonCode::kContinueAuthentication:
      return "Continue authentication";
    case ReasonCode::kReAuthenticate:
      return "Re-authenticate";
    case ReasonCode::kUnspecifiedError:
      return "Unspecified error";
    case ReasonCode::kMalformedPacket:
      return "Malformed Packet";
    case ReasonCode::kProtocolError:
      return "Protocol Error";
    case ReasonCode::kImplementationSpecificError:
      return "Implementation specific error";
    case ReasonCode::kUnsupportedProtocolVersion:
      return "Unsupported Protocol Version";
    case ReasonCode::kClientIdentifierNotValid:
      return "Client Identifier not valid";
    case ReasonCode::kBadUserNameOrPassword:
      return "Bad User Name or Password";
    case ReasonCode::kNotAuthorized:
      return "Not authorized";
    case ReasonCode::kServerUnavailable:
      return "Server unavailable";
    case ReasonCode::kServerBusy:
      return "Server busy";
    case ReasonCode::kBanned:
      return "Banned";
    case ReasonCode::kServerShuttingDown:
      return "Server shutting down";
    case ReasonCode::kBadAuthenticationMethod:
      return "Bad authentication method";
    case ReasonCode::kKeepAliveTimeout:
      return "Keep Alive timeout";
    case ReasonCode::kSessionTakenOver:
      return "Session taken over";
    case ReasonCode::kTopicFilterInvalid:
      return "Topic Filter invalid";
    case ReasonCode::kTopicNameInvalid:
      return "Topic Name invalid";
    case ReasonCode::kPacketIdentifierInUse:
      return "Packet Identifier in use";
    case ReasonCode::kPacketIdentifierNotFound:
      return "Packet Identifier not found";
    case ReasonCode::kReceiveMaximumExceeded:
      return "Receive Maximum exceeded";
    case ReasonCode::kTopicAliasInvalid:
      return "Topic Alias invalid";
    case ReasonCode::kPacketTooLarge:
      return "Packet too large";
    case ReasonCode::kMessageRateTooHigh:
      return "Message rate too high";
    case ReasonCode::kQuotaExceeded:
      return "Quota exceeded";
    case ReasonCode::kAdministrativeAction:
      return "Administrative action";
    case ReasonCode::kPayloadFormatInvalid:
      return "Payload format invalid";
    case ReasonCode::kRetainNotSupported:
      return "Retain not supported";
    case ReasonCode::kQosNotSupported:
      return "QoS not supported";
    case ReasonCode::kUseAnotherServer:
      return "Use another server";
    case ReasonCode::kServerMoved:
      return "Server moved";
    case ReasonCode::kSharedSubscriptionsNotSupported:
      return "Shared Subscriptions not supported";
    case ReasonCode::kConnectionRateExceeded:
      return "Connection rate exceeded";
    case ReasonCode::kMaximumConnectTime:
      return "Maximum connect time";
    case ReasonCode::kSubscriptionIdentifiersNotSupported:
      return "Subscription Identifiers not supported";
    case ReasonCode::kWildcardSubscriptionsNotSupported:
      return "Wildcard Subscriptions not supported";
  }
  return "Unknown reason code";
}

bool is_reason_code(uint8_t byte) {
  return reason_code_name(static_cast<ReasonCode>(byte)) != "Unknown reason code";
}

namespace {

template <size_t N>
bool contains(const std::array<uint8_t, N>& set, ReasonCode code) {
  return std::find(set.begin(), set.end(), static_cast<uint8_t>(code)) != set.end();
}

constexpr std::array<uint8_t, 22> kConnack = {0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86,
                                              0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97,
                                              0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F};
constexpr std::array<uint8_t, 9> kPubackPubrec = {0x00, 0x10, 0x80, 0x83, 0x87,
                                                  0x90, 0x91, 0x97, 0x99};
constexpr std::array<uint8_t, 2> kPubrelPubcomp = {0x00, 0x92};
constexpr std::array<uint8_t, 12> kSuback = {0x00, 0x01, 0x02, 0x80, 0x83, 0x87,
                                             0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2};
constexpr std::array<uint8_t, 7> kUnsuback = {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91};
constexpr std::array<uint8_t, 29> kDisconnect = {
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94,
    0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2};
constexpr std::array<uint8_t, 3> kAuth = {0x00, 0x18, 0x19};

}  // namespace

bool reason_code_allowed(PacketType type, ReasonCode code) {
  switch (type) {
    case PacketType::kConnack:
      return contains(kConnack, code);
    case PacketType::kPuback:
    case PacketType::kPubrec:
      return contains(kPubackPubrec, code);
    case PacketType::kPubrel:
    case PacketType::kPubcomp:
      return contains(kPubrelPubcomp, code);
    case PacketType::kSuback:
      return contains(kSuback, code);
    case PacketType::kUnsuback:
      return contains(kUnsuback, code);
    case PacketType::kDisconnect:
      return contains(kDisconnect, code);
    case PacketType::kAuth:
      return contains(kAuth, code);
    default:
      return false;
  }
}

std::string_view connect_return_code_name(ConnectReturnCode code) {
  switch (code) {
    case ConnectReturnCode::kAccepted:
      return "Connection Accepted";
    case ConnectReturnCode::kUnacceptableProtocolVersion:
      return "Connection Refused, unacceptable protocol version";
    case ConnectReturnCode::kIdentifierRejected:
      return "Connection Refused, identifier rejected";
    case ConnectReturnCode::kServerUnavailable:
      return "Connection Refused, Server unavailable";
    case ConnectReturnCode::kBadUserNameOrPassword:
      return "Connection Refused, bad user name or password";
    case ConnectReturnCode::kNotAuthorized:
      return "Connection Refused, not authorized";
  }
  return "Reserved return code";
}

ConnectReturnCode to_connect_return_code(ReasonCode code) {
  switch (code) {
    case ReasonCode::kSuccess:
      return ConnectReturnCode::kAccepted;
    case ReasonCode::kUnsupportedProtocolVersion:
      return ConnectReturnCode::kUnacceptableProtocolVersion;
    case ReasonCode::kClientIdentifierNotValid:
      return ConnectReturnCode::kIdentifierRejected;
    case ReasonCode::kBadUserNameOrPassword:
    case ReasonCode::kBadAuthenticationMethod:
      return ConnectReturnCode::kBadUserNameOrPassword;
    case ReasonCode::kNotAuthorized:
    case ReasonCode::kBanned:
      return ConnectReturnCode::kNotAuthorized;
    default:
      return ConnectReturnCode::kServerUnavailable;
  }
}

ReasonCode to_reason_code(ConnectReturnCode code) {
  switch (code) {
    case ConnectReturnCode::kAccepted:
      return ReasonCode::kSuccess;
    case ConnectReturnCode::kUnacceptableProtocolVersion:
      return ReasonCode::kUnsupportedProtocolVersion;
    case ConnectReturnCode::kIdentifierRejected:
      return ReasonCode::kClientIdentifierNotValid;
    case ConnectReturnCode::kServerUnavailable:
      return ReasonCode::kServerUnavailable;
    case ConnectReturnCode::kBadUserNameOrPassword:
      return ReasonCode::kBadUserNameOrPassword;
    case ConnectReturnCode::kNotAuthorized:
      return ReasonCode::kNotAuthorized;
  }
  return ReasonCode::kServerUnavailable;
}

}  // namespace imet::mqtt
