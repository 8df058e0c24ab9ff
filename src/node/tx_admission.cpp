#include "node/tx_admission.h"

namespace imet::node {

AdmissionResult admit(Chain& chain, std::mutex& chain_mu, std::vector<ledger::Transaction> txs) {
  std::vector<ledger::Hash> ids;
  ids.reserve(txs.size());
  for (const ledger::Transaction& tx : txs)
    ids.push_back(tx.id());
  // 0: unknown, 1: verified good (here or before), 2: failed the check here, 3: already pending,
  // 4: the mempool is full for it (refused without verifying: a busy node's cheapest answer).
  std::vector<char> state(txs.size(), 0);
  std::vector<ledger::Transaction> unknown;
  std::vector<size_t> where;
  {
    std::lock_guard lock(chain_mu);
    for (size_t i = 0; i < txs.size(); ++i) {
      if (chain.is_pending(ids[i])) {
        state[i] = 3;  // gossip brings most transactions more than once: answered without work
      } else if (chain.knows(ids[i])) {
        state[i] = 1;
      } else if (chain.refuses_as_full(txs[i])) {
        state[i] = 4;
      } else {
        where.push_back(i);
      }
    }
  }
  unknown.reserve(where.size());
  for (size_t i : where)
    unknown.push_back(txs[i]);
  std::vector<bool> ok = chain.verify_signatures(unknown);
  for (size_t k = 0; k < where.size(); ++k)
    state[where[k]] = ok[k] ? 1 : 2;

  AdmissionResult out;
  out.results.reserve(txs.size());
  std::lock_guard lock(chain_mu);
  for (size_t i = 0; i < txs.size(); ++i) {
    if (state[i] == 3 || chain.is_pending(ids[i])) {
      out.results.push_back(ledger::TxError{ledger::Reject::kDuplicate, "already pending"});
      continue;
    }
    if (state[i] == 4 && chain.refuses_as_full(txs[i])) {
      out.results.push_back(ledger::TxError{
          ledger::Reject::kMempoolFull,
          "the node is busy: " + std::to_string(chain.pending_count()) +
              " transactions pending (its limit); retry later or pay a higher fee per byte"});
      continue;
    }
    ledger::TxResult r = chain.submit(txs[i], ids[i], state[i] == 1);
    if (!r) {
      out.added.push_back(std::move(txs[i]));
      out.added_ids.push_back(ids[i]);
    }
    out.results.push_back(std::move(r));
  }
  out.ids = std::move(ids);
  return out;
}

}  // namespace imet::node
