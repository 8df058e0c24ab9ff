#include "simulation.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <tuple>
#include <vector>

#include "consensus/engine.h"
#include "ledger/genesis.h"
#include "ledger/state.h"
#include "memo_checker.h"
#include "node/chain.h"
#include "rng.h"
#include "store/memory_store.h"

namespace imet::sim {
namespace {

using consensus::ConsensusMessage;
using consensus::Output;

constexpr uint32_t kUsers = 4;      // accounts that send transfers
constexpr uint32_t kSyncBatch = 8;  // blocks per sync response
constexpr uint32_t kNewBlocksAfterHeal = 3;

enum class Behaviour { kHonest, kEquivocate, kWithhold };

// Chains verify on the simulation's one thread, certificates through the process-wide memo.
node::Chain::Options chain_options() {
  return node::Chain::Options{.serial_verifier = true,
                              .certificate_checker = &MemoChecker::instance()};
}

crypto::SigningKey key_from(uint64_t seed, uint32_t role, uint32_t index) {
  crypto::Seed s{};
  for (int i = 0; i < 8; ++i)
    s[i] = static_cast<uint8_t>(seed >> (8 * i));
  s[8] = static_cast<uint8_t>(role);
  for (int i = 0; i < 4; ++i)
    s[9 + i] = static_cast<uint8_t>(index >> (8 * i));
  return crypto::SigningKey::from_seed(s);
}

struct SyncItem {
  ledger::Block block;
  ledger::FinalityCertificate cert;
};

struct Node {
  uint32_t id = 0;
  crypto::SigningKey key;
  ledger::Address address{};
  Behaviour behaviour = Behaviour::kHonest;
  uint64_t skew_ms = 0;  // local clock = global + skew
  std::unique_ptr<store::MemoryStore> db = std::make_unique<store::MemoryStore>();  // survives
  std::optional<util::Bytes> signer_state;  // "persisted" SignerState, survives
  std::unique_ptr<node::Chain> chain;
  std::unique_ptr<consensus::Engine> engine;
  bool up = false;
  uint64_t timer_gen = 0;
  uint64_t timer_at = UINT64_MAX;
  uint64_t final_height = 0;
  explicit Node(crypto::SigningKey k) : key(std::move(k)) {}
};

struct User {
  crypto::SigningKey key;
  uint64_t next_nonce = 0;
  std::optional<ledger::Hash> pending;
  uint64_t pending_expiry = 0;
  explicit User(crypto::SigningKey k) : key(std::move(k)) {}
};

enum class Ev : uint8_t {
  kDeliver,
  kTimer,
  kSyncTick,
  kSyncRequest,
  kSyncResponse,
  kTx,
  kSubmit,
  kCrash,
  kRestart,
  kPartition,
  kHealPartition,
  kHealAll,
};

struct Event {
  uint64_t time = 0;
  uint64_t seq = 0;
  Ev kind = Ev::kTimer;
  uint32_t node = 0;
  uint32_t from = 0;
  uint64_t arg = 0;  // timer generation, requested height, partition id
  std::shared_ptr<const util::Bytes> bytes;
  std::shared_ptr<const std::vector<SyncItem>> sync;
  std::shared_ptr<const ledger::Transaction> tx;
};

Event make_event(Ev kind, uint64_t time, uint32_t node = 0, uint32_t from = 0, uint64_t arg = 0) {
  Event e;
  e.kind = kind;
  e.time = time;
  e.node = node;
  e.from = from;
  e.arg = arg;
  return e;
}

template <typename T>
Event with_bytes(Event e, T v) {
  e.bytes = std::move(v);
  return e;
}
template <typename T>
Event with_sync(Event e, T v) {
  e.sync = std::move(v);
  return e;
}
template <typename T>
Event with_tx(Event e, T v) {
  e.tx = std::move(v);
  return e;
}

struct Later {
  bool operator()(const Event& a, const Event& b) const {
    return std::tie(a.time, a.seq) > std::tie(b.time, b.seq);
  }
};

class Simulation {
 public:
  explicit Simulation(const SimOptions& o) : o_(o), rng_(o.seed) {}

  SimResult run();

