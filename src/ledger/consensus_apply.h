// The consensus part of block application (SPEC 3, docs/ledger.md "Consensus state"), run by
// apply_block() and build_block() around the transactions of block H:
//  begin (over the state after H - 1, before anything of H is written):
//   1. the schedule in force at H is next_schedule(state, parent) (a rotation when H starts a new
//      round); header.round must be its round and, when checked, header.producer must be
//      producer_of(H, header.slot);
//   2. H >= 2: last_cert must verify against the witnesses of the schedule in force at H - 1; the
//      producers of the attempts before last_cert.attempt missed their slot (their consecutive
//      miss counter grows, except H - 1's own producer); max_missed_slots in a row jails;
//   3. each evidence entry must pass Evidence::check, be at most evidence_max_age_blocks old (vote
//      height <= H), name a registered delegate and an offence not settled before: slash_pct % of
//      the offender's account stake moves to the PoD pool, the offender is jailed, the offence id
//      is recorded;
//   4. the schedule of H is stored.
//  end (after the transactions and the reward): the producer's miss counter restarts, and the
//  round's DEC counters count the block (full / busy by its transaction count).
// Jailing at block H in round r: skipped as a producer from H + 1 until round r ends, not elected
// for rounds r + 1 .. r + jail_rounds.
// Thread-safety: pure functions over a caller-owned overlay. Invariants: supply is conserved
// (slashed coins move from an account's stake to Globals::pod_pool).
#pragma once

#include "ledger/block.h"
#include "ledger/schedule.h"
#include "ledger/state_view.h"

namespace imet::ledger {

// A consensus rule the block breaks (kInvalidArgument, message names the rule), or a state error.
// `certs` checks the signatures of the parent certificate and of evidence votes. `known`, if set,
// may save the producer check's reads (ledger/schedule.h).
util::Status begin_consensus(StateOverlay& state, const Block& block, const ChainTip& parent,
                             const ChainConfig& chain, bool check_producer,
                             const SignatureChecker& certs = direct_signature_checker(),
                             const KnownUnjailed* known = nullptr);
util::Status end_consensus(StateOverlay& state, const Block& block, const ChainConfig& chain);

// Checks one evidence entry against the state at block `height` without applying it. The vote
// signatures (through `votes`) come last: evidence the chain no longer accepts (too old, already
// settled) costs no signature check.
util::Status check_evidence(const StateReader& state, const Evidence& ev, uint64_t height,
                            const ChainConfig& chain,
                            const SignatureChecker& votes = direct_signature_checker());

}  // namespace imet::ledger
