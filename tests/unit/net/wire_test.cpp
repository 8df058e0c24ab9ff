// Endpoints and net messages: parsing, validation and the caps.
#include "net/wire.h"

#include <gtest/gtest.h>

namespace imet::net {
namespace {

TEST(Endpoint, ParsesHostPortAndBracketedV6) {
  auto e = parse_endpoint("127.0.0.1:9000");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, 9000);
  e = parse_endpoint("[::1]:65535");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->to_string(), "[::1]:65535");
  e = parse_endpoint("node-1.example.org:1");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->to_string(), "node-1.example.org:1");
}

TEST(Endpoint, RejectsWithSpecificMessages) {
  auto msg = [](std::string_view s) { return parse_endpoint(s).status().message(); };
  EXPECT_NE(msg("localhost").find("missing ':port'"), std::string::npos);
  EXPECT_NE(msg("a:0").find("port must be a number from 1 to 65535"), std::string::npos);
  EXPECT_NE(msg("a:65536").find("port must be"), std::string::npos);
  EXPECT_NE(msg("a:12x").find("port must be"), std::string::npos);
  EXPECT_NE(msg("::1:80").find("[addr]:port"), std::string::npos);
  EXPECT_NE(msg("[::1]80").find("[ipv6]:port"), std::string::npos);
  EXPECT_NE(msg(":80").find("host is empty"), std::string::npos);
  EXPECT_NE(msg("a b:80").find("outside [A-Za-z0-9.-:]"), std::string::npos);
  EXPECT_NE(msg(std::string(254, 'a') + ":1").find("above 253"), std::string::npos);
}

TEST(NetMessages, PingRoundTripsAndRejectsWrongLength) {
  const util::Bytes p = encode_ping(0x0102030405060708ULL);
  ASSERT_EQ(p.size(), 8u);
  EXPECT_EQ(p[0], 0x08);  // little-endian
  auto n = decode_ping(p);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0x0102030405060708ULL);
  EXPECT_FALSE(decode_ping(util::ByteSpan(p).first(7)).ok());
  util::Bytes longer = p;
  longer.push_back(0);
  EXPECT_FALSE(decode_ping(longer).ok());
}

TEST(NetMessages, AddrRoundTripsAndValidatesEntries) {
  const std::vector<Endpoint> eps = {{"10.0.0.1", 1}, {"::1", 2}, {"seed.imet.net", 3}};
  auto back = decode_addr(encode_addr(eps));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, eps);
  // A port-0 entry is refused, naming its index.
  auto bad = decode_addr(encode_addr({{"10.0.0.1", 1}, {"10.0.0.2", 0}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("endpoints[1]"), std::string::npos)
      << bad.status().message();
}

TEST(NetMessages, AddrCountCapIsEnforcedBeforeAllocation) {
  // A count of 1001 entries (LEB128 0xE9 0x07) with no entry data.
  const util::Bytes b = {0xE9, 0x07};
  auto r = decode_addr(b);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("1001"), std::string::npos) << r.status().message();
  // encode_addr never produces more than the cap.
  std::vector<Endpoint> many(kMaxAddrEntries + 5, Endpoint{"1.2.3.4", 5});
  auto ok = decode_addr(encode_addr(many));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), kMaxAddrEntries);
}

}  // namespace
}  // namespace imet::net
