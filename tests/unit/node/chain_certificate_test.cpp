// node::Chain's certificate-checker hook (Chain::Options::certificate_checker): every certificate
// signature check (commit(), a block's parent certificate in validate() and build()) and every
// evidence vote check goes through the injected ledger::SignatureChecker, and a memoising checker
// that has seen the genuine signatures still rejects forged certificates and evidence (the memo
// is keyed by key, message and signature).
// Thread-safety: single-threaded tests. Invariants: none beyond the assertions.
#include <map>
#include <tuple>

#include <gtest/gtest.h>

#include "ledger/consensus_apply.h"
#include "ledger/genesis.h"
#include "node/chain.h"
#include "store/memory_store.h"

namespace imet::node {
namespace {

crypto::SigningKey cert_key(uint8_t b) {
  crypto::Seed s{};
  s.fill(b);
  return crypto::SigningKey::from_seed(s);
}

// Remembers every answer (like the simulation's memo) and counts the calls.
class CountingMemo final : public ledger::SignatureChecker {
 public:
  bool verify(const ledger::PublicKey& pk, util::ByteSpan msg,
              const ledger::Signature& sig) const override {
    ++calls;
    auto k = std::make_tuple(pk, util::Bytes(msg.begin(), msg.end()), sig);
    if (auto it = memo.find(k); it != memo.end()) {
      ++hits;
      return it->second;
    }
    const bool ok = crypto::verify(pk, msg, sig);
    memo.emplace(std::move(k), ok);
    return ok;
  }
  mutable uint64_t calls = 0;
  mutable uint64_t hits = 0;
  mutable std::map<std::tuple<ledger::PublicKey, util::Bytes, ledger::Signature>, bool> memo;
};

class ChainCertificateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<ledger::Address> addrs;
    for (uint8_t i = 0; i < 4; ++i) {
      keys_.push_back(cert_key(static_cast<uint8_t>(60 + i)));
      addrs.push_back(crypto::address_bytes_of(keys_.back().public_key()));
    }
    genesis_ = ledger::make_testnet_genesis(addrs, 1000, "cc", 500);
    Chain::Options o{.serial_verifier = true, .certificate_checker = &memo_};
    a_ = Chain::open(db_a_, genesis_, o).value();
    b_ = Chain::open(db_b_, genesis_, o).value();
  }

  const crypto::SigningKey& key_of(const ledger::Address& a) const {
    for (const auto& k : keys_) {
      if (crypto::address_bytes_of(k.public_key()) == a) return k;
    }
    throw std::runtime_error("no such witness");
  }

  // COMMITs of the first three witnesses (quorum(4)) for `hash` at height `h`.
  ledger::FinalityCertificate cert_for(uint64_t h, const ledger::Hash& hash) {
    ledger::FinalityCertificate c;
    c.height = h;
    c.block_hash = hash;
    for (size_t i = 0; i < 3; ++i) {
      ledger::WitnessVote v;
      v.chain_id = "cc";
      v.type = ledger::VoteType::kCommit;
      v.height = h;
      v.block_hash = hash;
      v.sign(keys_[i]);
      c.commits.push_back({v.voter, v.signature});
    }
    std::sort(c.commits.begin(), c.commits.end());
    return c;
  }

  ledger::Block build_next(Chain& c) {
    auto who = c.producer(0).value().value();
    return c.build(key_of(who), c.tip().time_ms + 500, 0, {}).value();
  }

  CountingMemo memo_;
  std::vector<crypto::SigningKey> keys_;
  ledger::Genesis genesis_;
  store::MemoryStore db_a_, db_b_;
  std::unique_ptr<Chain> a_, b_;
};

