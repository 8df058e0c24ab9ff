// Address book (addr_book.h).
#include "net/addr_book.h"

#include <algorithm>

namespace imet::net {

void AddrBook::count_peer_entry(const Entry& en, int delta) {
  if (en.source != AddrSource::kPeer) return;
  peer_entries_ = delta > 0 ? peer_entries_ + 1 : peer_entries_ - 1;
  const auto count = [delta](std::map<std::string, size_t>& counts, const std::string& key) {
    auto it = counts.try_emplace(key, 0).first;
    it->second = delta > 0 ? it->second + 1 : it->second - 1;
    if (it->second == 0) counts.erase(it);
  };
  if (en.group.limited) count(peer_entries_per_group_, en.group.key);
  if (!en.from.empty()) count(peer_entries_per_source_, en.from);
}

bool AddrBook::add(const Endpoint& e, AddrSource source, const NetGroup& from) {
  auto it = entries_.find(e);
  if (it != entries_.end()) {
    if (source <= it->second.source) return false;
    count_peer_entry(it->second, -1);
    it->second.source = source;
    ++version_;
    return true;
  }
  Entry en;
  en.source = source;
  en.group = group_of(e);
  if (source == AddrSource::kPeer) {
    if (from.limited) {
      // One source netgroup cannot fill the book: beyond its share, what it tells is ignored.
      auto f = peer_entries_per_source_.find(from.key);
      if (f != peer_entries_per_source_.end() && f->second >= source_capacity_) return false;
      en.from = from.key;
    }
    if (en.group.limited) {
      auto g = peer_entries_per_group_.find(en.group.key);
      if (g != peer_entries_per_group_.end() && g->second >= group_capacity_ &&
          !evict_one_peer_entry(&en.group.key)) {
        return false;
      }
    }
    if (peer_entries_ >= capacity_ && !evict_one_peer_entry(nullptr)) return false;
  }
  count_peer_entry(en, +1);
  entries_.emplace(e, std::move(en));
  ++version_;
  return true;
}

bool AddrBook::evict_one_peer_entry(const std::string* group) {
  auto worst = entries_.end();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    const Entry& en = it->second;
    if (en.source != AddrSource::kPeer || en.in_use || en.tried) continue;
    if (group != nullptr && en.group.key != *group) continue;
    if (worst == entries_.end() || en.failures > worst->second.failures) worst = it;
  }
  // Keep addresses that have never failed: learning more should not push out good ones.
  if (worst == entries_.end() || worst->second.failures == 0) return false;
  count_peer_entry(worst->second, -1);
  entries_.erase(worst);
  return true;
}

std::vector<Endpoint> AddrBook::due(int64_t now_ms, size_t n, std::mt19937_64& rng,
                                    const std::set<std::string>& groups_in_use) const {
  // Due entries by pool (node, tried peer, new peer), each by netgroup.
  enum Pool : size_t { kNodePool = 0, kTriedPool = 1, kNewPool = 2 };
  std::map<std::string, std::vector<Endpoint>> by_group[3];
  std::vector<Endpoint> seeds;
  for (const auto& [e, en] : entries_) {
    if (en.self || en.in_use || en.next_try_ms > now_ms) continue;
    if (en.source == AddrSource::kSeed) {
      seeds.push_back(e);
    } else {
      const Pool pool = en.source == AddrSource::kNode ? kNodePool
                        : en.tried                     ? kTriedPool
                                                       : kNewPool;
      by_group[pool][en.group.key].push_back(e);
    }
  }
  std::vector<Endpoint> out;
  std::set<std::string> used = groups_in_use;
  // Seeds are always dialled; their netgroups count as used.
  std::shuffle(seeds.begin(), seeds.end(), rng);
  for (size_t i = 0; i < seeds.size() && out.size() < n; ++i) {
    out.push_back(seeds[i]);
    if (const NetGroup g = group_of(seeds[i]); g.limited) used.insert(g.key);
  }
  // One random address of a random netgroup of `pool` not in `used`; false if there is none.
  const auto pick = [&](Pool pool) {
    auto& groups = by_group[pool];
    std::vector<std::string> keys;
    for (const auto& [key, endpoints] : groups) {
      if (!endpoints.empty() && (!used.contains(key) || !group_of(endpoints.front()).limited)) {
        keys.push_back(key);
      }
    }
    if (keys.empty()) return false;
    const std::string& key = keys[std::uniform_int_distribution<size_t>(0, keys.size() - 1)(rng)];
    std::vector<Endpoint>& addrs = groups[key];
    const size_t ai = std::uniform_int_distribution<size_t>(0, addrs.size() - 1)(rng);
    out.push_back(addrs[ai]);
    addrs[ai] = addrs.back();
    addrs.pop_back();
    if (group_of(out.back()).limited) used.insert(key);  // one outbound peer per limited netgroup
    return true;
  };
  while (out.size() < n && pick(kNodePool)) {
  }
  // Peer addresses: tried and new in turn, so that a flood of gossiped addresses gets at most
  // every other dial.
  bool tried_turn = std::uniform_int_distribution<int>(0, 1)(rng) == 1;
  for (bool tried_left = true, new_left = true; out.size() < n && (tried_left || new_left);
       tried_turn = !tried_turn) {
    bool& left = tried_turn ? tried_left : new_left;
    if (left) left = pick(tried_turn ? kTriedPool : kNewPool);
  }
  return out;
}

