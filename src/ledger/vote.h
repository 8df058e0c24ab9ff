// Consensus objects the ledger must understand (SPEC 3, docs/consensus.md): witness votes
// (PREPARE / COMMIT), the finality certificate formed by a quorum of COMMITs, and equivocation
// evidence (two conflicting votes signed by one witness). They live in the ledger layer because
// blocks carry them: block h+1 carries the certificate of block h (so missed slots are counted from
// chain data), and blocks carry evidence, which slashes the offender's stake.
// Quorum: the issue and SPEC say "2f+1 with f = floor((n-1)/3)". That is a safe quorum only when
// n = 3f+1; for other n two sets of 2f+1 may intersect only in Byzantine witnesses (n = 5: 3 + 3 -
// 5 = 1). We use quorum(n) = floor(2n/3) + 1 ("more than two thirds"), which equals 2f+1 when n =
// 3f+1 and is the smallest safe quorum otherwise (docs/consensus.md, "Quorum"). Thread-safety:
// plain values; SignatureChecker implementations document their own (DirectSignatureChecker is
// stateless). Invariants: a FinalityCertificate that passes verify() holds quorum(n) distinct
// witnesses' valid COMMIT signatures for (chain, height, attempt, block hash); an Evidence that
// passes check() proves one key signed two different block hashes for the same (chain, type,
// height, attempt).
// Certificate signatures are checked through a SignatureChecker: the node uses the direct one
// (libsodium on every call); the deterministic simulation injects a process-wide memo so that a
// certificate carried to 108 simulated nodes is verified once (docs/consensus.md, "Simulation").
#pragma once

#include <span>
#include <vector>

#include "ledger/transaction.h"

namespace imet::ledger {

enum class VoteType : uint8_t { kPrepare = 1, kCommit = 2 };
constexpr bool is_valid(VoteType t) {
  return t == VoteType::kPrepare || t == VoteType::kCommit;
}
const char* vote_type_name(VoteType t);

inline constexpr size_t kMaxCertSigs = 1'000;  // codec cap (N_max is 108 on a public network)
inline constexpr size_t kMaxBlockEvidence = 100;

// Largest number of Byzantine witnesses tolerated among n: floor((n-1)/3).
constexpr uint32_t max_faulty(uint32_t n) {
  return n == 0 ? 0 : (n - 1) / 3;
}
// Votes needed for PREPARE/COMMIT quorums and certificates: more than two thirds of n.
constexpr uint32_t quorum(uint32_t n) {
  return n * 2 / 3 + 1;
}
// Votes that must include at least one honest witness: n - quorum(n) + 1 (f+1 when n = 3f+1).
constexpr uint32_t honest_threshold(uint32_t n) {
  return n - quorum(n) + 1;
}

// Answers whether `sig` is key `pk`'s Ed25519 signature of `msg`. Every implementation must answer
// exactly as crypto::verify() would for the same inputs (a memo may remember answers, never guess).
class SignatureChecker {
 public:
  virtual ~SignatureChecker() = default;
  virtual bool verify(const PublicKey& pk, util::ByteSpan msg, const Signature& sig) const = 0;
  // Told of a signature this process has just made: `sig` over `msg` by the secret key whose
  // public key is `pk`. Such a signature verifies (Ed25519 signing is deterministic and correct),
  // so a checker that remembers answers may record it as valid; the default ignores it.
  virtual void signed_here(const PublicKey& /*pk*/, util::ByteSpan /*msg*/,
                           const Signature& /*sig*/) const {}
};

// crypto::verify() on every call.
class DirectSignatureChecker final : public SignatureChecker {
 public:
  bool verify(const PublicKey& pk, util::ByteSpan msg, const Signature& sig) const override;
};
// A process-wide DirectSignatureChecker (stateless, safe to share between threads).
const SignatureChecker& direct_signature_checker();

struct WitnessVote {  // a PREPARE or COMMIT (not the delegate-approval tx body `Vote`)
  std::string chain_id;
  VoteType type = VoteType::kPrepare;
  uint64_t height = 0;
  uint32_t attempt = 0;  // the attempt (slot) at this height: 0 = the scheduled producer's slot
  Hash block_hash{};     // all zero: nil (no valid block seen in time)
  PublicKey voter{};
  Signature signature{};

