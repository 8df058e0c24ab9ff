// MemoChecker (the simulation's signature memo): answers exactly as crypto::verify(), including
// for signatures reported by signed_here(), which count only for the exact (key, message,
// signature) reported; --check-signatures mode aborts on a false report.
#include "memo_checker.h"

#include <gtest/gtest.h>

#include "crypto/ed25519.h"

namespace imet::sim {
namespace {

crypto::SigningKey key(uint8_t b) {
  crypto::Seed s{};
  s.fill(b);
  return crypto::SigningKey::from_seed(s);
}

util::Bytes bytes(std::string_view s) {
  return util::Bytes(s.begin(), s.end());
}

TEST(MemoChecker, ARecordedSignatureIsValidWithoutAMissAndOnlyForItsOwnInputs) {
  MemoChecker& memo = MemoChecker::instance();
  const auto k = key(1);
  const util::Bytes msg = bytes("a vote the engine just signed");
  const ledger::Signature sig = k.sign(msg);
  memo.signed_here(k.public_key(), msg, sig);
  const uint64_t misses = memo.misses();
  EXPECT_TRUE(memo.verify(k.public_key(), msg, sig));
  EXPECT_EQ(memo.misses(), misses);  // answered from the record

  // Anything else is verified for real (a miss) and answered as crypto::verify() answers.
  util::Bytes other = msg;
  other.back() ^= 1;
  EXPECT_FALSE(memo.verify(k.public_key(), other, sig));
  ledger::Signature bent = sig;
  bent[10] ^= 1;
  EXPECT_FALSE(memo.verify(k.public_key(), msg, bent));
  EXPECT_FALSE(memo.verify(key(2).public_key(), msg, sig));
  EXPECT_EQ(memo.misses(), misses + 3);
  // And remembered: asked again, no further miss, same answers.
  EXPECT_FALSE(memo.verify(k.public_key(), other, sig));
  EXPECT_FALSE(memo.verify(k.public_key(), msg, bent));
  EXPECT_EQ(memo.misses(), misses + 3);
}

TEST(MemoCheckerDeathTest, CheckModeAbortsOnASignatureThatDoesNotVerify) {
  const auto k = key(3);
  const util::Bytes msg = bytes("signed");
  ledger::Signature sig = k.sign(msg);
  sig[0] ^= 1;
  EXPECT_DEATH(
      {
        MemoChecker::instance().set_check_signed(true);
        MemoChecker::instance().signed_here(k.public_key(), msg, sig);
      },
      "does not verify");
}

}  // namespace
}  // namespace imet::sim
