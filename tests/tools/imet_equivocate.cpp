// imet-equivocate: a Byzantine witness for tests (issue 5, tests/functional/test_slashing.py).
// Given a testnet witness's key file, the network's genesis file and the P2P addresses of honest
// nodes, it joins the network over the real transport (net::Host: Noise XX, the genesis hash as
// network id, a fresh transport identity), watches consensus traffic until a new height starts,
// and then signs two conflicting votes (two different block hashes) for that (height, attempt)
// with the witness key and gossips both (--mode votes: the honest nodes must detect the
// equivocation), or sends only the ready-made ledger::Evidence of the two votes as a direct
// p2p kEvidence message for the height before (--mode evidence: tests evidence gossip from a node
// the tool reaches to the nodes it does not). It waits for an honest node to gossip the evidence
// back (p2p kEvidence naming this witness); if none comes within --wait-ms it tries again at the
// next height, up to
// --tries times. Prints one JSON line per offence it committed and
// exits 0 once evidence came back, 1 otherwise (2 on bad arguments or files).
// Built only for tests: imetd itself has no misbehaviour switch.
// Thread-safety: the Handler runs on the host strand; state shared with main() is under mu.
// Invariants: never signs more than one pair of votes per (height, attempt).
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "codec/serialize.h"
#include "consensus/messages.h"
#include "crypto/address.h"
#include "crypto/hash.h"
#include "ledger/genesis.h"
#include "net/host.h"
#include "node/p2p_protocol.h"
#include "util/fs.h"
#include "wallet/key_file.h"

namespace {

using namespace imet;
using Clock = std::chrono::steady_clock;

struct Observer final : net::Handler {
  std::mutex mu;
  std::condition_variable cv;
  std::set<net::PeerId> peers;
  uint64_t max_height = 0;                 // highest height seen in consensus traffic
  uint32_t max_attempt = 0;                // highest attempt seen at max_height
  uint64_t height_changes = 0;             // how often max_height grew
  std::vector<ledger::Evidence> evidence;  // evidence peers gossiped
  ledger::Address voter{};

