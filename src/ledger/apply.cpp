#include "ledger/apply.h"

#include <algorithm>

#include "ledger/delegates.h"
#include "ledger/pod.h"
#include "ledger/schedule.h"

namespace imet::ledger {

namespace {

// Runs one kind-specific step with access to the transaction overlay and the sender's account.
class Applier {
 public:
  Applier(StateOverlay& state, const Transaction& tx, const BlockContext& ctx)
      : state_(state), tx_(tx), ctx_(ctx), params_(*ctx.params) {}

  TxResult run() {
    sender_addr_ = tx_.sender_address();
    if (auto e = load_account(sender_addr_, sender_)) return e;
    sender_stored_ = sender_;
    sender_.release_unbonded(ctx_.time_ms);
    if (ctx_.height > tx_.expiry_height) {
      return tx_error(Reject::kExpired, "expired at height " + std::to_string(tx_.expiry_height) +
                                            ", now " + std::to_string(ctx_.height));
    }
    if (tx_.nonce < sender_.nonce) {
      return tx_error(Reject::kNonceTooLow, "nonce " + std::to_string(tx_.nonce) +
                                                " already used; next is " +
                                                std::to_string(sender_.nonce));
    }
    if (tx_.nonce > sender_.nonce) {
      return tx_error(Reject::kNonceTooHigh, "nonce " + std::to_string(tx_.nonce) +
                                                 " skips ahead; next is " +
                                                 std::to_string(sender_.nonce));
    }
    if (auto e = spend(tx_.fee, "the fee")) return e;
    sender_.nonce++;
    if (auto e = std::visit([this](const auto& body) { return apply(body); }, tx_.body)) return e;
    if (auto e = save_sender()) return e;
    if (tx_.fee > 0) return credit(ctx_.producer, tx_.fee);
    return std::nullopt;
  }

 private:
  // ---- helpers ----
  TxResult state_error(const util::Status& st) {
    return tx_error(Reject::kStateError, st.message());
  }

  TxResult load_account(const Address& a, Account& out) {
    auto r = get_record<Account>(state_, keys::account(a));
    if (!r.ok()) return state_error(r.status());
    out = r->value_or(Account{});
    return std::nullopt;
  }
  // Stores an account through write_account() (which keeps the delegates' tallies exact).
  TxResult save_account(const Address& a, const Account& before, const Account& after) {
    util::Status st = write_account(state_, a, before, after);
    if (!st.ok()) return state_error(st);
    return std::nullopt;
  }
  TxResult save_sender() {
    if (auto e = save_account(sender_addr_, sender_stored_, sender_)) return e;
    sender_stored_ = sender_;
    return std::nullopt;
  }
  TxResult credit(const Address& a, Amount amount) {
    Account acc;
    if (auto e = load_account(a, acc)) return e;
    const Account before = acc;
    auto sum = add(acc.balance, amount);
    if (!sum)
      return tx_error(Reject::kInvalidAmount,
                      "balance of " + crypto::encode_address(a) + " would overflow");
    acc.balance = *sum;
    return save_account(a, before, acc);
  }
  // Debits `amount` of transferable (unlocked) coins from the sender.
  TxResult spend(Amount amount, const char* what) {
    if (sender_.balance < amount) {
      return tx_error(Reject::kInsufficientFunds,
                      std::string("balance ") + format_amount(sender_.balance) +
                          " IMET does not cover " + what + " (" + format_amount(amount) + " IMET)");
    }
    Amount free = sender_.transferable(ctx_.time_ms);
    if (free < amount) {
      return tx_error(Reject::kFundsLocked, std::string("only ") + format_amount(free) +
                                                " IMET is unlocked; " + what + " needs " +
                                                format_amount(amount) + " IMET");
    }
    sender_.balance -= amount;
    return std::nullopt;
  }
  template <typename T>
  TxResult load(const util::Bytes& key, std::optional<T>& out) {
    auto r = get_record<T>(state_, key);
    if (!r.ok()) return state_error(r.status());
    out = std::move(r).value();
    return std::nullopt;
  }
  TxResult add_unbonding(Amount amount) {
    if (sender_.unbonding.size() >= kMaxUnbonding) {
      return tx_error(Reject::kUnbondingFull, "too many unbonding entries (" +
                                                  std::to_string(kMaxUnbonding) +
                                                  "); wait for some to be released");
    }
    sender_.unbonding.push_back({amount, ctx_.time_ms + params_.unbonding_ms});
    std::stable_sort(
        sender_.unbonding.begin(), sender_.unbonding.end(),
        [](const Unbonding& a, const Unbonding& b) { return a.release_ms < b.release_ms; });
    return std::nullopt;
  }

