// Batch admission of transactions into the node's mempool, shared by the HTTP API (POST /v1/txs
// with a list) and transaction gossip (p2p::TxsMsg). The expensive part, Ed25519 verification, runs
// in parallel on the chain's verifier pool without the chain lock, and only for transactions the
// chain does not already know (pending, or verified before): a transaction gossiped by several
// peers is verified once, and one already pending is answered "duplicate" without any further
// work. Before any signature is checked, two cheap refusals shed load (both kMempoolFull):
// - backpressure (clients only): while the node's backlog is at its admission limit
//   (node/admission_limit.h: a few slots of what the chain has been finalizing), a new client
//   transaction is refused as busy (the API answers 503 with Retry-After); a batch takes only as
//   many as there is room for, in order. A replacement of a pending transaction is exempt.
// - the hard cap (every origin): a transaction the full mempool would refuse anyway
//   (ledger::Mempool::refuses_as_full).
// Transactions from peers are not subject to the admission limit: the node that took them from a
// client already applied its own, every node's pool converges on the same backlog through gossip
// (so each node's local limit bounds the network's), and refusing a transaction that is already
// in some node's pool saves nothing — it will be in a block, and this node then verifies its
// signature on the critical path of block validation instead of ahead of time. The hard cap still
// protects against a peer that floods.
// Then every other transaction is submitted under the lock, in order.
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

  // Transactions refused over the admission limit (busy), and the Retry-After the node suggests
  // (seconds; 0 when none was refused as busy).
  size_t refused_busy = 0;
  uint32_t retry_after_s = 0;
};

// Where the transactions come from: a client of this node (the API), or a peer (gossip).
enum class Origin { kClient, kPeer };

AdmissionResult admit(Chain& chain, std::mutex& chain_mu, std::vector<ledger::Transaction> txs,
                      Origin origin = Origin::kClient);

}  // namespace imet::node
