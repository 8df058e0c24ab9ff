// What the clients of broker_hostile_test.cpp send: a seeded random generator (Rng), pools of
// topic names, filters and client ids (valid ones first), and PacketGenerator, which makes the
// packets of a polite or a hostile client, mutated encodings, and a client's WebSocket frames.
// Thread-safety: none; one test thread uses a generator and its Rng.
// Invariants: everything is a function of the Rng's seed; a polite client's packets are valid and
// within the limits broker_hostile_test.cpp configures (topic length 64, 8 levels, 4 topic
// aliases, 4096-byte packets).
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "mqtt/codec/packet.h"
#include "util/bytes.h"

namespace imet::mqtt::broker::hostile_test {

// A PUBACK, PUBREC, PUBREL or PUBCOMP for `packet_id`, reason Success.
template <class Response>
Response response(uint16_t packet_id) {
  Response r;
  r.packet_id = packet_id;
  return r;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  size_t below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(g_); }
  bool chance(int percent) { return below(100) < static_cast<size_t>(percent); }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }
  util::Bytes bytes(size_t n) {
    util::Bytes b(n);
    for (auto& x : b)
      x = static_cast<uint8_t>(below(256));
    return b;
  }

 private:
  std::mt19937_64 g_;
};

// Topic names and filters, valid and not: `$` topics, too long (max_topic_length 64) and too deep
// (max_topic_levels 8), wildcards where they may not be, shared subscriptions good and bad.
const std::vector<std::string> kTopics = {"a",
                                          "a/b",
                                          "a/b/c",
                                          "t/1",
                                          "t/2",
                                          "dev/1/telemetry",
                                          "$SYS/x",
                                          "$x/y",
                                          "sentinel/intruder",
                                          "1/2/3/4/5/6/7/8/9/10",
                                          std::string(70, 'L'),
                                          "",
                                          "a/+",
                                          "#",
                                          "a\xC3",
                                          "x/\xF0\x9F\x98\x80"};
const std::vector<std::string> kFilters = {"#",
                                           "+",
                                           "a/#",
                                           "a/+/c",
                                           "+/+",
                                           "$SYS/#",
                                           "t/#",
                                           "$x/#",
                                           "$share/g/t/#",
                                           "$share/g/#",
                                           "$share/h/+",
                                           "$share//x",
                                           "$share/g",
                                           "a/#/b",
                                           "a+/b",
                                           "dev/+/telemetry",
                                           std::string(70, 'F'),
                                           "+/+/+/+/+/+/+/+/+/+",
                                           ""};
// The first kValidTopics / kValidFilters entries are valid here.
constexpr size_t kValidTopics = 9;
constexpr size_t kValidFilters = 11;
const std::vector<std::string> kClientIds = {"c0", "c1", "c2", "c3", "c4", ""};

// The packets of one client kind (polite or hostile), drawn from `rng`.
class PacketGenerator {
 public:
  explicit PacketGenerator(Rng& rng) : rng_(rng) {}

  const std::string& topic(bool polite) {
    return polite ? kTopics[rng_.below(kValidTopics)] : rng_.pick(kTopics);
  }
  const std::string& filter(bool polite) {
    return polite ? kFilters[rng_.below(kValidFilters)] : rng_.pick(kFilters);
  }