  // ---- kinds ----
  TxResult apply(const Transfer& t) {
    if (t.amount == 0) return tx_error(Reject::kInvalidAmount, "transfer amount must be positive");
    if (auto e = spend(t.amount, "the amount (after the fee)")) return e;
    if (t.to == sender_addr_) {
      sender_.balance += t.amount;
      return std::nullopt;
    }
    if (auto e = save_sender()) return e;
    if (auto e = credit(t.to, t.amount)) return e;
    if (auto e = load_account(sender_addr_, sender_)) return e;
    sender_stored_ = sender_;
    return std::nullopt;
  }

  TxResult apply(const Vote& v) {
    if (v.delegates.size() > params_.max_votes) {
      return tx_error(Reject::kTooManyVotes, "votes for " + std::to_string(v.delegates.size()) +
                                                 " delegates; the limit is " +
                                                 std::to_string(params_.max_votes));
    }
    for (const Address& d : v.delegates) {
      std::optional<Delegate> del;
      if (auto e = load(keys::delegate(d), del)) return e;
      if (!del)
        return tx_error(Reject::kUnknownDelegate,
                        crypto::encode_address(d) + " is not a registered delegate");
    }
    sender_.votes = v.delegates;
    return std::nullopt;
  }

  TxResult apply(const RegisterDelegate& r) {
    if (r.name.empty() || !valid_name(r.name)) {
      return tx_error(Reject::kInvalidField,
                      "delegate name '" + r.name + "' must be 1-32 of a-z, 0-9, '-' and '.'");
    }
    std::optional<Delegate> existing;
    if (auto e = load(keys::delegate(sender_addr_), existing)) return e;
    if (existing)
      return tx_error(Reject::kAlreadyDelegate, "already a delegate ('" + existing->name + "')");
    util::Status listed = list_delegate(state_, sender_addr_);
    if (!listed.ok()) {
      if (listed.code() != util::StatusCode::kInvalidArgument) return state_error(listed);
      return tx_error(Reject::kDelegateLimit, listed.message());
    }
    Delegate d;
    d.name = r.name;
    d.registered_height = ctx_.height;
    put_record(state_, keys::delegate(sender_addr_), d);
    return std::nullopt;
  }

  TxResult apply(const UnregisterDelegate&) {
    std::optional<Delegate> existing;
    if (auto e = load(keys::delegate(sender_addr_), existing)) return e;
    if (!existing) return tx_error(Reject::kNotDelegate, "not a registered delegate");
    // A jailed delegate may not leave (and come back unjailed by registering again).
    auto sched = get_record<RoundSchedule>(state_, keys::schedule());
    if (!sched.ok()) return state_error(sched.status());
    const uint64_t round = *sched ? (*sched)->round : 0;
    if (!eligible_for(*existing, round + 1)) {
      return tx_error(Reject::kJailed, "jailed until round " +
                                           std::to_string(existing->jailed_until_round) +
                                           "; unregister after that");
    }
    util::Status unlisted = unlist_delegate(state_, sender_addr_);
    if (!unlisted.ok()) return state_error(unlisted);
    state_.erase(keys::delegate(sender_addr_));
    return std::nullopt;
  }

  TxResult check_node_info(const NodeInfo& info) {
    for (const std::string& e : info.endpoints) {
      if (e.empty()) return tx_error(Reject::kInvalidField, "an endpoint is empty");
    }
    return std::nullopt;
  }

