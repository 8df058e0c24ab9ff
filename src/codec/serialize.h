// The canonical binary encoding of consensus objects (transactions, blocks, votes, receipts): the
// one byte representation that is hashed, signed, stored and sent. Include this header; it brings
// in Writer, SizeCounter and Reader.
//
// A type describes its encoding once, in a member template used for reading and writing alike:
//   struct Transfer {
//     uint64_t nonce = 0;
//     util::Bytes memo;
//     std::optional<uint32_t> expiry;
//     std::vector<Output> outputs;
//     template <typename S> void serde(S& s) {
//       s.u64(nonce, "nonce");
//       s.bytes(memo, kMaxMemo, "memo");
//       s.optional(expiry, "expiry");
//       s.vector(outputs, kMaxOutputs, "outputs");  // Output has its own serde()
//     }
//   };
//   util::Bytes b = codec::encode(t);  auto back = codec::decode<Transfer>(b);
// Field names are string literals, used only to build error messages ("outputs[2].memo").
//
// Encoding rules (all integers little-endian; "varint" = unsigned LEB128, minimal form only):
//   u8/u16/u32/u64   1/2/4/8 bytes.            i64       8 bytes, two's complement.
//   boolean          one byte, 0x00 or 0x01.   varint    1..10 bytes, no redundant 0x00 group.
//   fixed<N>         N raw bytes (std::array<uint8_t, N>), no length.
//   bytes/string     varint length (<= the call's cap) then the bytes; strings must be valid UTF-8.
//   enumeration      its unsigned underlying type, fixed width; must satisfy is_valid(e).
//   optional         tag 0x00 (absent) or 0x01 followed by the value.
//   vector           varint element count (<= cap) then the elements.
//   sorted_set       as vector, and the elements must be strictly ascending (no duplicates).
//   object           the nested type's fields in serde() order; no framing of its own.
// A decode must consume the whole input (trailing bytes are an error), the input must be at most
// Limits::max_size bytes, and nesting (object, vector, set, present optional) at most
// Limits::max_depth levels.
//
// Why these rules:
//  - Canonical means exactly one encoding per value: hashes and signatures commit to bytes, so if
//    a value had two encodings, two nodes could disagree on an id, or a relayer could change
//    (malleate) a transaction's id without invalidating its signature (Bitcoin's pre-SegWit
//    malleability). So everything that could vary is pinned down: bool and tag bytes other than
//    0/1, overlong varints, trailing bytes, unsorted or duplicate set elements and invalid enum
//    values are all rejected, and decode(b) succeeds only when encode(decode(b)) == b.
//  - LEB128 lengths with minimality instead of fixed u32 lengths: most lengths and counts are
//    small (a memo, a handful of outputs), so one byte instead of four per field, and no fixed
//    2^32 ceiling; minimality (the final byte of a multi-byte varint is non-zero) restores the
//    single encoding that a fixed-width field has for free. LEB128 rather than Bitcoin's
//    CompactSize because it is a standard (protobuf, WebAssembly, DWARF) with one simple minimality
//    rule.
//  - Caps at the call site: every length and count is checked against a per-field cap before any
//    allocation, so a peer cannot make us allocate more than the caps allow, and the cap is written
//    where the field is described, which is where a reviewer looks. The total size cap bounds the
//    whole input, and the depth cap bounds recursion (stack) for recursive types.
//  - Sorted sets: a set has no inherent order, so the encoding fixes one (ascending by the element
//    type's operator<, or the comparator given) and rejects any other, including duplicates. The
//    order is part of the format: prefer integers and byte arrays as set elements (numeric and
//    bytewise-lexicographic order); a struct element's operator< must be documented with the type.
//  - Fixed-width little-endian integers: no ambiguity, matches every target CPU, no varint
//    overhead or minimality check for values that are usually large (amounts, nonces, heights).
//  - Strings are bytes with a UTF-8 check (no normalization): invalid text cannot enter the ledger,
//    and caps count bytes, not characters.
//
// Errors: decode() returns kInvalidArgument with a message naming the offset, the reason and the
// field, e.g. "invalid encoding at offset 12: length 70000 exceeds cap 1024 for field 'memo'".
// Nothing throws on bad input. encode() requires a valid object (one that meets its caps and
// rules, which every successfully decoded object does); objects built from user input should be
// checked first with validate(), or encoded with try_encode().
// Thread-safety: free functions over caller-owned objects; safe to call concurrently on distinct or
// unmodified objects.
// Invariants: for every Serde type T and byte string b:
//   decode<T>(b) is OK  =>  encode(*decode<T>(b)) == b;
//   validate(x) is OK   =>  decode<T>(encode(x)) is OK and equals x, and encoded_size(x) ==
//                           encode(x).size().
#pragma once

