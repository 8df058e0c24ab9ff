#include "crypto/noise/pattern.h"

#include <algorithm>
#include <cctype>

namespace imet::crypto::noise {

namespace {

using enum Token;
using Tokens = std::vector<Token>;

struct BasePattern {
  std::string_view name;
  Tokens initiator_pre;
  Tokens responder_pre;
  std::vector<Tokens> messages;
  bool one_way;
};

// Transcribed from sections 7.4 (one-way), 7.5 (fundamental interactive) and 7.6 (deferred) of the
// Noise specification, revision 34.
const std::vector<BasePattern>& base_patterns() {
  static const std::vector<BasePattern> table = {
      // One-way.
      {"N", {}, {kS}, {{kE, kES}}, true},
      {"K", {kS}, {kS}, {{kE, kES, kSS}}, true},
      {"X", {}, {kS}, {{kE, kES, kS, kSS}}, true},
      // Fundamental interactive.
      {"NN", {}, {}, {{kE}, {kE, kEE}}, false},
      {"NK", {}, {kS}, {{kE, kES}, {kE, kEE}}, false},
      {"NX", {}, {}, {{kE}, {kE, kEE, kS, kES}}, false},
      {"KN", {kS}, {}, {{kE}, {kE, kEE, kSE}}, false},
      {"KK", {kS}, {kS}, {{kE, kES, kSS}, {kE, kEE, kSE}}, false},
      {"KX", {kS}, {}, {{kE}, {kE, kEE, kSE, kS, kES}}, false},
      {"XN", {}, {}, {{kE}, {kE, kEE}, {kS, kSE}}, false},
      {"XK", {}, {kS}, {{kE, kES}, {kE, kEE}, {kS, kSE}}, false},
      {"XX", {}, {}, {{kE}, {kE, kEE, kS, kES}, {kS, kSE}}, false},
      {"IN", {}, {}, {{kE, kS}, {kE, kEE, kSE}}, false},
      {"IK", {}, {kS}, {{kE, kES, kS, kSS}, {kE, kEE, kSE}}, false},
      {"IX", {}, {}, {{kE, kS}, {kE, kEE, kSE, kS, kES}}, false},
      // Deferred.
      {"NK1", {}, {kS}, {{kE}, {kE, kEE, kES}}, false},
      {"NX1", {}, {}, {{kE}, {kE, kEE, kS}, {kES}}, false},
      {"X1N", {}, {}, {{kE}, {kE, kEE}, {kS}, {kSE}}, false},
      {"X1K", {}, {kS}, {{kE, kES}, {kE, kEE}, {kS}, {kSE}}, false},
      {"XK1", {}, {kS}, {{kE}, {kE, kEE, kES}, {kS, kSE}}, false},
      {"X1K1", {}, {kS}, {{kE}, {kE, kEE, kES}, {kS}, {kSE}}, false},
      {"X1X", {}, {}, {{kE}, {kE, kEE, kS, kES}, {kS}, {kSE}}, false},
      {"XX1", {}, {}, {{kE}, {kE, kEE, kS}, {kES, kS, kSE}}, false},
      {"X1X1", {}, {}, {{kE}, {kE, kEE, kS}, {kES, kS}, {kSE}}, false},
      {"K1N", {kS}, {}, {{kE}, {kE, kEE}, {kSE}}, false},
      {"K1K", {kS}, {kS}, {{kE, kES}, {kE, kEE}, {kSE}}, false},
      {"KK1", {kS}, {kS}, {{kE}, {kE, kEE, kSE, kES}}, false},
      {"K1K1", {kS}, {kS}, {{kE}, {kE, kEE, kES}, {kSE}}, false},
      {"K1X", {kS}, {}, {{kE}, {kE, kEE, kS, kES}, {kSE}}, false},
      {"KX1", {kS}, {}, {{kE}, {kE, kEE, kSE, kS}, {kES}}, false},
      {"K1X1", {kS}, {}, {{kE}, {kE, kEE, kS}, {kSE, kES}}, false},
      {"I1N", {}, {}, {{kE, kS}, {kE, kEE}, {kSE}}, false},
      {"I1K", {}, {kS}, {{kE, kES, kS}, {kE, kEE}, {kSE}}, false},
      {"IK1", {}, {kS}, {{kE, kS}, {kE, kEE, kSE, kES}}, false},
      {"I1K1", {}, {kS}, {{kE, kS}, {kE, kEE, kES}, {kSE}}, false},
      {"I1X", {}, {}, {{kE, kS}, {kE, kEE, kS, kES}, {kSE}}, false},
      {"IX1", {}, {}, {{kE, kS}, {kE, kEE, kSE, kS}, {kES}}, false},
      {"I1X1", {}, {}, {{kE, kS}, {kE, kEE, kS}, {kSE, kES}}, false},
  };
  return table;
}

std::string printable(std::string_view text) {
  constexpr size_t kMax = 100;
  std::string out;
  for (size_t i = 0; i < text.size() && i < kMax; ++i) {
    const char c = text[i];
    out.push_back(c >= 32 && c <= 126 ? c : '?');
  }
  if (text.size() > kMax) out += "...";
  return out;
}

void append_tokens(std::string& out, const Tokens& tokens) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) out += ", ";
    out += token_name(tokens[i]);
  }
}

