// FieldContext: the bookkeeping a checking serializer (Reader, SizeCounter) carries while it walks
// an object: the path of enclosing fields ("outputs[2].memo"), the nesting depth, and the first
// error. Names are stored as `const char*` to string literals and formatted into a message only
// when an error happens, so naming fields costs a pointer store on the success path. Thread-safety:
// not thread-safe; one per Reader/SizeCounter. Invariants: depth() <= max_depth <= kMaxDepthLimit;
// once status() is not OK it never changes (the first failure wins); every message has the form
//   "<prefix> at offset <n>: <what>[ for field '<path>']"
// with the " for field" part left out when the path is empty (the top-level object itself).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "codec/limits.h"
#include "util/status.h"

namespace imet::codec {

class FieldContext {
 public:
  // error_prefix: "invalid encoding" (decoding) or "invalid value" (validating before encoding).
  FieldContext(std::string_view error_prefix, size_t max_depth)
      : prefix_(error_prefix),
        max_depth_(max_depth < kMaxDepthLimit ? max_depth : kMaxDepthLimit) {}

  bool ok() const { return status_.ok(); }
  const util::Status& status() const { return status_; }
  size_t depth() const { return depth_; }

  // Enters a compound value named `name` that starts at `offset`. Returns false (after recording a
  // depth error) if that would exceed the depth cap; the caller must then not call leave().
  bool enter(const char* name, size_t offset) {
    if (depth_ >= max_depth_) {
      fail_depth(offset, name);
      return false;
    }
    frames_[depth_++] = Frame{name, kNoIndex};
    return true;
  }
  void leave() { --depth_; }
  // Marks the innermost compound as being at element `index` (shown as "name[index]").
  void set_index(size_t index) { frames_[depth_ - 1].index = index; }

  // Records the first error; later calls are ignored. `leaf` names the field being read inside the
  // current path ("" for none).
  void fail(size_t offset, std::string_view what, const char* leaf);
  void fail_truncated(size_t offset, size_t needed, size_t available, const char* leaf);
  void fail_length_cap(size_t offset, uint64_t length, size_t cap, const char* leaf);
  void fail_count_cap(size_t offset, uint64_t count, size_t cap, const char* leaf);
  void fail_bad_byte(size_t offset, std::string_view kind, uint8_t byte, const char* leaf);
  void fail_utf8(size_t offset, std::string_view reason, const char* leaf);
  void fail_set_order(size_t offset, bool duplicate, const char* leaf);
  void fail_enum(size_t offset, uint64_t raw, const char* leaf);

  // "a.b[3].c" for the current frames plus `leaf`.
  std::string path(const char* leaf) const;

 private:
  struct Frame {
    const char* name;
    size_t index;
  };
  static constexpr size_t kNoIndex = SIZE_MAX;

  void fail_depth(size_t offset, const char* name);

  std::string_view prefix_;
  size_t max_depth_;
  size_t depth_ = 0;
  util::Status status_;
  std::array<Frame, kMaxDepthLimit> frames_;  // [0, depth_) are live; the rest is never read
};

// Stand-in for FieldContext in serializers that do not check (Writer): every call is a no-op that
// the compiler removes.
struct NoFieldContext {
  static constexpr bool ok() { return true; }
  static constexpr bool enter(const char* /*name*/, size_t /*offset*/) { return true; }
  static constexpr void leave() {}
  static constexpr void set_index(size_t /*index*/) {}
};

}  // namespace imet::codec
