#include "codec/field_context.h"

namespace imet::codec {

std::string FieldContext::path(const char* leaf) const {
  std::string out;
  auto add_name = [&out](const char* name) {
    if (name == nullptr || *name == '\0') return;
    if (!out.empty()) out += '.';
    out += name;
  };
  for (size_t i = 0; i < depth_; ++i) {
    add_name(frames_[i].name);
    if (frames_[i].index != kNoIndex) {
      out += '[';
      out += std::to_string(frames_[i].index);
      out += ']';
    }
  }
  add_name(leaf);
  return out;
}

void FieldContext::fail(size_t offset, std::string_view what, const char* leaf) {
  if (!status_.ok()) return;
  std::string msg(prefix_);
  msg += " at offset ";
  msg += std::to_string(offset);
  msg += ": ";
  msg += what;
  const std::string p = path(leaf);
  if (!p.empty()) {
    msg += " for field '";
    msg += p;
    msg += '\'';
  }
  status_ = util::invalid_argument(std::move(msg));
}

void FieldContext::fail_truncated(size_t offset, size_t needed, size_t available,
                                  const char* leaf) {
  fail(offset,
       "unexpected end of input: need " + std::to_string(needed) + " bytes, " +
           std::to_string(available) + " remain",
       leaf);
}

void FieldContext::fail_length_cap(size_t offset, uint64_t length, size_t cap, const char* leaf) {
  fail(offset, "length " + std::to_string(length) + " exceeds cap " + std::to_string(cap), leaf);
}

void FieldContext::fail_count_cap(size_t offset, uint64_t count, size_t cap, const char* leaf) {
  fail(offset, "element count " + std::to_string(count) + " exceeds cap " + std::to_string(cap),
       leaf);
}

void FieldContext::fail_bad_byte(size_t offset, std::string_view kind, uint8_t byte,
                                 const char* leaf) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string what(kind);
  what += " 0x";
  what += kDigits[byte >> 4];
  what += kDigits[byte & 0x0f];
  what += " is not 0x00 or 0x01";
  fail(offset, what, leaf);
}

void FieldContext::fail_utf8(size_t offset, std::string_view reason, const char* leaf) {
  std::string what = "invalid UTF-8 (";
  what += reason;
  what += ')';
  fail(offset, what, leaf);
}

void FieldContext::fail_set_order(size_t offset, bool duplicate, const char* leaf) {
  fail(offset, duplicate ? "duplicate set element" : "set elements not in strictly ascending order",
       leaf);
}

void FieldContext::fail_enum(size_t offset, uint64_t raw, const char* leaf) {
  fail(offset, "invalid enum value " + std::to_string(raw), leaf);
}

void FieldContext::fail_depth(size_t offset, const char* name) {
  fail(offset, "nesting depth exceeds cap " + std::to_string(max_depth_), name);
}

}  // namespace imet::codec