#include <cassert>
#include <concepts>
#include <cstddef>
#include <string>

#include "codec/limits.h"
#include "codec/reader.h"
#include "codec/traits.h"
#include "codec/writer.h"
#include "util/bytes.h"
#include "util/result.h"
#include "util/status.h"

namespace imet::codec {

// A type with a serde() body usable by all three serializers, decodable into a default value.
template <typename T>
concept Serde = std::default_initializable<T> && HasSerde<T, Reader> && HasSerde<T, Writer> &&
    HasSerde<T, SizeCounter>;

namespace detail {
// serde() is one non-const member for reading and writing; Writer and SizeCounter only read
// through the reference, so calling it on a const object is sound.
template <typename T>
T& as_mutable(const T& obj) {
  return const_cast<T&>(obj);
}
util::Status input_too_large(size_t size, size_t cap);
util::Status output_too_large(size_t size, size_t cap);
}  // namespace detail

// Number of bytes encode(obj) produces, computed without allocating. Exact for objects that pass
// validate(); unspecified otherwise.
template <Serde T>
size_t encoded_size(const T& obj) {
  SizeCounter counter(kMaxDepthLimit);
  detail::as_mutable(obj).serde(counter);
  return counter.size();
}

// OK iff obj meets every field rule and the limits, i.e. iff encode(obj) will decode under
// `limits`. The error names the first offending field ("invalid value at offset ...").
template <Serde T>
util::Status validate(const T& obj, const Limits& limits = {}) {
  SizeCounter counter(limits.max_depth);
  detail::as_mutable(obj).serde(counter);
  if (!counter.ok()) return counter.status();
  if (counter.size() > limits.max_size) {
    return detail::output_too_large(counter.size(), limits.max_size);
  }
  return util::Status::ok_status();
}

// validate(obj, limits), then the encoding.
template <Serde T>
util::Result<util::Bytes> try_encode(const T& obj, const Limits& limits = {}) {
  SizeCounter counter(limits.max_depth);
  detail::as_mutable(obj).serde(counter);
  if (!counter.ok()) return counter.status();
  if (counter.size() > limits.max_size) {
    return detail::output_too_large(counter.size(), limits.max_size);
  }
  util::Bytes out;
  out.reserve(counter.size());
  Writer writer(out);
  detail::as_mutable(obj).serde(writer);
  return out;
}

// The canonical encoding of obj. Precondition: validate(obj, {SIZE_MAX, kDefaultMaxDepth}) is OK
// (asserted in debug builds); an object that breaks its rules encodes to bytes decode() rejects.
template <Serde T>
util::Bytes encode(const T& obj) {
  SizeCounter counter(kDefaultMaxDepth);
  detail::as_mutable(obj).serde(counter);
  assert(counter.ok() && "codec::encode: object breaks its field rules; use validate()");
  util::Bytes out;
  out.reserve(counter.size());
  Writer writer(out);
  detail::as_mutable(obj).serde(writer);
  return out;
}

// Decodes a T from exactly `input`: every rule is checked, and all of the input must be used.
template <Serde T>
util::Result<T> decode(util::ByteSpan input, const Limits& limits = {}) {
  if (input.size() > limits.max_size) return detail::input_too_large(input.size(), limits.max_size);
  T obj{};
  Reader reader(input, limits.max_depth);
  obj.serde(reader);
  util::Status status = reader.finish();
  if (!status.ok()) return status;
  return obj;
}

}  // namespace imet::codec
