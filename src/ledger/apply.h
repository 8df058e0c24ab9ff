// Transaction validation and application: the ledger's state transition for one transaction.
// check_stateless() is everything that needs no state (size, chain id, signature, field rules,
// minimum fee); apply_transaction() checks the rest against the state and applies the transaction
// into the block's overlay, or rejects it with a reason and changes nothing.
// Every rejection has a stable reason (Reject, documented in docs/ledger.md) and a message.
// Thread-safety: pure functions; the overlay has one owner. Invariants: after a successful apply
// the supply is conserved (fees move to the producer, nothing is created or destroyed); a rejected
// transaction leaves the overlay exactly as it was.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "ledger/state.h"
#include "ledger/state_view.h"

namespace imet::ledger {

enum class Reject : uint16_t {
  kMalformed = 1,     // does not decode, or breaks a field rule
  kTooLarge = 2,      // encoded size above max_tx_bytes
  kWrongChain = 3,    // chain id of another network
  kBadSignature = 4,  // sender signature does not verify
  kExpired = 5,       // height > expiry_height
  kExpiryTooFar = 6,  // expiry more than max_expiry_blocks ahead (mempool admission)
  kNonceTooLow = 7,   // nonce already used: a replay
  kNonceTooHigh = 8,  // a gap: earlier nonces missing
  kFeeTooLow = 9,     // below the kind's minimum fee
  kInsufficientFunds = 10,
  kFundsLocked = 11,    // enough coins, but locked (lock-up schedule)
  kInvalidAmount = 12,  // zero or overflowing amount
  kTooManyVotes = 13,
  kUnknownDelegate = 14,
  kAlreadyDelegate = 15,
  kNotDelegate = 16,
  kNodeExists = 17,
  kUnknownNode = 18,
  kNotOwner = 19,
  kBadNodeSignature = 20,
  kInvalidField = 21,  // a name, endpoint, region or target that breaks its rules
  kInsufficientStake = 22,
  kUnbondingFull = 23,
  kAlreadyNotarized = 24,
  kAnchorNotIncreasing = 25,
  kNameTaken = 26,
  kUnknownName = 27,
  kDeviceExists = 28,
  kBadSponsorSignature = 29,
  kNotSupported = 30,
  kStateError = 31,   // the state could not be read (corruption / I/O): not the sender's fault
  kDuplicate = 32,    // mempool: already pending
  kMempoolFull = 33,  // mempool: full, and the fee is too low to evict anything
  kReplacementUnderpriced = 34,  // mempool: same nonce pending; the fee must rise by 10 %
  kAccountLimit = 35,            // mempool: too many pending transactions from this sender
  // pod_settle (ledger/pod.h):
  kWrongEpoch = 36,           // receipt epoch not the current or previous, or not its entropy's
  kStaleReceipt = 37,         // chain_entropy is not one of the recent block hashes
  kDuplicateReceipt = 38,     // receipt already settled (or twice in one transaction)
  kSameOwner = 39,            // relayer and receiver are the same node or have the same owner
  kBadReceiptSignature = 40,  // the receiver node's key did not sign the receipt
  kNodeStakeTooLow = 41,      // the relayer node's stake is below pod.min_stake
  kDelegateLimit = 42,        // register_delegate: the delegate list is full (kMaxDelegates)
  kJailed = 43,               // unregister_delegate: the delegate is jailed (ledger/schedule.h)
};
const char* reject_name(Reject r);

struct TxError {
  Reject reason;
  std::string message;
};
using TxResult = std::optional<TxError>;  // nullopt: accepted / applied

// The rejection of a check (apply, mempool, PoD settlement), with the message shown to the sender.
inline TxError tx_error(Reject reason, std::string message) {
  return TxError{reason, std::move(message)};
}

struct BlockContext {
  const ChainParams* params = nullptr;
  std::string_view chain_id;
  uint64_t height = 0;
  uint64_t time_ms = 0;  // block timestamp
  Address producer{};
};

// Size, chain id, field rules, minimum fee, and (when verify_signature) the signature.
TxResult check_stateless(const Transaction& tx, const ChainParams& params,
                         std::string_view chain_id, bool verify_signature = true);

// Applies `tx` at ctx.height into `state`. Does not verify the signature (the block pipeline
// verifies signatures in parallel first; the mempool calls check_stateless()).
TxResult apply_transaction(StateOverlay& state, const Transaction& tx, const BlockContext& ctx);

// Name rule: 1-64 of [a-z0-9-.], not starting or ending with '-' or '.'.
bool valid_name(std::string_view name);

}  // namespace imet::ledger
