// DecodeError and DecodeResult<T>: the outcome of decoding bytes received from an MQTT peer.
// A rejection carries the MQTT 5.0 reason code the specification prescribes for it (0x81 Malformed
// Packet, 0x82 Protocol Error, 0x84 Unsupported Protocol Version, 0x85 Client Identifier not
// valid, 0x90 Topic Name invalid, 0x94 Topic Alias invalid, 0x95 Packet too large, 0x99 Payload
// format invalid) and a message naming the packet and the rule ("PUBLISH: QoS 3 is invalid").
// A broker answers a v5 peer with that code (CONNACK before the session exists, DISCONNECT after)
// and simply closes a 3.1.1 connection (except for the CONNACK return codes 0x01 and 0x02, see
// to_connect_return_code in reason_code.h).
// Thread-safety: value types.
// Invariants: a DecodeResult holds exactly one of {value, error}; an error's reason is >= 0x80.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include "mqtt/codec/reason_code.h"
#include "util/status.h"

namespace imet::mqtt {

struct DecodeError {
  ReasonCode reason = ReasonCode::kMalformedPacket;
  std::string message;

  // kInvalidArgument "<message> (reason 0x81 Malformed Packet)", for layers that speak Status.
  util::Status to_status() const;
  bool operator==(const DecodeError&) const = default;
};

template <typename T>
class [[nodiscard]] DecodeResult {
 public:
  DecodeResult(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  DecodeResult(DecodeError error)                                          // NOLINT
      : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  T& value() & {
    assert(ok());
    return *std::get_if<0>(&v_);
  }
  const T& value() const& {
    assert(ok());
    return *std::get_if<0>(&v_);
  }
  T&& value() && {
    assert(ok());
    return std::move(*std::get_if<0>(&v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  // Valid only when !ok().
  const DecodeError& error() const {
    assert(!ok());
    return *std::get_if<1>(&v_);
  }
  ReasonCode reason() const { return error().reason; }
  const std::string& message() const { return error().message; }

 private:
  std::variant<T, DecodeError> v_;
};

}  // namespace imet::mqtt
