#include "consensus/vote_book.h"

namespace imet::consensus {

VoteBook::Added VoteBook::add(const ledger::WitnessVote& vote, bool relevant) {
  Tally& t = tallies_[{vote.attempt, vote.type}];
  auto& voters = t.by_hash[vote.block_hash];
  if (voters.count(vote.voter) > 0) return {AddResult::kDuplicate, std::nullopt};
  auto [first, inserted] = t.first.try_emplace(vote.voter, vote);
  uint32_t& hashes = t.hashes_of[vote.voter];
  Added out;
  if (!inserted) {
    out = {AddResult::kEquivocation, ledger::make_evidence(first->second, vote)};
    if (hashes >= kMaxHashesPerVoter && !relevant) {
      if (voters.empty()) t.by_hash.erase(vote.block_hash);
      return out;
    }
  }
  voters.emplace(vote.voter, vote);
  ++hashes;
  voters_[vote.attempt].insert(vote.voter);
  ++size_;
  return out;
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
  auto it = t->by_hash.find(hash);
  return it == t->by_hash.end() ? 0 : static_cast<uint32_t>(it->second.size());
}

uint32_t VoteBook::total(uint32_t attempt, ledger::VoteType type) const {
  const Tally* t = tally(attempt, type);
  return t == nullptr ? 0 : static_cast<uint32_t>(t->first.size());
}

uint32_t VoteBook::voters_at(uint32_t attempt) const {
  auto it = voters_.find(attempt);
  return it == voters_.end() ? 0 : static_cast<uint32_t>(it->second.size());
}

bool VoteBook::has(uint32_t attempt, ledger::VoteType type, const ledger::PublicKey& voter,
                   const ledger::Hash& hash) const {
  const Tally* t = tally(attempt, type);
  if (t == nullptr) return false;
  auto it = t->by_hash.find(hash);
  return it != t->by_hash.end() && it->second.count(voter) > 0;
}

std::vector<std::pair<uint32_t, ledger::Hash>> VoteBook::commit_quorums(uint32_t quorum) const {
  std::vector<std::pair<uint32_t, ledger::Hash>> out;
  for (const auto& [key, t] : tallies_) {
    if (key.second != ledger::VoteType::kCommit) continue;
    for (const auto& [hash, voters] : t.by_hash) {
      if (voters.size() >= quorum && hash != ledger::Hash{}) out.emplace_back(key.first, hash);
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
  for (const auto& [voter, v] : it->second)
    out.push_back(v);
  return out;
}

std::optional<uint32_t> VoteBook::highest_attempt() const {
  if (voters_.empty()) return std::nullopt;
  return voters_.rbegin()->first;
}

}  // namespace imet::consensus
