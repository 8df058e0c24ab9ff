// ConsensusService's block sync over real sockets (service_fixture.h): the service starts at
// height 0 and catches up from serving peers (plain net::Hosts answering GetBlocksMsg from a chain
// the test built and finalized with the only witness's key). Small windows (4 blocks, 8 requests
// in flight, 3 per peer) make the pipelining visible with a 40-60 block chain: several requests
// in flight spread over three peers; a silent peer's windows asked again from another after the
// request timeout; replies that arrive ahead of a held one buffered (within the span limit) and
// applied once the gap is filled; a peer serving an invalid certificate banned while sync
// completes from the honest one.
// Thread-safety: ServingPeer members are guarded by its mutex (its host calls it on the I/O
// thread). Invariants: none beyond the assertions.
#include <algorithm>

#include "service_fixture.h"

namespace imet::node {
namespace {

// A peer that claims `height` final blocks and answers block requests from `chain`, at once
// (kServe), when released (kHold) or never (kSilent). With corrupt_from set, every block from
// that height on carries a certificate with a broken signature.
struct ServingPeer final : ServiceLink {
  enum class Mode { kServe, kHold, kSilent };
  ServingPeer(net::PeerId service_id, const std::vector<p2p::FinalBlock>& blocks, Mode m)
      : ServiceLink(service_id), chain(blocks), mode(m) {}
  const std::vector<p2p::FinalBlock>& chain;
  Mode mode;
  std::optional<uint64_t> corrupt_from;
  std::shared_ptr<net::Host> host;
  std::vector<p2p::GetBlocksMsg> requests;  // every request received, in order
  std::vector<p2p::GetBlocksMsg> held;
  size_t served = 0;

  void on_message(const net::PeerId& from, uint8_t type, util::ByteSpan payload) override {
    if (from != expected || type != p2p::kGetBlocks) return;
    auto req = codec::decode<p2p::GetBlocksMsg>(payload);
    ASSERT_TRUE(req.ok());
    std::lock_guard lock(mu);
    requests.push_back(*req);
    if (mode == Mode::kServe) answer(*req);
    if (mode == Mode::kHold) held.push_back(*req);
    cv.notify_all();
  }
  // Called with mu held.
  void answer(const p2p::GetBlocksMsg& req) {
    p2p::BlocksMsg reply;
    for (uint64_t h = req.from_height; h < req.from_height + req.max_blocks && h <= chain.size();
         ++h) {
      reply.blocks.push_back(chain[h - 1]);
      if (corrupt_from && h >= *corrupt_from) {
        reply.blocks.back().cert.commits.at(0).signature[0] ^= 0x01;
      }
    }
    ++served;
    host->send(expected, p2p::kBlocks, codec::encode(reply));
  }
  void release() {
    std::lock_guard lock(mu);
    mode = Mode::kServe;
    for (const auto& r : held)
      answer(r);
    held.clear();
  }
  std::vector<uint64_t> request_froms() {
    std::lock_guard lock(mu);
    std::vector<uint64_t> out;
    for (const auto& r : requests)
      out.push_back(r.from_height);
    return out;
  }
  size_t request_count() {
    std::lock_guard lock(mu);
    return requests.size();
  }
};

class ServiceSyncTest : public ServiceFixture {
 protected:
  ServiceSyncTest() {
    sync_options_.window_blocks = 4;
    sync_options_.max_requests = 8;
    sync_options_.max_requests_per_peer = 3;
    sync_options_.request_timeout_ms = 1'000;
  }

  // Builds `n` final blocks on a second chain of the same genesis, each with a certificate of
  // the only witness's COMMIT.
  void build_source_chain(uint64_t n) {
    store::MemoryStore src_db;
    auto src = Chain::open(src_db, genesis_, {.serial_verifier = true}).value();
    for (uint64_t h = 1; h <= n; ++h) {
      auto block = src->build(witness_, src->tip().time_ms + 500, 0, {});
      ASSERT_TRUE(block.ok()) << block.status().to_string();
      ledger::WitnessVote v;
      v.chain_id = "sv";
      v.type = ledger::VoteType::kCommit;
      v.height = h;
      v.block_hash = block->header.hash();
      v.sign(witness_);
      ledger::FinalityCertificate cert;
      cert.height = h;
      cert.block_hash = v.block_hash;
      cert.commits.push_back({v.voter, v.signature});
      ASSERT_TRUE(src->commit(*block, cert).ok());
      source_.push_back({std::move(*block), std::move(cert)});
    }
  }

  ServingPeer& new_serving_peer(ServingPeer::Mode mode) {
    return *serving_.emplace_back(
        std::make_unique<ServingPeer>(node_key_.public_key(), source_, mode));
  }

  // Connects the peer and tells the service its final height.
  void join(ServingPeer& p) {
    auto host = connect(p);
    {
      std::lock_guard lock(p.mu);
      p.host = host;
    }
    p2p::StatusMsg st;
    st.final_height = source_.size();
    st.final_hash = source_.back().block.header.hash();
    host->send(expected_service(), p2p::kStatus, codec::encode(st));
  }
  net::PeerId expected_service() const { return node_key_.public_key(); }

