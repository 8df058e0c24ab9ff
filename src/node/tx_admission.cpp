#include "node/tx_admission.h"

namespace imet::node {

AdmissionResult admit(Chain& chain, std::mutex& chain_mu, std::vector<ledger::Transaction> txs,
                      Origin origin) {
  std::vector<ledger::Hash> ids;
  ids.reserve(txs.size());
  for (const ledger::Transaction& tx : txs)
    ids.push_back(tx.id());
  // 0: unknown, 1: verified good (here or before), 2: failed the check here, 3: already pending,
  // 4: the mempool is full for it, 5: over the admission limit (busy). 4 and 5 are refused
  // without verifying: a busy node's cheapest answer.
  std::vector<char> state(txs.size(), 0);
  std::vector<ledger::Transaction> unknown;
  std::vector<size_t> where;
  size_t limit = 0, pending = 0;
  {
    std::lock_guard lock(chain_mu);
    size_t taken = 0;  // earlier transactions of this batch that will be added if valid
    for (size_t i = 0; i < txs.size(); ++i) {
      if (chain.is_pending(ids[i])) {
        state[i] = 3;  // gossip brings most transactions more than once: answered without work
      } else if (origin == Origin::kClient && chain.over_admission_limit(txs[i], taken)) {
        state[i] = 5;
      } else if (chain.knows(ids[i])) {
        state[i] = 1;
        ++taken;
      } else if (chain.refuses_as_full(txs[i])) {
        state[i] = 4;
      } else {
        where.push_back(i);
        ++taken;
      }
    }
    limit = chain.admission().limit();
    pending = chain.pending_count();
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
    if (state[i] == 5) {
      if (out.refused_busy++ == 0) out.retry_after_s = chain.admission().retry_after_s(pending);
      out.results.push_back(ledger::TxError{
          ledger::Reject::kMempoolFull,
          "the node is busy: " + std::to_string(pending) +
              " transactions pending, at its admission limit of " + std::to_string(limit) +
              " (what the chain finalizes in " + std::to_string(chain.admission().options().slots) +
              " slots); retry in " + std::to_string(out.retry_after_s) + " s"});
      continue;
    }
    if (state[i] == 4 && chain.refuses_as_full(txs[i])) {
      ++chain.admission_stats().refused_full;
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
    } else if (r->reason == ledger::Reject::kMempoolFull) {
      ++chain.admission_stats().refused_full;
    }
    out.results.push_back(std::move(r));
  }
  chain.admission_stats().refused_busy += out.refused_busy;
  out.ids = std::move(ids);
  return out;
}

}  // namespace imet::node
