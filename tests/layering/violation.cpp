// Compiled only by tests/layering: includes a crypto header. Must fail in a target that links
// only imet_util and succeed in one that links imet_crypto.
#include "crypto/hash.h"
#include "util/bytes.h"

imet::crypto::Hash256 layering_probe(imet::util::ByteSpan data) {
  return imet::crypto::blake2b_256(data);
}
