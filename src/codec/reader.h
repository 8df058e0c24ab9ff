// Reader: the decoding side of the canonical codec (rules in codec/serialize.h). It walks an
// object's serde() body over an input span and fills each field, checking every rule: no reads
// past the end, bool and optional tags exactly 0x00/0x01, minimal varints, per-field caps checked
// before anything is allocated, valid UTF-8, strictly ascending sets, valid enum values, nesting
// depth, and the type's require() rules.
// The error is sticky: the first failure records a Status (kInvalidArgument) whose message names
// the byte offset, the reason and the field path, e.g.
//   "invalid encoding at offset 12: length 70000 exceeds cap 1024 for field 'outputs[2].memo'"
// and every later operation is a no-op, so serde() bodies need no error checks of their own.
// Fields not reached keep whatever value they had; callers discard the object on error
// (codec::decode does).
// Thread-safety: not thread-safe; one per decoding. The input span must outlive the Reader.
// Invariants: offset() <= input size; offset() never decreases; once !ok() it stays !ok().
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "codec/field_context.h"
#include "codec/limits.h"
#include "codec/traits.h"
#include "util/bytes.h"
#include "util/status.h"

namespace imet::codec {

class Reader {
 public:
  static constexpr bool kDecoding = true;

  explicit Reader(util::ByteSpan input, size_t max_depth = kDefaultMaxDepth)
      : in_(input), ctx_("invalid encoding", max_depth) {}

  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  bool ok() const { return ctx_.ok(); }
  const util::Status& status() const { return ctx_.status(); }
  size_t offset() const { return pos_; }
  size_t remaining() const { return in_.size() - pos_; }

  // Call after the top-level object: records an error if input is left over. Returns status().
  util::Status finish();

  // ---- fixed-width little-endian integers and bool ----
  void u8(uint8_t& v, const char* name = "") { get_le(v, name); }
  void u16(uint16_t& v, const char* name = "") { get_le(v, name); }
  void u32(uint32_t& v, const char* name = "") { get_le(v, name); }
  void u64(uint64_t& v, const char* name = "") { get_le(v, name); }
  void i64(int64_t& v, const char* name = "") {
    uint64_t u = 0;
    if (get_le(u, name)) v = static_cast<int64_t>(u);
  }
  void boolean(bool& v, const char* name = "") {
    uint8_t b = 0;
    if (get_tag(b, "bool byte", name)) v = b == 1;
  }

  // ---- varint, byte arrays, byte strings, text ----
  void varint(uint64_t& v, const char* name = "") { get_varint(v, name); }
  template <size_t N>
  void fixed(std::array<uint8_t, N>& v, const char* name = "") {
    const uint8_t* p = nullptr;
    if (take(N, p, name)) std::copy_n(p, N, v.begin());
  }
  void bytes(util::Bytes& v, size_t cap, const char* name = "");
  void string(std::string& v, size_t cap, const char* name = "");

  template <CodecEnum E>
  void enumeration(E& v, const char* name = "") {
    using U = std::underlying_type_t<E>;
    const size_t start = pos_;
    U raw = 0;
    if (!get_le(raw, name)) return;
    const E e = static_cast<E>(raw);
    if (!is_valid(e)) return ctx_.fail_enum(start, raw, name);
    v = e;
  }

  // ---- compound values ----
  template <typename T>
  requires HasSerde<T, Reader>
  void object(T& v, const char* name = "") {
    if (!ctx_.ok() || !ctx_.enter(name, pos_)) return;
    v.serde(*this);
    ctx_.leave();
  }

  template <typename T, ElementFn<Reader, T> F>
  void optional(std::optional<T>& v, F&& fn, const char* name = "") {
    const size_t start = pos_;
    uint8_t tag = 0;
    if (!get_tag(tag, "optional tag", name)) return;
    if (tag == 0) {
      v.reset();
      return;
    }
    if (!ctx_.enter(name, start)) return;
    fn(*this, v.emplace());
    ctx_.leave();
  }
  template <DefaultCodable<Reader> T>
  void optional(std::optional<T>& v, const char* name = "") {
    optional(v, DefaultElement{}, name);
  }

  template <typename T, typename A, ElementFn<Reader, T> F>
  void vector(std::vector<T, A>& v, size_t cap, F&& fn, const char* name = "") {
    size_t n = 0;
    if (!begin_container(n, cap, name)) return;
    v.clear();
    v.reserve(reserve_hint<T>(n));
    for (size_t i = 0; i < n && ctx_.ok(); ++i) {
      ctx_.set_index(i);
      fn(*this, v.emplace_back());
    }
    ctx_.leave();
  }
  template <DefaultCodable<Reader> T, typename A>
  void vector(std::vector<T, A>& v, size_t cap, const char* name = "") {
    vector(v, cap, DefaultElement{}, name);
  }

