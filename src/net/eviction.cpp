// Inbound eviction choice (eviction.h).
#include "net/eviction.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>

namespace imet::net {

namespace {

using Candidates = std::vector<EvictionCandidate>;

// Moves the first `n` candidates by `better` (those to protect) out of `c`.
template <typename Better>
void protect_best(Candidates& c, size_t n, Better better) {
  n = std::min(n, c.size());
  std::sort(c.begin(), c.end(), [&](const EvictionCandidate& a, const EvictionCandidate& b) {
    if (better(a, b)) return true;
    if (better(b, a)) return false;
    return a.id < b.id;
  });
  c.erase(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(n));
}

// Rule 1: the longest-connected peer of each of the n highest-ranked netgroups.
void protect_netgroups(Candidates& c, size_t n) {
  std::map<std::string, const EvictionCandidate*> oldest;  // netgroup -> its representative
  for (const auto& x : c) {
    auto [it, fresh] = oldest.emplace(x.netgroup, &x);
    const EvictionCandidate& o = *it->second;
    if (!fresh && std::tie(x.connected_ms, x.id) < std::tie(o.connected_ms, o.id)) it->second = &x;
  }
  std::vector<const EvictionCandidate*> reps;
  for (const auto& [group, rep] : oldest)
    reps.push_back(rep);
  std::sort(reps.begin(), reps.end(), [](const EvictionCandidate* a, const EvictionCandidate* b) {
    return std::tie(b->netgroup_rank, a->netgroup) < std::tie(a->netgroup_rank, b->netgroup);
  });
  std::vector<uint64_t> keep;
  for (size_t i = 0; i < reps.size() && i < n; ++i)
    keep.push_back(reps[i]->id);
  std::erase_if(c, [&](const EvictionCandidate& x) {
    return std::find(keep.begin(), keep.end(), x.id) != keep.end();
  });
}

std::string score_text(double score) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", score);
  return buf;
}

}  // namespace

std::optional<Eviction> select_eviction(Candidates candidates, const EvictionRules& rules) {
  Candidates unused;  // never protected
  Candidates in_use;
  for (auto& x : candidates)
    (x.in_use ? in_use : unused).push_back(std::move(x));

  protect_netgroups(in_use, rules.protect_netgroups);
  {
    // Rule 2: lowest measured round trip (peers without one are not protected by it).
    Candidates timed, untimed;
    for (auto& x : in_use)
      (x.min_rtt_ms >= 0 ? timed : untimed).push_back(std::move(x));
    protect_best(timed, rules.protect_fastest, [](const auto& a, const auto& b) {
      return std::tie(a.min_rtt_ms, a.connected_ms) < std::tie(b.min_rtt_ms, b.connected_ms);
    });
    in_use = std::move(untimed);
    in_use.insert(in_use.end(), timed.begin(), timed.end());
  }
  {
    // Rule 3: most recently useful (peers that never were are not protected by it).
    Candidates useful, idle;
    for (auto& x : in_use)
      (x.last_useful_ms > 0 ? useful : idle).push_back(std::move(x));
    protect_best(useful, rules.protect_useful,
                 [](const auto& a, const auto& b) { return a.last_useful_ms > b.last_useful_ms; });
    in_use = std::move(idle);
    in_use.insert(in_use.end(), useful.begin(), useful.end());
  }
  // Rule 4: half of the rest, the longest connected.
  protect_best(in_use, in_use.size() / 2,
               [](const auto& a, const auto& b) { return a.connected_ms < b.connected_ms; });

  Candidates left = std::move(unused);
  left.insert(left.end(), in_use.begin(), in_use.end());
  if (left.empty()) return std::nullopt;

  // The netgroup with the most connections left; a tie goes to the one with the newest.
  struct Group {
    size_t count = 0;
    int64_t newest_ms = INT64_MIN;
    uint64_t newest_id = 0;
  };
  std::map<std::string, Group> groups;
  for (const auto& x : left) {
    Group& g = groups[x.netgroup];
    ++g.count;
    if (std::tie(x.connected_ms, x.id) > std::tie(g.newest_ms, g.newest_id)) {
      g.newest_ms = x.connected_ms;
      g.newest_id = x.id;
    }
  }
  auto chosen = groups.begin();
  for (auto it = groups.begin(); it != groups.end(); ++it) {
    const Group &g = it->second, &c = chosen->second;
    if (std::tie(g.count, g.newest_ms, g.newest_id) > std::tie(c.count, c.newest_ms, c.newest_id))
      chosen = it;
  }
  const std::string& group = chosen->first;

  // Within it: the longest-running handshake or unused duplicate, else the worst score, else the
  // newest.
  const EvictionCandidate* victim = nullptr;
  auto worse = [](const EvictionCandidate& a, const EvictionCandidate& b) {
    if (a.in_use != b.in_use) return !a.in_use;
    if (!a.in_use) return std::tie(a.connected_ms, a.id) < std::tie(b.connected_ms, b.id);
    if (a.score != b.score) return a.score > b.score;
    return std::tie(a.connected_ms, a.id) > std::tie(b.connected_ms, b.id);
  };
  for (const auto& x : left) {
    if (x.netgroup == group && (victim == nullptr || worse(x, *victim))) victim = &x;
  }
  std::string reason = "netgroup " + group + " has the most unprotected inbound connections (" +
                       std::to_string(chosen->second.count) + " of " + std::to_string(left.size()) +
                       "); ";
  if (!victim->in_use) {
    reason += "this one is not in use (handshake unfinished or duplicate)";
  } else if (victim->score > 0) {
    reason += "this peer has its worst misbehaviour score (" + score_text(victim->score) + ")";
  } else {
    reason += "this peer is its newest";
  }
  return Eviction{victim->id, group, std::move(reason)};
}

}  // namespace imet::net