TEST_F(ChainCertificateTest, CertificateChecksGoThroughTheInjectedChecker) {
  ledger::Block first = build_next(*a_);
  auto cert = cert_for(1, first.header.hash());
  ASSERT_TRUE(a_->commit(first, cert).ok());
  EXPECT_EQ(memo_.calls, 3u);  // commit() checked the three COMMITs through the hook
  EXPECT_EQ(memo_.hits, 0u);
  // b_ executes the block: the producer signature (new) and the COMMITs (known).
  ASSERT_TRUE(b_->commit(first, cert).ok());
  EXPECT_EQ(memo_.calls, 7u);
  EXPECT_EQ(memo_.hits, 3u);  // the second node's certificate checks were answered by the memo
  // Block 2 carries certificate 1, which both chains verified when they committed it: building
  // it (a_) and validating it (b_) do not verify it again.
  ledger::Block second = build_next(*a_);
  ASSERT_TRUE(second.last_cert);
  EXPECT_EQ(memo_.calls, 7u);
  ASSERT_TRUE(b_->validate(second).ok());
  EXPECT_EQ(memo_.calls, 8u);  // its producer signature only
  EXPECT_EQ(memo_.hits, 3u);
  // Another certificate of block 1 (other voters) is verified: only the committed one is known.
  ledger::FinalityCertificate other = cert_for(1, first.header.hash());
  other.commits.erase(other.commits.begin());
  {
    ledger::WitnessVote v;
    v.chain_id = "cc";
    v.type = ledger::VoteType::kCommit;
    v.height = 1;
    v.block_hash = first.header.hash();
    v.sign(keys_[3]);
    other.commits.push_back({v.voter, v.signature});
    std::sort(other.commits.begin(), other.commits.end());
  }
  ledger::Block carrying_other = second;
  carrying_other.last_cert = other;
  carrying_other.header.consensus_root = ledger::consensus_root(other, carrying_other.evidence);
  carrying_other.header.sign(key_of(second.header.producer_address()));
  const uint64_t before = memo_.calls;
  ASSERT_TRUE(b_->validate(carrying_other).ok());
  // The producer and the one COMMIT certificate 1 does not hold; the other two are known.
  EXPECT_EQ(memo_.calls - before, 1u + 1u);
  // After a restart nothing is known: the parent certificate is verified again.
  b_.reset();
  b_ = Chain::open(db_b_, genesis_, {.serial_verifier = true, .certificate_checker = &memo_})
           .value();
  const uint64_t reopened = memo_.calls;
  ASSERT_TRUE(b_->validate(second).ok());
  EXPECT_EQ(memo_.calls - reopened, 1u + 3u);
}

TEST_F(ChainCertificateTest, DefaultIsDirectVerification) {
  store::MemoryStore db;
  auto c = Chain::open(db, genesis_, {.serial_verifier = true}).value();
  ledger::Block first = build_next(*c);
  auto cert = cert_for(1, first.header.hash());
  cert.commits[1].signature[0] ^= 1;
  auto st = c->commit(first, cert);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("commit 1 from"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("has a bad signature"), std::string::npos) << st.message();
  EXPECT_EQ(memo_.calls, 0u);  // not this chain's checker
  cert.commits[1].signature[0] ^= 1;
  EXPECT_TRUE(c->commit(first, cert).ok());
}

