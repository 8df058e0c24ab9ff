#include "ledger/genesis.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "ledger/apply.h"
#include "ledger/delegates.h"
#include "ledger/schedule.h"

namespace imet::ledger {

namespace {

using nlohmann::json;
constexpr uint64_t kDayMs = 24ull * 3600 * 1000;

util::Status bad(const std::string& m) {
  return util::invalid_argument("genesis: " + m);
}

bool valid_chain_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxChainId) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

// ---- JSON helpers: every field is required unless stated; unknown keys are errors ----
class JsonReader {
 public:
  explicit JsonReader(std::string path) : path_(std::move(path)) {}

  util::Status object(const json& j, std::initializer_list<const char*> allowed) {
    if (!j.is_object()) return bad("'" + path_ + "' must be an object");
    for (const auto& [k, v] : j.items()) {
      bool known = false;
      for (const char* a : allowed)
        known = known || k == a;
      if (!known) return bad("unknown field '" + path_ + (path_.empty() ? "" : ".") + k + "'");
    }
    return {};
  }
  util::Result<const json*> field(const json& j, const char* name) {
    auto it = j.find(name);
    if (it == j.end()) return bad("missing field '" + full(name) + "'");
    return &*it;
  }
  util::Status amount(const json& j, const char* name, Amount& out) {
    IMET_ASSIGN_OR_RETURN(const json* v, field(j, name));
    if (!v->is_string()) return bad("'" + full(name) + "' must be a decimal string like \"12.5\"");
    auto a = parse_amount(v->get<std::string>());
    if (!a.ok()) return bad("'" + full(name) + "': " + a.status().message());
    out = *a;
    return {};
  }
  template <typename T>
  util::Status uint(const json& j, const char* name, T& out) {
    IMET_ASSIGN_OR_RETURN(const json* v, field(j, name));
    if (!v->is_number_unsigned()) return bad("'" + full(name) + "' must be an unsigned integer");
    uint64_t x = v->get<uint64_t>();
    if (x > std::numeric_limits<T>::max()) return bad("'" + full(name) + "' is too large");
    out = static_cast<T>(x);
    return {};
  }
  util::Status string(const json& j, const char* name, std::string& out) {
    IMET_ASSIGN_OR_RETURN(const json* v, field(j, name));
    if (!v->is_string()) return bad("'" + full(name) + "' must be a string");
    out = v->get<std::string>();
    return {};
  }
  util::Status address(const json& j, const char* name, Address& out) {
    std::string s;
    IMET_TRY(string(j, name, s));
    auto a = crypto::parse_address(s);
    if (!a.ok()) return bad("'" + full(name) + "': " + a.status().message());
    out = *a;
    return {};
  }
  JsonReader child(const std::string& name) const {
    return JsonReader(path_.empty() ? name : path_ + "." + name);
  }

