// Message-log records: the Record struct the broker hands to the access-point log, its canonical
// binary encoding, and the checksummed frame that stores one record in a segment file.
//
// Frame (all integers little-endian):
//   body_len u32 | check u32 | body (body_len bytes)
//   check = the first 4 bytes (read as u32 LE) of the record's Merkle leaf hash,
//           crypto::merkle_leaf_hash(body) = BLAKE2b-256(0x00 || body).
// Body:
//   seq u64 | timestamp_ms i64 | tier u8 (1..3) | qos u8 (0..2) | flags u8 (bit 0 = retain)
//   | client_id_len u16 | topic_len u16 | properties_len u32 | payload_len u32
//   | client_id | topic | properties | payload
// The leaf hash doubles as the checksum, so writing a record costs one BLAKE2b pass (which the
// segment's Merkle root needs anyway) and no separate CRC. A torn or corrupt frame fails the length
// or the check; the decoder is strict (no trailing bytes, no unknown flags, tier/qos in range), so
// every accepted body has exactly one encoding.
//
// Thread-safety: pure functions and value types.
// Invariants: decode_body(encode(r)) == r for every r that validate() accepts; frame_size(r) is
// exactly the number of bytes encode_frame writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/hash.h"
#include "util/bytes.h"
#include "util/result.h"
#include "util/status.h"

namespace imet::store::msglog {

inline constexpr size_t kFrameHeaderBytes = 8;
inline constexpr size_t kBodyFixedBytes = 31;
inline constexpr size_t kMaxClientIdBytes = 65535;
inline constexpr size_t kMaxTopicBytes = 65535;
// MQTT's largest packet is 256 MiB - 1; a payload or property blob never exceeds it.
inline constexpr size_t kMaxPayloadBytes = 268435455;
inline constexpr size_t kMaxPropertiesBytes = 268435455;
// Upper bound of body_len a decoder accepts (every field at its cap).
inline constexpr size_t kMaxBodyBytes =
    kBodyFixedBytes + kMaxClientIdBytes + kMaxTopicBytes + kMaxPayloadBytes + kMaxPropertiesBytes;

// One accepted message. `seq` is assigned by MessageLog::append (ignored on input).
struct Record {
  uint64_t seq = 0;
  int64_t timestamp_ms = 0;  // when the access point accepted it (Unix ms)
  uint8_t tier = 1;          // delivery tier 1..3
  uint8_t qos = 0;           // 0..2
  bool retain = false;
  std::string client_id;
  std::string topic;
  util::Bytes payload;     // opaque
  util::Bytes properties;  // opaque (e.g. the MQTT 5 property block)

  bool operator==(const Record&) const = default;
};

// A non-owning view of a record, so a caller can append without building a Record.
struct RecordView {
  uint64_t seq = 0;
  int64_t timestamp_ms = 0;
  uint8_t tier = 1;
  uint8_t qos = 0;
  bool retain = false;
  std::string_view client_id;
  std::string_view topic;
  util::ByteSpan payload;
  util::ByteSpan properties;

  static RecordView of(const Record& r) {
    return {r.seq,       r.timestamp_ms, r.tier,    r.qos,       r.retain,
            r.client_id, r.topic,        r.payload, r.properties};
  }
};

// OK iff the record can be encoded: tier 1..3, qos 0..2, every field within its cap. The message
// names the offending field.
util::Status validate(const RecordView& r);

// Body and frame sizes of a (valid) record.
size_t body_size(const RecordView& r);
inline size_t frame_size(const RecordView& r) {
  return kFrameHeaderBytes + body_size(r);
}

// Writes the frame of `r` with sequence number `seq` (r.seq is ignored) to out[0, frame_size(r))
// and returns the body's Merkle leaf hash. Precondition: validate(r).ok().
crypto::Hash256 encode_frame(const RecordView& r, uint64_t seq, uint8_t* out);

// As encode_frame, but the check field is left 0 and nothing is hashed: the writer hashes many
// frames at once later (crypto/blake2b_many.h) and then sets each check with set_frame_check.
void encode_frame_unhashed(const RecordView& r, uint64_t seq, uint8_t* out);
// Writes the check field of the frame at `frame` from its body's leaf hash.
void set_frame_check(uint8_t* frame, const crypto::Hash256& leaf_hash);

// The body encoding alone (tests, proofs); uses r.seq.
util::Bytes encode_body(const RecordView& r);

// The leaf hash of a record as the segment's Merkle tree sees it: merkle_leaf_hash(encode_body(r)).
crypto::Hash256 record_leaf_hash(const Record& r);

// The 4-byte frame check derived from a leaf hash.
uint32_t frame_check(const crypto::Hash256& leaf_hash);

struct FrameHeader {
  uint32_t body_len = 0;
  uint32_t check = 0;
};
// Parses the 8-byte frame header. Precondition: header.size() >= kFrameHeaderBytes.
FrameHeader parse_frame_header(util::ByteSpan header);

// Strictly checks a body without copying it: kInvalidArgument naming the field for any defect.
util::Status check_body(util::ByteSpan body);
// Strictly decodes a body (check_body, then copies the fields out).
util::Result<Record> decode_body(util::ByteSpan body);
// Reads only the sequence number (first 8 bytes); precondition body.size() >= 8.
uint64_t body_seq(util::ByteSpan body);
// Reads only the timestamp (bytes 8..16); precondition body.size() >= 16.
int64_t body_timestamp_ms(util::ByteSpan body);

// Little-endian helpers shared by the log's file formats.
void put_u16(uint8_t* p, uint16_t v);
void put_u32(uint8_t* p, uint32_t v);
void put_u64(uint8_t* p, uint64_t v);
uint16_t get_u16(const uint8_t* p);
uint32_t get_u32(const uint8_t* p);
uint64_t get_u64(const uint8_t* p);

}  // namespace imet::store::msglog
