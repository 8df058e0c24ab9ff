#include "simulation.h"

#include <algorithm>

#include "invariants.h"
#include "ledger/state.h"
#include "world.h"

namespace imet::sim {
namespace detail {

// ---- setup -----------------------------------------------------------------------------------

void Simulation::make_genesis() {
  const uint32_t n_nodes = o_.witnesses + o_.candidates;
  genesis_.chain_id = "imet-sim";
  genesis_.genesis_time_ms = 1'000'000;
  genesis_.params.slot_ms = o_.slot_ms;
  genesis_.params.n_min = o_.witnesses;
  genesis_.params.n_max = o_.witnesses;
  // DEC seeds: N_active starts at N_max = witnesses and may shrink to N_min under load.
  const bool dec_auto = o_.witnesses <= 21 && rng_.chance(250);
  dec_ = o_.witnesses >= 4 && (o_.dec == DecMode::kOn || (o_.dec == DecMode::kAuto && dec_auto));
  if (dec_) {
    genesis_.params.n_min = static_cast<uint32_t>(rng_.range(o_.witnesses / 2, o_.witnesses - 1));
    genesis_.params.max_block_txs = kDecBlockTxs;
  }
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
  for (uint32_t i = 0; i < (dec_ ? kDecUsers : kUsers); ++i) {
    users_.emplace_back(key_from(o_.seed, 2, i));
    ledger::GenesisAccount acc;
    acc.address = crypto::address_bytes_of(users_.back().key.public_key());
    acc.balance = ledger::imet(100'000);
    allocated += acc.balance;
    genesis_.accounts.push_back(acc);
  }
  genesis_.pod_pool = ledger::kTotalSupply - allocated;
}

void Simulation::plan_chaos() {
  const uint64_t slot = o_.slot_ms;
  // DEC seeds alternate heavy and idle load phases of 4 rounds (of N_max blocks) each, two of
  // them (more with --long) in the chaos phase: enough congested rounds in a row to shrink
  // N_active and idle ones to grow it again.
  load_phase_ms_ = uint64_t{4} * o_.witnesses * slot;
  const uint64_t chaos_slots =
      std::max<uint64_t>(o_.long_run ? 300 : 24, dec_ ? 8 * uint64_t{o_.witnesses} : 0);
  const uint64_t start = genesis_.genesis_time_ms;
  heal_at_ = start + chaos_slots * slot;
  max_delay_ms_ = rng_.range(2, slot * 2 / 5);
  drop_pm_ = static_cast<uint32_t>(rng_.below(100));
  dup_pm_ = static_cast<uint32_t>(rng_.below(50));
  // Byzantine witnesses never exceed f of the smallest witness set DEC may choose.
  const uint32_t f = ledger::max_faulty(genesis_.params.n_min);
  max_down_ = std::max<uint32_t>(1, ledger::max_faulty(o_.witnesses));

  // Byzantine witnesses: up to f of the genesis witnesses (the schedule of round 0 picks the
  // witnesses among the delegates, so pick among those).
  genesis_db_ = std::make_unique<store::MemoryStore>();
  auto chain = node::Chain::open(*genesis_db_, genesis_, chain_options());
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
  // Small networks are a full mesh or a sparse graph; large ones sparse (a node has ~6 peers).
  // The honest nodes are connected among themselves (withholders relay nothing: a node whose
  // every path runs through them would be eclipsed, which no consensus protocol survives).
  std::vector<bool> honest;
  for (const auto& n : nodes_)
    honest.push_back(n->behaviour == Behaviour::kHonest);
  const bool mesh = o_.witnesses <= 7 && rng_.chance(500);
  net_.build(rng_, honest, mesh, nodes_.size() <= 9 ? 1 : 2);
  st_.mesh = net_.mesh();
  st_.links = net_.links();
  st_.dec = dec_;
  st_.n_min = genesis_.params.n_min;

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
  progress_ = true;
  n.timer_at = UINT64_MAX;
  process(n, n.engine->start(local(n)));
}

void Simulation::crash(Node& n) {
  n.up = false;
  net_.forget_all(n.id);  // the host restarts with an empty seen cache
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
  progress_ = true;
  auto stored = n.chain->store().block_at(h);
  if (!stored.ok() || !stored->has_value() || (*stored)->header.hash() != hash) {
    fail("node " + std::to_string(n.id) + " reported block " + std::to_string(h) +
         " committed but its store does not hold it");
  }
  if (std::string e = supply_error(*n.chain); !e.empty()) {
    fail("node " + std::to_string(n.id) + " at height " + std::to_string(h) + ": " + e);
  }
  // DEC: when a round starts next, its N_active obeys [n_min, n_max], and every node computes
  // the same one.
  uint32_t active = 0;
  if (std::string e = dec_error(*n.chain, active); !e.empty()) {
    fail("node " + std::to_string(n.id) + " at height " + std::to_string(h) + ": DEC: " + e);
  }
  if (active != 0) {
    auto [at, first] = active_by_height_.emplace(h, active);
    if (!first && at->second != active) {
      fail("node " + std::to_string(n.id) + " elects " + std::to_string(active) +
           " witnesses after height " + std::to_string(h) + ", another node " +
           std::to_string(at->second));
    }
    if (first) {
      st_.min_active = st_.min_active == 0 ? active : std::min(st_.min_active, active);
      st_.max_active = std::max(st_.max_active, active);
      auto prev = active_by_height_.find(h);
      if (prev != active_by_height_.begin() && std::prev(prev)->second != active) {
        ++st_.resizes;
      }
    }
  }
}

bool Simulation::all_recovered() const {
  for (const auto& n : nodes_) {
    if (n->behaviour != Behaviour::kHonest) continue;
    if (!n->up || n->final_height < target_height_) return false;
  }
  return true;
}

SimResult Simulation::run() {
  make_genesis();
  plan_chaos();
  now_ = genesis_.genesis_time_ms;
  for (auto& n : nodes_) {
    if (!result_.ok) break;
    n->db = genesis_db_->clone();
    boot(*n);
  }
  // Liveness bound after heal: enough slots for the attempt timeouts grown during the chaos phase
  // to run out, plus a few slots of normal operation (docs/consensus.md, "Liveness").
  const uint64_t bound_slots = o_.long_run ? 120 : 60;
  uint64_t same_time = 0;
  while (result_.ok && !queue_.empty()) {
    const Event e = queue_.pop();
    same_time = e.time == now_ ? same_time + 1 : 0;
    if (same_time > 1'000'000) {
      fail("event storm: a million events at one instant (a timer that never advances?)");
      break;
    }
    now_ = e.time;
    ++st_.events;
    handle(e);
    // all_recovered() can only become true when a node boots or commits (progress_).
    const bool check = healed_ && progress_;
    if (check) progress_ = false;
    if (check && all_recovered()) {
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

}  // namespace detail

std::string SimResult::digest() const {
  const SimStats& s = stats;
  return "final=" + std::to_string(s.final_height) + ":" + util::to_hex(s.final_hash) +
         " events=" + std::to_string(s.events) + " sent=" + std::to_string(s.sent) +
         " relayed=" + std::to_string(s.relayed) + " resizes=" + std::to_string(s.resizes) +
         " delivered=" + std::to_string(s.delivered) + " commits=" + std::to_string(s.commits) +
         " evidence=" + std::to_string(s.evidence) + " txs=" + std::to_string(s.txs_final) +
         " sim_ms=" + std::to_string(s.sim_ms);
}

SimResult run_simulation(const SimOptions& options) {
  detail::Simulation sim(options);
  return sim.run();
}

}  // namespace imet::sim