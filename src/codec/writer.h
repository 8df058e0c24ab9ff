// The encoding side of the canonical codec (rules in codec/serialize.h): BasicWriter walks an
// object's serde() body and emits each field. Two instantiations:
//   Writer       appends the encoding to a util::Bytes; checks nothing (see below).
//   SizeCounter  counts the bytes Writer would append, without allocating, and checks every field
//                rule (caps, UTF-8, set order, enum validity, depth, require()) exactly as Reader
//                does, recording the first violation with its field path.
// codec::encode() runs SizeCounter first (to validate and to reserve the exact size), then Writer,
// so the rules are checked once per encode and the output buffer is allocated once.
// Writer and SizeCounter take fields by non-const reference only so that one serde() body serves
// reading and writing with identical, exact types; they never modify the object.
// Thread-safety: not thread-safe; one per encoding.
// Invariants: a SizeCounter whose status() is OK after an object's serde() reports the exact number
// of bytes Writer produces for it, and Reader accepts those bytes and reproduces an equal object.
// After the first violation a SizeCounter stops counting (size() is then meaningless).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "codec/field_context.h"
#include "codec/limits.h"
#include "codec/traits.h"
#include "codec/utf8.h"
#include "codec/varint.h"
#include "util/bytes.h"
#include "util/status.h"

namespace imet::codec {

// Sink that appends to a byte vector.
class AppendSink {
 public:
  explicit AppendSink(util::Bytes& out) : out_(out) {}
  size_t size() const { return out_.size(); }
  void put(uint8_t b) { out_.push_back(b); }
  void put(const uint8_t* p, size_t n) { out_.insert(out_.end(), p, p + n); }
  void put_varint(uint64_t v) { append_varint(out_, v); }

 private:
  util::Bytes& out_;
};

// Sink that only counts.
class CountSink {
 public:
  size_t size() const { return n_; }
  void put(uint8_t /*b*/) { ++n_; }
  void put(const uint8_t* /*p*/, size_t n) { n_ += n; }
  void put_varint(uint64_t v) { n_ += varint_size(v); }

 private:
  size_t n_ = 0;
};

template <typename Sink, bool kCheck>
class BasicWriter {
 public:
  static constexpr bool kDecoding = false;

  // Writer: appends to `out`.
  explicit BasicWriter(util::Bytes& out) requires(!kCheck) : sink_(out) {}
  // SizeCounter: counts; `max_depth` is the depth cap the encoding must satisfy.
  explicit BasicWriter(size_t max_depth = kDefaultMaxDepth) requires kCheck
      : ctx_("invalid value", max_depth) {}

  BasicWriter(const BasicWriter&) = delete;
  BasicWriter& operator=(const BasicWriter&) = delete;

  // Bytes written (Writer: appended by this writer and any before it) or counted so far.
  size_t size() const { return sink_.size(); }
  bool ok() const { return ctx_.ok(); }
  // The first rule violation (SizeCounter), or OK.
  util::Status status() const {
    if constexpr (kCheck) {
      return ctx_.status();
    } else {
      return util::Status::ok_status();
    }
  }

  // ---- fixed-width little-endian integers and bool ----
  void u8(uint8_t& v, const char* /*name*/ = "") { put_le(v); }
  void u16(uint16_t& v, const char* /*name*/ = "") { put_le(v); }
  void u32(uint32_t& v, const char* /*name*/ = "") { put_le(v); }
  void u64(uint64_t& v, const char* /*name*/ = "") { put_le(v); }
  void i64(int64_t& v, const char* /*name*/ = "") { put_le(static_cast<uint64_t>(v)); }
  void boolean(bool& v, const char* /*name*/ = "") { put_le(static_cast<uint8_t>(v ? 1 : 0)); }

  // ---- varint, byte arrays, byte strings, text ----
  void varint(uint64_t& v, const char* /*name*/ = "") {
    if (!ctx_.ok()) return;
    sink_.put_varint(v);
  }
  template <size_t N>
  void fixed(std::array<uint8_t, N>& v, const char* /*name*/ = "") {
    if (!ctx_.ok()) return;
    sink_.put(v.data(), N);
  }
  void bytes(util::Bytes& v, size_t cap, const char* name = "") {
    if (!ctx_.ok()) return;
    if constexpr (kCheck) {
      if (v.size() > cap) return ctx_.fail_length_cap(sink_.size(), v.size(), cap, name);
    }
    sink_.put_varint(v.size());
    sink_.put(v.data(), v.size());
  }
  void string(std::string& v, size_t cap, const char* name = "") {
    if (!ctx_.ok()) return;
    const util::ByteSpan data = util::as_bytes(v);
    if constexpr (kCheck) {
      if (v.size() > cap) return ctx_.fail_length_cap(sink_.size(), v.size(), cap, name);
      if (auto err = find_utf8_error(data)) {
        return ctx_.fail_utf8(sink_.size() + varint_size(v.size()) + err->index, err->reason, name);
      }
    }
    sink_.put_varint(data.size());
    sink_.put(data.data(), data.size());
  }

