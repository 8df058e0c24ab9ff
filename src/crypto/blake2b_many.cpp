// BLAKE2b (RFC 7693) over 4 or 8 messages at once with GCC/Clang vector extensions: every
// state word is a vector holding that word of each lane. One generic kernel, compiled three times
// (AVX-512 with 8 lanes, which has a 64-bit rotate instruction; AVX2 and the baseline ISA with 4)
// and picked at run time. Measured on the project VM (AVX-512): 54 ns per one-block hash and 98 ns
// per two-block hash, against 209 / 358 ns one at a time through libsodium.
#include "crypto/blake2b_many.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>

// The helpers pass vectors by value; they are always inlined into the three kernels, each built
// for its own ISA, so the compilers' note that such an ABI depends on AVX does not apply (GCC 12
// and Clang 14 both have -Wpsabi).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace imet::crypto {

namespace {

using V4 = uint64_t __attribute__((vector_size(32)));
using V8 = uint64_t __attribute__((vector_size(64)));
constexpr size_t kBlock = 128;

constexpr uint64_t kIv[8] = {0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL,
                             0xa54ff53a5f1d36f1ULL, 0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL,
                             0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};

constexpr uint8_t kSigma[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
};

template <typename V>
__attribute__((always_inline)) inline V splat(uint64_t x) {
  V v;
  for (size_t l = 0; l < sizeof(V) / 8; ++l)
    v[l] = x;
  return v;
}

template <int N, typename V>
__attribute__((always_inline)) inline V rotr(V x) {
  return (x >> N) | (x << (64 - N));
}

template <typename V>
__attribute__((always_inline)) inline void g(V& a, V& b, V& c, V& d, V x, V y) {
  a = a + b + x;
  d = rotr<32, V>(d ^ a);
  c = c + d;
  b = rotr<24, V>(b ^ c);
  a = a + b + y;
  d = rotr<16, V>(d ^ a);
  c = c + d;
  b = rotr<63, V>(b ^ c);
}

// One compression of every lane: h = F(h, m, t, f) where `active` lanes (all bits set) take the new
// state and the others keep theirs.
template <typename V>
__attribute__((always_inline)) inline void compress(V h[8], const V m[16], V t, V f, V active) {
  V v[16];
  for (int i = 0; i < 8; ++i)
    v[i] = h[i];
  for (int i = 0; i < 4; ++i)
    v[8 + i] = splat<V>(kIv[i]);
  v[12] = splat<V>(kIv[4]) ^ t;
  v[13] = splat<V>(kIv[5]);
  v[14] = splat<V>(kIv[6]) ^ f;
  v[15] = splat<V>(kIv[7]);
#pragma GCC unroll 12
  for (int r = 0; r < 12; ++r) {
    const uint8_t* s = kSigma[r];
    g(v[0], v[4], v[8], v[12], m[s[0]], m[s[1]]);
    g(v[1], v[5], v[9], v[13], m[s[2]], m[s[3]]);
    g(v[2], v[6], v[10], v[14], m[s[4]], m[s[5]]);
    g(v[3], v[7], v[11], v[15], m[s[6]], m[s[7]]);
    g(v[0], v[5], v[10], v[15], m[s[8]], m[s[9]]);
    g(v[1], v[6], v[11], v[12], m[s[10]], m[s[11]]);
    g(v[2], v[7], v[8], v[13], m[s[12]], m[s[13]]);
    g(v[3], v[4], v[9], v[14], m[s[14]], m[s[15]]);
  }
  for (int i = 0; i < 8; ++i)
    h[i] = (h[i] & ~active) | ((h[i] ^ v[i] ^ v[i + 8]) & active);
}

size_t total_bytes(const Blake2bInput& in) {
  return in.data.size() + (in.has_prefix ? 1 : 0);
}

// Bytes [b * 128, b * 128 + 128) of prefix || data into dst, zero-padded.
void fill_block(const Blake2bInput& in, size_t b, uint8_t* dst) {
  const size_t total = total_bytes(in);
  const size_t start = b * kBlock;
  const size_t end = std::min(start + kBlock, total);
  if (end - start < kBlock) std::memset(dst, 0, kBlock);
  size_t o = 0;
  size_t pos = start;
  // memcpy only when there are bytes to copy: an empty input's data() may be null.
  if (in.has_prefix) {
    if (pos == 0) {
      dst[o++] = in.prefix;
      pos = 1;
    }
    if (end > pos) std::memcpy(dst + o, in.data.data() + (pos - 1), end - pos);
  } else if (end > pos) {
    std::memcpy(dst + o, in.data.data() + pos, end - pos);
  }
}

__attribute__((always_inline)) inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

// Hashes n <= (lanes of V) inputs.
template <typename V>
__attribute__((always_inline)) inline void hash_lanes(const Blake2bInput* in, size_t n,
                                                      Hash256* out) {
  constexpr size_t kLanes = sizeof(V) / 8;
  size_t blocks[kLanes] = {};
  size_t max_blocks = 0;
  for (size_t l = 0; l < n; ++l) {
    blocks[l] = std::max<size_t>(1, (total_bytes(in[l]) + kBlock - 1) / kBlock);
    max_blocks = std::max(max_blocks, blocks[l]);
  }
  V h[8];
  for (int i = 0; i < 8; ++i)
    h[i] = splat<V>(kIv[i]);
  h[0] ^= splat<V>(0x01010000ULL ^ 32);  // depth 1, fanout 1, no key, 32-byte digest
  alignas(64) uint8_t buf[kLanes][kBlock];
  for (size_t b = 0; b < max_blocks; ++b) {
    V t = splat<V>(0);
    V f = splat<V>(0);
    V active = splat<V>(0);
    for (size_t l = 0; l < kLanes; ++l) {
      if (l < n && b < blocks[l]) {
        fill_block(in[l], b, buf[l]);
        t[l] = std::min((b + 1) * kBlock, total_bytes(in[l]));
        f[l] = b + 1 == blocks[l] ? ~uint64_t{0} : 0;
        active[l] = ~uint64_t{0};
      } else {
        std::memset(buf[l], 0, kBlock);
      }
    }
    V m[16];
    for (int i = 0; i < 16; ++i) {
      for (size_t l = 0; l < kLanes; ++l)
        m[i][l] = load64(buf[l] + 8 * i);
    }
    compress(h, m, t, f, active);
  }
  for (size_t l = 0; l < n; ++l) {
    for (int i = 0; i < 4; ++i) {
      uint64_t w = h[i][l];
      if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
      std::memcpy(out[l].data() + 8 * i, &w, 8);
    }
  }
}

// Hashes any number of inputs, kLanes at a time.
template <typename V>
__attribute__((always_inline)) inline void hash_all(const Blake2bInput* in, size_t n,
                                                    Hash256* out) {
  constexpr size_t kLanes = sizeof(V) / 8;
  for (size_t i = 0; i < n; i += kLanes)
    hash_lanes<V>(in + i, std::min(kLanes, n - i), out + i);
}

using Kernel = void (*)(const Blake2bInput*, size_t, Hash256*);

__attribute__((target("avx512f,avx512vl"))) void kernel_avx512(const Blake2bInput* in, size_t n,
                                                               Hash256* out) {
  hash_all<V8>(in, n, out);
}
__attribute__((target("avx2"))) void kernel_avx2(const Blake2bInput* in, size_t n, Hash256* out) {
  hash_all<V4>(in, n, out);
}
void kernel_generic(const Blake2bInput* in, size_t n, Hash256* out) {
  hash_all<V4>(in, n, out);
}

struct Impl {
  Kernel kernel;
  const char* name;
};

const Impl& impl() {
  static const Impl chosen = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) {
      return Impl{kernel_avx512, "avx512"};
    }
    if (__builtin_cpu_supports("avx2")) return Impl{kernel_avx2, "avx2"};
    return Impl{kernel_generic, "generic"};
  }();
  return chosen;
}

}  // namespace

void blake2b_256_many(std::span<const Blake2bInput> inputs, std::span<Hash256> out) {
  assert(out.size() == inputs.size());
  impl().kernel(inputs.data(), inputs.size(), out.data());
}

const char* blake2b_many_impl() {
  return impl().name;
}

bool blake2b_256_many_with(std::string_view name, std::span<const Blake2bInput> inputs,
                           std::span<Hash256> out) {
  assert(out.size() == inputs.size());
  __builtin_cpu_init();
  Kernel k = nullptr;
  if (name == "avx512" && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) {
    k = kernel_avx512;
  } else if (name == "avx2" && __builtin_cpu_supports("avx2")) {
    k = kernel_avx2;
  } else if (name == "generic") {
    k = kernel_generic;
  }
  if (k == nullptr) return false;
  k(inputs.data(), inputs.size(), out.data());
  return true;
}

}  // namespace imet::crypto
