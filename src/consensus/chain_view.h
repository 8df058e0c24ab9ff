// ChainView: what the DSFT state machine (consensus/engine.h) needs from the chain it finalizes.
// The node's Chain implements it over RocksDB; the simulation uses the same Chain over an in-memory
// store, so the engine is always tested against the real ledger.
// Every method is deterministic given the chain's contents and its arguments (no clock, no I/O
// beyond the chain's own store), which keeps the engine a deterministic state machine.
// Thread-safety: not thread-safe; the engine's owner serialises all calls.
// Invariants: final_tip() moves only through commit(); after commit(b, c) final_tip() is b and
// certificate(b.height) is c.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ledger/block.h"
#include "ledger/block_apply.h"
#include "ledger/schedule.h"
#include "ledger/vote.h"
#include "util/result.h"

namespace imet::consensus {

class ChainView {
 public:
  virtual ~ChainView() = default;

  virtual const ledger::ChainConfig& config() const = 0;
  // The last final block (height 0: genesis).
  virtual ledger::ChainTip final_tip() const = 0;
  // The schedule in force at height final_tip().height + 1 (the round's witnesses and order).
  virtual util::Result<ledger::RoundSchedule> next_schedule() const = 0;
  // The producer of (final_tip().height + 1, attempt), or nullopt if every witness is jailed.
  virtual util::Result<std::optional<ledger::Address>> producer(uint32_t attempt) const = 0;
  // Fully validates `block` as the next block (header, producer, signatures, transactions, state
  // root, last certificate, evidence). May cache the result so a later commit() of the same block
  // does not re-execute it.
  virtual util::Status validate(const ledger::Block& block) = 0;
  // Builds and signs the next block from the mempool at `time_ms` for `attempt`, carrying the
  // certificate of the final tip and the given evidence (already checked by the caller).
  virtual util::Result<ledger::Block> build(const crypto::SigningKey& producer, uint64_t time_ms,
                                            uint32_t attempt,
                                            const std::vector<ledger::Evidence>& evidence) = 0;
  // Whether the next block (height final_tip().height + 1) may carry `evidence`: the checks of
  // ledger::check_evidence over the final state. kAlreadyExists when that offence was already
  // slashed; kInvalidArgument naming the rule for anything else the chain refuses (bad signature,
  // too old, above the next height, offender not a delegate); another code for a store failure.
  virtual util::Status check_evidence(const ledger::Evidence& evidence) const = 0;
  // Commits a validated block with its finality certificate: it becomes the final tip.
  virtual util::Status commit(const ledger::Block& block,
                              const ledger::FinalityCertificate& cert) = 0;
  // The certificate stored with the final block at `height` (nullopt for genesis or unknown).
  virtual util::Result<std::optional<ledger::FinalityCertificate>> certificate(
      uint64_t height) const = 0;
};

}  // namespace imet::consensus