 private:
  // Setup.
  void make_genesis();
  void plan_chaos();
  // Event handling.
  void handle(const Event& e);
  void push(Event e) {
    e.seq = seq_++;
    queue_.push(std::move(e));
  }
  uint64_t local(const Node& n) const { return now_ + n.skew_ms; }
  uint64_t delay() { return rng_.range(1, max_delay_ms_); }
  bool reachable(uint32_t a, uint32_t b) const { return group_[a] == group_[b]; }
  void boot(Node& n);
  void crash(Node& n);
  void process(Node& n, Output out);
  void broadcast(Node& from, const ConsensusMessage& msg);
  void send(uint32_t from, uint32_t to, std::shared_ptr<const util::Bytes> bytes);
  void reschedule_timer(Node& n);
  void submit_tx();
  // Invariants.
  void on_committed(Node& n, const consensus::Committed& c);
  void check_supply(Node& n);
  void fail(std::string why) {
    if (result_.ok) {
      result_.ok = false;
      result_.failure = "t=" + std::to_string(now_) + "ms: " + std::move(why);
    }
  }
  bool all_recovered() const;
  void log(const std::string& what) const {
    if (o_.verbose)
      std::fprintf(stderr, "[%8llu] %s\n", static_cast<unsigned long long>(now_), what.c_str());
  }

  SimOptions o_;
  Rng rng_;
  ledger::Genesis genesis_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<User> users_;
  std::priority_queue<Event, std::vector<Event>, Later> queue_;
  uint64_t seq_ = 0;
  uint64_t now_ = 0;
  SimResult result_;
  SimStats& st_ = result_.stats;

  // Network conditions.
  uint64_t max_delay_ms_ = 50;
  uint32_t drop_pm_ = 0;  // per mille
  uint32_t dup_pm_ = 0;
  std::vector<uint8_t> group_;  // partition group of each node
  uint64_t partition_id_ = 0;
  uint32_t max_down_ = 1;

  // Phases.
  uint64_t heal_at_ = 0;
  bool healed_ = false;
  uint64_t target_height_ = 0;

