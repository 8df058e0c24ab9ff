#include "mqtt/codec/shared_bytes.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace imet::mqtt {

SharedBytes SharedBytes::copy_of(util::ByteSpan data) {
  if (data.empty()) return {};
  // One allocation holding both the control block and the bytes.
  std::shared_ptr<uint8_t[]> buffer = std::make_shared_for_overwrite<uint8_t[]>(data.size());
  std::memcpy(buffer.get(), data.data(), data.size());
  const util::ByteSpan view(buffer.get(), data.size());
  return SharedBytes(std::shared_ptr<const void>(std::move(buffer)), view);
}

SharedBytes SharedBytes::adopt(util::Bytes data) {
  if (data.empty()) return {};
  auto owned = std::make_shared<const util::Bytes>(std::move(data));
  const util::ByteSpan view(owned->data(), owned->size());
  return SharedBytes(std::shared_ptr<const void>(std::move(owned)), view);
}

SharedBytes SharedBytes::slice(size_t offset, size_t length) const {
  assert(offset <= view_.size() && length <= view_.size() - offset);
  if (length == 0) return {};
  return SharedBytes(owner_, view_.subspan(offset, length));
}

bool operator==(const SharedBytes& a, const SharedBytes& b) {
  return std::equal(a.view_.begin(), a.view_.end(), b.view_.begin(), b.view_.end());
}

}  // namespace imet::mqtt
