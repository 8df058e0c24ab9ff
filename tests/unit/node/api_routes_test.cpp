#include "node/api_routes.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ledger/pod.h"
#include "ledger/smt/hash.h"
#include "ledger/smt/proof.h"
#include "store/memory_store.h"

namespace imet::node {
namespace {

using nlohmann::json;

crypto::SigningKey api_key(uint8_t b) {
  crypto::Seed s{};
  s.fill(b);
  return crypto::SigningKey::from_seed(s);
}

class ApiRoutesTest : public ::testing::Test {
 protected:
  crypto::SigningKey producer = api_key(1), node_key = api_key(2), device = api_key(3);
  store::MemoryStore db;
  std::unique_ptr<Chain> chain =
      Chain::open(
          db, ledger::make_dev_genesis(crypto::address_bytes_of(producer.public_key()), 1000, "t"))
          .value();
  std::mutex mu;
  api::HttpHandler handler = make_api_routes(*chain, mu, producer.public_key());
  uint64_t nonce = 0;
  ledger::Hash first_rejected{};

  ledger::Transaction make(ledger::TxBody body, const crypto::SigningKey& by) {
    ledger::Transaction tx;
    tx.chain_id = "t";
    tx.nonce = 0;
    tx.body = std::move(body);
    tx.fee = ledger::imet(1);
    tx.expiry_height = 100;
    tx.sign(by);
    return tx;
  }
  // Checks a {key, record?, proof, height, state_root} object the way a light client does.
  void expect_proof_verifies(const json& p, const util::Bytes& key) {
    EXPECT_EQ(p["key"], util::to_hex(key));
    auto header = codec::decode<ledger::BlockHeader>(
        util::from_hex(get("/v1/blocks/" + std::to_string(p["height"].get<uint64_t>()))
                           .second["header"]
                           .get<std::string>())
            .value());
    ASSERT_TRUE(header.ok());
    EXPECT_TRUE(header->signature_valid());
    EXPECT_EQ(util::to_hex(header->state_root), p["state_root"]);
    auto proof =
        codec::decode<ledger::smt::Proof>(util::from_hex(p["proof"].get<std::string>()).value());
    ASSERT_TRUE(proof.ok());
    std::optional<ledger::smt::ValueHash> value;
    if (p.contains("record")) {
      value = ledger::smt::value_hash_of(util::from_hex(p["record"].get<std::string>()).value());
    }
    EXPECT_TRUE(
        ledger::smt::verify(header->state_root, ledger::smt::key_of(key), value, *proof).ok());
    // Any other claim fails.
    EXPECT_FALSE(ledger::smt::verify(header->state_root, ledger::smt::key_of(key),
                                     ledger::smt::value_hash_of(util::to_bytes("forged")), *proof)
                     .ok());
  }

