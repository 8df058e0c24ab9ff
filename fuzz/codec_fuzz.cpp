// libFuzzer target for the canonical codec: decodes arbitrary input as the test Sample (every kind
// of field, nested objects, sets, a recursive tree; tests/unit/codec/sample_types.h). Properties
// checked on every accepted input, each a bug if broken (abort):
//   - canonicality: encode(decode(input)) == input, byte for byte;
//   - the decoded object passes validate() and encoded_size() equals the input size.
// Rejected inputs must be kInvalidArgument; the sanitizers catch memory errors and UB.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "codec/serialize.h"
#include "sample_types.h"

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "codec_fuzz: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using imet::codec::testing::Sample;
  const imet::util::ByteSpan input(data, size);
  auto decoded = imet::codec::decode<Sample>(input);
  if (!decoded.ok()) {
    if (decoded.status().code() != imet::util::StatusCode::kInvalidArgument) {
      die("decode failed with a code other than InvalidArgument");
    }
    return 0;
  }
  const imet::util::Bytes again = imet::codec::encode(*decoded);
  if (again.size() != size || (size != 0 && std::memcmp(again.data(), data, size) != 0)) {
    die("non-canonical input accepted: encode(decode(x)) != x");
  }
  if (!imet::codec::validate(*decoded).ok()) die("decoded object fails validate()");
  if (imet::codec::encoded_size(*decoded) != size) die("encoded_size() != input size");
  return 0;
}