 private:
  std::string full(const char* name) const { return path_.empty() ? name : path_ + "." + name; }
  std::string path_;
};

struct FeeField {
  const char* name;
  Amount FeeSchedule::*member;
};
constexpr FeeField kFeeFields[] = {
    {"transfer", &FeeSchedule::transfer},
    {"vote", &FeeSchedule::vote},
    {"register_delegate", &FeeSchedule::register_delegate},
    {"unregister_delegate", &FeeSchedule::unregister_delegate},
    {"register_node", &FeeSchedule::register_node},
    {"update_node", &FeeSchedule::update_node},
    {"unregister_node", &FeeSchedule::unregister_node},
    {"stake", &FeeSchedule::stake},
    {"unstake", &FeeSchedule::unstake},
    {"pod_settle", &FeeSchedule::pod_settle},
    {"notarize", &FeeSchedule::notarize},
    {"anchor", &FeeSchedule::anchor},
    {"name_register", &FeeSchedule::name_register},
    {"name_update", &FeeSchedule::name_update},
    {"device_register", &FeeSchedule::device_register},
};

util::Status read_params(JsonReader r, const json& j, ChainParams& p) {
  IMET_TRY(r.object(j, {"fees",
                        "year_ms",
                        "producer_share_pct",
                        "slot_ms",
                        "n_min",
                        "n_max",
                        "max_missed_slots",
                        "max_votes",
                        "jail_rounds",
                        "evidence_max_age_blocks",
                        "slash_pct",
                        "dec_full_pct",
                        "dec_idle_pct",
                        "dec_congested_pct",
                        "dec_shrink_rounds",
                        "dec_grow_rounds",
                        "unbonding_ms",
                        "max_tx_bytes",
                        "max_block_txs",
                        "max_expiry_blocks",
                        "pod"}));
  IMET_ASSIGN_OR_RETURN(const json* fees, r.field(j, "fees"));
  JsonReader fr = r.child("fees");
  std::vector<const char*> names;
  for (const auto& f : kFeeFields)
    names.push_back(f.name);
  if (!fees->is_object()) return bad("'params.fees' must be an object");
  for (const auto& [k, v] : fees->items()) {
    bool known = false;
    for (const auto& f : kFeeFields)
      known = known || k == f.name;
    if (!known) return bad("unknown field 'params.fees." + k + "'");
  }
  for (const auto& f : kFeeFields)
    IMET_TRY(fr.amount(*fees, f.name, p.fees.*(f.member)));
  IMET_TRY(r.uint(j, "year_ms", p.year_ms));
  IMET_TRY(r.uint(j, "producer_share_pct", p.producer_share_pct));
  IMET_TRY(r.uint(j, "slot_ms", p.slot_ms));
  IMET_TRY(r.uint(j, "n_min", p.n_min));
  IMET_TRY(r.uint(j, "n_max", p.n_max));
  IMET_TRY(r.uint(j, "max_missed_slots", p.max_missed_slots));
  IMET_TRY(r.uint(j, "max_votes", p.max_votes));
  IMET_TRY(r.uint(j, "jail_rounds", p.jail_rounds));
  IMET_TRY(r.uint(j, "evidence_max_age_blocks", p.evidence_max_age_blocks));
  IMET_TRY(r.uint(j, "slash_pct", p.slash_pct));
  IMET_TRY(r.uint(j, "dec_full_pct", p.dec_full_pct));
  IMET_TRY(r.uint(j, "dec_idle_pct", p.dec_idle_pct));
  IMET_TRY(r.uint(j, "dec_congested_pct", p.dec_congested_pct));
  IMET_TRY(r.uint(j, "dec_shrink_rounds", p.dec_shrink_rounds));
  IMET_TRY(r.uint(j, "dec_grow_rounds", p.dec_grow_rounds));
  IMET_TRY(r.uint(j, "unbonding_ms", p.unbonding_ms));
  IMET_TRY(r.uint(j, "max_tx_bytes", p.max_tx_bytes));
  IMET_TRY(r.uint(j, "max_block_txs", p.max_block_txs));
  IMET_TRY(r.uint(j, "max_expiry_blocks", p.max_expiry_blocks));
  IMET_ASSIGN_OR_RETURN(const json* pod, r.field(j, "pod"));
  JsonReader pr = r.child("pod");
  IMET_TRY(pr.object(
      *pod, {"epoch_blocks", "entropy_blocks", "tier1_weight", "tier2_weight", "tier3_weight",
             "pair_cap", "weight_per_staked_imet", "min_stake", "warmup_epochs", "warmup_pct"}));
  IMET_TRY(pr.uint(*pod, "epoch_blocks", p.pod.epoch_blocks));
  IMET_TRY(pr.uint(*pod, "entropy_blocks", p.pod.entropy_blocks));
  IMET_TRY(pr.uint(*pod, "tier1_weight", p.pod.tier1_weight));
  IMET_TRY(pr.uint(*pod, "tier2_weight", p.pod.tier2_weight));
  IMET_TRY(pr.uint(*pod, "tier3_weight", p.pod.tier3_weight));
  IMET_TRY(pr.uint(*pod, "pair_cap", p.pod.pair_cap));
  IMET_TRY(pr.uint(*pod, "weight_per_staked_imet", p.pod.weight_per_staked_imet));
  IMET_TRY(pr.amount(*pod, "min_stake", p.pod.min_stake));
  IMET_TRY(pr.uint(*pod, "warmup_epochs", p.pod.warmup_epochs));
  IMET_TRY(pr.uint(*pod, "warmup_pct", p.pod.warmup_pct));
  return {};
}

json params_json(const ChainParams& p) {
  json fees = json::object();
  for (const auto& f : kFeeFields)
    fees[f.name] = format_amount(p.fees.*(f.member));
  return {{"fees", fees},
          {"year_ms", p.year_ms},
          {"producer_share_pct", p.producer_share_pct},
          {"slot_ms", p.slot_ms},
          {"n_min", p.n_min},
          {"n_max", p.n_max},
          {"max_missed_slots", p.max_missed_slots},
          {"max_votes", p.max_votes},
          {"jail_rounds", p.jail_rounds},
          {"evidence_max_age_blocks", p.evidence_max_age_blocks},
          {"slash_pct", p.slash_pct},
          {"dec_full_pct", p.dec_full_pct},
          {"dec_idle_pct", p.dec_idle_pct},
          {"dec_congested_pct", p.dec_congested_pct},
          {"dec_shrink_rounds", p.dec_shrink_rounds},
          {"dec_grow_rounds", p.dec_grow_rounds},
          {"unbonding_ms", p.unbonding_ms},
          {"max_tx_bytes", p.max_tx_bytes},
          {"max_block_txs", p.max_block_txs},
          {"max_expiry_blocks", p.max_expiry_blocks},
          {"pod",
           {{"epoch_blocks", p.pod.epoch_blocks},
            {"entropy_blocks", p.pod.entropy_blocks},
            {"tier1_weight", p.pod.tier1_weight},
            {"tier2_weight", p.pod.tier2_weight},
            {"tier3_weight", p.pod.tier3_weight},
            {"pair_cap", p.pod.pair_cap},
            {"weight_per_staked_imet", p.pod.weight_per_staked_imet},
            {"min_stake", format_amount(p.pod.min_stake)},
            {"warmup_epochs", p.pod.warmup_epochs},
            {"warmup_pct", p.pod.warmup_pct}}}};
}

}  // namespace

