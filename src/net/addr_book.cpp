// Address book (addr_book.h).
#include "net/addr_book.h"

#include <algorithm>

namespace imet::net {

bool AddrBook::add(const Endpoint& e, AddrSource source) {
  auto it = entries_.find(e);
  if (it != entries_.end()) {
    if (source <= it->second.source) return false;
    if (it->second.source == AddrSource::kPeer) --peer_entries_;
    it->second.source = source;
    ++version_;
    return true;
  }
  if (source == AddrSource::kPeer) {
    if (peer_entries_ >= capacity_ && !evict_one_peer_entry()) return false;
    ++peer_entries_;
  }
  entries_.emplace(e, Entry{source, 0, 0, false, false});
  ++version_;
  return true;
}

bool AddrBook::evict_one_peer_entry() {
  auto worst = entries_.end();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    const Entry& en = it->second;
    if (en.source != AddrSource::kPeer || en.in_use) continue;
    if (worst == entries_.end() || en.failures > worst->second.failures) worst = it;
  }
  // Keep addresses that have never failed: learning more should not push out good ones.
  if (worst == entries_.end() || worst->second.failures == 0) return false;
  entries_.erase(worst);
  --peer_entries_;
  return true;
}

std::vector<Endpoint> AddrBook::due(int64_t now_ms, size_t n, std::mt19937_64& rng) const {
  std::vector<std::pair<int, Endpoint>> candidates;
  for (const auto& [e, en] : entries_) {
    if (en.self || en.in_use || en.next_try_ms > now_ms) continue;
    candidates.emplace_back(-static_cast<int>(en.source), e);
  }
  std::shuffle(candidates.begin(), candidates.end(), rng);
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Endpoint> out;
  for (size_t i = 0; i < candidates.size() && out.size() < n; ++i)
    out.push_back(candidates[i].second);
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
  std::vector<Endpoint> all;
  for (const auto& [e, en] : entries_) {
    if (!en.self) all.push_back(e);
  }
  std::shuffle(all.begin(), all.end(), rng);
  if (all.size() > n) all.resize(n);
  return all;
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