  void submit(ledger::TxBody body) {
    ledger::Transaction tx;
    tx.chain_id = "t";
    tx.nonce = nonce++;
    tx.body = std::move(body);
    tx.fee = ledger::imet(20);
    tx.expiry_height = 100;
    tx.sign(producer);
    auto r = chain->submit(tx);
    ASSERT_FALSE(r) << r->message;
  }
  std::pair<unsigned, json> get(const std::string& path) {
    api::HttpResponse r = handler({"GET", path, ""});
    return {r.status, json::parse(r.body)};
  }
};

TEST_F(ApiRoutesTest, RegistriesAreQueryable) {
  ledger::Hash content = crypto::blake2b_256(util::to_bytes("doc"));
  submit(ledger::Notarize{content, 3, util::to_bytes("m")});
  submit(ledger::NameRegister{"weather", {ledger::NameTargetKind::kTopic, "city/weather"}});
  ledger::RegisterNode rn;
  rn.node_key = node_key.public_key();
  rn.info.endpoints = {"tcp://203.0.113.5:7645"};
  rn.node_signature = node_key.sign(ledger::node_ownership_message("t", producer.public_key()));
  submit(rn);
  submit(ledger::DeviceRegister{device.public_key(), 3, producer.public_key(), std::nullopt});
  ASSERT_TRUE(chain->produce(producer, 2000).ok());
  ASSERT_EQ(chain->store().block_at(1).value()->txs.size(), 4u);

  auto [c1, dels] = get("/v1/delegates");
  EXPECT_EQ(c1, 200u);
  ASSERT_EQ(dels.size(), 1u);
  EXPECT_EQ(dels[0]["name"], "dev");
  EXPECT_EQ(dels[0]["address"], crypto::address_of(producer.public_key()));
  EXPECT_EQ(dels[0]["jailed"], false);
  EXPECT_EQ(dels[0]["jailed_height"], 0);
  EXPECT_EQ(dels[0]["missed"], 0);
  EXPECT_TRUE(dels[0]["stake"].is_string());
  auto [c2, nodes] = get("/v1/nodes");
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0]["node"], crypto::address_of(node_key.public_key()));
  EXPECT_EQ(nodes[0]["endpoints"][0], "tcp://203.0.113.5:7645");
  auto [c3, name] = get("/v1/names/weather");
  EXPECT_EQ(c3, 200u);
  EXPECT_EQ(name["target"]["kind"], "topic");
  auto [c4, note] = get("/v1/notarizations/" + util::to_hex(content));
  EXPECT_EQ(c4, 200u);
  EXPECT_EQ(note["height"], 1);
  EXPECT_EQ(note["owner"], crypto::address_of(producer.public_key()));
  auto [c5, dev] = get("/v1/devices/" + crypto::address_of(device.public_key()));
  EXPECT_EQ(c5, 200u);
  EXPECT_EQ(dev["default_tier"], 3);

  EXPECT_EQ(get("/v1/names/unknown").first, 404u);
  EXPECT_EQ(get("/v1/names/Bad!").first, 400u);
  EXPECT_EQ(get("/v1/notarizations/" + std::string(64, '0')).first, 404u);
  EXPECT_EQ(get("/v1/notarizations/xyz").first, 400u);
  EXPECT_EQ(get("/v1/devices/imet1bad").first, 400u);
  EXPECT_EQ(handler({"POST", "/v1/delegates", ""}).status, 405u);

  // Registry lookups carry a state proof that checks against the block header's state root.
  expect_proof_verifies(note["state_proof"], ledger::keys::notarization(content));
  expect_proof_verifies(name["state_proof"], ledger::keys::name("weather"));
  auto [c6, acc] = get("/v1/accounts/" + crypto::address_of(producer.public_key()));
  EXPECT_EQ(c6, 200u);
  expect_proof_verifies(acc,
                        ledger::keys::account(crypto::address_bytes_of(producer.public_key())));
  auto [c7, none] = get("/v1/accounts/" + crypto::address_of(api_key(9).public_key()));
  EXPECT_EQ(none["exists"], false);
  EXPECT_FALSE(none.contains("record"));
  expect_proof_verifies(none,
                        ledger::keys::account(crypto::address_bytes_of(api_key(9).public_key())));
}

TEST_F(ApiRoutesTest, BlocksByHeightOrHashAndStatusHeads) {
  ASSERT_TRUE(chain->produce(producer, 2000).ok());
  ASSERT_TRUE(chain->produce(producer, 3000).ok());
  auto [c1, by_height] = get("/v1/blocks/2");
  ASSERT_EQ(c1, 200u);
  auto [c2, by_hash] = get("/v1/blocks/" + by_height["hash"].get<std::string>());
  EXPECT_EQ(c2, 200u);
  EXPECT_EQ(by_hash, by_height);
  EXPECT_TRUE(by_height["evidence"].is_array() && by_height["evidence"].empty());
  auto header = codec::decode<ledger::BlockHeader>(
      util::from_hex(by_height["header"].get<std::string>()).value());
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(util::to_hex(header->hash()), by_height["hash"]);
  EXPECT_EQ(get("/v1/blocks/" + std::string(64, 'a')).first, 404u);
  EXPECT_EQ(get("/v1/blocks/" + std::string(64, 'z')).first, 400u);
  EXPECT_EQ(get("/v1/blocks/-1").first, 400u);
  auto [c3, status] = get("/v1/status");
  EXPECT_EQ(c3, 200u);
  EXPECT_EQ(status["head"]["height"], 2);
  EXPECT_EQ(status["head"]["hash"], by_height["hash"]);
  EXPECT_EQ(status["final_height"], 2);
  EXPECT_EQ(status["final"]["height"], 2);
  EXPECT_EQ(status["min_fees"]["register_delegate"], "200");
  EXPECT_EQ(status["pending_txs"], 0);
}

