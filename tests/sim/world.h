// The simulation's world (tests/sim, simulation.h): its nodes, users, events and the Simulation
// class that runs them. Internal to imet-sim: simulation.cpp holds setup, nodes, invariants and
// the run loop; events.cpp the network (sends, gossip and relay) and the event handlers.
// Thread-safety: a Simulation is single-threaded. Invariants: see simulation.h; events are
// processed in (time, seq) order, so a seed names one run.
#pragma once

#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "consensus/engine.h"
#include "ledger/genesis.h"
#include "memo_checker.h"
#include "network.h"
#include "node/chain.h"
#include "rng.h"
#include "simulation.h"
#include "store/memory_store.h"

namespace imet::sim::detail {

using consensus::ConsensusMessage;
using consensus::Output;

constexpr uint32_t kUsers = 4;        // accounts that send transfers
constexpr uint32_t kDecUsers = 12;    // with DEC: more than a block holds
constexpr uint32_t kDecBlockTxs = 4;  // with DEC: max_block_txs, so that load fills blocks
constexpr uint32_t kSyncBatch = 8;    // blocks per sync response
constexpr uint32_t kNewBlocksAfterHeal = 3;

enum class Behaviour { kHonest, kEquivocate, kWithhold };

// Chains verify on the simulation's one thread, certificates through the process-wide memo.
inline node::Chain::Options chain_options() {
  return node::Chain::Options{.serial_verifier = true,
                              .certificate_checker = &MemoChecker::instance(),
                              .state_cache_entries = 0};
}

inline crypto::SigningKey key_from(uint64_t seed, uint32_t role, uint32_t index) {
  crypto::Seed s{};
  for (int i = 0; i < 8; ++i)
    s[i] = static_cast<uint8_t>(seed >> (8 * i));
  s[8] = static_cast<uint8_t>(role);
  for (int i = 0; i < 4; ++i)
    s[9 + i] = static_cast<uint8_t>(index >> (8 * i));
  return crypto::SigningKey::from_seed(s);
}

// A consensus message on the simulated wire: its encoding (what the gossip key is computed from)
// and its decoding, made once when it is sent (a real node decodes each copy it receives; here
// the same bytes would decode to the same message on every receiver).
struct Wire {
  util::Bytes bytes;
  ConsensusMessage msg;
};
using WirePtr = std::shared_ptr<const Wire>;

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
  uint64_t repeats = 0;  // re-sends made: each gets its own gossip key
  uint32_t active = 0;   // N_active of the round in force after final_height (DEC)
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

using SyncPtr = std::shared_ptr<const std::vector<SyncItem>>;
using TxPtr = std::shared_ptr<const ledger::Transaction>;

// 64 bytes (one cache line): events are moved into and out of the queue's buckets a million
// times per run at 108 witnesses.
struct Event {
  uint64_t time = 0;
  uint64_t seq = 0;
  uint64_t arg = 0;  // timer generation, requested height, partition id; gossip key
  uint32_t node = 0;
  uint32_t from = 0;    // the link's sender
  uint32_t origin = 0;  // kDeliver: the node whose engine made the message (relays keep it)
  Ev kind = Ev::kTimer;
  bool gossip = false;  // kDeliver/kTx: subject to the receiver's seen cache
  bool repeat = false;  // kDeliver: an engine's re-send (relayed even where it is a duplicate)
  // kDeliver: WirePtr; kSyncResponse: SyncPtr; kTx: TxPtr; else none.
  std::variant<std::monostate, WirePtr, SyncPtr, TxPtr> payload;

