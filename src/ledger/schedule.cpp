#include "ledger/schedule.h"

#include <algorithm>

#include "ledger/delegates.h"

namespace imet::ledger {

namespace keys {
util::Bytes schedule() {
  return {'w'};
}
}  // namespace keys

bool RoundSchedule::is_witness(const Address& a) const {
  return std::find(witnesses.begin(), witnesses.end(), a) != witnesses.end();
}

util::Result<RoundSchedule> current_schedule(const StateReader& state) {
  IMET_ASSIGN_OR_RETURN(std::optional<RoundSchedule> s,
                        get_record<RoundSchedule>(state, keys::schedule()));
  if (!s) return util::corruption("state has no witness schedule record");
  if (s->witnesses.empty()) return util::corruption("the witness schedule is empty");
  return *s;
}

void shuffle_witnesses(std::vector<Address>& witnesses, const Hash& seed, uint64_t round) {
  if (witnesses.size() < 2) return;
  util::Bytes base = util::to_bytes("IMET/shuffle/v1");
  base.push_back(0);
  codec::Writer w(base);
  Hash sd = seed;
  w.fixed(sd);
  w.u64(round);
  const size_t prefix = base.size();
  base.resize(prefix + 8);
  for (size_t i = witnesses.size() - 1; i > 0; --i) {
    for (int b = 0; b < 8; ++b)
      base[prefix + static_cast<size_t>(b)] = static_cast<uint8_t>(uint64_t{i} >> (8 * b));
    Hash r = crypto::blake2b_256(base);
    uint64_t v = 0;
    for (int b = 0; b < 8; ++b)
      v |= uint64_t{r[static_cast<size_t>(b)]} << (8 * b);
    std::swap(witnesses[i], witnesses[v % (i + 1)]);
  }
}

std::vector<Address> elect(std::vector<std::pair<Address, Amount>> candidates, size_t n,
                           const Hash& seed, uint64_t round) {
  std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::vector<Address> out;
  for (size_t i = 0; i < candidates.size() && i < n; ++i)
    out.push_back(candidates[i].first);
  shuffle_witnesses(out, seed, round);
  return out;
}

bool block_full(size_t txs, const ChainParams& p) {
  return uint64_t{txs} * 100 >= uint64_t{p.max_block_txs} * p.dec_full_pct;
}
bool block_busy(size_t txs, const ChainParams& p) {
  return uint64_t{txs} * 100 > uint64_t{p.max_block_txs} * p.dec_idle_pct;
}

DecOutcome dec_next(const RoundSchedule& ending, const ChainParams& p) {
  DecOutcome out;
  out.congested_streak = ending.congested_streak;
  out.idle_streak = ending.idle_streak;
  const bool congested =
      ending.blocks_seen > 0 &&
      uint64_t{ending.full_blocks} * 100 >= uint64_t{ending.blocks_seen} * p.dec_congested_pct;
  const bool idle = ending.busy_blocks == 0;
  if (congested) {
    out.congested_streak++;
    out.idle_streak = 0;
  } else if (idle) {
    out.idle_streak++;
    out.congested_streak = 0;
  } else {
    out.congested_streak = out.idle_streak = 0;
  }
  uint64_t n = ending.size();
  if (out.congested_streak >= p.dec_shrink_rounds) {
    n -= std::min<uint64_t>(n, std::max<uint64_t>(1, n / 4));
    out.congested_streak = 0;
  } else if (out.idle_streak >= p.dec_grow_rounds) {
    n += std::max<uint64_t>(1, n / 8);
    out.idle_streak = 0;
  }
  out.n = static_cast<uint32_t>(std::clamp<uint64_t>(n, p.n_min, p.n_max));
  return out;
}

bool jailed_at(const Delegate& d, uint64_t height, uint64_t round) {
  return d.jailed_height != 0 && d.jailed_height < height && round < d.jailed_until_round;
}

bool eligible_for(const Delegate& d, uint64_t round) {
  return round >= d.jailed_until_round;
}

util::Result<RoundSchedule> next_schedule(const StateReader& state, const ChainTip& tip,
                                          const ChainParams& params) {
  IMET_ASSIGN_OR_RETURN(RoundSchedule cur, current_schedule(state));
  const uint64_t height = tip.height + 1;
  if (height < cur.end_height()) return cur;
  RoundSchedule next;
  next.round = cur.round + 1;
  next.start_height = height;
  next.last_producer = cur.last_producer;
  DecOutcome dec = dec_next(cur, params);
  next.congested_streak = dec.congested_streak;
  next.idle_streak = dec.idle_streak;
  IMET_ASSIGN_OR_RETURN(DelegateList list, delegate_list(state));
  std::vector<std::pair<Address, Amount>> eligible, all;
  for (const Address& a : list.delegates) {
    IMET_ASSIGN_OR_RETURN(std::optional<Delegate> d,
                          get_record<Delegate>(state, keys::delegate(a)));
    if (!d) {
      return util::corruption("delegate list names " + crypto::encode_address(a) +
                              ", which has no delegate record");
    }
    IMET_ASSIGN_OR_RETURN(Amount w, tally_of(state, a));
    all.emplace_back(a, w);
    if (eligible_for(*d, next.round)) eligible.emplace_back(a, w);
  }
  if (eligible.empty()) eligible = std::move(all);
  if (eligible.empty()) {
    for (const Address& a : cur.witnesses)
      eligible.emplace_back(a, 0);
  }
  const size_t n = std::max<size_t>(1, std::min<size_t>(dec.n, eligible.size()));
  next.witnesses = elect(std::move(eligible), n, tip.hash, next.round);
  return next;
}

util::Result<std::vector<const Address*>> unjailed_witnesses(const StateReader& state,
                                                             const RoundSchedule& s,
                                                             uint64_t height) {
  if (s.witnesses.empty()) return util::corruption("the witness schedule is empty");
  if (height < s.start_height || height >= s.end_height()) {
    return util::invalid_argument("height " + std::to_string(height) + " is outside round " +
                                  std::to_string(s.round) + " [" + std::to_string(s.start_height) +
                                  ", " + std::to_string(s.end_height()) + ")");
  }
  std::vector<const Address*> active;
  active.reserve(s.witnesses.size());
  for (const Address& a : s.witnesses) {
    IMET_ASSIGN_OR_RETURN(bool jailed, witness_jailed(state, a, height, s.round));
    if (!jailed) active.push_back(&a);
  }
  return active;
}

util::Result<bool> witness_jailed(const StateReader& state, const Address& a, uint64_t height,
                                  uint64_t round) {
  IMET_ASSIGN_OR_RETURN(std::optional<Delegate> d, get_record<Delegate>(state, keys::delegate(a)));
  return d.has_value() && jailed_at(*d, height, round);
}

bool same_order(const RoundSchedule& a, const RoundSchedule& b) {
  return a.round == b.round && a.start_height == b.start_height && a.witnesses == b.witnesses;
}

Address producer_among(const RoundSchedule& s, std::span<const Address* const> unjailed,
                       uint64_t height, uint32_t attempt) {
  const uint64_t pos = height - s.start_height + attempt;
  if (unjailed.empty()) return s.witnesses[pos % s.witnesses.size()];
  return *unjailed[pos % unjailed.size()];
}

util::Result<Address> producer_of(const StateReader& state, const RoundSchedule& s, uint64_t height,
                                  uint32_t attempt) {
  IMET_ASSIGN_OR_RETURN(std::vector<const Address*> unjailed, unjailed_witnesses(state, s, height));
  return producer_among(s, unjailed, height, attempt);
}

}  // namespace imet::ledger
