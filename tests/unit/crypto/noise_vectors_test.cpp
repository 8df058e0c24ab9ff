// The cacophony Noise test vectors: every Noise_*_25519_ChaChaPoly_BLAKE2b vector is run through an
// initiator and a responder HandshakeState, checking every handshake and transport ciphertext byte
// for byte, both decryptions, and the final handshake hash.
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/noise/handshake.h"
#include "util/bytes.h"

namespace imet::crypto::noise {
namespace {

using nlohmann::json;

constexpr char kVectorsPath[] = IMET_SHARED_TESTDATA "/noise/cacophony.json";

json load_vectors() {
  std::ifstream in(kVectorsPath);
  if (!in) return json();
  return json::parse(in, nullptr, /*allow_exceptions=*/false);
}

std::string hex_field(const json& v, const char* key) {
  return v.contains(key) ? v.at(key).get<std::string>() : std::string();
}

// Reads an optional 32-byte hex field; `error` is set if present but malformed.
std::optional<util::ByteArray<32>> key_field(const json& v, const char* key, std::string& error) {
  if (!v.contains(key)) return std::nullopt;
  auto r = util::from_hex_fixed<32>(v.at(key).get<std::string>());
  if (!r.ok()) {
    error = std::string(key) + ": " + r.status().message();
    return std::nullopt;
  }
  return *r;
}

util::Bytes bytes_field(const json& v, const char* key) {
  auto r = util::from_hex(hex_field(v, key));
  return r.ok() ? *r : util::Bytes{};
}

// Builds one side's config from the vector fields with prefix "init_" or "resp_".
std::optional<HandshakeConfig> side_config(const json& v, const Pattern& pattern, Role role,
                                           std::string& error) {
  const std::string p = role == Role::kInitiator ? "init_" : "resp_";
  HandshakeConfig c;
  c.pattern = pattern;
  c.role = role;
  c.prologue = bytes_field(v, (p + "prologue").c_str());
  if (auto k = key_field(v, (p + "static").c_str(), error)) {
    c.local_static = X25519KeyPair::from_private(*k);
  }
  if (auto k = key_field(v, (p + "ephemeral").c_str(), error)) {
    c.local_ephemeral = X25519KeyPair::from_private(*k);
  }
  c.remote_static = key_field(v, (p + "remote_static").c_str(), error);
  c.remote_ephemeral = key_field(v, (p + "remote_ephemeral").c_str(), error);
  if (v.contains(p + "psks")) {
    for (const auto& psk : v.at(p + "psks")) {
      auto r = util::from_hex_fixed<32>(psk.get<std::string>());
      if (!r.ok())
        error = "psk: " + r.status().message();
      else
        c.psks.push_back(*r);
    }
  }
  if (!error.empty()) return std::nullopt;
  return c;
}

// Runs one vector; returns "" on success or a description of the first mismatch.
std::string run_vector(const json& v, const Pattern& pattern) {
  std::string error;
  auto ic = side_config(v, pattern, Role::kInitiator, error);
  auto rc = side_config(v, pattern, Role::kResponder, error);
  if (!ic || !rc) return "bad vector: " + error;
  const std::optional<util::ByteArray<32>> init_static_pub =
      ic->local_static ? std::optional(ic->local_static->public_key) : std::nullopt;
  const std::optional<util::ByteArray<32>> resp_static_pub =
      rc->local_static ? std::optional(rc->local_static->public_key) : std::nullopt;
  auto init = HandshakeState::create(std::move(*ic));
  if (!init.ok()) return "initiator create: " + init.status().to_string();
  auto resp = HandshakeState::create(std::move(*rc));
  if (!resp.ok()) return "responder create: " + resp.status().to_string();

  std::optional<TransportState> init_t, resp_t;
  const auto& messages = v.at("messages");
  for (size_t i = 0; i < messages.size(); ++i) {
    const util::Bytes payload = bytes_field(messages[i], "payload");
    const std::string expected = hex_field(messages[i], "ciphertext");
    const std::string where = "message " + std::to_string(i) + ": ";
    if (!init->is_complete()) {
      if (resp->is_complete()) return where + "responder complete before initiator";
      const bool init_writes = i % 2 == 0;
      HandshakeState& writer = init_writes ? *init : *resp;
      HandshakeState& reader = init_writes ? *resp : *init;
      if (!writer.is_my_turn() || reader.is_my_turn()) return where + "turn mismatch";
      auto ct = writer.write_message(payload);
      if (!ct.ok()) return where + "write: " + ct.status().to_string();
      if (util::to_hex(*ct) != expected) {
        return where + "handshake ciphertext " + util::to_hex(*ct) + " != " + expected;
      }
      auto pt = reader.read_message(*ct);
      if (!pt.ok()) return where + "read: " + pt.status().to_string();
      if (*pt != payload) return where + "handshake payload mismatch";
      continue;
    }
    if (!init_t) {
      if (!resp->is_complete()) return where + "initiator complete before responder";
      const std::string hh = hex_field(v, "handshake_hash");
      if (util::to_hex(init->handshake_hash()) != hh) {
        return "initiator handshake hash " + util::to_hex(init->handshake_hash()) + " != " + hh;
      }
      if (util::to_hex(resp->handshake_hash()) != hh) return "responder handshake hash mismatch";
      // Each side learned the other's static key, if the pattern uses one.
      if (resp_static_pub && init->remote_static() != resp_static_pub) {
        return "initiator does not know the responder's static key";
      }
      if (init_static_pub && resp->remote_static() != init_static_pub) {
        return "responder does not know the initiator's static key";
      }
      auto it = init->split();
      auto rt = resp->split();
      if (!it.ok() || !rt.ok()) return "split failed";
      init_t.emplace(std::move(*it));
      resp_t.emplace(std::move(*rt));
    }
    const bool init_sends = pattern.one_way || i % 2 == 0;
    TransportState& sender = init_sends ? *init_t : *resp_t;
    TransportState& receiver = init_sends ? *resp_t : *init_t;
    auto ct = sender.write_message(payload);
    if (!ct.ok()) return where + "transport write: " + ct.status().to_string();
    if (util::to_hex(*ct) != expected) {
      return where + "transport ciphertext " + util::to_hex(*ct) + " != " + expected;
    }
    auto pt = receiver.read_message(*ct);
    if (!pt.ok()) return where + "transport read: " + pt.status().to_string();
    if (*pt != payload) return where + "transport payload mismatch";
  }
  if (!init_t) return "vector ended before the handshake completed";
  return "";
}

TEST(NoiseVectors, EveryBlake2bVectorPasses) {
  const json doc = load_vectors();
  ASSERT_TRUE(doc.is_object() && doc.contains("vectors"))
      << "cannot read or parse " << kVectorsPath;
  size_t blake2b_vectors = 0;
  size_t implemented = 0;
  std::vector<std::string> passed_patterns;
  std::set<std::string> unimplemented;
  std::map<std::string, std::string> failures;
  for (const json& v : doc.at("vectors")) {
    const std::string name = v.at("protocol_name").get<std::string>();
    if (name.rfind("Noise_", 0) != 0 || name.size() < kSupportedSuffix.size() ||
        name.compare(name.size() - kSupportedSuffix.size(), std::string::npos, kSupportedSuffix) !=
            0) {
      continue;
    }
    ++blake2b_vectors;
    auto pattern = pattern_from_protocol_name(name);
    if (!pattern.ok()) {
      unimplemented.insert(name + " (" + pattern.status().message() + ")");
      continue;
    }
    ++implemented;
    const std::string result = run_vector(v, *pattern);
    if (result.empty()) {
      passed_patterns.push_back(pattern->name);
    } else {
      failures[name] = result;
    }
  }
  for (const auto& [name, why] : failures)
    ADD_FAILURE() << name << ": " << why;
  for (const auto& name : unimplemented)
    ADD_FAILURE() << "not implemented: " << name;

  std::string list;
  for (const auto& p : passed_patterns)
    list += p + " ";
  std::cout << "[ NOISE    ] " << passed_patterns.size() << " of " << blake2b_vectors
            << " Noise_*_25519_ChaChaPoly_BLAKE2b vectors pass: " << list << "\n";

  EXPECT_EQ(passed_patterns.size(), implemented);
  EXPECT_EQ(implemented, blake2b_vectors) << "every BLAKE2b vector's pattern is implemented";
  // The vectors shipped in tests/data cover 15 base patterns + 21 psk variants + 23 deferred.
  EXPECT_EQ(blake2b_vectors, 59u);
  const std::set<std::string> passed(passed_patterns.begin(), passed_patterns.end());
  for (const char* required : {"NN", "NK", "NX", "XN", "XK", "XX", "KN", "KK", "KX", "IN", "IK",
                               "IX", "N", "K", "X", "XXpsk3", "IKpsk2", "NNpsk0"}) {
    EXPECT_TRUE(passed.count(required)) << required << " must be among the passing vectors";
  }
}

// Vectors for other hash functions/ciphers are refused with a message naming the unsupported part.
TEST(NoiseVectors, OtherSuitesAreRejectedClearly) {
  const json doc = load_vectors();
  ASSERT_TRUE(doc.is_object() && doc.contains("vectors"));
  size_t rejected = 0;
  for (const json& v : doc.at("vectors")) {
    const std::string name = v.at("protocol_name").get<std::string>();
    if (name.find("_BLAKE2b") != std::string::npos) continue;
    auto pattern = pattern_from_protocol_name(name);
    ASSERT_FALSE(pattern.ok()) << name;
    EXPECT_NE(pattern.status().message().find("unsupported hash"), std::string::npos)
        << pattern.status().message();
    ++rejected;
  }
  EXPECT_GT(rejected, 0u);
}

}  // namespace
}  // namespace imet::crypto::noise
