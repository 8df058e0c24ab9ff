// Persistence implementation: key layout, value encodings, recovery scan.
#include "mqtt/broker/persistence.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

#include "mqtt/codec/decoder.h"
#include "mqtt/codec/encoder.h"

namespace imet::mqtt::broker {

namespace {

constexpr uint8_t kFormat = 1;
// Session-owned values (s, u, q, i) carry the session generation from format 2 on.
constexpr uint8_t kFormatGen = 2;

struct Out {
  util::Bytes b;
  void u8(uint8_t v) { b.push_back(v); }
  void u16(uint16_t v) {
    u8(static_cast<uint8_t>(v >> 8));
    u8(static_cast<uint8_t>(v));
  }
  void u32(uint32_t v) {
    u16(static_cast<uint16_t>(v >> 16));
    u16(static_cast<uint16_t>(v));
  }
  void u64(uint64_t v) {
    u32(static_cast<uint32_t>(v >> 32));
    u32(static_cast<uint32_t>(v));
  }
  void str(std::string_view s) {
    u16(static_cast<uint16_t>(s.size()));
    const size_t old = b.size();
    b.resize(old + s.size());
    std::copy(s.begin(), s.end(), b.begin() + static_cast<std::ptrdiff_t>(old));
  }
  void raw(util::ByteSpan s) {
    const size_t old = b.size();
    b.resize(old + s.size());
    std::copy(s.begin(), s.end(), b.begin() + static_cast<std::ptrdiff_t>(old));
  }
};

struct In {
  util::ByteSpan d;
  size_t pos = 0;
  bool ok = true;
  bool need(size_t n) {
    if (d.size() - pos < n) ok = false;
    return ok;
  }
  uint8_t u8() { return need(1) ? d[pos++] : 0; }
  uint16_t u16() {
    const uint16_t hi = u8();
    return static_cast<uint16_t>((hi << 8) | u8());
  }
  uint32_t u32() {
    const uint32_t hi = u16();
    return (hi << 16) | u16();
  }
  uint64_t u64() {
    const uint64_t hi = u32();
    return (hi << 32) | u32();
  }
  std::string str() {
    const size_t n = u16();
    if (!need(n)) return {};
    std::string s(reinterpret_cast<const char*>(d.data() + pos), n);
    pos += n;
    return s;
  }
  util::ByteSpan rest() {
    util::ByteSpan r = d.subspan(pos);
    pos = d.size();
    return r;
  }
};

util::Bytes key(std::string_view kind, std::string_view client_id) {
  util::Bytes k;
  k.reserve(5 + client_id.size() + 10);
  for (char c : std::string_view("mq/"))
    k.push_back(static_cast<uint8_t>(c));
  for (char c : kind)
    k.push_back(static_cast<uint8_t>(c));
  k.push_back('/');
  for (char c : client_id)
    k.push_back(static_cast<uint8_t>(c));
  return k;
}

util::Bytes sub_key(std::string_view kind, std::string_view client_id) {
  util::Bytes k = key(kind, client_id);
  k.push_back(0);
  return k;
}

void append_be(util::Bytes& k, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i)
    k.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

util::Bytes encode_sub(uint64_t generation, const SubOptions& o) {
  Out w;
  w.u8(kFormatGen);
  w.u64(generation);
  w.u8(o.qos);
  w.u8(static_cast<uint8_t>((o.no_local ? 1 : 0) | (o.retain_as_published ? 2 : 0)));
  w.u8(o.retain_handling);
  w.u32(o.subscription_id);
  return std::move(w.b);
}

}  // namespace

Persistence::Persistence(store::KvStore& kv, store::msglog::MessageLog* log,
                         store::GroupCommitter::Options options)
    : kv_(kv), log_(log), committer_(kv, log, options) {}

Persistence::~Persistence() {
  committer_.stop();
}

util::Bytes Persistence::encode_message(const Message& m) {
  Out w;
  w.u8(kFormat);
  w.u64(static_cast<uint64_t>(m.created_ms));
  w.u64(static_cast<uint64_t>(m.expiry_at_ms));
  w.u8(m.tier);
  w.u64(m.log_seq);
  w.str(m.origin_client);
  Publish p;
  p.topic = m.topic;
  p.qos = m.qos;
  p.retain = m.retain;
  p.packet_id = m.qos > 0 ? 1 : 0;
  p.properties = m.properties;
  p.payload = m.payload;
  util::Bytes packet;
  (void)encode_packet(p, Version::kV5, packet);
  w.raw(packet);
  return std::move(w.b);
}

util::Result<MessagePtr> Persistence::decode_message(util::ByteSpan data) {
  In r{data};
  if (r.u8() != kFormat) return util::invalid_argument("stored MQTT message: unknown format");
  auto m = std::make_shared<Message>();
  m->created_ms = static_cast<int64_t>(r.u64());
  m->expiry_at_ms = static_cast<int64_t>(r.u64());
  m->tier = r.u8();
  m->log_seq = r.u64();
  m->origin_client = r.str();
  if (!r.ok) return util::invalid_argument("stored MQTT message: truncated header");
  DecodeOptions opts;
  opts.version = Version::kV5;
  auto decoded = decode_packet(r.rest(), opts);
  if (!decoded.ok() || !std::holds_alternative<Publish>(*decoded)) {
    return util::invalid_argument("stored MQTT message: bad PUBLISH encoding");
  }
  Publish& p = std::get<Publish>(*decoded);
  m->topic = std::move(p.topic);
  m->qos = p.qos;
  m->retain = p.retain;
  m->properties = std::move(p.properties);
  m->payload = std::move(p.payload);
  return MessagePtr(std::move(m));
}

void Persistence::put_session(store::WriteBatch& b, const std::string& client_id,
                              uint64_t generation, uint32_t expiry, int64_t disconnected_at_ms) {
  Out w;
  w.u8(kFormatGen);
  w.u64(generation);
  w.u32(expiry);
  w.u64(static_cast<uint64_t>(disconnected_at_ms));
  b.put(key("s", client_id), w.b);
}

void Persistence::put_subscription(store::WriteBatch& b, const std::string& client_id,
                                   uint64_t generation, const std::string& filter,
                                   const SubOptions& o) {
  util::Bytes k = sub_key("u", client_id);
  k.insert(k.end(), filter.begin(), filter.end());
  b.put(k, encode_sub(generation, o));
}

void Persistence::del_subscription(store::WriteBatch& b, const std::string& client_id,
                                   const std::string& filter) {
  util::Bytes k = sub_key("u", client_id);
  k.insert(k.end(), filter.begin(), filter.end());
  b.del(k);
}

void Persistence::put_retained(store::WriteBatch& b, const Message& m) {
  b.put(key("r", m.topic), encode_message(m));
}

void Persistence::del_retained(store::WriteBatch& b, const std::string& topic) {
  b.del(key("r", topic));
}

void Persistence::put_delivery(store::WriteBatch& b, const std::string& client_id,
                               uint64_t generation, const StoredDelivery& d) {
  util::Bytes k = sub_key("q", client_id);
  append_be(k, d.qid, 8);
  Out w;
  w.u8(kFormatGen);
  w.u64(generation);
  w.u8(d.delivery.qos);
  w.u8(static_cast<uint8_t>((d.delivery.retain ? 1 : 0) | (d.pubrec_received ? 2 : 0)));
  w.u16(d.packet_id);
  w.str(d.delivery.shared_group);
  w.u8(static_cast<uint8_t>(std::min<size_t>(d.delivery.sub_ids.size(), 255)));
  for (size_t i = 0; i < d.delivery.sub_ids.size() && i < 255; ++i)
    w.u32(d.delivery.sub_ids[i]);
  if (d.message) w.raw(encode_message(*d.message));
  b.put(k, w.b);
}

void Persistence::del_delivery(store::WriteBatch& b, const std::string& client_id, uint64_t qid) {
  util::Bytes k = sub_key("q", client_id);
  append_be(k, qid, 8);
  b.del(k);
}

void Persistence::put_incoming(store::WriteBatch& b, const std::string& client_id,
                               uint64_t generation, uint16_t id) {
  util::Bytes k = sub_key("i", client_id);
  append_be(k, id, 2);
  Out w;
  w.u8(kFormatGen);
  w.u64(generation);
  b.put(k, w.b);
}

void Persistence::del_incoming(store::WriteBatch& b, const std::string& client_id, uint16_t id) {
  util::Bytes k = sub_key("i", client_id);
  append_be(k, id, 2);
  b.del(k);
}

void Persistence::put_will(store::WriteBatch& b, const std::string& client_id, int64_t due_ms,
                           const Message& will) {
  Out w;
  w.u8(kFormat);
  w.u64(static_cast<uint64_t>(due_ms));
  w.raw(encode_message(will));
  b.put(key("w", client_id), w.b);
}

void Persistence::del_will(store::WriteBatch& b, const std::string& client_id) {
  b.del(key("w", client_id));
}

void Persistence::del_session(store::WriteBatch& b, const std::string& client_id) const {
  b.del(key("s", client_id));
  for (const char* kind : {"u", "q", "i"}) {
    const util::Bytes prefix = sub_key(kind, client_id);
    (void)store::scan_prefix(kv_, prefix, [&](util::ByteSpan k, util::ByteSpan) {
      b.del(k);
      return true;
    });
  }
}

store::msglog::RecordView Persistence::log_record(const Message& m) {
  store::msglog::RecordView r;
  r.timestamp_ms = m.created_ms;
  r.tier = m.tier;
  r.qos = m.qos;
  r.retain = m.retain;
  r.client_id = m.origin_client;
  r.topic = m.topic;
  r.payload = m.payload.span();
  return r;
}

bool Persistence::enqueue(store::WriteBatch batch, MessagePtr logged, bool durable,
                          std::function<void(util::Status)> done) {
  store::GroupCommitter::Commit c;
  c.batch = std::move(batch);
  if (logged != nullptr) {
    c.shared_record = log_record(*logged);
    c.shared_owner = std::move(logged);
  }
  c.durable = durable;
  if (done) {
    c.done = [d = std::move(done)](util::Status s, uint64_t) { d(std::move(s)); };
  }
  return committer_.enqueue(std::move(c));
}

void Persistence::submit_logged(store::WriteBatch batch,
                                std::span<const store::msglog::RecordView> logged) {
  store::GroupCommitter::Commit c;
  c.batch = std::move(batch);
  c.record_views = logged;
  committer_.submit(std::move(c));
}

void Persistence::sync(std::function<void(util::Status)> done) {
  store::WriteBatch b;
  Out w;
  w.u8(kFormat);
  w.u64(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count()));
  b.put(util::as_bytes(std::string_view("mq/m/synced")), w.b);
  submit(std::move(b), {}, true, std::move(done));
}

