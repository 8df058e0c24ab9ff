// Transactions (SPEC 2.2): every kind, with sender, nonce, fee, chain id, expiry height and an
// Ed25519 signature, in the canonical codec. The body is a variant whose index + 1 is the TxKind
// byte on the wire. The signature covers a domain tag and every field but itself, so a signature
// cannot be replayed on another chain (chain id) or reinterpreted as another object (tag).
// Thread-safety: plain values. Invariants: for a decoded Transaction, kind() matches the body;
// id() is BLAKE2b-256 of the full canonical encoding, signature included.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "codec/serialize.h"
#include "crypto/address.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "ledger/params.h"

namespace imet::ledger {

using Address = crypto::AddressBytes;
using PublicKey = crypto::PublicKey;
using Signature = crypto::Signature;
using Hash = crypto::Hash256;

inline constexpr size_t kMaxChainId = 64;
inline constexpr size_t kMaxMemo = 256;
inline constexpr size_t kMaxVotesCap = 100;  // codec cap; params.max_votes is the rule
inline constexpr size_t kMaxDelegateName = 32;
inline constexpr size_t kMaxEndpoints = 8;
inline constexpr size_t kMaxEndpoint = 128;
inline constexpr size_t kMaxRegion = 32;
inline constexpr size_t kMaxMetadata = 1024;
inline constexpr size_t kMaxLogId = 64;
inline constexpr size_t kMaxName = 64;
inline constexpr size_t kMaxNameTarget = 256;
inline constexpr size_t kMaxReceipts = 1024;

struct Transfer {
  Address to{};
  Amount amount = 0;
  util::Bytes memo;
  template <typename S>
  void serde(S& s) {
    s.fixed(to, "to");
    s.u64(amount, "amount");
    s.bytes(memo, kMaxMemo, "memo");
  }
  bool operator==(const Transfer&) const = default;
};

// Replaces the sender's approval set.
struct Vote {
  std::vector<Address> delegates;  // strictly ascending
  template <typename S>
  void serde(S& s) {
    s.sorted_set(delegates, kMaxVotesCap, "delegates");
  }
  bool operator==(const Vote&) const = default;
};

struct RegisterDelegate {
  std::string name;
  template <typename S>
  void serde(S& s) {
    s.string(name, kMaxDelegateName, "name");
  }
  bool operator==(const RegisterDelegate&) const = default;
};

struct UnregisterDelegate {
  template <typename S>
  void serde(S& /*s*/) {}
  bool operator==(const UnregisterDelegate&) const = default;
};

enum class NodeClass : uint8_t {
  kEdge = 1,
  kHighPerformanceCloud = 2,
  kNormalCloud = 3,
  kSuperCloud = 4
};
constexpr bool is_valid(NodeClass c) {
  return static_cast<uint8_t>(c) >= 1 && static_cast<uint8_t>(c) <= 4;
}

struct NodeInfo {
  NodeClass node_class = NodeClass::kEdge;
  std::vector<std::string> endpoints;  // e.g. "tcp://203.0.113.5:7645"
  std::string region;
  uint64_t capacity_bytes_per_s = 0;
  template <typename S>
  void serde(S& s) {
    s.enumeration(node_class, "class");
    s.vector(
        endpoints, kMaxEndpoints,
        [](S& s2, std::string& e) { s2.string(e, kMaxEndpoint, "endpoint"); }, "endpoints");
    s.string(region, kMaxRegion, "region");
    s.u64(capacity_bytes_per_s, "capacity");
  }
  bool operator==(const NodeInfo&) const = default;
};

// The owner (sender) registers a node key it controls: node_signature is the node key's signature
// over node_ownership_message(chain_id, owner public key).
struct RegisterNode {
  PublicKey node_key{};
  NodeInfo info;
  Amount stake = 0;
  Signature node_signature{};
  template <typename S>
  void serde(S& s) {
    s.fixed(node_key, "node_key");
    s.object(info, "info");
    s.u64(stake, "stake");
    s.fixed(node_signature, "node_signature");
  }
  bool operator==(const RegisterNode&) const = default;
};

struct UpdateNode {
  PublicKey node_key{};
  NodeInfo info;
  template <typename S>
  void serde(S& s) {
    s.fixed(node_key, "node_key");
    s.object(info, "info");
  }
  bool operator==(const UpdateNode&) const = default;
};

struct UnregisterNode {
  PublicKey node_key{};
  template <typename S>
  void serde(S& s) {
    s.fixed(node_key, "node_key");
  }
  bool operator==(const UnregisterNode&) const = default;
};

struct Stake {
  Amount amount = 0;
  template <typename S>
  void serde(S& s) {
    s.u64(amount, "amount");
  }
  bool operator==(const Stake&) const = default;
};

struct Unstake {
  Amount amount = 0;
  template <typename S>
  void serde(S& s) {
    s.u64(amount, "amount");
  }
  bool operator==(const Unstake&) const = default;
};

// A Proof-of-Data receipt (SPEC 6), signed by the receiving node.
struct PodReceipt {
  PublicKey relayer{};
  PublicKey receiver{};
  uint64_t epoch = 0;
  uint8_t tier = 1;
  uint64_t message_count = 0;
  uint64_t bytes = 0;
  Hash batch_root{};
  Hash chain_entropy{};
  Signature receiver_signature{};
  template <typename S>
  void serde(S& s) {
    serde_unsigned(s);
    s.fixed(receiver_signature, "receiver_signature");
  }
  // Every field but the signature: what the receiver signs (ledger/pod.h).
  template <typename S>
  void serde_unsigned(S& s) {
    s.fixed(relayer, "relayer");
    s.fixed(receiver, "receiver");
    s.u64(epoch, "epoch");
    s.u8(tier, "tier");
    s.require(tier >= 1 && tier <= 3, "tier must be 1, 2 or 3", "tier");
    s.u64(message_count, "message_count");
    s.u64(bytes, "bytes");
    s.fixed(batch_root, "batch_root");
    s.fixed(chain_entropy, "chain_entropy");
  }
  bool operator==(const PodReceipt&) const = default;
};

struct PodSettle {
  std::vector<PodReceipt> receipts;
  template <typename S>
  void serde(S& s) {
    s.vector(receipts, kMaxReceipts, "receipts");
  }
  bool operator==(const PodSettle&) const = default;
};

struct Notarize {
  Hash content_hash{};
  uint64_t size = 0;
  util::Bytes metadata;
  template <typename S>
  void serde(S& s) {
    s.fixed(content_hash, "content_hash");
    s.u64(size, "size");
    s.bytes(metadata, kMaxMetadata, "metadata");
  }
  bool operator==(const Notarize&) const = default;
};

struct Anchor {
  std::string log_id;  // sidechain, dapp chain or message log id
  uint64_t height = 0;
  Hash root{};
  template <typename S>
  void serde(S& s) {
    s.string(log_id, kMaxLogId, "log_id");
    s.u64(height, "height");
    s.fixed(root, "root");
  }
  bool operator==(const Anchor&) const = default;
};

enum class NameTargetKind : uint8_t { kNode = 1, kTopic = 2, kContent = 3, kUrl = 4 };
constexpr bool is_valid(NameTargetKind k) {
  return static_cast<uint8_t>(k) >= 1 && static_cast<uint8_t>(k) <= 4;
}

struct NameTarget {
  NameTargetKind kind = NameTargetKind::kUrl;
  std::string value;
  template <typename S>
  void serde(S& s) {
    s.enumeration(kind, "kind");
    s.string(value, kMaxNameTarget, "value");
  }
  bool operator==(const NameTarget&) const = default;
};

struct NameRegister {
  std::string name;
  NameTarget target;
  template <typename S>
  void serde(S& s) {
    s.string(name, kMaxName, "name");
    s.object(target, "target");
  }
  bool operator==(const NameRegister&) const = default;
};

struct NameUpdate {
  std::string name;
  NameTarget target;
  template <typename S>
  void serde(S& s) {
    s.string(name, kMaxName, "name");
    s.object(target, "target");
  }
  bool operator==(const NameUpdate&) const = default;
};

// Binds a device key to the sender (owner). The sponsor pays the device's traffic; a sponsor other
// than the owner must consent by signing sponsor_message(chain_id, device key, owner).
struct DeviceRegister {
  PublicKey device_key{};
  uint8_t default_tier = 2;
  PublicKey sponsor{};  // the sponsor account's public key
  std::optional<Signature> sponsor_signature;
  template <typename S>
  void serde(S& s) {
    s.fixed(device_key, "device_key");
    s.u8(default_tier, "default_tier");
    s.require(default_tier >= 1 && default_tier <= 3, "tier must be 1, 2 or 3", "default_tier");
    s.fixed(sponsor, "sponsor");
    s.optional(sponsor_signature, "sponsor_signature");
  }
  bool operator==(const DeviceRegister&) const = default;
};

// Order = TxKind value - 1.
using TxBody = std::variant<Transfer, Vote, RegisterDelegate, UnregisterDelegate, RegisterNode,
                            UpdateNode, UnregisterNode, Stake, Unstake, PodSettle, Notarize, Anchor,
                            NameRegister, NameUpdate, DeviceRegister>;
static_assert(std::variant_size_v<TxBody> == kTxKindCount);

TxBody make_body(TxKind kind);

struct Transaction {
  std::string chain_id;
  PublicKey sender{};
  uint64_t nonce = 0;
  Amount fee = 0;
  uint64_t expiry_height = 0;  // last height at which it may be included
  TxBody body;
  Signature signature{};

