#include <algorithm>
#include <cstring>

#include "world.h"

namespace imet::sim::detail {

void Simulation::send(uint32_t from, uint32_t to, uint32_t origin, uint64_t key, Mode mode,
                      WirePtr wire) {
  ++st_.sent;
  // A peer that already has a gossiped message would drop it on arrival: skip the event (the
  // real relay skips peers it knows hold the message, net::SeenCache holders).
  if (mode != Mode::kDirect && net_.has(to, key)) {
    ++st_.gossip_suppressed;
    return;
  }
  if (!reachable(from, to) || rng_.chance(drop_pm_)) {
    ++st_.dropped;
    return;
  }
  Event e = with_payload(make_event(Ev::kDeliver, now_ + delay(), to, from, key), std::move(wire));
  e.origin = origin;
  e.gossip = mode != Mode::kDirect;
  e.repeat = mode == Mode::kRepeat;
  if (rng_.chance(dup_pm_)) {
    ++st_.duplicated;
    Event twin = e;
    twin.time = now_ + delay();
    push(std::move(twin));
  }
  push(std::move(e));
}

void Simulation::gossip(uint32_t from, uint32_t origin, uint64_t key, Mode mode,
                        const WirePtr& wire, uint32_t except, const WirePtr& alt) {
  if (mode != Mode::kDirect) net_.prefetch(net_.peers(from), key);
  for (uint32_t to : net_.peers(from)) {
    if (to == except) continue;
    if (alt && rng_.chance(500)) {
      send(from, to, origin, Network::key(alt->bytes), mode, alt);
    } else {
      send(from, to, origin, key, mode, wire);
    }
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
  WirePtr wire = wire_of(msg);
  if (!wire) return;
  WirePtr alt;
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
      alt = wire_of(other);
      if (!alt) return;
      ++st_.equivocations;
      (void)net_.on_broadcast(from.id, Network::key(alt->bytes));
    }
  }
  // The first time: gossip, relayed by the nodes that accept it. A repeat (the engine re-sends
  // while undecided): gossip under a fresh key, relayed by every node that has or accepts it, so
  // it reaches nodes that lost the original however far away. (node::ConsensusService sends
  // repeats directly to its peers only, and they do not relay duplicates: in a sparse network a
  // lost vote from a witness that is not a direct peer never comes back, and a quorum that needs
  // it stalls; docs/consensus.md, "Simulation".)
  // --node-resends models the node: a repeat goes directly to the peers only.
  uint64_t key = Network::key(wire->bytes);
  Mode mode = Mode::kGossip;
  if (!net_.on_broadcast(from.id, key)) {
    if (o_.node_resends) {
      mode = Mode::kDirect;
    } else {
      mode = Mode::kRepeat;
      key ^= (++from.repeats) * 0x9e3779b97f4a7c15ULL;
      (void)net_.on_broadcast(from.id, key);
    }
  }
  gossip(from.id, from.id, key, mode, wire, from.id, alt);
}

WirePtr Simulation::wire_of(const ConsensusMessage& msg) {
  util::Bytes bytes = consensus::encode_message(msg);
  auto decoded = consensus::decode_message(bytes);
  if (!decoded.ok()) {
    fail("a sent message does not decode: " + decoded.status().to_string());
    return nullptr;
  }
  return std::make_shared<const Wire>(Wire{std::move(bytes), std::move(*decoded)});
}

void Simulation::gossip_tx(uint32_t from, const std::shared_ptr<const ledger::Transaction>& tx,
                           uint32_t except) {
  const ledger::Hash id = tx->id();
  uint64_t key = 0;
  std::memcpy(&key, id.data(), sizeof(key));
  if (!net_.on_broadcast(from, key)) return;
  net_.prefetch(net_.peers(from), key);
  for (uint32_t to : net_.peers(from)) {
    if (to == except || net_.has(to, key)) continue;
    if (!reachable(from, to) || rng_.chance(drop_pm_)) continue;
    Event e = with_payload(make_event(Ev::kTx, now_ + delay(), to, from, key), tx);
    e.gossip = true;
    push(std::move(e));
  }
}

