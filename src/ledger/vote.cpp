#include "ledger/vote.h"

#include <algorithm>

namespace imet::ledger {

bool DirectSignatureChecker::verify(const PublicKey& pk, util::ByteSpan msg,
                                    const Signature& sig) const {
  return crypto::verify(pk, msg, sig);
}

const SignatureChecker& direct_signature_checker() {
  static const DirectSignatureChecker checker;
  return checker;
}

const char* vote_type_name(VoteType t) {
  return t == VoteType::kPrepare ? "prepare" : "commit";
}

util::Bytes WitnessVote::signing_bytes() const {
  constexpr std::string_view kDomain = "IMET/vote/v1";
  util::Bytes out;
  // Domain and its 0, then at most a 10-byte length, the chain id, type, height (varints of at
  // most 10 bytes), attempt, block hash, voter: one allocation.
  out.reserve(kDomain.size() + 1 + 10 + chain_id.size() + 1 + 10 + 5 + block_hash.size() +
              voter.size());
  out.resize(kDomain.size() + 1);  // the domain, then its 0
  std::copy(kDomain.begin(), kDomain.end(), out.begin());
  codec::Writer w(out);
  const_cast<WitnessVote*>(this)->serde_unsigned(w);
  return out;
}

void WitnessVote::sign(const crypto::SigningKey& key) {
  voter = key.public_key();
  signature = key.sign(signing_bytes());
}

bool WitnessVote::signature_valid() const {
  return crypto::verify(voter, signing_bytes(), signature);
}

WitnessVote FinalityCertificate::vote_of(std::string_view chain_id, size_t i) const {
  WitnessVote v;
  v.chain_id = std::string(chain_id);
  v.type = VoteType::kCommit;
  v.height = height;
  v.attempt = attempt;
  v.block_hash = block_hash;
  v.voter = commits[i].voter;
  v.signature = commits[i].signature;
  return v;
}

util::Status FinalityCertificate::verify(std::string_view chain_id,
                                         std::span<const Address> witnesses,
                                         const SignatureChecker& checker) const {
  const auto n = static_cast<uint32_t>(witnesses.size());
  if (block_hash == Hash{}) return util::invalid_argument("certificate for a nil block");
  if (commits.size() < quorum(n)) {
    return util::invalid_argument("certificate for height " + std::to_string(height) + " has " +
                                  std::to_string(commits.size()) + " commits, quorum is " +
                                  std::to_string(quorum(n)) + " of " + std::to_string(n));
  }
  // Witness lookups by binary search: a certificate of 108 witnesses has 73 commits or more.
  std::vector<Address> sorted(witnesses.begin(), witnesses.end());
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < commits.size(); ++i) {
    if (i > 0 && !(commits[i - 1].voter < commits[i].voter)) {
      return util::invalid_argument("certificate commits are not sorted and unique (entry " +
                                    std::to_string(i) + ")");
    }
    const Address who = crypto::address_bytes_of(commits[i].voter);
    if (!std::binary_search(sorted.begin(), sorted.end(), who)) {
      return util::invalid_argument("certificate commit " + std::to_string(i) + " is from " +
                                    crypto::encode_address(who) + ", not a witness");
    }
  }
  // Every commit signs the same bytes but for the voter key: build them once and patch the key.
  WitnessVote v = vote_of(chain_id, 0);
  util::Bytes msg = v.signing_bytes();
  const size_t key_at = msg.size() - v.voter.size();
  for (size_t i = 0; i < commits.size(); ++i) {
    std::copy(commits[i].voter.begin(), commits[i].voter.end(),
              msg.begin() + static_cast<std::ptrdiff_t>(key_at));
    if (!checker.verify(commits[i].voter, msg, commits[i].signature)) {
      const Address who = crypto::address_bytes_of(commits[i].voter);
      return util::invalid_argument("certificate commit " + std::to_string(i) + " from " +
                                    crypto::encode_address(who) + " has a bad signature");
    }
  }
  return {};
}

std::optional<Evidence> make_evidence(const WitnessVote& x, const WitnessVote& y) {
  if (x.chain_id != y.chain_id || x.type != y.type || x.height != y.height ||
      x.attempt != y.attempt || x.voter != y.voter || x.block_hash == y.block_hash) {
    return std::nullopt;
  }
  if (x.block_hash < y.block_hash) return Evidence{x, y};
  return Evidence{y, x};
}

util::Status Evidence::check(std::string_view chain_id, const SignatureChecker& checker) const {
  IMET_TRY(check_form(chain_id));
  return check_signatures(checker);
}

util::Status Evidence::check_signatures(const SignatureChecker& checker) const {
  if (!checker.verify(a.voter, a.signing_bytes(), a.signature) ||
      !checker.verify(b.voter, b.signing_bytes(), b.signature)) {
    return util::invalid_argument("evidence vote signature is invalid");
  }
  return {};
}

util::Status Evidence::check_form(std::string_view chain_id) const {
  if (a.chain_id != chain_id || b.chain_id != chain_id) {
    return util::invalid_argument("evidence votes are for another chain");
  }
  if (a.voter != b.voter) return util::invalid_argument("evidence votes are from two voters");
  if (a.type != b.type || a.height != b.height || a.attempt != b.attempt) {
    return util::invalid_argument("evidence votes are for different type/height/attempt");
  }
  if (!(a.block_hash < b.block_hash)) {
    return util::invalid_argument("evidence votes do not conflict or are not in canonical order");
  }
  return {};
}

Hash Evidence::offence_id() const {
  util::Bytes buf = util::to_bytes("IMET/offence/v1");
  buf.push_back(0);
  codec::Writer w(buf);
  PublicKey voter = a.voter;
  uint64_t height = a.height;
  uint32_t attempt = a.attempt;
  w.fixed(voter);
  w.u64(height);
  w.u32(attempt);
  return crypto::blake2b_256(buf);
}

}  // namespace imet::ledger
