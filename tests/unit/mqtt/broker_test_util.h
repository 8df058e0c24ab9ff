// Shared helpers of the broker unit tests (broker_session_*, broker_routing_*, broker_lifecycle_*,
// broker_persistence_*): a RecordingSink that stands in for a client connection and decodes what
// the broker wrote to it as a client would (Sender::kServer), the test epoch kT0 and a message
// builder.
// Thread-safety: RecordingSink is thread-safe (a mutex around its records), as a PacketSink must
// be: commit callbacks deliver from the committer thread.
// Invariants: a recorded packet that does not decode fails the test that takes it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "mqtt/broker/message.h"
#include "mqtt/broker/session.h"
#include "mqtt/codec/decoder.h"

namespace imet::mqtt::broker::test {

inline constexpr int64_t kT0 = 1'700'000'000'000;  // wall clock at the start of each test (ms)

// A PacketSink that records every packet (header and payload joined) and every kick. on_kick, if
// set, runs after a kick is recorded (e.g. to end the connection as a real one would).
class RecordingSink final : public PacketSink {
 public:
  size_t pending_bytes() const override {
    std::lock_guard lock(mu_);
    return pending_;
  }
  void send(util::ByteSpan head, util::ByteSpan tail) override {
    std::function<void()> then;
    {
      std::lock_guard lock(mu_);
      util::Bytes frame(head.size() + tail.size());
      std::copy(head.begin(), head.end(), frame.begin());
      std::copy(tail.begin(), tail.end(), frame.begin() + static_cast<std::ptrdiff_t>(head.size()));
      frames_.push_back(std::move(frame));
      then = on_send_;
    }
    if (then) then();
  }
  void kick(ReasonCode reason) override {
    std::function<void(ReasonCode)> then;
    {
      std::lock_guard lock(mu_);
      kicks_.push_back(reason);
      then = on_kick_;
    }
    if (then) then(reason);
  }

  void set_pending(size_t n) {
    std::lock_guard lock(mu_);
    pending_ = n;
  }
  // Runs after each packet is recorded (on the sending thread, inside the sender's call).
  void on_send(std::function<void()> f) {
    std::lock_guard lock(mu_);
    on_send_ = std::move(f);
  }
  void on_kick(std::function<void(ReasonCode)> f) {
    std::lock_guard lock(mu_);
    on_kick_ = std::move(f);
  }
  std::vector<ReasonCode> kicks() const {
    std::lock_guard lock(mu_);
    return kicks_;
  }
  size_t frame_count() const {
    std::lock_guard lock(mu_);
    return frames_.size();
  }
  void clear() {
    std::lock_guard lock(mu_);
    frames_.clear();
  }
  // Decodes and removes every recorded packet; a packet that does not decode fails the test.
  std::vector<Packet> take(Version version = Version::kV5) {
    std::vector<util::Bytes> frames;
    {
      std::lock_guard lock(mu_);
      frames.swap(frames_);
    }
    std::vector<Packet> out;
    for (const util::Bytes& f : frames) {
      DecodeOptions opts;
      opts.version = version;
      opts.sender = Sender::kServer;
      auto p = decode_packet(f, opts);
      EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
      if (p.ok()) out.push_back(std::move(*p));
    }
    return out;
  }
  // Like take(), but every packet must be a PUBLISH.
  std::vector<Publish> take_publishes(Version version = Version::kV5) {
    std::vector<Publish> out;
    for (Packet& p : take(version)) {
      EXPECT_TRUE(std::holds_alternative<Publish>(p)) << "packet type " << p.index() + 1;
      if (auto* pub = std::get_if<Publish>(&p)) out.push_back(std::move(*pub));
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<util::Bytes> frames_;
  std::vector<ReasonCode> kicks_;
  size_t pending_ = 0;
  std::function<void(ReasonCode)> on_kick_;
  std::function<void()> on_send_;
};

// A message from client "publisher", created at `created_ms`.
inline MessagePtr make_message(std::string topic, std::string payload, uint8_t qos = 1,
                               bool retain = false, int64_t created_ms = kT0) {
  auto m = std::make_shared<Message>();
  m->topic = std::move(topic);
  m->payload = SharedBytes::copy_of(std::string_view(payload));
  m->qos = qos;
  m->retain = retain;
  m->created_ms = created_ms;
  m->origin_client = "publisher";
  return m;
}

}  // namespace imet::mqtt::broker::test
