#include "ledger/mempool.h"

#include <algorithm>
#include <queue>

namespace imet::ledger {

namespace {
util::Result<uint64_t> state_nonce(const StateReader& state, const Address& a) {
  IMET_ASSIGN_OR_RETURN(std::optional<Account> acc, get_record<Account>(state, keys::account(a)));
  return acc ? acc->nonce : 0;
}
}  // namespace

const Transaction* Mempool::find(const Hash& id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return nullptr;
  return &by_sender_.at(it->second.first).at(it->second.second).tx;
}

void Mempool::remove(const Hash& id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  auto [sender, nonce] = it->second;
  erase(sender, nonce);
}

void Mempool::erase(const Address& sender, uint64_t nonce) {
  auto qit = by_sender_.find(sender);
  if (qit == by_sender_.end()) return;
  auto eit = qit->second.find(nonce);
  if (eit == qit->second.end()) return;
  bytes_ -= eit->second.size;
  by_id_.erase(eit->second.id);
  qit->second.erase(eit);
  if (qit->second.empty()) {
    by_sender_.erase(qit);
    state_nonce_.erase(sender);
  }
}

util::Result<uint64_t> Mempool::nonce_of(const StateReader& state, const Address& sender) const {
  if (auto it = state_nonce_.find(sender); it != state_nonce_.end()) return it->second;
  return state_nonce(state, sender);
}

std::optional<std::pair<Address, uint64_t>> Mempool::lowest() const {
  std::optional<std::pair<Address, uint64_t>> best;
  double best_p = 0;
  for (const auto& [sender, q] : by_sender_) {
    const Entry& tail = q.rbegin()->second;
    double p = priority(tail);
    if (!best || p < best_p) {
      best = std::make_pair(sender, q.rbegin()->first);
      best_p = p;
    }
  }
  return best;
}

TxResult Mempool::add(const Transaction& tx, const StateReader& state, uint64_t height,
                      bool signature_checked) {
  return add(tx, tx.id(), state, height, signature_checked);
}

TxResult Mempool::add(const Transaction& tx, const Hash& id, const StateReader& state,
                      uint64_t height, bool signature_checked) {
  if (auto e = check_stateless(tx, chain_.params, chain_.chain_id, !signature_checked)) return e;
  if (by_id_.count(id)) return tx_error(Reject::kDuplicate, "already pending");
  if (tx.expiry_height < height) {
    return tx_error(Reject::kExpired, "expired at height " + std::to_string(tx.expiry_height));
  }
  if (tx.expiry_height > height + chain_.params.max_expiry_blocks) {
    return tx_error(Reject::kExpiryTooFar,
                    "expiry height " + std::to_string(tx.expiry_height) + " is more than " +
                        std::to_string(chain_.params.max_expiry_blocks) + " blocks ahead");
  }
  Address sender = tx.sender_address();
  auto nonce = nonce_of(state, sender);
  if (!nonce.ok()) return tx_error(Reject::kStateError, nonce.status().message());
  if (tx.nonce < *nonce) {
    return tx_error(Reject::kNonceTooLow, "nonce " + std::to_string(tx.nonce) +
                                              " already used; next is " + std::to_string(*nonce));
  }
  if (tx.nonce >= *nonce + limits_.max_per_account) {
    return tx_error(Reject::kAccountLimit, "nonce " + std::to_string(tx.nonce) + " is more than " +
                                               std::to_string(limits_.max_per_account) +
                                               " ahead of the account's next nonce " +
                                               std::to_string(*nonce));
  }
  // A busy pool admits no gaps: a transaction whose predecessor is neither executed nor pending
  // could wait there until it expires (its predecessor having been refused as full, say), holding
  // room that executable ones need.
  if (tx.nonce > *nonce && size() >= gap_free_from()) {
    auto qit = by_sender_.find(sender);
    if (qit == by_sender_.end() || qit->second.count(tx.nonce - 1) == 0) {
      return tx_error(Reject::kNonceTooHigh,
                      "nonce " + std::to_string(tx.nonce) +
                          " leaves a gap (the account's next is " + std::to_string(*nonce) +
                          " and nonce " + std::to_string(tx.nonce - 1) +
                          " is not pending); the node is busy, so send the missing nonces first");
    }
  }
  Entry entry{tx, id, codec::encoded_size(tx)};
  // A pending (sender, nonce) is replaced only once the new transaction is known to fit, so a
  // refused replacement never loses the transaction it would have replaced.
  size_t replaced_size = 0;
  bool replacing = false;
  if (auto qit = by_sender_.find(sender); qit != by_sender_.end()) {
    if (auto it = qit->second.find(tx.nonce); it != qit->second.end()) {
      Amount needed = *mul_div(it->second.tx.fee, 100 + limits_.replace_bump_pct, 100);
      if (tx.fee < needed) {
        return tx_error(Reject::kReplacementUnderpriced,
                        "nonce " + std::to_string(tx.nonce) + " is pending with fee " +
                            format_amount(it->second.tx.fee) +
                            " IMET; a replacement needs at least " + format_amount(needed) +
                            " IMET");
      }
      replacing = true;
      replaced_size = it->second.size;
    }
  }
  auto fits = [&] {
    size_t count = size() - (replacing ? 1 : 0) + 1;
    size_t bytes = bytes_ - replaced_size + entry.size;
    return count <= limits_.max_txs && bytes <= limits_.max_bytes;
  };
  while (!fits()) {
    auto low = lowest();
    // Never evict the sender's own entries: an earlier nonce would leave the new one unreachable,
    // and the entry being replaced is accounted for above.
    if (!low || low->first == sender ||
        !outbids(priority(entry), priority(by_sender_.at(low->first).at(low->second)))) {
      return tx_error(Reject::kMempoolFull,
                      "the mempool is full; pay at least " +
                          std::to_string(limits_.replace_bump_pct) +
                          " % more per byte than the lowest pending transaction");
    }
    erase(low->first, low->second);
  }
  if (replacing) erase(sender, tx.nonce);
  by_id_[id] = {sender, tx.nonce};
  state_nonce_[sender] = *nonce;
  bytes_ += entry.size;
  by_sender_[sender].emplace(tx.nonce, std::move(entry));
  return std::nullopt;
}

bool Mempool::refuses_as_full(const Transaction& tx) const {
  if (size() < limits_.max_txs) return false;
  const Address sender = tx.sender_address();
  if (auto q = by_sender_.find(sender); q != by_sender_.end() && q->second.count(tx.nonce) > 0) {
    return false;  // a replacement: the count does not grow
  }
  auto low = lowest();
  if (!low) return false;
  if (low->first == sender) return true;
  const Entry& e = by_sender_.at(low->first).at(low->second);
  return !outbids(static_cast<double>(tx.fee) / static_cast<double>(codec::encoded_size(tx)),
                  priority(e));
}

size_t Mempool::gap_free_from() const {
  const size_t half = limits_.max_txs * kGapFreePct / 100;
  return std::min(gap_free_from_, half == 0 ? size_t{1} : half);
}

bool Mempool::replaces_pending(const Transaction& tx) const {
  auto q = by_sender_.find(tx.sender_address());
  return q != by_sender_.end() && q->second.count(tx.nonce) > 0;
}

bool Mempool::outbids(double mine, double theirs) const {
  return mine > theirs && mine * 100.0 >= theirs * (100.0 + limits_.replace_bump_pct);
}

std::vector<Transaction> Mempool::select(const StateReader& state, size_t max) const {
  struct Cursor {
    double priority;
    const Queue* queue;
    Queue::const_iterator it;
    bool operator<(const Cursor& o) const { return priority < o.priority; }
  };
  std::priority_queue<Cursor> heads;
  for (const auto& [sender, q] : by_sender_) {
    auto nonce = nonce_of(state, sender);
    if (!nonce.ok()) continue;
    auto it = q.find(*nonce);
    if (it != q.end()) heads.push({priority(it->second), &q, it});
  }
  std::vector<Transaction> out;
  while (!heads.empty() && out.size() < max) {
    Cursor c = heads.top();
    heads.pop();
    out.push_back(c.it->second.tx);
    auto next = std::next(c.it);
    if (next != c.queue->end() && next->first == c.it->first + 1) {
      heads.push({priority(next->second), c.queue, next});
    }
  }
  return out;
}

void Mempool::on_block(const StateReader& state, uint64_t next_height) {
  std::vector<std::pair<Address, uint64_t>> drop;
  for (const auto& [sender, q] : by_sender_) {
    auto nonce = state_nonce(state, sender);
    if (nonce.ok()) {
      state_nonce_[sender] = *nonce;
    } else {
      state_nonce_.erase(sender);  // read it again next time
    }
    for (const auto& [n, e] : q) {
      if ((nonce.ok() && n < *nonce) || e.tx.expiry_height < next_height) {
        drop.emplace_back(sender, n);
      }
    }
  }
  for (const auto& [s, n] : drop)
    erase(s, n);
}

}  // namespace imet::ledger
