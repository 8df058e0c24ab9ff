#include "mqtt/codec/types.h"

#include <array>

namespace imet::mqtt {

std::string_view version_name(Version version) {
  switch (version) {
    case Version::kV311:
      return "3.1.1";
    case Version::kV5:
      return "5.0";
  }
  return "unknown";
}

std::string_view packet_type_name(PacketType type) {
  static constexpr std::array<std::string_view, 16> kNames = {
      "RESERVED", "CONNECT",  "CONNACK",    "PUBLISH", "PUBACK",      "PUBREC",
      "PUBREL",   "PUBCOMP",  "SUBSCRIBE",  "SUBACK",  "UNSUBSCRIBE", "UNSUBACK",
      "PINGREQ",  "PINGRESP", "DISCONNECT", "AUTH"};
  const auto index = static_cast<size_t>(type);
  return index < kNames.size() ? kNames[index] : "RESERVED";
}

}  // namespace imet::mqtt
