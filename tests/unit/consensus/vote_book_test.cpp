// VoteBook (counting per attempt and type, first vote counts, equivocation evidence) and
// verify_certificate (the certificate rules, signatures through a SignatureChecker).
#include "consensus/vote_book.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "consensus/signature_check.h"

namespace imet::consensus {
namespace {

crypto::SigningKey vote_key(uint8_t b) {
  crypto::Seed s{};
  s.fill(b);
  return crypto::SigningKey::from_seed(s);
}

ledger::WitnessVote vote(const crypto::SigningKey& k, ledger::VoteType t, uint32_t attempt,
                         uint8_t hash_byte) {
  ledger::WitnessVote v;
  v.chain_id = "c";
  v.type = t;
  v.height = 5;
  v.attempt = attempt;
  v.block_hash.fill(hash_byte);
  v.sign(k);
  return v;
}

constexpr auto kPrep = ledger::VoteType::kPrepare;
constexpr auto kCommit = ledger::VoteType::kCommit;

TEST(VoteBook, CountsFirstVotesPerAttemptAndType) {
  VoteBook book;
  const auto a = vote_key(1), b = vote_key(2), c = vote_key(3);
  EXPECT_EQ(book.add(vote(a, kPrep, 0, 7)).result, VoteBook::AddResult::kAdded);
  EXPECT_EQ(book.add(vote(b, kPrep, 0, 7)).result, VoteBook::AddResult::kAdded);
  EXPECT_EQ(book.add(vote(c, kPrep, 0, 0)).result, VoteBook::AddResult::kAdded);  // nil
  EXPECT_EQ(book.add(vote(a, kPrep, 0, 7)).result, VoteBook::AddResult::kDuplicate);
  EXPECT_EQ(book.add(vote(a, kCommit, 1, 7)).result, VoteBook::AddResult::kAdded);
  ledger::Hash seven;
  seven.fill(7);
  EXPECT_EQ(book.count(0, kPrep, seven), 2u);
  EXPECT_EQ(book.count(0, kPrep, ledger::Hash{}), 1u);
  EXPECT_EQ(book.total(0, kPrep), 3u);
  EXPECT_EQ(book.total(0, kCommit), 0u);
  EXPECT_EQ(book.voters_at(0), 3u);
  EXPECT_EQ(book.voters_at(1), 1u);
  EXPECT_EQ(book.highest_attempt(), 1u);
  EXPECT_EQ(book.size(), 4u);
  book.clear();
  EXPECT_EQ(book.size(), 0u);
  EXPECT_FALSE(book.highest_attempt().has_value());
}

TEST(VoteBook, ConflictingVoteIsEvidenceAndCountsForItsOwnHash) {
  VoteBook book;
  const auto a = vote_key(1);
  const auto first = vote(a, kCommit, 2, 9), second = vote(a, kCommit, 2, 4);
  ASSERT_EQ(book.add(first).result, VoteBook::AddResult::kAdded);
  auto r = book.add(second);
  ASSERT_EQ(r.result, VoteBook::AddResult::kEquivocation);
  ASSERT_TRUE(r.evidence.has_value());
  EXPECT_TRUE(r.evidence->check("c").ok());
  EXPECT_EQ(r.evidence->a, second);  // canonical order: lower hash first
  EXPECT_EQ(r.evidence->b, first);
  EXPECT_EQ(book.add(second).result, VoteBook::AddResult::kDuplicate);
  // A signature is a signature: each hash counts the voter, the voter counts once in total().
  ledger::Hash four, nine;
  four.fill(4);
  nine.fill(9);
  EXPECT_EQ(book.count(2, kCommit, four), 1u);
  EXPECT_EQ(book.count(2, kCommit, nine), 1u);
  EXPECT_EQ(book.total(2, kCommit), 1u);
  EXPECT_EQ(book.voters_at(2), 1u);
  // Past kMaxHashesPerVoter distinct hashes, further votes are kept only when relevant.
  ASSERT_EQ(VoteBook::kMaxHashesPerVoter, 3u);
  EXPECT_EQ(book.add(vote(a, kCommit, 2, 5), false).result, VoteBook::AddResult::kEquivocation);
  EXPECT_EQ(book.add(vote(a, kCommit, 2, 6), false).result, VoteBook::AddResult::kEquivocation);
  ledger::Hash six;
  six.fill(6);
  EXPECT_EQ(book.count(2, kCommit, six), 0u);  // the fourth hash, irrelevant: not kept
  EXPECT_EQ(book.add(vote(a, kCommit, 2, 7), true).result, VoteBook::AddResult::kEquivocation);
  ledger::Hash seven;
  seven.fill(7);
  EXPECT_EQ(book.count(2, kCommit, seven), 1u);  // relevant (a proposed block): kept
  EXPECT_EQ(book.votes_for(2, kCommit, seven).size(), 1u);
}

TEST(VoteBook, CommitQuorumsAndCertificateBodies) {
  VoteBook book;
  std::vector<crypto::SigningKey> keys;
  for (uint8_t i = 1; i <= 4; ++i)
    keys.push_back(vote_key(i));
  for (size_t i = 0; i < 3; ++i)
    (void)book.add(vote(keys[i], kCommit, 1, 8));
  (void)book.add(vote(keys[3], kCommit, 1, 0));
  EXPECT_TRUE(book.commit_quorums(4).empty());
  auto q = book.commit_quorums(3);
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].first, 1u);
  EXPECT_EQ(q[0].second[0], 8);
  auto sigs = book.commits_for(1, q[0].second);
  ASSERT_EQ(sigs.size(), 3u);
  EXPECT_TRUE(std::is_sorted(sigs.begin(), sigs.end()));

  ledger::FinalityCertificate cert{5, 1, q[0].second, sigs};
  std::vector<ledger::Address> witnesses;
  for (const auto& k : keys)
    witnesses.push_back(crypto::address_bytes_of(k.public_key()));
  DirectChecker checker;
  EXPECT_TRUE(verify_certificate(cert, "c", witnesses, checker).ok());
  EXPECT_TRUE(cert.verify("c", witnesses).ok());  // the ledger's own check agrees

  auto expect_rejected = [&](const ledger::FinalityCertificate& c, std::span<ledger::Address> w,
                             const char* words) {
    util::Status st = verify_certificate(c, "c", w, checker);
    ASSERT_FALSE(st.ok()) << words;
    EXPECT_NE(st.message().find(words), std::string::npos) << st.message();
    EXPECT_FALSE(c.verify("c", w).ok()) << words;
  };
  auto too_few = cert;
  too_few.commits.pop_back();
  expect_rejected(too_few, witnesses, "quorum is 3 of 4");
  auto forged = cert;
  forged.commits[1].signature[0] ^= 1;
  expect_rejected(forged, witnesses, "bad signature");
  auto other_block = cert;
  other_block.block_hash[0] ^= 1;
  expect_rejected(other_block, witnesses, "bad signature");
  auto unsorted = cert;
  std::swap(unsorted.commits[0], unsorted.commits[1]);
  expect_rejected(unsorted, witnesses, "not sorted");
  std::vector<ledger::Address> others(witnesses.begin() + 1, witnesses.end());
  others.push_back(crypto::address_bytes_of(vote_key(9).public_key()));
  util::Status st = verify_certificate(cert, "c", others, checker);  // vote_key(1) is no witness
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("not a witness"), std::string::npos) << st.message();
  auto nil = cert;
  nil.block_hash = ledger::Hash{};
  expect_rejected(nil, witnesses, "nil block");
}

}  // namespace
}  // namespace imet::consensus