  TxResult apply(const RegisterNode& r) {
    Address node_addr = crypto::address_bytes_of(r.node_key);
    std::optional<NodeRecord> existing;
    if (auto e = load(keys::node(node_addr), existing)) return e;
    if (existing)
      return tx_error(Reject::kNodeExists,
                      "node " + crypto::encode_address(node_addr) + " is already registered");
    if (!crypto::verify(r.node_key, node_ownership_message(ctx_.chain_id, tx_.sender),
                        r.node_signature)) {
      return tx_error(Reject::kBadNodeSignature,
                      "node_signature is not the node key's signature of this owner");
    }
    if (auto e = check_node_info(r.info)) return e;
    if (r.stake > 0) {
      if (auto e = spend(r.stake, "the node stake")) return e;
    }
    put_record(state_, keys::node(node_addr),
               NodeRecord{r.node_key, sender_addr_, r.info, r.stake, ctx_.height});
    return std::nullopt;
  }

  TxResult owned_node(const PublicKey& key, std::optional<NodeRecord>& node) {
    Address node_addr = crypto::address_bytes_of(key);
    if (auto e = load(keys::node(node_addr), node)) return e;
    if (!node)
      return tx_error(Reject::kUnknownNode,
                      "node " + crypto::encode_address(node_addr) + " is not registered");
    if (node->owner != sender_addr_) {
      return tx_error(Reject::kNotOwner, "node " + crypto::encode_address(node_addr) +
                                             " belongs to " + crypto::encode_address(node->owner));
    }
    return std::nullopt;
  }

  TxResult apply(const UpdateNode& u) {
    std::optional<NodeRecord> node;
    if (auto e = owned_node(u.node_key, node)) return e;
    if (auto e = check_node_info(u.info)) return e;
    node->info = u.info;
    put_record(state_, keys::node(crypto::address_bytes_of(u.node_key)), *node);
    return std::nullopt;
  }

  TxResult apply(const UnregisterNode& u) {
    std::optional<NodeRecord> node;
    if (auto e = owned_node(u.node_key, node)) return e;
    if (node->stake > 0) {
      if (auto e = add_unbonding(node->stake)) return e;
    }
    state_.erase(keys::node(crypto::address_bytes_of(u.node_key)));
    return std::nullopt;
  }

  TxResult apply(const Stake& s) {
    if (s.amount == 0) return tx_error(Reject::kInvalidAmount, "stake amount must be positive");
    // Locked coins may be staked: only the balance must cover it (the lock keeps covering the
    // staked coins, since it applies to everything the account owns).
    if (sender_.balance < s.amount) {
      return tx_error(Reject::kInsufficientFunds, "balance " + format_amount(sender_.balance) +
                                                      " IMET does not cover the stake " +
                                                      format_amount(s.amount) + " IMET");
    }
    sender_.balance -= s.amount;
    sender_.stake += s.amount;
    return std::nullopt;
  }

  TxResult apply(const Unstake& u) {
    if (u.amount == 0) return tx_error(Reject::kInvalidAmount, "unstake amount must be positive");
    if (u.amount > sender_.stake) {
      return tx_error(Reject::kInsufficientStake, "staked " + format_amount(sender_.stake) +
                                                      " IMET, cannot unstake " +
                                                      format_amount(u.amount) + " IMET");
    }
    if (auto e = add_unbonding(u.amount)) return e;
    sender_.stake -= u.amount;
    return std::nullopt;
  }

  TxResult apply(const PodSettle& p) { return apply_pod_settle(state_, p, sender_addr_, ctx_); }

  TxResult apply(const Notarize& n) {
    std::optional<Notarization> existing;
    if (auto e = load(keys::notarization(n.content_hash), existing)) return e;
    if (existing) {
      return tx_error(Reject::kAlreadyNotarized,
                      "content " + util::to_hex(n.content_hash) + " was notarized by " +
                          crypto::encode_address(existing->owner) + " at height " +
                          std::to_string(existing->height));
    }
    put_record(state_, keys::notarization(n.content_hash),
               Notarization{sender_addr_, n.size, n.metadata, ctx_.height, ctx_.time_ms});
    return std::nullopt;
  }