  void on_peer_connected(const net::PeerId& id, const net::PeerInfo&) override {
    std::lock_guard lock(mu);
    peers.insert(id);
    cv.notify_all();
  }
  void on_peer_disconnected(const net::PeerId& id) override {
    std::lock_guard lock(mu);
    peers.erase(id);
    cv.notify_all();
  }
  void on_message(const net::PeerId&, uint8_t type, util::ByteSpan payload) override {
    std::lock_guard lock(mu);
    if (type == node::p2p::kConsensus) {
      auto m = codec::decode<consensus::ConsensusMessage>(payload);
      if (!m.ok()) return;
      uint64_t h = 0;
      uint32_t a = 0;
      if (const consensus::Proposal* p = m->proposal()) {
        h = p->height();
        a = p->attempt;
      } else {
        h = m->vote()->height;
        a = m->vote()->attempt;
      }
      if (h > max_height) {
        max_height = h;
        max_attempt = a;
        ++height_changes;
      } else if (h == max_height && a > max_attempt) {
        max_attempt = a;
      }
      cv.notify_all();
    } else if (type == node::p2p::kEvidence) {
      auto e = codec::decode<ledger::Evidence>(payload);
      if (e.ok() && e->offender() == voter) {
        evidence.push_back(*e);
        cv.notify_all();
      }
    }
  }
};

ledger::WitnessVote make_vote(const crypto::SigningKey& key, const std::string& chain_id,
                              ledger::VoteType type, uint64_t height, uint32_t attempt,
                              std::string_view tag) {
  ledger::WitnessVote v;
  v.chain_id = chain_id;
  v.type = type;
  v.height = height;
  v.attempt = attempt;
  const std::string seed = "imet-equivocate/" + std::string(tag) + "/" + std::to_string(height) +
                           "/" + std::to_string(attempt);
  v.block_hash = crypto::blake2b_256(util::to_bytes(seed));
  v.sign(key);
  return v;
}

int run(int argc, char** argv) {
  std::string key_path, genesis_path, type_name = "prepare", mode = "votes";
  std::vector<std::string> peers;
  int tries = 5;
  int wait_ms = 5'000;
  CLI::App app{"imet-equivocate: sign two conflicting votes as a testnet witness (test tool)"};
  app.add_option("--key", key_path, "the witness's key file (node_key.json, unencrypted)")
      ->required();
  app.add_option("--genesis", genesis_path, "the network's genesis.json")->required();
  app.add_option("--peer", peers, "P2P address HOST:PORT of an honest node (repeatable)")
      ->required();
  app.add_option("--type", type_name, "vote type: prepare or commit")
      ->check(CLI::IsMember({"prepare", "commit"}));
  app.add_option("--mode", mode, "votes: gossip the two votes; evidence: send their evidence")
      ->check(CLI::IsMember({"votes", "evidence"}));
  app.add_option("--tries", tries, "heights to try before giving up")->check(CLI::Range(1, 100));
  app.add_option("--wait-ms", wait_ms, "how long to wait for evidence per try")
      ->check(CLI::Range(100, 600'000));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto fail = [](const std::string& what) {
    std::fprintf(stderr, "imet-equivocate: %s\n", what.c_str());
    return 2;
  };
  auto gtext = util::read_file(genesis_path, 1 << 24);
  if (!gtext.ok()) return fail(gtext.status().message());
  auto genesis = ledger::parse_genesis_json(*gtext);
  if (!genesis.ok()) return fail(genesis_path + ": " + genesis.status().message());
  auto ktext = util::read_file(key_path, 1 << 16);
  if (!ktext.ok()) return fail(ktext.status().message());
  auto kfile = wallet::parse_key_file(*ktext);
  if (!kfile.ok()) return fail(key_path + ": " + kfile.status().message());
  auto key = wallet::open_key(*kfile, "");
  if (!key.ok()) return fail(key_path + ": " + key.status().message());
  const ledger::VoteType type =
      type_name == "commit" ? ledger::VoteType::kCommit : ledger::VoteType::kPrepare;

  Observer obs;
  obs.voter = crypto::address_bytes_of(key->public_key());
  net::NetConfig nc;
  nc.listen_host = "127.0.0.1";
  nc.listen_port = 0;
  nc.seeds = peers;
  nc.max_outbound = peers.size();
  const ledger::Hash gh = genesis->hash();
  std::copy(gh.begin(), gh.end(), nc.network_id.begin());
  nc.software_version = "imet-equivocate";
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  // A fresh transport identity: the witness key only signs the votes.
  auto host = net::Host::start(io, nc, crypto::SigningKey::generate(), obs);
  if (!host.ok()) return fail("cannot start the P2P host: " + host.status().message());
  std::thread io_thread([&io] { io.run(); });
  auto finish = [&](int code) {
    (*host)->stop();
    work.reset();
    io.stop();
    io_thread.join();
    return code;
  };

  std::unique_lock lock(obs.mu);
  // All peers connected (or what we have after 10 s), then traffic of a height that started after
  // we joined: its first message gives the most time before that height ends.
  obs.cv.wait_for(lock, std::chrono::seconds(10), [&] { return obs.peers.size() >= peers.size(); });
  if (obs.peers.empty()) {
    std::fprintf(stderr, "imet-equivocate: no peer connected\n");
    return finish(1);
  }
  for (int t = 0; t < tries; ++t) {
    const uint64_t changes = obs.height_changes;
    if (!obs.cv.wait_for(lock, std::chrono::seconds(30),
                         [&] { return obs.height_changes > changes + (t == 0 ? 1 : 0); })) {
      std::fprintf(stderr, "imet-equivocate: no consensus traffic from the peers\n");
      return finish(1);
    }
    // Votes: the height in progress, where the honest engines look for equivocation. Evidence:
    // the height before, final everywhere by now (a node still one block behind would ignore
    // evidence from its future).
    const uint64_t h = mode == "votes" || obs.max_height < 2 ? obs.max_height : obs.max_height - 1;
    const uint32_t a = mode == "votes" ? obs.max_attempt : 0;
    const ledger::WitnessVote v1 = make_vote(*key, genesis->chain_id, type, h, a, "a");
    const ledger::WitnessVote v2 = make_vote(*key, genesis->chain_id, type, h, a, "b");
    const std::vector<net::PeerId> connected(obs.peers.begin(), obs.peers.end());
    lock.unlock();
    if (mode == "votes") {
      (*host)->broadcast(node::p2p::kConsensus, codec::encode(consensus::ConsensusMessage{v1}));
      (*host)->broadcast(node::p2p::kConsensus, codec::encode(consensus::ConsensusMessage{v2}));
    } else {
      const util::Bytes ev = codec::encode(*ledger::make_evidence(v1, v2));
      for (const net::PeerId& id : connected)
        (*host)->send(id, node::p2p::kEvidence, ev);
    }
    std::printf(
        "{\"voter\":\"%s\",\"mode\":\"%s\",\"type\":\"%s\",\"height\":%llu,"
        "\"attempt\":%u,\"peers\":%zu}\n",
        crypto::encode_address(obs.voter).c_str(), mode.c_str(), type_name.c_str(),
        static_cast<unsigned long long>(h), a, connected.size());
    std::fflush(stdout);
    lock.lock();
    if (obs.cv.wait_for(lock, std::chrono::milliseconds(wait_ms),
                        [&] { return !obs.evidence.empty(); })) {
      const ledger::Evidence e = obs.evidence.front();
      std::printf("{\"evidence\":{\"height\":%llu,\"attempt\":%u}}\n",
                  static_cast<unsigned long long>(e.a.height), e.a.attempt);
      std::fflush(stdout);
      lock.unlock();
      return finish(0);
    }
  }
  lock.unlock();
  std::fprintf(stderr, "imet-equivocate: no peer gossiped evidence against %s\n",
               crypto::encode_address(obs.voter).c_str());
  return finish(1);
}

}  // namespace

int main(int argc, char** argv) {
  return run(argc, argv);
}
