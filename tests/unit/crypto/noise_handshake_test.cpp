// HandshakeState behaviour beyond the test vectors: every pattern between fresh parties, and the
// failure modes (tampering, truncation, wrong prologue/PSK/keys, out-of-turn calls, size limits).
#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "crypto/noise/handshake.h"
#include "test_hex.h"

namespace imet::crypto::noise {
namespace {

using testing::hex_array;

bool has(const std::vector<Token>& tokens, Token t) {
  return std::find(tokens.begin(), tokens.end(), t) != tokens.end();
}

struct Peers {
  X25519KeyPair init_static = X25519KeyPair::generate();
  X25519KeyPair resp_static = X25519KeyPair::generate();
  Psk psk = hex_array<32>("54686973206973206d7920417573747269616e20706572737065637469766521");
};

// Configs for both sides of `pattern` with the keys the pattern needs and fresh ephemerals.
std::pair<HandshakeConfig, HandshakeConfig> configs(const Pattern& pattern, const Peers& peers,
                                                    util::Bytes prologue = util::to_bytes("IMET")) {
  HandshakeConfig i, r;
  i.pattern = r.pattern = pattern;
  i.role = Role::kInitiator;
  r.role = Role::kResponder;
  i.prologue = r.prologue = prologue;
  i.local_static = peers.init_static;
  r.local_static = peers.resp_static;
  if (has(pattern.responder_premessage, Token::kS)) i.remote_static = peers.resp_static.public_key;
  if (has(pattern.initiator_premessage, Token::kS)) r.remote_static = peers.init_static.public_key;
  i.psks.assign(pattern.psk_count(), peers.psk);
  r.psks.assign(pattern.psk_count(), peers.psk);
  return {i, r};
}

struct Pair {
  HandshakeState init;
  HandshakeState resp;
};

Pair make_pair(const std::string& name, const Peers& peers) {
  auto pattern = pattern_by_name(name);
  EXPECT_TRUE(pattern.ok()) << name;
  auto [ic, rc] = configs(*pattern, peers);
  auto i = HandshakeState::create(ic);
  auto r = HandshakeState::create(rc);
  EXPECT_TRUE(i.ok()) << i.status().to_string();
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return {std::move(*i), std::move(*r)};
}

// Runs the handshake to completion, payload "m<i>" in message i.
void complete(Pair& p) {
  for (size_t i = 0; !p.init.is_complete(); ++i) {
    HandshakeState& w = i % 2 == 0 ? p.init : p.resp;
    HandshakeState& r = i % 2 == 0 ? p.resp : p.init;
    const std::string payload = "m" + std::to_string(i);
    auto ct = w.write_message(util::as_bytes(payload));
    ASSERT_TRUE(ct.ok()) << ct.status().to_string();
    auto pt = r.read_message(*ct);
    ASSERT_TRUE(pt.ok()) << pt.status().to_string();
    ASSERT_EQ(util::to_string(*pt), payload);
  }
  ASSERT_TRUE(p.resp.is_complete());
}

TEST(NoiseHandshake, EveryPatternAndPskVariantBetweenFreshParties) {
  const Peers peers;
  size_t runs = 0;
  for (auto base : base_pattern_names()) {
    const auto base_pattern = pattern_by_name(base);
    ASSERT_TRUE(base_pattern.ok());
    std::vector<std::string> names{std::string(base)};
    for (size_t k = 0; k <= base_pattern->messages.size(); ++k) {
      names.push_back(std::string(base) + "psk" + std::to_string(k));
    }
    names.push_back(std::string(base) + "psk0+psk" + std::to_string(base_pattern->messages.size()));
    for (const auto& name : names) {
      SCOPED_TRACE(name);
      Pair p = make_pair(name, peers);
      complete(p);
      if (::testing::Test::HasFatalFailure()) return;
      EXPECT_EQ(p.init.handshake_hash(), p.resp.handshake_hash());
      // Each side ends up knowing the other's static key iff the pattern conveys it.
      const Pattern& pat = p.init.pattern();
      bool init_s = has(pat.initiator_premessage, Token::kS);
      bool resp_s = has(pat.responder_premessage, Token::kS);
      for (size_t m = 0; m < pat.messages.size(); ++m) {
        (m % 2 == 0 ? init_s : resp_s) |= has(pat.messages[m], Token::kS);
      }
      if (resp_s) {
        EXPECT_EQ(p.init.remote_static(), peers.resp_static.public_key);
      } else {
        EXPECT_FALSE(p.init.remote_static().has_value());
      }
      if (init_s) {
        EXPECT_EQ(p.resp.remote_static(), peers.init_static.public_key);
      } else {
        EXPECT_FALSE(p.resp.remote_static().has_value());
      }
      auto it = p.init.split();
      auto rt = p.resp.split();
      ASSERT_TRUE(it.ok() && rt.ok());
      for (int round = 0; round < 3; ++round) {
        auto m = it->write_message(util::as_bytes("to responder"));
        ASSERT_TRUE(m.ok());
        auto got = rt->read_message(*m);
        ASSERT_TRUE(got.ok()) << got.status().to_string();
        EXPECT_EQ(util::to_string(*got), "to responder");
        auto back = rt->write_message(util::as_bytes("to initiator"));
        if (p.init.pattern().one_way) {
          EXPECT_FALSE(back.ok());
          EXPECT_FALSE(it->read_message(*m).ok());
        } else {
          ASSERT_TRUE(back.ok());
          auto got_back = it->read_message(*back);
          ASSERT_TRUE(got_back.ok());
          EXPECT_EQ(util::to_string(*got_back), "to initiator");
        }
      }
      ++runs;
    }
  }
  EXPECT_GT(runs, 38u * 4);
}

TEST(NoiseHandshake, FreshEphemeralsGiveFreshSessions) {
  const Peers peers;
  Pair a = make_pair("XX", peers);
  Pair b = make_pair("XX", peers);
  complete(a);
  complete(b);
  EXPECT_NE(a.init.handshake_hash(), b.init.handshake_hash());
}

// Messages of one XX run with fixed keys, for tampering tests.
struct Transcript {
  std::vector<util::Bytes> messages;
};

Transcript xx_transcript(const Peers& peers) {
  Transcript t;
  Pair p = make_pair("XX", peers);
  for (size_t i = 0; i < 3; ++i) {
    HandshakeState& w = i % 2 == 0 ? p.init : p.resp;
    HandshakeState& r = i % 2 == 0 ? p.resp : p.init;
    auto ct = w.write_message(util::as_bytes("payload"));
    EXPECT_TRUE(ct.ok());
    EXPECT_TRUE(r.read_message(*ct).ok());
    t.messages.push_back(*ct);
  }
  return t;
}

TEST(NoiseHandshake, FlippedBitInAuthenticatedMessageIsRejected) {
  const Peers peers;
  // IK message 1 is authenticated (es, ss): every flipped bit makes the responder fail.
  Pair base = make_pair("IK", peers);
  auto m1 = base.init.write_message(util::as_bytes("hello"));
  ASSERT_TRUE(m1.ok());
  for (size_t byte = 0; byte < m1->size(); ++byte) {
    for (int bit = 0; bit < 8; bit += 3) {
      Pair p = make_pair("IK", peers);
      util::Bytes bad = *m1;
      bad[byte] ^= static_cast<uint8_t>(1 << bit);
      auto r = p.resp.read_message(bad);
      ASSERT_FALSE(r.ok()) << "byte " << byte << " bit " << bit;
      EXPECT_EQ(r.status().code(), util::StatusCode::kInvalidArgument);
      EXPECT_TRUE(p.resp.has_failed());
    }
  }
}

TEST(NoiseHandshake, TamperedXxMessagesFailAtTheNextAuthenticatedStep) {
  const Peers peers;
  // Message 2 and 3 of XX carry encrypted statics and payloads: any change is detected on read.
  for (size_t which : {size_t{1}, size_t{2}}) {
    // Replay a handshake with deterministic ephemerals so the transcript is reproducible.
    const auto ie = X25519KeyPair::generate();
    const auto re = X25519KeyPair::generate();
    auto run = [&](std::optional<size_t> flip_byte) -> util::Status {
      auto pattern = pattern_by_name("XX");
      auto [ic, rc] = configs(*pattern, peers);
      ic.local_ephemeral = ie;
      rc.local_ephemeral = re;
      auto i = HandshakeState::create(ic);
      auto r = HandshakeState::create(rc);
      for (size_t m = 0; m < 3; ++m) {
        HandshakeState& w = m % 2 == 0 ? *i : *r;
        HandshakeState& rd = m % 2 == 0 ? *r : *i;
        auto ct = w.write_message(util::as_bytes("payload"));
        if (!ct.ok()) return ct.status();
        if (m == which && flip_byte) (*ct)[*flip_byte % ct->size()] ^= 0x01;
        auto pt = rd.read_message(*ct);
        if (!pt.ok()) return pt.status();
      }
      return {};
    };
    ASSERT_TRUE(run(std::nullopt).ok());
    const size_t size = which == 1 ? 32 + 48 + 7 + 16 : 48 + 7 + 16;
    for (size_t byte = 0; byte < size; ++byte) {
      EXPECT_FALSE(run(byte).ok()) << "message " << which + 1 << " byte " << byte;
    }
  }
  // Message 1 of XX (a clear ephemeral key and payload) is not authenticated by itself, but a
  // change is caught when the initiator reads message 2 (the transcripts differ).
  Pair p = make_pair("XX", peers);
  auto m1 = p.init.write_message(util::as_bytes("hi"));
  ASSERT_TRUE(m1.ok());
  (*m1)[m1->size() - 1] ^= 0x01;
  ASSERT_TRUE(p.resp.read_message(*m1).ok());
  auto m2 = p.resp.write_message({});
  ASSERT_TRUE(m2.ok());
  auto r = p.init.read_message(*m2);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("decryption failed"), std::string::npos)
      << r.status().message();
}

TEST(NoiseHandshake, TruncatedMessagesAreRejected) {
  const Peers peers;
  const Transcript t = xx_transcript(peers);
  for (size_t which = 0; which < 3; ++which) {
    for (size_t len = 0; len < t.messages[which].size(); ++len) {
      Pair p = make_pair("XX", peers);
      // Bring the reader to message `which` with the untouched earlier messages... which only
      // works for message 1 (later ones depend on the ephemerals of this run), so for messages 2
      // and 3 use this run's own messages.
      std::vector<util::Bytes> own;
      bool ok = true;
      for (size_t m = 0; m < which && ok; ++m) {
        HandshakeState& w = m % 2 == 0 ? p.init : p.resp;
        HandshakeState& r = m % 2 == 0 ? p.resp : p.init;
        auto ct = w.write_message(util::as_bytes("payload"));
        ok = ct.ok() && r.read_message(*ct).ok();
      }
      ASSERT_TRUE(ok);
      HandshakeState& w = which % 2 == 0 ? p.init : p.resp;
      HandshakeState& r = which % 2 == 0 ? p.resp : p.init;
      auto ct = w.write_message(util::as_bytes("payload"));
      ASSERT_TRUE(ct.ok());
      ASSERT_EQ(ct->size(), t.messages[which].size());
      auto res = r.read_message(util::ByteSpan(*ct).first(len));
      if (which == 0 && len >= 32) {
        // Message 1 of XX has no tag: any length >= 32 is a (shorter) clear payload.
        EXPECT_TRUE(res.ok());
        continue;
      }
      ASSERT_FALSE(res.ok()) << "message " << which + 1 << " length " << len;
      EXPECT_EQ(res.status().code(), util::StatusCode::kInvalidArgument);
      const size_t min = which == 0 ? 32 : which == 1 ? 32 + 48 + 16 : 48 + 16;
      if (len < min) {
        EXPECT_NE(res.status().message().find("truncated"), std::string::npos)
            << res.status().message();
      }
    }
  }
}

TEST(NoiseHandshake, WrongPrologueFails) {
  const Peers peers;
  for (const char* name : {"NN", "XX", "IK"}) {
    auto pattern = pattern_by_name(name);
    auto [ic, rc] = configs(*pattern, peers, util::to_bytes("IMET mainnet"));
    rc.prologue = util::to_bytes("IMET testnet");
    auto i = HandshakeState::create(ic);
    auto r = HandshakeState::create(rc);
    ASSERT_TRUE(i.ok() && r.ok());
    auto m1 = i->write_message({});
    ASSERT_TRUE(m1.ok());
    auto r1 = r->read_message(*m1);
    if (std::string(name) == "IK") {
      EXPECT_FALSE(r1.ok()) << name;  // message 1 is already encrypted under the transcript
      continue;
    }
    ASSERT_TRUE(r1.ok());
    auto m2 = r->write_message({});
    ASSERT_TRUE(m2.ok());
    EXPECT_FALSE(i->read_message(*m2).ok()) << name;
  }
}

TEST(NoiseHandshake, WrongPskOrWrongResponderKeyFails) {
  const Peers peers;
  auto pattern = pattern_by_name("XXpsk3");
  auto [ic, rc] = configs(*pattern, peers);
  rc.psks[0][0] ^= 1;
  auto i = HandshakeState::create(ic);
  auto r = HandshakeState::create(rc);
  ASSERT_TRUE(i.ok() && r.ok());
  for (int m = 0; m < 2; ++m) {
    HandshakeState& w = m % 2 == 0 ? *i : *r;
    HandshakeState& rd = m % 2 == 0 ? *r : *i;
    auto ct = w.write_message({});
    ASSERT_TRUE(ct.ok());
    ASSERT_TRUE(rd.read_message(*ct).ok());
  }
  auto m3 = i->write_message({});
  ASSERT_TRUE(m3.ok());
  EXPECT_FALSE(r->read_message(*m3).ok());

  // IK initiator that believes in the wrong responder key.
  auto ik = pattern_by_name("IK");
  auto [ic2, rc2] = configs(*ik, peers);
  ic2.remote_static = X25519KeyPair::generate().public_key;
  auto i2 = HandshakeState::create(ic2);
  auto r2 = HandshakeState::create(rc2);
  ASSERT_TRUE(i2.ok() && r2.ok());
  auto m1 = i2->write_message({});
  ASSERT_TRUE(m1.ok());
  EXPECT_FALSE(r2->read_message(*m1).ok());
}

TEST(NoiseHandshake, LowOrderEphemeralIsRejected) {
  const Peers peers;
  Pair p = make_pair("IK", peers);
  auto m1 = p.init.write_message({});
  ASSERT_TRUE(m1.ok());
  std::fill(m1->begin(), m1->begin() + 32, 0);  // ephemeral key := the zero point
  auto r = p.resp.read_message(*m1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("low-order"), std::string::npos) << r.status().message();
}

TEST(NoiseHandshake, OutOfTurnAndLifecycleErrors) {
  const Peers peers;
  Pair p = make_pair("XX", peers);
  EXPECT_TRUE(p.init.is_my_turn());
  EXPECT_FALSE(p.resp.is_my_turn());
  auto r = p.resp.write_message({});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), util::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("out of turn"), std::string::npos);
  r = p.init.read_message(util::Bytes(32));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), util::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(p.init.has_failed());  // out-of-turn calls change nothing
  auto s = p.init.split();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("not complete"), std::string::npos);
  complete(p);
  r = p.init.write_message({});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("already complete"), std::string::npos);
  EXPECT_FALSE(p.resp.read_message(util::Bytes(64)).ok());

  // After a failed read, the state is poisoned.
  Pair q = make_pair("IK", peers);
  auto m1 = q.init.write_message({});
  ASSERT_TRUE(m1.ok());
  (*m1)[40] ^= 1;
  EXPECT_FALSE(q.resp.read_message(*m1).ok());
  (*m1)[40] ^= 1;
  auto again = q.resp.read_message(*m1);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("failed earlier"), std::string::npos);
  EXPECT_FALSE(q.resp.split().ok());
}