  TxResult apply(const Anchor& a) {
    if (a.log_id.empty()) return tx_error(Reject::kInvalidField, "anchor log_id is empty");
    std::optional<AnchorLog> log;
    if (auto e = load(keys::anchor_log(a.log_id), log)) return e;
    if (log) {
      if (log->owner != sender_addr_) {
        return tx_error(Reject::kNotOwner, "log '" + a.log_id + "' is anchored by " +
                                               crypto::encode_address(log->owner));
      }
      if (a.height <= log->last_height) {
        return tx_error(Reject::kAnchorNotIncreasing,
                        "log '" + a.log_id + "' is anchored up to height " +
                            std::to_string(log->last_height) + "; heights must increase");
      }
    }
    put_record(state_, keys::anchor_log(a.log_id),
               AnchorLog{sender_addr_, a.height, a.root, ctx_.height});
    return std::nullopt;
  }

  TxResult check_target(const NameTarget& t) {
    if (t.value.empty()) return tx_error(Reject::kInvalidField, "name target is empty");
    return std::nullopt;
  }

  TxResult apply(const NameRegister& n) {
    if (!valid_name(n.name)) {
      return tx_error(Reject::kInvalidField, "name '" + n.name +
                                                 "' must be 1-64 of a-z, 0-9, '-' and '.', not "
                                                 "starting or ending with '-' or '.'");
    }
    if (auto e = check_target(n.target)) return e;
    std::optional<NameRecord> existing;
    if (auto e = load(keys::name(n.name), existing)) return e;
    if (existing)
      return tx_error(Reject::kNameTaken, "name '" + n.name + "' belongs to " +
                                              crypto::encode_address(existing->owner));
    put_record(state_, keys::name(n.name),
               NameRecord{sender_addr_, n.target, ctx_.height, ctx_.height});
    return std::nullopt;
  }

  TxResult apply(const NameUpdate& n) {
    if (auto e = check_target(n.target)) return e;
    std::optional<NameRecord> existing;
    if (auto e = load(keys::name(n.name), existing)) return e;
    if (!existing) return tx_error(Reject::kUnknownName, "name '" + n.name + "' is not registered");
    if (existing->owner != sender_addr_) {
      return tx_error(Reject::kNotOwner, "name '" + n.name + "' belongs to " +
                                             crypto::encode_address(existing->owner));
    }
    existing->target = n.target;
    existing->updated_height = ctx_.height;
    put_record(state_, keys::name(n.name), *existing);
    return std::nullopt;
  }

  TxResult apply(const DeviceRegister& d) {
    Address dev_addr = crypto::address_bytes_of(d.device_key);
    std::optional<DeviceRecord> existing;
    if (auto e = load(keys::device(dev_addr), existing)) return e;
    if (existing)
      return tx_error(Reject::kDeviceExists,
                      "device " + crypto::encode_address(dev_addr) + " is already registered");
    if (d.sponsor != tx_.sender) {
      if (!d.sponsor_signature ||
          !crypto::verify(d.sponsor, sponsor_message(ctx_.chain_id, d.device_key, tx_.sender),
                          *d.sponsor_signature)) {
        return tx_error(Reject::kBadSponsorSignature,
                        "a sponsor other than the owner must sign its consent (sponsor_signature)");
      }
    }
    put_record(state_, keys::device(dev_addr),
               DeviceRecord{d.device_key, sender_addr_, d.default_tier,
                            crypto::address_bytes_of(d.sponsor), ctx_.height});
    return std::nullopt;
  }

