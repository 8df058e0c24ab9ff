// Compile-time vocabulary of the canonical codec: which types have a serde() body, which enums may
// be encoded, what an element function is, and the default element codec used when a container's
// element type describes itself (integers, bool, fixed byte arrays, valid enums, serde structs).
// Thread-safety: types and concepts only. Invariants: DefaultElement encodes a type exactly as the
// matching explicit call would (uint32_t -> s.u32, Struct -> s.object, ...), so the two spellings
// produce the same bytes.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace imet::codec {

// T describes its encoding with `template <typename S> void serde(S& s)`.
template <typename T, typename S>
concept HasSerde = requires(T& t, S& s) {
  t.serde(s);
};

// An enum the codec may encode: scoped or unscoped, with an unsigned integer underlying type (its
// fixed-width little-endian encoding), and an ADL-visible `bool is_valid(E)` declared next to it
// that returns true exactly for the defined values. Decoding rejects every other value.
//   enum class TxKind : uint8_t { kTransfer = 0, kStake = 1 };
//   constexpr bool is_valid(TxKind k) { return k == TxKind::kTransfer || k == TxKind::kStake; }
template <typename E>
concept CodecEnum = std::is_enum_v<E> && std::is_unsigned_v<std::underlying_type_t<E>> &&
                    !std::is_same_v<std::underlying_type_t<E>, bool> &&
                    requires(E e) {
  { is_valid(e) } -> std::same_as<bool>;
};

// An element function for containers: called as fn(s, element) for each element (reading or
// writing through the same body), e.g. [](auto& s, util::Bytes& b) { s.bytes(b, kMaxBlob); }.
template <typename F, typename S, typename T>
concept ElementFn = std::invocable<F&, S&, T&>;

namespace detail {
template <typename T>
struct IsByteArray : std::false_type {};
template <size_t N>
struct IsByteArray<std::array<uint8_t, N>> : std::true_type {};
}  // namespace detail

// Types with one obvious encoding, usable in containers without an element function.
template <typename T, typename S>
concept DefaultCodable = std::same_as<T, uint8_t> || std::same_as<T, uint16_t> ||
    std::same_as<T, uint32_t> || std::same_as<T, uint64_t> || std::same_as<T, int64_t> ||
    std::same_as<T, bool> || detail::IsByteArray<T>::value || CodecEnum<T> || HasSerde<T, S>;

// The element function used when a container call omits one.
struct DefaultElement {
  template <typename S, typename T>
  requires DefaultCodable<T, S>
  void operator()(S& s, T& v) const {
    if constexpr (std::same_as<T, uint8_t>) {
      s.u8(v);
    } else if constexpr (std::same_as<T, uint16_t>) {
      s.u16(v);
    } else if constexpr (std::same_as<T, uint32_t>) {
      s.u32(v);
    } else if constexpr (std::same_as<T, uint64_t>) {
      s.u64(v);
    } else if constexpr (std::same_as<T, int64_t>) {
      s.i64(v);
    } else if constexpr (std::same_as<T, bool>) {
      s.boolean(v);
    } else if constexpr (detail::IsByteArray<T>::value) {
      s.fixed(v);
    } else if constexpr (CodecEnum<T>) {
      s.enumeration(v);
    } else {
      s.object(v);
    }
  }
};

}  // namespace imet::codec
