// MemoChecker: the simulation's process-wide signature verification memo. One vote delivered to
// 108 simulated nodes would otherwise be verified 108 times; Ed25519 verification is a pure
// function of (key, message, signature), so the first answer is remembered under the whole
// (key, signature, message), compared in full, and reused by every simulated node. A signature a
// simulated witness's engine has just made (signed_here: its own PREPARE, COMMIT or proposal) is
// recorded as valid without verifying it: Ed25519 signatures made by a key verify under its public
// key. Anything else (a tampered, forged or mis-attributed signature, a block's or transaction's
// signature) misses and is verified by crypto::verify(). set_check_signed(true) verifies every
// recorded signature too and aborts on the first that does not verify (imet-sim
// --check-signatures; ctest runs seeds with it). The real node uses consensus::DirectChecker
// (docs/consensus.md, "Simulation"). Thread-safety: not thread-safe; the simulation is
// single-threaded. Invariants: verify() answers exactly as crypto::verify(); the memo holds at most
// kMaxEntries answers (cleared when full).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>

#include "consensus/signature_check.h"

namespace imet::sim {

class MemoChecker final : public consensus::SignatureChecker {
 public:
  static constexpr size_t kMaxEntries = 1'000'000;
  static MemoChecker& instance();

  bool verify(const ledger::PublicKey& pk, util::ByteSpan msg,
              const ledger::Signature& sig) const override;

  void signed_here(const ledger::PublicKey& pk, util::ByteSpan msg,
                   const ledger::Signature& sig) const override;
  void set_check_signed(bool on) { check_signed_ = on; }

  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  // Heterogeneous lookup: a hit is looked up by a view of scratch_, without allocating. The hash
  // is 8 bytes of the signature (keys are key || signature || message, so at least 96 bytes):
  // Ed25519 signatures are uniformly distributed, and equal hashes are told apart by comparing
  // the whole key.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view k) const {
      uint64_t h = 0;
      std::memcpy(&h, k.data() + 32, sizeof(h));
      return static_cast<size_t>(h);
    }
  };
  mutable std::unordered_map<std::string, bool, KeyHash, std::equal_to<>> memo_;
  // scratch_ = pk || sig || msg, the memo's key for these three.
  std::string_view make_key(const ledger::PublicKey& pk, util::ByteSpan msg,
                            const ledger::Signature& sig) const;
  void remember(std::string_view key, bool ok) const;

  mutable std::string scratch_;  // the key being looked up
  mutable uint64_t hits_ = 0;
  mutable uint64_t misses_ = 0;
  bool check_signed_ = false;
};

}  // namespace imet::sim