TEST(NoiseHandshake, MessageSizeLimits) {
  const Peers peers;
  Pair p = make_pair("XX", peers);
  // Message 1 of XX is e (32 bytes) + clear payload: at most 65503 bytes of payload.
  auto too_big = p.init.write_message(util::Bytes(65535 - 32 + 1));
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.status().code(), util::StatusCode::kInvalidArgument);
  EXPECT_NE(too_big.status().message().find("65503"), std::string::npos)
      << too_big.status().message();
  EXPECT_FALSE(p.init.has_failed());  // nothing was sent; the caller may retry
  auto max = p.init.write_message(util::Bytes(65535 - 32));
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->size(), 65535u);
  EXPECT_TRUE(p.resp.read_message(*max).ok());
  // Message 2 carries e, encrypted s, encrypted payload: 65535 - 32 - 48 - 16 bytes of payload.
  EXPECT_FALSE(p.resp.write_message(util::Bytes(65535 - 96 + 1)).ok());
  auto m2 = p.resp.write_message(util::Bytes(65535 - 96));
  ASSERT_TRUE(m2.ok());
  EXPECT_EQ(m2->size(), 65535u);
  EXPECT_TRUE(p.init.read_message(*m2).ok());

  Pair q = make_pair("XX", peers);
  ASSERT_TRUE(q.init.write_message({}).ok());
  auto over = q.resp.read_message(util::Bytes(65536));
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.status().message().find("exceeds the Noise limit"), std::string::npos);
}

