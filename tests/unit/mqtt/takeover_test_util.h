// Shared helpers of the session takeover tests (broker_takeover_test.cpp over plain TCP,
// broker_takeover_stream_test.cpp over TLS, WebSocket and WebSocket over TLS): the MQTT 5 CONNECT
// and DISCONNECT those tests send, and the check of the CONNACK that answers a CONNECT, for any of
// their client types.
// Thread-safety: free functions without state; session_present uses the client from the calling
// (test) thread only.
// Invariants: every CONNECT is MQTT 5 with a keep alive of 60 s; session_present consumes exactly
// one packet from the client and fails the test unless it is a CONNACK with reason code Success.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include <gtest/gtest.h>

#include "mqtt/codec/packet.h"

namespace imet::mqtt::broker::test {

// An MQTT 5 CONNECT for client `id` with the given Clean Start flag and Session Expiry Interval.
inline Connect connect_v5(const std::string& id, bool clean_start, uint32_t expiry) {
  Connect c;
  c.version = Version::kV5;
  c.client_id = id;
  c.clean_start = clean_start;
  c.keep_alive = 60;
  c.properties.session_expiry_interval = expiry;
  return c;
}

// A DISCONNECT (Normal disconnection) that sets the Session Expiry Interval to `expiry`.
inline Disconnect disconnect_with_expiry(uint32_t expiry) {
  Disconnect d;
  d.properties.session_expiry_interval = expiry;
  return d;
}

// The CONNACK's Session Present flag; fails the test when the next packet is not a CONNACK
// accepting the connection. Client: any type whose receive() returns the next packet from the
// server as std::optional<Packet> (nullopt when there is none).
template <class Client>
std::optional<bool> session_present(Client& c) {
  auto p = c.receive();
  const auto* ack = p ? std::get_if<Connack>(&*p) : nullptr;
  EXPECT_NE(ack, nullptr) << "expected a CONNACK";
  if (ack == nullptr) return std::nullopt;
  EXPECT_EQ(ack->reason_code, ReasonCode::kSuccess);
  return ack->session_present;
}

}  // namespace imet::mqtt::broker::test