  TxKind kind() const { return static_cast<TxKind>(body.index() + 1); }
  Address sender_address() const { return crypto::address_bytes_of(sender); }
  // The bytes the sender signs: "IMET/tx/v1" || 0x00 || canonical encoding without signature.
  util::Bytes signing_bytes() const;
  Hash id() const;
  void sign(const crypto::SigningKey& key);
  bool signature_valid() const;

  template <typename S>
  void serde_unsigned(S& s) {
    s.string(chain_id, kMaxChainId, "chain_id");
    s.fixed(sender, "sender");
    s.u64(nonce, "nonce");
    s.u64(fee, "fee");
    s.u64(expiry_height, "expiry_height");
    TxKind k = kind();
    s.enumeration(k, "kind");
    if constexpr (S::kDecoding) {
      if (!s.ok()) return;
      body = make_body(k);
    }
    std::visit([&s](auto& b) { s.object(b, "body"); }, body);
  }
  template <typename S>
  void serde(S& s) {
    serde_unsigned(s);
    s.fixed(signature, "signature");
  }
  bool operator==(const Transaction&) const = default;
};

// Messages signed by a node key (register_node) and a sponsor (device_register).
util::Bytes node_ownership_message(std::string_view chain_id, const PublicKey& owner);
util::Bytes sponsor_message(std::string_view chain_id, const PublicKey& device,
                            const PublicKey& owner);

}  // namespace imet::ledger
