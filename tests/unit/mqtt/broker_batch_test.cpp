// Unit tests of Broker::publish_qos0 (src/mqtt/broker/broker.h): the QoS 0 messages of one read
// routed together must reach every subscriber exactly as if each had been published alone and in
// order (subscription options, shared-group round robin, retained set and clear, $ topics), and
// batches published from several threads while other threads subscribe, unsubscribe, connect and
// disconnect must deliver every message to a steady subscriber once, in each publisher's order.
// Thread-safety: the last test drives the Broker from several threads (run it under
// -DIMET_SANITIZE=address,undefined or thread); the others are single-threaded.
// Invariants: expected values come from the one-by-one contract (Broker::publish), never from the
// batch path's own output.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "broker_routing_fixture.h"

namespace imet::mqtt::broker::test {
namespace {

using Strings = std::vector<std::string>;

TEST_F(BrokerRoutingTest, Qos0BatchRoutesEachMessageAsIfPublishedAlone) {
  Client all = connect("all");
  Client own = connect("own");  // its own messages are not sent back (No Local)
  Client g1 = connect("g1");
  Client g2 = connect("g2");
  ASSERT_EQ(subscribe(all, "a/#", opts(0)), std::vector<ReasonCode>{ReasonCode::kGrantedQos0});
  ASSERT_EQ(subscribe(own, "a/+", opts(1, true)),
            std::vector<ReasonCode>{ReasonCode::kGrantedQos1});
  ASSERT_EQ(subscribe(g1, "$share/g/a/+", opts(0)),
            std::vector<ReasonCode>{ReasonCode::kGrantedQos0});
  ASSERT_EQ(subscribe(g2, "$share/g/a/+", opts(0)),
            std::vector<ReasonCode>{ReasonCode::kGrantedQos0});
  const std::vector<MessagePtr> batch = {
      message("a/b", "1", 0, true), message("a/c", "2", 0, false, "own"),
      message("x/y", "3"),          message("a/b", "4"),
      message("a/b", "", 0, true),  // clears the retained a/b
      message("a/d", "6", 0, true), message("$SYS/a", "7"),
  };
  broker().publish_qos0(batch);
  EXPECT_EQ(all.payloads(), (Strings{"1", "2", "4", "", "6"}));
  EXPECT_EQ(own.payloads(), (Strings{"1", "4", "", "6"}));
  // One member per message, in turn (the group's round robin runs over the batch as over single
  // publishes); which member starts is the group's business, the alternation is the contract.
  const Strings a = g1.payloads();
  const Strings b = g2.payloads();
  const Strings first = {"1", "4", "6"};
  const Strings second = {"2", ""};
  if (!a.empty() && a.front() == "1") {
    EXPECT_EQ(a, first);
    EXPECT_EQ(b, second);
  } else {
    EXPECT_EQ(a, second);
    EXPECT_EQ(b, first);
  }
  // Retained after the batch: a/d only (a/b was set, then cleared by the empty payload).
  EXPECT_EQ(broker().retained_count(), 1u);
  Client late = connect("late");
  subscribe(late, "a/#", opts(0));
  const auto got = late.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].topic, "a/d");
  EXPECT_TRUE(got[0].retain);
}

TEST_F(BrokerRoutingTest, Qos0BatchOfOneAndEmptyBatch) {
  Client c = connect("c");
  subscribe(c, "t", opts(0));
  broker().publish_qos0({});
  EXPECT_TRUE(c.payloads().empty());
  const std::vector<MessagePtr> one = {message("t", "x")};
  broker().publish_qos0(one);
  EXPECT_EQ(c.payloads(), (Strings{"x"}));
}

TEST_F(BrokerRoutingTest, Qos0BatchesFromSeveralThreadsRaceWithSubscriptionChanges) {
  constexpr int kPublishers = 4;
  constexpr int kBatches = 300;
  constexpr int kPerBatch = 8;
  Client steady = connect("steady");
  subscribe(steady, "t/#", opts(0));
  std::atomic<bool> stop{false};
  std::atomic<int> churned{0};
  std::vector<std::thread> churners;
  for (int c = 0; c < 2; ++c) {
    churners.emplace_back([&, c] {
      for (int i = 0; !stop.load(); ++i) {
        Client x = connect("churn-" + std::to_string(c) + "-" + std::to_string(i % 5));
        subscribe(x, "t/+", opts(0));
        subscribe(x, "$share/g/t/#", opts(0));
        subscribe(x, "t/0", opts(0));
        broker().unsubscribe(*x.session, {"t/+"});
        disconnect(x);
        churned.fetch_add(1);
      }
    });
  }
  std::vector<std::thread> publishers;
  for (int p = 0; p < kPublishers; ++p) {
    publishers.emplace_back([&, p] {
      const std::string topic = "t/" + std::to_string(p);
      int seq = 0;
      std::vector<MessagePtr> batch;
      for (int b = 0; b < kBatches; ++b) {
        batch.clear();
        for (int k = 0; k < kPerBatch; ++k)
          batch.push_back(message(topic, std::to_string(seq++), 0, k == 0, "pub"));
        broker().publish_qos0(batch);
      }
    });
  }
  for (auto& t : publishers)
    t.join();
  stop.store(true);
  for (auto& t : churners)
    t.join();
  EXPECT_GT(churned.load(), 0);
  std::vector<int> next(kPublishers, 0);
  size_t total = 0;
  for (const Publish& p : steady.take()) {
    ++total;
    const int pub = p.topic.back() - '0';
    ASSERT_TRUE(pub >= 0 && pub < kPublishers) << p.topic;
    ASSERT_EQ(std::string(p.payload.as_string_view()), std::to_string(next[pub]))
        << "publisher " << pub;
    ++next[pub];
  }
  EXPECT_EQ(total, size_t{kPublishers} * kBatches * kPerBatch);
  EXPECT_EQ(broker().retained_count(), size_t{kPublishers});
  EXPECT_EQ(broker().session_count(), 1u);
  EXPECT_EQ(broker().subscription_count(), 1u);
}

}  // namespace
}  // namespace imet::mqtt::broker::test
