#include "ledger/smt/types.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>

namespace imet::ledger::smt {

Key prefix_of(const Key& key, size_t depth) {
  assert(depth <= kKeyBits);
  Key out{};
  const size_t full = depth / 8;
  std::copy_n(key.begin(), full, out.begin());
  const size_t rem = depth % 8;
  if (rem != 0) out[full] = static_cast<uint8_t>(key[full] & (0xFFU << (8 - rem)));
  return out;
}

Key with_bit(const Key& path, size_t index, bool bit) {
  assert(index < kKeyBits);
  Key out = path;
  const auto mask = static_cast<uint8_t>(0x80U >> (index & 7));
  if (bit) {
    out[index >> 3] = static_cast<uint8_t>(out[index >> 3] | mask);
  } else {
    out[index >> 3] = static_cast<uint8_t>(out[index >> 3] & ~mask);
  }
  return out;
}

size_t common_prefix_length(const Key& a, const Key& b) {
  for (size_t i = 0; i < a.size(); ++i) {
    const auto diff = static_cast<uint8_t>(a[i] ^ b[i]);
    if (diff != 0) return i * 8 + static_cast<size_t>(std::countl_zero(diff));
  }
  return kKeyBits;
}

std::string bits_to_string(const Key& path, size_t depth) {
  std::string out;
  out.reserve(depth);
  for (size_t i = 0; i < depth; ++i)
    out.push_back(bit_at(path, i) ? '1' : '0');
  return out;
}

NodeKey NodeKey::child(Version v, bool bit) const {
  assert(depth < kKeyBits);
  return NodeKey{v, static_cast<uint16_t>(depth + 1), with_bit(path, depth, bit)};
}

bool NodeKey::valid() const {
  return depth <= kKeyBits && prefix_of(path, depth) == path;
}

std::string NodeKey::to_string() const {
  return "v" + std::to_string(version) + "/" +
         (depth == 0 ? std::string("root") : bits_to_string(path, std::min<size_t>(depth, 256)));
}

size_t NodeKeyHash::operator()(const NodeKey& key) const {
  // splitmix64-style mixing of the version, the depth and the four 64-bit words of the path.
  auto mix = [](uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
  };
  uint64_t h = mix(key.version ^ (uint64_t{key.depth} << 48));
  for (size_t i = 0; i < 4; ++i) {
    uint64_t word = 0;
    std::memcpy(&word, key.path.data() + 8 * i, sizeof word);
    h = mix(h ^ word);
  }
  return static_cast<size_t>(h);
}

}  // namespace imet::ledger::smt
