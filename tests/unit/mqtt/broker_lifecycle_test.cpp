// Unit tests of broker::Broker (src/mqtt/broker/broker.h), part 2: the session life cycle (clean
// start and session present, takeover, expiry through housekeeping() on a ManualClock), wills and
// will delay, $SYS, tier_for, admission limits and shutdown. Part 1 (routing):
// broker_routing_test.cpp.
// Thread-safety: single-threaded tests. Invariants: expected values come from MQTT 3.1.1 / 5.0,
// SPEC.md section 4 and the documented broker contract, never from the implementation's output.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker_routing_fixture.h"

namespace imet::mqtt::broker::test {
namespace {

// ---- sessions ----

TEST_F(BrokerRoutingTest, SessionIsResumedWithSessionPresentAndItsQueue) {
  Client c = connect("c", false, 3600);
  EXPECT_FALSE(c.session_present);
  subscribe(c, "t", opts(1));
  disconnect(c);
  EXPECT_EQ(broker().session_count(), 1u);
  publish("t", "while-away", 1);
  EXPECT_EQ(c.session->queued_count(), 1u);

  Client again = connect("c", false, 3600);
  EXPECT_TRUE(again.session_present);
  EXPECT_EQ(again.session, c.session);
  // The CONNACK (on_opened) comes before any queued PUBLISH is written.
  EXPECT_EQ(again.frames_when_opened, 0u);
  EXPECT_EQ(again.payloads(), std::vector<std::string>{"while-away"});
  publish("t", "live", 1);
  EXPECT_EQ(again.payloads(), std::vector<std::string>{"live"});
}

TEST_F(BrokerRoutingTest, CleanStartDiscardsTheSession) {
  Client c = connect("c", false, 3600);
  subscribe(c, "t", opts(1));
  disconnect(c);
  publish("t", "old", 1);

  Client fresh = connect("c", /*clean_start=*/true, 3600);
  EXPECT_FALSE(fresh.session_present);
  EXPECT_NE(fresh.session, c.session);
  EXPECT_EQ(broker().session_count(), 1u);
  EXPECT_EQ(broker().subscription_count(), 0u);
  EXPECT_TRUE(fresh.take().empty());  // the queued message went with the old session
  publish("t", "new", 1);
  EXPECT_TRUE(fresh.take().empty());  // and so did the subscription
}

TEST_F(BrokerRoutingTest, TakeoverKicksTheOldConnectionWithSessionTakenOver) {
  Client c = connect("c", false, 3600);
  Client again = connect("c", false, 3600);
  EXPECT_EQ(c.sink->kicks(), std::vector<ReasonCode>{ReasonCode::kSessionTakenOver});
  EXPECT_TRUE(again.session_present);
  EXPECT_EQ(again.session, c.session);
  // The old connection closing late must not detach the new one.
  disconnect(c);
  EXPECT_TRUE(again.session->online());

  Client third = connect("c", /*clean_start=*/true, 3600);
  EXPECT_EQ(again.sink->kicks(), std::vector<ReasonCode>{ReasonCode::kSessionTakenOver});
  EXPECT_FALSE(third.session_present);
  EXPECT_NE(third.session, again.session);
}

// The new connection's CONNECT may run on another I/O thread between open_session's decision and
// the attach of the connection it opened for (in on_opened here). The first connection is then
// kicked as in any takeover, and its session, replaced and unregistered, never counts as an offline
// session. Found by broker_hostile_test under ASan: the replaced Session stayed in the offline set
// after it was freed, and housekeeping read it.
TEST_F(BrokerRoutingTest, TakeoverBeforeTheFirstConnectionAttachesKicksIt) {
  auto first_sink = std::make_shared<RecordingSink>();
  Client second;
  auto first = broker().open_session("c", true, 3600, first_sink, LinkParams{}, [&](bool) {
    second = connect("c", /*clean_start=*/true, 3600);
  });
  EXPECT_EQ(first_sink->kicks(), std::vector<ReasonCode>{ReasonCode::kSessionTakenOver});
  EXPECT_NE(first.session, second.session);
  EXPECT_TRUE(second.session->online());
  EXPECT_EQ(broker().attached_connection("c"), second.sink);
  broker().close_session(first.session, first_sink.get(), nullptr, 0);
  EXPECT_EQ(broker().attached_connection("c"), second.sink);
  EXPECT_EQ(broker().session_count(), 1u);
  disconnect(second);
  EXPECT_EQ(broker().session_count(), 1u);
  // No client is connected: shutdown has nobody to wait for.
  EXPECT_EQ(broker().shutdown(std::chrono::milliseconds(0)), 0u);
}

// A takeover that continues the session, while the previous connection ends on its own (keep alive,
// EOF, its DISCONNECT) on another I/O thread before the new one attaches: the session stays
// online with the new connection, is not expired by housekeeping, keeps its subscriptions, and
// the old connection's will is not published (the session continues). Found by a review of the
// same window as the test above.
TEST_F(BrokerRoutingTest, OldConnectionEndingDuringATakeoverLeavesTheSessionOnline) {
  Client c0 = connect("c", false, 3600);
  subscribe(c0, "t", opts(1));
  Client watcher = connect("watcher");
  subscribe(watcher, "will/#", opts(1));
  Client c1;
  c1.id = "c";
  c1.sink = std::make_shared<RecordingSink>();
  auto opened = broker().open_session("c", false, 3600, c1.sink, LinkParams{}, [&](bool) {
    disconnect(c0, will_of("c", "old connection's will"));
  });
  c1.session = opened.session;
  EXPECT_TRUE(c1.session->online());
  EXPECT_EQ(broker().attached_connection("c"), c1.sink);
  ASSERT_TRUE(housekeeping_after_ms(3'601'000));  // past the expiry, were the session offline
  EXPECT_EQ(broker().session_count(), 2u);
  EXPECT_EQ(broker().subscription_count(), 2u);
  publish("t", "still subscribed", 1);
  EXPECT_EQ(c1.payloads(), std::vector<std::string>{"still subscribed"});
  EXPECT_TRUE(watcher.payloads().empty());
}

// The same window, with another connection of the client id opening and closing in it.
TEST_F(BrokerRoutingTest, ConnectionOpenedAndClosedDuringATakeoverLeavesTheSessionOnline) {
  Client c0 = connect("c", false, 3600);
  disconnect(c0);
  Client c1;
  c1.id = "c";
  c1.sink = std::make_shared<RecordingSink>();
  auto opened = broker().open_session("c", false, 3600, c1.sink, LinkParams{}, [&](bool) {
    Client c2 = connect("c", false, 3600);
    disconnect(c2, will_of("c", "c2's will"), 60);  // delayed: cancelled by c1's connection
  });
  c1.session = opened.session;
  EXPECT_TRUE(c1.session->online());
  ASSERT_TRUE(housekeeping_after_ms(3'601'000));
  EXPECT_EQ(broker().session_count(), 1u);
  EXPECT_EQ(broker().attached_connection("c"), c1.sink);
  Client watcher = connect("watcher");
  subscribe(watcher, "will/#", opts(1));
  ASSERT_TRUE(housekeeping_after_ms(1000));
  EXPECT_TRUE(watcher.payloads().empty());
  // One client is connected (and the watcher): shutdown waits for them.
  EXPECT_EQ(broker().shutdown(std::chrono::milliseconds(0)), 2u);
}

// A connection taken over may still process a DISCONNECT it read before its kick: the Session
// Expiry Interval in it is not applied to the session the new connection continues (it would end
// that session, or stop its messages from being stored). The current connection's DISCONNECT
// still sets it. Found by a review of the takeover windows.
TEST_F(BrokerRoutingTest, LateDisconnectOfATakenOverConnectionKeepsTheSessionExpiry) {
  Client c0 = connect("c", false, 3600);
  Client c1 = connect("c", false, 3600);
  broker().close_session(c0.session, c0.sink.get(), nullptr, 0, /*new_expiry=*/0u);
  EXPECT_EQ(c1.session->expiry_interval(), 3600u);
  broker().close_session(c1.session, c1.sink.get(), nullptr, 0);
  EXPECT_EQ(broker().session_count(), 1u);  // offline, kept for an hour

  Client d = connect("d", false, 3600);
  broker().close_session(d.session, d.sink.get(), nullptr, 0, /*new_expiry=*/0u);
  EXPECT_EQ(broker().session_count(), 1u);  // "d" ended with its connection
}

// What a new connection drains before it takes the session over (Connection::continue_connect).
TEST_F(BrokerRoutingTest, AttachedConnectionIsTheSessionsCurrentConnection) {
  EXPECT_EQ(broker().attached_connection("c"), nullptr);  // no session
  Client c = connect("c", false, 3600);
  EXPECT_EQ(broker().attached_connection("c"), c.sink);
  Client again = connect("c", false, 3600);
  EXPECT_EQ(broker().attached_connection("c"), again.sink);
  disconnect(c);  // the taken-over connection closing late changes nothing
  EXPECT_EQ(broker().attached_connection("c"), again.sink);
  disconnect(again);
  EXPECT_EQ(broker().session_count(), 1u);
  EXPECT_EQ(broker().attached_connection("c"), nullptr);  // offline
}

TEST_F(BrokerRoutingTest, SessionWithExpiryZeroEndsWithItsConnection) {
  Client c = connect("c", false, 0);
  subscribe(c, "t", opts(1));
  EXPECT_EQ(broker().subscription_count(), 1u);
  disconnect(c);
  EXPECT_EQ(broker().session_count(), 0u);
  EXPECT_EQ(broker().subscription_count(), 0u);

  // MQTT-3.1.2-6: a session with expiry 0 is not resumed even while its connection is open.
  Client d = connect("d", false, 0);
  Client d2 = connect("d", false, 0);
  EXPECT_FALSE(d2.session_present);
  EXPECT_NE(d2.session, d.session);
}

TEST_F(BrokerRoutingTest, HousekeepingExpiresOfflineSessions) {
  Client c = connect("c", false, 10);
  subscribe(c, "t", opts(1));
  Client forever = connect("forever", false, 0xFFFFFFFF);
  disconnect(c);
  disconnect(forever);
  ASSERT_TRUE(housekeeping_after_ms(9'999));
  EXPECT_EQ(broker().session_count(), 2u);
  ASSERT_TRUE(housekeeping_after_ms(1));
  EXPECT_EQ(broker().session_count(), 1u);
  EXPECT_EQ(broker().subscription_count(), 0u);
  // 0xFFFFFFFF means the session does not expire (MQTT 5 §3.1.2.11.2).
  ASSERT_TRUE(housekeeping_after_ms(int64_t{20} * 365 * 24 * 3600 * 1000));
  EXPECT_EQ(broker().session_count(), 1u);
  Client back = connect("c", false, 10);
  EXPECT_FALSE(back.session_present);
}

TEST_F(BrokerRoutingTest, OnlineSessionsDoNotExpire) {
  Client c = connect("c", false, 1);
  ASSERT_TRUE(housekeeping_after_ms(60'000));
  EXPECT_EQ(broker().session_count(), 1u);
  EXPECT_TRUE(c.session->online());
}

// ---- wills ----

TEST_F(BrokerRoutingTest, WillWithoutDelayIsPublishedAtOnce) {
  Client watcher = will_watcher();
  Client c = connect("c", false, 60);
  disconnect(c, will_of("c", "gone"), 0);
  EXPECT_EQ(watcher.payloads(), std::vector<std::string>{"gone"});
}

TEST_F(BrokerRoutingTest, DelayedWillIsPublishedAfterTheDelay) {
  Client watcher = will_watcher();
  Client c = connect("c", false, 60);
  disconnect(c, will_of("c", "gone"), 5);
  EXPECT_TRUE(watcher.take().empty());
  ASSERT_TRUE(housekeeping_after_ms(4'999));
  EXPECT_TRUE(watcher.take().empty());
  ASSERT_TRUE(housekeeping_after_ms(1));
  EXPECT_EQ(watcher.payloads(), std::vector<std::string>{"gone"});
  ASSERT_TRUE(housekeeping_after_ms(10'000));
  EXPECT_TRUE(watcher.take().empty());  // once only
}

TEST_F(BrokerRoutingTest, ReconnectBeforeTheDelayCancelsTheWill) {
  Client watcher = will_watcher();
  Client c = connect("c", false, 60);
  disconnect(c, will_of("c", "gone"), 5);
  ASSERT_TRUE(clock_.advance_ms(3'000));
  Client back = connect("c", false, 60);
  ASSERT_TRUE(housekeeping_after_ms(10'000));
  EXPECT_TRUE(watcher.take().empty());  // MQTT-3.1.3-9
}

TEST_F(BrokerRoutingTest, ExpiredSessionIsNotResumedBeforeHousekeepingRuns) {
  Client c = connect("c", false, 3);
  subscribe(c, "t", opts(1));
  disconnect(c);
  ASSERT_TRUE(clock_.advance_ms(2'999));
  Client back = connect("c", false, 3);
  EXPECT_TRUE(back.session_present);
  disconnect(back);
  ASSERT_TRUE(clock_.advance_ms(3'000));
  // Expired exactly now; no housekeeping pass ran (it runs once a second): still a new session.
  Client late = connect("c", false, 3);
  EXPECT_FALSE(late.session_present);
  EXPECT_NE(late.session, back.session);
  EXPECT_EQ(broker().subscription_count(), 0u);
}

TEST_F(BrokerRoutingTest, DueWillIsPublishedNotCancelledByALateReconnect) {
  Client watcher = will_watcher();
  Client c = connect("c", false, 60);
  disconnect(c, will_of("c", "gone"), 5);
  ASSERT_TRUE(clock_.advance_ms(5'000));
  Client back = connect("c", false, 60);  // after the delay, before housekeeping noticed
  EXPECT_EQ(watcher.payloads(), std::vector<std::string>{"gone"});
  broker().housekeeping();
  EXPECT_TRUE(watcher.take().empty());  // once only
}

TEST_F(BrokerRoutingTest, WillDelayIsCappedBySessionExpiry) {
  Client watcher = will_watcher();
  Client c = connect("c", false, 3);
  disconnect(c, will_of("c", "gone"), 10);
  ASSERT_TRUE(housekeeping_after_ms(2'999));
  EXPECT_TRUE(watcher.take().empty());
  ASSERT_TRUE(housekeeping_after_ms(1));
  // The session ended at 3 s: its will goes then (MQTT 5 §3.1.3.2.2), exactly once.
  EXPECT_EQ(watcher.payloads(), std::vector<std::string>{"gone"});
  EXPECT_EQ(broker().session_count(), 1u);  // only the watcher
}

TEST_F(BrokerRoutingTest, TakenOverConnectionsDelayedWillIsCancelled) {
  Client watcher = will_watcher();
  Client c = connect("c", false, 60);
  Client again = connect("c", false, 60);  // takes over; the old connection closes late
  disconnect(c, will_of("c", "delayed"), 5);
  ASSERT_TRUE(housekeeping_after_ms(10'000));
  EXPECT_TRUE(watcher.take().empty());
  EXPECT_TRUE(again.session->online());
}

TEST_F(BrokerRoutingTest, TakeoverThatContinuesTheSessionCancelsAWillWithoutDelay) {
  // The new connection was opened before the (zero) will delay, which starts when the old
  // connection closes, had elapsed: MQTT-3.1.2-8; mosquitto 07-will-takeover expects no will.
  Client watcher = will_watcher();
  Client c = connect("c", false, 60);
  Client again = connect("c", false, 60);
  disconnect(c, will_of("c", "now"), 0);
  ASSERT_TRUE(housekeeping_after_ms(10'000));
  EXPECT_TRUE(watcher.take().empty());
  EXPECT_TRUE(again.session->online());
}

TEST_F(BrokerRoutingTest, TakeoverThatEndsTheSessionPublishesTheWillAtOnce) {
  // The session ends (MQTT-3.1.2-8 "or the Session ends"), delay or not: by a Clean Start of
  // the new connection, or because the old session had expiry 0.
  Client watcher = will_watcher();
  Client c = connect("c", false, 60);
  Client fresh = connect("c", /*clean_start=*/true, 60);
  disconnect(c, will_of("c", "clean-start"), 5);
  EXPECT_EQ(watcher.payloads(), std::vector<std::string>{"clean-start"});

  Client d = connect("d", false, 0);
  Client d2 = connect("d", false, 60);
  disconnect(d, will_of("d", "expiry-0"), 0);
  EXPECT_EQ(watcher.payloads(), std::vector<std::string>{"expiry-0"});
  ASSERT_TRUE(housekeeping_after_ms(10'000));
  EXPECT_TRUE(watcher.take().empty());  // once only
  EXPECT_TRUE(fresh.session->online());
  EXPECT_TRUE(d2.session->online());
}

// ---- $SYS ----

TEST_F(BrokerRoutingTest, HousekeepingPublishesSysTopicsEveryInterval) {
  config_.sys_interval = std::chrono::seconds(10);
  config_.version = "imetd-test";
  Client all = connect("all");
  Client sys = connect("sys");
  subscribe(all, "#", opts(0));
  subscribe(sys, "$SYS/broker/#", opts(0));
  broker().housekeeping();
  EXPECT_TRUE(all.take().empty());
  std::map<std::string, std::string> values;
  for (const Publish& p : sys.take())
    values[p.topic] = std::string(p.payload.as_string_view());
  EXPECT_EQ(values["$SYS/broker/version"], "imetd-test");
  EXPECT_EQ(values["$SYS/broker/clients/total"], "2");
  EXPECT_EQ(values["$SYS/broker/subscriptions/count"], "2");
  EXPECT_TRUE(values.count("$SYS/broker/uptime"));

  ASSERT_TRUE(housekeeping_after_ms(9'999));
  EXPECT_TRUE(sys.take().empty());
  ASSERT_TRUE(housekeeping_after_ms(1));
  EXPECT_FALSE(sys.take().empty());

  // They are retained: a late subscriber gets the current values at once.
  Client late = connect("late");
  subscribe(late, "$SYS/broker/version", opts(0));
  EXPECT_EQ(late.payloads(), std::vector<std::string>{"imetd-test"});
}

TEST_F(BrokerRoutingTest, NoSysTopicsWhenTheIntervalIsZero) {
  Client sys = connect("sys");
  subscribe(sys, "$SYS/#", opts(0));
  broker().housekeeping();
  EXPECT_TRUE(sys.take().empty());
  EXPECT_EQ(broker().retained_count(), 0u);
}

// ---- tiers ----

TEST_F(BrokerRoutingTest, TierForUsesUserPropertyThenFirstRuleThenDefault) {
  config_.default_tier = 2;
  config_.tier_rules = {{"sensors/#", 3}, {"sensors/alarm/#", 1}, {"alerts/+", 1}};
  Properties none;
  EXPECT_EQ(broker().tier_for("sensors/alarm/fire", none), 3);  // first matching rule wins
  EXPECT_EQ(broker().tier_for("sensors/t", none), 3);
  EXPECT_EQ(broker().tier_for("alerts/fire", none), 1);
  EXPECT_EQ(broker().tier_for("alerts/fire/x", none), 2);
  EXPECT_EQ(broker().tier_for("other", none), 2);

  // SPEC 4: the imet-tier user property overrides the rules.
  for (const auto& [value, tier] :
       std::vector<std::pair<std::string, uint8_t>>{{"1", 1}, {"2", 2}, {"3", 3}}) {
    Properties p;
    ASSERT_TRUE(p.user_properties.add("other", "x"));
    ASSERT_TRUE(p.user_properties.add("imet-tier", value));
    EXPECT_EQ(broker().tier_for("sensors/t", p), tier) << value;
  }
  for (const char* bad : {"0", "4", "", "01", "1 ", "one"}) {
    Properties p;
    ASSERT_TRUE(p.user_properties.add("imet-tier", bad));
    EXPECT_EQ(broker().tier_for("sensors/t", p), std::nullopt) << "'" << bad << "'";
  }
  Properties twice;  // the first imet-tier counts
  ASSERT_TRUE(twice.user_properties.add("imet-tier", "1"));
  ASSERT_TRUE(twice.user_properties.add("imet-tier", "9"));
  EXPECT_EQ(broker().tier_for("x", twice), 1);
}

// ---- admission ----

TEST_F(BrokerRoutingTest, AdmissionLimitsConnectionsPerBrokerAndPerIp) {
  config_.max_connections = 3;
  config_.max_connections_per_ip = 2;
  EXPECT_TRUE(broker().admit("10.0.0.1"));
  EXPECT_TRUE(broker().admit("10.0.0.1"));
  EXPECT_FALSE(broker().admit("10.0.0.1"));
  EXPECT_TRUE(broker().admit("10.0.0.2"));
  EXPECT_FALSE(broker().admit("10.0.0.3"));  // global limit
  EXPECT_EQ(broker().stats().connections_refused.load(), 2u);
  broker().release("10.0.0.1");
  EXPECT_TRUE(broker().admit("10.0.0.3"));
  EXPECT_EQ(broker().stats().connections_total.load(), 4u);
}

// ---- shutdown ----

TEST_F(BrokerRoutingTest, ShutdownTellsEveryConnectedClient0x8BAndWaitsForThem) {
  Client v5 = connect("v5", true, 0);
  Client v311 = connect("v311", false, 60, Version::kV311);
  Client gone = connect("gone", false, 60);
  disconnect(gone);
  Client watcher = connect("watcher");
  subscribe(watcher, "will/#", opts(0));
  // A connection ends when kicked (the real Connection does so after writing the DISCONNECT).
  for (Client* c : {&v5, &v311, &watcher}) {
    Broker* b = &broker();
    MessagePtr will = c == &v5 ? message("will/v5", "bye") : nullptr;
    c->sink->on_kick(
        [b, c, will](ReasonCode) { b->close_session(c->session, c->sink.get(), will, 0); });
  }
  EXPECT_EQ(broker().shutdown(std::chrono::seconds(5)), 0u);
  EXPECT_TRUE(broker().shutting_down());
  // The sink decides what the reason means per version (Connection: DISCONNECT 0x8B for 5.0, a
  // plain close for 3.1.1); the broker asks every connected one, and only those.
  EXPECT_EQ(v5.sink->kicks(), std::vector<ReasonCode>{ReasonCode::kServerShuttingDown});
  EXPECT_EQ(v311.sink->kicks(), std::vector<ReasonCode>{ReasonCode::kServerShuttingDown});
  EXPECT_TRUE(gone.sink->kicks().empty());
  EXPECT_FALSE(v311.session->online());
  EXPECT_EQ(broker().session_count(), 2u);  // the persistent "v311" and "gone" stay, offline
}

TEST_F(BrokerRoutingTest, ShutdownGivesUpOnAConnectionThatDoesNotEndByTheDeadline) {
  Client stuck = connect("stuck");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(broker().shutdown(std::chrono::milliseconds(200)), 1u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));
  EXPECT_FALSE(stuck.sink->kicks().empty());
}

}  // namespace
}  // namespace imet::mqtt::broker::test
