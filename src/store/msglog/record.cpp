#include "store/msglog/record.h"

#include <cstring>

#include "crypto/merkle.h"

namespace imet::store::msglog {

void put_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint16_t get_u16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

util::Status validate(const RecordView& r) {
  if (r.tier < 1 || r.tier > 3) {
    return util::invalid_argument("message log record: tier " + std::to_string(r.tier) +
                                  " is out of range (1..3)");
  }
  if (r.qos > 2) {
    return util::invalid_argument("message log record: qos " + std::to_string(r.qos) +
                                  " is out of range (0..2)");
  }
  if (r.client_id.size() > kMaxClientIdBytes) {
    return util::invalid_argument("message log record: client_id is " +
                                  std::to_string(r.client_id.size()) + " bytes (limit 65535)");
  }
  if (r.topic.size() > kMaxTopicBytes) {
    return util::invalid_argument("message log record: topic is " + std::to_string(r.topic.size()) +
                                  " bytes (limit 65535)");
  }
  if (r.payload.size() > kMaxPayloadBytes) {
    return util::invalid_argument("message log record: payload is " +
                                  std::to_string(r.payload.size()) + " bytes (limit 268435455)");
  }
  if (r.properties.size() > kMaxPropertiesBytes) {
    return util::invalid_argument("message log record: properties are " +
                                  std::to_string(r.properties.size()) + " bytes (limit 268435455)");
  }
  return {};
}

size_t body_size(const RecordView& r) {
  return kBodyFixedBytes + r.client_id.size() + r.topic.size() + r.properties.size() +
         r.payload.size();
}

namespace {

void write_body(const RecordView& r, uint64_t seq, uint8_t* p) {
  put_u64(p, seq);
  put_u64(p + 8, static_cast<uint64_t>(r.timestamp_ms));
  p[16] = r.tier;
  p[17] = r.qos;
  p[18] = r.retain ? 1 : 0;
  put_u16(p + 19, static_cast<uint16_t>(r.client_id.size()));
  put_u16(p + 21, static_cast<uint16_t>(r.topic.size()));
  put_u32(p + 23, static_cast<uint32_t>(r.properties.size()));
  put_u32(p + 27, static_cast<uint32_t>(r.payload.size()));
  uint8_t* q = p + kBodyFixedBytes;
  if (!r.client_id.empty()) std::memcpy(q, r.client_id.data(), r.client_id.size());
  q += r.client_id.size();
  if (!r.topic.empty()) std::memcpy(q, r.topic.data(), r.topic.size());
  q += r.topic.size();
  if (!r.properties.empty()) std::memcpy(q, r.properties.data(), r.properties.size());
  q += r.properties.size();
  if (!r.payload.empty()) std::memcpy(q, r.payload.data(), r.payload.size());
}

}  // namespace

uint32_t frame_check(const crypto::Hash256& leaf_hash) {
  return get_u32(leaf_hash.data());
}

crypto::Hash256 encode_frame(const RecordView& r, uint64_t seq, uint8_t* out) {
  const size_t body_len = body_size(r);
  write_body(r, seq, out + kFrameHeaderBytes);
  crypto::Hash256 leaf = crypto::merkle_leaf_hash({out + kFrameHeaderBytes, body_len});
  put_u32(out, static_cast<uint32_t>(body_len));
  put_u32(out + 4, frame_check(leaf));
  return leaf;
}

void encode_frame_unhashed(const RecordView& r, uint64_t seq, uint8_t* out) {
  const size_t body_len = body_size(r);
  write_body(r, seq, out + kFrameHeaderBytes);
  put_u32(out, static_cast<uint32_t>(body_len));
  put_u32(out + 4, 0);
}

void set_frame_check(uint8_t* frame, const crypto::Hash256& leaf_hash) {
  put_u32(frame + 4, frame_check(leaf_hash));
}

util::Bytes encode_body(const RecordView& r) {
  util::Bytes body(body_size(r));
  write_body(r, r.seq, body.data());
  return body;
}

crypto::Hash256 record_leaf_hash(const Record& r) {
  return crypto::merkle_leaf_hash(encode_body(RecordView::of(r)));
}

FrameHeader parse_frame_header(util::ByteSpan header) {
  return {get_u32(header.data()), get_u32(header.data() + 4)};
}

uint64_t body_seq(util::ByteSpan body) {
  return get_u64(body.data());
}

int64_t body_timestamp_ms(util::ByteSpan body) {
  return static_cast<int64_t>(get_u64(body.data() + 8));
}

util::Status check_body(util::ByteSpan body) {
  if (body.size() < kBodyFixedBytes) {
    return util::invalid_argument("message log record: body is " + std::to_string(body.size()) +
                                  " bytes, shorter than its 31-byte fixed part");
  }
  const uint8_t* p = body.data();
  const uint64_t seq = get_u64(p);
  if (p[16] < 1 || p[16] > 3) {
    return util::invalid_argument("message log record " + std::to_string(seq) + ": tier " +
                                  std::to_string(p[16]) + " is out of range (1..3)");
  }
  if (p[17] > 2) {
    return util::invalid_argument("message log record " + std::to_string(seq) + ": qos " +
                                  std::to_string(p[17]) + " is out of range (0..2)");
  }
  if ((p[18] & ~1u) != 0) {
    return util::invalid_argument("message log record " + std::to_string(seq) +
                                  ": unknown flag bits " + std::to_string(p[18]));
  }
  const size_t props_len = get_u32(p + 23);
  const size_t payload_len = get_u32(p + 27);
  if (props_len > kMaxPropertiesBytes || payload_len > kMaxPayloadBytes) {
    return util::invalid_argument("message log record " + std::to_string(seq) +
                                  ": properties or payload length exceeds 268435455");
  }
  const size_t total =
      kBodyFixedBytes + get_u16(p + 19) + get_u16(p + 21) + props_len + payload_len;
  if (total != body.size()) {
    return util::invalid_argument("message log record " + std::to_string(seq) +
                                  ": field lengths add up to " + std::to_string(total) +
                                  " bytes but the body is " + std::to_string(body.size()));
  }
  return {};
}

util::Result<Record> decode_body(util::ByteSpan body) {
  IMET_TRY(check_body(body));
  const uint8_t* p = body.data();
  Record r;
  r.seq = get_u64(p);
  r.timestamp_ms = static_cast<int64_t>(get_u64(p + 8));
  r.tier = p[16];
  r.qos = p[17];
  r.retain = (p[18] & 1) != 0;
  const size_t cid_len = get_u16(p + 19);
  const size_t topic_len = get_u16(p + 21);
  const size_t props_len = get_u32(p + 23);
  const size_t payload_len = get_u32(p + 27);
  const uint8_t* q = p + kBodyFixedBytes;
  r.client_id.assign(reinterpret_cast<const char*>(q), cid_len);
  q += cid_len;
  r.topic.assign(reinterpret_cast<const char*>(q), topic_len);
  q += topic_len;
  r.properties.resize(props_len);
  if (props_len != 0) std::memcpy(r.properties.data(), q, props_len);
  q += props_len;
  r.payload.resize(payload_len);
  if (payload_len != 0) std::memcpy(r.payload.data(), q, payload_len);
  return r;
}

}  // namespace imet::store::msglog
