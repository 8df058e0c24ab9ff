// Gossip duplicate filter (seen_cache.h).
#include "net/seen_cache.h"

#include <algorithm>

namespace imet::net {

SeenCache::Key SeenCache::key(uint8_t type, util::ByteSpan payload) {
  crypto::Blake2b256 h;
  const uint8_t t[1] = {type};
  h.update(t);
  h.update(payload);
  return h.finish();
}

SeenCache::Entry& SeenCache::insert(const Key& key, bool& inserted) {
  auto [it, fresh] = map_.try_emplace(key);
  inserted = fresh;
  if (fresh) {
    order_.push_back(key);
    if (order_.size() > capacity_) {
      const Key oldest = order_.front();
      order_.pop_front();
      if (oldest != key) {
        map_.erase(oldest);
        it = map_.find(key);  // erase does not invalidate other iterators, but be explicit
      }
    }
  }
  return it->second;
}

bool SeenCache::on_received(const Key& key, const PeerId& from) {
  bool fresh = false;
  Entry& e = insert(key, fresh);
  if (e.holders.size() < kMaxHolders &&
      std::find(e.holders.begin(), e.holders.end(), from) == e.holders.end()) {
    e.holders.push_back(from);
  }
  return fresh;
}

bool SeenCache::on_broadcast(const Key& key, std::vector<PeerId>* holders) {
  bool fresh = false;
  Entry& e = insert(key, fresh);
  if (e.broadcast) return false;
  e.broadcast = true;
  if (holders != nullptr) *holders = e.holders;
  return true;
}

}  // namespace imet::net
