// Test-only types for the codec: a nested Sample struct that uses every kind of field, shared by
// the unit tests (tests/unit/codec/) and the fuzz target (fuzz/codec_fuzz.cpp), so the fuzzer
// explores the same shapes the tests pin down.
// Thread-safety: plain value types. Invariants: none beyond the caps below (an object decoded from
// bytes always satisfies them).
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "codec/serialize.h"
#include "util/bytes.h"

namespace imet::codec::testing {

enum class Color : uint8_t { kRed = 0, kGreen = 1, kBlue = 2 };
constexpr bool is_valid(Color c) {
  return static_cast<uint8_t>(c) <= 2;
}

// A sparse enum with a wider underlying type: only 1, 7 and 0x1000 are defined.
enum class Kind : uint16_t { kOne = 1, kSeven = 7, kBig = 0x1000 };
constexpr bool is_valid(Kind k) {
  return k == Kind::kOne || k == Kind::kSeven || k == Kind::kBig;
}

inline constexpr size_t kMaxLabel = 16;
inline constexpr size_t kMaxMemo = 64;
inline constexpr size_t kMaxName = 32;
inline constexpr size_t kMaxLeaves = 6;
inline constexpr size_t kMaxBlobs = 4;
inline constexpr size_t kMaxBlob = 12;
inline constexpr size_t kMaxIds = 8;
inline constexpr size_t kMaxKeys = 5;
inline constexpr size_t kMaxChildren = 3;

struct Leaf {
  uint32_t id = 0;
  std::string label;
  Color color = Color::kRed;

  template <typename S>
  void serde(S& s) {
    s.u32(id, "id");
    s.string(label, kMaxLabel, "label");
    s.enumeration(color, "color");
  }
  friend bool operator==(const Leaf&, const Leaf&) = default;
};

// A recursive type, for the depth cap.
struct Node {
  uint8_t value = 0;
  std::vector<Node> children;

  template <typename S>
  void serde(S& s) {
    s.u8(value, "value");
    s.vector(children, kMaxChildren, "children");
  }
  friend bool operator==(const Node&, const Node&) = default;
};

struct Sample {
  uint8_t version = 0;
  uint16_t flags = 0;
  uint32_t height = 0;
  uint64_t amount = 0;
  int64_t delta = 0;
  bool active = false;
  uint64_t counter = 0;  // varint
  util::ByteArray<4> tag{};
  util::Bytes memo;
  std::string name;
  Kind kind = Kind::kOne;
  std::optional<uint64_t> expiry;
  std::optional<Leaf> parent;
  std::vector<Leaf> leaves;
  std::vector<util::Bytes> blobs;
  std::vector<uint64_t> ids;          // sorted set in a vector
  std::set<util::ByteArray<2>> keys;  // sorted set in a std::set
  std::optional<Node> tree;

  template <typename S>
  void serde(S& s) {
    s.u8(version, "version");
    s.u16(flags, "flags");
    s.u32(height, "height");
    s.u64(amount, "amount");
    s.i64(delta, "delta");
    s.boolean(active, "active");
    s.varint(counter, "counter");
    s.fixed(tag, "tag");
    s.bytes(memo, kMaxMemo, "memo");
    s.string(name, kMaxName, "name");
    s.enumeration(kind, "kind");
    s.optional(expiry, "expiry");
    s.optional(parent, "parent");
    s.vector(leaves, kMaxLeaves, "leaves");
    s.vector(
        blobs, kMaxBlobs, [](S& s2, util::Bytes& b) { s2.bytes(b, kMaxBlob); }, "blobs");
    s.sorted_set(ids, kMaxIds, "ids");
    s.sorted_set(keys, kMaxKeys, "keys");
    s.optional(tree, "tree");
    s.require(!active || !name.empty(), "an active sample needs a name");
  }
  friend bool operator==(const Sample&, const Sample&) = default;
};

// A Sample with every field non-empty (and every rule satisfied).
inline Sample make_full_sample() {
  Sample s;
  s.version = 1;
  s.flags = 0xbeef;
  s.height = 1000;
  s.amount = 5'000'000'000ULL;
  s.delta = -7;
  s.active = true;
  s.counter = 300;
  s.tag = {0xde, 0xad, 0xbe, 0xef};
  s.memo = util::to_bytes("memo bytes");
  s.name = "caf\xc3\xa9";
  s.kind = Kind::kSeven;
  s.expiry = 99;
  s.parent = Leaf{7, "ab", Color::kBlue};
  s.leaves = {Leaf{1, "one", Color::kRed}, Leaf{2, "", Color::kGreen}};
  s.blobs = {{}, {0x00}, {0xff, 0xfe}};
  s.ids = {0, 5, 1ULL << 40};
  s.keys = {{0x00, 0x00}, {0x00, 0x01}, {0xff, 0x00}};
  s.tree = Node{1, {Node{2, {}}, Node{3, {Node{4, {}}}}}};
  return s;
}

}  // namespace imet::codec::testing