  // Invariant state.
  std::map<uint64_t, ledger::Hash> final_by_height_;
};

// ---- setup -----------------------------------------------------------------------------------

void Simulation::make_genesis() {
  const uint32_t n_nodes = o_.witnesses + o_.candidates;
  genesis_.chain_id = "imet-sim";
  genesis_.genesis_time_ms = 1'000'000;
  genesis_.params.slot_ms = o_.slot_ms;
  genesis_.params.n_min = o_.witnesses;
  genesis_.params.n_max = o_.witnesses;
  ledger::Amount allocated = 0;
  for (uint32_t i = 0; i < n_nodes; ++i) {
    auto node = std::make_unique<Node>(key_from(o_.seed, 1, i));
    node->id = i;
    node->address = crypto::address_bytes_of(node->key.public_key());
    node->skew_ms = rng_.below(40);
    ledger::GenesisAccount acc;
    acc.address = node->address;
    acc.balance = ledger::imet(1'000);
    acc.stake = ledger::imet(100);
    allocated += acc.balance + acc.stake;
    genesis_.accounts.push_back(acc);
    genesis_.delegates.push_back({node->address, "node" + std::to_string(i)});
    nodes_.push_back(std::move(node));
  }
  for (uint32_t i = 0; i < kUsers; ++i) {
    users_.emplace_back(key_from(o_.seed, 2, i));
    ledger::GenesisAccount acc;
    acc.address = crypto::address_bytes_of(users_.back().key.public_key());
    acc.balance = ledger::imet(100'000);
    allocated += acc.balance;
    genesis_.accounts.push_back(acc);
  }
  genesis_.pod_pool = ledger::kTotalSupply - allocated;
  group_.assign(n_nodes, 0);
}

void Simulation::plan_chaos() {
  const uint64_t slot = o_.slot_ms;
  const uint64_t chaos_slots = o_.long_run ? 300 : 24;
  const uint64_t start = genesis_.genesis_time_ms;
  heal_at_ = start + chaos_slots * slot;
  max_delay_ms_ = rng_.range(2, slot * 2 / 5);
  drop_pm_ = static_cast<uint32_t>(rng_.below(100));
  dup_pm_ = static_cast<uint32_t>(rng_.below(50));
  const uint32_t f = ledger::max_faulty(o_.witnesses);
  max_down_ = std::max<uint32_t>(1, f);

  // Byzantine witnesses: up to f of the genesis witnesses (the schedule of round 0 picks the
  // witnesses among the delegates, so pick among those).
  store::MemoryStore probe;
  auto chain = node::Chain::open(probe, genesis_, chain_options());
  if (!chain.ok()) {
    fail("genesis refused: " + chain.status().to_string());
    return;
  }
  auto sched = (*chain)->next_schedule();
  if (!sched.ok()) {
    fail("no schedule at genesis: " + sched.status().to_string());
    return;
  }
  std::vector<uint32_t> witness_ids;
  for (const auto& n : nodes_) {
    if (sched->is_witness(n->address)) witness_ids.push_back(n->id);
  }
  const uint32_t byz = f == 0 ? 0 : static_cast<uint32_t>(rng_.below(f + 1));
  for (uint32_t i = 0; i < byz && !witness_ids.empty(); ++i) {
    const size_t k = rng_.below(witness_ids.size());
    nodes_[witness_ids[k]]->behaviour =
        rng_.chance(600) ? Behaviour::kEquivocate : Behaviour::kWithhold;
    witness_ids.erase(witness_ids.begin() + static_cast<std::ptrdiff_t>(k));
  }
  st_.byzantine = byz;

  const uint64_t partitions = rng_.below(o_.long_run ? 12 : 3);
  for (uint64_t i = 0; i < partitions; ++i) {
    push(make_event(Ev::kPartition, start + rng_.below(chaos_slots * slot)));
  }
  const uint64_t crashes = rng_.below(o_.long_run ? 12 : 3);
  for (uint64_t i = 0; i < crashes; ++i) {
    push(make_event(Ev::kCrash, start + rng_.below(chaos_slots * slot)));
  }
  push(make_event(Ev::kHealAll, heal_at_));
  push(make_event(Ev::kSubmit, start + rng_.below(slot)));
  for (auto& n : nodes_) {
    push(make_event(Ev::kSyncTick, start + rng_.below(slot), n->id));
  }
}

// ---- nodes -----------------------------------------------------------------------------------

void Simulation::boot(Node& n) {
  auto chain = node::Chain::open(*n.db, genesis_, chain_options());
  if (!chain.ok()) {
    fail("node " + std::to_string(n.id) +
         " cannot reopen its chain: " + chain.status().to_string());
    return;
  }
  n.chain = std::move(*chain);
  const ledger::ChainTip tip = n.chain->final_tip();
  // Nothing final is lost across a restart: the chain still holds what it had, with the hashes
  // every node agreed on.
  if (tip.height < n.final_height) {
    fail("node " + std::to_string(n.id) + " lost final blocks: tip " + std::to_string(tip.height) +
         " after restart, had " + std::to_string(n.final_height));
  }
  if (auto it = final_by_height_.find(tip.height);
      tip.height > 0 && it != final_by_height_.end() && it->second != tip.hash) {
    fail("node " + std::to_string(n.id) + " restarted on a block other than the final one at " +
         std::to_string(tip.height));
  }
  n.final_height = tip.height;
  std::optional<consensus::SignerState> restored;
  if (n.signer_state) {
    auto s = codec::decode<consensus::SignerState>(*n.signer_state);
    if (!s.ok()) {
      fail("persisted signer state unreadable: " + s.status().to_string());
      return;
    }
    restored = std::move(*s);
  }
  n.engine = std::make_unique<consensus::Engine>(*n.chain, n.key, MemoChecker::instance(),
                                                 consensus::EngineOptions{}, restored);
  n.up = true;
  n.timer_at = UINT64_MAX;
  process(n, n.engine->start(local(n)));
}

void Simulation::crash(Node& n) {
  n.up = false;
  n.engine.reset();
  n.chain.reset();
  ++n.timer_gen;
  ++st_.crashes;
  log("crash node " + std::to_string(n.id));
}

void Simulation::reschedule_timer(Node& n) {
  if (!n.up || !n.engine) return;
  auto t = n.engine->next_timer_ms();
  if (!t) return;
  const uint64_t global = *t > n.skew_ms ? *t - n.skew_ms : 0;
  const uint64_t when = std::max(global, now_);
  if (when == n.timer_at) return;
  n.timer_at = when;
  push(make_event(Ev::kTimer, when, n.id, 0, ++n.timer_gen));
}

void Simulation::process(Node& n, Output out) {
  if (out.signer_state) n.signer_state = codec::encode(*out.signer_state);  // before sending
  for (const auto& c : out.committed)
    on_committed(n, c);
  st_.evidence += out.evidence.size();
  for (const auto& m : out.broadcast)
    broadcast(n, m);
  if (n.engine) st_.max_attempt = std::max(st_.max_attempt, n.engine->attempt());
  if (!out.error.ok()) log("node " + std::to_string(n.id) + " error: " + out.error.to_string());
  reschedule_timer(n);
}

void Simulation::send(uint32_t from, uint32_t to, std::shared_ptr<const util::Bytes> bytes) {
  ++st_.sent;
  if (!reachable(from, to) || rng_.chance(drop_pm_)) {
    ++st_.dropped;
    return;
  }
  push(with_bytes(make_event(Ev::kDeliver, now_ + delay(), to, from), bytes));
  if (rng_.chance(dup_pm_)) {
    ++st_.duplicated;
    push(with_bytes(make_event(Ev::kDeliver, now_ + delay(), to, from), bytes));
  }
}

void Simulation::broadcast(Node& from, const ConsensusMessage& msg) {
  if (o_.verbose) {
    if (const auto* v = msg.vote()) {
      log("node " + std::to_string(from.id) + " " + ledger::vote_type_name(v->type) + " h" +
          std::to_string(v->height) + " a" + std::to_string(v->attempt) + " " +
          util::to_hex(util::ByteSpan(v->block_hash.data(), 3)) + " by " +
          std::to_string(v->voter[0]));
    } else if (const auto* p = msg.proposal()) {
      const auto h = p->block_hash();
      log("node " + std::to_string(from.id) + " PROPOSE h" + std::to_string(p->height()) + " a" +
          std::to_string(p->attempt) + " vr" + std::to_string(p->valid_attempt) + " " +
          util::to_hex(util::ByteSpan(h.data(), 3)));
    }
  }
  if (from.behaviour == Behaviour::kWithhold) return;
  auto bytes = std::make_shared<const util::Bytes>(consensus::encode_message(msg));
  std::shared_ptr<const util::Bytes> alt;
  if (from.behaviour == Behaviour::kEquivocate) {
    // A second, conflicting message signed with the same key, sent to about half the peers.
    ConsensusMessage other = msg;
    if (auto* v = std::get_if<ledger::WitnessVote>(&other.body)) {
      if (v->is_nil()) {
        for (auto& b : v->block_hash)
          b = static_cast<uint8_t>(rng_.next());
      } else {
        v->block_hash = ledger::Hash{};
      }
      v->sign(from.key);
    } else if (auto* p = std::get_if<consensus::Proposal>(&other.body)) {
      auto built = from.chain->build(from.key, p->block.header.time_ms + 1, p->attempt, {});
      if (built.ok()) {
        p->block = std::move(*built);
        p->valid_attempt = -1;
        p->sign(from.key);
      }
    }
    if (!(other == msg)) {
      alt = std::make_shared<const util::Bytes>(consensus::encode_message(other));
      ++st_.equivocations;
    }
  }
  for (const auto& to : nodes_) {
    if (to->id == from.id) continue;
    send(from.id, to->id, alt && rng_.chance(500) ? alt : bytes);
  }
}

// ---- invariants ------------------------------------------------------------------------------

void Simulation::on_committed(Node& n, const consensus::Committed& c) {
  ++st_.commits;
  if (c.via_sync) ++st_.synced;
  const uint64_t h = c.block.header.height;
  const ledger::Hash hash = c.block.header.hash();
  auto [it, fresh] = final_by_height_.emplace(h, hash);
  if (!fresh && it->second != hash) {
    fail("two different final blocks at height " + std::to_string(h) + " (node " +
         std::to_string(n.id) + " committed " + util::to_hex(hash) + ", another node " +
         util::to_hex(it->second) + ")");
  }
  if (h != n.final_height + 1) {
    fail("node " + std::to_string(n.id) + " committed height " + std::to_string(h) +
         " on final height " + std::to_string(n.final_height));
  }
  n.final_height = h;
  auto stored = n.chain->store().block_at(h);
  if (!stored.ok() || !stored->has_value() || (*stored)->header.hash() != hash) {
    fail("node " + std::to_string(n.id) + " reported block " + std::to_string(h) +
         " committed but its store does not hold it");
  }
  check_supply(n);
}

void Simulation::check_supply(Node& n) {
  // Sum of every coin: accounts (balance, stake, unbonding), node stakes, the PoD pool and the
  // undistributed epoch rewards (ledger/state.h, Globals). Amounts are u64 and the total supply
  // (10^16 units) is far below 2^64, so a checked u64 sum detects any overflow or underflow.
  const std::string who =
      "node " + std::to_string(n.id) + " at height " + std::to_string(n.final_height) + ": ";
  auto globals =
      ledger::get_record<ledger::Globals>(n.chain->store().state(), ledger::keys::globals());
  if (!globals.ok() || !globals->has_value()) {
    fail(who + "no globals record");
    return;
  }
  uint64_t sum = 0;
  bool overflow = false;
  auto add = [&](uint64_t v) { overflow |= __builtin_add_overflow(sum, v, &sum); };
  add((*globals)->pod_pool);
  add((*globals)->epoch_reward);
  const uint8_t account_prefix[] = {'a'};
  auto accounts = n.chain->store().scan_state(account_prefix, SIZE_MAX);
  const uint8_t node_prefix[] = {'n'};
  auto node_records = n.chain->store().scan_state(node_prefix, SIZE_MAX);
  if (!accounts.ok() || !node_records.ok()) {
    fail(who + "state scan failed");
    return;
  }
  for (const auto& [k, v] : *accounts) {
    auto a = codec::decode<ledger::Account>(v);
    if (!a.ok()) {
      fail(who + "unreadable account: " + a.status().to_string());
      return;
    }
    add(a->balance);
    add(a->stake);
    for (const auto& u : a->unbonding)
      add(u.amount);
  }
  for (const auto& [k, v] : *node_records) {
    auto r = codec::decode<ledger::NodeRecord>(v);
    if (!r.ok()) {
      fail(who + "unreadable node record: " + r.status().to_string());
      return;
    }
    add(r->stake);
  }
  if (overflow || sum != ledger::kTotalSupply) {
    fail(who + "supply is " + std::to_string(sum) + (overflow ? " (overflowed)" : "") +
         ", expected " + std::to_string(ledger::kTotalSupply));
  }
}

bool Simulation::all_recovered() const {
  for (const auto& n : nodes_) {
    if (n->behaviour != Behaviour::kHonest) continue;
    if (!n->up || n->final_height < target_height_) return false;
  }
  return true;
}

// ---- events ----------------------------------------------------------------------------------

void Simulation::submit_tx() {
  std::vector<Node*> up;
  for (auto& n : nodes_) {
    if (n->up) up.push_back(n.get());
  }
  if (up.empty()) return;
  Node& target = *up[rng_.below(up.size())];
  User& u = users_[rng_.below(users_.size())];
  if (u.pending) {
    auto loc = target.chain->store().tx_location(*u.pending);
    if (loc.ok() && loc->has_value()) {
      ++st_.txs_final;
      ++u.next_nonce;
      u.pending.reset();
    } else if (target.final_height <= u.pending_expiry) {
      return;  // still pending
    } else {
      u.pending.reset();  // expired unincluded: send again with the same nonce
    }
  }
  ledger::Transaction tx;
  tx.chain_id = genesis_.chain_id;
  tx.nonce = u.next_nonce;
  tx.fee = ledger::imet(1);
  tx.expiry_height = target.final_height + 20;
  const User& to = users_[rng_.below(users_.size())];
  tx.body = ledger::Transfer{crypto::address_bytes_of(to.key.public_key()),
                             ledger::imet(1) + rng_.below(ledger::imet(10)),
                             {}};
  tx.sign(u.key);
  if (target.chain->submit(tx)) return;  // refused (e.g. the target lags behind on nonces)
  ++st_.txs_submitted;
  u.pending = tx.id();
  u.pending_expiry = tx.expiry_height;
  auto shared = std::make_shared<const ledger::Transaction>(tx);
  for (auto& n : nodes_) {
    if (n->id == target.id) continue;
    if (!reachable(target.id, n->id) || rng_.chance(drop_pm_)) continue;
    push(with_tx(make_event(Ev::kTx, now_ + delay(), n->id, target.id), shared));
  }
}

void Simulation::handle(const Event& e) {
  Node* n = e.node < nodes_.size() ? nodes_[e.node].get() : nullptr;
  switch (e.kind) {
    case Ev::kDeliver: {
      if (!n->up) return;
      ++st_.delivered;
      auto msg = consensus::decode_message(*e.bytes);
      if (!msg.ok()) {
        fail("a sent message does not decode: " + msg.status().to_string());
        return;
      }
      Output out = n->engine->on_message(*msg, local(*n));
      if (out.verdict == consensus::Verdict::kInvalid &&
          nodes_[e.from]->behaviour == Behaviour::kHonest) {
        ++st_.invalid_from_honest;
        // An honest node's message judged invalid would get an honest peer banned.
        fail("node " + std::to_string(n->id) + " rejects a message from honest node " +
             std::to_string(e.from) + ": " + out.reason);
        log("node " + std::to_string(n->id) + " rejects from honest " + std::to_string(e.from) +
            ": " + out.reason);
      }
      process(*n, std::move(out));
      return;
    }
    case Ev::kTimer:
      if (!n->up || e.arg != n->timer_gen) return;
      n->timer_at = UINT64_MAX;
      process(*n, n->engine->on_timer(local(*n)));
      return;
    case Ev::kSyncTick: {
      push(make_event(Ev::kSyncTick, now_ + o_.slot_ms, n->id));
      if (!n->up) return;
      const uint32_t peer = static_cast<uint32_t>(rng_.below(nodes_.size() - 1));
      const uint32_t to = peer >= n->id ? peer + 1 : peer;
      if (!reachable(n->id, to) || rng_.chance(drop_pm_)) return;
      push(make_event(Ev::kSyncRequest, now_ + delay(), to, n->id, n->final_height));
      return;
    }
    case Ev::kSyncRequest: {
      if (!n->up || n->behaviour == Behaviour::kWithhold || n->final_height <= e.arg) return;
      auto batch = std::make_shared<std::vector<SyncItem>>();
      for (uint64_t h = e.arg + 1; h <= std::min(n->final_height, e.arg + kSyncBatch); ++h) {
        auto b = n->chain->store().block_at(h);
        auto c = n->chain->certificate(h);
        if (!b.ok() || !b->has_value() || !c.ok() || !c->has_value()) {
          fail("node " + std::to_string(n->id) + " lacks final block or certificate " +
               std::to_string(h));
          return;
        }
        batch->push_back({**b, **c});
      }
      if (!reachable(n->id, e.from) || rng_.chance(drop_pm_)) return;
      push(with_sync(make_event(Ev::kSyncResponse, now_ + delay(), e.from, n->id), batch));
      return;
    }
    case Ev::kSyncResponse:
      if (!n->up) return;
      for (const SyncItem& item : *e.sync) {
        if (item.block.header.height != n->final_height + 1) continue;
        Output out = n->engine->on_synced_block(item.block, item.cert, local(*n));
        if (out.verdict == consensus::Verdict::kInvalid) {
          fail("node " + std::to_string(n->id) + " refuses synced final block " +
               std::to_string(item.block.header.height) + ": " + out.reason);
        }
        process(*n, std::move(out));
      }
      return;
    case Ev::kTx:
      if (n->up) (void)n->chain->submit(*e.tx);
      return;
    case Ev::kSubmit:
      submit_tx();
      push(make_event(Ev::kSubmit, now_ + rng_.range(50, 1'500)));
      return;
    case Ev::kCrash: {
      if (healed_) return;
      uint32_t down = 0;
      for (auto& x : nodes_)
        down += x->up ? 0 : 1;
      if (down >= max_down_) return;
      Node& victim = *nodes_[rng_.below(nodes_.size())];
      if (!victim.up) return;
      crash(victim);
      push(make_event(Ev::kRestart, now_ + rng_.range(1, 6) * o_.slot_ms, victim.id));
      return;
    }
    case Ev::kRestart:
      if (n->up) return;
      ++st_.restarts;
      log("restart node " + std::to_string(n->id));
      boot(*n);
      return;
    case Ev::kPartition: {
      if (healed_) return;
      ++st_.partitions;
      ++partition_id_;
      for (auto& g : group_)
        g = static_cast<uint8_t>(rng_.below(2));
      log("partition " + std::to_string(partition_id_));
      push(make_event(Ev::kHealPartition, now_ + rng_.range(2, 8) * o_.slot_ms, 0, 0,
                      partition_id_));
      return;
    }
    case Ev::kHealPartition:
      if (e.arg == partition_id_) std::fill(group_.begin(), group_.end(), 0);
      return;
    case Ev::kHealAll: {
      healed_ = true;
      std::fill(group_.begin(), group_.end(), 0);
      drop_pm_ = std::min<uint32_t>(drop_pm_, 20);
      for (auto& x : nodes_) {
        if (!x->up) {
          ++st_.restarts;
          boot(*x);
        }
      }
      uint64_t top = 0;
      for (auto& x : nodes_)
        top = std::max(top, x->final_height);
      target_height_ = top + kNewBlocksAfterHeal;
      st_.heal_ms = now_;
      log("heal: target height " + std::to_string(target_height_));
      return;
    }
  }
}

SimResult Simulation::run() {
  make_genesis();
  plan_chaos();
  now_ = genesis_.genesis_time_ms;
  for (auto& n : nodes_) {
    if (result_.ok) boot(*n);
  }
  // Liveness bound after heal: enough slots for the attempt timeouts grown during the chaos phase
  // to run out, plus a few slots of normal operation (docs/consensus.md, "Liveness").
  const uint64_t bound_slots = o_.long_run ? 120 : 60;
  uint64_t same_time = 0;
  while (result_.ok && !queue_.empty()) {
    Event e = queue_.top();
    queue_.pop();
    same_time = e.time == now_ ? same_time + 1 : 0;
    if (same_time > 1'000'000) {
      fail("event storm: a million events at one instant (a timer that never advances?)");
      break;
    }
    now_ = e.time;
    ++st_.events;
    handle(e);
    if (healed_ && all_recovered()) {
      st_.recovered_ms = now_ - st_.heal_ms;
      break;
    }
    if (healed_ && now_ > heal_at_ + bound_slots * o_.slot_ms) {
      std::string heights;
      for (auto& n : nodes_) {
        heights += " " + std::to_string(n->final_height);
        if (n->engine) {
          heights += "/a" + std::to_string(n->engine->attempt()) + "s" +
                     std::to_string(static_cast<int>(n->engine->step())) + "l" +
                     std::to_string(n->engine->locked_attempt()) +
                     (n->engine->is_witness() ? "w" : "") +
                     (n->behaviour != Behaviour::kHonest ? "B" : "") + "[p" +
                     std::to_string(n->engine->votes().total(n->engine->attempt(),
                                                             ledger::VoteType::kPrepare)) +
                     "c" +
                     std::to_string(n->engine->votes().total(n->engine->attempt(),
                                                             ledger::VoteType::kCommit)) +
                     (n->engine->has_proposal(n->engine->attempt()) ? "P" : "") + "]";
        }
      }
      fail("liveness: honest nodes did not reach height " + std::to_string(target_height_) +
           " within " + std::to_string(bound_slots) + " slots after heal (heights" + heights + ")");
    }
  }
  st_.sim_ms = now_ - genesis_.genesis_time_ms;
  uint64_t low = UINT64_MAX;
  for (auto& n : nodes_) {
    if (n->behaviour == Behaviour::kHonest) low = std::min(low, n->final_height);
  }
  st_.final_height = low == UINT64_MAX ? 0 : low;
  if (auto it = final_by_height_.find(st_.final_height); it != final_by_height_.end()) {
    st_.final_hash = it->second;
  }
  return result_;
}

}  // namespace

std::string SimResult::digest() const {
  const SimStats& s = stats;
  return "final=" + std::to_string(s.final_height) + ":" + util::to_hex(s.final_hash) +
         " events=" + std::to_string(s.events) + " sent=" + std::to_string(s.sent) +
         " delivered=" + std::to_string(s.delivered) + " commits=" + std::to_string(s.commits) +
         " evidence=" + std::to_string(s.evidence) + " txs=" + std::to_string(s.txs_final) +
         " sim_ms=" + std::to_string(s.sim_ms);
}

SimResult run_simulation(const SimOptions& options) {
  Simulation sim(options);
  return sim.run();
}

}  // namespace imet::sim
