// The deterministic simulation of DSFT consensus (ARCHITECTURE.md "Tests", docs/consensus.md
// "Simulation"): N witnesses plus a few candidate delegates, each node a real node::Chain over its
// own store::MemoryStore and a consensus::Engine, in one process, over a simulated clock and an
// event queue. The network is a full mesh or a sparse graph (network.h) with per-node gossip seen
// caches and relay of accepted messages, as the node does; it delays, drops, duplicates, reorders
// and partitions messages; nodes crash and restart (the MemoryStore and the persisted SignerState
// survive, Chain and Engine are rebuilt); up to f witnesses are Byzantine (equivocate: sign two
// different blocks/votes and send each to half the peers; or withhold: send and relay nothing);
// transfers are submitted to random nodes and relayed; DEC seeds have N_min < N_max and load
// phases that make N_active shrink and grow. All randomness comes from one Rng seeded with the
// run's seed, so a seed names a run and replays exactly.
// Invariants checked after every event that changes a chain: no two different final blocks at one
// height on any nodes; a node's final chain only grows, across restarts too; supply is conserved
// on every node; N_active of every round within [N_min, N_max] and the same on every node; no
// honest node's message is judged invalid (that would get it banned); after the chaos phase ends
// (heal) every honest node finalizes new blocks within a bounded number of slots.
// Thread-safety: run_simulation() is single-threaded; concurrent runs would share the
// process-wide signature memo (not thread-safe), so run one at a time.
#pragma once

#include <cstdint>
#include <string>

#include "ledger/transaction.h"

namespace imet::sim {

enum class DecMode : uint8_t { kAuto, kOn, kOff };  // kAuto: about 1 seed in 4 with N <= 21

struct SimOptions {
  uint64_t seed = 1;
  uint32_t witnesses = 4;
  uint32_t candidates = 2;       // extra delegates that replace jailed witnesses
  bool long_run = false;         // a longer chaos phase with more faults
  DecMode dec = DecMode::kAuto;  // N_min < N_max with load phases that resize N_active
  // Engine re-sends go directly to the peers only, as node::ConsensusService sends them, instead
  // of being flooded (docs/consensus.md, "Simulation", Findings).
  bool node_resends = false;
  uint32_t slot_ms = 1'000;
  bool verbose = false;  // print notable events to stderr
};

struct SimStats {
  uint32_t byzantine = 0;
  bool mesh = true;         // full mesh, else a sparse graph (relay needed)
  uint64_t links = 0;       // links in the graph
  bool dec = false;         // a DEC seed
  uint32_t n_min = 0;       // genesis n_min (n_max = witnesses)
  uint32_t min_active = 0;  // smallest / largest N_active elected (0: no round change seen)
  uint32_t max_active = 0;
  uint64_t resizes = 0;  // rounds whose N_active differs from the previous round's
  uint64_t events = 0;
  uint64_t sent = 0;
  uint64_t delivered = 0;
  uint64_t dropped = 0;
  uint64_t duplicated = 0;
  uint64_t relayed = 0;            // accepted messages a node gossiped onwards
  uint64_t gossip_duplicates = 0;  // gossip dropped by a receiver's seen cache
  uint64_t gossip_suppressed = 0;  // gossip not sent to a peer that had the message
  uint64_t invalid_relayed = 0;    // kInvalid on a Byzantine message relayed by an honest node
  uint64_t partitions = 0;
  uint64_t crashes = 0;
  uint64_t restarts = 0;
  uint64_t equivocations = 0;  // conflicting messages Byzantine witnesses sent
  uint64_t evidence = 0;       // evidence found by engines
  uint64_t commits = 0;        // blocks committed, summed over nodes
  uint64_t synced = 0;         // of which via sync
  uint64_t txs_submitted = 0;
  uint64_t txs_final = 0;
  uint64_t invalid_from_honest = 0;  // kInvalid verdicts on honest senders' messages
  uint32_t max_attempt = 0;
  uint64_t final_height = 0;  // lowest final height among honest nodes at the end
  ledger::Hash final_hash{};  // the block at final_height
  uint64_t heal_ms = 0;
  uint64_t recovered_ms = 0;  // time after heal until every honest node had new final blocks
  uint64_t sim_ms = 0;
};

struct SimResult {
  bool ok = true;
  std::string failure;  // the first invariant broken
  SimStats stats;
  // Everything a replay must reproduce: heights, hashes and event counts.
  std::string digest() const;
};

SimResult run_simulation(const SimOptions& options);

}  // namespace imet::sim
