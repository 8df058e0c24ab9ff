#include "network.h"

#include <algorithm>
#include <cstring>

#include "crypto/hash.h"

namespace imet::sim {

void Network::link(uint32_t a, uint32_t b) {
  if (a == b) return;
  auto& pa = peers_[a];
  if (std::find(pa.begin(), pa.end(), b) != pa.end()) return;
  pa.push_back(b);
  peers_[b].push_back(a);
  ++links_;
}

void Network::build(Rng& rng, const std::vector<bool>& honest, bool mesh, uint32_t chords) {
  const auto n = static_cast<uint32_t>(honest.size());
  mesh_ = mesh || n <= 3;
  links_ = 0;
  peers_.assign(n, {});
  group_.assign(n, 0);
  seen_.assign(n, {});
  if (mesh_) {
    for (uint32_t a = 0; a < n; ++a) {
      for (uint32_t b = a + 1; b < n; ++b)
        link(a, b);
    }
  } else {
    // A ring over a random order of the honest nodes, the others hung on them, random chords.
    std::vector<uint32_t> order;
    for (uint32_t i = 0; i < n; ++i) {
      if (honest[i]) order.push_back(i);
    }
    for (size_t i = order.size(); i > 1; --i)
      std::swap(order[i - 1], order[rng.below(i)]);
    for (size_t i = 0; i < order.size() && order.size() > 1; ++i)
      link(order[i], order[(i + 1) % order.size()]);
    for (uint32_t a = 0; a < n; ++a) {
      if (honest[a] || order.empty()) continue;
      for (int k = 0; k < 2; ++k)
        link(a, order[rng.below(order.size())]);
    }
    for (uint32_t a = 0; a < n; ++a) {
      for (uint32_t c = 0; c < chords; ++c)
        link(a, static_cast<uint32_t>(rng.below(n)));
    }
  }
  for (auto& p : peers_)
    std::sort(p.begin(), p.end());
}

void Network::partition(Rng& rng) {
  for (auto& g : group_)
    g = static_cast<uint8_t>(rng.below(2));
}

void Network::heal() {
  std::fill(group_.begin(), group_.end(), 0);
}

uint64_t Network::key(util::ByteSpan bytes) {
  const crypto::Hash256 h = crypto::blake2b_256(bytes);
  uint64_t k = 0;
  std::memcpy(&k, h.data(), sizeof(k));
  return k;
}

const uint64_t* Network::Table::find(uint64_t k) const {
  size_t i = static_cast<size_t>(k >> 2) & (kSeenSlots - 1);
  while (slots[i] != 0 && (slots[i] & ~uint64_t{3}) != k)
    i = (i + 1) & (kSeenSlots - 1);
  return &slots[i];
}

uint64_t* Network::slot_of(uint32_t node, uint64_t key) {
  const uint64_t k = key & ~uint64_t{3};
  Seen& s = seen_[node];
  if (s.cur.slots.empty()) s.cur.slots.assign(kSeenSlots, 0);
  auto* at = const_cast<uint64_t*>(s.cur.find(k));
  if (*at != 0) return at;
  const uint64_t flags = s.old.contains(k) ? *s.old.find(k) & 3 : 0;
  if (s.cur.used >= kSeenGeneration) {  // start a new generation; the oldest is forgotten
    s.old = std::move(s.cur);
    s.cur = Table{};
    s.cur.slots.assign(kSeenSlots, 0);
    at = const_cast<uint64_t*>(s.cur.find(k));
  }
  ++s.cur.used;
  *at = k | flags;
  return at;
}

bool Network::on_received(uint32_t node, uint64_t key) {
  uint64_t* f = slot_of(node, key);
  if ((*f & 3) != 0) return false;
  *f |= 1;
  return true;
}

bool Network::on_broadcast(uint32_t node, uint64_t key) {
  uint64_t* f = slot_of(node, key);
  if (*f & 2) return false;
  *f |= 2;
  return true;
}

bool Network::has(uint32_t node, uint64_t key) const {
  const uint64_t k = key & ~uint64_t{3};
  return seen_[node].cur.contains(k) || seen_[node].old.contains(k);
}

void Network::prefetch(const std::vector<uint32_t>& nodes, uint64_t key) const {
  const size_t i = static_cast<size_t>(key >> 2) & (kSeenSlots - 1);
  for (uint32_t n : nodes) {
    const Seen& s = seen_[n];
    if (!s.cur.slots.empty()) __builtin_prefetch(&s.cur.slots[i]);
    if (!s.old.slots.empty()) __builtin_prefetch(&s.old.slots[i]);
  }
}

void Network::forget_all(uint32_t node) {
  seen_[node] = Seen{};
}

}  // namespace imet::sim