TEST_F(ApiRoutesTest, TransactionStatusKeepsRejectionReasons) {
  // Refused at submission: the reason is remembered.
  ledger::Transaction cheap = make(ledger::Transfer{{}, 1, {}}, producer);
  cheap.fee = 1;
  cheap.sign(producer);
  ASSERT_TRUE(chain->submit(cheap));
  auto [c1, refused] = get("/v1/txs/" + util::to_hex(cheap.id()));
  EXPECT_EQ(c1, 200u);
  EXPECT_EQ(refused["status"], "rejected");
  EXPECT_EQ(refused["code"], "fee_too_low");
  EXPECT_EQ(refused["reason"], 9);
  EXPECT_FALSE(refused.contains("height"));
  // Admitted (nonce and fee fine) but unable to pay when the block is built: dropped with reason.
  crypto::SigningKey poor = api_key(7);
  ledger::Transaction broke = make(ledger::Transfer{{}, ledger::imet(5), {}}, poor);
  ASSERT_FALSE(chain->submit(broke));
  EXPECT_EQ(get("/v1/txs/" + util::to_hex(broke.id())).second["status"], "pending");
  auto block = chain->produce(producer, 2000);
  ASSERT_TRUE(block.ok());
  EXPECT_TRUE(block->txs.empty());
  EXPECT_FALSE(chain->is_pending(broke.id())) << "a transaction that failed is dropped";
  auto [c2, dropped] = get("/v1/txs/" + util::to_hex(broke.id()));
  EXPECT_EQ(dropped["status"], "rejected");
  EXPECT_EQ(dropped["code"], "insufficient_funds");
  EXPECT_EQ(dropped["height"], 1);
  // A final transaction names its block.
  submit(ledger::Stake{ledger::imet(1)});
  auto b2 = chain->produce(producer, 3000);
  ASSERT_TRUE(b2.ok());
  ASSERT_EQ(b2->txs.size(), 1u);
  auto [c3, fin] = get("/v1/txs/" + util::to_hex(b2->txs[0].id()));
  EXPECT_EQ(fin["status"], "final");
  EXPECT_EQ(fin["height"], 2);
  EXPECT_EQ(fin["block_hash"], util::to_hex(b2->header.hash()));
  EXPECT_EQ(fin["tx"]["kind"], "stake");
  EXPECT_EQ(get("/v1/txs/" + std::string(64, '0')).first, 404u);
}

TEST_F(ApiRoutesTest, RejectionMemoryIsBounded) {
  for (size_t i = 0; i < Chain::kMaxRejections + 5; ++i) {
    ledger::Transaction t = make(ledger::Transfer{{}, 1 + i, {}}, producer);
    t.fee = 1;
    t.sign(producer);
    ASSERT_TRUE(chain->submit(t));
    if (i == 0) {
      EXPECT_TRUE(chain->rejection(t.id()));
      first_rejected = t.id();
    }
  }
  EXPECT_FALSE(chain->rejection(first_rejected)) << "the oldest rejection is forgotten";
}

TEST_F(ApiRoutesTest, EpochsShowThePoolUntilPaid) {
  ASSERT_TRUE(chain->produce(producer, 2000).ok());
  auto [c1, e0] = get("/v1/epochs/0");
  EXPECT_EQ(c1, 200u);
  EXPECT_EQ(e0["pool"], "4");  // 80 % of the 5 IMET block reward
  EXPECT_EQ(e0["payout_height"], 2 * chain->config().params.pod.epoch_blocks);
  EXPECT_EQ(get("/v1/epochs/9").first, 404u);
  EXPECT_EQ(get("/v1/epochs/x").first, 400u);
}