  template <CodecEnum E>
  void enumeration(E& v, const char* name = "") {
    if (!ctx_.ok()) return;
    const auto raw = static_cast<std::underlying_type_t<E>>(v);
    if constexpr (kCheck) {
      if (!is_valid(v)) return ctx_.fail_enum(sink_.size(), raw, name);
    }
    put_le(raw);
  }

  // ---- compound values ----
  template <typename T>
  requires HasSerde<T, BasicWriter>
  void object(T& v, const char* name = "") {
    if (!ctx_.ok() || !ctx_.enter(name, sink_.size())) return;
    v.serde(*this);
    ctx_.leave();
  }

  template <typename T, ElementFn<BasicWriter, T> F>
  void optional(std::optional<T>& v, F&& fn, const char* name = "") {
    if (!ctx_.ok()) return;
    const size_t start = sink_.size();
    if (!v.has_value()) return sink_.put(uint8_t{0});
    sink_.put(uint8_t{1});
    if (!ctx_.enter(name, start)) return;
    fn(*this, *v);
    ctx_.leave();
  }
  template <DefaultCodable<BasicWriter> T>
  void optional(std::optional<T>& v, const char* name = "") {
    optional(v, DefaultElement{}, name);
  }

  template <typename T, typename A, ElementFn<BasicWriter, T> F>
  void vector(std::vector<T, A>& v, size_t cap, F&& fn, const char* name = "") {
    if (!begin_container(v.size(), cap, name)) return;
    for (size_t i = 0; i < v.size() && ctx_.ok(); ++i) {
      ctx_.set_index(i);
      fn(*this, v[i]);
    }
    ctx_.leave();
  }
  template <DefaultCodable<BasicWriter> T, typename A>
  void vector(std::vector<T, A>& v, size_t cap, const char* name = "") {
    vector(v, cap, DefaultElement{}, name);
  }

  // A set held in a vector: the vector must be strictly ascending under `less`.
  template <typename T, typename A, ElementFn<BasicWriter, T> F, typename Less = std::less<>>
  void sorted_set(std::vector<T, A>& v, size_t cap, F&& fn, const char* name = "", Less less = {}) {
    if (!begin_container(v.size(), cap, name)) return;
    for (size_t i = 0; i < v.size() && ctx_.ok(); ++i) {
      ctx_.set_index(i);
      if constexpr (kCheck) {
        if (i > 0 && !less(v[i - 1], v[i])) {
          ctx_.fail_set_order(sink_.size(), !less(v[i], v[i - 1]), "");
          break;
        }
      }
      fn(*this, v[i]);
    }
    ctx_.leave();
  }
  template <DefaultCodable<BasicWriter> T, typename A>
  void sorted_set(std::vector<T, A>& v, size_t cap, const char* name = "") {
    sorted_set(v, cap, DefaultElement{}, name);
  }

  // A std::set: ascending and unique by construction under its comparator.
  template <typename T, typename C, typename A, ElementFn<BasicWriter, T> F>
  void sorted_set(std::set<T, C, A>& v, size_t cap, F&& fn, const char* name = "") {
    if (!begin_container(v.size(), cap, name)) return;
    size_t i = 0;
    for (const T& element : v) {
      if (!ctx_.ok()) break;
      ctx_.set_index(i++);
      fn(*this, const_cast<T&>(element));  // not modified: writers only read
    }
    ctx_.leave();
  }
  template <DefaultCodable<BasicWriter> T, typename C, typename A>
  void sorted_set(std::set<T, C, A>& v, size_t cap, const char* name = "") {
    sorted_set(v, cap, DefaultElement{}, name);
  }

  // A cross-field rule of the type (e.g. "memo must be empty when kind == kStake"). SizeCounter
  // records `what` as a violation when `condition` is false; Reader does the same when decoding.
  void require(bool condition, const char* what, const char* name = "") {
    if constexpr (kCheck) {
      if (ctx_.ok() && !condition) ctx_.fail(sink_.size(), what, name);
    }
  }

 private:
  template <typename U>
  void put_le(U v) {
    if (!ctx_.ok()) return;
    std::array<uint8_t, sizeof(U)> buf;
    for (size_t i = 0; i < sizeof(U); ++i)
      buf[i] = static_cast<uint8_t>(v >> (8 * i));
    sink_.put(buf.data(), buf.size());
  }

  // Checks the cap, writes the count and enters the container's frame.
  bool begin_container(size_t count, size_t cap, const char* name) {
    if (!ctx_.ok()) return false;
    const size_t start = sink_.size();
    if constexpr (kCheck) {
      if (count > cap) {
        ctx_.fail_count_cap(start, count, cap, name);
        return false;
      }
    }
    sink_.put_varint(count);
    return ctx_.enter(name, start);
  }

  Sink sink_;
  [[no_unique_address]] std::conditional_t<kCheck, FieldContext, NoFieldContext> ctx_;
};

using Writer = BasicWriter<AppendSink, false>;
using SizeCounter = BasicWriter<CountSink, true>;

}  // namespace imet::codec
