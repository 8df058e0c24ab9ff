// Test support for the state tree: an independent reference implementation of the root, random
// keys and batches, and a traversal that lists the nodes of a version.
// The reference (reference_root) evaluates the naive definition bottom-up over all 256 levels of
// the full binary tree with the compaction rule (a subtree holding one pair hashes to its leaf
// hash; zero pairs to 32 zero bytes; more to BLAKE2b(0x03 || left || right)), building every hash
// preimage byte by byte. It shares no code with the implementation, which works top-down.
// Thread-safety: test code, single-threaded. Invariants: none beyond the tests' own.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "crypto/hash.h"
#include "ledger/smt/node_store.h"
#include "ledger/smt/proof.h"
#include "ledger/smt/tree.h"
#include "util/bytes.h"

namespace imet::ledger::smt::testing {

using Model = std::map<Key, ValueHash>;

// ---- the reference ----

inline Hash256 ref_hash(uint8_t domain, const Hash256& a, const Hash256& b) {
  util::Bytes preimage;
  preimage.push_back(domain);
  preimage.insert(preimage.end(), a.begin(), a.end());
  preimage.insert(preimage.end(), b.begin(), b.end());
  return crypto::blake2b_256(preimage);
}
inline bool ref_bit(const Key& k, size_t i) {
  return (k[i / 8] & (0x80 >> (i % 8))) != 0;
}
inline Key ref_clear_bit(Key k, size_t i) {
  k[i / 8] = static_cast<uint8_t>(k[i / 8] & ~(0x80 >> (i % 8)));
  return k;
}

// Root of the tree holding exactly the pairs of `model`, computed level by level from depth 256
// (one node per pair, at its full key) up to depth 0.
inline Hash256 reference_root(const Model& model) {
  struct Entry {
    Key prefix;     // the node's position: the key bits above the current depth
    Hash256 hash;   // the subtree's hash
    bool multiple;  // the subtree holds two or more pairs
  };
  std::vector<Entry> level;
  for (const auto& [key, value] : model)
    level.push_back({key, ref_hash(0x02, key, value), false});
  for (size_t depth = 256; depth > 0; --depth) {
    const size_t bit = depth - 1;  // the bit that distinguishes siblings at this depth
    size_t out = 0;                // the parents overwrite the level in place
    for (size_t i = 0; i < level.size(); ++i, ++out) {
      const Key parent = ref_clear_bit(level[i].prefix, bit);
      if (i + 1 < level.size() && ref_clear_bit(level[i + 1].prefix, bit) == parent) {
        level[out] = {parent, ref_hash(0x03, level[i].hash, level[i + 1].hash), true};
        ++i;
      } else if (!level[i].multiple) {
        level[out] = {parent, level[i].hash, false};  // one pair below: the leaf hash moves up
      } else if (ref_bit(level[i].prefix, bit)) {
        level[out] = {parent, ref_hash(0x03, Hash256{}, level[i].hash), true};
      } else {
        level[out] = {parent, ref_hash(0x03, level[i].hash, Hash256{}), true};
      }
    }
    level.resize(out);
  }
  return level.empty() ? Hash256{} : level[0].hash;
}

// ---- random data ----

inline Hash256 random_hash(std::mt19937_64& rng) {
  Hash256 h;
  for (auto& b : h)
    b = static_cast<uint8_t>(rng());
  return h;
}
// A key near `base`: equal to it except for a few random bits at or after bit `from`.
inline Key near_key(const Key& base, size_t from, std::mt19937_64& rng) {
  Key k = base;
  std::uniform_int_distribution<size_t> pos(from, 255);
  const size_t flips = 1 + rng() % 3;
  for (size_t i = 0; i < flips; ++i) {
    const size_t p = pos(rng);
    k[p / 8] = static_cast<uint8_t>(k[p / 8] ^ (0x80 >> (p % 8)));
  }
  return k;
}
// A pool of keys mixing uniformly random keys and clusters with long shared prefixes (down to
// keys differing only in the last bit), so deep chains of internal nodes get exercised.
inline std::vector<Key> key_pool(std::mt19937_64& rng, size_t n) {
  std::vector<Key> pool;
  while (pool.size() < n) {
    const Key base = random_hash(rng);
    pool.push_back(base);
    const int mode = static_cast<int>(rng() % 4);
    if (mode == 1) pool.push_back(near_key(base, 200, rng));
    if (mode == 2) pool.push_back(near_key(base, 250, rng));
    if (mode == 3) {
      Key last = base;
      last[31] = static_cast<uint8_t>(last[31] ^ 1);
      pool.push_back(last);
    }
  }
  std::sort(pool.begin(), pool.end());
  pool.erase(std::unique(pool.begin(), pool.end()), pool.end());
  std::shuffle(pool.begin(), pool.end(), rng);
  return pool;
}

// A random batch over `pool`: sets (new and existing keys), deletes (present and absent keys);
// applies it to `model`. Returned sorted and unique.
inline std::vector<Update> random_batch(std::mt19937_64& rng, const std::vector<Key>& pool,
                                        Model& model, size_t max_size) {
  std::map<Key, std::optional<ValueHash>> ups;
  const size_t n = rng() % (max_size + 1);
  for (size_t i = 0; i < n; ++i) {
    const Key& k = pool[rng() % pool.size()];
    if (rng() % 3 == 0) {
      ups[k] = std::nullopt;
    } else {
      ups[k] = random_hash(rng);
    }
  }
  std::vector<Update> out;
  for (const auto& [k, v] : ups) {
    out.push_back({k, v});
    if (v) {
      model[k] = *v;
    } else {
      model.erase(k);
    }
  }
  return out;
}

// ---- tree inspection through the NodeReader ----

// Every node key reachable from the root of `version`.
inline std::set<NodeKey> reachable(const NodeReader& reader, Version version) {
  std::set<NodeKey> out;
  std::vector<NodeKey> todo{NodeKey::root(version)};
  while (!todo.empty()) {
    const NodeKey at = todo.back();
    todo.pop_back();
    auto node = reader.get(at);
    EXPECT_TRUE(node.ok() && node->has_value()) << "missing node " << at.to_string();
    if (!node.ok() || !node->has_value()) continue;
    out.insert(at);
    if (const InternalNode* n = (*node)->internal()) {
      if (!n->left.empty()) todo.push_back(at.child(n->left.version, false));
      if (!n->right.empty()) todo.push_back(at.child(n->right.version, true));
    }
  }
  return out;
}

}  // namespace imet::ledger::smt::testing
