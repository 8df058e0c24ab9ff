// Blocks (SPEC 2.3): a header (height, previous hash, timestamp, producer, round and slot,
// transaction Merkle root, consensus root, state root) signed by the producer, and the body: the
// transactions, the parent's finality certificate and equivocation evidence. The block hash is the
// hash of the signed header; the transaction root is the crypto/merkle.h root whose leaves are the
// transactions' canonical encodings, so a header commits to every transaction and its order, and a
// transaction's inclusion can be proven with a Merkle proof. The consensus root is the hash of the
// canonical encoding of (last_cert, evidence), so the header commits to them too.
// header.slot is the consensus attempt the block was produced for (0: the scheduled producer).
// Also ChainTip / ChainConfig, the small values every block function takes.
// Thread-safety: plain values. Invariants: a Block passing check_header() has
// header.tx_root == tx_root(txs), header.consensus_root == consensus_root(last_cert, evidence), at
// most params.max_block_txs transactions and kMaxBlockEvidence evidence entries; last_cert is
// absent at height 1 and present (for the parent) at every greater height.
#pragma once

#include <vector>

#include "ledger/params.h"
#include "ledger/transaction.h"
#include "ledger/vote.h"

namespace imet::ledger {

inline constexpr size_t kMaxBlockTxsCap = 100'000;  // codec cap; params.max_block_txs is the rule

struct BlockHeader {
  std::string chain_id;
  uint64_t height = 0;
  Hash prev_hash{};
  uint64_t time_ms = 0;
  PublicKey producer{};
  uint64_t round = 0;
  uint32_t slot = 0;
  Hash tx_root{};
  Hash consensus_root{};  // consensus_root(last_cert, evidence)
  Hash state_root{};
  Signature signature{};

  util::Bytes signing_bytes() const;  // "IMET/block/v1" || 0 || encoding without signature
  Hash hash() const;                  // BLAKE2b-256 of the full header encoding
  void sign(const crypto::SigningKey& key);
  bool signature_valid() const;
  Address producer_address() const { return crypto::address_bytes_of(producer); }

  template <typename S>
  void serde_unsigned(S& s) {
    s.string(chain_id, kMaxChainId, "chain_id");
    s.u64(height, "height");
    s.fixed(prev_hash, "prev_hash");
    s.u64(time_ms, "time_ms");
    s.fixed(producer, "producer");
    s.u64(round, "round");
    s.u32(slot, "slot");
    s.fixed(tx_root, "tx_root");
    s.fixed(consensus_root, "consensus_root");
    s.fixed(state_root, "state_root");
  }
  template <typename S>
  void serde(S& s) {
    serde_unsigned(s);
    s.fixed(signature, "signature");
  }
  bool operator==(const BlockHeader&) const = default;
};

struct Block {
  BlockHeader header;
  std::vector<Transaction> txs;
  // The finality certificate of the parent block (height - 1); absent at height 1.
  std::optional<FinalityCertificate> last_cert;
  std::vector<Evidence> evidence;  // at most kMaxBlockEvidence
  template <typename S>
  void serde(S& s) {
    s.object(header, "header");
    s.vector(txs, kMaxBlockTxsCap, "txs");
    s.optional(last_cert, "last_cert");
    s.vector(evidence, kMaxBlockEvidence, "evidence");
  }
  bool operator==(const Block&) const = default;
};

Hash tx_root(const std::vector<Transaction>& txs);
// BLAKE2b-256 of "IMET/consensus/v1" || 0x00 || encoding of last_cert (as an optional) ||
// encoding of evidence (as a vector).
Hash consensus_root(const std::optional<FinalityCertificate>& last_cert,
                    const std::vector<Evidence>& evidence);

struct ChainTip {
  uint64_t height = 0;
  Hash hash{};
  uint64_t time_ms = 0;
};

struct ChainConfig {
  std::string chain_id;
  uint64_t genesis_time_ms = 0;
  ChainParams params;
};

}  // namespace imet::ledger