TEST(NoiseHandshake, ConfigErrorsNameTheMissingPiece) {
  const Peers peers;
  struct Case {
    std::string pattern;
    std::function<void(HandshakeConfig&, HandshakeConfig&)> mutate;
    bool initiator;  // which side's create() must fail
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {"XX", [](auto& i, auto&) { i.local_static.reset(); }, true,
       "needs the initiator's static key pair (local_static)"},
      {"XX", [](auto&, auto& r) { r.local_static.reset(); }, false,
       "needs the responder's static key pair (local_static)"},
      {"IK", [](auto& i, auto&) { i.remote_static.reset(); }, true,
       "needs the responder's static public key in advance (remote_static)"},
      {"KK", [](auto&, auto& r) { r.remote_static.reset(); }, false,
       "needs the initiator's static public key in advance (remote_static)"},
      {"XX", [&](auto& i, auto&) { i.remote_static = peers.resp_static.public_key; }, true,
       "transmits the responder's static key, so remote_static must not be set"},
      {"XXpsk3", [](auto& i, auto&) { i.psks.clear(); }, true, "needs 1 PSK(s), got 0"},
      {"NN", [&](auto&, auto& r) { r.psks.push_back(peers.psk); }, false, "needs 0 PSK(s), got 1"},
      {"NN", [&](auto& i, auto&) { i.remote_ephemeral = peers.psk; }, true,
       "remote_ephemeral must not be set"},
  };
  for (const auto& c : cases) {
    auto pattern = pattern_by_name(c.pattern);
    auto [ic, rc] = configs(*pattern, peers);
    c.mutate(ic, rc);
    auto s = HandshakeState::create(c.initiator ? ic : rc);
    ASSERT_FALSE(s.ok()) << c.pattern << " / " << c.message_part;
    EXPECT_EQ(s.status().code(), util::StatusCode::kInvalidArgument);
    EXPECT_NE(s.status().message().find(c.message_part), std::string::npos) << s.status().message();
  }
  // NN needs no static key; one given anyway is simply unused.
  auto nn = pattern_by_name("NN");
  auto [ic, rc] = configs(*nn, peers);
  EXPECT_TRUE(HandshakeState::create(ic).ok());
}