// Backpressure (node/tx_admission.h): a client submission refused as busy gets 503 with
// Retry-After; a batch is answered per transaction, and 503 only when every one was refused as
// busy; /v1/status shows the admission limit and the refusals.
TEST_F(ApiRoutesTest, BusyNodeAnswers503WithRetryAfter) {
  store::MemoryStore small_db;
  auto small = Chain::open(small_db,
                           ledger::make_dev_genesis(crypto::address_bytes_of(producer.public_key()),
                                                    1000, "t"),
                           {.admission = {.slots = 4, .floor = 2}})
                   .value();
  api::HttpHandler h = make_api_routes(*small, mu, producer.public_key());
  auto tx = [&](uint64_t n) {
    ledger::Transaction t = make(ledger::Transfer{{}, 1, {}}, producer);
    t.nonce = n;
    t.sign(producer);
    return util::to_hex(codec::encode(t));
  };
  auto retry_after = [](const api::HttpResponse& r) -> std::string {
    for (const auto& [name, value] : r.headers)
      if (name == "Retry-After") return value;
    return "";
  };
  api::HttpResponse one = h({"POST", "/v1/txs", json{{"tx", tx(0)}}.dump()});
  EXPECT_EQ(one.status, 202u) << one.body;
  EXPECT_EQ(retry_after(one), "");
  // A batch that fits only partly: 200, per transaction, with Retry-After for the refused one.
  api::HttpResponse part = h({"POST", "/v1/txs", json{{"txs", {tx(1), tx(2)}}}.dump()});
  EXPECT_EQ(part.status, 200u) << part.body;
  json pj = json::parse(part.body);
  EXPECT_EQ(pj["accepted"], 1);
  EXPECT_EQ(pj["results"][0]["status"], "pending");
  EXPECT_EQ(pj["results"][1]["error"]["code"], "mempool_full");
  EXPECT_FALSE(pj.contains("error"));
  EXPECT_EQ(retry_after(part), "1");
  // A single submission over the limit: 503 + Retry-After, the reason in the error.
  api::HttpResponse busy = h({"POST", "/v1/txs", json{{"tx", tx(2)}}.dump()});
  EXPECT_EQ(busy.status, 503u) << busy.body;
  EXPECT_EQ(retry_after(busy), "1");
  json bj = json::parse(busy.body);
  EXPECT_EQ(bj["error"]["code"], "mempool_full");
  EXPECT_NE(bj["error"]["message"].get<std::string>().find("busy"), std::string::npos);
  // A batch refused entirely: 503, still answered per transaction.
  api::HttpResponse all = h({"POST", "/v1/txs", json{{"txs", {tx(2), tx(3)}}}.dump()});
  EXPECT_EQ(all.status, 503u) << all.body;
  EXPECT_EQ(retry_after(all), "1");
  json aj = json::parse(all.body);
  EXPECT_EQ(aj["accepted"], 0);
  EXPECT_EQ(aj["error"]["code"], "mempool_full");
  ASSERT_EQ(aj["results"].size(), 2u);
  EXPECT_EQ(aj["results"][1]["error"]["code"], "mempool_full");
  // Other refusals keep their status: a malformed transaction is the request's fault.
  EXPECT_EQ(h({"POST", "/v1/txs", json{{"tx", "00"}}.dump()}).status, 400u);
  json st = json::parse(h({"GET", "/v1/status", ""}).body);
  EXPECT_EQ(st["pending_txs"], 2);
  EXPECT_EQ(st["mempool"]["pending"], 2);
  EXPECT_EQ(st["mempool"]["admission_limit"], 2);
  EXPECT_EQ(st["mempool"]["admission_slots"], 4);
  EXPECT_EQ(st["mempool"]["refused_busy"], 4);
  EXPECT_EQ(st["mempool"]["refused_full"], 0);
  EXPECT_EQ(st["mempool"]["max_txs"], 50'000);
}

}  // namespace
}  // namespace imet::node