util::Status Genesis::validate() const {
  if (!valid_chain_id(chain_id)) {
    return bad("chain_id '" + chain_id + "' must be 1-64 of a-z, 0-9 and '-'");
  }
  IMET_TRY(params.validate());
  detail::U128 sum = pod_pool;
  std::set<Address> seen;
  for (const GenesisAccount& a : accounts) {
    if (!seen.insert(a.address).second) {
      return bad("account " + crypto::encode_address(a.address) + " is listed twice");
    }
    if (a.lock && a.lock->total > detail::U128{a.balance} + a.stake) {
      return bad("account " + crypto::encode_address(a.address) +
                 " locks more than its balance and stake");
    }
    if (a.lock && a.lock->cliff_ms > a.lock->end_ms) {
      return bad("account " + crypto::encode_address(a.address) + ": lock cliff after its end");
    }
    sum += a.balance;
    sum += a.stake;
  }
  if (sum != kTotalSupply) {
    return bad("allocations sum to " +
               format_amount(static_cast<Amount>(sum > UINT64_MAX ? UINT64_MAX : sum)) +
               " IMET; they must sum to exactly " + format_amount(kTotalSupply) + " IMET");
  }
  std::set<Address> dels;
  for (const GenesisDelegate& d : delegates) {
    if (!dels.insert(d.address).second) {
      return bad("delegate " + crypto::encode_address(d.address) + " is listed twice");
    }
    if (!valid_name(d.name) || d.name.size() > kMaxDelegateName) {
      return bad("delegate name '" + d.name + "' must be 1-32 of a-z, 0-9, '-' and '.'");
    }
  }
  if (delegates.empty()) return bad("at least one delegate is needed to produce blocks");
  if (delegates.size() > kMaxDelegates) {
    return bad("more than " + std::to_string(kMaxDelegates) + " delegates");
  }
  for (const GenesisAccount& a : accounts) {
    if (a.votes.size() > params.max_votes) {
      return bad("account " + crypto::encode_address(a.address) + " votes for " +
                 std::to_string(a.votes.size()) + " delegates; max_votes is " +
                 std::to_string(params.max_votes));
    }
    for (size_t i = 0; i < a.votes.size(); ++i) {
      if (i > 0 && !(a.votes[i - 1] < a.votes[i])) {
        return bad("account " + crypto::encode_address(a.address) +
                   ": votes must be distinct and ascending");
      }
      if (dels.count(a.votes[i]) == 0) {
        return bad("account " + crypto::encode_address(a.address) + " votes for " +
                   crypto::encode_address(a.votes[i]) + ", which is not a genesis delegate");
      }
    }
  }
  return codec::validate(*this);
}

Hash Genesis::hash() const {
  util::Bytes tagged = util::to_bytes("IMET/genesis/v1");
  tagged.push_back(0);
  util::append(tagged, codec::encode(*this));
  return crypto::blake2b_256(tagged);
}

