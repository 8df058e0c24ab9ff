// Consensus wire messages (docs/consensus.md, "Messages"): the Proposal (SPEC's pre-prepare: a
// block offered for (height, attempt) by that attempt's producer) and the WitnessVote
// (PREPARE / COMMIT, ledger/vote.h), wrapped in one ConsensusMessage whose canonical encoding is
// what the P2P layer carries. A proposal is signed over "IMET/proposal/v1" || 0x00 || chain id,
// height, attempt, valid_attempt, block hash and proposer key, so it cannot be replayed on another
// chain, height or attempt, nor re-pointed at another block or valid_attempt.
// Thread-safety: plain values and pure functions.
// Invariants: a decoded Proposal has -1 <= valid_attempt < attempt; decode_message(b) is OK =>
// encode_message(*decode_message(b)) == b (canonical codec); decoded input is at most
// kMaxMessageBytes long.
#pragma once

#include <variant>

#include "codec/serialize.h"
#include "ledger/block.h"
#include "ledger/vote.h"
#include "util/result.h"

namespace imet::consensus {

// Largest encoded ConsensusMessage accepted (a block of params.max_block_txs transactions fits;
// ChainView::validate enforces the chain's own caps afterwards).
inline constexpr size_t kMaxMessageBytes = size_t{16} << 20;

struct Proposal {
  ledger::Block block;
  uint32_t attempt = 0;
  // -1, or the attempt < `attempt` at which the proposer saw a PREPARE quorum for this block
  // (Tendermint's validRound: the block is re-proposed and locked witnesses may accept it).
  int64_t valid_attempt = -1;
  ledger::PublicKey proposer{};
  ledger::Signature signature{};

  uint64_t height() const { return block.header.height; }
  ledger::Hash block_hash() const { return block.header.hash(); }
  ledger::Address proposer_address() const { return crypto::address_bytes_of(proposer); }
  util::Bytes signing_bytes() const;
  void sign(const crypto::SigningKey& key);
  bool signature_valid() const;

  template <typename S>
  void serde(S& s) {
    s.object(block, "block");
    s.u32(attempt, "attempt");
    s.i64(valid_attempt, "valid_attempt");
    s.require(valid_attempt >= -1 && valid_attempt < static_cast<int64_t>(attempt),
              "valid_attempt must be -1 or below attempt", "valid_attempt");
    s.fixed(proposer, "proposer");
    s.fixed(signature, "signature");
  }
  bool operator==(const Proposal&) const = default;
};

enum class MessageKind : uint8_t { kProposal = 1, kVote = 2 };
constexpr bool is_valid(MessageKind k) {
  return k == MessageKind::kProposal || k == MessageKind::kVote;
}

// The one wire encoding of consensus traffic: a kind byte, then the message.
struct ConsensusMessage {
  std::variant<Proposal, ledger::WitnessVote> body;

  MessageKind kind() const { return static_cast<MessageKind>(body.index() + 1); }
  const Proposal* proposal() const { return std::get_if<Proposal>(&body); }
  const ledger::WitnessVote* vote() const { return std::get_if<ledger::WitnessVote>(&body); }

  template <typename S>
  void serde(S& s) {
    MessageKind k = kind();
    s.enumeration(k, "kind");
    if constexpr (S::kDecoding) {
      if (!s.ok()) return;
      if (k == MessageKind::kProposal) {
        body.template emplace<Proposal>();
      } else {
        body.template emplace<ledger::WitnessVote>();
      }
    }
    std::visit([&s](auto& b) { s.object(b, "message"); }, body);
  }
  bool operator==(const ConsensusMessage&) const = default;
};

util::Bytes encode_message(const ConsensusMessage& msg);
// Decodes one message; kInvalidArgument naming the offset and field on any encoding error.
util::Result<ConsensusMessage> decode_message(util::ByteSpan bytes);

}  // namespace imet::consensus