  Connect random_connect(bool polite) {
    Connect c;
    c.version = rng_.chance(30) ? Version::kV311 : Version::kV5;
    c.client_id = rng_.pick(kClientIds);
    c.clean_start = rng_.chance(50);
    c.keep_alive = std::vector<uint16_t>{0, 1, 60, 65535}[rng_.below(4)];
    if (rng_.chance(30)) {
      Will w;
      w.topic = rng_.chance(80) ? topic(polite) : "will/" + c.client_id;
      if (w.topic.empty()) w.topic = "will";
      w.payload = SharedBytes::copy_of(util::ByteSpan(rng_.bytes(rng_.below(64))));
      w.qos = static_cast<uint8_t>(rng_.below(3));
      w.retain = rng_.chance(30);
      if (c.version == Version::kV5 && rng_.chance(40))
        w.properties.will_delay_interval = static_cast<uint32_t>(rng_.below(3));
      c.will = std::move(w);
    }
    if (rng_.chance(10)) {
      c.username = "user";
      c.password = util::Bytes{'p', 'w'};
    }
    if (c.version == Version::kV5) {
      if (rng_.chance(60))
        c.properties.session_expiry_interval =
            std::vector<uint32_t>{0, 1, 60, 0xFFFFFFFF}[rng_.below(4)];
      if (rng_.chance(40))
        c.properties.receive_maximum = std::vector<uint16_t>{1, 2, 65535}[rng_.below(3)];
      if (rng_.chance(30))  // small: the broker must skip messages too large for this client
        c.properties.maximum_packet_size = std::vector<uint32_t>{64, 200, 100000}[rng_.below(3)];
      if (rng_.chance(40))
        c.properties.topic_alias_maximum = std::vector<uint16_t>{0, 2, 10}[rng_.below(3)];
      if (rng_.chance(20))
        c.properties.request_problem_information = static_cast<uint8_t>(rng_.below(2));
      if (!polite && rng_.chance(5)) c.properties.authentication_method = "SCRAM-SHA-1";
    } else if (c.client_id.empty() && rng_.chance(70)) {
      c.clean_start = true;  // mostly valid; sometimes 3.1.1's "identifier rejected"
    }
    return c;
  }

  Publish random_publish(Version v, bool polite) {
    Publish p;
    p.topic = topic(polite);
    p.qos = static_cast<uint8_t>(rng_.below(3));
    p.retain = rng_.chance(20);
    if (p.qos > 0) {
      p.packet_id = static_cast<uint16_t>(1 + rng_.below(6));  // collisions on purpose
      p.dup = rng_.chance(5);
    }
    const size_t size = rng_.chance(5) ? rng_.below(polite ? 2000 : 6000) : rng_.below(80);
    p.payload = SharedBytes::copy_of(util::ByteSpan(rng_.bytes(size)));
    if (v == Version::kV5) {
      Properties& pr = p.properties;
      if (rng_.chance(25)) {
        // 0 and > 4 are errors, and so is an alias not set before.
        pr.topic_alias = static_cast<uint16_t>(polite ? 1 + rng_.below(4) : rng_.below(7));
        if (!polite && rng_.chance(50)) p.topic.clear();
      }
      if (rng_.chance(20)) pr.message_expiry_interval = static_cast<uint32_t>(rng_.below(3));
      if (rng_.chance(10)) pr.response_topic = rng_.chance(80) ? "reply/x" : "reply/#";
      if (rng_.chance(10)) pr.correlation_data = rng_.bytes(rng_.below(16));
      if (rng_.chance(15))
        (void)pr.user_properties.add("imet-tier",
                                     std::vector<std::string>{"1", "2", "3", "9"}[rng_.below(4)]);
      if (!polite && rng_.chance(5)) pr.payload_format_indicator = 1;    // often not UTF-8
      if (!polite && rng_.chance(3)) pr.subscription_identifiers = {1};  // not a client's
      if (rng_.chance(5)) pr.content_type = "text/plain";
    }
    if (p.topic.empty() && !p.properties.topic_alias) p.topic = "a";
    return p;
  }

  Subscribe random_subscribe(Version v, bool polite) {
    Subscribe s;
    s.packet_id = static_cast<uint16_t>(1 + rng_.below(6));
    const size_t n = 1 + rng_.below(3);
    for (size_t i = 0; i < n; ++i) {
      Subscription sub;
      sub.topic_filter = filter(polite);
      if (sub.topic_filter.empty() && rng_.chance(70)) sub.topic_filter = "t/#";
      const bool shared = sub.topic_filter.starts_with("$share/");
      sub.options.qos = static_cast<uint8_t>(rng_.below(3));
      if (v == Version::kV5) {
        // On a shared subscription: protocol error.
        sub.options.no_local = !(polite && shared) && rng_.chance(20);
        sub.options.retain_as_published = rng_.chance(30);
        sub.options.retain_handling = static_cast<RetainHandling>(rng_.below(3));
      }
      s.subscriptions.push_back(std::move(sub));
    }
    if (v == Version::kV5 && rng_.chance(30))
      s.properties.subscription_identifiers = {
          std::vector<uint32_t>{1, 2, 3, 268435455}[rng_.below(polite ? 3 : 4)]};
    return s;
  }