  bool is_nil() const { return block_hash == Hash{}; }
  // "IMET/vote/v1" || 0x00 || canonical encoding without the signature.
  util::Bytes signing_bytes() const;
  void sign(const crypto::SigningKey& key);
  bool signature_valid() const;
  Address voter_address() const { return crypto::address_bytes_of(voter); }

  template <typename S>
  void serde_unsigned(S& s) {
    s.string(chain_id, kMaxChainId, "chain_id");
    s.enumeration(type, "type");
    s.u64(height, "height");
    s.u32(attempt, "attempt");
    s.fixed(block_hash, "block_hash");
    s.fixed(voter, "voter");
  }
  template <typename S>
  void serde(S& s) {
    serde_unsigned(s);
    s.fixed(signature, "signature");
  }
  bool operator==(const WitnessVote&) const = default;
};

// One COMMIT signature inside a certificate; the vote is rebuilt from the certificate's fields.
struct CommitSig {
  PublicKey voter{};
  Signature signature{};
  template <typename S>
  void serde(S& s) {
    s.fixed(voter, "voter");
    s.fixed(signature, "signature");
  }
  bool operator==(const CommitSig&) const = default;
  auto operator<=>(const CommitSig& o) const { return voter <=> o.voter; }
};

struct FinalityCertificate {
  uint64_t height = 0;
  uint32_t attempt = 0;  // the attempt whose COMMITs formed the quorum
  Hash block_hash{};
  std::vector<CommitSig> commits;  // strictly ascending by voter key

  // The COMMIT vote signed by commits[i].
  WitnessVote vote_of(std::string_view chain_id, size_t i) const;
  // Checks the certificate against the witness set in force at `height`: commits sorted and
  // unique, every voter a witness, every signature valid, at least quorum(witnesses.size()).
  // kInvalidArgument naming the first offending entry otherwise. Signatures are checked with
  // `checker` (the cheap structural checks come first, so a malformed certificate costs none).
  util::Status verify(std::string_view chain_id, std::span<const Address> witnesses,
                      const SignatureChecker& checker = direct_signature_checker()) const;

  template <typename S>
  void serde(S& s) {
    s.u64(height, "height");
    s.u32(attempt, "attempt");
    s.fixed(block_hash, "block_hash");
    s.sorted_set(commits, kMaxCertSigs, "commits");
  }
  bool operator==(const FinalityCertificate&) const = default;
};

// Two votes from one voter for the same (chain, type, height, attempt) and different block
// hashes. Canonical order: a.block_hash < b.block_hash (so one offence has one encoding).
struct Evidence {
  WitnessVote a;
  WitnessVote b;

  // Both signatures valid, same voter/chain/type/height/attempt, a.block_hash < b.block_hash:
  // check_form() and then check_signatures().
  util::Status check(std::string_view chain_id,
                     const SignatureChecker& checker = direct_signature_checker()) const;
  // The cheap part: same voter/chain/type/height/attempt, canonical order.
  util::Status check_form(std::string_view chain_id) const;
  // Both votes' signatures, through `checker`.
  util::Status check_signatures(const SignatureChecker& checker) const;
  // Identifies the offence (voter, height, attempt), not the pair: a witness is slashed at most
  // once per (height, attempt), whichever pair of its votes is reported.
  Hash offence_id() const;
  Address offender() const { return a.voter_address(); }

  template <typename S>
  void serde(S& s) {
    s.object(a, "a");
    s.object(b, "b");
  }
  bool operator==(const Evidence&) const = default;
};

// Builds the canonical Evidence from two conflicting votes (either order); nullopt if they do not
// conflict (same hash, different voter/type/height/attempt/chain).
std::optional<Evidence> make_evidence(const WitnessVote& x, const WitnessVote& y);

}  // namespace imet::ledger