void Genesis::apply(StateOverlay& state) const {
  std::map<Address, Amount> tallies;
  for (const GenesisAccount& a : accounts) {
    Account acc;
    acc.balance = a.balance;
    acc.lock = a.lock;
    acc.stake = a.stake;
    acc.votes = a.votes;
    put_record(state, keys::account(a.address), acc);
    for (const Address& d : a.votes)
      tallies[d] += acc.owned();  // cannot overflow: the total supply is below 2^54
  }
  for (const auto& [d, w] : tallies) {
    if (w > 0) put_record(state, keys::tally(d), Tally{w});
  }
  DelegateList list;
  std::vector<std::pair<Address, Amount>> ranked;
  for (const GenesisDelegate& d : delegates) {
    Delegate rec;
    rec.name = d.name;
    put_record(state, keys::delegate(d.address), rec);
    list.delegates.push_back(d.address);
    ranked.emplace_back(d.address, tallies[d.address]);
  }
  std::sort(list.delegates.begin(), list.delegates.end());
  put_record(state, keys::delegate_list(), list);
  put_record(state, keys::globals(), Globals{pod_pool, 0});
  RoundSchedule s;
  s.round = 0;
  s.start_height = 1;
  const size_t n = std::max<size_t>(1, std::min<size_t>(delegates.size(), params.n_max));
  s.witnesses = elect(std::move(ranked), n, hash(), 0);
  put_record(state, keys::schedule(), s);
}

util::Result<Genesis> parse_genesis_json(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad("not valid JSON");
  JsonReader r("");
  IMET_TRY(
      r.object(j, {"chain_id", "genesis_time_ms", "params", "pod_pool", "accounts", "delegates"}));
  Genesis g;
  IMET_TRY(r.string(j, "chain_id", g.chain_id));
  IMET_TRY(r.uint(j, "genesis_time_ms", g.genesis_time_ms));
  IMET_ASSIGN_OR_RETURN(const json* params, r.field(j, "params"));
  IMET_TRY(read_params(r.child("params"), *params, g.params));
  IMET_TRY(r.amount(j, "pod_pool", g.pod_pool));
  IMET_ASSIGN_OR_RETURN(const json* accounts, r.field(j, "accounts"));
  if (!accounts->is_array()) return bad("'accounts' must be an array");
  if (accounts->size() > kMaxGenesisAccounts) return bad("too many accounts");
  for (size_t i = 0; i < accounts->size(); ++i) {
    const json& a = (*accounts)[i];
    JsonReader ar = r.child("accounts[" + std::to_string(i) + "]");
    IMET_TRY(ar.object(a, {"address", "balance", "lock", "stake", "votes"}));
    GenesisAccount ga;
    IMET_TRY(ar.address(a, "address", ga.address));
    IMET_TRY(ar.amount(a, "balance", ga.balance));
    if (a.contains("stake")) {
      IMET_TRY(ar.amount(a, "stake", ga.stake));
    }
    if (a.contains("votes")) {
      const json& v = a["votes"];
      if (!v.is_array()) return bad("'accounts[" + std::to_string(i) + "].votes' must be an array");
      if (v.size() > kMaxVotesCap)
        return bad("too many votes in accounts[" + std::to_string(i) + "]");
      for (const json& e : v) {
        if (!e.is_string())
          return bad("'accounts[" + std::to_string(i) + "].votes' must hold addresses");
        auto d = crypto::parse_address(e.get<std::string>());
        if (!d.ok()) {
          return bad("'accounts[" + std::to_string(i) + "].votes': " + d.status().message());
        }
        ga.votes.push_back(*d);
      }
      std::sort(ga.votes.begin(), ga.votes.end());
    }
    if (a.contains("lock")) {
      JsonReader lr = ar.child("lock");
      const json& l = a["lock"];
      IMET_TRY(lr.object(l, {"amount", "cliff_ms", "end_ms"}));
      LockSchedule ls;
      IMET_TRY(lr.amount(l, "amount", ls.total));
      IMET_TRY(lr.uint(l, "cliff_ms", ls.cliff_ms));
      IMET_TRY(lr.uint(l, "end_ms", ls.end_ms));
      ga.lock = ls;
    }
    g.accounts.push_back(ga);
  }
  IMET_ASSIGN_OR_RETURN(const json* delegates, r.field(j, "delegates"));
  if (!delegates->is_array()) return bad("'delegates' must be an array");
  if (delegates->size() > kMaxGenesisDelegates) return bad("too many delegates");
  for (size_t i = 0; i < delegates->size(); ++i) {
    const json& d = (*delegates)[i];
    JsonReader dr = r.child("delegates[" + std::to_string(i) + "]");
    IMET_TRY(dr.object(d, {"address", "name"}));
    GenesisDelegate gd;
    IMET_TRY(dr.address(d, "address", gd.address));
    IMET_TRY(dr.string(d, "name", gd.name));
    g.delegates.push_back(gd);
  }
  IMET_TRY(g.validate());
  return g;
}

