#include "consensus/vote_book.h"

namespace imet::consensus {

VoteBook::Added VoteBook::add(const ledger::WitnessVote& vote) {
  Tally& t = tallies_[{vote.attempt, vote.type}];
  auto [it, inserted] = t.by_voter.try_emplace(vote.voter, vote);
  if (!inserted) {
    if (it->second.block_hash == vote.block_hash) return {AddResult::kDuplicate, std::nullopt};
    return {AddResult::kEquivocation, ledger::make_evidence(it->second, vote)};
  }
  ++t.count[vote.block_hash];
  voters_[vote.attempt].insert(vote.voter);
  ++size_;
  return {AddResult::kAdded, std::nullopt};
}

void VoteBook::clear() {
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
  auto it = t->count.find(hash);
  return it == t->count.end() ? 0 : it->second;
}

uint32_t VoteBook::total(uint32_t attempt, ledger::VoteType type) const {
  const Tally* t = tally(attempt, type);
  return t == nullptr ? 0 : static_cast<uint32_t>(t->by_voter.size());
}

uint32_t VoteBook::voters_at(uint32_t attempt) const {
  auto it = voters_.find(attempt);
  return it == voters_.end() ? 0 : static_cast<uint32_t>(it->second.size());
}

const ledger::WitnessVote* VoteBook::find(uint32_t attempt, ledger::VoteType type,
                                          const ledger::PublicKey& voter) const {
  const Tally* t = tally(attempt, type);
  if (t == nullptr) return nullptr;
  auto it = t->by_voter.find(voter);
  return it == t->by_voter.end() ? nullptr : &it->second;
}

std::vector<std::pair<uint32_t, ledger::Hash>> VoteBook::commit_quorums(uint32_t quorum) const {
  std::vector<std::pair<uint32_t, ledger::Hash>> out;
  for (const auto& [key, t] : tallies_) {
    if (key.second != ledger::VoteType::kCommit) continue;
    for (const auto& [hash, n] : t.count) {
      if (n >= quorum && hash != ledger::Hash{}) out.emplace_back(key.first, hash);
    }
  }
  return out;
}

std::vector<ledger::CommitSig> VoteBook::commits_for(uint32_t attempt,
                                                     const ledger::Hash& hash) const {
  std::vector<ledger::CommitSig> out;
  const Tally* t = tally(attempt, ledger::VoteType::kCommit);
  if (t == nullptr) return out;
  for (const auto& [voter, v] : t->by_voter) {
    if (v.block_hash == hash) out.push_back({voter, v.signature});
  }
  return out;
}

std::optional<uint32_t> VoteBook::highest_attempt() const {
  if (voters_.empty()) return std::nullopt;
  return voters_.rbegin()->first;
}

}  // namespace imet::consensus