util::Result<LoadedState> Persistence::load() const {
  LoadedState out;
  std::map<std::string, StoredSession> sessions;
  const auto client_and_rest =
      [](util::ByteSpan k,
         size_t prefix_len) -> std::optional<std::pair<std::string, util::ByteSpan>> {
    const util::ByteSpan rest = k.subspan(prefix_len);
    const auto zero = std::find(rest.begin(), rest.end(), uint8_t{0});
    if (zero == rest.end()) return std::nullopt;
    const size_t n = static_cast<size_t>(zero - rest.begin());
    return std::make_pair(std::string(reinterpret_cast<const char*>(rest.data()), n),
                          rest.subspan(n + 1));
  };
  util::Status bad;
  const auto damaged = [&](util::ByteSpan k, std::string_view what) {
    if (bad.ok()) {
      bad = util::corruption("MQTT state key '" +
                             std::string(reinterpret_cast<const char*>(k.data()), k.size()) +
                             "' is damaged: " + std::string(what));
    }
  };
  const auto stale = [&](util::ByteSpan k) { out.stale_keys.emplace_back(k.begin(), k.end()); };
  // The header of a session-owned value: format, then (format 2) the generation. nullopt: an
  // unknown format.
  const auto generation_of = [](In& r) -> std::optional<uint64_t> {
    const uint8_t format = r.u8();
    if (format == kFormat) return uint64_t{0};
    if (format == kFormatGen) return r.u64();
    return std::nullopt;
  };
  // The session a u/q/i key belongs to, if its value is of that session's generation; otherwise
  // the key is stale (recorded) and nullptr is returned.
  const auto owner = [&](util::ByteSpan k, const std::string& client,
                         std::optional<uint64_t> generation) -> StoredSession* {
    auto it = sessions.find(client);
    if (it == sessions.end() || !generation || *generation != it->second.generation) {
      stale(k);
      return nullptr;
    }
    return &it->second;
  };
  IMET_TRY(store::scan_prefix(
      kv_, util::as_bytes(std::string_view("mq/s/")), [&](util::ByteSpan k, util::ByteSpan v) {
        In r{v};
        StoredSession s;
        s.client_id.assign(reinterpret_cast<const char*>(k.data()) + 5, k.size() - 5);
        const std::optional<uint64_t> generation = generation_of(r);
        s.generation = generation.value_or(0);
        s.expiry_interval = r.u32();
        s.disconnected_at_ms = static_cast<int64_t>(r.u64());
        if (generation && r.ok && r.pos == v.size()) {
          sessions.emplace(s.client_id, std::move(s));
        } else {
          damaged(k, "session record");
        }
        return true;
      }));
  IMET_TRY(store::scan_prefix(
      kv_, util::as_bytes(std::string_view("mq/u/")), [&](util::ByteSpan k, util::ByteSpan v) {
        auto cr = client_and_rest(k, 5);
        if (!cr) return true;
        In r{v};
        const std::optional<uint64_t> generation = generation_of(r);
        SubOptions o;
        o.qos = r.u8();
        const uint8_t flags = r.u8();
        o.no_local = flags & 1;
        o.retain_as_published = flags & 2;
        o.retain_handling = r.u8();
        o.subscription_id = r.u32();
        if (!generation || !r.ok || r.pos != v.size()) {
          damaged(k, "subscription options");
          return true;
        }
        if (StoredSession* s = owner(k, cr->first, generation)) {
          s->subscriptions.emplace_back(
              std::string(reinterpret_cast<const char*>(cr->second.data()), cr->second.size()), o);
        }
        return true;
      }));
  IMET_TRY(store::scan_prefix(kv_, util::as_bytes(std::string_view("mq/q/")),
                              [&](util::ByteSpan k, util::ByteSpan v) {
                                auto cr = client_and_rest(k, 5);
                                if (!cr || cr->second.size() != 8) return true;
                                StoredDelivery d;
                                for (uint8_t byte : cr->second)
                                  d.qid = (d.qid << 8) | byte;
                                // Stale qids count too: a qid is never handed out twice, whatever
                                // happens to its key.
                                out.max_qid = std::max(out.max_qid, d.qid);
                                In r{v};
                                const std::optional<uint64_t> generation = generation_of(r);
                                d.delivery.qos = r.u8();
                                const uint8_t flags = r.u8();
                                d.delivery.retain = flags & 1;
                                d.pubrec_received = flags & 2;
                                d.packet_id = r.u16();
                                d.delivery.shared_group = r.str();
                                const size_t n = r.u8();
                                for (size_t i = 0; i < n; ++i)
                                  d.delivery.sub_ids.push_back(r.u32());
                                if (!generation || !r.ok) {
                                  damaged(k, "queued message header");
                                  return true;
                                }
                                StoredSession* s = owner(k, cr->first, generation);
                                if (s == nullptr) return true;
                                if (!d.pubrec_received) {
                                  auto m = decode_message(r.rest());
                                  if (!m.ok()) {
                                    damaged(k, m.status().message());
                                    return true;
                                  }
                                  d.message = *m;
                                }
                                s->deliveries.push_back(std::move(d));
                                return true;
                              }));
  IMET_TRY(store::scan_prefix(
      kv_, util::as_bytes(std::string_view("mq/i/")), [&](util::ByteSpan k, util::ByteSpan v) {
        auto cr = client_and_rest(k, 5);
        if (!cr || cr->second.size() != 2) return true;
        In r{v};
        const std::optional<uint64_t> generation = generation_of(r);
        if (!generation || !r.ok || r.pos != v.size()) {
          damaged(k, "incoming QoS 2 packet id");
          return true;
        }
        if (StoredSession* s = owner(k, cr->first, generation)) {
          s->incoming_qos2.push_back(static_cast<uint16_t>((cr->second[0] << 8) | cr->second[1]));
        }
        return true;
      }));
  IMET_TRY(store::scan_prefix(kv_, util::as_bytes(std::string_view("mq/r/")),
                              [&](util::ByteSpan k, util::ByteSpan v) {
                                auto m = decode_message(v);
                                if (m.ok()) {
                                  out.retained.push_back(*m);
                                } else {
                                  damaged(k, m.status().message());
                                }
                                return true;
                              }));
  IMET_TRY(store::scan_prefix(
      kv_, util::as_bytes(std::string_view("mq/w/")), [&](util::ByteSpan k, util::ByteSpan v) {
        In r{v};
        StoredWill w;
        w.client_id.assign(reinterpret_cast<const char*>(k.data()) + 5, k.size() - 5);
        const uint8_t format = r.u8();
        w.due_ms = static_cast<int64_t>(r.u64());
        if (format != kFormat || !r.ok) {
          damaged(k, "delayed will header");
          return true;
        }
        auto m = decode_message(r.rest());
        if (!m.ok()) {
          damaged(k, m.status().message());
          return true;
        }
        w.message = *m;
        out.wills.push_back(std::move(w));
        return true;
      }));
  if (!bad.ok()) return bad.with_context("MQTT state in the node database is damaged");
  for (auto& [id, s] : sessions) {
    std::sort(s.deliveries.begin(), s.deliveries.end(),
              [](const StoredDelivery& a, const StoredDelivery& b) { return a.qid < b.qid; });
    out.sessions.push_back(std::move(s));
  }
  return out;
}

}  // namespace imet::mqtt::broker
