// Address book (addr_book.h).
#include "net/addr_book.h"

#include <algorithm>

namespace imet::net {

void AddrBook::count_peer_entry(const Entry& en, int delta) {
  if (en.source != AddrSource::kPeer) return;
  peer_entries_ = delta > 0 ? peer_entries_ + 1 : peer_entries_ - 1;
  if (!en.group.limited) return;
  auto it = peer_entries_per_group_.try_emplace(en.group.key, 0).first;
  it->second = delta > 0 ? it->second + 1 : it->second - 1;
  if (it->second == 0) peer_entries_per_group_.erase(it);
}

bool AddrBook::add(const Endpoint& e, AddrSource source) {
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
    if (en.source != AddrSource::kPeer || en.in_use) continue;
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
  // Due entries by source (seed, node, peer), each by netgroup.
  std::map<std::string, std::vector<Endpoint>> by_group[3];
  std::vector<Endpoint> seeds;
  for (const auto& [e, en] : entries_) {
    if (en.self || en.in_use || en.next_try_ms > now_ms) continue;
    if (en.source == AddrSource::kSeed) {
      seeds.push_back(e);
    } else {
      by_group[static_cast<size_t>(en.source)][en.group.key].push_back(e);
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
  for (const AddrSource source : {AddrSource::kNode, AddrSource::kPeer}) {
    auto& groups = by_group[static_cast<size_t>(source)];
    std::vector<std::string> keys;
    for (const auto& [key, endpoints] : groups) {
      if (!used.contains(key) || !group_of(endpoints.front()).limited) keys.push_back(key);
    }
    while (out.size() < n && !keys.empty()) {
      const size_t gi = std::uniform_int_distribution<size_t>(0, keys.size() - 1)(rng);
      std::vector<Endpoint>& pool = groups[keys[gi]];
      const size_t ai = std::uniform_int_distribution<size_t>(0, pool.size() - 1)(rng);
      out.push_back(pool[ai]);
      pool[ai] = pool.back();
      pool.pop_back();
      if (group_of(out.back()).limited) {  // one outbound peer per limited netgroup
        used.insert(keys[gi]);
        pool.clear();
      }
      if (pool.empty()) {
        keys[gi] = keys.back();
        keys.pop_back();
      }
    }
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
  if (it != entries_.end()) it->second.in_use = true;
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
    if (!en.self && en.source != AddrSource::kSeed) out.push_back({e, en.source, en.failures});
  }
  return out;
}

bool AddrBook::restore(const Saved& saved) {
  if (saved.source == AddrSource::kSeed || !add(saved.endpoint, saved.source)) return false;
  entries_[saved.endpoint].failures = std::max(0, saved.failures);
  return true;
}

bool AddrBook::is_self(const Endpoint& e) const {
  auto it = entries_.find(e);
  return it != entries_.end() && it->second.self;
}

int AddrBook::failures(const Endpoint& e) const {
  auto it = entries_.find(e);
  return it == entries_.end() ? 0 : it->second.failures;
}

}  // namespace imet::net