  StateOverlay& state_;
  const Transaction& tx_;
  const BlockContext& ctx_;
  const ChainParams& params_;
  Address sender_addr_{};
  Account sender_;
  Account sender_stored_;  // what the overlay holds for the sender (write_account's `before`)
};

}  // namespace

const char* reject_name(Reject r) {
  switch (r) {
    case Reject::kMalformed:
      return "malformed";
    case Reject::kTooLarge:
      return "too_large";
    case Reject::kWrongChain:
      return "wrong_chain";
    case Reject::kBadSignature:
      return "bad_signature";
    case Reject::kExpired:
      return "expired";
    case Reject::kExpiryTooFar:
      return "expiry_too_far";
    case Reject::kNonceTooLow:
      return "nonce_too_low";
    case Reject::kNonceTooHigh:
      return "nonce_too_high";
    case Reject::kFeeTooLow:
      return "fee_too_low";
    case Reject::kInsufficientFunds:
      return "insufficient_funds";
    case Reject::kFundsLocked:
      return "funds_locked";
    case Reject::kInvalidAmount:
      return "invalid_amount";
    case Reject::kTooManyVotes:
      return "too_many_votes";
    case Reject::kUnknownDelegate:
      return "unknown_delegate";
    case Reject::kAlreadyDelegate:
      return "already_delegate";
    case Reject::kNotDelegate:
      return "not_delegate";
    case Reject::kNodeExists:
      return "node_exists";
    case Reject::kUnknownNode:
      return "unknown_node";
    case Reject::kNotOwner:
      return "not_owner";
    case Reject::kBadNodeSignature:
      return "bad_node_signature";
    case Reject::kInvalidField:
      return "invalid_field";
    case Reject::kInsufficientStake:
      return "insufficient_stake";
    case Reject::kUnbondingFull:
      return "unbonding_full";
    case Reject::kAlreadyNotarized:
      return "already_notarized";
    case Reject::kAnchorNotIncreasing:
      return "anchor_not_increasing";
    case Reject::kNameTaken:
      return "name_taken";
    case Reject::kUnknownName:
      return "unknown_name";
    case Reject::kDeviceExists:
      return "device_exists";
    case Reject::kBadSponsorSignature:
      return "bad_sponsor_signature";
    case Reject::kNotSupported:
      return "not_supported";
    case Reject::kStateError:
      return "state_error";
    case Reject::kDuplicate:
      return "duplicate";
    case Reject::kMempoolFull:
      return "mempool_full";
    case Reject::kReplacementUnderpriced:
      return "replacement_underpriced";
    case Reject::kAccountLimit:
      return "account_limit";
    case Reject::kWrongEpoch:
      return "wrong_epoch";
    case Reject::kStaleReceipt:
      return "stale_receipt";
    case Reject::kDuplicateReceipt:
      return "duplicate_receipt";
    case Reject::kSameOwner:
      return "same_owner";
    case Reject::kBadReceiptSignature:
      return "bad_receipt_signature";
    case Reject::kNodeStakeTooLow:
      return "node_stake_too_low";
    case Reject::kDelegateLimit:
      return "delegate_limit";
    case Reject::kJailed:
      return "jailed";
  }
  return "unknown";
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxName) return false;
  auto edge = [](char c) { return c == '-' || c == '.'; };
  if (edge(name.front()) || edge(name.back())) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

TxResult check_stateless(const Transaction& tx, const ChainParams& params,
                         std::string_view chain_id, bool verify_signature) {
  util::Status valid = codec::validate(tx);
  if (!valid.ok()) return tx_error(Reject::kMalformed, valid.message());
  size_t size = codec::encoded_size(tx);
  if (size > params.max_tx_bytes) {
    return tx_error(Reject::kTooLarge, "transaction is " + std::to_string(size) +
                                           " bytes; the limit is " +
                                           std::to_string(params.max_tx_bytes));
  }
  if (tx.chain_id != chain_id) {
    return tx_error(Reject::kWrongChain, "signed for chain '" + tx.chain_id + "', this is '" +
                                             std::string(chain_id) + "'");
  }
  Amount min_fee = params.fees.min_fee(tx.kind());
  if (tx.fee < min_fee) {
    return tx_error(Reject::kFeeTooLow, std::string("fee ") + format_amount(tx.fee) +
                                            " IMET is below the " + tx_kind_name(tx.kind()) +
                                            " minimum " + format_amount(min_fee) + " IMET");
  }
  if (verify_signature && !tx.signature_valid()) {
    return tx_error(Reject::kBadSignature, "the signature does not verify for the sender's key");
  }
  return std::nullopt;
}

TxResult apply_transaction(StateOverlay& state, const Transaction& tx, const BlockContext& ctx) {
  StateOverlay tx_state(&state);
  Applier applier(tx_state, tx, ctx);
  if (auto e = applier.run()) return e;
  tx_state.merge_into(state);
  return std::nullopt;
}

}  // namespace imet::ledger
