// IMET account addresses: the first 20 bytes of BLAKE2b-256(Ed25519 public key), written as
// bech32m (BIP-350) under the prefix "imet", e.g. "imet1...". The checksum makes any mistyped
// character (up to 4 of them) fail to parse rather than name another account.
// Thread-safety: pure functions (address_bytes_of remembers recent answers in a small per-thread
// table: the same few hundred witness keys are hashed again for every vote and certificate).
// Invariants: parse_address(encode_address(a)) == a for every a; parse_address accepts only
// bech32m strings with prefix "imet" carrying exactly 20 bytes (all-lowercase or all-uppercase).
#pragma once

#include <string>
#include <string_view>

#include "crypto/ed25519.h"
#include "util/bytes.h"
#include "util/result.h"

namespace imet::crypto {

using AddressBytes = util::ByteArray<20>;
inline constexpr std::string_view kAddressPrefix = "imet";

// First 20 bytes of BLAKE2b-256(pk). Keys seen recently on this thread are answered from a
// 256-entry direct-mapped table (whole key compared; a miss hashes and replaces the entry).
AddressBytes address_bytes_of(const PublicKey& pk);
// encode_address(address_bytes_of(pk)).
std::string address_of(const PublicKey& pk);
// The bech32m text form of an address.
std::string encode_address(const AddressBytes& address);
// Parses the text form; errors (kInvalidArgument) say what is wrong: bad checksum/characters,
// another prefix, or the wrong number of bytes.
util::Result<AddressBytes> parse_address(std::string_view text);

}  // namespace imet::crypto
