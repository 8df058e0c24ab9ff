// Batch admission of transactions into the node's mempool, shared by the HTTP API (POST /v1/txs
// with a list) and transaction gossip (p2p::TxsMsg). The expensive part, Ed25519 verification, runs
// in parallel on the chain's verifier pool without the chain lock, and only for transactions the
// chain does not already know (pending, or verified before): a transaction gossiped by several
// peers is verified once, and one already pending is answered "duplicate" without any further
// work. A transaction the full mempool would refuse anyway (ledger::Mempool::refuses_as_full) is
// refused without verifying its signature, so an overloaded node sheds load cheaply. Then every
// other transaction is submitted under the lock, in order.
// Thread-safety: admit() takes `chain_mu` itself (twice, briefly); call it without holding it.
// Invariants: results[i] belongs to txs[i]; a transaction is admitted only if its signature
// verified (here or before); a failed batch check is submitted unchecked, so the chain records the
// rejection exactly as for a single submission.
#pragma once

#include <mutex>
#include <vector>

#include "node/chain.h"

namespace imet::node {

struct AdmissionResult {
  std::vector<ledger::TxResult> results;   // one per transaction, in order
  std::vector<ledger::Hash> ids;           // one per transaction, in order
  std::vector<ledger::Transaction> added;  // newly admitted (not already pending): to relay
  std::vector<ledger::Hash> added_ids;     // their ids
};

AdmissionResult admit(Chain& chain, std::mutex& chain_mu, std::vector<ledger::Transaction> txs);

}  // namespace imet::node
