#include "codec/serialize.h"

namespace imet::codec::detail {

util::Status input_too_large(size_t size, size_t cap) {
  return util::invalid_argument("invalid encoding: input size " + std::to_string(size) +
                                " exceeds cap " + std::to_string(cap));
}

util::Status output_too_large(size_t size, size_t cap) {
  return util::invalid_argument("invalid value: encoded size " + std::to_string(size) +
                                " exceeds cap " + std::to_string(cap));
}

}  // namespace imet::codec::detail
