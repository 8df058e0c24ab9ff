// BanList: banned peer identities and IP addresses, each with an expiry time (monotonic ms).
// Thread-safety: not safe for concurrent use; Host guards it with a mutex (the accept path and
// the API read it).
// Invariants: an entry is banned at time t iff t < its expiry; expire() only drops entries that
// are no longer banned; banning again extends, never shortens, a ban.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>

#include "net/types.h"

namespace imet::net {

class BanList {
 public:
  void ban_id(const PeerId& id, int64_t until_ms) { extend(ids_[id], until_ms); }
  void ban_ip(const std::string& ip, int64_t until_ms) { extend(ips_[ip], until_ms); }
  bool id_banned(const PeerId& id, int64_t now_ms) const { return banned(ids_, id, now_ms); }
  bool ip_banned(const std::string& ip, int64_t now_ms) const { return banned(ips_, ip, now_ms); }
  void expire(int64_t now_ms) {
    std::erase_if(ids_, [&](const auto& kv) { return kv.second <= now_ms; });
    std::erase_if(ips_, [&](const auto& kv) { return kv.second <= now_ms; });
  }
  size_t size() const { return ids_.size() + ips_.size(); }
  // Every entry with its expiry (expired ones too until expire() drops them).
  const std::map<PeerId, int64_t>& ids() const { return ids_; }
  const std::map<std::string, int64_t>& ips() const { return ips_; }

 private:
  static void extend(int64_t& slot, int64_t until_ms) { slot = std::max(slot, until_ms); }
  template <typename M, typename K>
  static bool banned(const M& m, const K& k, int64_t now_ms) {
    auto it = m.find(k);
    return it != m.end() && now_ms < it->second;
  }

  std::map<PeerId, int64_t> ids_;
  std::map<std::string, int64_t> ips_;
};

}  // namespace imet::net
