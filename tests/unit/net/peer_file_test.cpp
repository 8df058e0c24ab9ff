// The peers file format (net/peer_file.h) against its spec: a round trip of every kind of entry,
// and each kind of garbage (not JSON, truncated, wrong version, wrong field types, bad ids, IPs,
// endpoints and sources, binary noise) refused with an error naming the field, never a crash.
// Thread-safety: single-threaded tests. Invariants: none beyond the assertions.
#include "net/peer_file.h"

#include <random>

#include <gtest/gtest.h>

namespace imet::net {
namespace {

PeerFileData sample() {
  PeerFileData d;
  PeerId id{};
  id.fill(0xab);
  d.banned_ids.emplace_back(id, 1'893'456'000'000);
  d.banned_ips.emplace_back("203.0.113.5", 1'893'456'000'001);
  d.banned_ips.emplace_back("2001:db8::7", 5);
  d.addresses.push_back({Endpoint{"203.0.113.9", 7645}, AddrSource::kPeer, 3});
  d.addresses.push_back({Endpoint{"2001:db8::9", 7645}, AddrSource::kNode, 0, true});
  d.addresses.push_back({Endpoint{"node.example.org", 1}, AddrSource::kPeer, 0});
  return d;
}

TEST(PeerFile, RoundTrips) {
  const PeerFileData d = sample();
  const std::string text = encode_peer_file(d);
  auto back = decode_peer_file(text);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->banned_ids, d.banned_ids);
  EXPECT_EQ(back->banned_ips, d.banned_ips);
  ASSERT_EQ(back->addresses.size(), d.addresses.size());
  for (size_t i = 0; i < d.addresses.size(); ++i) {
    EXPECT_EQ(back->addresses[i].endpoint, d.addresses[i].endpoint);
    EXPECT_EQ(back->addresses[i].source, d.addresses[i].source);
    EXPECT_EQ(back->addresses[i].failures, d.addresses[i].failures);
    EXPECT_EQ(back->addresses[i].tried, d.addresses[i].tried);
  }
  // "tried" is optional (files written before it existed): false when missing.
  auto old = decode_peer_file(
      R"({"version": 1, "addresses": [{"address": "x:1", "source": "peer", "failures": 0}]})");
  ASSERT_TRUE(old.ok());
  EXPECT_FALSE(old->addresses.at(0).tried);
  EXPECT_NE(text.find("\"[2001:db8::9]:7645\""), std::string::npos) << text;
  // Missing lists are empty; unknown keys are ignored.
  auto minimal = decode_peer_file(R"({"version": 1, "comment": "hand-written"})");
  ASSERT_TRUE(minimal.ok());
  EXPECT_TRUE(minimal->banned_ids.empty() && minimal->addresses.empty());
}

TEST(PeerFile, GarbageIsRefusedWithTheField) {
  const std::string id(64, 'a');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not JSON"},
      {"{\"version\": 1, \"banned_ids\": [", "not JSON"},
      {"[1, 2]", "not a JSON object"},
      {"{}", "version"},
      {R"({"version": 2})", "version"},
      {R"({"version": "1"})", "version"},
      {R"({"version": 1, "banned_ids": {}})", "banned_ids: not an array"},
      {R"({"version": 1, "banned_ids": [7]})", "banned_ids[0]: not an object"},
      {R"({"version": 1, "banned_ids": [{"id": "abc", "until_unix_ms": 1}]})", "banned_ids[0].id"},
      {R"({"version": 1, "banned_ids": [{"id": ")" + std::string(64, 'z') +
           R"(", "until_unix_ms": 1}]})",
       "banned_ids[0].id"},
      {R"({"version": 1, "banned_ids": [{"id": ")" + id + R"(", "until_unix_ms": "soon"}]})",
       "banned_ids[0].until_unix_ms"},
      {R"({"version": 1, "banned_ids": [{"id": ")" + id + R"(", "until_unix_ms": 1.5}]})",
       "banned_ids[0].until_unix_ms"},
      {R"({"version": 1, "banned_ids": [{"id": ")" + id +
           R"(", "until_unix_ms": 18446744073709551615}]})",
       "banned_ids[0].until_unix_ms: out of range"},
      {R"({"version": 1, "banned_ips": [{"ip": "example.org", "until_unix_ms": 1}]})",
       "banned_ips[0].ip"},
      {R"({"version": 1, "banned_ips": [{"ip": "::ffff:0:1.2.3.4x", "until_unix_ms": 1}]})",
       "banned_ips[0].ip"},
      {R"({"version": 1, "addresses": [{"address": "x:0", "source": "peer", "failures": 0}]})",
       "addresses[0].address"},
      {R"({"version": 1, "addresses": [{"address": "x:1", "source": "seed", "failures": 0}]})",
       "addresses[0].source"},
      {R"({"version": 1, "addresses": [{"address": "x:1", "source": "peer", "failures": -1}]})",
       "addresses[0].failures"},
      {R"({"version": 1, "addresses": [{"address": "x:1", "source": "peer"}]})",
       "addresses[0].failures"},
      {R"({"version": 1, "addresses": [{"address": "x:1", "source": "peer", "failures": 0,
           "tried": 1}]})",
       "addresses[0].tried"},
  };
  for (const auto& [text, field] : cases) {
    auto r = decode_peer_file(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.status().message().find(field), std::string::npos)
        << text << " -> " << r.status().message();
  }
  // Binary noise and every truncation of a valid file: refused or decoded, never a crash.
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200; ++i) {
    std::string noise(rng() % 300, '\0');
    for (char& c : noise)
      c = static_cast<char>(rng());
    EXPECT_FALSE(decode_peer_file(noise).ok());
  }
  const std::string valid = encode_peer_file(sample());
  for (size_t n = 0; n + 1 < valid.size(); ++n)  // (all but the final newline)
    EXPECT_FALSE(decode_peer_file(valid.substr(0, n)).ok()) << n;
}

}  // namespace
}  // namespace imet::net
