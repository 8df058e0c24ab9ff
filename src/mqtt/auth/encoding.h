// Base64 helpers shared by the auth parsers: standard base64 (mosquitto password hashes) and
// unpadded base64url (device-key tokens), both through libsodium's constant-time codecs.
// Thread-safety: pure functions. Invariants: decoders accept only the named alphabet, reject
// whitespace and non-zero trailing bits, and never read past `text`; the encoders' output decodes
// back to the same bytes with the matching decoder.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/bytes.h"

namespace imet::mqtt::auth::detail {

// Standard alphabet; with "=" padding, or without it when `text` has no '='.
std::optional<util::Bytes> decode_base64(std::string_view text);
// Standard alphabet with "=" padding.
std::string encode_base64(util::ByteSpan data);
// URL-safe alphabet ('-', '_'), no padding.
std::optional<util::Bytes> decode_base64url(std::string_view text);
std::string encode_base64url(util::ByteSpan data);

// Splits on `sep`, keeping empty fields ("a//b" -> "a", "", "b"; "" -> ""). The views point into
// `text`.
std::vector<std::string_view> split(std::string_view text, char sep);

}  // namespace imet::mqtt::auth::detail
