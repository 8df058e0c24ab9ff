// libFuzzer target for the Noise state machines (crypto/noise/): feeds untrusted bytes to
// responder handshakes (XX and IK), to the transport phase after a successful handshake, to a
// keyed CipherState, and to the protocol-name parser. Nothing here may crash, leak or trip
// ASan/UBSan, whatever the input.
// Input format: the whole input is first tried as a raw first handshake message. It is then split
// into frames, each a 2-byte big-endian length followed by that many bytes (the last frame takes
// whatever remains); the frames drive one full responder session per pattern:
//   XX: read(f0), write(reply), read(f1), then transport reads f2, f3, ...
//   IK: read(f0), write(reply), then transport reads f1, f2, ...
// The responder uses the static key, ephemeral key, prologue and reply payload of the cacophony
// vectors (tests/data/noise/cacophony.json), so the seed corpus (fuzz/corpus/noise/: raw first
// messages and framed initiator transcripts from Noise_XX/IK_25519_ChaChaPoly_BLAKE2b) reaches the
// transport phase.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "crypto/noise/handshake.h"
#include "util/bytes.h"

namespace {

using imet::crypto::X25519KeyPair;
using imet::util::ByteArray;
using imet::util::ByteSpan;
using namespace imet::crypto::noise;

ByteArray<32> fixed_key(std::string_view hex) {
  auto r = imet::util::from_hex_fixed<32>(hex);
  return r.ok() ? *r : ByteArray<32>{};
}

constexpr std::string_view kRespStaticHex =
    "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893";
constexpr std::string_view kRespEphemeralHex =
    "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b";
constexpr std::string_view kPrologue = "John Galt";
constexpr std::string_view kReply = "Murray Rothbard";

std::optional<HandshakeState> responder(std::string_view pattern_name) {
  auto pattern = pattern_by_name(pattern_name);
  if (!pattern.ok()) return std::nullopt;
  HandshakeConfig config;
  config.pattern = *pattern;
  config.role = Role::kResponder;
  config.prologue = imet::util::to_bytes(kPrologue);
  config.local_static = X25519KeyPair::from_private(fixed_key(kRespStaticHex));
  config.local_ephemeral = X25519KeyPair::from_private(fixed_key(kRespEphemeralHex));
  auto hs = HandshakeState::create(std::move(config));
  if (!hs.ok()) return std::nullopt;
  return std::move(*hs);
}

std::vector<ByteSpan> frames(ByteSpan data) {
  std::vector<ByteSpan> out;
  while (!data.empty() && out.size() < 16) {
    if (data.size() < 2) {
      out.push_back(data);
      break;
    }
    const size_t len = (size_t{data[0]} << 8) | data[1];
    data = data.subspan(2);
    const size_t take = len < data.size() ? len : data.size();
    out.push_back(data.first(take));
    data = data.subspan(take);
  }
  return out;
}

// Drives a responder through the handshake (reading frames, writing replies) and then the
// transport phase, consuming frames from `next`.
void run_session(std::string_view pattern_name, const std::vector<ByteSpan>& input) {
  auto hs = responder(pattern_name);
  if (!hs) return;
  size_t next = 0;
  while (!hs->is_complete()) {
    if (hs->is_my_turn()) {
      if (!hs->write_message(imet::util::as_bytes(kReply)).ok()) return;
    } else {
      if (next >= input.size()) return;
      if (!hs->read_message(input[next++]).ok()) {
        // A failed state must refuse everything afterwards.
        if (hs->write_message({}).ok() || hs->read_message({}).ok() || hs->split().ok()) {
          __builtin_trap();
        }
        return;
      }
    }
  }
  auto transport = hs->split();
  if (!transport.ok()) __builtin_trap();  // complete handshakes always split
  for (; next < input.size(); ++next) {
    (void)transport->read_message(input[next]);
    if (!input[next].empty() && input[next][0] == 0xff) (void)transport->rekey_receive();
  }
  (void)transport->write_message(input.empty() ? ByteSpan() : input.back());
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteSpan input(data, size);

  // Raw first messages.
  for (std::string_view name : {"XX", "IK"}) {
    auto hs = responder(name);
    if (hs) (void)hs->read_message(input);
  }

  // Framed sessions.
  const std::vector<ByteSpan> input_frames = frames(input);
  run_session("XX", input_frames);
  run_session("IK", input_frames);

  // A keyed CipherState: frames as ciphertexts, the first frame also as associated data.
  CipherState cipher(CipherKey{0x01, 0x02, 0x03});
  const ByteSpan ad = input_frames.empty() ? ByteSpan() : input_frames[0];
  for (ByteSpan frame : input_frames) {
    const uint64_t before = cipher.nonce();
    if (!cipher.decrypt_with_ad(ad, frame).ok() && cipher.nonce() != before) __builtin_trap();
  }
  (void)cipher.decrypt_with_ad({}, input);

  // Names.
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)pattern_by_name(text);
  (void)pattern_from_protocol_name(text);
  return 0;
}
