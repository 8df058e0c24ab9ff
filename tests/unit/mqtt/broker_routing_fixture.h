// Fixture of the Broker unit tests (broker_routing_test.cpp, broker_lifecycle_test.cpp): clients
// are sessions opened with Broker::open_session on RecordingSinks (broker_test_util.h), as a
// Connection would, on a ManualClock, without sockets or persistence.
// Thread-safety: single-threaded tests (no io_context: housekeeping() is called directly).
// Invariants: none beyond the fixture's own members.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker_test_util.h"
#include "mqtt/broker/broker.h"

namespace imet::mqtt::broker::test {

struct Client {
  std::string id;
  std::shared_ptr<Session> session;
  std::shared_ptr<RecordingSink> sink;
  bool session_present = false;
  size_t frames_when_opened = 0;  // packets the sink had when on_opened ran
  Version version = Version::kV5;

  std::vector<Publish> take() { return sink->take_publishes(version); }
  std::vector<std::string> payloads() {
    std::vector<std::string> out;
    for (const Publish& p : take())
      out.emplace_back(p.payload.as_string_view());
    return out;
  }
};

inline SubscriptionOptions opts(uint8_t qos, bool no_local = false, bool rap = false,
                                RetainHandling rh = RetainHandling::kSendOnSubscribe) {
  SubscriptionOptions o;
  o.qos = qos;
  o.no_local = no_local;
  o.retain_as_published = rap;
  o.retain_handling = rh;
  return o;
}

class BrokerRoutingTest : public ::testing::Test {
 protected:
  BrokerRoutingTest() : clock_(kT0) { config_.sys_interval = std::chrono::seconds(0); }

  Broker& broker() {
    if (!broker_) broker_ = std::make_unique<Broker>(config_, clock_);
    return *broker_;
  }

  Client connect(const std::string& id, bool clean_start = true, uint32_t expiry = 0,
                 Version version = Version::kV5,
                 std::optional<std::string> username = std::nullopt) {
    Client c;
    c.id = id;
    c.version = version;
    c.sink = std::make_shared<RecordingSink>();
    LinkParams link;
    link.version = version;
    auto opened = broker().open_session(
        id, clean_start, expiry, c.sink, link,
        [&](bool present) {
          c.frames_when_opened = c.sink->frame_count();
          c.session_present = present;
        },
        std::move(username));
    EXPECT_EQ(opened.session_present, c.session_present);
    c.session = opened.session;
    return c;
  }
  void disconnect(Client& c, MessagePtr will = nullptr, uint32_t will_delay = 0) {
    broker().close_session(c.session, c.sink.get(), std::move(will), will_delay);
  }
  // SUBSCRIBE as Connection::handle_subscribe does it: retained messages follow the SUBACK.
  std::vector<ReasonCode> subscribe(Client& c, const std::string& filter, SubscriptionOptions o,
                                    uint32_t sub_id = 0) {
    std::vector<Broker::Retained> retained;
    auto codes =
        broker().subscribe(*c.session, {Subscription{filter, o}}, sub_id, c.version, retained);
    for (auto& r : retained)
      c.session->deliver(r.message, std::move(r.delivery));
    return codes;
  }
  MessagePtr message(const std::string& topic, const std::string& payload, uint8_t qos = 0,
                     bool retain = false, const std::string& origin = "publisher") {
    auto m = std::make_shared<Message>();
    m->topic = topic;
    m->payload = SharedBytes::copy_of(std::string_view(payload));
    m->qos = qos;
    m->retain = retain;
    m->created_ms = clock_.now_unix_ms();
    m->origin_client = origin;
    return m;
  }
  void publish(const std::string& topic, const std::string& payload, uint8_t qos = 0,
               bool retain = false, const std::string& origin = "publisher") {
    broker().publish(message(topic, payload, qos, retain, origin));
  }
  // The clock moves `ms` on, then one housekeeping pass runs; false if the clock cannot move.
  [[nodiscard]] bool housekeeping_after_ms(int64_t ms) {
    if (!clock_.advance_ms(ms)) return false;
    broker().housekeeping();
    return true;
  }
  // The will of client `id`: QoS 1 to will/<id>.
  MessagePtr will_of(const std::string& id, const std::string& payload) {
    return message("will/" + id, payload, 1, false, id);
  }
  // A client "watcher" subscribed to every will ("will/#", QoS 1).
  Client will_watcher() {
    Client w = connect("watcher");
    subscribe(w, "will/#", opts(1));
    return w;
  }

  BrokerConfig config_;
  util::ManualClock clock_;
  std::unique_ptr<Broker> broker_;
};

}  // namespace imet::mqtt::broker::test