// Applies one "pskN" modifier (section 9.2): psk0 puts a psk token at the start of the first
// message, pskN (N >= 1) at the end of the N-th message.
util::Status apply_psk_modifier(std::string_view modifier, Pattern& pattern) {
  const std::string_view digits = modifier.substr(3);
  if (digits.empty() || digits.size() > 2 ||
      !std::all_of(digits.begin(), digits.end(),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }) ||
      (digits.size() > 1 && digits[0] == '0')) {
    return util::invalid_argument("malformed psk modifier '" + printable(modifier) +
                                  "' (expected psk0, psk1, ...)");
  }
  size_t n = 0;
  for (char c : digits)
    n = n * 10 + static_cast<size_t>(c - '0');
  if (n > pattern.messages.size()) {
    return util::invalid_argument("modifier '" + std::string(modifier) + "' needs message " +
                                  std::to_string(n) + ", but the pattern has only " +
                                  std::to_string(pattern.messages.size()) + " messages");
  }
  if (n == 0) {
    pattern.messages[0].insert(pattern.messages[0].begin(), kPsk);
  } else {
    pattern.messages[n - 1].push_back(kPsk);
  }
  return {};
}

}  // namespace

std::string_view token_name(Token token) {
  switch (token) {
    case kE:
      return "e";
    case kS:
      return "s";
    case kEE:
      return "ee";
    case kES:
      return "es";
    case kSE:
      return "se";
    case kSS:
      return "ss";
    case kPsk:
      return "psk";
  }
  return "?";
}

size_t Pattern::psk_count() const {
  size_t n = 0;
  for (const auto& message : messages)
    n += static_cast<size_t>(std::count(message.begin(), message.end(), kPsk));
  return n;
}

std::string Pattern::protocol_name() const {
  return "Noise_" + name + std::string(kSupportedSuffix);
}

std::string Pattern::to_string() const {
  std::string out;
  if (!initiator_premessage.empty() || !responder_premessage.empty()) {
    if (!initiator_premessage.empty()) {
      out += "-> ";
      append_tokens(out, initiator_premessage);
      out += "\n";
    }
    if (!responder_premessage.empty()) {
      out += "<- ";
      append_tokens(out, responder_premessage);
      out += "\n";
    }
    out += "...\n";
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    out += (i % 2 == 0) ? "-> " : "<- ";
    append_tokens(out, messages[i]);
    if (i + 1 < messages.size()) out += "\n";
  }
  return out;
}

std::vector<std::string_view> base_pattern_names() {
  std::vector<std::string_view> names;
  for (const auto& p : base_patterns())
    names.push_back(p.name);
  return names;
}

util::Result<Pattern> pattern_by_name(std::string_view name) {
  size_t base_len = 0;
  while (base_len < name.size() && ((name[base_len] >= 'A' && name[base_len] <= 'Z') ||
                                    (name[base_len] >= '0' && name[base_len] <= '9'))) {
    ++base_len;
  }
  const std::string_view base_name = name.substr(0, base_len);
  const auto& table = base_patterns();
  const auto it = std::find_if(table.begin(), table.end(),
                               [&](const BasePattern& p) { return p.name == base_name; });
  if (base_name.empty() || it == table.end()) {
    return util::invalid_argument("unknown Noise handshake pattern '" + printable(name) + "'");
  }
  Pattern pattern;
  pattern.name = std::string(name);
  pattern.initiator_premessage = it->initiator_pre;
  pattern.responder_premessage = it->responder_pre;
  pattern.messages = it->messages;
  pattern.one_way = it->one_way;

  std::string_view rest = name.substr(base_len);
  std::vector<std::string_view> seen;
  while (!rest.empty()) {
    const size_t plus = rest.find('+');
    const std::string_view modifier = rest.substr(0, plus);
    rest = plus == std::string_view::npos ? std::string_view() : rest.substr(plus + 1);
    if (plus != std::string_view::npos && rest.empty()) {
      return util::invalid_argument("Noise pattern name '" + printable(name) + "' ends with '+'");
    }
    if (std::find(seen.begin(), seen.end(), modifier) != seen.end()) {
      return util::invalid_argument("Noise pattern name '" + printable(name) +
                                    "' repeats modifier '" + printable(modifier) + "'");
    }
    seen.push_back(modifier);
    if (modifier.substr(0, 3) == "psk") {
      IMET_TRY(apply_psk_modifier(modifier, pattern));
    } else if (modifier == "fallback") {
      return util::invalid_argument("the Noise 'fallback' modifier is not supported");
    } else {
      return util::invalid_argument("unknown modifier '" + printable(modifier) +
                                    "' in Noise pattern name '" + printable(name) + "'");
    }
  }
  return pattern;
}

util::Result<Pattern> pattern_from_protocol_name(std::string_view protocol_name) {
  std::vector<std::string_view> parts;
  std::string_view rest = protocol_name;
  while (true) {
    const size_t pos = rest.find('_');
    parts.push_back(rest.substr(0, pos));
    if (pos == std::string_view::npos) break;
    rest = rest.substr(pos + 1);
  }
  const std::string shown = printable(protocol_name);
  if (parts.size() != 5 || parts[0] != "Noise") {
    return util::invalid_argument("'" + shown +
                                  "' is not a Noise protocol name of the form "
                                  "Noise_<pattern>_25519_ChaChaPoly_BLAKE2b");
  }
  if (parts[2] != "25519") {
    return util::invalid_argument("unsupported DH function '" + printable(parts[2]) + "' in '" +
                                  shown + "': only 25519 is supported");
  }
  if (parts[3] != "ChaChaPoly") {
    return util::invalid_argument("unsupported cipher '" + printable(parts[3]) + "' in '" + shown +
                                  "': only ChaChaPoly is supported");
  }
  if (parts[4] != "BLAKE2b") {
    return util::invalid_argument("unsupported hash '" + printable(parts[4]) + "' in '" + shown +
                                  "': only BLAKE2b is supported");
  }
  return pattern_by_name(parts[1]);
}

}  // namespace imet::crypto::noise