std::string genesis_to_json(const Genesis& g) {
  json accounts = json::array();
  for (const GenesisAccount& a : g.accounts) {
    json ja = {{"address", crypto::encode_address(a.address)},
               {"balance", format_amount(a.balance)}};
    if (a.stake > 0) ja["stake"] = format_amount(a.stake);
    if (!a.votes.empty()) {
      json v = json::array();
      for (const Address& d : a.votes)
        v.push_back(crypto::encode_address(d));
      ja["votes"] = v;
    }
    if (a.lock) {
      ja["lock"] = {{"amount", format_amount(a.lock->total)},
                    {"cliff_ms", a.lock->cliff_ms},
                    {"end_ms", a.lock->end_ms}};
    }
    accounts.push_back(ja);
  }
  json delegates = json::array();
  for (const GenesisDelegate& d : g.delegates) {
    delegates.push_back({{"address", crypto::encode_address(d.address)}, {"name", d.name}});
  }
  json j = {{"chain_id", g.chain_id},
            {"genesis_time_ms", g.genesis_time_ms},
            {"params", params_json(g.params)},
            {"pod_pool", format_amount(g.pod_pool)},
            {"accounts", accounts},
            {"delegates", delegates}};
  return j.dump(2) + "\n";
}

Genesis make_dev_genesis(const Address& delegate, uint64_t genesis_time_ms, std::string chain_id) {
  Genesis g;
  g.chain_id = std::move(chain_id);
  g.genesis_time_ms = genesis_time_ms;
  g.params.slot_ms = 1000;
  g.params.n_min = 1;
  g.params.n_max = 1;
  // Short PoD epochs so a dev chain shows settlement and payout within a minute.
  g.params.pod.epoch_blocks = 20;
  g.params.pod.entropy_blocks = 40;
  g.params.pod.warmup_epochs = 1;
  g.pod_pool = kTotalSupply / 100 * 60;
  g.accounts.push_back({delegate, kTotalSupply - g.pod_pool, std::nullopt, 0, {delegate}});
  g.delegates.push_back({delegate, "dev"});
  return g;
}

Genesis make_testnet_genesis(const std::vector<Address>& witnesses, uint64_t genesis_time_ms,
                             std::string chain_id, uint32_t slot_ms, Amount stake_each) {
  Genesis g;
  g.chain_id = std::move(chain_id);
  g.genesis_time_ms = genesis_time_ms;
  g.params.slot_ms = slot_ms;
  // A block must execute well within its slot on every witness: at most 10 transfers per slot
  // millisecond (10,000/s, this project's 2-core reference machine's signature ceiling), so a
  // backlog cannot make blocks too big to finalize at the first attempt.
  g.params.max_block_txs =
      std::max<uint32_t>(1'000, std::min<uint32_t>(g.params.max_block_txs, 10 * slot_ms));
  const uint32_t n = static_cast<uint32_t>(std::max<size_t>(1, witnesses.size()));
  g.params.n_min = n;
  g.params.n_max = n;
  g.params.pod.epoch_blocks = 20;
  g.params.pod.entropy_blocks = 40;
  g.params.pod.warmup_epochs = 1;
  g.pod_pool = kTotalSupply / 100 * 60;
  const Amount rest = kTotalSupply - g.pod_pool;
  const Amount each = witnesses.empty() ? 0 : rest / witnesses.size();
  for (size_t i = 0; i < witnesses.size(); ++i) {
    Amount total = each + (i == 0 ? rest - each * witnesses.size() : 0);
    Amount stake = std::min(stake_each, total);
    g.accounts.push_back({witnesses[i], total - stake, std::nullopt, stake, {witnesses[i]}});
    g.delegates.push_back({witnesses[i], "w" + std::to_string(i)});
  }
  return g;
}

Genesis make_default_genesis(const DefaultAllocation& alloc, uint64_t genesis_time_ms,
                             std::string chain_id) {
  Genesis g;
  g.chain_id = std::move(chain_id);
  g.genesis_time_ms = genesis_time_ms;
  const Amount pct = kTotalSupply / 100;
  g.pod_pool = 60 * pct;
  const uint64_t two_years = 730 * kDayMs;
  LockSchedule lock{10 * pct, genesis_time_ms + two_years, genesis_time_ms + 2 * two_years};
  g.accounts = {{alloc.foundation, 10 * pct, lock, 0, {}},
                {alloc.team, 10 * pct, lock, 0, {}},
                {alloc.consensus_round, 6 * pct, std::nullopt, 0, {}},
                {alloc.angel_round, 14 * pct, std::nullopt, 0, {}}};
  g.delegates = alloc.delegates;
  return g;
}

}  // namespace imet::ledger