// Both ends of an XX session between fresh parties, after the handshake (nullopt on failure).
std::optional<std::pair<TransportState, TransportState>> xx_session() {
  const Peers peers;
  Pair p = make_pair("XX", peers);
  complete(p);
  auto it = p.init.split();
  auto rt = p.resp.split();
  if (!it.ok() || !rt.ok()) return std::nullopt;
  EXPECT_EQ(it->handshake_hash(), p.init.handshake_hash());
  return std::make_pair(std::move(*it), std::move(*rt));
}

TEST(NoiseTransport, TamperReplayReorderAndRekey) {
  auto session = xx_session();
  ASSERT_TRUE(session.has_value());
  TransportState* it = &session->first;
  TransportState* rt = &session->second;
  auto m0 = it->write_message(util::as_bytes("zero"));
  auto m1 = it->write_message(util::as_bytes("one"));
  ASSERT_TRUE(m0.ok() && m1.ok());
  EXPECT_FALSE(rt->read_message(*m1).ok());  // out of order: nonce 0 expected
  util::Bytes bad = *m0;
  bad[0] ^= 1;
  EXPECT_FALSE(rt->read_message(bad).ok());
  ASSERT_TRUE(rt->read_message(*m0).ok());
  EXPECT_FALSE(rt->read_message(*m0).ok());  // replay
  ASSERT_TRUE(rt->read_message(*m1).ok());
  ASSERT_TRUE(it->rekey_send().ok());
  auto m2 = it->write_message(util::as_bytes("two"));
  ASSERT_TRUE(m2.ok());
  ASSERT_TRUE(rt->rekey_receive().ok());
  auto got = rt->read_message(*m2);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(util::to_string(*got), "two");
  EXPECT_FALSE(it->write_message(util::Bytes(65535 - 16 + 1)).ok());
  EXPECT_TRUE(it->write_message(util::Bytes(65535 - 16)).ok());
}

