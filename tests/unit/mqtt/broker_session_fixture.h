// Fixture of the broker::Session unit tests (broker_session_test.cpp,
// broker_session_resume_test.cpp): sessions driven directly, without sockets, on a ManualClock,
// with RecordingSinks (broker_test_util.h) standing in for connections. Thread-safety:
// single-threaded tests. Invariants: none beyond the fixture's own members.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker_test_util.h"
#include "mqtt/broker/session.h"

namespace imet::mqtt::broker::test {

inline Delivery delivery(uint8_t qos) {
  Delivery d;
  d.qos = qos;
  return d;
}

class SessionTest : public ::testing::Test {
 protected:
  SessionTest() : clock_(kT0) {}

  std::shared_ptr<Session> make_session(uint32_t expiry = 0) {
    auto s = std::make_shared<Session>("client", config_, stats_, clock_);
    s->set_expiry_interval(expiry);
    return s;
  }
  static LinkParams link(uint16_t receive_maximum = 65535, uint16_t alias_max = 0,
                         uint32_t max_packet = 0, Version version = Version::kV5) {
    LinkParams l;
    l.version = version;
    l.receive_maximum = receive_maximum;
    l.topic_alias_maximum = alias_max;
    l.max_packet_size = max_packet;
    return l;
  }
  std::shared_ptr<RecordingSink> attach(Session& s, const LinkParams& l = link()) {
    auto sink = std::make_shared<RecordingSink>();
    s.attach(sink, l);
    return sink;
  }

  BrokerConfig config_;
  BrokerStats stats_;
  util::ManualClock clock_;
};

inline std::vector<uint16_t> ids_of(const std::vector<Publish>& pubs) {
  std::vector<uint16_t> ids;
  for (const Publish& p : pubs)
    ids.push_back(p.packet_id);
  return ids;
}

inline std::vector<std::string> payloads_of(const std::vector<Publish>& pubs) {
  std::vector<std::string> out;
  for (const Publish& p : pubs)
    out.emplace_back(p.payload.as_string_view());
  return out;
}

}  // namespace imet::mqtt::broker::test