  bool wait_final(uint64_t h, std::chrono::milliseconds timeout = 20s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (service_->sync_info().final_height >= h) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  std::vector<p2p::FinalBlock> source_;
  std::vector<std::unique_ptr<ServingPeer>> serving_;
};

TEST_F(ServiceSyncTest, CatchesUpFromThreePeersWithSeveralRequestsInFlight) {
  build_source_chain(60);
  ServingPeer& a = new_serving_peer(ServingPeer::Mode::kHold);
  ServingPeer& b = new_serving_peer(ServingPeer::Mode::kHold);
  ServingPeer& c = new_serving_peer(ServingPeer::Mode::kHold);
  join(a);
  join(b);
  join(c);
  // Nothing is answered yet: the service fills its 8 request slots, at most 3 per peer.
  const auto total = [&] { return a.request_count() + b.request_count() + c.request_count(); };
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (total() < 8 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(total(), 8u);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(total(), 8u) << "more than max_requests in flight";
  EXPECT_EQ(service_->sync_info().requests_in_flight, 8u);
  EXPECT_EQ(service_->sync_info().state, "syncing");
  std::vector<uint64_t> froms;
  for (ServingPeer* p : {&a, &b, &c}) {
    const auto f = p->request_froms();
    EXPECT_GE(f.size(), 2u);
    EXPECT_LE(f.size(), 3u);
    froms.insert(froms.end(), f.begin(), f.end());
  }
  std::sort(froms.begin(), froms.end());
  EXPECT_EQ(froms, (std::vector<uint64_t>{1, 5, 9, 13, 17, 21, 25, 29}));  // distinct windows

  for (ServingPeer* p : {&a, &b, &c})
    p->release();
  ASSERT_TRUE(wait_final(60)) << "stuck at " << service_->sync_info().final_height;
  for (ServingPeer* p : {&a, &b, &c}) {
    std::lock_guard lock(p->mu);
    EXPECT_GE(p->served, 2u);  // its first requests at least
  }
  std::lock_guard lock(chain_mu_);
  EXPECT_EQ(chain_->final_tip().hash, source_.back().block.header.hash());
}

TEST_F(ServiceSyncTest, WindowsOfAPeerThatNeverAnswersAreAskedFromAnother) {
  build_source_chain(40);
  ServingPeer& silent = new_serving_peer(ServingPeer::Mode::kSilent);
  ServingPeer& a = new_serving_peer(ServingPeer::Mode::kServe);
  join(silent);
  ASSERT_TRUE(silent.wait([&] { return silent.requests.size() == 3; }));
  join(a);
  ASSERT_TRUE(wait_final(40)) << "stuck at " << service_->sync_info().final_height;
  // The silent peer's windows (1, 5, 9) went to `a` after the timeout; the silent peer, stalled,
  // was not asked again, and a few points per timeout did not get it banned.
  const auto froms = a.request_froms();
  for (uint64_t f : {1, 5, 9})
    EXPECT_NE(std::find(froms.begin(), froms.end(), f), froms.end()) << f;
  EXPECT_EQ(silent.request_count(), 3u);
  std::lock_guard lock(silent.mu);
  EXPECT_FALSE(silent.disconnected);
}

TEST_F(ServiceSyncTest, RepliesAheadOfAMissingOneAreBufferedThenApplied) {
  build_source_chain(40);
  ServingPeer& slow = new_serving_peer(ServingPeer::Mode::kHold);
  ServingPeer& fast = new_serving_peer(ServingPeer::Mode::kServe);
  join(slow);
  ASSERT_TRUE(slow.wait([&] { return slow.requests.size() == 3; }));  // heights 1-12
  join(fast);
  // `fast` answers 13-32 (the span of 8 windows of 4 from height 1); they wait for 1-12.
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (service_->sync_info().buffered_blocks < 20 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(300ms);
  SyncInfo si = service_->sync_info();
  EXPECT_EQ(si.buffered_blocks, 20u);
  EXPECT_EQ(si.final_height, 0u);
  EXPECT_EQ(fast.request_froms(), (std::vector<uint64_t>{13, 17, 21, 25, 29}));
  // Before the timeout the held replies arrive, out of order with the buffered ones.
  slow.release();
  ASSERT_TRUE(wait_final(40)) << "stuck at " << service_->sync_info().final_height;
  si = service_->sync_info();
  EXPECT_EQ(si.buffered_blocks, 0u);
  EXPECT_EQ(si.requests_in_flight, 0u);
  EXPECT_EQ(si.state, "synced");
}

TEST_F(ServiceSyncTest, APeerServingAnInvalidCertificateIsBannedAndSyncCompletes) {
  build_source_chain(40);
  ServingPeer& bad = new_serving_peer(ServingPeer::Mode::kServe);
  bad.corrupt_from = 2;  // block 1 is fine, every later certificate is forged
  ServingPeer& good = new_serving_peer(ServingPeer::Mode::kServe);
  join(bad);
  ASSERT_TRUE(bad.wait([&] { return bad.disconnected; })) << "peer with a forged certificate kept";
  EXPECT_EQ(service_->sync_info().final_height, 1u);  // the valid block before the forged one
  join(good);
  ASSERT_TRUE(wait_final(40)) << "stuck at " << service_->sync_info().final_height;
  for (const net::PeerInfo& p : service_->peers())
    EXPECT_NE(p.id, bad.host->id()) << "banned peer still connected";
  std::lock_guard lock(chain_mu_);
  EXPECT_EQ(chain_->final_tip().hash, source_.back().block.header.hash());
}

}  // namespace
}  // namespace imet::node
