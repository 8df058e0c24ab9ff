// SharedBytes: an immutable byte range plus shared ownership of the memory it lies in. It is how a
// PUBLISH payload travels from the publisher's connection to every subscriber without being
// copied: copies of a SharedBytes share one buffer (a reference count increment), and a
// SharedBytes may alias a slice of a larger buffer (for instance the received frame) that it keeps
// alive.
// Thread-safety: the bytes are never modified after construction, so distinct SharedBytes objects
// (even ones sharing a buffer) may be read and copied from different threads concurrently, as with
// std::shared_ptr. A single object is not safe to assign while other threads read it.
// Invariants: span() stays valid and unchanged for the lifetime of this object and its copies;
// an empty SharedBytes may have no owner; operator== compares contents, not identity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "util/bytes.h"

namespace imet::mqtt {

class SharedBytes {
 public:
  SharedBytes() = default;
  // Aliases `view`, which must stay valid as long as `owner` is alive (aliasing shared_ptr).
  SharedBytes(std::shared_ptr<const void> owner, util::ByteSpan view)
      : owner_(std::move(owner)), view_(view) {}

  // Copies `data` into a new buffer (one heap allocation, none when empty).
  static SharedBytes copy_of(util::ByteSpan data);
  static SharedBytes copy_of(std::string_view data) { return copy_of(util::as_bytes(data)); }
  // Takes ownership of `data` without copying the bytes.
  static SharedBytes adopt(util::Bytes data);

  util::ByteSpan span() const { return view_; }
  const uint8_t* data() const { return view_.data(); }
  size_t size() const { return view_.size(); }
  bool empty() const { return view_.empty(); }
  std::string_view as_string_view() const {
    return {reinterpret_cast<const char*>(view_.data()), view_.size()};
  }
  // A sub-range sharing ownership; offset + length must be <= size() (programmer error otherwise).
  SharedBytes slice(size_t offset, size_t length) const;
  // Number of SharedBytes (and other shared_ptrs) sharing the buffer; 0 when there is no owner.
  long use_count() const { return owner_.use_count(); }

  friend bool operator==(const SharedBytes& a, const SharedBytes& b);

 private:
  std::shared_ptr<const void> owner_;
  util::ByteSpan view_;
};

}  // namespace imet::mqtt
