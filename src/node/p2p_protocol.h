// The node's application messages on the P2P network (message types >= net::kFirstAppMessageType):
// transaction gossip, consensus traffic (consensus/messages.h), chain status, block sync and
// equivocation evidence.
//   kTxs       TxsMsg                       transactions: pushed by the node that got them from
//                                           a client, and the answer to kGetTxs
//   kTxIds     TxIdsMsg                     gossip: ids of transactions newly accepted from a
//                                           peer, announced to the other peers
//   kGetTxs    TxIdsMsg                     request: the announced transactions this node lacks
//   kRepeat    RepeatMsg                    gossip: a consensus message its signer sends again
//                                           (a fresh `seq` per repeat, so gossip floods it once
//                                           more), relayed while it is current and correctly
//                                           signed, even by nodes that already have it; one
//                                           inner message at most once per 3/4 slot
//   kConsensus consensus::ConsensusMessage  gossip: relayed once the engine accepts it
//   kStatus    StatusMsg                    to each peer on connect and after each final block
//   kGetBlocks GetBlocksMsg                 request: final blocks from a height
//   kBlocks    BlocksMsg                    response: blocks with their finality certificates
//   kEvidence  ledger::Evidence             gossip: relayed once the engine accepts it (checked
//                                           against the chain state; see docs/consensus.md)
// Every payload uses the canonical codec with hard caps; decode errors say which field is wrong.
// Thread-safety: plain values and pure functions. Invariants: decode(encode(m)) == m; a decoded
// BlocksMsg holds at most kMaxSyncBlocks entries in ascending consecutive height order; a TxsMsg
// at most kMaxGossipTxs transactions.
#pragma once

#include <vector>

#include "codec/serialize.h"
#include "ledger/block.h"
#include "ledger/vote.h"

namespace imet::node::p2p {

enum MessageType : uint8_t {
  kTxs = 16,
  kConsensus = 17,
  kStatus = 18,
  kGetBlocks = 19,
  kBlocks = 20,
  kEvidence = 21,
  kTxIds = 22,
  kGetTxs = 23,
  kRepeat = 24,
};

inline constexpr uint32_t kMaxSyncBlocks = 256;
inline constexpr uint32_t kMaxGossipTxs = 4096;
inline constexpr size_t kMaxRepeatBytes = size_t{15} << 20;  // under the 16 MiB frame cap

struct TxsMsg {
  std::vector<ledger::Transaction> txs;
  template <typename S>
  void serde(S& s) {
    s.vector(txs, kMaxGossipTxs, "txs");
  }
  bool operator==(const TxsMsg&) const = default;
};

struct RepeatMsg {
  uint64_t seq = 0;     // the signer's send time: makes each repeat a new gossip message
  util::Bytes message;  // an encoded consensus::ConsensusMessage
  template <typename S>
  void serde(S& s) {
    s.u64(seq, "seq");
    s.bytes(message, kMaxRepeatBytes, "message");
  }
  bool operator==(const RepeatMsg&) const = default;
};

struct TxIdsMsg {
  std::vector<ledger::Hash> ids;
  template <typename S>
  void serde(S& s) {
    s.vector(ids, kMaxGossipTxs, "ids");
  }
  bool operator==(const TxIdsMsg&) const = default;
};

struct StatusMsg {
  uint64_t final_height = 0;
  ledger::Hash final_hash{};
  template <typename S>
  void serde(S& s) {
    s.u64(final_height, "final_height");
    s.fixed(final_hash, "final_hash");
  }
  bool operator==(const StatusMsg&) const = default;
};

struct GetBlocksMsg {
  uint64_t from_height = 1;
  uint32_t max_blocks = 64;
  template <typename S>
  void serde(S& s) {
    s.u64(from_height, "from_height");
    s.u32(max_blocks, "max_blocks");
    s.require(from_height >= 1, "from_height must be at least 1", "from_height");
    s.require(max_blocks >= 1 && max_blocks <= kMaxSyncBlocks, "max_blocks must be 1-256",
              "max_blocks");
  }
  bool operator==(const GetBlocksMsg&) const = default;
};

struct FinalBlock {
  ledger::Block block;
  ledger::FinalityCertificate cert;
  template <typename S>
  void serde(S& s) {
    s.object(block, "block");
    s.object(cert, "cert");
  }
  bool operator==(const FinalBlock&) const = default;
};

struct BlocksMsg {
  std::vector<FinalBlock> blocks;
  template <typename S>
  void serde(S& s) {
    s.vector(blocks, kMaxSyncBlocks, "blocks");
    if constexpr (S::kDecoding) {
      for (size_t i = 1; i < blocks.size() && s.ok(); ++i) {
        s.require(blocks[i].block.header.height == blocks[i - 1].block.header.height + 1,
                  "blocks must have consecutive heights", "blocks");
      }
    }
  }
  bool operator==(const BlocksMsg&) const = default;
};

}  // namespace imet::node::p2p