TEST(NoiseTransport, RekeysEachDirectionEveryIntervalMessages) {
  auto session = xx_session();
  ASSERT_TRUE(session.has_value());
  TransportState* it = &session->first;
  TransportState* rt = &session->second;
  // Copies of the initial ciphers, rekeyed by hand where the schedule says so.
  CipherState i_send = it->send_cipher(), r_send = rt->send_cipher();
  it->set_rekey_interval(3);
  rt->set_rekey_interval(3);
  for (int m = 0; m < 40; ++m) {  // 13 rekeys per direction
    const std::string text = "message " + std::to_string(m);
    // Initiator to responder, and (every other time) back.
    auto c = it->write_message(util::as_bytes(text));
    ASSERT_TRUE(c.ok()) << m;
    auto expected = i_send.encrypt_with_ad({}, util::as_bytes(text));
    ASSERT_TRUE(expected.ok());
    EXPECT_EQ(*c, *expected) << m;  // keys change after messages 3, 6, 9, ... exactly
    if (i_send.nonce() % 3 == 0) {
      ASSERT_TRUE(i_send.rekey().ok());
    }
    auto got = rt->read_message(*c);
    ASSERT_TRUE(got.ok()) << m << ": " << got.status().to_string();
    EXPECT_EQ(util::to_string(*got), text);
    if (m % 2 == 0) {
      auto back = rt->write_message(util::as_bytes(text));
      ASSERT_TRUE(back.ok());
      auto expected_back = r_send.encrypt_with_ad({}, util::as_bytes(text));
      ASSERT_TRUE(expected_back.ok());
      EXPECT_EQ(*back, *expected_back) << m;
      if (r_send.nonce() % 3 == 0) {
        ASSERT_TRUE(r_send.rekey().ok());
      }
      auto got_back = it->read_message(*back);
      ASSERT_TRUE(got_back.ok()) << m;
      EXPECT_EQ(util::to_string(*got_back), text);
    }
  }
  EXPECT_EQ(it->send_cipher().nonce(), 40u);  // Rekey() leaves the nonce counting
  EXPECT_EQ(rt->receive_cipher().nonce(), 40u);
}

TEST(NoiseTransport, APeerThatDoesNotRekeyCannotBeReadPastTheInterval) {
  auto session = xx_session();
  ASSERT_TRUE(session.has_value());
  TransportState* it = &session->first;
  TransportState* rt = &session->second;
  rt->set_rekey_interval(4);  // the initiator never rekeys
  for (int m = 0; m < 4; ++m)
    ASSERT_TRUE(rt->read_message(*it->write_message(util::as_bytes("x"))).ok()) << m;
  EXPECT_FALSE(rt->read_message(*it->write_message(util::as_bytes("x"))).ok());
}

}  // namespace
}  // namespace imet::crypto::noise
