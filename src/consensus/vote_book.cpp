#include "consensus/vote_book.h"

#include <algorithm>

namespace imet::consensus {

namespace {

template <typename T>
T& at_id(std::vector<T>& v, uint32_t id) {
  if (v.size() <= id) v.resize(id + 1);
  return v[id];
}

bool flag(const std::vector<uint8_t>& v, uint32_t id) {
  return id < v.size() && v[id] != 0;
}

}  // namespace

std::optional<uint32_t> VoteBook::id_of(const ledger::PublicKey& voter) const {
  auto it = ids_.find(voter);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

uint32_t VoteBook::intern(const ledger::PublicKey& voter) {
  return ids_.try_emplace(voter, static_cast<uint32_t>(ids_.size())).first->second;
}

VoteBook::Added VoteBook::add(const ledger::WitnessVote& vote, bool relevant) {
  const uint32_t id = intern(vote.voter);
  Tally& t = tallies_[{vote.attempt, vote.type}];
  auto [hit, fresh_hash] = t.by_hash.try_emplace(vote.block_hash);
  HashTally& ht = hit->second;
  if (flag(ht.stored, id)) return {AddResult::kDuplicate, std::nullopt};
  FirstRef& first = at_id(t.first, id);
  uint32_t& hashes = at_id(t.hashes_of, id);
  Added out;
  if (first.tally != nullptr) {
    out = {AddResult::kEquivocation, ledger::make_evidence(first.tally->votes[first.index], vote)};
    if (hashes >= kMaxHashesPerVoter && !relevant) {
      if (fresh_hash) t.by_hash.erase(hit);
      return out;
    }
  } else {
    first = {&ht, static_cast<uint32_t>(ht.votes.size())};
    ++t.voters;
  }
  ht.votes.push_back(vote);
  at_id(ht.stored, id) = 1;
  ++hashes;
  AttemptVoters& av = voters_[vote.attempt];
  if (!flag(av.seen, id)) {
    at_id(av.seen, id) = 1;
    ++av.count;
  }
  ++size_;
  return out;
}

void VoteBook::clear() {
  ids_.clear();
  tallies_.clear();
  voters_.clear();
  size_ = 0;
}

const VoteBook::Tally* VoteBook::tally(uint32_t attempt, ledger::VoteType type) const {
  auto it = tallies_.find({attempt, type});
  return it == tallies_.end() ? nullptr : &it->second;
}

uint32_t VoteBook::count(uint32_t attempt, ledger::VoteType type, const ledger::Hash& hash) const {
  const Tally* t = tally(attempt, type);
  if (t == nullptr) return 0;
  auto it = t->by_hash.find(hash);
  return it == t->by_hash.end() ? 0 : static_cast<uint32_t>(it->second.votes.size());
}

uint32_t VoteBook::total(uint32_t attempt, ledger::VoteType type) const {
  const Tally* t = tally(attempt, type);
  return t == nullptr ? 0 : t->voters;
}

uint32_t VoteBook::voters_at(uint32_t attempt) const {
  auto it = voters_.find(attempt);
  return it == voters_.end() ? 0 : it->second.count;
}

bool VoteBook::has(uint32_t attempt, ledger::VoteType type, const ledger::PublicKey& voter,
                   const ledger::Hash& hash) const {
  const Tally* t = tally(attempt, type);
  if (t == nullptr) return false;
  auto it = t->by_hash.find(hash);
  if (it == t->by_hash.end()) return false;
  const std::optional<uint32_t> id = id_of(voter);
  return id && flag(it->second.stored, *id);
}

std::vector<std::pair<uint32_t, ledger::Hash>> VoteBook::commit_quorums(uint32_t quorum) const {
  std::vector<std::pair<uint32_t, ledger::Hash>> out;
  for (const auto& [key, t] : tallies_) {
    if (key.second != ledger::VoteType::kCommit) continue;
    for (const auto& [hash, ht] : t.by_hash) {
      if (ht.votes.size() >= quorum && hash != ledger::Hash{}) out.emplace_back(key.first, hash);
    }
  }
  return out;
}

std::vector<ledger::CommitSig> VoteBook::commits_for(uint32_t attempt,
                                                     const ledger::Hash& hash) const {
  std::vector<ledger::CommitSig> out;
  for (const ledger::WitnessVote& v : votes_for(attempt, ledger::VoteType::kCommit, hash)) {
    out.push_back({v.voter, v.signature});
  }
  return out;
}

std::vector<ledger::WitnessVote> VoteBook::votes_for(uint32_t attempt, ledger::VoteType type,
                                                     const ledger::Hash& hash) const {
  std::vector<ledger::WitnessVote> out;
  const Tally* t = tally(attempt, type);
  if (t == nullptr) return out;
  auto it = t->by_hash.find(hash);
  if (it == t->by_hash.end()) return out;
  out = it->second.votes;
  std::sort(out.begin(), out.end(), [](const ledger::WitnessVote& a, const ledger::WitnessVote& b) {
    return a.voter < b.voter;
  });
  return out;
}

std::optional<uint32_t> VoteBook::highest_attempt() const {
  if (voters_.empty()) return std::nullopt;
  return voters_.rbegin()->first;
}

}  // namespace imet::consensus
