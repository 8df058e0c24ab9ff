// Test helpers for the ledger: deterministic keys, a funded in-memory state, transaction
// builders that track nonces, and a supply counter over every record that holds coins.
#pragma once

#include <algorithm>
#include <map>

#include "ledger/apply.h"
#include "ledger/vote.h"

namespace imet::ledger::testing {

inline crypto::SigningKey key_from(uint8_t b) {
  crypto::Seed seed{};
  seed.fill(b);
  seed[31] = 0x5a;
  return crypto::SigningKey::from_seed(seed);
}

inline Address addr_of(const crypto::SigningKey& k) {
  return crypto::address_bytes_of(k.public_key());
}

// A COMMIT vote of `k` for (height, attempt, hash).
inline WitnessVote commit_vote(const crypto::SigningKey& k, std::string_view chain_id,
                               uint64_t height, const Hash& hash, uint32_t attempt = 0,
                               VoteType type = VoteType::kCommit) {
  WitnessVote v;
  v.chain_id = std::string(chain_id);
  v.type = type;
  v.height = height;
  v.attempt = attempt;
  v.block_hash = hash;
  v.sign(k);
  return v;
}

// A finality certificate of (height, hash) signed by `signers` (COMMITs at `attempt`).
inline FinalityCertificate certify(std::string_view chain_id, uint64_t height, const Hash& hash,
                                   const std::vector<const crypto::SigningKey*>& signers,
                                   uint32_t attempt = 0) {
  FinalityCertificate c;
  c.height = height;
  c.attempt = attempt;
  c.block_hash = hash;
  for (const crypto::SigningKey* k : signers) {
    WitnessVote v = commit_vote(*k, chain_id, height, hash, attempt);
    c.commits.push_back({v.voter, v.signature});
  }
  std::sort(c.commits.begin(), c.commits.end());
  return c;
}

class LedgerFixture {
 public:
  LedgerFixture() {
    ctx_.params = &params_;
    ctx_.chain_id = chain_id_;
    ctx_.height = 1;
    ctx_.time_ms = 1'000'000;
    ctx_.producer = addr_of(key_from(200));
  }

  void fund(const crypto::SigningKey& k, Amount amount, std::optional<LockSchedule> lock = {}) {
    StateOverlay o(&state_);
    Account acc =
        get_record<Account>(state_, keys::account(addr_of(k))).value().value_or(Account{});
    acc.balance += amount;
    acc.lock = lock;
    put_record(o, keys::account(addr_of(k)), acc);
    state_.apply(o.changes());
    minted_ += amount;
  }

  Transaction make(const crypto::SigningKey& k, TxBody body, std::optional<Amount> fee = {}) {
    Transaction tx;
    tx.chain_id = chain_id_;
    tx.nonce = nonces_[addr_of(k)];
    tx.body = std::move(body);
    tx.fee = fee.value_or(params_.fees.min_fee(tx.kind()));
    tx.expiry_height = ctx_.height + 10;
    tx.sign(k);
    return tx;
  }

  // Full path: stateless checks, then apply and commit. Advances the sender's nonce on success.
  TxResult submit(const Transaction& tx) {
    if (auto e = check_stateless(tx, params_, chain_id_)) return e;
    StateOverlay o(&state_);
    if (auto e = apply_transaction(o, tx, ctx_)) {
      EXPECT_TRUE(o.changes().empty()) << "a rejected transaction changed the state";
      return e;
    }
    state_.apply(o.changes());
    nonces_[tx.sender_address()] = tx.nonce + 1;
    return std::nullopt;
  }
  TxResult send(const crypto::SigningKey& k, TxBody body, std::optional<Amount> fee = {}) {
    return submit(make(k, std::move(body), fee));
  }

  Account account(const crypto::SigningKey& k) const { return account(addr_of(k)); }
  Account account(const Address& a) const {
    return get_record<Account>(state_, keys::account(a)).value().value_or(Account{});
  }

  // Sum of every coin held in accounts (balance, stake, unbonding) and node stakes.
  Amount total_coins() const {
    detail::U128 sum = 0;
    for (const auto& [k, v] : state_.entries()) {
      if (k[0] == 'a') {
        Account a = codec::decode<Account>(v).value();
        sum += a.balance + a.stake;
        for (const auto& u : a.unbonding)
          sum += u.amount;
      } else if (k[0] == 'n') {
        sum += codec::decode<NodeRecord>(v).value().stake;
      }
    }
    return static_cast<Amount>(sum);
  }

  ChainParams params_;
  std::string chain_id_ = "imet-test";
  BlockContext ctx_;
  MemoryState state_;
  std::map<Address, uint64_t> nonces_;
  Amount minted_ = 0;
};

}  // namespace imet::ledger::testing
