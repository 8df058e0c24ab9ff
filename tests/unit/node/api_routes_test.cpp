#include "node/api_routes.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "store/memory_store.h"

namespace imet::node {
namespace {

using nlohmann::json;

crypto::SigningKey key(uint8_t b) {
  crypto::Seed s{};
  s.fill(b);
  return crypto::SigningKey::from_seed(s);
}

class ApiRoutesTest : public ::testing::Test {
 protected:
  crypto::SigningKey producer = key(1), node_key = key(2), device = key(3);
  store::MemoryStore db;
  std::unique_ptr<Chain> chain =
      Chain::open(
          db, ledger::make_dev_genesis(crypto::address_bytes_of(producer.public_key()), 1000, "t"))
          .value();
  std::mutex mu;
  api::HttpHandler handler = make_api_routes(*chain, mu, producer.public_key());
  uint64_t nonce = 0;

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
}

}  // namespace
}  // namespace imet::node
