#include "ledger/transaction.h"

#include <gtest/gtest.h>

#include "ledger_test_util.h"

namespace imet::ledger {
namespace {

using testing::key_from;

Transaction sample(TxBody body) {
  Transaction tx;
  tx.chain_id = "imet-test";
  tx.nonce = 7;
  tx.fee = imet(1);
  tx.expiry_height = 100;
  tx.body = std::move(body);
  tx.sign(key_from(1));
  return tx;
}

TEST(Transaction, EveryKindRoundTripsAndVerifies) {
  for (size_t k = 1; k <= kTxKindCount; ++k) {
    Transaction tx = sample(make_body(static_cast<TxKind>(k)));
    EXPECT_EQ(static_cast<size_t>(tx.kind()), k);
    util::Bytes enc = codec::encode(tx);
    auto back = codec::decode<Transaction>(enc);
    ASSERT_TRUE(back.ok()) << tx_kind_name(tx.kind()) << ": " << back.status().to_string();
    EXPECT_EQ(*back, tx);
    EXPECT_TRUE(back->signature_valid());
    EXPECT_EQ(back->id(), tx.id());
  }
}

TEST(Transaction, WireLayoutStartsWithFieldsInOrder) {
  Transaction tx = sample(Stake{imet(2)});
  util::Bytes enc = codec::encode(tx);
  // chain id: varint length 9 then "imet-test"
  ASSERT_GE(enc.size(), 10u);
  EXPECT_EQ(enc[0], 9);
  EXPECT_EQ(std::string(enc.begin() + 1, enc.begin() + 10), "imet-test");
  // sender (32), nonce 7 LE (8), fee (8), expiry (8), kind byte = 8 (stake), amount LE (8), sig
  // (64)
  size_t off = 10 + 32;
  EXPECT_EQ(enc[off], 7);
  off += 8 + 8 + 8;
  EXPECT_EQ(enc[off], 8);
  EXPECT_EQ(enc.size(), off + 1 + 8 + 64);
}

TEST(Transaction, SignatureCoversEveryFieldAndChain) {
  Transaction tx =
      sample(Transfer{crypto::address_bytes_of(key_from(2).public_key()), imet(3), {}});
  ASSERT_TRUE(tx.signature_valid());
  auto mutated = [&](auto&& change) {
    Transaction t = tx;
    change(t);
    return t.signature_valid();
  };
  EXPECT_FALSE(mutated([](Transaction& t) { t.chain_id = "imet-other"; }));
  EXPECT_FALSE(mutated([](Transaction& t) { t.nonce++; }));
  EXPECT_FALSE(mutated([](Transaction& t) { t.fee++; }));
  EXPECT_FALSE(mutated([](Transaction& t) { t.expiry_height++; }));
  EXPECT_FALSE(mutated([](Transaction& t) { std::get<Transfer>(t.body).amount++; }));
  EXPECT_FALSE(mutated([](Transaction& t) { t.sender = key_from(3).public_key(); }));
  EXPECT_FALSE(mutated([](Transaction& t) { t.signature[0] ^= 1; }));
}

TEST(Transaction, RejectsMalformedEncodings) {
  util::Bytes enc = codec::encode(sample(Vote{}));
  // Unknown kind byte.
  util::Bytes bad_kind = enc;
  size_t kind_off = 10 + 32 + 24;
  bad_kind[kind_off] = 99;
  EXPECT_FALSE(codec::decode<Transaction>(bad_kind).ok());
  bad_kind[kind_off] = 0;
  EXPECT_FALSE(codec::decode<Transaction>(bad_kind).ok());
  // Truncated anywhere.
  for (size_t cut = 0; cut < enc.size(); ++cut) {
    EXPECT_FALSE(codec::decode<Transaction>(util::ByteSpan(enc.data(), cut)).ok()) << cut;
  }
  // Trailing byte.
  util::Bytes longer = enc;
  longer.push_back(0);
  EXPECT_FALSE(codec::decode<Transaction>(longer).ok());
  // Unsorted votes are not canonical.
  Vote v;
  v.delegates = {Address{}, Address{}};
  v.delegates[0][0] = 2;
  v.delegates[1][0] = 1;
  EXPECT_FALSE(codec::validate(sample(v)).ok());
}

}  // namespace
}  // namespace imet::ledger
