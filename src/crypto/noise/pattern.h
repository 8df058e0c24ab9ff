// Noise handshake patterns (Noise Protocol Framework rev. 34, sections 7 and 9) as data: token
// tables for the pre-messages and messages, which HandshakeState interprets generically. Knows the
// one-way patterns (N, K, X), the 12 fundamental interactive patterns (NN ... IX), the 23 deferred
// patterns (NK1 ... I1X1) and the pskN modifiers (e.g. "XXpsk3", "NNpsk0+psk2"), and parses full
// protocol names, of which only Noise_<pattern>_25519_ChaChaPoly_BLAKE2b is supported.
// Thread-safety: pure functions returning values.
// Invariants: a Pattern from pattern_by_name() has at least one message; messages[i] is written by
// the initiator iff i is even; pre-messages hold only kE/kS tokens; every kPsk token corresponds
// to one PSK, counted by psk_count().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace imet::crypto::noise {

enum class Token : uint8_t { kE, kS, kEE, kES, kSE, kSS, kPsk };

// "e", "s", "ee", "es", "se", "ss", "psk".
std::string_view token_name(Token token);

struct Pattern {
  std::string name;  // e.g. "XX", "IKpsk2", "NNpsk0+psk2"
  std::vector<Token> initiator_premessage;
  std::vector<Token> responder_premessage;
  std::vector<std::vector<Token>> messages;
  bool one_way = false;  // N, K, X and their variants: only the initiator ever sends

  size_t psk_count() const;
  bool has_psk() const { return psk_count() > 0; }
  // "Noise_<name>_25519_ChaChaPoly_BLAKE2b".
  std::string protocol_name() const;
  // The spec's notation, one line per (pre-)message, e.g. "-> e\n<- e, ee, s, es\n-> s, se".
  // Pre-messages come first, followed by a line "...".
  std::string to_string() const;
};

// The names of the base patterns (no modifiers) that pattern_by_name() knows.
std::vector<std::string_view> base_pattern_names();

// A base pattern name optionally followed by psk modifiers joined with '+': "XX", "IKpsk2",
// "NNpsk0+psk2". Errors (kInvalidArgument) name the unknown pattern or modifier.
util::Result<Pattern> pattern_by_name(std::string_view name);

inline constexpr std::string_view kSupportedSuffix = "_25519_ChaChaPoly_BLAKE2b";

// Parses "Noise_<pattern>_25519_ChaChaPoly_BLAKE2b"; rejects other DH functions, ciphers and
// hashes with an error naming the unsupported part.
util::Result<Pattern> pattern_from_protocol_name(std::string_view protocol_name);

}  // namespace imet::crypto::noise