TEST_F(ChainCertificateTest, ForgedCertificatesAreRejectedThroughAWarmMemo) {
  ledger::Block first = build_next(*a_);
  const auto genuine = cert_for(1, first.header.hash());
  // A competing block at height 1 (attempt 1, another producer) with genuine COMMITs: the memo
  // now knows valid signatures for both blocks.
  auto who1 = a_->producer(1).value().value();
  ledger::Block rival = a_->build(key_of(who1), a_->tip().time_ms + 500, 1, {}).value();
  ASSERT_NE(rival.header.hash(), first.header.hash());
  auto rival_cert = cert_for(1, rival.header.hash());
  ASSERT_TRUE(rival_cert.verify("cc", b_->next_schedule().value().witnesses, memo_).ok());
  ASSERT_TRUE(genuine.verify("cc", b_->next_schedule().value().witnesses, memo_).ok());
  const uint64_t warm = memo_.memo.size();
  ASSERT_EQ(warm, 6u);

  // 1. The rival's (valid, memoised) signatures re-pointed at `first`.
  auto repointed = rival_cert;
  repointed.block_hash = first.header.hash();
  auto st = b_->commit(first, repointed);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("invalid certificate: certificate commit 0 from"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("has a bad signature"), std::string::npos) << st.message();
  // 2. Another attempt than the one signed.
  auto other_attempt = genuine;
  other_attempt.attempt = 1;
  st = b_->commit(first, other_attempt);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("has a bad signature"), std::string::npos) << st.message();
  // 3. One signature corrupted, the others genuine and memoised.
  auto corrupted = genuine;
  corrupted.commits[2].signature[63] ^= 0x40;
  st = b_->commit(first, corrupted);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("certificate commit 2 from"), std::string::npos) << st.message();
  // 4. Two genuine signatures swapped between voters.
  auto swapped = genuine;
  std::swap(swapped.commits[0].signature, swapped.commits[1].signature);
  st = b_->commit(first, swapped);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("has a bad signature"), std::string::npos) << st.message();
  EXPECT_EQ(b_->tip().height, 0u);  // nothing was committed
  EXPECT_GT(memo_.memo.size(), warm);

  // 5. A block whose parent certificate is forged fails validation through the hook.
  ASSERT_TRUE(a_->commit(first, genuine).ok());
  ASSERT_TRUE(b_->commit(first, genuine).ok());
  ledger::Block second = build_next(*a_);
  const uint64_t before = memo_.calls;
  ledger::Block forged = second;
  forged.last_cert = corrupted;
  forged.header.consensus_root = ledger::consensus_root(forged.last_cert, forged.evidence);
  forged.header.sign(key_of(second.header.producer_address()));
  st = b_->validate(forged);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("parent certificate: certificate commit 2"), std::string::npos)
      << st.message();
  EXPECT_GT(memo_.calls, before);
  EXPECT_TRUE(b_->validate(second).ok());
}

TEST_F(ChainCertificateTest, EvidenceVotesGoThroughTheCheckerAndSettledOnesCostNone) {
  auto equivocation = [&](const crypto::SigningKey& k, uint8_t tag) {
    ledger::WitnessVote a, b;
    for (auto* v : {&a, &b}) {
      v->chain_id = "cc";
      v->type = ledger::VoteType::kPrepare;
      v->height = 1;
    }
    a.block_hash[0] = tag;
    b.block_hash[0] = static_cast<uint8_t>(tag + 1);
    a.sign(k);
    b.sign(k);
    return *ledger::make_evidence(a, b);
  };
  ledger::Block first = build_next(*a_);
  ASSERT_TRUE(a_->commit(first, cert_for(1, first.header.hash())).ok());
  ASSERT_TRUE(b_->commit(first, cert_for(1, first.header.hash())).ok());
  const auto good = equivocation(keys_[3], 1);
  auto forged = equivocation(keys_[2], 7);
  forged.b.signature[5] ^= 1;
  uint64_t before = memo_.calls;
  auto who = a_->producer(0).value().value();
  ledger::Block second = a_->build(key_of(who), a_->tip().time_ms + 500, 0, {forged, good}).value();
  ASSERT_EQ(second.evidence.size(), 1u);  // the forged piece is left out
  EXPECT_EQ(second.evidence[0], good);
  // All through the hook: build() filters the pieces (2 signatures each), then build_block()
  // checks the piece it includes (2) again (the parent certificate is the one a_ committed).
  EXPECT_EQ(memo_.calls - before, 2u + 2u + 2u);
  before = memo_.calls;
  ASSERT_TRUE(b_->validate(second).ok());
  EXPECT_EQ(memo_.calls - before, 1u + 2u);  // producer, evidence (certificate 1 is known)
  ASSERT_TRUE(b_->commit(second, cert_for(2, second.header.hash())).ok());
  // Settled: check_evidence refuses it before any signature check.
  before = memo_.calls;
  auto st = ledger::check_evidence(b_->store().state(), good, 3, b_->config(), memo_);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("already slashed"), std::string::npos) << st.message();
  EXPECT_EQ(memo_.calls, before);
  // A forged piece is refused through the hook with the signature message.
  st = ledger::check_evidence(b_->store().state(), forged, 3, b_->config(), memo_);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "evidence vote signature is invalid");
  EXPECT_GT(memo_.calls, before);
}

}  // namespace
}  // namespace imet::node
