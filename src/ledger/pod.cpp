#include "ledger/pod.h"

#include <algorithm>
#include <map>
#include <set>

#include "ledger/delegates.h"

namespace imet::ledger {

namespace {

util::Bytes with_prefix(uint8_t prefix, util::ByteSpan id) {
  util::Bytes out(1 + id.size());
  out[0] = prefix;
  std::copy(id.begin(), id.end(), out.begin() + 1);
  return out;
}

util::Bytes with_height(uint8_t prefix, uint64_t v) {
  util::Bytes out(9);
  out[0] = prefix;
  for (int i = 0; i < 8; ++i)
    out[1 + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (56 - 8 * i));
  return out;
}

uint64_t sat_add(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

uint64_t sat_mul(uint64_t a, uint64_t b) {
  if (a != 0 && b > UINT64_MAX / a) return UINT64_MAX;
  return a * b;
}

template <typename T, typename Key>
T& find_or_insert(std::vector<T>& v, const Key& key, Key T::*member) {
  auto it = std::lower_bound(v.begin(), v.end(), key,
                             [member](const T& e, const Key& k) { return e.*member < k; });
  if (it == v.end() || (*it).*member != key) {
    T fresh{};
    fresh.*member = key;
    it = v.insert(it, std::move(fresh));
  }
  return *it;
}

// Pays epoch `epoch`'s pool to its relayers' owners; the remainder returns to the PoD pool.
util::Status pay_epoch(StateOverlay& state, uint64_t epoch) {
  IMET_ASSIGN_OR_RETURN(std::optional<EpochRecord> rec,
                        get_record<EpochRecord>(state, keys::pod_epoch(epoch)));
  if (!rec) return {};
  IMET_ASSIGN_OR_RETURN(std::optional<Globals> g, get_record<Globals>(state, keys::globals()));
  if (!g) return util::corruption("state has no globals record");
  if (g->epoch_reward < rec->pool) {
    return util::corruption("epoch " + std::to_string(epoch) + " pool exceeds epoch_reward");
  }
  Amount paid = 0;
  if (rec->total_weight > 0) {
    for (const RelayerShare& r : rec->relayers) {
      Amount share = mul_div(rec->pool, r.weight, rec->total_weight).value_or(0);
      if (share == 0) continue;
      IMET_ASSIGN_OR_RETURN(std::optional<Account> acc,
                            get_record<Account>(state, keys::account(r.owner)));
      Account before = acc.value_or(Account{});
      Account a = before;
      a.balance += share;  // cannot overflow: bounded by the total supply
      IMET_TRY(write_account(state, r.owner, before, a));
      paid += share;
    }
  }
  g->epoch_reward -= rec->pool;
  g->pod_pool += rec->pool - paid;
  put_record(state, keys::globals(), *g);
  state.erase(keys::pod_epoch(epoch));
  return {};
}

}  // namespace

namespace keys {
util::Bytes pod_epoch(uint64_t epoch) {
  return with_height('e', epoch);
}
util::Bytes settled_receipt(const Hash& id) {
  return with_prefix('x', id);
}
util::Bytes recent_by_hash(const Hash& hash) {
  return with_prefix('r', hash);
}
util::Bytes recent_by_height(uint64_t height) {
  return with_height('R', height);
}
}  // namespace keys

util::Bytes receipt_signing_bytes(std::string_view chain_id, const PodReceipt& r) {
  util::Bytes body;
  codec::Writer w(body);
  const_cast<PodReceipt&>(r).serde_unsigned(w);
  std::string_view tag = "IMET/pod-receipt/v1";
  util::Bytes out(tag.size() + 1 + chain_id.size() + 1 + body.size(), 0);
  auto it = std::copy(tag.begin(), tag.end(), out.begin()) + 1;
  it = std::copy(chain_id.begin(), chain_id.end(), it) + 1;
  std::copy(body.begin(), body.end(), it);
  return out;
}

Hash receipt_id(std::string_view chain_id, const PodReceipt& r) {
  return crypto::blake2b_256(receipt_signing_bytes(chain_id, r));
}

void sign_receipt(PodReceipt& r, std::string_view chain_id, const crypto::SigningKey& receiver) {
  r.receiver = receiver.public_key();
  r.receiver_signature = receiver.sign(receipt_signing_bytes(chain_id, r));
}

util::Status begin_block(StateOverlay& state, uint64_t height, const Hash& prev_hash,
                         const ChainParams& params) {
  if (height == 0) return {};
  const uint64_t parent = height - 1;
  put_record(state, keys::recent_by_height(parent), RecentBlock{parent, prev_hash});
  put_record(state, keys::recent_by_hash(prev_hash), RecentBlock{parent, prev_hash});
  if (parent >= params.pod.entropy_blocks) {
    uint64_t old = parent - params.pod.entropy_blocks;
    IMET_ASSIGN_OR_RETURN(std::optional<RecentBlock> gone,
                          get_record<RecentBlock>(state, keys::recent_by_height(old)));
    if (gone) {
      state.erase(keys::recent_by_height(old));
      state.erase(keys::recent_by_hash(gone->hash));
    }
  }
  const uint64_t epoch = params.pod.epoch_of(height);
  if (epoch >= 2 && height % params.pod.epoch_blocks == 0) IMET_TRY(pay_epoch(state, epoch - 2));
  return {};
}

util::Status add_to_epoch_pool(StateOverlay& state, uint64_t height, Amount amount,
                               const ChainParams& params) {
  if (amount == 0) return {};
  util::Bytes key = keys::pod_epoch(params.pod.epoch_of(height));
  IMET_ASSIGN_OR_RETURN(std::optional<EpochRecord> rec, get_record<EpochRecord>(state, key));
  EpochRecord r = rec.value_or(EpochRecord{});
  r.pool += amount;
  put_record(state, key, r);
  return {};
}

TxResult apply_pod_settle(StateOverlay& state, const PodSettle& settle, const Address& sender,
                          const BlockContext& ctx) {
  const PodParams& pp = ctx.params->pod;
  if (settle.receipts.empty()) return tx_error(Reject::kInvalidField, "pod_settle has no receipts");
  const uint64_t now_epoch = pp.epoch_of(ctx.height);
  std::map<uint64_t, EpochRecord> epochs;  // loaded lazily, written at the end
  std::set<Hash> seen;
  auto state_error = [](const util::Status& st) {
    return tx_error(Reject::kStateError, st.message());
  };

  for (size_t i = 0; i < settle.receipts.size(); ++i) {
    const PodReceipt& r = settle.receipts[i];
    const std::string at = "receipt " + std::to_string(i) + ": ";
    if (r.bytes == 0 || r.message_count == 0) {
      return tx_error(Reject::kInvalidField, at + "message_count and bytes must be positive");
    }
    if (r.epoch > now_epoch || r.epoch + 1 < now_epoch) {
      return tx_error(Reject::kWrongEpoch,
                      at + "epoch " + std::to_string(r.epoch) + " cannot settle in epoch " +
                          std::to_string(now_epoch) + " (only the current or the previous epoch)");
    }
    const Address relayer_addr = crypto::address_bytes_of(r.relayer);
    const Address receiver_addr = crypto::address_bytes_of(r.receiver);
    if (relayer_addr == receiver_addr) {
      return tx_error(Reject::kSameOwner, at + "relayer and receiver are the same node");
    }
    auto relayer = get_record<NodeRecord>(state, keys::node(relayer_addr));
    if (!relayer.ok()) return state_error(relayer.status());
    if (!*relayer) {
      return tx_error(Reject::kUnknownNode, at + "relayer " + crypto::encode_address(relayer_addr) +
                                                " is not registered");
    }
    if ((*relayer)->owner != sender) {
      return tx_error(Reject::kNotOwner,
                      at + "relayer " + crypto::encode_address(relayer_addr) + " belongs to " +
                          crypto::encode_address((*relayer)->owner) + ", not the sender");
    }
    if ((*relayer)->stake < pp.min_stake) {
      return tx_error(Reject::kNodeStakeTooLow,
                      at + "relayer " + crypto::encode_address(relayer_addr) + " has stake " +
                          format_amount((*relayer)->stake) + " IMET; earning needs at least " +
                          format_amount(pp.min_stake) + " IMET");
    }
    auto receiver = get_record<NodeRecord>(state, keys::node(receiver_addr));
    if (!receiver.ok()) return state_error(receiver.status());
    if (!*receiver) {
      return tx_error(
          Reject::kUnknownNode,
          at + "receiver " + crypto::encode_address(receiver_addr) + " is not registered");
    }
    if ((*receiver)->owner == (*relayer)->owner) {
      return tx_error(Reject::kSameOwner, at + "relayer and receiver are both owned by " +
                                              crypto::encode_address(sender) +
                                              "; such receipts earn nothing");
    }
    if (!crypto::verify(r.receiver, receipt_signing_bytes(ctx.chain_id, r), r.receiver_signature)) {
      return tx_error(
          Reject::kBadReceiptSignature,
          at + "receiver_signature is not the receiver node's signature of this receipt");
    }
    auto entropy = get_record<RecentBlock>(state, keys::recent_by_hash(r.chain_entropy));
    if (!entropy.ok()) return state_error(entropy.status());
    if (!*entropy) {
      return tx_error(Reject::kStaleReceipt, at + "chain_entropy " + util::to_hex(r.chain_entropy) +
                                                 " is not one of the last " +
                                                 std::to_string(pp.entropy_blocks) +
                                                 " block hashes");
    }
    if (pp.epoch_of((*entropy)->height) != r.epoch) {
      return tx_error(Reject::kWrongEpoch, at + "epoch " + std::to_string(r.epoch) +
                                               " does not match its chain_entropy (block " +
                                               std::to_string((*entropy)->height) + ", epoch " +
                                               std::to_string(pp.epoch_of((*entropy)->height)) +
                                               ")");
    }
    const Hash id = receipt_id(ctx.chain_id, r);
    auto settled = get_record<SettledReceipt>(state, keys::settled_receipt(id));
    if (!settled.ok()) return state_error(settled.status());
    if (!seen.insert(id).second) {
      return tx_error(Reject::kDuplicateReceipt,
                      at + "receipt " + util::to_hex(id) + " appears twice in this transaction");
    }
    if (*settled) {
      return tx_error(Reject::kDuplicateReceipt, at + "receipt " + util::to_hex(id) +
                                                     " is already settled (height " +
                                                     std::to_string((*settled)->height) + ")");
    }
    put_record(state, keys::settled_receipt(id), SettledReceipt{r.epoch, ctx.height});

    // Counted weight: tier-weighted bytes, warm-up share, then the pair and stake caps.
    uint64_t weight = sat_mul(r.bytes, pp.tier_weight(r.tier));
    if (pp.epoch_of((*relayer)->registered_height) + pp.warmup_epochs > r.epoch) {
      weight = mul_div(weight, pp.warmup_pct, 100).value_or(0);
    }
    auto it = epochs.find(r.epoch);
    if (it == epochs.end()) {
      auto rec = get_record<EpochRecord>(state, keys::pod_epoch(r.epoch));
      if (!rec.ok()) return state_error(rec.status());
      it = epochs.emplace(r.epoch, rec->value_or(EpochRecord{})).first;
    }
    EpochRecord& rec = it->second;
    RelayerShare& share = find_or_insert(rec.relayers, relayer_addr, &RelayerShare::node);
    share.owner = sender;
    PairWeight& pair = find_or_insert(share.pairs, receiver_addr, &PairWeight::receiver);
    weight = std::min(weight, pp.pair_cap > pair.weight ? pp.pair_cap - pair.weight : 0);
    uint64_t stake_imet = (*relayer)->stake / kUnitsPerImet;
    uint64_t stake_cap = sat_mul(stake_imet, pp.weight_per_staked_imet);
    weight = std::min(weight, stake_cap > share.weight ? stake_cap - share.weight : 0);
    pair.weight += weight;
    share.weight += weight;
    rec.total_weight = sat_add(rec.total_weight, weight);
  }
  for (const auto& [epoch, rec] : epochs)
    put_record(state, keys::pod_epoch(epoch), rec);
  return std::nullopt;
}

}  // namespace imet::ledger