void AddrBook::attempt(const Endpoint& e) {
  auto it = entries_.find(e);
  if (it != entries_.end()) it->second.in_use = true;
}

void AddrBook::failed(const Endpoint& e, int64_t now_ms) {
  auto it = entries_.find(e);
  if (it == entries_.end()) return;
  Entry& en = it->second;
  en.in_use = false;
  ++en.failures;
  ++version_;
  int64_t delay = backoff_min_ms_;
  for (int i = 1; i < en.failures && delay < backoff_max_ms_; ++i)
    delay *= 2;
  en.next_try_ms = now_ms + std::min(delay, backoff_max_ms_);
}

void AddrBook::skipped(const Endpoint& e, int64_t now_ms) {
  auto it = entries_.find(e);
  if (it == entries_.end()) return;
  it->second.in_use = false;
  it->second.next_try_ms = now_ms + backoff_min_ms_;
}

void AddrBook::connected(const Endpoint& e) {
  auto it = entries_.find(e);
  if (it == entries_.end()) return;
  it->second.in_use = true;
  if (!it->second.tried) ++version_;
  it->second.tried = true;
}

void AddrBook::disconnected(const Endpoint& e, int64_t now_ms, bool stable) {
  auto it = entries_.find(e);
  if (it == entries_.end()) return;
  if (!stable) {
    failed(e, now_ms);
    return;
  }
  it->second.in_use = false;
  if (it->second.failures != 0) ++version_;
  it->second.failures = 0;
  it->second.next_try_ms = now_ms + backoff_min_ms_;
}

void AddrBook::mark_self(const Endpoint& e) {
  auto it = entries_.find(e);
  if (it == entries_.end()) return;
  it->second.self = true;
  it->second.in_use = false;
  ++version_;
}

void AddrBook::set_in_use(const Endpoint& e, bool in_use) {
  auto it = entries_.find(e);
  if (it != entries_.end()) it->second.in_use = in_use;
}

std::vector<Endpoint> AddrBook::sample(size_t n, std::mt19937_64& rng) const {
  std::map<std::string, std::vector<Endpoint>> by_group;
  for (const auto& [e, en] : entries_) {
    if (!en.self) by_group[en.group.key].push_back(e);
  }
  std::vector<std::vector<Endpoint>*> groups;
  for (auto& [key, endpoints] : by_group) {
    std::shuffle(endpoints.begin(), endpoints.end(), rng);
    groups.push_back(&endpoints);
  }
  std::shuffle(groups.begin(), groups.end(), rng);
  // One address of each netgroup in turn.
  std::vector<Endpoint> out;
  for (size_t round = 0; out.size() < n; ++round) {
    bool any = false;
    for (size_t g = 0; g < groups.size() && out.size() < n; ++g) {
      if (round >= groups[g]->size()) continue;
      out.push_back((*groups[g])[round]);
      any = true;
    }
    if (!any) break;
  }
  return out;
}

std::vector<AddrBook::Saved> AddrBook::saved() const {
  std::vector<Saved> out;
  for (const auto& [e, en] : entries_) {
    if (!en.self && en.source != AddrSource::kSeed) {
      out.push_back({e, en.source, en.failures, en.tried});
    }
  }
  return out;
}

bool AddrBook::restore(const Saved& saved) {
  if (saved.source == AddrSource::kSeed || !add(saved.endpoint, saved.source)) return false;
  Entry& en = entries_[saved.endpoint];
  en.failures = std::max(0, saved.failures);
  en.tried = saved.tried;
  return true;
}

bool AddrBook::is_self(const Endpoint& e) const {
  auto it = entries_.find(e);
  return it != entries_.end() && it->second.self;
}

bool AddrBook::tried(const Endpoint& e) const {
  auto it = entries_.find(e);
  return it != entries_.end() && it->second.tried;
}

int AddrBook::failures(const Endpoint& e) const {
  auto it = entries_.find(e);
  return it == entries_.end() ? 0 : it->second.failures;
}

}  // namespace imet::net