  // A set held in a vector: elements must arrive strictly ascending under `less`.
  template <typename T, typename A, ElementFn<Reader, T> F, typename Less = std::less<>>
  void sorted_set(std::vector<T, A>& v, size_t cap, F&& fn, const char* name = "", Less less = {}) {
    size_t n = 0;
    if (!begin_container(n, cap, name)) return;
    v.clear();
    v.reserve(reserve_hint<T>(n));
    for (size_t i = 0; i < n && ctx_.ok(); ++i) {
      ctx_.set_index(i);
      const size_t start = pos_;
      fn(*this, v.emplace_back());
      if (ctx_.ok() && i > 0 && !less(v[i - 1], v[i])) {
        ctx_.fail_set_order(start, !less(v[i], v[i - 1]), "");
      }
    }
    ctx_.leave();
  }
  template <DefaultCodable<Reader> T, typename A>
  void sorted_set(std::vector<T, A>& v, size_t cap, const char* name = "") {
    sorted_set(v, cap, DefaultElement{}, name);
  }

  // A std::set: elements must arrive strictly ascending under the set's comparator.
  template <typename T, typename C, typename A, ElementFn<Reader, T> F>
  void sorted_set(std::set<T, C, A>& v, size_t cap, F&& fn, const char* name = "") {
    size_t n = 0;
    if (!begin_container(n, cap, name)) return;
    v.clear();
    const C less = v.key_comp();
    for (size_t i = 0; i < n && ctx_.ok(); ++i) {
      ctx_.set_index(i);
      const size_t start = pos_;
      T element{};
      fn(*this, element);
      if (!ctx_.ok()) break;
      if (!v.empty() && !less(*v.rbegin(), element)) {
        ctx_.fail_set_order(start, !less(element, *v.rbegin()), "");
        break;
      }
      v.emplace_hint(v.end(), std::move(element));
    }
    ctx_.leave();
  }
  template <DefaultCodable<Reader> T, typename C, typename A>
  void sorted_set(std::set<T, C, A>& v, size_t cap, const char* name = "") {
    sorted_set(v, cap, DefaultElement{}, name);
  }

  // A cross-field rule of the type; records `what` as an error at the current offset if false.
  void require(bool condition, const char* what, const char* name = "") {
    if (ctx_.ok() && !condition) ctx_.fail(pos_, what, name);
  }

 private:
  // Points `p` at the next n bytes and advances; false (error recorded) if fewer remain.
  bool take(size_t n, const uint8_t*& p, const char* name) {
    if (!ctx_.ok()) return false;
    if (n > remaining()) {
      ctx_.fail_truncated(pos_, n, remaining(), name);
      return false;
    }
    p = in_.data() + pos_;
    pos_ += n;
    return true;
  }

  template <typename U>
  bool get_le(U& v, const char* name) {
    const uint8_t* p = nullptr;
    if (!take(sizeof(U), p, name)) return false;
    U r = 0;
    for (size_t i = 0; i < sizeof(U); ++i)
      r = static_cast<U>(r | (static_cast<U>(p[i]) << (8 * i)));
    v = r;
    return true;
  }

  // A byte that must be 0x00 or 0x01 (bool, optional tag).
  bool get_tag(uint8_t& v, const char* kind, const char* name) {
    const size_t start = pos_;
    if (!get_le(v, name)) return false;
    if (v > 1) {
      ctx_.fail_bad_byte(start, kind, v, name);
      return false;
    }
    return true;
  }

  bool get_varint(uint64_t& v, const char* name);
  // Reads a varint length (count: an element count, for the message) and checks it against cap.
  bool get_length(size_t& n, size_t cap, bool count, const char* name);

  bool begin_container(size_t& n, size_t cap, const char* name) {
    const size_t start = pos_;
    if (!get_length(n, cap, /*count=*/true, name)) return false;
    return ctx_.enter(name, start);
  }

  // How many elements to reserve for a declared count n: never more than the remaining input
  // could hold at one byte per element, nor more than ~64 KiB of element storage, so a short
  // input cannot make us allocate much; larger vectors grow as elements actually decode.
  template <typename T>
  size_t reserve_hint(size_t n) const {
    constexpr size_t kMaxReserveBytes = size_t{64} << 10;
    constexpr size_t kMaxElements =
        kMaxReserveBytes / sizeof(T) > 0 ? kMaxReserveBytes / sizeof(T) : 1;
    return std::min({n, remaining(), kMaxElements});
  }

  util::ByteSpan in_;
  size_t pos_ = 0;
  FieldContext ctx_;
};

}  // namespace imet::codec