  Packet random_packet(Version v, bool polite) {
    const size_t k = rng_.below(polite ? 90 : 100);  // polite: no DISCONNECT, AUTH, CONNECT
    const auto id = static_cast<uint16_t>(1 + rng_.below(6));
    if (k < 45) return random_publish(v, polite);
    if (k < 51) return response<Puback>(id);
    if (k < 56) return response<Pubrec>(id);
    if (k < 63) return response<Pubrel>(id);
    if (k < 66) return response<Pubcomp>(id);
    if (k < 78) return random_subscribe(v, polite);
    if (k < 84) {
      Unsubscribe u;
      u.packet_id = id;
      u.topic_filters = {filter(polite)};
      if (u.topic_filters[0].empty()) u.topic_filters[0] = "t/#";
      return u;
    }
    if (k < 90) return Pingreq{};
    if (k < 95) {
      Disconnect d;
      if (v == Version::kV5) {
        d.reason_code = rng_.chance(50) ? ReasonCode::kNormalDisconnection
                                        : ReasonCode::kDisconnectWithWillMessage;
        if (rng_.chance(30))  // after a CONNECT with expiry 0: protocol error
          d.properties.session_expiry_interval = static_cast<uint32_t>(rng_.below(100));
      }
      return d;
    }
    if (k < 97) {
      Auth a;
      a.reason_code = ReasonCode::kContinueAuthentication;
      a.properties.authentication_method = "SCRAM-SHA-1";
      return a;
    }
    return random_connect(false);  // a second CONNECT
  }

  // An encoding with a few bytes changed, inserted or cut.
  util::Bytes mutate(util::Bytes b) {
    const size_t edits = 1 + rng_.below(3);
    for (size_t e = 0; e < edits && !b.empty(); ++e) {
      const size_t at = rng_.below(b.size());
      switch (rng_.below(5)) {
        case 0:
          b[at] ^= static_cast<uint8_t>(1u << rng_.below(8));
          break;
        case 1:
          b[at] = static_cast<uint8_t>(rng_.below(256));
          break;
        case 2:
          b.resize(at);  // truncated
          break;
        case 3: {
          const util::Bytes extra = rng_.bytes(1 + rng_.below(8));
          b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), extra.begin(), extra.end());
          break;
        }
        default:
          if (b.size() > 1) b[1] = static_cast<uint8_t>(rng_.below(256));  // remaining length
      }
    }
    return b;
  }

  // RFC 6455 section 5.2: a client's frames are masked.
  void append_ws_frame(util::Bytes& out, uint8_t opcode, const util::Bytes& payload, bool fin,
                       bool masked) {
    out.push_back(static_cast<uint8_t>((fin ? 0x80 : 0x00) | opcode));
    const uint8_t mask_bit = masked ? 0x80 : 0x00;
    if (payload.size() < 126) {
      out.push_back(static_cast<uint8_t>(mask_bit | payload.size()));
    } else if (payload.size() <= 0xFFFF) {
      out.push_back(mask_bit | 126);
      out.push_back(static_cast<uint8_t>(payload.size() >> 8));
      out.push_back(static_cast<uint8_t>(payload.size()));
    } else {
      out.push_back(mask_bit | 127);
      for (int i = 7; i >= 0; --i)
        out.push_back(static_cast<uint8_t>(uint64_t{payload.size()} >> (8 * i)));
    }
    uint8_t key[4] = {0, 0, 0, 0};
    if (masked) {
      for (uint8_t& k : key)
        k = static_cast<uint8_t>(rng_.below(256));
      out.insert(out.end(), key, key + 4);
    }
    for (size_t i = 0; i < payload.size(); ++i)
      out.push_back(payload[i] ^ key[i % 4]);
  }

 private:
  Rng& rng_;
};

}  // namespace imet::mqtt::broker::hostile_test
