#include "codec/varint.h"

namespace imet::codec {

void append_varint(util::Bytes& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

std::string_view varint_error_text(VarintError error) {
  switch (error) {
    case VarintError::kNone:
      return "valid varint";
    case VarintError::kTruncated:
      return "unexpected end of input inside varint";
    case VarintError::kNonMinimal:
      return "non-minimal varint encoding";
    case VarintError::kTooLong:
      return "varint longer than 10 bytes";
    case VarintError::kOverflow:
      return "varint overflows 64 bits";
  }
  return "unknown varint error";
}

}  // namespace imet::codec