// ---- events ----------------------------------------------------------------------------------

namespace {

// As node/tx_admission.h admits a transaction: its signature checked first (here through the
// chain's serial verifier, i.e. the process-wide memo), then the mempool's other checks.
ledger::TxResult admit(node::Chain& chain, const ledger::Transaction& tx) {
  const bool signed_ok = chain.verify_signatures(std::span<const ledger::Transaction>(&tx, 1))[0];
  return chain.submit(tx, signed_ok);
}

}  // namespace

bool Simulation::heavy_load() const {
  return dec_ && ((now_ - genesis_.genesis_time_ms) / load_phase_ms_) % 2 == 0;
}

void Simulation::submit_tx() {
  if (dec_ && !heavy_load()) return;  // DEC idle phase: empty blocks
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
  if (admit(*target.chain, tx)) return;  // refused (e.g. the target lags behind on nonces)
  ++st_.txs_submitted;
  u.pending = tx.id();
  u.pending_expiry = tx.expiry_height;
  gossip_tx(target.id, std::make_shared<const ledger::Transaction>(tx), target.id);
}

void Simulation::handle(const Event& e) {
  Node* n = e.node < nodes_.size() ? nodes_[e.node].get() : nullptr;
  switch (e.kind) {
    case Ev::kDeliver: {
      if (!n->up) return;
      if (e.gossip && !net_.on_received(n->id, e.arg)) {
        ++st_.gossip_duplicates;  // the seen cache drops it
        return;
      }
      ++st_.delivered;
      Output out = n->engine->on_message(e.wire()->msg, local(*n));
      if (out.verdict == consensus::Verdict::kInvalid) {
        if (nodes_[e.origin]->behaviour == Behaviour::kHonest) {
          ++st_.invalid_from_honest;
          // An honest node's message judged invalid would get an honest peer banned.
          fail("node " + std::to_string(n->id) + " rejects a message by honest node " +
               std::to_string(e.origin) + " (via " + std::to_string(e.from) + "): " + out.reason);
        } else if (e.origin != e.from) {
          // A Byzantine message relayed by an honest node (e.g. the second of two conflicting
          // proposals): the real node scores the relaying peer down for it.
          ++st_.invalid_relayed;
        }
      }
      // Relay what the engine accepted, like node::ConsensusService::handle_consensus, and
      // repeats it already had too (a withholder relays nothing).
      const bool relay = out.verdict == consensus::Verdict::kAccepted ||
                         (e.repeat && out.verdict == consensus::Verdict::kDuplicate);
      if (relay && n->behaviour != Behaviour::kWithhold && net_.on_broadcast(n->id, e.arg)) {
        ++st_.relayed;
        gossip(n->id, e.origin, e.arg, e.repeat ? Mode::kRepeat : Mode::kGossip, e.wire(), e.from);
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
      const auto& peers = net_.peers(n->id);
      const uint32_t to = peers[rng_.below(peers.size())];
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
      push(with_payload(make_event(Ev::kSyncResponse, now_ + delay(), e.from, n->id), batch));
      return;
    }
    case Ev::kSyncResponse:
      if (!n->up) return;
      for (const SyncItem& item : *e.sync()) {
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
      if (!n->up || !net_.on_received(n->id, e.arg)) return;
      // Admitted transactions are relayed onwards (node::ConsensusService::handle_tx).
      if (!admit(*n->chain, *e.tx())) gossip_tx(n->id, e.tx(), e.from);
      return;
    case Ev::kSubmit:
      submit_tx();
      push(make_event(Ev::kSubmit,
                      now_ + (heavy_load() ? rng_.range(10, 60) : rng_.range(50, 1'500))));
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
      net_.partition(rng_);
      log("partition " + std::to_string(partition_id_));
      push(make_event(Ev::kHealPartition, now_ + rng_.range(2, 8) * o_.slot_ms, 0, 0,
                      partition_id_));
      return;
    }
    case Ev::kHealPartition:
      if (e.arg == partition_id_) net_.heal();
      return;
    case Ev::kHealAll: {
      healed_ = true;
      progress_ = true;
      net_.heal();
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

}  // namespace imet::sim::detail
