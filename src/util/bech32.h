// Bech32m (BIP-350) encoding of byte strings under a human-readable prefix, used for IMET
// addresses ("imet1..."). The BCH checksum detects every error of up to 4 characters in strings
// up to 90 characters, so any single mistyped character is rejected.
// Thread-safety: pure functions. Invariants: encode() output is lowercase and decodes to the same
// (hrp, data); decode() rejects mixed case, bad characters, bad checksums, the bech32 (non-m)
// constant, non-zero padding and strings over 90 characters.
#pragma once

#include <string>
#include <string_view>

#include "util/bytes.h"

namespace imet::util {

struct Bech32Decoded {
  std::string hrp;
  Bytes data;
};

// Encodes `data` (8-bit bytes) as bech32m with the given lowercase prefix.
Result<std::string> bech32m_encode(std::string_view hrp, ByteSpan data);
// Decodes a bech32m string into its prefix and 8-bit data.
Result<Bech32Decoded> bech32m_decode(std::string_view text);

}  // namespace imet::util