  const WirePtr& wire() const { return std::get<WirePtr>(payload); }
  const SyncPtr& sync() const { return std::get<SyncPtr>(payload); }
  const TxPtr& tx() const { return std::get<TxPtr>(payload); }
};
static_assert(sizeof(Event) <= 64);

inline Event make_event(Ev kind, uint64_t time, uint32_t node = 0, uint32_t from = 0,
                        uint64_t arg = 0) {
  Event e;
  e.kind = kind;
  e.time = time;
  e.node = node;
  e.from = from;
  e.arg = arg;
  return e;
}

// The event with its payload (a WirePtr, SyncPtr or TxPtr).
template <typename T>
Event with_payload(Event e, T v) {
  e.payload = std::move(v);
  return e;
}

class EventQueue {
 public:
  EventQueue() : ring_(kWheelMs) {}
  bool empty() const { return ring_count_ == 0 && far_.empty(); }
  // e.time must be >= the time of the last popped event.
  void push(Event e) {
    if (e.time < now_ + kWheelMs) {
      ring_[e.time & kMask].push_back(std::move(e));
      ++ring_count_;
    } else {
      far_.push(std::move(e));
    }
  }
  // Requires !empty().
  Event pop() {
    for (;;) {
      auto& bucket = ring_[now_ & kMask];
      if (pos_ < bucket.size()) {
        --ring_count_;
        return std::move(bucket[pos_++]);
      }
      bucket.clear();
      pos_ = 0;
      now_ = ring_count_ == 0 ? far_.top().time : now_ + 1;
      while (!far_.empty() && far_.top().time < now_ + kWheelMs) {
        Event e = std::move(const_cast<Event&>(far_.top()));
        far_.pop();
        ring_[e.time & kMask].push_back(std::move(e));
        ++ring_count_;
      }
    }
  }

 private:
  static constexpr uint64_t kWheelMs = 8'192;  // a power of two
  static constexpr uint64_t kMask = kWheelMs - 1;
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.time != b.time ? a.time > b.time : a.seq > b.seq;
    }
  };
  std::vector<std::vector<Event>> ring_;
  std::priority_queue<Event, std::vector<Event>, Later> far_;
  uint64_t now_ = 0;
  size_t pos_ = 0;
  size_t ring_count_ = 0;
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
  bool reachable(uint32_t a, uint32_t b) const { return net_.up(a, b); }
  void boot(Node& n);
  void crash(Node& n);
  void process(Node& n, Output out);
  void broadcast(Node& from, const ConsensusMessage& msg);
  // Encodes `msg` and decodes the encoding back (fails the run if it does not decode).
  WirePtr wire_of(const ConsensusMessage& msg);
  // Sends a consensus message from `from` to each of its peers but `except`: as gossip (a peer
  // that has the key drops it), as an engine's re-send (gossip under its own key, relayed even
  // where it is a duplicate) or directly (no seen cache; --node-resends).
  enum class Mode : uint8_t { kGossip, kRepeat, kDirect };
  void gossip(uint32_t from, uint32_t origin, uint64_t key, Mode mode, const WirePtr& wire,
              uint32_t except, const WirePtr& alt = nullptr);
  void send(uint32_t from, uint32_t to, uint32_t origin, uint64_t key, Mode mode, WirePtr wire);
  void gossip_tx(uint32_t from, const std::shared_ptr<const ledger::Transaction>& tx,
                 uint32_t except);
  void reschedule_timer(Node& n);
  bool heavy_load() const;
  void submit_tx();
  // Invariants.
  void on_committed(Node& n, const consensus::Committed& c);
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
  // The chain initialised from genesis_ (by plan_chaos()); every node starts from a copy of it
  // instead of executing the genesis again (the same contents: Chain::open of a fresh store).
  std::unique_ptr<store::MemoryStore> genesis_db_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<User> users_;
  EventQueue queue_;
  uint64_t seq_ = 0;
  uint64_t now_ = 0;
  SimResult result_;
  SimStats& st_ = result_.stats;

  // Network conditions.
  Network net_;
  uint64_t max_delay_ms_ = 50;
  uint32_t drop_pm_ = 0;  // per mille
  uint32_t dup_pm_ = 0;
  uint64_t partition_id_ = 0;
  uint32_t max_down_ = 1;

  // DEC: N_min < N_max and load in phases (heavy: blocks fill up; idle: no transfers).
  bool dec_ = false;
  uint64_t load_phase_ms_ = 0;

  // Phases.
  uint64_t heal_at_ = 0;
  bool healed_ = false;
  bool progress_ = true;  // a node booted or committed since all_recovered() was last asked
  uint64_t target_height_ = 0;

  // Invariant state.
  std::map<uint64_t, ledger::Hash> final_by_height_;
  std::map<uint64_t, uint32_t> active_by_height_;  // N_active of rounds starting at height + 1
};

}  // namespace imet::sim::detail
