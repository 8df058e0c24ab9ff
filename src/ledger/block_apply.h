// Block validation and application, and block building, as pure functions over a StateOverlay:
// check the header against its parent, verify the transaction signatures (through a
// SignatureVerifier, so the node can spread them over all cores: the ledger itself starts no
// threads), apply every transaction in order, then pay the block reward from the PoD pool (20 %
// to the producer, 80 % to the epoch's PoD reward by default). The caller computes the state root
// of the resulting state and compares it with the header's (the state tree lives in ledger/smt).
// Thread-safety: pure; SignatureVerifier implementations document their own.
// Invariants: apply_block() either applies the whole block or reports why not, leaving `state`
// unchanged; a block that passes is valid for every node, whatever the order signatures were
// checked in.
#pragma once

#include <span>
#include <vector>

#include "ledger/apply.h"
#include "ledger/block.h"
#include "ledger/pod.h"
#include "ledger/schedule.h"

namespace imet::ledger {

class SignatureVerifier {
 public:
  virtual ~SignatureVerifier() = default;
  // result[i] is true iff txs[i].signature_valid().
  virtual std::vector<bool> verify(std::span<const Transaction> txs) const = 0;
  // Checks the signatures of the producer, the parent certificate's COMMITs and evidence votes
  // (ledger/vote.h). Default: direct.
  virtual const SignatureChecker& certificates() const { return direct_signature_checker(); }
};

// Verifies one transaction after another on the calling thread, through `checker` (which must
// outlive it).
class SerialVerifier final : public SignatureVerifier {
 public:
  explicit SerialVerifier(const SignatureChecker& checker = direct_signature_checker())
      : checker_(checker) {}
  std::vector<bool> verify(std::span<const Transaction> txs) const override;

 private:
  const SignatureChecker& checker_;
};

struct BlockError {
  std::string message;
  std::optional<size_t> tx_index;  // set when a transaction made the block invalid
  std::optional<TxError> tx_error;
};
using BlockResult = std::optional<BlockError>;

// Header checks that need no state: chain id, height and parent hash, timestamp after the parent,
// producer signature, transaction and evidence counts, transaction root, consensus root, and that
// the parent certificate is present from height 2 on and names the parent. The producer signature
// is checked with `sigs`.
BlockResult check_header(const Block& block, const ChainTip& parent, const ChainConfig& chain,
                         const SignatureChecker& sigs = direct_signature_checker());

// Full validation and application (check_header included; the consensus rules of
// ledger/consensus_apply.h: schedule rotation, producer, parent certificate, missed slots,
// evidence, DEC counters). `known`, if set, may save the producer check's reads of the witnesses'
// delegate records (ledger/schedule.h).
BlockResult apply_block(StateOverlay& state, const Block& block, const ChainTip& parent,
                        const ChainConfig& chain, const SignatureVerifier& verifier,
                        const KnownUnjailed* known = nullptr);

// Pays the block reward for the block at `height` produced at time_ms by `producer`:
// min(reward, pool) leaves the PoD pool, producer_share_pct of it to the producer, the rest to
// Globals::epoch_reward and to the pool of the block's PoD epoch (ledger/pod.h).
util::Status pay_block_reward(StateOverlay& state, const Address& producer, uint64_t height,
                              uint64_t time_ms, const ChainConfig& chain);

struct BuiltBlock {
  Block block;                                     // header without state_root and signature
  std::vector<std::pair<Hash, TxError>> rejected;  // candidates that did not apply, by id
};

// Builds a block on `parent` from candidate transactions in the given order (the mempool's
// priority order): each candidate that applies is included, the others are reported; stops at
// params.max_block_txs. Applies everything (and the reward) into `state`. Candidates' signatures
// must have been checked (the mempool admits only transactions whose signature verifies).
// `round` must be the round of the schedule in force at the new height (next_schedule()); `slot`
// is the consensus attempt; `last_cert` (required from height 2) and `evidence` go into the body
// (an invalid one is an error; `certs` checks their signatures). The producer is not checked
// (apply_block() does).
util::Result<BuiltBlock> build_block(
    StateOverlay& state, const std::vector<Transaction>& candidates, const ChainTip& parent,
    const ChainConfig& chain, const PublicKey& producer, uint64_t time_ms, uint64_t round,
    uint32_t slot, const std::optional<FinalityCertificate>& last_cert = std::nullopt,
    const std::vector<Evidence>& evidence = {},
    const SignatureChecker& certs = direct_signature_checker());

}  // namespace imet::ledger
